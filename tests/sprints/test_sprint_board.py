"""The live sprint board: its figures, its fixed query count, and the fragment htmx swaps in."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Claim
from sprints.selectors import sprint_board, sprint_roster
from tests import factories
from tests.sprints.sprint_helpers import make_sprint, make_work

pytestmark = pytest.mark.django_db

BOARD_QUERIES = 9


def _grow(sprint, *, members: int, per_member: int):
    project = sprint.projects.first()
    people = [factories.ContractorFactory() for _ in range(members)]
    from sprints.models import SprintMember

    SprintMember.objects.bulk_create(SprintMember(sprint=sprint, contractor=p) for p in people)
    for i, person in enumerate(people):
        at = sprint.starts_at + timedelta(minutes=10 + 40 * i)
        make_work(contractor=person, project=project, count=per_member, at=at,
                  grades=[(i + k) % 5 + 1 for k in range(per_member // 2)])
        make_work(contractor=person, project=project, count=2, at=at, gold_agreement=0.5 + 0.1 * (i % 5))
        batch = factories.BatchFactory(project=project)
        task = factories.make_tasks(batch, 1)[0]
        Claim.objects.create(task=task, contractor=person, project=project, batch=batch, claimed_at=timezone.now(),
                             deadline=timezone.now() + timedelta(hours=1), last_heartbeat_at=timezone.now())
    return people


@pytest.mark.parametrize("page", ["lead:sprint_board", "lead:sprint_board_fragment", "lead:sprint_roster"])
def test_the_board_query_count_does_not_grow_with_the_data(client_for, lead, django_assert_max_num_queries, page):
    sprint = make_sprint(lead=lead, hours_ago=6)
    client = client_for(lead)
    url = reverse(page, args=[sprint.pk])
    _grow(sprint, members=1, per_member=2)
    with django_assert_max_num_queries(BOARD_QUERIES):
        small = client.get(url)
    assert small.status_code == 200
    _grow(sprint, members=8, per_member=30)
    with django_assert_max_num_queries(BOARD_QUERIES):
        large = client.get(url)
    assert large.status_code == 200
    assert len(large.content) > len(small.content)  # the larger team is really on the page


def test_board_figures_progress_backlog_grades_and_who_is_active():
    lead = factories.LeadFactory()
    alice, bob, idle = (factories.ContractorFactory(display_name=n) for n in ("Alice", "Bob", "Idle"))
    sprint = make_sprint(lead=lead, members=[alice, bob, idle], hours_ago=4, target_submissions=10)
    project = sprint.projects.get()
    make_work(contractor=alice, project=project, count=3, at=sprint.starts_at + timedelta(minutes=30),
              grades=[5, 5, 2])
    make_work(contractor=bob, project=project, count=2, at=sprint.starts_at + timedelta(hours=2, minutes=5))
    now = timezone.now()
    batch = factories.BatchFactory(project=project)
    fresh, stale = factories.make_tasks(batch, 2)
    hour_ago = now - timedelta(hours=1)
    Claim.objects.create(task=fresh, contractor=alice, project=project, batch=batch, claimed_at=hour_ago,
                         deadline=now + timedelta(hours=1), last_heartbeat_at=now - timedelta(minutes=1))
    Claim.objects.create(task=stale, contractor=idle, project=project, batch=batch, claimed_at=hour_ago,
                         deadline=now + timedelta(hours=1), last_heartbeat_at=hour_ago)

    board = sprint_board(sprint=sprint, now=now)
    assert board["totals"]["submitted"] == 5
    assert board["progress_percent"] == 50 and board["remaining"] == 5
    assert board["totals"]["reviewed"] == 3
    assert board["totals"]["backlog"] == 2  # five submitted, three graded
    assert [g["count"] for g in board["grades"]] == [0, 1, 0, 0, 2]
    assert str(board["totals"]["average_grade"]) == "4.00"
    assert board["quality_met"] is True
    counts = [h["count"] for h in board["hours"]]
    assert len(counts) in (4, 5)  # one bar per hour since the start (the start need not be on the hour)
    assert sum(counts) == 5
    assert [a["contractor"].display_name for a in board["active"]] == ["Alice"]
    assert timedelta(hours=19, minutes=59) < board["time_left"] <= timedelta(hours=20)


def test_the_roster_has_gold_agreement_hourly_rate_and_open_flags():
    from decimal import Decimal

    from annotations.models import ContractorFlag
    from payouts.models import LedgerEntry

    lead = factories.LeadFactory()
    alice = factories.ContractorFactory(display_name="Alice")
    sprint = make_sprint(lead=lead, members=[alice])
    project = sprint.projects.get()
    factories.PayRateFactory(project=project, currency="USD", effective_from=sprint.starts_at - timedelta(days=1))
    subs = make_work(contractor=alice, project=project, count=2, at=sprint.starts_at + timedelta(minutes=5),
                     seconds=1800, grades=[4, 2])
    make_work(contractor=alice, project=project, count=2, at=sprint.starts_at + timedelta(minutes=6), seconds=0,
              gold_agreement=0.75)
    for sub in subs:
        LedgerEntry.objects.create(contractor=alice, project=project, kind="task", amount=Decimal("6.00"),
                                   currency="USD", source_type="submission", source_id=sub.pk,
                                   idempotency_key=f"test-{sub.pk}")
    flag = ContractorFlag.objects.create(contractor=alice, project=project, average=Decimal("2.20"),
                                         threshold=Decimal("2.50"), grades_counted=5, created_at=timezone.now(),
        respond_until=timezone.now())  # the answer window is over
    [member] = sprint_roster(sprint=sprint)
    assert member.submitted == 4
    assert str(member.average_grade) == "4.00"  # 4 and 2 by a reviewer, 5 and 5 graded automatically
    assert str(member.gold_agreement_percent) == "75.0"
    assert member.effective_hourly == Decimal("12.00")  # 12 USD over one active hour
    assert member.currency == "USD"
    assert member.flags == [flag]


def test_the_htmx_fragment_is_the_board_alone_and_refreshes_itself(client_for, lead):
    sprint = make_sprint(lead=lead, members=[factories.ContractorFactory()], target_submissions=40)
    make_work(contractor=sprint.members.first(), project=sprint.projects.get(), count=3,
              at=sprint.starts_at + timedelta(minutes=1))
    client = client_for(lead)
    page = client.get(reverse("lead:sprint_board", args=[sprint.pk])).content.decode()
    assert f'hx-get="{reverse("lead:sprint_board_fragment", args=[sprint.pk])}"' in page
    assert 'hx-trigger="every 10s"' in page
    assert "vendor/htmx.min.js" in page and "<script>" not in page  # no inline script
    fragment = client.get(reverse("lead:sprint_board_fragment", args=[sprint.pk]), HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200
    assert "<html" not in body and "<nav" not in body
    assert 'data-figure="submitted">3 / 40<' in body
    assert "Throughput per hour" in body and "Grade distribution" in body


def test_a_closed_board_stops_refreshing(client_for, lead):
    sprint = make_sprint(lead=lead, status="closed", hours_ago=30, summary={"submitted": 0})
    page = client_for(lead).get(reverse("lead:sprint_board", args=[sprint.pk])).content.decode()
    assert "hx-trigger" not in page
