"""Two people acting at once produce one outcome: real threads against PostgreSQL."""


import pytest
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Appeal, Review, ReviewEvent
from taskhub.errors import Conflict
from tests import factories
from tests.annotations.reviewing import make_project, reviewer, submit
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

MARKS = {"accuracy": 4, "clarity": 3}


def test_two_reviewers_grading_at_once_produce_one_review():
    project = make_project("pairwise")
    first, second = reviewer(), reviewer()
    for _ in range(5):
        submission = submit(factories.ContractorFactory(), project)
        results = race(
            lambda s=submission: services.review_create(submission=s, reviewer=first, score=5, marks=MARKS),
            lambda s=submission: services.review_create(submission=s, reviewer=second, score=2, marks=MARKS,
                                                        reason="Misses the main point of the prompt."),
        )
        outcomes = sorted(kind for kind, _ in results)
        assert outcomes == ["error", "ok"], results
        error = next(value for kind, value in results if kind == "error")
        assert isinstance(error, Conflict)
        assert error.code == "already_reviewed"
        assert "your grade was not saved" in error.message
        assert Review.objects.filter(submission=submission).count() == 1
        assert ReviewEvent.objects.filter(submission=submission, kind=ReviewEvent.Kind.CREATED).count() == 1


def test_the_losing_reviewer_gets_a_clear_409_page():
    project = make_project("pairwise")
    submission = submit(factories.ContractorFactory(), project)
    clients = []
    for person in (reviewer(), reviewer()):
        client = Client()
        client.force_login(person)
        clients.append(client)
    url = reverse("review:grade", args=[submission.pk])
    form = {"score": "4", "mark__accuracy": "4", "mark__clarity": "4", "reason": ""}
    results = race(*(lambda c=c: c.post(url, form) for c in clients))
    statuses = sorted(response.status_code for _, response in results)
    assert statuses == [302, 409]
    loser = next(response for _, response in results if response.status_code == 409)
    assert "already graded" in loser.content.decode()
    assert Review.objects.filter(submission=submission).count() == 1


def _appealed_review():
    project = make_project("pairwise")
    contractor = factories.ContractorFactory()
    submission = submit(contractor, project)
    review = services.review_create(submission=submission, reviewer=reviewer(), score=2, marks=MARKS,
                                    reason="The reason does not justify the choice.")
    return contractor, review


def test_two_deciders_at_once_produce_one_decision():
    for _ in range(3):
        contractor, review = _appealed_review()
        appeal = services.appeal_create(review=review, contractor=contractor,
                                        reason="I explained the choice in the second sentence.")
        upholder, reviser = reviewer(), reviewer()
        results = race(
            lambda a=appeal, d=upholder: services.appeal_decide(appeal=Appeal.objects.get(pk=a.pk), decider=d,
                                                    outcome="upheld", reason="The grade matches the rubric."),
            lambda a=appeal, d=reviser: services.appeal_decide(appeal=Appeal.objects.get(pk=a.pk), decider=d,
                                                    outcome="revised", revised_score=4,
                                                    reason="The second sentence does explain it."),
        )
        assert sorted(kind for kind, _ in results) == ["error", "ok"], results
        error = next(value for kind, value in results if kind == "error")
        assert isinstance(error, Conflict) and error.code == "appeal_already_decided"
        appeal.refresh_from_db()
        winner = next(value for kind, value in results if kind == "ok")
        assert appeal.status == winner.status
        decisions = ReviewEvent.objects.filter(appeal=appeal, kind__in=["upheld", "revised"])
        assert decisions.count() == 1


def test_a_double_clicked_appeal_is_recorded_once():
    contractor, review = _appealed_review()
    reason = "Please look again: the answer follows the rubric."
    results = race(*(
        lambda: services.appeal_create(review=Review.objects.get(pk=review.pk), contractor=contractor, reason=reason)
        for _ in range(3)
    ))
    assert sorted(kind for kind, _ in results) == ["error", "error", "ok"], results
    assert all(value.code == "already_appealed" for kind, value in results if kind == "error")
    assert Appeal.objects.filter(review=review).count() == 1
    assert ReviewEvent.objects.filter(review=review, kind=ReviewEvent.Kind.APPEALED).count() == 1
