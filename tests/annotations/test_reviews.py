"""Reviews: who may grade, what a grade must carry, the queue and sampling."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations import selectors, services
from annotations.models import Review, ReviewerRole, ReviewEvent
from annotations.rules import needs_review as submission_needs_review
from taskhub.errors import DomainError
from tests import factories
from tests.annotations.reviewing import make_project, peer_reviewer, reviewer, submit

pytestmark = pytest.mark.django_db

MARKS = {"accuracy": 4, "clarity": 3}


@pytest.fixture
def project():
    return make_project("pairwise")


@pytest.fixture
def submission(project):
    return submit(factories.ContractorFactory(), project)


def test_a_lead_grades_a_submission_with_rubric_marks(submission):
    lead = reviewer()
    review = services.review_create(submission=submission, reviewer=lead, score=4, marks=MARKS, reason="Solid.")
    assert (review.kind, review.score, review.marks, review.reviewer_role) == (
        Review.Kind.REVIEWER, 4, MARKS, ReviewerRole.LEAD)
    assert review.final_score == 4
    assert selectors.submission_final_grade(submission=submission) == 4
    event = ReviewEvent.objects.get(review=review)
    assert (event.kind, event.actor, event.data["score"]) == (ReviewEvent.Kind.CREATED, lead, 4)


def test_a_contractor_an_admin_made_reviewer_may_grade_and_is_shown_as_a_peer(submission):
    review = services.review_create(submission=submission, reviewer=peer_reviewer(), score="5", marks=MARKS)
    assert review.reviewer_role == ReviewerRole.PEER
    assert review.score == 5


def test_an_ordinary_contractor_may_not_grade(submission):
    with pytest.raises(DomainError) as refused:
        services.review_create(submission=submission, reviewer=factories.ContractorFactory(), score=4, marks=MARKS)
    assert refused.value.code == "not_a_reviewer"
    assert not Review.objects.exists()


def test_nobody_reviews_their_own_work(project):
    person = peer_reviewer()
    own = submit(person, project)
    with pytest.raises(DomainError) as refused:
        services.review_create(submission=own, reviewer=person, score=5, marks=MARKS)
    assert refused.value.code == "own_work"
    assert not Review.objects.exists()
    assert list(selectors.review_queue(reviewer=person)) == []


@pytest.mark.parametrize("score", [0, 6, "", "four", "4.5", None, True, -1])
def test_an_out_of_range_grade_is_refused_naming_the_field(submission, score):
    with pytest.raises(DomainError) as refused:
        services.review_create(submission=submission, reviewer=reviewer(), score=score, marks=MARKS, reason="x" * 30)
    assert refused.value.field == "score"
    assert refused.value.status == 400
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("marks", "field"),
    [
        ({"accuracy": 4}, "marks.clarity"),
        ({"accuracy": 4, "clarity": 9}, "marks.clarity"),
        ({"accuracy": 4, "clarity": 3, "style": 2}, "marks.style"),
        ({"accuracy": "", "clarity": 3}, "marks.accuracy"),
        (["accuracy", 4], "marks"),
    ],
)
def test_marks_must_cover_exactly_the_rubric_each_1_to_5(submission, marks, field):
    with pytest.raises(DomainError) as refused:
        services.review_create(submission=submission, reviewer=reviewer(), score=4, marks=marks)
    assert refused.value.field == field
    assert not Review.objects.exists()


@pytest.mark.parametrize("score", [1, 2])
def test_a_low_grade_needs_a_written_reason_of_the_minimum_length(submission, score, settings):
    settings.TASKHUB_LOW_GRADE_REASON_MIN_CHARS = 20
    lead = reviewer()
    for reason in ("", "   ", "Too short."):
        with pytest.raises(DomainError) as refused:
            services.review_create(submission=submission, reviewer=lead, score=score, marks=MARKS, reason=reason)
        assert refused.value.field == "reason"
        assert "at least 20 characters" in refused.value.message
    assert not Review.objects.exists()
    review = services.review_create(submission=submission, reviewer=lead, score=score, marks=MARKS,
                                    reason="  The reason ignores what the prompt asked for.  ")
    assert review.reason == "The reason ignores what the prompt asked for."


def test_a_good_grade_needs_no_reason(submission):
    assert services.review_create(submission=submission, reviewer=reviewer(), score=3, marks=MARKS).reason == ""


def test_a_second_grade_of_the_same_submission_is_a_conflict(submission):
    services.review_create(submission=submission, reviewer=reviewer(), score=4, marks=MARKS)
    with pytest.raises(DomainError) as refused:
        services.review_create(submission=submission, reviewer=reviewer(), score=2, marks=MARKS, reason="r" * 30)
    assert refused.value.status == 409
    assert refused.value.code == "already_reviewed"
    assert "your grade was not saved" in refused.value.message
    assert Review.objects.get().score == 4


# --- the queue --------------------------------------------------------------------------------


def test_the_queue_is_oldest_first_and_leaves_out_graded_work(project):
    lead = reviewer()
    subs = [submit(factories.ContractorFactory(), project) for _ in range(3)]
    base = timezone.now() - timedelta(hours=1)
    for offset, s in zip((30, 10, 20), subs, strict=True):
        s.submitted_at = base + timedelta(minutes=offset)
        s.save(update_fields=["submitted_at"])
    assert list(selectors.review_queue(reviewer=lead)) == [subs[1], subs[2], subs[0]]
    services.review_create(submission=subs[1], reviewer=lead, score=4, marks=MARKS)
    assert list(selectors.review_queue(reviewer=lead)) == [subs[2], subs[0]]


def test_the_queue_filters_by_project_contractor_and_time_window(project):
    lead = reviewer()
    other_project = make_project("pairwise")
    alice, bob = factories.ContractorFactory(), factories.ContractorFactory()
    a1 = submit(alice, project)
    b1 = submit(bob, project)
    a2 = submit(alice, other_project)
    a2.submitted_at = timezone.now() - timedelta(days=3)
    a2.save(update_fields=["submitted_at"])
    assert set(selectors.review_queue(reviewer=lead, project_ids=[project.pk])) == {a1, b1}
    assert set(selectors.review_queue(reviewer=lead, contractor_id=alice.pk)) == {a1, a2}
    # A sprint is several projects and a window: both filters together.
    window = selectors.review_queue(reviewer=lead, project_ids=[project.pk, other_project.pk],
                                   submitted_from=timezone.now() - timedelta(days=1))
    assert set(window) == {a1, b1}


def test_a_project_reviews_a_sampled_share(project):
    project.review_sample_rate = 0
    project.save(update_fields=["review_sample_rate"])
    unsampled = submit(factories.ContractorFactory(), project)
    assert unsampled.needs_review is False
    assert list(selectors.review_queue(reviewer=reviewer())) == []

    project.review_sample_rate = 100
    assert submission_needs_review(project=project, claim_id=12345, is_gold=False) is True

    project.review_sample_rate = 30
    picked = [submission_needs_review(project=project, claim_id=i, is_gold=False) for i in range(1, 2001)]
    assert 500 <= sum(picked) <= 700  # about 30 %
    # Deterministic: the same claim is always sampled the same way.
    again = [submission_needs_review(project=project, claim_id=i, is_gold=False) for i in range(1, 2001)]
    assert picked == again


def test_the_queue_never_includes_gold_submissions_as_ordinary_work(project):
    gold = submit(factories.ContractorFactory(), project, gold={"choice": "A", "strength": "clear", "reason": "A"})
    assert gold.needs_review is False
    assert list(selectors.review_queue(reviewer=reviewer())) == []


def test_the_contractor_is_notified_of_a_review_once(submission):
    from accounts.models import Notification

    review = services.review_create(submission=submission, reviewer=reviewer(), score=2, marks=MARKS,
                                    reason="The reason contradicts the choice made.")
    note = Notification.objects.get(user=submission.contractor)
    # A grade of 1 or 2 is a low grade: its own kind, so it can be emailed at once.
    assert (note.kind, note.key) == ("grade_low", f"review:{review.pk}")
    assert "graded 2/5" in note.title and "contradicts" in note.body
