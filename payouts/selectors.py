"""Reads of the ledger, payouts, effective hourly rates and wage floors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from taskhub.errors import NotFound

from .models import LedgerEntry, Payout, WageFloor, WageFloorTopUp


def ledger_entries_for(*, user) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(contractor=user)
        .select_related("project", "payout_line__payout")
        .order_by("-created_at", "-id")
    )


def ledger_entry_get_for_user(*, entry_id: int, user) -> LedgerEntry:
    """One of the contractor's own ledger entries, or NotFound (never another person's)."""
    entry = ledger_entries_for(user=user).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("No such ledger entry of yours.")
    return entry


def ledger_entries_for_submissions(*, user, submission_ids) -> dict[int, list[LedgerEntry]]:
    """The contractor's ledger entries for these submissions (oldest first), by submission id (1 query)."""
    found: dict[int, list[LedgerEntry]] = {}
    entries = (LedgerEntry.objects.filter(contractor=user, source_type=LedgerEntry.Source.SUBMISSION,
                                          source_id__in=list(submission_ids)).order_by("created_at", "id"))
    for entry in entries:
        found.setdefault(entry.source_id, []).append(entry)
    return found


def ledger_entries_for_problem_reports(*, report_ids) -> dict[int, LedgerEntry]:
    """The entry that paid each of these problem reports (a task reported broken), by report id (1 query)."""
    entries = LedgerEntry.objects.filter(source_type=LedgerEntry.Source.PROBLEM_REPORT,
                                         source_id__in=list(report_ids))
    return {entry.source_id: entry for entry in entries}


def manual_entries_recent() -> QuerySet[LedgerEntry]:
    """Bonuses and adjustments added by hand, newest first (the payout desk's bonuses page)."""
    return (
        LedgerEntry.objects.filter(source_type=LedgerEntry.Source.MANUAL)
        .select_related("contractor", "project", "created_by")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Balance:
    currency: str
    total: Decimal
    unpaid: Decimal
    in_payouts: Decimal
    paid: Decimal


def balances_for(*, user) -> list[Balance]:
    """Per currency: everything earned, what no payout holds yet, what payouts hold, what was paid."""
    rows = (
        LedgerEntry.objects.filter(contractor=user)
        .values("currency")
        .annotate(
            total=Sum("amount"),
            unpaid=Sum("amount", filter=Q(payout_line__isnull=True)),
            held=Sum("amount", filter=Q(payout_line__isnull=False) & ~Q(payout_line__payout__status="paid")),
            paid=Sum("amount", filter=Q(payout_line__payout__status="paid")),
        )
        .order_by("currency")
    )
    zero = Decimal("0.00")
    return [
        Balance(r["currency"], r["total"] or zero, r["unpaid"] or zero, r["held"] or zero, r["paid"] or zero)
        for r in rows
    ]


def payouts_for(*, user) -> QuerySet[Payout]:
    return Payout.objects.filter(contractor=user).select_related("period").order_by("-period__start", "currency")


def payout_get_for_user(*, payout_id: int, user) -> Payout:
    """The contractor's own payout, or NotFound (never another person's)."""
    payout = Payout.objects.filter(pk=payout_id, contractor=user).select_related("period", "contractor").first()
    if payout is None:
        raise NotFound("No such payout of yours.")
    return payout


def payout_get(*, payout_id: int) -> Payout:
    payout = (
        Payout.objects.filter(pk=payout_id)
        .select_related("period", "contractor", "approved_by", "paid_by")
        .first()
    )
    if payout is None:
        raise NotFound(f"No payout with id {payout_id}.")
    return payout


def payout_statement_entries(*, payout: Payout) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(payout_line__payout=payout)
        .select_related("project")
        .order_by("created_at", "id")
    )


def payouts_for_admin(*, status: str | None = None) -> QuerySet[Payout]:
    qs = Payout.objects.select_related("contractor", "period", "approved_by", "paid_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-period__start", "status", "contractor__email", "currency")


def payouts_status_counts() -> dict[str, int]:
    return dict(Payout.objects.values_list("status").annotate(n=Count("id")).order_by())


@dataclass(frozen=True)
class WeekBar:
    week: date
    currency: str
    amount: Decimal
    percent: int  # height of the bar relative to the best week shown, 0–100


