"""Payout periods, drafting (with the wage floor kept), approval and marking paid.

A payout settles a contractor's unpaid ledger entries written before the end of a closed
period. Drafting is one INSERT per table in one transaction: the unique constraint on
(contractor, period, currency) makes a second payout for the same period impossible, and
the unique entry of `PayoutLine` makes it impossible to settle an entry twice. Entries whose
unpaid sum is not positive (a correction larger than the new work) wait for a later period.

Before drafting, the wage floor is kept (promise 5): for each contractor and project whose work in
the period paid less than the floor of the contractor's jurisdiction for the active time measured,
a `top_up` entry adds the difference (`wage_floor_top_ups_add`), with its computation in a
`WageFloorTopUp` row and on the statement. Projects guarantee it by default; an admin may end a
project's guarantee, after the rate-cut notice (projects.services.project_update).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditEntry, User
from accounts.services import audit_record_many
from taskhub.errors import NotFound
from taskhub.parsing import object_id, text

from ..errors import PayoutError, PayoutStateError
from ..models import Payout, PayoutPeriod
from .recompute import earnings_recompute

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


# Per contractor, project and currency of the work submitted in the period (on projects whose
# guarantee covers the period's start): the active time, what the ledger holds for that work (the
# cached posted_cents), and the floor of the contractor's jurisdiction in force on the period's last
# day in the same currency. Where floor x hours (to the cent, half up) is more, the difference is
# a top-up: its computation row, then its ledger entry, keyed so that a repeated draft adds nothing.
_TOP_UPS_SQL = """
WITH work AS (
    SELECT s.contractor_id, s.project_id, r.currency, SUM(s.active_seconds) AS seconds, COUNT(*) AS submissions,
           SUM(s.posted_cents) AS earned_cents
    FROM annotations_submission s
    JOIN projects_project p ON p.id = s.project_id
    JOIN projects_payrate r ON r.id = s.pay_rate_id
    WHERE s.submitted_at >= %(start)s AND s.submitted_at < %(end)s
      AND (p.wage_floor_guarantee_ends_at IS NULL OR p.wage_floor_guarantee_ends_at > %(start)s)
    GROUP BY 1, 2, 3
),
owed AS (
    SELECT w.*, u.jurisdiction, f.amount AS floor, round(f.amount * w.seconds / 36)::bigint AS required_cents
    FROM work w
    JOIN accounts_user u ON u.id = w.contractor_id AND u.role = 'contractor'
    JOIN LATERAL (
        SELECT wf.amount, wf.currency FROM payouts_wagefloor wf
        WHERE wf.jurisdiction = u.jurisdiction AND wf.effective_from <= %(last_day)s
        ORDER BY wf.effective_from DESC LIMIT 1
    ) f ON f.currency = w.currency
    WHERE w.seconds > 0
),
topped AS (
    INSERT INTO payouts_wagefloortopup (contractor_id, project_id, period_id, jurisdiction, currency, active_seconds,
                                        submissions, earned, floor, required, amount)
    SELECT contractor_id, project_id, %(period_id)s, jurisdiction, currency, seconds, submissions,
           earned_cents / 100.0, floor, required_cents / 100.0, (required_cents - earned_cents) / 100.0
    FROM owed WHERE required_cents > earned_cents
    ON CONFLICT ON CONSTRAINT wage_top_up_once_per_period DO NOTHING
    RETURNING id, contractor_id, project_id, jurisdiction, currency, active_seconds, submissions, earned, floor,
              required, amount
)
INSERT INTO payouts_ledgerentry (contractor_id, project_id, kind, amount, currency, source_type, source_id,
                                 rate_unit, active_seconds, reason, idempotency_key)
SELECT t.contractor_id, t.project_id, 'top_up', t.amount, t.currency, 'wage_floor', t.id, '',
       LEAST(t.active_seconds, 2147483647),
       left('Wage floor kept: ' || t.jurisdiction || ' floor '
            || CASE WHEN scale(trim_scale(t.floor)) < 2 THEN round(t.floor, 2) ELSE trim_scale(t.floor) END
            || ' ' || t.currency
            || '/h x ' || round(t.active_seconds / 3600.0, 2) || ' h active on ' || p.name || ' ('
            || t.submissions || ' submission' || CASE WHEN t.submissions = 1 THEN '' ELSE 's' END || ') = '
            || t.required || '; paid for that work ' || t.earned || '; top-up ' || t.amount, 500),
       'top_up:' || t.contractor_id || ':' || t.project_id || ':' || %(period_id)s
FROM topped t JOIN projects_project p ON p.id = t.project_id
ON CONFLICT (idempotency_key) DO NOTHING
"""


def wage_floor_top_ups_add(*, period: PayoutPeriod) -> int:
    """Keep the wage floor for the period's work: one `top_up` entry per contractor and project paid
    below the floor; returns how many. Call inside the draft's transaction; a repeat adds nothing."""
    with connection.cursor() as cursor:
        cursor.execute(_TOP_UPS_SQL, {"start": period.start, "end": period.end, "period_id": period.pk,
                                      "last_day": (period.end - timedelta(days=1)).date()})
        return max(cursor.rowcount, 0)


# The period's entries no payout holds yet (before its end, and its own wage-floor top-ups): one definition,
# read by the draft and by the counts that explain it.
_UNPAID_CTE = """
unpaid AS (
    SELECT e.id, e.contractor_id, e.currency, e.amount
    FROM payouts_ledgerentry e
    WHERE (e.created_at < %(end)s
           OR (e.source_type = 'wage_floor'
               AND e.source_id IN (SELECT t.id FROM payouts_wagefloortopup t WHERE t.period_id = %(period_id)s)))
      AND NOT EXISTS (SELECT 1 FROM payouts_payoutline pl WHERE pl.entry_id = e.id)
)"""

