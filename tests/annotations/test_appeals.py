"""Appeals: within the window, by the contractor, decided by a different reviewer, all on record."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from annotations import selectors, services
from annotations.models import Appeal, ReviewEvent, Submission
from taskhub.errors import DomainError
from tests import factories
from tests.annotations.reviewing import make_project, peer_reviewer, reviewer, submit

pytestmark = pytest.mark.django_db

MARKS = {"accuracy": 2, "clarity": 2}
REASON = "The answer does address the question; see the second paragraph."


@pytest.fixture
def graded():
    contractor = factories.ContractorFactory()
    submission = submit(contractor, make_project("pairwise"))
    grader = reviewer()
    review = services.review_create(submission=submission, reviewer=grader, score=2, marks=MARKS,
                                    reason="The reason does not support the choice.")
    return contractor, grader, review


def test_the_appeal_window_defaults_to_seven_days():
    assert timedelta(days=7) == django_settings.TASKHUB_APPEAL_WINDOW


def test_a_contractor_appeals_their_review_within_the_window(graded):
    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON,
                                    now=review.created_at + timedelta(days=6, hours=23))
    assert appeal.status == Appeal.Status.OPEN
    assert ReviewEvent.objects.filter(appeal=appeal, kind=ReviewEvent.Kind.APPEALED, actor=contractor).exists()


def test_an_appeal_after_the_window_is_refused(graded):
    contractor, _, review = graded
    with pytest.raises(DomainError) as refused:
        services.appeal_create(review=review, contractor=contractor, reason=REASON,
                               now=review.created_at + timedelta(days=7, seconds=1))
    assert refused.value.code == "appeal_window_closed"
    assert not Appeal.objects.exists()


def test_only_the_contractor_whose_work_it_is_may_appeal(graded):
    _, _, review = graded
    with pytest.raises(DomainError) as refused:
        services.appeal_create(review=review, contractor=factories.ContractorFactory(), reason=REASON)
    assert refused.value.status == 404
    assert not Appeal.objects.exists()


def test_an_appeal_needs_a_written_reason(graded, settings):
    settings.TASKHUB_APPEAL_REASON_MIN_CHARS = 20
    contractor, _, review = graded
    with pytest.raises(DomainError) as refused:
        services.appeal_create(review=review, contractor=contractor, reason="unfair")
    assert refused.value.field == "reason"
    assert not Appeal.objects.exists()


def test_a_different_reviewer_decides(graded):
    contractor, grader, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    with pytest.raises(DomainError) as own_grade:
        services.appeal_decide(appeal=appeal, decider=grader, outcome="upheld", reason="I stand by my grade here.")
    assert own_grade.value.code == "own_review"
    with pytest.raises(DomainError) as not_reviewer:
        services.appeal_decide(appeal=appeal, decider=factories.ContractorFactory(), outcome="upheld",
                               reason="Looks right to me, honestly.")
    assert not_reviewer.value.code == "not_a_reviewer"
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.OPEN


def test_a_reviewer_contractor_cannot_decide_their_own_appeal():
    person = peer_reviewer()
    submission = submit(person, make_project("pairwise"))
    review = services.review_create(submission=submission, reviewer=reviewer(), score=1, marks=MARKS,
                                    reason="Chose the response that is factually wrong.")
    appeal = services.appeal_create(review=review, contractor=person, reason=REASON)
    with pytest.raises(DomainError) as refused:
        services.appeal_decide(appeal=appeal, decider=person, outcome="revised", revised_score=5,
                               reason="I was right all along, clearly.")
    assert refused.value.code == "own_appeal"


def test_an_upheld_appeal_keeps_the_grade(graded):
    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    decided = services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="upheld",
                                     reason="The second paragraph restates the prompt only.")
    assert decided.status == Appeal.Status.UPHELD and decided.revised_score is None
    assert selectors.submission_final_grade(submission=review.submission) == 2


def test_a_revised_appeal_changes_the_grade_pay_follows(graded):
    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    decided = services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="revised", revised_score="4",
                                     reason="The second paragraph answers it well.")
    assert decided.revised_score == 4
    review.refresh_from_db()
    assert review.score == 2  # the original grade stays on record
    assert review.final_score == 4
    assert selectors.submission_final_grade(submission=review.submission) == 4
    assert Submission.objects.get(pk=review.submission_id).final_grade == 4


@pytest.mark.parametrize(("score", "field"), [(2, "revised_score"), (None, "revised_score"), (9, "revised_score")])
def test_a_revision_must_be_a_different_valid_grade(graded, score, field):
    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    with pytest.raises(DomainError) as refused:
        services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="revised", revised_score=score,
                               reason="Changing the grade after a second look.")
    assert refused.value.field == field
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.OPEN


def test_a_decision_needs_a_reason(graded):
    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    with pytest.raises(DomainError) as refused:
        services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="upheld", reason="ok")
    assert refused.value.field == "decision_reason"


def test_every_step_is_kept_in_an_append_only_audit_trail(graded):
    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    decider = reviewer()
    services.appeal_decide(appeal=appeal, decider=decider, outcome="revised", revised_score=3,
                           reason="Partly right: the reason is thin but valid.")
    trail = list(ReviewEvent.objects.filter(submission=review.submission).order_by("at", "id"))
    assert [e.kind for e in trail] == ["created", "appealed", "revised"]
    assert trail[2].actor == decider and trail[2].data["revised_score"] == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewEvent.objects.filter(pk=trail[0].pk).update(data={"score": 5})
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewEvent.objects.filter(pk=trail[0].pk).delete()
    assert ReviewEvent.objects.filter(submission=review.submission).count() == 3


def test_appeal_and_decision_through_the_pages(client_for, graded):
    contractor, _, review = graded
    response = client_for(contractor).post(reverse("work:appeal", args=[review.pk]), {"reason": REASON})
    assert response.status_code == 302
    appeal = Appeal.objects.get(review=review)

    decider = reviewer()
    inbox = client_for(decider).get(reverse("review:appeals")).content.decode()
    assert REASON in inbox
    response = client_for(decider).post(reverse("review:appeal_decide", args=[appeal.pk]),
                                        {"outcome": "revised", "revised_score": "4",
                                         "reason": "The second paragraph answers it well."})
    assert response.status_code == 302

    page = client_for(contractor).get(reverse("work:my_work")).content.decode()
    assert "grade revised from 2 to 4" in page
    assert "The second paragraph answers it well." in page
    assert "4/5" in page


def test_an_invalid_appeal_through_the_page_is_a_clear_400(client_for, graded):
    contractor, _, review = graded
    response = client_for(contractor).post(reverse("work:appeal", args=[review.pk]), {"reason": "no"})
    assert response.status_code == 400
    assert "needs a reason of at least" in response.content.decode()
    assert not Appeal.objects.exists()


def test_the_original_reviewer_does_not_see_the_appeal_in_their_inbox(client_for, graded):
    contractor, grader, review = graded
    services.appeal_create(review=review, contractor=contractor, reason=REASON)
    assert REASON not in client_for(grader).get(reverse("review:appeals")).content.decode()
    assert list(selectors.appeals_open_for(decider=grader)) == []


def test_an_automatic_gold_grade_can_be_appealed_and_decided_by_any_reviewer():
    contractor = factories.ContractorFactory()
    submission = submit(contractor, make_project("pairwise"),
                        {"choice": "B", "strength": "slight", "reason": "B is shorter."},
                        gold={"choice": "A", "strength": "clear", "reason": "A is right."})
    review = submission.reviews.get()
    assert review.score == 1
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON,
                                    now=timezone.now())
    decided = services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="upheld",
                                     reason="The known answer is A; B is wrong here.")
    assert decided.status == Appeal.Status.UPHELD


def test_the_contractor_is_notified_of_the_decision(graded):
    from accounts.models import Notification

    contractor, _, review = graded
    appeal = services.appeal_create(review=review, contractor=contractor, reason=REASON)
    services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="revised", revised_score=3,
                           reason="Partly right: the reason is thin but valid.")
    note = Notification.objects.get(user=contractor, kind="appeal_decided")
    assert "revised to 3/5" in note.title and note.body == "Partly right: the reason is thin but valid."
