"""Alerts for leads (issue 20): the navigation's badges (one registry, one query, a cache) and the
beat task that notifies leads of new flags and appeals on their people and of sprint milestones."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Notification
from annotations.models import Appeal, ContractorFlag
from sprints.models import Sprint, SprintMember
from sprints.services.alerts import lead_alerts_send
from taskhub import badges
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_badges():
    cache.clear()


@pytest.fixture
def team(work):
    lead, stranger_lead = factories.LeadFactory(), factories.LeadFactory()
    contractor = factories.ContractorFactory()
    project = work.project()
    now = timezone.now()
    sprint = Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=5),
                                   ends_at=now + timedelta(hours=5), target_submissions=4,
                                   quality_target=Decimal("3.5"), status=Sprint.Status.OPEN)
    sprint.projects.set([project])
    SprintMember.objects.create(sprint=sprint, contractor=contractor)
    return {"lead": lead, "stranger_lead": stranger_lead, "contractor": contractor, "project": project,
            "sprint": sprint, "now": now}


def _badge(user, key):
    return {b["key"]: b["count"] for b in badges.badges_for(user)}.get(key)


def test_badges_count_what_waits_for_this_lead_only(team, django_assert_max_num_queries):
    ContractorFlag.objects.create(contractor=team["contractor"], project=team["project"], average=Decimal("1.5"),
                                  threshold=Decimal("2.5"), grades_counted=5, created_at=team["now"])
    with django_assert_max_num_queries(1):  # every badge in one query
        counts = {b["key"]: b["count"] for b in badges.badges_for(team["lead"])}
    assert counts["flags"] == 1 and counts["questions"] == 0 and counts["re_review"] == 0
    with django_assert_max_num_queries(0):  # cached
        badges.badges_for(team["lead"])
    assert _badge(team["stranger_lead"], "flags") == 0
    assert badges.badges_for(team["contractor"]) == []


def test_a_count_function_of_another_app_joins_the_registry(team):
    """Another app's badge (here a count function returning an int) is shown like the rest, in its order."""
    badges.badge_register("elsewhere", label="Elsewhere", url_name="lead:flags", count=lambda user: 7, order=22)
    try:
        shown = badges.badges_for(team["lead"])
        assert [b["key"] for b in shown][:4] == ["appeals", "flags", "elsewhere", "problem_reports"]
        assert {b["key"]: b["count"] for b in shown}["elsewhere"] == 7
        assert {b["key"]: b["count"] for b in shown}["problem_reports"] == 0  # registered by sprints: none open
    finally:
        badges._BADGES.pop("elsewhere")
        badges.badges_forget(user_ids=[team["lead"].pk])


def test_the_nav_shows_badges_with_counts(team, client_for):
    ContractorFlag.objects.create(contractor=team["contractor"], project=team["project"], average=Decimal("1.5"),
                                  threshold=Decimal("2.5"), grades_counted=5, created_at=team["now"])
    page = client_for(team["lead"]).get("/lead/").content.decode()
    assert 'data-badge="flags">Flags <span class="count-badge" aria-label="1 waiting">1</span>' in page


def test_new_flags_and_appeals_notify_the_leads_of_that_person_once(team, work):
    flag = ContractorFlag.objects.create(contractor=team["contractor"], project=team["project"],
                                         average=Decimal("1.5"), threshold=Decimal("2.5"), grades_counted=5,
                                         created_at=team["now"])
    submission = work.submission(contractor=team["contractor"], project=team["project"])
    review = work.review(submission, 1)
    Appeal.objects.create(review=review, contractor=team["contractor"], reason="Please look at this again.",
                          created_at=team["now"])
    lead_alerts_send(now=team["now"])
    lead_alerts_send(now=team["now"])  # a repeat inserts nothing
    kinds = sorted(Notification.objects.filter(user=team["lead"]).values_list("kind", flat=True))
    assert kinds == ["appeal_opened", "flag_opened"]
    assert Notification.objects.get(user=team["lead"], kind="flag_opened").url == f"/lead/people/{flag.contractor_id}/"
    assert not Notification.objects.filter(user=team["stranger_lead"]).exists()


def test_sprint_milestones_half_the_target_the_target_and_two_hours_left(team, work):
    for _ in range(2):
        work.submission(contractor=team["contractor"], project=team["project"], at=team["now"] - timedelta(hours=1))
    lead_alerts_send(now=team["now"])
    titles = list(Notification.objects.filter(user=team["lead"]).values_list("title", flat=True))
    assert titles == ["Push: 50% of the target (2 of 4)"]
    for _ in range(2):
        work.submission(contractor=team["contractor"], project=team["project"], at=team["now"] - timedelta(minutes=30))
    later = team["sprint"].ends_at - timedelta(hours=1)
    lead_alerts_send(now=later)
    lead_alerts_send(now=later)
    kinds = sorted(Notification.objects.filter(user=team["lead"]).values_list("key", flat=True))
    sprint_id = team["sprint"].pk
    assert kinds == [f"sprint:{sprint_id}:ending", f"sprint:{sprint_id}:half", f"sprint:{sprint_id}:target"]
    member = Notification.objects.get(user=team["contractor"])
    assert member.kind == "sprint_ending" and "ends in less than 2 hours (4 of 4 done)" in member.title


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_beat_task_that_alerts_leads(celery_worker_process, work):
    from sprints.tasks import lead_alerts_send as task
    from tests.conftest import wait_for

    lead = factories.LeadFactory()
    contractor = factories.ContractorFactory()
    project = work.project()
    now = timezone.now()
    sprint = Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=5),
                                   ends_at=now + timedelta(hours=1), target_submissions=4,
                                   quality_target=Decimal("3.5"), status=Sprint.Status.OPEN)
    sprint.projects.set([project])
    SprintMember.objects.create(sprint=sprint, contractor=contractor)
    ContractorFlag.objects.create(contractor=contractor, project=project, average=Decimal("1.5"),
                                  threshold=Decimal("2.5"), grades_counted=5, created_at=now)
    task.delay()
    wait_for(lambda: Notification.objects.filter(user=lead).count() == 2, timeout=60)
    assert sorted(Notification.objects.filter(user=lead).values_list("kind", flat=True)) == ["flag_opened",
                                                                                             "sprint_ending"]
