"""Gold tasks graded automatically, calibration items in the queue, and agreement figures
(percent agreement and Krippendorff's alpha), including a run through a real Celery worker."""

from decimal import Decimal

import krippendorff
import numpy as np
import pytest

from annotations import selectors, services
from annotations.models import AgreementFigure, ContractorFlag, Review, ReviewerRole, ReviewEvent
from annotations.services.gold import agreement_to_grade
from tests import factories
from tests.annotations.reviewing import make_project, make_task, reviewer, submit

MARKS = {"accuracy": 3, "clarity": 3}
GOLD = {"choice": "A", "strength": "clear", "reason": "A is accurate."}


def pairwise(choice):
    return {"choice": choice, "strength": "clear", "reason": "Because."}


@pytest.mark.parametrize(("agreement", "grade"), [(0.0, 1), (0.2, 2), (0.5, 3), (0.7, 4), (0.9, 5), (1.0, 5)])
def test_agreement_with_the_known_answer_maps_onto_1_to_5(agreement, grade):
    assert agreement_to_grade(agreement) == grade


@pytest.mark.django_db
@pytest.mark.parametrize(("choice", "score"), [("A", 5), ("tie", 3), ("B", 1)])
def test_a_gold_submission_is_graded_automatically_at_submit(choice, score):
    submission = submit(factories.ContractorFactory(), make_project("pairwise"), pairwise(choice), gold=GOLD)
    review = Review.objects.get(submission=submission)
    assert (review.kind, review.reviewer, review.reviewer_role, review.score) == (
        Review.Kind.AUTOMATIC, None, ReviewerRole.AUTOMATIC, score)
    assert "known answer" in review.reason
    assert submission.is_gold and not submission.needs_review
    assert ReviewEvent.objects.filter(review=review, kind=ReviewEvent.Kind.GRADED_AUTOMATICALLY).exists()
    assert selectors.submission_final_grade(submission=submission) == score


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task_type", "answer", "gold", "score"),
    [
        ("rating", {"scores": {"accuracy": 4, "clarity": 4}, "overall": 4},
         {"scores": {"accuracy": 4, "clarity": 4}, "overall": 4}, 5),
        ("rating", {"scores": {"accuracy": 1, "clarity": 1}, "overall": 1},
         {"scores": {"accuracy": 5, "clarity": 5}, "overall": 5}, 1),
        ("audio_timestamp", {"spans": [{"start": 1.0, "end": 3.0, "label": "speech"}]},
         {"spans": [{"start": 1.0, "end": 3.0, "label": "speech"}]}, 5),
        ("audio_timestamp", {"spans": [{"start": 1.0, "end": 3.0, "label": "music"}]},
         {"spans": [{"start": 1.0, "end": 3.0, "label": "speech"}]}, 1),
        ("redteam", {"failing_turn": 1, "category": "privacy", "success": True},
         {"category": "privacy", "success": False}, 3),
    ],
)
def test_each_type_grades_gold_by_its_own_comparison(task_type, answer, gold, score):
    submission = submit(factories.ContractorFactory(), make_project(task_type), answer, gold=gold)
    assert Review.objects.get(submission=submission).score == score


@pytest.mark.django_db
def test_reviewers_get_gold_items_mixed_in_to_calibrate_blind(client_for, settings):
    settings.TASKHUB_REVIEW_GOLD_EVERY = 3
    project = make_project("pairwise")
    lead = reviewer()
    ordinary = [submit(factories.ContractorFactory(), project) for _ in range(4)]
    gold_submission = submit(factories.ContractorFactory(), project, pairwise("B"), gold=GOLD)

    seen = []
    for _ in range(3):
        item = selectors.review_next_for(reviewer=lead)
        seen.append(item)
        services.review_create(submission=item, reviewer=lead, score=4, marks=MARKS)
    # Items 1 and 2 are the oldest real work; item 3 is the calibration item.
    assert seen == [ordinary[0], ordinary[1], gold_submission]
    calibration = Review.objects.get(submission=gold_submission, reviewer=lead)
    assert calibration.kind == Review.Kind.CALIBRATION
    # Calibration never changes the grade that counts.
    assert selectors.submission_final_grade(submission=gold_submission) == 1
    # And it is not offered to the same reviewer again.
    assert gold_submission not in selectors.calibration_items(reviewer=lead)


@pytest.mark.django_db
def test_the_grading_page_does_not_reveal_a_calibration_item_and_explains_it_after(client_for):
    project = make_project("pairwise")
    gold_submission = submit(factories.ContractorFactory(), project, pairwise("B"), gold=GOLD)
    client = client_for(reviewer())
    page = client.get(f"/review/submissions/{gold_submission.pk}/").content.decode()
    assert "calibration" not in page.lower() and "known answer" not in page.lower()
    response = client.post(f"/review/submissions/{gold_submission.pk}/",
                           {"score": "4", "mark__accuracy": "4", "mark__clarity": "4"}, follow=True)
    assert "That was a calibration item with a known answer: you gave 4, the known answer grades it 1." in (
        response.content.decode())


def _calibrate(person, submissions, scores):
    for submission, score in zip(submissions, scores, strict=True):
        services.review_create(submission=submission, reviewer=person, score=score, marks=MARKS,
                               reason="Calibration grade with enough words.")


