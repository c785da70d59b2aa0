"""The visual task types: image_regions and video_spans validate payloads and answers with errors that
name the region or span, compare answers by IoU / temporal IoU at the project's threshold (gold grading,
agreement between contractors, final labels), and resolve import rows that name uploaded files."""

import pytest
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st

from projects import task_types
from projects.errors import InvalidData
from projects.task_types import overlap
from tests import factories

IMAGE = {"image_url": "/static/demo/street-1.png", "width": 640, "height": 400}
VIDEO = {"video_url": "/static/demo/traffic.webm", "duration_seconds": 4.0, "fps": 25, "width": 320, "height": 180}


def box(x, y, w, h, label="car", **extra):
    return {"shape": "box", "x": x, "y": y, "width": w, "height": h, "label": label, **extra}


@pytest.fixture
def image_project(db):
    return factories.ProjectFactory(task_type="image_regions",
                                    task_config={"labels": ["car", "person"], "iou_threshold": 0.5})


@pytest.fixture
def video_project(db):
    return factories.ProjectFactory(task_type="video_spans", task_config={"labels": ["car passes", "person"]})


def _task(project, payload):
    return factories.TaskFactory(project=project, batch=factories.BatchFactory(project=project),
                                 payload=project.type.validate_payload(payload, project=project))


def _refused(call) -> list[dict]:
    with pytest.raises(InvalidData) as caught:
        call()
    return caught.value.errors


# --- registry and configuration ------------------------------------------------------------------

def test_both_types_are_registered_with_their_workspace_scripts():
    assert task_types.get("image_regions").workspace_script == "js/regions.js"
    assert task_types.get("video_spans").workspace_script == "js/spans.js"
    assert {"image_regions", "video_spans"} <= {key for key, _ in task_types.choices()}


def test_config_refuses_duplicate_labels_and_a_threshold_out_of_range():
    kind = task_types.get("image_regions")
    assert kind.validate_config({"labels": ["car"]})["iou_threshold"] == 0.5
    assert _refused(lambda: kind.validate_config({"labels": ["car", "car"]}))[0]["field"] == "labels.1"
    assert _refused(lambda: kind.validate_config({"labels": ["car"], "iou_threshold": 1.5}))[0]["field"] == \
        "iou_threshold"
    assert _refused(lambda: kind.validate_config({"labels": ["car"], "media_hosts": ["https://x.org"]}))[0][
        "field"] == "media_hosts.0"


def test_the_project_threshold_configures_the_type(image_project):
    image_project.task_config = {**image_project.task_config, "iou_threshold": 0.9}
    assert image_project.type.iou_threshold == 0.9
    assert task_types.get("image_regions").iou_threshold == 0.5  # the registry's instance is untouched


# --- payloads --------------------------------------------------------------------------------------

def test_image_payload_takes_a_static_path_or_an_allowed_https_host(image_project):
    kind = image_project.type
    assert kind.validate_payload(IMAGE, project=image_project)["width"] == 640
    errors = _refused(lambda: kind.validate_payload({**IMAGE, "image_url": "https://evil.example/x.png"},
                                                    project=image_project))
    assert errors[0]["field"] == "image_url" and "evil.example" in errors[0]["message"]
    image_project.task_config = {**image_project.task_config, "media_hosts": ["images.example.org"]}
    assert kind.validate_payload({**IMAGE, "image_url": "https://images.example.org/a.jpg"}, project=image_project)
    assert _refused(lambda: kind.validate_payload({**IMAGE, "image_url": "http://images.example.org/a.jpg"},
                                                  project=image_project))[0]["field"] == "image_url"
    assert _refused(lambda: kind.validate_payload({"width": 10, "height": 10}, project=image_project))[0][
        "field"] == "image_url"


def test_a_payload_naming_an_uploaded_file_gets_its_stored_name_and_measured_size(image_project):
    factories_media = image_project.media_files.create(
        name="street.png", file="task-media/1/abc.png", kind="image", format="PNG", content_type="image/png",
        size_bytes=10, sha256="a" * 64, width=800, height=600)
    payload = image_project.type.validate_payload({"file": "street.png"}, project=image_project)
    assert payload == {"file": "street.png", "media": factories_media.file.name, "width": 800, "height": 600}
    image_project._media_index = None
    del image_project._media_index
    errors = _refused(lambda: image_project.type.validate_payload({"file": "missing.png"}, project=image_project))
    assert errors == [{"field": "file", "message": "no file named 'missing.png' in the project's media library; "
                                                   "upload it first (Manage, the project's media)"}]


