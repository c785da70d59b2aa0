"""Payouts: periods, drafting once, approving, marking paid once."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from payouts import services
from payouts.errors import PayoutError, PayoutStateError
from payouts.models import LedgerEntry, Payout, PayoutLine, PayoutPeriod
from payouts.services.payouts import period_bounds
from taskhub.errors import NotFound
from tests import factories


def test_periods_are_weeks_from_monday_utc():
    start, end = period_bounds(datetime(2025, 6, 12, 15, 30, tzinfo=UTC))  # a Thursday
    assert start == datetime(2025, 6, 9, tzinfo=UTC)
    assert end == datetime(2025, 6, 16, tzinfo=UTC)
    assert period_bounds(start) == (start, end)
    assert period_bounds(end)[0] == end


@pytest.fixture
def earned(work, contractor, admin_user):
    """Last week's work for one contractor, plus a bonus."""
    project = work.project(rate="2.5000")
    for _ in range(3):
        work.submission(contractor=contractor, project=project)
    services.earnings_recompute()
    services.ledger_bonus_add(contractor=contractor, amount="1.00", currency="USD", reason="Great week",
                              created_by=admin_user)
    return project


def closed_period():
    # Entries were just written, so a period ending a minute from now would hold them once closed.
    return services.payout_period_last_closed(now=timezone.now() + timedelta(days=7))


def test_draft_holds_every_unpaid_entry_and_a_second_draft_adds_nothing(earned, contractor):
    period = closed_period()
    now = period.end + timedelta(hours=1)
    assert services.payouts_draft(period=period, now=now) == 1
    payout = Payout.objects.get()
    assert (payout.contractor, payout.period, payout.status) == (contractor, period, "draft")
    assert payout.total == Decimal("8.50") and type(payout.total) is Decimal
    assert payout.entry_count == 4 == payout.lines.count()
    assert services.payouts_draft(period=period, now=now) == 0
    assert Payout.objects.count() == 1 and PayoutLine.objects.count() == 4


def test_database_refuses_a_second_payout_for_the_same_period(earned, contractor):
    period = closed_period()
    services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(contractor=contractor, period=period, currency="USD", total=Decimal("1"), entry_count=1)


def test_entries_written_after_a_draft_go_to_the_next_period(earned, contractor, admin_user):
    period = closed_period()
    services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    services.ledger_bonus_add(contractor=contractor, amount="3.00", currency="USD", reason="Late bonus",
                              created_by=admin_user)
    services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    assert Payout.objects.count() == 1
    later = PayoutPeriod.objects.create(start=period.end, end=period.end + timedelta(days=7))
    assert services.payouts_draft(period=later, now=later.end) == 1
    second = Payout.objects.get(period=later)
    assert second.total == Decimal("3.00") and second.entry_count == 1


def test_a_negative_unpaid_sum_waits_for_a_later_period(contractor, admin_user):
    services.ledger_adjustment_add(contractor=contractor, amount="-4.00", currency="USD",
                                   reason="Overpaid last week", created_by=admin_user)
    period = closed_period()
    assert services.payouts_draft(period=period, now=period.end + timedelta(hours=1)) == 0
    services.ledger_bonus_add(contractor=contractor, amount="10.00", currency="USD", reason="Bonus",
                              created_by=admin_user)
    later = PayoutPeriod.objects.create(start=period.end, end=period.end + timedelta(days=7))
    services.payouts_draft(period=later, now=later.end)
    assert Payout.objects.get().total == Decimal("6.00")


def test_an_open_period_is_not_drafted(earned):
    period = services.payout_period_for(at=timezone.now())
    with pytest.raises(PayoutError) as err:
        services.payouts_draft(period=period)
    assert err.value.code == "period_open"
    assert not Payout.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_drafting_produces_one_payout_per_contractor(work):
    people = [factories.ContractorFactory() for _ in range(3)]
    project = work.project(rate="1.0000")
    for person in people:
        for _ in range(4):
            work.submission(contractor=person, project=project)
    services.earnings_recompute()
    period = closed_period()
    now = period.end + timedelta(minutes=5)
    barrier = threading.Barrier(6)
    results, errors = [], []

    def draft():
        try:
            barrier.wait()
            results.append(services.payouts_draft(period=PayoutPeriod.objects.get(pk=period.pk), now=now))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=draft) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [0, 0, 0, 0, 0, 3]
    assert Payout.objects.count() == 3
    assert PayoutLine.objects.count() == 12 == LedgerEntry.objects.count()
    for payout in Payout.objects.all():
        assert payout.total == Decimal("4.00") and payout.lines.count() == 4


@pytest.fixture
def drafted(earned, contractor):
    period = closed_period()
    services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    return Payout.objects.get(contractor=contractor)


def test_approve_many_and_approving_again_is_harmless(drafted, admin_user, work):
    other = factories.ContractorFactory()
    services.ledger_bonus_add(contractor=other, amount="2.00", currency="USD", reason="x", created_by=admin_user)
    later = PayoutPeriod.objects.create(start=drafted.period.end, end=drafted.period.end + timedelta(days=7))
    services.payouts_draft(period=later, now=later.end)
    ids = list(Payout.objects.values_list("pk", flat=True))
    assert len(ids) == 2
    assert services.payouts_approve(payout_ids=ids, approved_by=admin_user) == sorted(ids)
    assert services.payouts_approve(payout_ids=ids, approved_by=admin_user) == []
    assert set(Payout.objects.values_list("status", flat=True)) == {"approved"}
    with pytest.raises(NotFound):
        services.payouts_approve(payout_ids=[ids[0], 999_999], approved_by=admin_user)
    with pytest.raises(PayoutError):
        services.payouts_approve(payout_ids=[], approved_by=admin_user)


def test_mark_paid_records_the_reference_and_twice_changes_nothing(drafted, admin_user):
    with pytest.raises(PayoutStateError) as err:
        services.payout_mark_paid(payout_id=drafted.pk, external_reference="TRX-1", paid_by=admin_user)
    assert err.value.code == "not_approved"
    services.payouts_approve(payout_ids=[drafted.pk], approved_by=admin_user)
    paid = services.payout_mark_paid(payout_id=drafted.pk, external_reference=" TRX-1 ", paid_by=admin_user)
    assert (paid.status, paid.external_reference) == ("paid", "TRX-1")
    first_paid_at = paid.paid_at
    again = services.payout_mark_paid(payout_id=drafted.pk, external_reference="TRX-1", paid_by=admin_user)
    assert again.pk == paid.pk and again.paid_at == first_paid_at and again.external_reference == "TRX-1"
    with pytest.raises(PayoutStateError) as err:
        services.payout_mark_paid(payout_id=drafted.pk, external_reference="TRX-2", paid_by=admin_user)
    assert err.value.code == "already_paid"
    drafted.refresh_from_db()
    assert drafted.external_reference == "TRX-1" and drafted.paid_at == first_paid_at
    with pytest.raises(PayoutError) as err:
        services.payout_mark_paid(payout_id=drafted.pk, external_reference="  ", paid_by=admin_user)
    assert err.value.field == "external_reference"


def test_settled_entries_cannot_be_moved_to_another_payout(drafted):
    line = drafted.lines.first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        PayoutLine.objects.filter(pk=line.pk).update(payout_id=drafted.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutLine.objects.create(payout=drafted, entry=line.entry)
