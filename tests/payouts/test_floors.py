"""Effective hourly rate and the wage-floor report."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payouts import selectors, services
from payouts.errors import WageFloorError
from projects.models import PayRate
from tests import factories


@pytest.fixture
def floors(db):
    services.wage_floor_set(jurisdiction="us-ca", amount="16.90", currency="USD", effective_from=date(2024, 1, 1),
                            note="California minimum wage")
    services.wage_floor_set(jurisdiction="DE", amount="12.82", currency="EUR", effective_from=date(2025, 1, 1))


@pytest.fixture
def week(work, floors):
    """Two people in California: one paid per task below the floor, one hourly above it."""
    low = factories.ContractorFactory(jurisdiction="US-CA", display_name="Low Paid")
    fair = factories.ContractorFactory(jurisdiction="US-CA", display_name="Fairly Paid")
    per_task = work.project(rate="5.0000", name="Quick pairs")
    hourly = work.project(rate="20.0000", unit=PayRate.Unit.PER_HOUR, name="Long ratings")
    at = timezone.now() - timedelta(minutes=5)
    for _ in range(2):
        work.submission(contractor=low, project=per_task, at=at, active_seconds=1800)
    work.submission(contractor=fair, project=hourly, at=at, active_seconds=5400)
    services.earnings_recompute()
    return {"low": low, "fair": fair, "per_task": per_task, "hourly": hourly}


def _window():
    now = timezone.now()
    return now - timedelta(days=14), now + timedelta(seconds=1)


def test_effective_hourly_rate_is_earnings_over_active_hours(week):
    since, until = _window()
    [row] = selectors.effective_hourly_rates_for(user=week["low"], since=since, until=until)
    assert row.project == "Quick pairs" and row.submissions == 2 and row.active_seconds == 3600
    assert row.earnings == Decimal("10.00") and row.hourly == Decimal("10.00")
    assert type(row.hourly) is Decimal and type(row.earnings) is Decimal
    assert (row.floor, row.floor_currency) == (Decimal("16.9000"), "USD")
    assert row.below_floor
    [fair] = selectors.effective_hourly_rates_for(user=week["fair"], since=since, until=until)
    assert fair.hourly == Decimal("20.00") and not fair.below_floor


def test_report_lists_projects_and_contractors_below_the_floor(week):
    projects, rows, total = selectors.wage_floor_report(since=_window()[0], until=_window()[1])
    assert [(p.project, p.contractors_below, p.lowest_hourly) for p in projects] == [
        ("Quick pairs", 1, Decimal("10.00"))
    ]
    assert [(r.contractor, r.project) for r in rows] == [("Low Paid", "Quick pairs")]
    assert total == 1


def test_a_bonus_does_not_hide_low_pay_for_the_work(week, admin_user):
    services.ledger_bonus_add(contractor=week["low"], amount="100.00", currency="USD", reason="Thanks",
                              created_by=admin_user)
    since, until = _window()
    [row] = selectors.effective_hourly_rates_for(user=week["low"], since=since, until=until)
    assert row.hourly == Decimal("10.00") and row.below_floor


def test_a_grade_cut_lowers_the_effective_rate(week, work):
    submission = week["fair"].submissions.get()
    work.review(submission, 2)
    services.earnings_recompute()
    since, until = _window()
    [row] = selectors.effective_hourly_rates_for(user=week["fair"], since=since, until=until)
    assert row.earnings == Decimal("15.00") and row.hourly == Decimal("10.00") and row.below_floor


def test_no_floor_in_the_jurisdiction_means_no_comparison(work, floors):
    person = factories.ContractorFactory(jurisdiction="FR")
    project = work.project(rate="0.1000")
    work.submission(contractor=person, project=project, active_seconds=3600)
    services.earnings_recompute()
    since, until = _window()
    [row] = selectors.effective_hourly_rates_for(user=person, since=since, until=until)
    assert row.floor is None and not row.below_floor
    assert selectors.wage_floor_report(since=since, until=until)[2] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"jurisdiction": "California"}, "jurisdiction"),
        ({"amount": "lots"}, "amount"),
        ({"amount": 16.9}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"currency": "dollars"}, "currency"),
        ({"effective_from": date(2024, 1, 1)}, "effective_from"),  # already has one from that date
    ],
)
def test_bad_wage_floor_is_refused_with_the_field(floors, fields, field):
    data = {"jurisdiction": "US-CA", "amount": "17.00", "currency": "USD", "effective_from": date(2026, 1, 1),
            **fields}
    with pytest.raises(WageFloorError) as err:
        services.wage_floor_set(**data)
    assert err.value.field == field
