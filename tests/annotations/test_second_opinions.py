"""Second opinions (issue 20): sampled at random (never one's own grades), graded blind by someone
other than the first reviewer; one that differs waits for a decision by a lead or admin other than the
first reviewer, with a reason the contractor reads; pay never moves without that decision."""

import pytest
from django.urls import reverse

from accounts.models import Notification
from annotations import services
from annotations.models import Review, ReviewEvent, SecondOpinion, Submission
from annotations.services.second_opinions import sampleable_reviews
from taskhub.errors import Conflict, DomainError, Forbidden
from tests import factories

pytestmark = pytest.mark.django_db

REASON = "The answer ignores the second half of the prompt."


@pytest.fixture
def graded(work):
    """Five graded submissions of one contractor, graded 4 by the first lead."""
    contractor = factories.ContractorFactory()
    project = work.project(rubric=[])
    first = work._lead()
    reviews = [work.review(work.submission(contractor=contractor, project=project), 4) for _ in range(5)]
    return {"contractor": contractor, "project": project, "first": first, "reviews": reviews}


def _differing(graded, *, second=None) -> SecondOpinion:
    sampler = factories.LeadFactory()
    services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=1)
    opinion = SecondOpinion.objects.get()
    return services.second_opinion_grade(opinion=opinion, reviewer=second or factories.LeadFactory(), score=2,
                                         reason=REASON)


def test_sampling_draws_at_most_the_size_and_never_the_samplers_own_grades(graded):
    first = graded["first"]
    assert services.second_opinions_sample(by=first, reviews=sampleable_reviews(by=first), size=3) == 0
    sampler = factories.LeadFactory()
    assert services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=3) == 3
    assert services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=5) == 2
    assert services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=5) == 0
    assert SecondOpinion.objects.filter(status=SecondOpinion.Status.PENDING).count() == 5


@pytest.mark.parametrize("size", ["0", "101", "²", "", "3.5", None])
def test_a_bad_sample_size_is_refused_at_the_field(graded, size):
    sampler = factories.LeadFactory()
    with pytest.raises(DomainError) as refused:
        services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=size)
    assert refused.value.errors[0]["field"] == "size"
    assert not SecondOpinion.objects.exists()


def test_contractors_do_not_sample(graded):
    with pytest.raises(Forbidden):
        services.second_opinions_sample(by=graded["contractor"], reviews=sampleable_reviews(by=graded["contractor"]),
                                        size=1)


def test_the_first_reviewer_and_the_contractor_do_not_give_the_second_opinion(graded):
    sampler = factories.LeadFactory()
    services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=1)
    opinion = SecondOpinion.objects.get()
    with pytest.raises(Forbidden):
        services.second_opinion_grade(opinion=opinion, reviewer=graded["first"], score=4)
    reviewer_contractor = factories.ContractorFactory(is_reviewer=True)
    assert services.second_opinion_grade(opinion=opinion, reviewer=reviewer_contractor, score=4).status == "agreed"
    with pytest.raises(Conflict):
        services.second_opinion_grade(opinion=opinion, reviewer=factories.LeadFactory(), score=3)


def test_a_low_second_grade_needs_a_reason_like_any_grade(graded):
    sampler = factories.LeadFactory()
    services.second_opinions_sample(by=sampler, reviews=sampleable_reviews(by=sampler), size=1)
    opinion = SecondOpinion.objects.get()
    with pytest.raises(DomainError) as refused:
        services.second_opinion_grade(opinion=opinion, reviewer=factories.LeadFactory(), score=1, reason="bad")
    assert refused.value.errors[0]["field"] == "reason"
    assert SecondOpinion.objects.get().status == SecondOpinion.Status.PENDING


