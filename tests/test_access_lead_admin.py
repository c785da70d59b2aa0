"""Role checks of the sprint (lead) and set-up (admin) pages: contractors get 403 everywhere,
leads get 403 on admin pages, anonymous visitors are sent to sign in, and a lead reaches only
the sprints they lead."""

import pytest
from django.urls import reverse

from tests import factories
from tests.sprints.sprint_helpers import make_sprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(db):
    lead = factories.LeadFactory()
    sprint = make_sprint(lead=lead, members=[factories.ContractorFactory()])
    project = sprint.projects.get()
    batch = factories.BatchFactory(project=project)
    from projects.models import TaskImport

    task_import = TaskImport.objects.create(batch=batch, original_name="x.jsonl")
    return {"lead": lead, "sprint": sprint, "project": project, "import": task_import}


def _lead_urls(o):
    s = o["sprint"].pk
    return [
        ("get", reverse("lead:sprints")),
        ("get", reverse("lead:sprint_create")),
        ("get", reverse("lead:sprint_board", args=[s])),
        ("get", reverse("lead:sprint_board_fragment", args=[s])),
        ("get", reverse("lead:sprint_edit", args=[s])),
        ("get", reverse("lead:sprint_roster", args=[s])),
        ("post", reverse("lead:sprint_announce", args=[s])),
    ]


def _admin_urls(o):
    p, i = o["project"].pk, o["import"].pk
    return [
        ("get", reverse("manage:projects")),
        ("get", reverse("manage:project_create")),
        ("get", reverse("manage:project_edit", args=[p])),
        ("get", reverse("manage:rate_change", args=[p])),
        ("post", reverse("manage:markdown_preview")),
        ("get", reverse("manage:imports")),
        ("get", reverse("manage:import_detail", args=[i])),
        ("get", reverse("manage:import_progress", args=[i])),
        ("get", reverse("manage:calendar")),
    ]


def test_a_contractor_gets_403_on_every_lead_and_admin_page(client_for, contractor, objects):
    client = client_for(contractor)
    for method, url in _lead_urls(objects) + _admin_urls(objects):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
        assert b"have access to this page" in response.content, url


def test_a_lead_gets_403_on_every_admin_page(client_for, objects):
    client = client_for(objects["lead"])
    for method, url in _admin_urls(objects):
        assert getattr(client, method)(url).status_code == 403, url


def test_a_lead_reaches_their_own_sprint_pages(client_for, objects):
    client = client_for(objects["lead"])
    for method, url in _lead_urls(objects):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_another_lead_reaches_none_of_this_sprint_but_an_admin_does(client_for, objects, admin_user):
    other = client_for(factories.LeadFactory())
    for method, url in _lead_urls(objects)[2:]:
        assert getattr(other, method)(url).status_code == 404, url
    admin = client_for(admin_user)
    for method, url in _lead_urls(objects)[2:]:
        if method == "get":
            assert admin.get(url).status_code == 200, url


def test_the_roster_lists_only_the_sprints_own_members(client_for, objects):
    outsider = factories.ContractorFactory(display_name="Not On This Team")
    make_sprint(lead=factories.LeadFactory(), members=[outsider], projects=[objects["project"]])
    body = client_for(objects["lead"]).get(reverse("lead:sprint_roster", args=[objects["sprint"].pk])).content
    assert b"Not On This Team" not in body
    assert objects["sprint"].members.get().email.encode() in body


def test_anonymous_visitors_are_sent_to_sign_in(client, objects):
    for method, url in _lead_urls(objects) + _admin_urls(objects):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
