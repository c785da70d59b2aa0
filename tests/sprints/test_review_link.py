"""The sprint board's link to the review queue: the queue narrowed to the sprint's projects and
window, on the page and for the next item."""

import pytest
from django.http import QueryDict
from django.urls import reverse

from annotations.forms import queue_filters_from_get
from sprints.selectors import sprint_review_query
from tests import factories
from tests.annotations.reviewing import _sprint_with_member, make_project, submit

pytestmark = pytest.mark.django_db


def test_the_sprint_filter_narrows_the_queue_to_its_projects_and_window(db):
    lead, member = factories.LeadFactory(), factories.ContractorFactory()
    project = factories.ProjectFactory()
    sprint = _sprint_with_member(lead, member, project)
    filters = queue_filters_from_get(QueryDict(sprint_review_query(sprint=sprint)))
    assert filters["project_ids"] == [project.pk]
    assert (filters["submitted_from"], filters["submitted_to"]) == (sprint.starts_at, sprint.ends_at)
    # Malformed filters are ignored rather than failing the page.
    assert queue_filters_from_get(QueryDict("project=x&from=yesterday&contractor=²")) == {
        "project_ids": None, "contractor_id": None, "submitted_from": None, "submitted_to": None}


def test_the_queue_pages_accept_the_sprint_filter(client_for, db):
    lead, member = factories.LeadFactory(), factories.ContractorFactory()
    project = make_project("pairwise")
    elsewhere = submit(factories.ContractorFactory(), make_project("pairwise"))  # older, outside the sprint
    sprint = _sprint_with_member(lead, member, project)
    waiting = submit(member, project)
    client = client_for(lead)
    query = sprint_review_query(sprint=sprint)
    page = client.get(f"{reverse('review:queue')}?{query}")
    assert page.status_code == 200
    assert reverse("review:grade", args=[waiting.pk]) in page.content.decode()
    assert reverse("review:grade", args=[elsewhere.pk]) not in page.content.decode()
    response = client.get(f"{reverse('review:next')}?{query}")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("review:grade", args=[waiting.pk]))