_DRAFT_SQL = """
WITH """ + _UNPAID_CTE + """,
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


# What a draft finds, counted in the draft's own transaction just before it inserts: per contractor and
# currency, the sum of the entries no payout holds yet, and whether a payout for the period exists.
_DRAFT_COUNTS_SQL = """
WITH """ + _UNPAID_CTE + """,
totals AS (
    SELECT u.contractor_id, u.currency, SUM(u.amount) AS total,
           EXISTS (SELECT 1 FROM payouts_payout p WHERE p.contractor_id = u.contractor_id
                   AND p.period_id = %(period_id)s AND p.currency = u.currency) AS has_payout
    FROM unpaid u GROUP BY 1, 2
)
SELECT COUNT(*),
       COUNT(*) FILTER (WHERE total > 0 AND has_payout),
       COUNT(*) FILTER (WHERE total <= 0),
       (SELECT COUNT(*) FROM payouts_payout p WHERE p.period_id = %(period_id)s)
FROM totals
"""


@dataclass(frozen=True)
class DraftOutcome:
    """What one draft of a period did: how many payouts it drafted, and each count of contractors it
    drafted nothing for with the reason (`{"code", "count", "message"}`)."""

    period: PayoutPeriod
    drafted: int
    reasons: list[dict] = field(default_factory=list)

    @property
    def summary(self) -> str:
        head = f"Drafted {self.drafted} payout{'' if self.drafted == 1 else 's'} for {self.period}"
        if not self.reasons:
            return head + "."
        return head + ": " + "; ".join(r["message"] for r in self.reasons) + "."

    def as_json(self) -> dict:
        return {"drafted": self.drafted, "reasons": self.reasons}


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _draft_reasons(*, period: PayoutPeriod, groups: int, already: int, not_positive: int,
                   earlier: int) -> list[dict]:
    reasons = []
    if groups == 0:
        message = f"nothing unpaid in the period: every ledger entry written before {period.end:%Y-%m-%d} " \
                  "is already in a payout"
        if earlier:
            message += f" ({_plural(earlier, 'payout was', 'payouts were')} drafted for this period before)"
        reasons.append({"code": "nothing_unpaid", "count": 0, "message": message})
    if already:
        reasons.append({"code": "already_drafted", "count": already, "message": (
            f"{_plural(already, 'contractor already has', 'contractors already have')} a payout for this period; "
            "what they earned since waits for the next period")})
    if not_positive:
        reasons.append({"code": "not_positive", "count": not_positive, "message": (
            f"{_plural(not_positive, 'contractor', 'contractors')} with corrections at least as large as the new "
            "work (an unpaid sum of zero or less): it waits for a later period")})
    return reasons


def payouts_draft_explained(*, period: PayoutPeriod, now: datetime | None = None) -> DraftOutcome:
    """Draft one payout per contractor (and currency) holding their unpaid entries, and say why anyone
    with unpaid entries got none (or that nothing was unpaid, or that the period has not ended). The
    outcome is kept on the period for the payout desk.

    Safe to run any number of times, from any number of workers: a contractor who already has
    a payout for the period gets nothing new, and an entry is never in two payouts.
    """
    now = now or timezone.now()
    if period.end > now:
        outcome = DraftOutcome(period=period, drafted=0, reasons=[{
            "code": "period_open", "count": 0,
            "message": f"the period has not ended (ends {period.end:%Y-%m-%d %H:%M} UTC)"}])
        return outcome
    params = {"end": period.end, "period_id": period.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        # Drafting runs one at a time so each payout's total is exactly the sum of its lines.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(DRAFT_LOCK))
        # The floor is measured against the pay the rules give now, so the period's pay is caught up first.
        earnings_recompute(submitted_from=period.start, submitted_before=period.end)
        wage_floor_top_ups_add(period=period)
        cursor.execute(_DRAFT_COUNTS_SQL, params)
        groups, already, not_positive, earlier = cursor.fetchone()
        cursor.execute(_DRAFT_SQL, params)
        drafted = len({payout_id for (payout_id,) in cursor.fetchall()})
        outcome = DraftOutcome(period=period, drafted=drafted, reasons=_draft_reasons(
            period=period, groups=groups, already=already, not_positive=not_positive, earlier=earlier))
        PayoutPeriod.objects.filter(pk=period.pk).update(last_draft=outcome.as_json(), last_drafted_at=now)
    return outcome


def payouts_draft(*, period: PayoutPeriod, now: datetime | None = None) -> int:
    """`payouts_draft_explained`, as the number drafted; an open period is refused."""
    outcome = payouts_draft_explained(period=period, now=now)
    if outcome.reasons and outcome.reasons[0]["code"] == "period_open":
        raise PayoutError(f"The period {period} has not ended yet; payouts are drafted once it has.",
                          code="period_open")
    return outcome.drafted


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
        now = now or timezone.now()
        approved = list(Payout.objects.select_for_update().filter(pk__in=ids, status=Payout.Status.DRAFT)
                        .select_related("contractor", "period").order_by("pk"))
        approved_ids = [p.pk for p in approved]
        Payout.objects.filter(pk__in=approved_ids, status=Payout.Status.DRAFT).update(
            status=Payout.Status.APPROVED, approved_by=approved_by, approved_at=now
        )
        audit_record_many(entries=[
            {"actor": approved_by, "kind": AuditEntry.Kind.PAYOUT_APPROVED, "subject": p.contractor, "obj": p,
             "at": now, "summary": f"Payout {p.pk} approved: {p.total} {p.currency} for {p.period}",
             "data": {"total": str(p.total), "currency": p.currency, "entries": p.entry_count}}
            for p in approved
        ])
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
