"""The contractor's pages: what the dashboard shows, and a query count per page that does not
grow with the data (projects, rates, claims, submissions, reviews, earnings, notifications)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from accounts.services import notifications_create_many
from annotations import services
from payouts.services import earnings_recompute
from projects.models import PayRate
from tests import factories
from tests.annotations.reviewing import VALID_ANSWERS, claim_for, make_project, make_task

pytestmark = pytest.mark.django_db


def _grow(contractor, lead, n: int):
    """n more projects, each with rates, a graded submission, an active claim and notifications."""
    last = None
    for i in range(n):
        project = make_project("rating", name=f"Grow {i} {timezone.now().timestamp()}",
                               slug=f"grow-{i}-{int(timezone.now().timestamp() * 1e6)}")
        factories.PayRateFactory(project=project, amount=Decimal("0.50"),
                                 effective_from=timezone.now() - timedelta(days=3))
        PayRate.objects.create(project=project, amount=Decimal("0.75"), currency="USD", unit="per_task",
                               effective_from=timezone.now() - timedelta(days=1), reason="Raise")
        for _ in range(2):
            make_task(project)
        submission = services.claim_submit(claim=claim_for(contractor, project), contractor=contractor,
                                           answer=VALID_ANSWERS["rating"])
        services.review_create(submission=submission, reviewer=lead, score=2, marks={"accuracy": 2, "clarity": 2},
                               reason="The overall score ignores the factual error.")
        last = claim_for(contractor, project)
        notifications_create_many(users=type(contractor).objects.filter(pk=contractor.pk), kind="announcement",
                                  title=f"Note {i}", body="Body", url="/work/", key=f"grow-{i}-{project.pk}")
    earnings_recompute(contractor_id=contractor.pk)
    return last


def _count(client, url) -> int:
    from django.core.cache import cache

    cache.clear()  # the unread badge is cached; measure it cold every time
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


PAGES = {
    "dashboard": lambda claim: reverse("work:dashboard"),
    "project": lambda claim: reverse("work:project", args=[claim.project.slug]),
    "workspace": lambda claim: reverse("work:claim", args=[claim.pk]),
    "my work": lambda claim: reverse("work:my_work"),
    "earnings": lambda claim: reverse("payouts:earnings"),
    "notifications": lambda claim: reverse("notifications"),
    "profile": lambda claim: reverse("profile"),
}
# Measured ceilings; the point is that they hold at 2 and at 8 projects' worth of data. The pay outlook
# (annotations.selectors.pay: 3 queries) is on the dashboard, project and workspace pages, and the
# dashboard's effective hourly rate per project is 1 more. The project page and the workspace read the
# project's FAQ (issue 20): one query each.
MAX_QUERIES = {"dashboard": 15, "project": 11, "workspace": 8, "my work": 9, "earnings": 8,
               "notifications": 5, "profile": 4}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_query_count_is_pinned_and_does_not_grow_with_the_data(page, client_for, contractor, lead,
                                                                    django_assert_max_num_queries):
    client = client_for(contractor)
    claim = _grow(contractor, lead, 2)
    small = _count(client, PAGES[page](claim))
    claim = _grow(contractor, lead, 6)
    assert Notification.objects.filter(user=contractor).count() >= 8
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        client.get(PAGES[page](claim))
    large = _count(client, PAGES[page](claim))
    assert large == small


def test_dashboard_shows_this_weeks_earnings_rate_latest_reviews_and_claim_countdowns(client_for, contractor, lead):
    claim = _grow(contractor, lead, 2)
    html = client_for(contractor).get(reverse("work:dashboard")).content.decode()
    assert "This week" in html and "data-week-earned" in html
    assert "Effective hourly rate" in html
    assert "Latest reviews" in html and "The overall score ignores the factual error." in html
    assert 'aria-label="Grade 2 of 5"' in html
    # The active claim, with a live countdown to its deadline (static/js/countdown.js).
    assert f"task {claim.task.external_id}" in html
    assert html.count("data-countdown") >= 1


def test_a_rate_set_in_the_django_admin_notifies_eligible_contractors(client, contractor,
                                                                     django_capture_on_commit_callbacks):
    admin = factories.AdminFactory()
    project = factories.ProjectFactory(name="Admin-rated")
    client.force_login(admin)
    local = timezone.localtime(timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:projects_payrate_add"), {
            "project": project.pk, "amount": "1.25", "currency": "USD", "unit": "per_task",
            "effective_from_0": f"{local:%Y-%m-%d}", "effective_from_1": f"{local:%H:%M:%S}", "reason": "Launch"})
    assert response.status_code == 302
    note = Notification.objects.get(user=contractor)
    assert note.kind == "rate_change" and "Admin-rated" in note.title and "Launch" in note.body