def weekly_earnings(*, user, weeks: int = 12, now: datetime | None = None) -> list[WeekBar]:
    """What the contractor earned per week (Monday-based, UTC) over the last `weeks` weeks, oldest first.

    Weeks without entries are included with zero so the chart has no gaps.
    """
    now = now or timezone.now()
    this_week = (now - timedelta(days=now.weekday())).date()
    first = this_week - timedelta(weeks=weeks - 1)
    sql = """
        SELECT weeks.week::date, c.currency, COALESCE(SUM(e.amount), 0)
        FROM generate_series(%(first)s::timestamp, %(last)s::timestamp, interval '1 week') AS weeks(week)
        CROSS JOIN (SELECT DISTINCT currency FROM payouts_ledgerentry WHERE contractor_id = %(user)s) c
        LEFT JOIN payouts_ledgerentry e
          ON e.contractor_id = %(user)s AND e.currency = c.currency
         AND e.created_at >= weeks.week AT TIME ZONE 'UTC'
         AND e.created_at < (weeks.week + interval '1 week') AT TIME ZONE 'UTC'
        GROUP BY weeks.week, c.currency
        ORDER BY c.currency, weeks.week
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"first": first, "last": this_week, "user": user.pk})
        rows = cursor.fetchall()
    best = max((amount for _w, _c, amount in rows), default=Decimal("0"))
    return [
        WeekBar(week, currency, amount, int(amount * 100 / best) if best > 0 and amount > 0 else 0)
        for week, currency, amount in rows
    ]


@dataclass(frozen=True)
class EffectiveRate:
    contractor_id: int
    contractor: str
    jurisdiction: str
    project_id: int
    project: str
    week: date
    active_seconds: int
    submissions: int
    earnings: Decimal
    currency: str | None
    hourly: Decimal | None  # None when no active time was measured
    floor: Decimal | None
    floor_currency: str | None

    @property
    def below_floor(self) -> bool:
        return (
            self.floor is not None and self.hourly is not None and self.currency == self.floor_currency
            and self.hourly < self.floor
        )

    @property
    def floor_comparable(self) -> bool:
        return self.floor is not None and self.currency == self.floor_currency


# Earnings per (contractor, project, week of submission) from the ledger, over the active time
# measured on the same submissions; the floor is the jurisdiction's in force on the week's last day.
_EFFECTIVE_SQL = """
WITH work AS (
    SELECT s.contractor_id, s.project_id, date_trunc('week', s.submitted_at AT TIME ZONE 'UTC')::date AS week,
           SUM(s.active_seconds) AS seconds, COUNT(*) AS submissions
    FROM annotations_submission s
    WHERE s.submitted_at >= %(since)s AND s.submitted_at < %(until)s {filters}
    GROUP BY 1, 2, 3
),
pay AS (
    SELECT s.contractor_id, s.project_id, date_trunc('week', s.submitted_at AT TIME ZONE 'UTC')::date AS week,
           l.currency, SUM(l.amount) AS earnings
    FROM payouts_ledgerentry l
    JOIN annotations_submission s ON s.id = l.source_id
    WHERE l.source_type = 'submission' AND s.submitted_at >= %(since)s AND s.submitted_at < %(until)s {filters}
    GROUP BY 1, 2, 3, 4
),
rates AS (
    SELECT w.contractor_id, u.email, u.display_name, u.jurisdiction, w.project_id, pr.name AS project_name, w.week,
           w.seconds, w.submissions, COALESCE(p.earnings, 0) AS earnings, p.currency,
           CASE WHEN w.seconds > 0 THEN round(COALESCE(p.earnings, 0) * 3600 / w.seconds, 2) END AS hourly,
           f.amount AS floor, f.currency AS floor_currency
    FROM work w
    LEFT JOIN pay p USING (contractor_id, project_id, week)
    JOIN accounts_user u ON u.id = w.contractor_id
    JOIN projects_project pr ON pr.id = w.project_id
    LEFT JOIN LATERAL (
        SELECT wf.amount, wf.currency FROM payouts_wagefloor wf
        WHERE wf.jurisdiction = u.jurisdiction AND wf.effective_from <= w.week + 6
        ORDER BY wf.effective_from DESC LIMIT 1
    ) f ON TRUE
)
"""


def _effective_rows(sql: str, params: dict) -> list[EffectiveRate]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            EffectiveRate(
                contractor_id=r[0], contractor=r[2] or r[1], jurisdiction=r[3], project_id=r[4], project=r[5],
                week=r[6], active_seconds=int(r[7]), submissions=r[8], earnings=r[9], currency=r[10],
                hourly=r[11], floor=r[12], floor_currency=r[13],
            )
            for r in cursor.fetchall()
        ]


_COLUMNS = ("contractor_id, email, display_name, jurisdiction, project_id, project_name, week, seconds, submissions, "
            "earnings, currency, hourly, floor, floor_currency")


def effective_hourly_rates_for(*, user, since: datetime, until: datetime) -> list[EffectiveRate]:
    """The contractor's effective hourly rate per project and week, newest week first."""
    sql = _EFFECTIVE_SQL.format(filters="AND s.contractor_id = %(user)s") + (
        f"SELECT {_COLUMNS} FROM rates ORDER BY week DESC, project_name, currency"
    )
    return _effective_rows(sql, {"since": since, "until": until, "user": user.pk})