# --- image answers -----------------------------------------------------------------------------------

def test_a_valid_image_answer_with_a_box_and_a_polygon(image_project):
    task = _task(image_project, IMAGE)
    answer = {"regions": [box(10, 20, 100, 50, note="blue car"),
                          {"shape": "polygon", "points": [[300, 100], [340, 100], [320, 200]], "label": "person"}]}
    cleaned = image_project.type.validate_answer(answer, task=task, project=image_project)
    assert cleaned["regions"][0]["note"] == "blue car" and cleaned["regions"][1]["shape"] == "polygon"
    assert image_project.type.validate_answer({"nothing_to_mark": True}, task=task, project=image_project) == \
        {"regions": [], "nothing_to_mark": True}


@pytest.mark.parametrize(("region", "field", "words"), [
    (box(600, 10, 60, 30), "regions.1", "region 2 (car) leaves the image on the right"),
    (box(10, 390, 20, 20), "regions.1", "region 2 (car) leaves the image at the bottom"),
    (box(-5, 10, 20, 20), "regions.1", "region 2 (car) starts outside the image"),
    (box(10, 10, 2, 30), "regions.1", "region 2 (car) is 2 × 30 px; the smallest region"),
    (box(10, 10, 30, 30, label="tree"), "regions.1.label", "region 2 (tree): the label must be one of: car, person"),
    ({"shape": "polygon", "points": [[1, 1], [5, 5], [9, 9]], "label": "car"}, "regions.1", "no area"),
    ({"shape": "box", "x": 1, "y": 1, "label": "car"}, "regions.1", "a box needs x, y, width and height"),
])
def test_invalid_regions_are_refused_naming_the_region(image_project, region, field, words):
    task = _task(image_project, IMAGE)
    answer = {"regions": [box(10, 10, 50, 50), region]}
    errors = _refused(lambda: image_project.type.validate_answer(answer, task=task, project=image_project))
    assert errors[0]["field"] == field
    assert words.lower() in errors[0]["message"].lower()


def test_nothing_to_mark_and_regions_contradict(image_project):
    task = _task(image_project, IMAGE)
    kind = image_project.type
    assert "nothing to mark" in _refused(lambda: kind.validate_answer(
        {"regions": [box(1, 1, 20, 20)], "nothing_to_mark": True}, task=task, project=image_project))[0]["message"]
    assert _refused(lambda: kind.validate_answer({"regions": []}, task=task, project=image_project))[0][
        "field"] == "regions"


def test_the_form_reads_the_hidden_json_field_and_passes_bad_json_on_to_validation(image_project):
    kind = image_project.type
    post = QueryDict(mutable=True)
    post.update({"regions": '[{"shape": "box", "x": 1, "y": 2, "width": 30, "height": 40, "label": "car"}]',
                 "csrfmiddlewaretoken": "x"})
    assert kind.answer_from_form(post) == {"regions": [box(1, 2, 30, 40)], "nothing_to_mark": False}
    post["regions"] = "[{not json"
    errors = _refused(lambda: kind.validate_answer(kind.answer_from_form(post), project=image_project))
    assert errors[0]["field"] == "regions"
    post["regions"] = '[{"shape": "box", "x": NaN, "y": 0, "width": 5, "height": 5, "label": "car"}]'
    assert _refused(lambda: kind.validate_answer(kind.answer_from_form(post), project=image_project))[0][
        "field"] == "regions"


# --- video answers -------------------------------------------------------------------------------------

def test_video_spans_inside_the_clip_with_a_key_frame_box(video_project):
    task = _task(video_project, VIDEO)
    answer = {"spans": [{"start": 1.0, "end": 2.96, "label": "car passes",
                         "box": {"time": 1.5, "x": 10, "y": 100, "width": 90, "height": 40}}]}
    cleaned = video_project.type.validate_answer(answer, task=task, project=video_project)
    assert cleaned["spans"][0]["box"]["time"] == 1.5