def test_a_differing_second_opinion_changes_nothing_until_decided(graded):
    opinion = _differing(graded)
    assert opinion.status == SecondOpinion.Status.DIFFERS
    submission = Submission.objects.get(pk=opinion.review.submission_id)
    assert submission.final_grade == 4
    assert not Notification.objects.filter(user=graded["contractor"], kind="second_opinion_decided").exists()
    assert ReviewEvent.objects.filter(kind=ReviewEvent.Kind.SECOND_OPINION, review=opinion.review).exists()
    # The lead who sampled it is told it differs; the contractor is not, until the decision.
    told = Notification.objects.get(kind="second_opinion_differs")
    assert told.user_id == opinion.requested_by_id and "4/5 then 2/5" in told.title


def test_only_a_lead_or_admin_other_than_the_first_reviewer_decides(graded):
    opinion = _differing(graded)
    with pytest.raises(Forbidden):
        services.second_opinion_decide(opinion=opinion, decider=graded["first"], outcome="revised", reason=REASON)
    with pytest.raises(Forbidden):
        services.second_opinion_decide(opinion=opinion, decider=factories.ContractorFactory(is_reviewer=True),
                                       outcome="revised", reason=REASON)
    with pytest.raises(DomainError) as refused:
        services.second_opinion_decide(opinion=opinion, decider=factories.AdminFactory(), outcome="revised",
                                       reason="short")
    assert refused.value.errors[0]["field"] == "reason"
    assert SecondOpinion.objects.get().status == SecondOpinion.Status.DIFFERS


def test_the_first_grade_may_stand_and_the_contractor_reads_why(graded):
    opinion = _differing(graded)
    decided = services.second_opinion_decide(opinion=opinion, decider=factories.AdminFactory(), outcome="stands",
                                             reason="The first grade follows the rubric's wording here.")
    assert decided.status == SecondOpinion.Status.STANDS and decided.revised_score is None
    assert Submission.objects.get(pk=opinion.review.submission_id).final_grade == 4
    note = Notification.objects.get(user=graded["contractor"], kind="second_opinion_decided")
    assert "stands at 4/5" in note.title and "rubric's wording" in note.body


def test_a_revision_changes_the_final_grade_and_pay_follows(graded, monkeypatch):
    told = []
    monkeypatch.setattr("annotations.services.second_opinions.pay_changed", lambda **scope: told.append(scope))
    opinion = _differing(graded)
    assert told == []  # a second grade alone says nothing to pay
    submission = Submission.objects.get(pk=opinion.review.submission_id)
    decided = services.second_opinion_decide(opinion=opinion, decider=factories.AdminFactory(), outcome="revised",
                                             reason=REASON)
    assert (decided.status, decided.revised_score) == (SecondOpinion.Status.REVISED, 2)  # the second grade
    assert told == [{"contractor_id": graded["contractor"].pk}]
    submission.refresh_from_db()
    assert submission.final_grade == 2
    assert Review.objects.select_related("appeal", "second_opinion").get(pk=opinion.review_id).final_score == 2
    note = Notification.objects.get(user=graded["contractor"], kind="second_opinion_decided")
    assert "revised to 2/5" in note.title
    # Twice is once.
    with pytest.raises(Conflict):
        services.second_opinion_decide(opinion=decided, decider=factories.AdminFactory(), outcome="stands",
                                       reason=REASON)
    assert told == [{"contractor_id": graded["contractor"].pk}]


def test_a_revision_must_change_the_grade(graded):
    opinion = _differing(graded)
    with pytest.raises(DomainError) as refused:
        services.second_opinion_decide(opinion=opinion, decider=factories.AdminFactory(), outcome="revised",
                                       reason=REASON, revised_score="4")
    assert refused.value.errors[0]["field"] == "revised_score"


def test_the_contractor_reads_the_decision_on_my_work(graded, client_for):
    opinion = _differing(graded)
    services.second_opinion_decide(opinion=opinion, decider=factories.AdminFactory(), outcome="revised",
                                   reason=REASON, revised_score="3")
    page = client_for(graded["contractor"]).get(reverse("work:my_work")).content.decode()
    assert "grade revised from 4 to 3" in page and REASON in page
    assert Submission.objects.get(pk=opinion.review.submission_id).final_grade == 3
