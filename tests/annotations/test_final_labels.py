"""Final labels per task (the type's rule), agreement per task and Krippendorff's alpha per batch."""

import pytest
from django.urls import reverse

from annotations.models import BatchAgreement, TaskLabel
from annotations.services import task_labels_compute
from annotations.services.gold import krippendorff_alpha, krippendorff_alpha_of_units
from annotations.services.labels import pair_agreement
from projects import task_types
from tests import factories
from tests.annotations.test_exports import PAIR, _submit

pairwise = task_types.get("pairwise")
rating = task_types.get("rating")


def _votes(*picks):
    return [{"choice": c, "strength": s, "reason": "r"} for c, s in picks]


@pytest.mark.parametrize(("picks", "choice", "decided_by"), [
    ([("A", "slight"), ("A", "clear"), ("B", "strong")], "A", "majority"),
    ([("A", "slight"), ("B", "strong")], "B", "strength"),
    ([("A", "clear"), ("B", "clear")], "tie", "level"),
    ([("tie", "slight"), ("tie", "clear"), ("A", "strong")], "tie", "majority"),
])
def test_pairwise_majority_with_its_tie_rule(picks, choice, decided_by):
    label = pairwise.final_label(_votes(*picks))
    assert (label["choice"], label["decided_by"]) == (choice, decided_by)
    assert sum(label["votes"].values()) == len(picks)


def test_ratings_have_mean_and_median_per_criterion():
    answers = [{"scores": {"helpful": 5, "honest": 2}, "overall": 4},
               {"scores": {"helpful": 3, "honest": 2}, "overall": 3},
               {"scores": {"helpful": 4, "honest": 5}, "overall": 5}]
    label = rating.final_label(answers)
    assert label["overall"] == {"mean": 4.0, "median": 4.0}
    assert label["scores"]["helpful"] == {"mean": 4.0, "median": 4.0}
    assert label["scores"]["honest"] == {"mean": 3.0, "median": 2.0}


def test_agreement_is_the_share_of_agreeing_pairs():
    assert pair_agreement(["A", "A", "A"]) == 1.0
    assert pair_agreement(["A", "A", "B"]) == pytest.approx(1 / 3)
    assert pair_agreement(["A"]) is None


def test_alpha_from_units_is_the_alpha_of_the_coder_matrix():
    matrix = [[1, 2, 3, 3, None], [1, 2, 3, 4, 2], [None, 3, 3, 4, 2]]
    units = [list(column) for column in zip(*matrix, strict=True)]
    for level in ("nominal", "ordinal", "interval"):
        assert krippendorff_alpha_of_units(units, level) == pytest.approx(krippendorff_alpha(matrix, level))


def test_a_batch_gets_labels_agreement_and_alpha(db, client_for, admin_user):
    project = factories.ProjectFactory(task_type="pairwise", overlap=3)
    batch = factories.BatchFactory(project=project)
    people = [factories.ContractorFactory() for _ in range(3)]
    picks = [["A", "A", "A"], ["B", "B", "A"], ["A", "B", "tie"], ["B"]]
    for i, choices in enumerate(picks):
        task = factories.TaskFactory(batch=batch, project=project, external_id=f"t{i}", payload=PAIR)
        for person, choice in zip(people, choices, strict=False):
            _submit(task, person, {"choice": choice, "strength": "clear", "reason": "r"})
    figures = task_labels_compute(batch_id=batch.pk)
    labels = {label.task.external_id: label for label in TaskLabel.objects.filter(batch=batch).select_related("task")}
    assert set(labels) == {"t0", "t1", "t2"}  # t3 has one answer: no final label yet
    assert labels["t0"].label["choice"] == "A" and labels["t0"].agreement == 1.0
    assert labels["t1"].label["choice"] == "B" and labels["t1"].agreement == pytest.approx(1 / 3)
    assert labels["t2"].label["choice"] == "tie" and labels["t2"].agreement == 0.0
    expected = krippendorff_alpha_of_units([["A", "A", "A"], ["B", "B", "A"], ["A", "B", "tie"]], "nominal")
    assert figures.alpha == pytest.approx(expected) and figures.level == "nominal" and figures.tasks == 3
    # Idempotent: a recompute replaces the rows.
    task_labels_compute(batch_id=batch.pk)
    assert TaskLabel.objects.filter(batch=batch).count() == 3 and BatchAgreement.objects.count() == 1
    page = client_for(admin_user).get(reverse("manage_data:batch_labels", args=[batch.pk]))
    assert page.status_code == 200
    assert b"Krippendorff" in page.content and b"as many votes" in page.content


def test_free_text_types_have_no_final_label(db):
    project = factories.ProjectFactory(task_type="rewrite", overlap=2)
    batch = factories.BatchFactory(project=project)
    task = factories.TaskFactory(batch=batch, project=project, payload={"prompt": "p", "response": "r"})
    for _ in range(2):
        _submit(task, factories.ContractorFactory(), {"text": "better"})
    assert task_labels_compute(batch_id=batch.pk) is None
    assert not TaskLabel.objects.exists()