@pytest.mark.parametrize(("span", "field", "words"), [
    ({"start": 3.0, "end": 4.5, "label": "person"}, "spans.1.end", "span 2 (person, 3–4.5 s) ends past the end"),
    ({"start": 2.0, "end": 1.0, "label": "person"}, "spans.1", "must come after the start"),
    ({"start": 1.0, "end": 1.01, "label": "person"}, "spans.1", "the shortest span"),
    ({"start": 1.0, "end": 2.0, "label": "dog"}, "spans.1.label", "span 2 (dog, 1–2 s): the label must be one of"),
    ({"start": 1.0, "end": 2.0, "label": "person", "box": {"time": 3, "x": 1, "y": 1, "width": 5, "height": 5}},
     "spans.1.box.time", "must lie inside the span"),
    ({"start": 1.0, "end": 2.0, "label": "person", "box": {"time": 1.5, "x": 300, "y": 1, "width": 50, "height": 5}},
     "spans.1.box", "leaves the frame on the right"),
])
def test_invalid_spans_are_refused_naming_the_span(video_project, span, field, words):
    task = _task(video_project, VIDEO)
    answer = {"spans": [{"start": 0.0, "end": 0.5, "label": "person"}, span]}
    errors = _refused(lambda: video_project.type.validate_answer(answer, task=task, project=video_project))
    assert errors[0]["field"] == field
    assert words in errors[0]["message"]


# --- overlap -----------------------------------------------------------------------------------------

def test_box_iou_is_exact_and_a_polygon_is_compared_as_a_mask():
    assert overlap.region_iou(box(0, 0, 10, 10), box(5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert overlap.region_iou(box(0, 0, 10, 10), box(20, 20, 5, 5)) == 0.0
    square = {"shape": "polygon", "points": [[0, 0], [10, 0], [10, 10], [0, 10]], "label": "car"}
    assert overlap.region_iou(square, box(0, 0, 10, 10)) == pytest.approx(1.0, abs=0.02)
    triangle = {"shape": "polygon", "points": [[0, 0], [10, 0], [0, 10]], "label": "car"}
    assert overlap.region_iou(triangle, box(0, 0, 10, 10)) == pytest.approx(0.5, abs=0.03)
    assert overlap.span_iou({"start": 0, "end": 2}, {"start": 1, "end": 3}) == pytest.approx(1 / 3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 90), st.integers(0, 90), st.integers(1, 30), st.integers(1, 30)),
                max_size=4),
       st.lists(st.tuples(st.integers(0, 90), st.integers(0, 90), st.integers(1, 30), st.integers(1, 30)),
                max_size=4))
def test_agreement_is_symmetric_between_0_and_1_and_1_with_itself(a, b):
    a = [box(*r) for r in a]
    b = [box(*r) for r in b]
    ab = overlap.agreement(a, b, overlap.region_iou, 0.5)
    assert 0.0 <= ab <= 1.0
    assert ab == pytest.approx(overlap.agreement(b, a, overlap.region_iou, 0.5))
    assert overlap.agreement(a, a, overlap.region_iou, 0.5) == 1.0


def test_gold_grading_uses_the_projects_threshold(image_project):
    gold = {"regions": [box(0, 0, 100, 100), box(200, 200, 50, 50, label="person")]}
    near = {"regions": [box(20, 0, 100, 100), box(200, 200, 50, 50, label="person")]}  # IoU 0.67 and 1
    assert image_project.type.gold_agreement(near, gold) == 1.0
    image_project.task_config = {**image_project.task_config, "iou_threshold": 0.8}
    assert image_project.type.gold_agreement(near, gold) == 0.5  # the first box no longer counts
    wrong_label = {"regions": [box(0, 0, 100, 100, label="person")]}
    assert image_project.type.gold_agreement(wrong_label, gold) == 0.0
    assert image_project.type.gold_agreement({"regions": [], "nothing_to_mark": True},
                                             {"regions": [], "nothing_to_mark": True}) == 1.0


def test_temporal_gold_and_the_final_label_of_spans(video_project):
    kind = video_project.type
    gold = {"spans": [{"start": 1.0, "end": 3.0, "label": "car passes"}]}
    assert kind.gold_agreement({"spans": [{"start": 1.2, "end": 3.0, "label": "car passes"}]}, gold) == 1.0
    assert kind.gold_agreement({"spans": [{"start": 2.5, "end": 3.5, "label": "car passes"}]}, gold) == 0.0
    answers = [
        {"spans": [{"start": 1.0, "end": 3.0, "label": "car passes"}, {"start": 3.5, "end": 3.9, "label": "person"}]},
        {"spans": [{"start": 1.1, "end": 3.0, "label": "car passes"}]},
        {"spans": [{"start": 0.9, "end": 2.9, "label": "car passes"}]},
    ]
    final = kind.final_label(answers)
    # The person span has one vote of three: left out. The car span is the one closest to the others.
    assert [(s["label"], s["votes"]) for s in final["spans"]] == [("car passes", 3)]
    assert final["spans"][0]["start"] == 1.0 and final["nothing_to_mark"] is False