@dataclass(frozen=True)
class ProjectBelowFloor:
    project_id: int
    project: str
    contractors_below: int
    weeks_below: int
    lowest_hourly: Decimal
    currency: str


def wage_floor_report(*, since: datetime, until: datetime, limit: int = 500) -> tuple[list[ProjectBelowFloor],
                                                                                      list[EffectiveRate], int]:
    """Projects, and contractor-weeks, whose effective hourly rate is below the contractor's wage floor.

    Returns (projects, the `limit` worst contractor rows, the number of such rows in all).
    """
    below = "hourly IS NOT NULL AND floor IS NOT NULL AND currency = floor_currency AND hourly < floor"
    params = {"since": since, "until": until, "limit": limit}
    base = _EFFECTIVE_SQL.format(filters="")
    rows = _effective_rows(
        base + f"SELECT {_COLUMNS} FROM rates WHERE {below} ORDER BY hourly / NULLIF(floor, 0), week DESC "
        "LIMIT %(limit)s",
        params,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            base + f"""
            SELECT project_id, project_name, COUNT(DISTINCT contractor_id), COUNT(*), MIN(hourly), currency
            FROM rates WHERE {below}
            GROUP BY project_id, project_name, currency
            ORDER BY COUNT(DISTINCT contractor_id) DESC, project_name
            """,
            params,
        )
        fetched = cursor.fetchall()
    projects = [ProjectBelowFloor(r[0], r[1], r[2], r[3], r[4], r[5]) for r in fetched]
    total = sum(p.weeks_below for p in projects)
    return projects, rows, total


@dataclass(frozen=True)
class TopUpCost:
    """What keeping the wage floor costs on a project: the top-ups in payouts not approved yet (what
    approving them will pay) and all of those of the report's window."""

    project_id: int
    project: str
    currency: str
    contractors_awaiting: int
    awaiting: Decimal
    contractors_in_window: int
    in_window: Decimal


_TOP_UP_COST_SQL = """
SELECT t.project_id, p.name, t.currency,
       COUNT(DISTINCT t.contractor_id) FILTER (WHERE po.id IS NULL OR po.status = 'draft'),
       COALESCE(SUM(t.amount) FILTER (WHERE po.id IS NULL OR po.status = 'draft'), 0),
       COUNT(DISTINCT t.contractor_id) FILTER (WHERE pp.start >= %(since)s),
       COALESCE(SUM(t.amount) FILTER (WHERE pp.start >= %(since)s), 0)
FROM payouts_wagefloortopup t
JOIN payouts_payoutperiod pp ON pp.id = t.period_id
JOIN projects_project p ON p.id = t.project_id
JOIN payouts_ledgerentry e ON e.source_type = 'wage_floor' AND e.source_id = t.id
LEFT JOIN payouts_payoutline pl ON pl.entry_id = e.id
LEFT JOIN payouts_payout po ON po.id = pl.payout_id
WHERE po.id IS NULL OR po.status = 'draft' OR pp.start >= %(since)s
GROUP BY t.project_id, p.name, t.currency
ORDER BY 5 DESC, 7 DESC, p.name
"""


def wage_floor_top_up_costs(*, since: datetime) -> list[TopUpCost]:
    """Per project (and currency): the top-ups awaiting approval and those of periods from `since`."""
    with connection.cursor() as cursor:
        cursor.execute(_TOP_UP_COST_SQL, {"since": since})
        return [TopUpCost(*row) for row in cursor.fetchall()]


def with_top_ups(entries) -> list[LedgerEntry]:
    """`entries` as a list, each top-up entry with its computation as `top_up` (one query)."""
    entries = list(entries)
    ids = [e.source_id for e in entries if e.source_type == LedgerEntry.Source.WAGE_FLOOR]
    rows = WageFloorTopUp.objects.in_bulk(ids) if ids else {}
    for entry in entries:
        entry.top_up = rows.get(entry.source_id) if entry.source_type == LedgerEntry.Source.WAGE_FLOOR else None
    return entries


def wage_floors_current(*, on: date | None = None) -> list[WageFloor]:
    """The floor in force in each jurisdiction on `on` (today by default)."""
    on = on or timezone.now().date()
    return list(
        WageFloor.objects.filter(effective_from__lte=on)
        .order_by("jurisdiction", "-effective_from")
        .distinct("jurisdiction")
    )


