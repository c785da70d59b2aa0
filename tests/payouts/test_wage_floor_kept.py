"""A wage floor that is kept (issue 17, part 7): when a contractor's pay for the work on a project in
a payout period is below their jurisdiction's floor for the active time measured, drafting the
period's payouts adds a top-up entry for the difference, with the computation on the statement;
admins see the cost per project on the wage-floor report before approving. Projects guarantee it by
default; ending a project's guarantee waits for the notice period."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from payouts import services
from payouts.models import LedgerEntry, Payout, WageFloorTopUp
from payouts.selectors import wage_floor_top_up_costs
from projects.errors import ProjectSetupError
from projects.models import PayRate
from projects.services import project_update
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def period(db):
    now = timezone.now()
    period = services.payout_period_for(at=now)
    period.work_at = max(period.start + timedelta(seconds=30), now - timedelta(seconds=30))
    return period


@pytest.fixture
def week(work, period):
    services.wage_floor_set(jurisdiction="US-CA", amount="16.90", currency="USD", effective_from=date(2024, 1, 1))
    services.wage_floor_set(jurisdiction="DE", amount="12.82", currency="EUR", effective_from=date(2024, 1, 1))
    low = factories.ContractorFactory(jurisdiction="US-CA", display_name="Low Paid")
    fair = factories.ContractorFactory(jurisdiction="US-CA", display_name="Fairly Paid")
    berlin = factories.ContractorFactory(jurisdiction="DE", display_name="Paid in dollars")
    per_task = work.project(rate="5.0000", name="Quick pairs")
    hourly = work.project(rate="20.0000", unit=PayRate.Unit.PER_HOUR, name="Long ratings")
    for _ in range(2):
        work.submission(contractor=low, project=per_task, at=period.work_at, active_seconds=1800)
        work.submission(contractor=berlin, project=per_task, at=period.work_at, active_seconds=1800)
    work.submission(contractor=fair, project=hourly, at=period.work_at, active_seconds=5400)
    services.earnings_recompute()
    return {"low": low, "fair": fair, "berlin": berlin, "per_task": per_task, "hourly": hourly}


def draft(period):
    return services.payouts_draft(period=period, now=period.end + timedelta(hours=1))


def test_a_draft_tops_pay_up_to_the_floor_once(week, period):
    draft(period)
    [top_up] = WageFloorTopUp.objects.all()
    assert (top_up.contractor, top_up.project, top_up.period) == (week["low"], week["per_task"], period)
    assert (top_up.active_seconds, top_up.earned, top_up.floor, top_up.required, top_up.amount) == (
        3600, Decimal("10.00"), Decimal("16.9000"), Decimal("16.90"), Decimal("6.90"))
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.TOP_UP)
    assert (entry.amount, entry.source_type, entry.source_id) == (Decimal("6.90"), "wage_floor", top_up.pk)
    assert "floor 16.90 USD/h x 1.00 h active on Quick pairs" in entry.reason
    payout = Payout.objects.get(contractor=week["low"])
    assert payout.total == Decimal("16.90") and payout.lines.filter(entry=entry).exists()
    # Paid fairly, or paid in another currency than the floor: no top-up.
    assert not WageFloorTopUp.objects.filter(contractor__in=[week["fair"], week["berlin"]]).exists()
    assert draft(period) == 0
    assert WageFloorTopUp.objects.count() == 1 and LedgerEntry.objects.filter(kind="top_up").count() == 1


def test_the_statement_shows_the_computation(week, period, client_for):
    draft(period)
    payout = Payout.objects.get(contractor=week["low"])
    page = client_for(week["low"]).get(reverse("payouts:statement", args=[payout.pk])).content.decode()
    assert "Wage-floor top-up" in page
    assert "US-CA floor 16.90 USD/h" in page and "= 16.90; paid for that work 10.00; top-up 6.90" in page
    csv = b"".join(client_for(week["low"]).get(reverse("payouts:statement_csv", args=[payout.pk]))
                   .streaming_content).decode()
    assert "top_up" in csv and "top-up 6.90" in csv


def test_the_report_shows_the_cost_per_project_before_approval(week, period, client_for, admin_user,
                                                              django_assert_max_num_queries):
    draft(period)
    client = client_for(admin_user)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("payouts_manage:wage_floor")).content.decode()
    assert "Wage floor kept: top-ups per project" in page and "6.90 USD" in page
    [row] = wage_floor_top_up_costs(since=period.start)
    assert (row.project, row.awaiting, row.contractors_awaiting) == ("Quick pairs", Decimal("6.90"), 1)
    services.payouts_approve(payout_ids=Payout.objects.values_list("pk", flat=True), approved_by=admin_user)
    [row] = wage_floor_top_up_costs(since=period.start)
    assert row.awaiting == Decimal("0") and row.in_window == Decimal("6.90")
    approvals = AuditEntry.objects.filter(kind=AuditEntry.Kind.PAYOUT_APPROVED)
    assert approvals.count() == Payout.objects.count() and approvals.first().actor == admin_user


def test_ending_the_guarantee_waits_for_the_notice(week, period, admin_user):
    project = week["per_task"]
    with pytest.raises(ProjectSetupError) as no_reason:
        project_update(project=project, updated_by=admin_user, fields={"wage_floor_guaranteed": False})
    assert no_reason.value.field == "wage_floor_reason"
    now = timezone.now()
    project_update(project=project, updated_by=admin_user, now=now,
                   fields={"wage_floor_guaranteed": False, "wage_floor_reason": "Requester pays per task only now."})
    project.refresh_from_db()
    assert project.wage_floor_guarantee_ends_at == now + settings.TASKHUB_RATE_CUT_NOTICE
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.WAGE_FLOOR_GUARANTEE, project_id=project.pk).exists()
    draft(period)  # this period started before the end: still topped up
    assert WageFloorTopUp.objects.filter(project=project).exists()


def test_no_top_up_for_a_period_after_the_guarantee_ended(week, period, admin_user):
    project = week["per_task"]
    type(project).objects.filter(pk=project.pk).update(wage_floor_guarantee_ends_at=period.start)
    draft(period)
    assert not WageFloorTopUp.objects.exists()


def test_top_ups_are_append_only(week, period):
    draft(period)
    for statement in ("UPDATE payouts_wagefloortopup SET amount = 1", "DELETE FROM payouts_wagefloortopup"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
