"""Recompute earnings from the work itself and write only the differences to the ledger.

One INSERT ... SELECT does all of it inside the database, for any scope (a contractor, a
project, a period of submission times, or everything):

1. the pay of every submission in scope, from the rate in force when it was submitted,
   the project's grade policy and the submission's final grade (per task: rate × share;
   per hour: active seconds × hourly rate × share; rounded to cents half away from zero,
   exactly like `taskhub.money.quantize`);
2. what the ledger already holds for each of those submissions (a sum, whatever kinds);
3. a new entry for each non-zero difference: the first entry of a submission has its own
   kind (`task`, `hourly` or `onboarding`), every later one is an `adjustment`.

Idempotency lives in the keys: the first entry of submission 42 is `task:submission:42`,
the n-th correction `adjustment:submission:42:<n>` where n is the number of entries the
submission already had. A re-run sees no difference and writes nothing; two runs that
raced from the same state would write the same key, and the unique index keeps one.
The statement runs in one transaction under an advisory lock, so a worker killed half way
leaves the ledger as it was and the next run does the whole job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from ..models import GradePolicy

# pg_advisory_xact_lock(namespace, key): key 0 is the whole ledger, other keys contractors.
LOCK_NAMESPACE = 736_001

# THE one place the recompute learns a submission's final grade (1–5), per the contract of
# the reviews work (annotations.Review.final_score): the revised score of an appeal decided
# "revised" if there is one, else the score of the submission's current review (a human
# review, or the automatic grade of a gold task; calibration grades never count). A
# submission with no row here is ungraded. Re-point this view, and only this view, if grades move.
FINAL_GRADES_SQL = """
    SELECT r.submission_id,
           COALESCE(CASE WHEN a.status = 'revised' THEN a.revised_score END, r.score) AS grade
    FROM annotations_review r
    LEFT JOIN annotations_appeal a ON a.review_id = r.id
    WHERE r.kind <> 'calibration'
"""

# Rates form an append-only history per project. The version in force at instant t is the
# one with the latest effective_from <= t (the highest id among equal effective_from). Each
# project's versions become sorted arrays, and width_bucket() finds the version in force for
# a submission: an equality join on the project instead of a range join, which keeps the
# planner's row estimates right on millions of submissions. A submission at exactly a
# version's effective_from falls in that version's bucket (lower bounds are inclusive);
# bucket 0 (before the first rate) earns nothing.
_RATE_ARRAYS_SQL = """
    SELECT project_id,
           array_agg(effective_from ORDER BY effective_from) AS starts,
           array_agg(amount ORDER BY effective_from) AS amounts,
           array_agg(unit::text ORDER BY effective_from) AS units,
           array_agg(currency::text ORDER BY effective_from) AS currencies
    FROM (
        SELECT DISTINCT ON (project_id, effective_from) project_id, amount, currency, unit, effective_from
        FROM projects_payrate
        ORDER BY project_id, effective_from, id DESC
    ) versions
    GROUP BY project_id
"""

_D = GradePolicy.DEFAULT_PERCENTS
_PERCENT_SQL = f"""
    CASE
        WHEN p.is_onboarding THEN 100
        WHEN g.grade IS NULL THEN COALESCE(gp.pay_ungraded, {_D["pay_ungraded"]})
        WHEN g.grade = 5 THEN COALESCE(gp.pay_grade_5, {_D["pay_grade_5"]})
        WHEN g.grade = 4 THEN COALESCE(gp.pay_grade_4, {_D["pay_grade_4"]})
        WHEN g.grade = 3 THEN COALESCE(gp.pay_grade_3, {_D["pay_grade_3"]})
        WHEN g.grade = 2 THEN COALESCE(gp.pay_grade_2, {_D["pay_grade_2"]})
        ELSE COALESCE(gp.pay_grade_1, {_D["pay_grade_1"]})
    END
"""


def expected_earnings_sql(where: str = "TRUE") -> str:
    """One row per submission matching `where` (over alias s) with its pay as the rules say."""
    return f"""
        SELECT s.id AS submission_id, s.contractor_id, s.project_id, s.active_seconds,
               r.amount AS rate_amount, r.unit AS rate_unit, r.currency, g.grade, x.pay_percent,
               CASE WHEN p.is_onboarding THEN 'onboarding'
                    WHEN r.unit = 'per_hour' THEN 'hourly' ELSE 'task' END AS kind,
               round(CASE WHEN r.unit = 'per_hour'
                          THEN s.active_seconds * r.amount * x.pay_percent / 360000
                          ELSE r.amount * x.pay_percent / 100 END, 2) AS amount
        FROM annotations_submission s
        JOIN projects_project p ON p.id = s.project_id
        JOIN ({_RATE_ARRAYS_SQL}) ra ON ra.project_id = s.project_id
        CROSS JOIN LATERAL (SELECT width_bucket(s.submitted_at, ra.starts) AS version) v
        CROSS JOIN LATERAL (
            SELECT ra.amounts[v.version] AS amount, ra.units[v.version] AS unit,
                   ra.currencies[v.version] AS currency
        ) r
        LEFT JOIN ({FINAL_GRADES_SQL}) g ON g.submission_id = s.id
        LEFT JOIN payouts_gradepolicy gp ON gp.project_id = s.project_id
        CROSS JOIN LATERAL (SELECT ({_PERCENT_SQL})::numeric(5, 2) AS pay_percent) x
        WHERE v.version > 0 AND {where}
    """


_RECOMPUTE_SQL = """
WITH expected AS ({expected}),
posted AS (
    SELECT l.source_id AS submission_id, SUM(l.amount) AS amount, COUNT(*) AS entries
    FROM payouts_ledgerentry l
    WHERE l.source_type = 'submission' AND {posted_where}
    GROUP BY l.source_id
)
INSERT INTO payouts_ledgerentry
    (contractor_id, project_id, kind, amount, currency, source_type, source_id, rate_amount, rate_unit,
     grade, pay_percent, active_seconds, reason, idempotency_key)
