"""Claiming, releasing and submitting over the REST API and through the contractor pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Claim, Submission
from annotations.services import task_claim_next
from projects.models import Project, Task
from projects.services import qualification_grant
from tests import factories

pytestmark = pytest.mark.django_db

ANSWER = {"choice": "A", "strength": "strong", "reason": "A is correct and kind."}


@pytest.fixture
def project(db):
    return factories.ProjectFactory(name="Helpful pairs", slug="helpful-pairs", overlap=1, max_active_claims=2)


@pytest.fixture
def tasks(project):
    return factories.make_tasks(factories.BatchFactory(project=project), 3)


def _next_url(project):
    return reverse("api-claim-next", args=[project.slug])


# --- REST API -------------------------------------------------------------------------------


def test_api_claim_next_returns_the_claim_with_its_payload(client_for, contractor, project, tasks):
    response = client_for(contractor).post(_next_url(project))
    assert response.status_code == 201
    body = response.json()
    claim = Claim.objects.get(pk=body["id"])
    assert claim.contractor == contractor
    assert body["task_id"] == tasks[0].pk
    assert body["project"] == "helpful-pairs"
    assert body["status"] == "active"
    assert body["payload"] == tasks[0].payload
    assert body["deadline"]


def test_api_claim_next_is_one_claim_statement_after_the_session_and_project(
    client_for, contractor, project, tasks, django_assert_max_num_queries
):
    client = client_for(contractor)
    # session, user, project (with its qualification check), the claim statement
    with django_assert_max_num_queries(4):
        assert client.post(_next_url(project)).status_code == 201


def test_api_nothing_left_is_a_normal_answer(client_for, contractor, project):
    factories.make_tasks(factories.BatchFactory(project=project), 1)
    task_claim_next(contractor=factories.ContractorFactory(), project=project)
    response = client_for(contractor).post(_next_url(project))
    assert response.status_code == 200
    assert response.json() == {"code": "nothing_left", "detail": "No task is available right now."}
    assert not Claim.objects.filter(contractor=contractor).exists()


def test_api_active_claim_cap_is_a_conflict(client_for, contractor, project, tasks):
    client = client_for(contractor)
    assert [client.post(_next_url(project)).status_code for _ in range(2)] == [201, 201]
    response = client.post(_next_url(project))
    assert response.status_code == 409
    assert response.json()["code"] == "active_claim_cap"


def test_api_release_gives_the_task_back(client_for, contractor, project, tasks):
    client = client_for(contractor)
    claim_id = client.post(_next_url(project)).json()["id"]
    response = client.post(reverse("api-claim-release", args=[claim_id]))
    assert response.status_code == 204
    assert Claim.objects.get(pk=claim_id).status == "released"
    assert Task.objects.get(pk=tasks[0].pk).claim_count == 0
    again = client.post(reverse("api-claim-release", args=[claim_id]))
    assert again.status_code == 409
    assert again.json()["code"] == "claim_not_active"


def test_api_submit_stores_the_answer(client_for, contractor, project, tasks):
    client = client_for(contractor)
    claim_id = client.post(_next_url(project)).json()["id"]
    response = client.post(reverse("api-claim-submit", args=[claim_id]), {"answer": ANSWER},
                           content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["answer"] == ANSWER
    assert body["claim_id"] == claim_id
    assert Submission.objects.get(pk=body["id"]).answer == ANSWER
    assert Claim.objects.get(pk=claim_id).status == "submitted"


def test_api_invalid_answer_is_400_with_per_field_errors_and_nothing_saved(client_for, contractor, project, tasks):
    client = client_for(contractor)
    claim_id = client.post(_next_url(project)).json()["id"]
    url = reverse("api-claim-submit", args=[claim_id])

    response = client.post(url, {"answer": {"choice": "Z", "strength": "clear", "reason": "", "x": 1}},
                           content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_data"
    assert {e["field"] for e in body["errors"]} == {"choice", "reason", "x"}
    assert all(e["message"] for e in body["errors"])

    missing = client.post(url, {}, content_type="application/json")
    assert missing.status_code == 400
    assert missing.json()["field"] == "answer" and missing.json()["errors"][0]["field"] == "answer"
    not_json = client.post(url, "{broken", content_type="application/json")
    assert not_json.status_code == 400

    assert not Submission.objects.exists()
    assert Claim.objects.get(pk=claim_id).status == "active"


def test_api_submit_after_the_deadline_is_refused_clearly(client_for, contractor, project, tasks):
    claim = task_claim_next(contractor=contractor, project=project, now=timezone.now() - timedelta(hours=1))
    response = client_for(contractor).post(reverse("api-claim-submit", args=[claim.pk]), {"answer": ANSWER},
                                           content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "claim_expired"
    assert "ran out" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_api_another_persons_claim_is_not_found(client_for, contractor, project, tasks):
    claim = task_claim_next(contractor=factories.ContractorFactory(), project=project)
    client = client_for(contractor)
    for name, data in (("api-claim-submit", {"answer": ANSWER}), ("api-claim-release", {})):
        response = client.post(reverse(name, args=[claim.pk]), data, content_type="application/json")
        assert response.status_code == 404, name
    assert Claim.objects.get(pk=claim.pk).status == "active"
    assert client.get(reverse("api-claims")).json() == []


def test_api_lists_only_my_active_claims(client_for, contractor, project, tasks):
    mine = task_claim_next(contractor=contractor, project=project)
    task_claim_next(contractor=factories.ContractorFactory(), project=project)
    body = client_for(contractor).get(reverse("api-claims")).json()
    assert [c["id"] for c in body] == [mine.pk]


def test_api_unknown_or_ineligible_project_is_not_found(client_for, contractor, project, tasks):
    client = client_for(contractor)
    assert client.post(reverse("api-claim-next", args=["no-such-project"])).status_code == 404
    project.qualification = factories.ProjectFactory(is_onboarding=True)
    project.save(update_fields=["qualification"])
    assert client.post(_next_url(project)).status_code == 404
    assert not Claim.objects.exists()

    qualification_grant(contractor=contractor, project=project.qualification)
    assert client.post(_next_url(project)).status_code == 201  # qualified now
    project.status = Project.Status.PAUSED
    project.save(update_fields=["status"])
    assert client.post(_next_url(project)).status_code == 404
    assert Claim.objects.count() == 1


def test_api_is_for_contractors_only(client, client_for, lead, project, tasks):
    claim = task_claim_next(contractor=factories.ContractorFactory(), project=project)
    urls = [_next_url(project), reverse("api-claim-release", args=[claim.pk]),
            reverse("api-claim-submit", args=[claim.pk])]
    for url in urls:
        # Anonymous: 401, naming the scheme to authenticate with (API tokens, issue 18).
        anonymous = client.post(url, {"answer": ANSWER}, content_type="application/json")
        assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token", url
    lead_client = client_for(lead)
    for url in urls:
        assert lead_client.post(url, {"answer": ANSWER}, content_type="application/json").status_code == 403, url
    assert Claim.objects.count() == 1
    assert Claim.objects.get(pk=claim.pk).status == "active"


# --- contractor pages -----------------------------------------------------------------------


def _project_with_work(index: int, *, tasks: int = 3) -> Project:
    project = factories.ProjectFactory(name=f"Dash project {index:02d}", slug=f"dash-{index}")
    factories.PayRateFactory(project=project)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, tasks)
    return project


def test_dashboard_lists_eligible_projects_with_what_is_available(client_for, contractor):
    open_project = _project_with_work(1, tasks=4)
    task_claim_next(contractor=contractor, project=open_project)
    task_claim_next(contractor=factories.ContractorFactory(), project=open_project)
    gated = _project_with_work(2)
    gated.qualification = factories.ProjectFactory(is_onboarding=True, status=Project.Status.DRAFT)
    gated.save(update_fields=["qualification"])
    paused = _project_with_work(3)
    paused.status = Project.Status.PAUSED
    paused.save(update_fields=["status"])

    response = client_for(contractor).get(reverse("work:dashboard"))
    assert response.status_code == 200
    listed = {p.slug: p for p in response.context["projects"]}
    assert set(listed) == {"dash-1"}
    assert listed["dash-1"].available == 2
    assert [c.project_id for c in response.context["claims"]] == [open_project.pk]
    assert "Dash project 01" in response.content.decode()


def test_dashboard_query_count_does_not_grow_with_data(client_for, contractor, django_assert_max_num_queries):
    client = client_for(contractor)
    _project_with_work(1)
    client.get(reverse("work:dashboard"))  # warm the session and caches

    with django_assert_max_num_queries(16) as small:  # with the pay outlook (3) and hourly per project (1)
        assert client.get(reverse("work:dashboard")).status_code == 200
    for index in range(2, 10):
        project = _project_with_work(index)
        task_claim_next(contractor=contractor, project=project)
        factories.BatchFactory(project=project, status="scheduled", release_at=timezone.now() + timedelta(days=1))
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = client.get(reverse("work:dashboard"))
    assert len(response.context["projects"]) == 9
    assert len(response.context["claims"]) == 8
    assert len(large.captured_queries) == len(small.captured_queries)


def test_start_working_claims_and_opens_the_task(client_for, contractor, project, tasks):
    response = client_for(contractor).post(reverse("work:start", args=[project.slug]))
    claim = Claim.objects.get(contractor=contractor)
    assert response.status_code == 302
    assert response.url == reverse("work:claim", args=[claim.pk])
    assert claim.task_id == tasks[0].pk


def test_submitting_a_pairwise_answer_through_the_page_shows_the_next_task(client_for, contractor, project, tasks):
    client = client_for(contractor)
    client.post(reverse("work:start", args=[project.slug]))
    first = Claim.objects.get(contractor=contractor)

    response = client.post(reverse("work:submit", args=[first.pk]), {**ANSWER}, follow=True)
    assert response.status_code == 200
    submission = Submission.objects.get(claim=first)
    assert submission.answer == ANSWER
    second = Claim.objects.get(contractor=contractor, status="active")
    assert second.task_id == tasks[1].pk
    assert response.redirect_chain[-1][0] == reverse("work:claim", args=[second.pk])
    page = response.content.decode()
    assert "Submitted. Here is your next task." in page
    assert tasks[1].external_id in page


def test_an_invalid_answer_on_the_page_is_shown_with_its_fields(client_for, contractor, project, tasks):
    client = client_for(contractor)
    client.post(reverse("work:start", args=[project.slug]))
    claim = Claim.objects.get(contractor=contractor)
    response = client.post(reverse("work:submit", args=[claim.pk]), {"choice": "A", "strength": "strong"}, follow=True)
    assert response.redirect_chain[-1][1] == 302
    body = response.content.decode()
    assert 'data-for="reason"' in body and "Please fill in your reason." in body
    assert not Submission.objects.exists()
    assert Claim.objects.get(pk=claim.pk).status == "active"


def test_nothing_left_page(client_for, contractor, project):
    response = client_for(contractor).post(reverse("work:start", args=[project.slug]))
    assert response.status_code == 200
    assert "No task is available on Helpful pairs right now" in response.content.decode()
    assert not Claim.objects.exists()


def test_last_submission_leads_to_the_nothing_left_page(client_for, contractor, project):
    factories.make_tasks(factories.BatchFactory(project=project), 1)
    client = client_for(contractor)
    client.post(reverse("work:start", args=[project.slug]))
    claim = Claim.objects.get(contractor=contractor)
    response = client.post(reverse("work:submit", args=[claim.pk]), ANSWER)
    assert response.status_code == 200
    assert "No task is available on Helpful pairs right now" in response.content.decode()
    assert Submission.objects.filter(claim=claim).exists()


def test_pages_are_for_contractors_only(client, client_for, lead, project, tasks):
    assert client.post(reverse("work:start", args=[project.slug])).status_code == 302  # to the login page
    assert client_for(lead).post(reverse("work:start", args=[project.slug])).status_code == 403
    assert not Claim.objects.exists()
