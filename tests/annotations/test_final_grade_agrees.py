"""The final grade is defined once for Python (`Review.final_score`) and once for the database
(the view annotations_final_grade, which the submission's final_grade column follows): on generated
histories of reviews, calibration grades, appeals and second opinions, the two agree."""

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Appeal, Review, ReviewerRole, SecondOpinion, Submission
from tests import factories

pytestmark = pytest.mark.django_db

scores = st.integers(1, 5)
histories = st.fixed_dictionaries({
    "current": st.none() | st.sampled_from([Review.Kind.REVIEWER, Review.Kind.AUTOMATIC]),
    "score": scores,
    "calibrations": st.lists(scores, max_size=2),
    "appeal": st.none() | st.sampled_from(list(Appeal.Status.values)),
    "revised": scores,
    "second_opinion": st.none() | st.sampled_from(list(SecondOpinion.Status.values)),
    "second_score": scores,
    "second_revised": scores,
})


def _grade(work, submission, history, graders, contractor) -> Review | None:
    now = timezone.now()
    for grader, score in zip(graders, history["calibrations"], strict=False):
        Review.objects.create(submission=submission, reviewer=grader, kind=Review.Kind.CALIBRATION,
                              reviewer_role=ReviewerRole.LEAD, score=score, created_at=now)
    if history["current"] is None:
        return None
    automatic = history["current"] == Review.Kind.AUTOMATIC
    review = Review.objects.create(
        submission=submission, reviewer=None if automatic else work._lead(), kind=history["current"],
        reviewer_role=ReviewerRole.AUTOMATIC if automatic else ReviewerRole.LEAD, score=history["score"],
        created_at=now,
    )
    status = history["appeal"]
    if status is not None:
        revised = history["revised"] if status == Appeal.Status.REVISED else None
        decided = status != Appeal.Status.OPEN
        Appeal.objects.create(review=review, contractor=contractor, reason="Please look at this again.",
                              status=status, revised_score=revised, created_at=now,
                              decided_by=graders[0] if decided else None, decided_at=now if decided else None,
                              decided_by_role=ReviewerRole.LEAD if decided else "",
                              decision_reason="Looked again." if decided else "")
    opinion = history["second_opinion"]
    if opinion is not None and not automatic:
        graded = opinion != SecondOpinion.Status.PENDING
        decided = opinion in (SecondOpinion.Status.STANDS, SecondOpinion.Status.REVISED)
        SecondOpinion.objects.create(
            review=review, requested_by=graders[1], requested_at=now, status=opinion,
            reviewer=graders[1] if graded else None, score=history["second_score"] if graded else None,
            graded_at=now if graded else None, decided_by=graders[0] if decided else None,
            decided_at=now if decided else None, decision_reason="Looked again." if decided else "",
            revised_score=history["second_revised"] if opinion == SecondOpinion.Status.REVISED else None)
    return review


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(batch=st.lists(histories, min_size=1, max_size=10))
def test_python_and_sql_final_grades_agree(work, batch):
    contractor = factories.ContractorFactory()
    project = work.project()
    graders = factories.LeadFactory.create_batch(2)
    expected = {}
    for history in batch:
        submission = work.submission(contractor=contractor, project=project)
        current = _grade(work, submission, history, graders, contractor)
        if current is not None:
            current = Review.objects.select_related("appeal", "second_opinion").get(pk=current.pk)
        expected[submission.pk] = current.final_score if current is not None else None
    with connection.cursor() as cursor:
        cursor.execute("SELECT s.id, g.grade FROM annotations_submission s "
                       "LEFT JOIN annotations_final_grade g ON g.submission_id = s.id WHERE s.id = ANY(%s)",
                       [list(expected)])
        from_view = dict(cursor.fetchall())
    kept = dict(Submission.objects.filter(pk__in=expected).values_list("pk", "final_grade"))
    assert from_view == expected
    assert kept == expected


def test_a_second_opinion_changes_the_final_grade_only_once_decided_revised(work):
    """A second grade alone never moves the final grade (nor pay); a decision "revised" does, and an
    appeal decided "revised" still has the last word."""
    contractor = factories.ContractorFactory()
    submission = work.submission(contractor=contractor, project=work.project())
    review = work.review(submission, 4)
    lead, other = factories.LeadFactory.create_batch(2)
    now = timezone.now()
    opinion = SecondOpinion.objects.create(review=review, requested_by=lead, requested_at=now)
    SecondOpinion.objects.filter(pk=opinion.pk).update(status=SecondOpinion.Status.DIFFERS, reviewer=other, score=2,
                                                       graded_at=now)
    submission.refresh_from_db()
    assert submission.final_grade == 4
    SecondOpinion.objects.filter(pk=opinion.pk).update(status=SecondOpinion.Status.REVISED, revised_score=3,
                                                       decided_by=lead, decided_at=now)
    submission.refresh_from_db()
    assert submission.final_grade == 3
    Appeal.objects.create(review=review, contractor=contractor, reason="Please look at this again.",
                          status=Appeal.Status.REVISED, revised_score=5, created_at=now, decided_by=other,
                          decided_at=now, decided_by_role=ReviewerRole.LEAD, decision_reason="Looked again.")
    submission.refresh_from_db()
    assert submission.final_grade == 5