SELECT e.contractor_id, e.project_id,
       CASE WHEN po.entries IS NULL THEN e.kind ELSE 'adjustment' END,
       e.amount - COALESCE(po.amount, 0), e.currency, 'submission', e.submission_id, e.rate_amount, e.rate_unit,
       e.grade, e.pay_percent, CASE WHEN e.rate_unit = 'per_hour' THEN e.active_seconds END,
       CASE WHEN po.entries IS NULL THEN ''
            WHEN e.grade IS NULL THEN 'Pay recomputed'
            ELSE 'Pay recomputed for final grade ' || e.grade END,
       CASE WHEN po.entries IS NULL THEN e.kind || ':submission:' || e.submission_id
            ELSE 'adjustment:submission:' || e.submission_id || ':' || po.entries END
FROM expected e
LEFT JOIN posted po ON po.submission_id = e.submission_id
WHERE e.amount <> COALESCE(po.amount, 0)
ON CONFLICT (idempotency_key) DO NOTHING
"""


@dataclass(frozen=True)
class RecomputeScope:
    contractor_id: int | None = None
    project_id: int | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None

    def where(self) -> tuple[str, str, dict]:
        """SQL conditions on submissions (alias s) and on ledger entries (alias l), with params."""
        subs, posted, params = ["TRUE"], ["TRUE"], {}
        if self.contractor_id is not None:
            subs.append("s.contractor_id = %(contractor_id)s")
            posted.append("l.contractor_id = %(contractor_id)s")
            params["contractor_id"] = self.contractor_id
        if self.project_id is not None:
            subs.append("s.project_id = %(project_id)s")
            posted.append("l.project_id = %(project_id)s")
            params["project_id"] = self.project_id
        if self.submitted_from is not None:
            subs.append("s.submitted_at >= %(submitted_from)s")
            params["submitted_from"] = self.submitted_from
        if self.submitted_before is not None:
            subs.append("s.submitted_at < %(submitted_before)s")
            params["submitted_before"] = self.submitted_before
        if self.submitted_from is not None or self.submitted_before is not None:
            # Only the entries of the submissions in the period (found through their index).
            period = " AND ".join(c for c in subs if "submitted_at" in c)
            posted.append(f"l.source_id IN (SELECT s.id FROM annotations_submission s WHERE {period})")
        return " AND ".join(subs), " AND ".join(posted), params


def earnings_recompute(
    *,
    contractor_id: int | None = None,
    project_id: int | None = None,
    submitted_from: datetime | None = None,
    submitted_before: datetime | None = None,
) -> int:
    """Bring the ledger in line with the pay rules for the scope; return the entries written.

    With no arguments, everything is recomputed (the nightly run).
    """
    scope = RecomputeScope(contractor_id, project_id, submitted_from, submitted_before)
    subs_where, posted_where, params = scope.where()
    sql = _RECOMPUTE_SQL.format(expected=expected_earnings_sql(subs_where), posted_where=posted_where)
    with transaction.atomic(), connection.cursor() as cursor:
        # Enough memory for the joins over every submission to stay in memory (this transaction only).
        cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.TASKHUB_RECOMPUTE_WORK_MEM])
        if contractor_id is not None:
            # Recomputes of different contractors may run side by side; a wider one waits.
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_NAMESPACE])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, contractor_id])
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_NAMESPACE])
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def earnings_recompute_enqueue(
    *,
    contractor_id: int | None = None,
    project_id: int | None = None,
    submitted_from: datetime | None = None,
    submitted_before: datetime | None = None,
) -> None:
    """Recompute in the background once the current transaction commits (submissions, reviews,
    appeals, rates). Call it from inside the service's transaction; nothing is sent if that
    transaction rolls back.
    """
    from ..tasks import earnings_recompute as task

    window = {
        "submitted_from": submitted_from.isoformat() if submitted_from else None,
        "submitted_before": submitted_before.isoformat() if submitted_before else None,
    }
    transaction.on_commit(lambda: task.delay(contractor_id=contractor_id, project_id=project_id, **window))