@pytest.mark.django_db
def test_reviewer_against_gold_figures():
    project = make_project("pairwise")
    golds = [submit(factories.ContractorFactory(), project, pairwise(c), gold=GOLD) for c in ("A", "B", "tie", "A")]
    automatic = [Review.objects.get(submission=s, kind="automatic").score for s in golds]
    assert automatic == [5, 1, 3, 5]
    sharp, loose = reviewer(), reviewer()
    _calibrate(sharp, golds, [5, 1, 3, 5])
    _calibrate(loose, golds, [5, 2, 4, 3])

    services.agreement_figures_compute(project_id=project.pk)
    figure = AgreementFigure.objects.get(kind="reviewer_vs_gold", project=project, subject=sharp)
    assert (figure.percent, figure.alpha, figure.n) == (Decimal("100.00"), 1.0, 4)
    loose_figure = AgreementFigure.objects.get(kind="reviewer_vs_gold", project=project, subject=loose)
    assert loose_figure.percent == Decimal("25.00")
    expected = krippendorff.alpha(reliability_data=np.array([[5, 2, 4, 3], automatic], dtype=float),
                                  level_of_measurement="ordinal")
    assert loose_figure.alpha == pytest.approx(expected)
    pooled = AgreementFigure.objects.get(kind="reviewer_vs_gold", project=project, subject=None)
    assert (pooled.percent, pooled.n) == (Decimal("62.50"), 8)


@pytest.mark.django_db
def test_agreement_between_contractors_on_overlapping_tasks():
    project = make_project("pairwise", overlap=3)
    people = [factories.ContractorFactory() for _ in range(3)]
    # Three tasks, each done by all three people; one lone task with overlap 1 is ignored.
    choices = [("A", "A", "A"), ("A", "B", "A"), ("B", "tie", "A")]
    for row in choices:
        task = make_task(project)
        for person, choice in zip(people, row, strict=True):
            submit(person, project, pairwise(choice), task=task)
    submit(people[0], project, pairwise("B"), task=make_task(project, overlap=1))
    services.agreement_figures_compute(project_id=project.pk)

    overall = AgreementFigure.objects.get(kind="contractor_agreement", project=project, subject=None)
    # Pairs agreeing: task 1: 3 of 3, task 2: 1 of 3, task 3: 0 of 3  -> 4 of 9.
    assert overall.percent == Decimal("44.44")
    assert overall.n == 3 and overall.level == "nominal"
    codes = {"A": 0, "B": 1, "tie": 2}
    matrix = [[codes[row[i]] for row in choices] for i in range(3)]
    expected = krippendorff.alpha(reliability_data=np.array(matrix, dtype=float), level_of_measurement="nominal")
    assert overall.alpha == pytest.approx(expected)

    # Person 0 (A, A, B) agrees with: t1 both, t2 person 2 only, t3 nobody -> 3 of 6 pairs.
    first = AgreementFigure.objects.get(kind="contractor_agreement", project=project, subject=people[0])
    assert (first.percent, first.n) == (Decimal("50.00"), 6)


@pytest.mark.django_db
def test_recomputing_replaces_figures_in_place():
    project = make_project("rating", overlap=2)
    people = [factories.ContractorFactory() for _ in range(2)]
    for overall in (4, 2):
        task = make_task(project)
        for person in people:
            submit(person, project, {"scores": {"accuracy": overall, "clarity": overall}, "overall": overall},
                   task=task)
    services.agreement_figures_compute(project_id=project.pk)
    first = {(f.kind, f.subject_id): (f.percent, f.alpha) for f in AgreementFigure.objects.all()}
    services.agreement_figures_compute(project_id=project.pk)
    again = {(f.kind, f.subject_id): (f.percent, f.alpha) for f in AgreementFigure.objects.all()}
    assert first == again
    assert AgreementFigure.objects.count() == len(first) == 3
    assert AgreementFigure.objects.get(subject=None).alpha == pytest.approx(1.0)


@pytest.mark.django_db
def test_alpha_is_empty_when_undefined_rather_than_an_error():
    project = make_project("pairwise", overlap=2)
    people = [factories.ContractorFactory() for _ in range(2)]
    task = make_task(project)
    for person in people:
        submit(person, project, pairwise("A"), task=task)
    services.agreement_figures_compute(project_id=project.pk)
    figure = AgreementFigure.objects.get(subject=None)
    assert figure.percent == Decimal("100.00") and figure.alpha is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_figures_and_flags(celery_worker_process):
    from annotations import tasks
    from tests.conftest import wait_for

    project = make_project("pairwise", overlap=2, flag_min_grades=1)
    people = [factories.ContractorFactory() for _ in range(2)]
    for row in (("A", "A"), ("B", "A")):
        task = make_task(project)
        for person, choice in zip(people, row, strict=True):
            submit(person, project, pairwise(choice), task=task)

    tasks.agreement_figures_compute.delay(project.pk)
    figure = wait_for(lambda: AgreementFigure.objects.filter(project=project, subject=None).first())
    assert figure.percent == Decimal("50.00")

    # A low grade commits; the flag recompute goes through the broker to the worker.
    submission = people[0].submissions.first()
    services.review_create(submission=submission, reviewer=reviewer(), score=1, marks=MARKS,
                           reason="The chosen response is factually wrong.")
    flag = wait_for(lambda: ContractorFlag.objects.filter(contractor=people[0], project=project).first())
    assert flag.status == ContractorFlag.Status.OPEN
    assert flag.average == Decimal("1.00")
