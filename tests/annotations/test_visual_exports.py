"""The visual types through the machinery of the other types: COCO and span exports (streamed from
PostgreSQL; the COCO file loads with pycocotools), Label Studio results, gold graded by IoU on submit,
agreement between contractors and final labels by the same overlap measure."""

import io
import json

import pytest
from pycocotools.coco import COCO

from annotations import exports
from annotations.models import AgreementFigure, Review, TaskLabel
from annotations.services import agreement_figures_compute, task_labels_compute
from annotations.services.gold import krippendorff_alpha_by_distance, submission_grade_gold
from tests import factories
from tests.annotations.test_exports import _submit

IMAGE = {"image_url": "/static/demo/street-1.png", "width": 640, "height": 400}
VIDEO = {"video_url": "/static/demo/traffic.webm", "duration_seconds": 4.0, "fps": 25, "width": 320, "height": 180}


def box(x, y, w, h, label="car"):
    return {"shape": "box", "x": x, "y": y, "width": w, "height": h, "label": label}


TRIANGLE = {"shape": "polygon", "points": [[300, 100], [340, 100], [300, 140]], "label": "person", "note": "child"}


@pytest.fixture
def regions(db):
    project = factories.ProjectFactory(task_type="image_regions", overlap=2,
                                       task_config={"labels": ["car", "person"], "iou_threshold": 0.5})
    batch = factories.BatchFactory(project=project)
    tasks = [factories.TaskFactory(batch=batch, project=project, external_id=f"img{i}", payload=IMAGE)
             for i in range(2)]
    alice, bob = factories.ContractorFactory(), factories.ContractorFactory()
    _submit(tasks[0], alice, {"regions": [box(10, 20, 100, 50), TRIANGLE], "nothing_to_mark": False})
    _submit(tasks[0], bob, {"regions": [box(15, 20, 100, 50)], "nothing_to_mark": False})
    _submit(tasks[1], alice, {"regions": [], "nothing_to_mark": True})
    _submit(tasks[1], bob, {"regions": [box(400, 300, 30, 30, label="person")], "nothing_to_mark": False})
    return project, batch


def _export(project, fmt, batch=None, **options) -> bytes:
    out = io.BytesIO()
    exports.export_write(exports.export_spec(project=project, batch=batch, format=fmt,
                                             options=exports.parse_options(options)), out)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")
def test_coco_export_loads_with_pycocotools(regions, tmp_path):
    project, _ = regions
    path = tmp_path / "coco.json"
    path.write_bytes(_export(project, "coco"))
    coco = COCO(str(path))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["car", "person"]
    assert len(coco.getImgIds()) == 2 and coco.imgs[coco.getImgIds()[0]]["width"] == 640
    annotations = coco.loadAnns(coco.getAnnIds())
    assert len(annotations) == 4 and sorted(a["id"] for a in annotations) == [1, 2, 3, 4]
    first = annotations[0]
    assert first["bbox"] == [10, 20, 100, 50] and first["area"] == 5000 and first["category_id"] == 1
    polygon = next(a for a in annotations if a["note"] == "child")
    assert polygon["bbox"] == [300, 100, 40, 40] and polygon["area"] == 800
    assert polygon["segmentation"] == [[300, 100, 340, 100, 300, 140]] and polygon["category_id"] == 2
    assert coco.annToMask(polygon).sum() > 700  # pycocotools draws it
    assert all(a["contractor"].startswith("w-") for a in annotations)


def test_an_empty_coco_export_is_still_a_coco_file(regions):
    project, _ = regions
    data = json.loads(_export(project, "coco", min_grade=5))
    assert data["images"] == [] and data["annotations"] == [] and len(data["categories"]) == 2


def test_label_studio_export_has_rectangles_and_polygons_in_percent(regions):
    project, _ = regions
    tasks = json.loads(_export(project, "labelstudio"))
    results = tasks[0]["annotations"][0]["result"]
    assert results[0]["type"] == "rectanglelabels" and results[0]["value"]["x"] == pytest.approx(10 / 640 * 100)
    assert results[1]["type"] == "polygonlabels" and results[1]["value"]["points"][1] == [
        pytest.approx(340 / 640 * 100), pytest.approx(25.0)]


def test_video_span_export_one_line_per_submission(db):
    project = factories.ProjectFactory(task_type="video_spans", task_config={"labels": ["car passes"]})
    task = factories.TaskFactory(project=project, batch=factories.BatchFactory(project=project), payload=VIDEO)
    spans = [{"start": 1.0, "end": 2.96, "label": "car passes",
              "box": {"time": 1.5, "x": 10, "y": 100, "width": 90, "height": 40}}]
    _submit(task, factories.ContractorFactory(), {"spans": spans, "nothing_to_mark": False})
    (line,) = _export(project, "video_spans").decode().splitlines()
    row = json.loads(line)
    assert row["video"] == "/static/demo/traffic.webm" and row["fps"] == 25 and row["spans"] == spans
    studio = json.loads(_export(project, "labelstudio"))[0]["annotations"][0]["result"][0]
    assert studio["type"] == "timelinelabels" and studio["value"]["ranges"] == [{"start": 26, "end": 74}]


def test_a_gold_submission_is_graded_by_iou_at_the_projects_threshold(db):
    project = factories.ProjectFactory(task_type="image_regions", task_config={"labels": ["car"], "iou_threshold": 0.7})
    gold = {"regions": [box(0, 0, 100, 100), box(300, 300, 50, 50)], "nothing_to_mark": False}
    task = factories.TaskFactory(project=project, batch=factories.BatchFactory(project=project), payload=IMAGE,
                                 gold_answer=gold)
    # The first box overlaps by 0.67 (under 0.7), the second exactly: F1 = 2 * 1 / 4 = 0.5, grade 3.
    submission = _submit(task, factories.ContractorFactory(),
                         {"regions": [box(20, 0, 100, 100), box(300, 300, 50, 50)], "nothing_to_mark": False},
                         gold=True)
    review = submission_grade_gold(submission=submission)
    assert review.kind == Review.Kind.AUTOMATIC and review.gold_agreement == 0.5 and review.score == 3


def test_agreement_and_final_labels_use_overlap(regions):
    project, batch = regions
    assert agreement_figures_compute(project_id=project.pk) >= 1
    figure = AgreementFigure.objects.get(kind=AgreementFigure.Kind.CONTRACTOR_AGREEMENT, project=project,
                                         subject=None)
    # Task 1: alice 2 regions, bob 1 matching (F1 2/3); task 2: nothing vs one region (0): mean 1/3.
    assert figure.level == "overlap" and float(figure.percent) == pytest.approx(33.33, abs=0.01)
    figures = task_labels_compute(batch_id=batch.pk)
    labels = {label.task.external_id: label for label in TaskLabel.objects.filter(batch=batch).select_related("task")}
    assert labels["img0"].agreement == pytest.approx(2 / 3)
    assert [(r["label"], r["votes"]) for r in labels["img0"].label["regions"]] == [("car", 2)]
    assert labels["img1"].label == {"regions": [], "nothing_to_mark": True}
    assert figures.level == "overlap"


def test_alpha_by_distance_is_1_for_perfect_agreement_and_below_0_for_systematic_disagreement():
    same = lambda a, b: 0.0 if a == b else 1.0  # noqa: E731
    assert krippendorff_alpha_by_distance([["a", "a"], ["b", "b"], ["c", "c"]], same) == 1.0
    assert krippendorff_alpha_by_distance([["a", "b"], ["a", "b"], ["a", "b"]], same) < 0
    assert krippendorff_alpha_by_distance([["a", "a"]], same) is None
