"""Grades are whole numbers: JSON true is not a 1, "²" is not a 2 (issue 15, items 2 and 6)."""

import pytest
from django.urls import reverse

from annotations.models import Review, Submission
from tests import factories
from tests.annotations.reviewing import claim_for, make_project, make_task, submit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("score", [True, 4.0, "4", "²", "٣", 99999999999999999999])
def test_the_review_api_refuses_a_score_that_is_not_a_json_whole_number_from_1_to_5(client_for, score):
    project = make_project("pairwise")
    submission = submit(factories.ContractorFactory(), project)
    reviewer = factories.LeadFactory()
    response = client_for(reviewer).post(reverse("api-review-create", args=[submission.pk]),
                                         {"score": score, "marks": {"accuracy": 4, "clarity": 4}},
                                         content_type="application/json")
    if score == "4":  # a form-style digit string is still read (forms send text)
        assert response.status_code == 201
        return
    assert response.status_code == 400 and response.json()["field"] == "score"
    assert not Review.objects.filter(submission=submission).exists()


def test_a_mark_of_true_is_refused(client_for):
    submission = submit(factories.ContractorFactory(), make_project("pairwise"))
    response = client_for(factories.LeadFactory()).post(
        reverse("api-review-create", args=[submission.pk]), {"score": 4, "marks": {"accuracy": True, "clarity": 4}},
        content_type="application/json")
    assert response.status_code == 400 and response.json()["field"] == "marks.accuracy"


@pytest.mark.parametrize("overall", [True, 4.0, "4"])
def test_an_answer_scored_true_is_refused_by_the_api_and_the_form_reads_digits(client_for, overall):
    person = factories.ContractorFactory()
    project = make_project("rating")
    make_task(project)
    claim = claim_for(person, project)
    client = client_for(person)
    answer = {"scores": {"accuracy": 4, "clarity": 5}, "overall": overall, "comment": ""}
    response = client.post(reverse("api-claim-submit", args=[claim.pk]), {"answer": answer},
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "overall"
    assert not Submission.objects.exists()
    form = client.post(reverse("work:submit", args=[claim.pk]), {"score__accuracy": "4", "score__clarity": "5",
                                                                 "overall": "4", "next": "stop"})
    assert form.status_code == 302 and Submission.objects.get().answer["overall"] == 4


@pytest.mark.parametrize("text", ["a\x00b", "\x00"])
def test_nul_in_an_answer_a_draft_or_a_reason_is_a_clear_400(client_for, text):
    person = factories.ContractorFactory()
    project = make_project("pairwise")
    make_task(project)
    claim = claim_for(person, project)
    client = client_for(person)
    api = client.post(reverse("api-claim-submit", args=[claim.pk]),
                      {"answer": {"choice": "A", "strength": "clear", "reason": text}}, content_type="application/json")
    # Refused where the body is parsed, naming the place in it.
    assert api.status_code == 400 and api.json()["field"] == "body.answer.reason"
    page = client.post(reverse("work:submit", args=[claim.pk]), {"choice": "A", "strength": "clear", "reason": text},
                       follow=True)
    # The task page says so at the reason, after a redirect (a reload sends nothing again).
    assert page.redirect_chain[-1][1] == 302 and 'data-for="reason"' in page.content.decode()
    draft = client.post(reverse("work:draft", args=[claim.pk]), {"reason": text})
    assert draft.status_code == 400
    assert not Submission.objects.exists()
