"""Payout periods, drafting, approval and marking paid.

A payout settles a contractor's unpaid ledger entries written before the end of a closed
period. Drafting is one INSERT per table in one transaction: the unique constraint on
(contractor, period, currency) makes a second payout for the same period impossible, and
the unique entry of `PayoutLine` makes it impossible to settle an entry twice. Entries whose
unpaid sum is not positive (a correction larger than the new work) wait for a later period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from taskhub.errors import NotFound
from taskhub.parsing import object_id, text

from ..errors import PayoutError, PayoutStateError
from ..models import Payout, PayoutPeriod

DRAFT_LOCK = (736_002, 0)


def period_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The [start, end) of the payout period containing `at` (weeks from Monday 00:00 UTC by default)."""
    anchor = settings.TASKHUB_PAYOUT_PERIOD_ANCHOR
    length = timedelta(days=settings.TASKHUB_PAYOUT_PERIOD_DAYS)
    index = (at - anchor) // length
    start = anchor + index * length
    return start, start + length


def payout_period_for(*, at: datetime) -> PayoutPeriod:
    start, end = period_bounds(at)
    period, _ = PayoutPeriod.objects.get_or_create(start=start, end=end)
    return period


def payout_period_last_closed(*, now: datetime | None = None) -> PayoutPeriod:
    """The most recent period that has ended."""
    start, _end = period_bounds(now or timezone.now())
    return payout_period_for(at=start - timedelta(microseconds=1))


_DRAFT_SQL = """
WITH unpaid AS (
    SELECT e.id, e.contractor_id, e.currency, e.amount
    FROM payouts_ledgerentry e
    WHERE e.created_at < %(end)s
      AND NOT EXISTS (SELECT 1 FROM payouts_payoutline pl WHERE pl.entry_id = e.id)
),
totals AS (
    SELECT contractor_id, currency, SUM(amount) AS total, COUNT(*) AS entries
    FROM unpaid
    GROUP BY contractor_id, currency
    HAVING SUM(amount) > 0
),
drafted AS (
    INSERT INTO payouts_payout (contractor_id, period_id, currency, status, total, entry_count, external_reference)
    SELECT contractor_id, %(period_id)s, currency, 'draft', total, entries, ''
    FROM totals
    ON CONFLICT ON CONSTRAINT payout_one_per_period DO NOTHING
    RETURNING id, contractor_id, currency
)
INSERT INTO payouts_payoutline (payout_id, entry_id)
SELECT d.id, u.id
FROM drafted d
JOIN unpaid u ON u.contractor_id = d.contractor_id AND u.currency = d.currency
RETURNING payout_id
"""


def payouts_draft(*, period: PayoutPeriod, now: datetime | None = None) -> int:
    """Draft one payout per contractor (and currency) holding their unpaid entries; return how many.

    Safe to run any number of times, from any number of workers: a contractor who already has
    a payout for the period gets nothing new, and an entry is never in two payouts.
    """
    now = now or timezone.now()
    if period.end > now:
        raise PayoutError(f"The period {period} has not ended yet; payouts are drafted once it has.",
                          code="period_open")
    with transaction.atomic(), connection.cursor() as cursor:
        # Drafting runs one at a time so each payout's total is exactly the sum of its lines.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(DRAFT_LOCK))
        cursor.execute(_DRAFT_SQL, {"end": period.end, "period_id": period.pk})
        return len({payout_id for (payout_id,) in cursor.fetchall()})


def payouts_approve(*, payout_ids: Iterable[int], approved_by: User, now: datetime | None = None) -> list[int]:
    """Approve the given draft payouts; return the ids that this call approved.

    Payouts already approved or paid are left alone, so approving twice is harmless.
    """
    ids = sorted({object_id(pk, field="payouts") for pk in payout_ids})
    if not ids:
        raise PayoutError("Choose at least one payout to approve.", field="payouts")
    with transaction.atomic():
        found = set(Payout.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise NotFound(f"No payout with id {', '.join(map(str, missing))}.")
        approved = Payout.objects.filter(pk__in=ids, status=Payout.Status.DRAFT)
        approved_ids = sorted(approved.values_list("pk", flat=True))
        Payout.objects.filter(pk__in=approved_ids, status=Payout.Status.DRAFT).update(
            status=Payout.Status.APPROVED, approved_by=approved_by, approved_at=now or timezone.now()
        )
    return approved_ids


def payout_mark_paid(*, payout_id: int, external_reference: str, paid_by: User,
                     now: datetime | None = None) -> Payout:
    """Record that an approved payout was paid, with the payment system's reference.

    Idempotent: marking the same payout paid again with the same reference returns it
    unchanged. A different reference for a paid payout is refused rather than overwritten.
    """
    reference = text(external_reference, field="external_reference", max_length=200, error=PayoutError)
    if not reference:
        raise PayoutError("Give the payment's external reference (e.g. the bank transfer id).",
                          field="external_reference")
    with transaction.atomic():
        updated = Payout.objects.filter(pk=payout_id, status=Payout.Status.APPROVED).update(
            status=Payout.Status.PAID, external_reference=reference, paid_by=paid_by, paid_at=now or timezone.now()
        )
        payout = Payout.objects.select_related("contractor", "period").filter(pk=payout_id).first()
    if payout is None:
        raise NotFound(f"No payout with id {payout_id}.")
    if updated:
        return payout
    if payout.status == Payout.Status.PAID:
        if payout.external_reference == reference:
            return payout
        raise PayoutStateError(
            f"Payout {payout.pk} was already paid with reference {payout.external_reference!r}.",
            code="already_paid",
        )
    raise PayoutStateError(f"Payout {payout.pk} is a draft; approve it before marking it paid.",
                           code="not_approved")