@dataclass(frozen=True)
class SubmissionCacheDisagreement:
    """A submission whose cached columns disagree with the rates, policies, reviews or ledger they mirror."""

    submission_id: int
    pay_rate_id: int | None
    rate_in_force: int | None  # what projects_pay_rate_in_force says
    grade_policy_id: int | None
    policy_in_force: int | None  # what projects_grade_policy_in_force says
    pay_terms_id: int | None
    terms_in_force: int | None  # the terms of those two (projects_payterms)
    final_grade: int | None
    grade: int | None  # what annotations_final_grade says
    posted_amount: Decimal  # posted_cents as an amount
    ledger_amount: Decimal  # what the ledger holds for the submission
    posted_entries: int
    ledger_entries: int


def submission_cache_disagreements_sql(*, contractor_id: int | None = None,
                                       project_id: int | None = None) -> tuple[str, dict]:
    """The SQL (and params) of `submission_cache_disagreements`, without order or limit."""
    conditions, params = ["TRUE"], {}
    if contractor_id is not None:
        conditions.append("s.contractor_id = %(contractor_id)s")
        params["contractor_id"] = contractor_id
    if project_id is not None:
        conditions.append("s.project_id = %(project_id)s")
        params["project_id"] = project_id
    where = " AND ".join(conditions)
    # A scoped audit sums only the entries of its submissions (found through the ledger's source index).
    sources = f"AND l.source_id IN (SELECT s.id FROM annotations_submission s WHERE {where})" if params else ""
    sql = f"""
        SELECT s.id, s.pay_rate_id, f.rate, s.grade_policy_id, f.policy, s.pay_terms_id, t.id, s.final_grade, g.grade,
               (s.posted_cents::numeric / 100)::numeric(14, 2), COALESCE(l.amount, 0),
               s.posted_entries, COALESCE(l.entries, 0)
        FROM annotations_submission s
        CROSS JOIN LATERAL (SELECT projects_pay_rate_in_force(s.project_id, s.submitted_at) AS rate,
                                   projects_grade_policy_in_force(s.project_id, s.submitted_at) AS policy) f
        LEFT JOIN projects_payterms t ON t.rate_id = f.rate AND t.policy_id IS NOT DISTINCT FROM f.policy
        LEFT JOIN annotations_final_grade g ON g.submission_id = s.id
        LEFT JOIN (
            SELECT l.source_id, SUM(l.amount) AS amount, COUNT(*) AS entries
            FROM payouts_ledgerentry l
            WHERE l.source_type = 'submission' {sources}
            GROUP BY l.source_id
        ) l ON l.source_id = s.id
        WHERE {where}
          AND (s.pay_rate_id IS DISTINCT FROM f.rate
               OR s.grade_policy_id IS DISTINCT FROM f.policy
               OR s.pay_terms_id IS DISTINCT FROM t.id
               OR s.final_grade IS DISTINCT FROM g.grade
               OR s.posted_cents <> COALESCE(l.amount, 0) * 100
               OR s.posted_entries <> COALESCE(l.entries, 0))
    """
    return sql, params


def submission_cache_disagreements(
    *, contractor_id: int | None = None, project_id: int | None = None, limit: int = 1000
) -> list[SubmissionCacheDisagreement]:
    """Audit the columns the database keeps on each submission for the earnings recompute
    (`pay_rate_id`, `grade_policy_id`, `pay_terms_id`, `final_grade`, `posted_cents`,
    `posted_entries`) against what they mirror (the functions projects_pay_rate_in_force and
    projects_grade_policy_in_force, the pay terms of the two, the view annotations_final_grade and
    the ledger). The triggers keep them exact, so this is empty unless something wrote with triggers
    off (session_replication_role = replica, a restore of part of the tables);
    `payouts.services.submission_cache_rebuild` repairs what it finds. Returns at most `limit`
    submissions, lowest id first. A full audit reads every submission, review and ledger entry
    (and looks up each one's rate): an operator's check, not something for a page."""
    sql, params = submission_cache_disagreements_sql(contractor_id=contractor_id, project_id=project_id)
    # Materialized, so the LIMIT cannot talk the planner into walking the submissions in id order
    # through nested loops: the audit is a few hash joins, then a sort of what it found.
    sql = f"WITH found AS MATERIALIZED ({sql}) SELECT * FROM found ORDER BY 1 LIMIT %(limit)s"
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "limit": limit})
        return [SubmissionCacheDisagreement(*row) for row in cursor.fetchall()]
