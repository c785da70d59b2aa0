"""Recompute earnings from the work itself and write only the differences to the ledger.

The pay of a submission follows from the submission's row and a few tiny tables, so a
recompute is one pass over annotations_submission (over all of it at night, or through an
index for a contractor, a project or a period of submission times):

1. its pay as the rules say: the rate in force when it was submitted, the project's grade
   policy and the submission's final grade (per task: rate × share; per hour: active seconds
   × hourly rate × share; rounded to cents half up, exactly like `taskhub.money.quantize`);
2. what the ledger already holds for it, which the database keeps on the row itself
   (`posted_amount`, `posted_entries`: a trigger on the append-only ledger adds each entry as
   it is inserted, payouts migration 0003), as it keeps the final grade there (`final_grade`:
   triggers on reviews and appeals, annotations migration 0003);
3. a new entry for each non-zero difference: the first entry of a submission has its own
   kind (`task`, `hourly` or `onboarding`), every later one is an `adjustment`.

No join with reviews, appeals or the ledger, and no grouping. Amounts are compared in integer
cents: each (rate version, grade) cell of a project gives either a fixed number of cents (per
task) or an exact integer fraction of the active seconds (per hour), so the work per row is
integer arithmetic; numeric is computed only for the rows that are written.

Idempotency lives in the keys: the first entry of submission 42 is `task:submission:42`,
the n-th correction `adjustment:submission:42:<n>` where n is the number of entries the
submission already had (`posted_entries`). A re-run sees no difference and writes nothing;
two runs that raced from the same state would write the same key, and the unique index keeps
one. Everything runs in one transaction under an advisory lock, so a worker killed half way
leaves the ledger, and the cached columns its trigger updates in the same transaction, as they
were, and the next run does the whole job.

A wide recompute (anything but one contractor) first collects the differing submissions with
`CREATE TEMP TABLE ... AS SELECT`, which PostgreSQL runs in parallel like a plain query, then
inserts those rows: an `INSERT ... SELECT` never runs in parallel, and at night almost nothing
differs. A contractor's recompute reads a handful of rows through an index and inserts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from ..models import GradePolicy

# pg_advisory_xact_lock(namespace, key): key 0 is the whole ledger, other keys contractors.
LOCK_NAMESPACE = 736_001

# THE one place the recompute learns a submission's final grade (1–5) is the column
# annotations_submission.final_grade. The database keeps it equal to the view
# annotations_final_grade, THE definition of the rule, per the contract of the reviews work
# (annotations.Review.final_score): the revised score of an appeal decided "revised" if there
# is one, else the score of the submission's current review (a human review, or the automatic
# grade of a gold task; calibration grades never count); no row there means ungraded. Triggers
# on reviews and appeals recompute the column from the view for every submission a statement
# touches (annotations migration 0003). If grades move, re-point that view, and only it.
FINAL_GRADES_SQL = "SELECT submission_id, grade FROM annotations_final_grade"

GRADE_CELLS = 6  # per rate version: ungraded, then final grades 1 to 5

# Arrays under 127 bytes are stored with a one-byte header in a hash table's tuples, and
# PostgreSQL copies such an array on every access to read it; per submission that copy costs
# more than the lookup itself. Padding the per-project arrays to 16 elements keeps them long.
# The start times are padded with 'infinity', which no submission time reaches, so the version
# found is unchanged; the other arrays are only ever read at the cells of real versions.
_MIN_ARRAY_LENGTH = 16


def _padded(array_sql: str, pad_sql: str) -> str:
    missing = f"greatest(0, {_MIN_ARRAY_LENGTH} - cardinality({array_sql}))"
    return f"({array_sql} || array_fill({pad_sql}, ARRAY[{missing}]))"


_D = GradePolicy.DEFAULT_PERCENTS
_PERCENT_SQL = f"""
    CASE
        WHEN p.is_onboarding THEN 100
        WHEN c.cell = 0 THEN COALESCE(gp.pay_ungraded, {_D["pay_ungraded"]})
        WHEN c.cell = 5 THEN COALESCE(gp.pay_grade_5, {_D["pay_grade_5"]})
        WHEN c.cell = 4 THEN COALESCE(gp.pay_grade_4, {_D["pay_grade_4"]})
        WHEN c.cell = 3 THEN COALESCE(gp.pay_grade_3, {_D["pay_grade_3"]})
        WHEN c.cell = 2 THEN COALESCE(gp.pay_grade_2, {_D["pay_grade_2"]})
        ELSE COALESCE(gp.pay_grade_1, {_D["pay_grade_1"]})
    END
"""

# Per task, the pay in cents of a cell, rounded once per cell as before (numeric, exact).
_TASK_CENTS = """
    CASE WHEN v.unit = 'per_hour' THEN 0 ELSE (round(v.amount * x.pay_percent / 100, 2) * 100)::bigint END
"""

# Per hour, the pay in cents is seconds × rate × percent / 360000 × 100. With the rate counted
# in 0.0001 and the percent in 0.01 (the scales of their columns) that is seconds × F / 3.6e9
# for the integer F = rate·10⁴ × percent·10² (below 10¹⁶). Split as F = whole × 3.6e9 + part,
# the pay is seconds × whole + (seconds × part + 1.8e9) div 3.6e9: exact, rounded half up
# (everything is non-negative; the database checks rates, percents and seconds), and within
# bigint for any number of seconds the integer column can hold.
_HOUR_DIVISOR = 3_600_000_000
_HOUR_FACTOR = "(v.amount * 10000 * x.pay_percent * 100)::bigint"
_HOUR_WHOLE = f"CASE WHEN v.unit = 'per_hour' THEN {_HOUR_FACTOR} / {_HOUR_DIVISOR} ELSE 0 END"
_HOUR_PART = f"CASE WHEN v.unit = 'per_hour' THEN mod({_HOUR_FACTOR}, {_HOUR_DIVISOR}) ELSE 0 END"


def _per_version(expression: str) -> str:
    return f"array_agg({expression} ORDER BY v.effective_from) FILTER (WHERE c.cell = 0)"


def _per_cell(expression: str) -> str:
    return f"array_agg({expression} ORDER BY v.effective_from, c.cell)"


# One row per project with a rate. Rates form an append-only history per project; the version
# in force at instant t is the one with the latest effective_from <= t (the highest id among
# equal effective_from). width_bucket() over the sorted start times finds the version of a
# submission: an equality join on the project instead of a range join, which keeps the
# planner's row estimates right on millions of submissions. A submission at exactly a
# version's effective_from falls in that version (lower bounds are inclusive); version 0
# (before the first rate) has no cells and earns nothing. The pay rule's numbers are arrays
# over the (version, grade) cells, version-major. `projects` (a condition on rates, alias r)
# leaves out the projects a scoped recompute cannot touch.
def _pay_table_sql(projects: str) -> str:
    return f"""
    SELECT v.project_id, p.is_onboarding,
           bool_or(v.unit = 'per_hour') AS any_hourly, bool_and(v.unit = 'per_hour') AS all_hourly,
           {_padded(_per_version("v.effective_from"), "'infinity'::timestamptz")} AS starts,
           {_per_version("v.amount")} AS rate_amounts,
           {_per_version("v.unit::text")} AS units,
           {_per_version("v.currency::text")} AS currencies,
           {_per_cell("x.pay_percent")} AS percents,
           {_padded(_per_cell(_TASK_CENTS), "0::bigint")} AS task_cents,
           {_padded(_per_cell(_HOUR_WHOLE), "0::bigint")} AS hour_whole,
           {_padded(_per_cell(_HOUR_PART), "0::bigint")} AS hour_part
    FROM (
        SELECT DISTINCT ON (r.project_id, r.effective_from) r.project_id, r.amount, r.currency, r.unit,
               r.effective_from
        FROM projects_payrate r
        WHERE {projects}
        ORDER BY r.project_id, r.effective_from, r.id DESC
    ) v
    JOIN projects_project p ON p.id = v.project_id
    LEFT JOIN payouts_gradepolicy gp ON gp.project_id = v.project_id
    CROSS JOIN generate_series(0, {GRADE_CELLS - 1}) c(cell)
    CROSS JOIN LATERAL (SELECT ({_PERCENT_SQL})::numeric(5, 2) AS pay_percent) x
    GROUP BY v.project_id, p.is_onboarding
    """

# Per submission (alias s) joined to its project's row (alias pt). PostgreSQL computes a
# repeated expression again wherever it appears, so these are kept to array reads and integer
# arithmetic, and each kind of project reads only the arrays it needs (a project whose rate
# changed unit between versions reads all three; the unused parts of a cell are zero). A filter
# evaluates the cents only; the other columns are computed for the rows that pass it.
_VERSION = "width_bucket(s.submitted_at, pt.starts)"
_CELL = f"({_VERSION} * {GRADE_CELLS} + COALESCE(s.final_grade, 0) - {GRADE_CELLS - 1})"
_HOURLY_CENTS = (f"s.active_seconds * pt.hour_whole[{_CELL}]"
                 f" + (s.active_seconds * pt.hour_part[{_CELL}] + {_HOUR_DIVISOR // 2}) / {_HOUR_DIVISOR}")
_EXPECTED_CENTS = f"""
    CASE WHEN NOT pt.any_hourly THEN pt.task_cents[{_CELL}]
         WHEN pt.all_hourly THEN {_HOURLY_CENTS}
         ELSE pt.task_cents[{_CELL}] + {_HOURLY_CENTS} END
"""
_POSTED_CENTS = "(s.posted_amount * 100)::bigint"


def _pay_sql(where: str, projects: str, condition: str) -> str:
    return f"""
        SELECT s.id AS submission_id, s.contractor_id, s.project_id, s.active_seconds,
               pt.rate_amounts[{_VERSION}] AS rate_amount, pt.units[{_VERSION}] AS rate_unit,
               pt.currencies[{_VERSION}] AS currency, s.final_grade AS grade,
               pt.percents[{_CELL}] AS pay_percent,
               CASE WHEN pt.is_onboarding THEN 'onboarding'
                    WHEN pt.units[{_VERSION}] = 'per_hour' THEN 'hourly' ELSE 'task' END AS kind,
               (({_EXPECTED_CENTS})::numeric / 100)::numeric(14, 2) AS amount,
               s.posted_amount, s.posted_entries
        FROM annotations_submission s
        JOIN ({_pay_table_sql(projects)}) pt ON pt.project_id = s.project_id
        WHERE {where} AND {condition}
    """


def expected_earnings_sql(where: str = "TRUE", projects: str = "TRUE") -> str:
    """One row per submission matching `where` (over alias s) with its pay as the rules say
    (`amount`, with how it was worked out) and what the ledger holds for it (`posted_amount`,
    `posted_entries`). `projects`, a condition on pay rates (alias r), may narrow the projects."""
    return _pay_sql(where, projects, f"{_VERSION} > 0")


def differing_earnings_sql(where: str = "TRUE", projects: str = "TRUE") -> str:
    """The rows of `expected_earnings_sql` whose pay differs from what the ledger holds."""
    # Before a project's first rate a submission has no cell: its cents are NULL, it never differs.
    return _pay_sql(where, projects, f"({_EXPECTED_CENTS}) <> {_POSTED_CENTS}")


_ENTRY_COLUMNS = (
    "contractor_id, project_id, kind, amount, currency, source_type, source_id, rate_amount, rate_unit, "
    "grade, pay_percent, active_seconds, reason, idempotency_key"
)

# The ledger entries that bring the differing submissions in line, as rows to insert.
_ENTRIES_SQL = """
SELECT e.contractor_id, e.project_id,
       CASE WHEN e.posted_entries = 0 THEN e.kind ELSE 'adjustment' END AS kind,
       e.amount - e.posted_amount AS amount, e.currency, 'submission' AS source_type,
       e.submission_id AS source_id, e.rate_amount, e.rate_unit, e.grade, e.pay_percent,
       CASE WHEN e.rate_unit = 'per_hour' THEN e.active_seconds END AS active_seconds,
       CASE WHEN e.posted_entries = 0 THEN ''
            WHEN e.grade IS NULL THEN 'Pay recomputed'
            ELSE 'Pay recomputed for final grade ' || e.grade END AS reason,
       CASE WHEN e.posted_entries = 0 THEN e.kind || ':submission:' || e.submission_id
            ELSE 'adjustment:submission:' || e.submission_id || ':' || e.posted_entries END AS idempotency_key
FROM ({differing}) e
"""

_INSERT_SQL = "INSERT INTO payouts_ledgerentry ({columns}) {rows} ON CONFLICT (idempotency_key) DO NOTHING"
_DIFFERENCES_TABLE = "earnings_recompute_differences"


@dataclass(frozen=True)
class RecomputeScope:
    contractor_id: int | None = None
    project_id: int | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None

    def where(self) -> tuple[str, str, dict]:
        """SQL conditions on submissions (alias s) and on the pay rates to read (alias r), with params."""
        conditions, params = ["TRUE"], {}
        if self.contractor_id is not None:
            conditions.append("s.contractor_id = %(contractor_id)s")
            params["contractor_id"] = self.contractor_id
        if self.project_id is not None:
            conditions.append("s.project_id = %(project_id)s")
            params["project_id"] = self.project_id
        if self.submitted_from is not None:
            conditions.append("s.submitted_at >= %(submitted_from)s")
            params["submitted_from"] = self.submitted_from
        if self.submitted_before is not None:
            conditions.append("s.submitted_at < %(submitted_before)s")
            params["submitted_before"] = self.submitted_before
        where = " AND ".join(conditions)
        # Only the rates of the projects the scope's submissions are in (through the same index).
        if self.project_id is not None:
            projects = "r.project_id = %(project_id)s"
        elif self.contractor_id is not None:
            projects = f"r.project_id IN (SELECT s.project_id FROM annotations_submission s WHERE {where})"
        else:
            projects = "TRUE"
        return where, projects, params


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
    where, projects, params = scope.where()
    entries = _ENTRIES_SQL.format(differing=differing_earnings_sql(where, projects))
    with transaction.atomic(), connection.cursor() as cursor:
        # Enough memory for the joins over every submission to stay in memory (this transaction only).
        cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.TASKHUB_RECOMPUTE_WORK_MEM])
        if contractor_id is not None:
            # Recomputes of different contractors may run side by side; a wider one waits.
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_NAMESPACE])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, contractor_id])
            cursor.execute(_INSERT_SQL.format(columns=_ENTRY_COLUMNS, rows=entries), params)
            return max(cursor.rowcount, 0)
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_NAMESPACE])
        # The planner cannot know that a computed amount nearly always equals the posted one, so
        # it expects every row to come out: it would give up the parallel plan to save passing
        # them from the workers, and compile the expressions for them (JIT), which takes longer
        # in each process than the whole scan. At night almost no row comes out; when many do,
        # passing them is cheap, and writing them costs far more than evaluating them.
        cursor.execute("SELECT set_config('parallel_tuple_cost', '0.001', true), set_config('jit', 'off', true)")
        cursor.execute(f"CREATE TEMP TABLE {_DIFFERENCES_TABLE} ON COMMIT DROP AS {entries}", params)
        written = 0
        if cursor.rowcount:
            rows = f"SELECT {_ENTRY_COLUMNS} FROM {_DIFFERENCES_TABLE}"
            cursor.execute(_INSERT_SQL.format(columns=_ENTRY_COLUMNS, rows=rows))
            written = max(cursor.rowcount, 0)
        # Dropped now, not only at commit: the caller's transaction may hold another recompute.
        cursor.execute(f"DROP TABLE {_DIFFERENCES_TABLE}")
        return written


def submission_cache_rebuild() -> int:
    """Rewrite the cached columns of every submission that disagrees with the reviews or the
    ledger (see `payouts.selectors.submission_cache_disagreements`); return how many. Only
    needed after writes made with triggers off. Writers of reviews, appeals and the ledger wait
    until it commits, so what it writes is what they left."""
    from ..selectors import submission_cache_disagreements_sql

    disagreements, params = submission_cache_disagreements_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_NAMESPACE])
        cursor.execute("LOCK TABLE annotations_review, annotations_appeal, payouts_ledgerentry IN SHARE MODE")
        # The columns refuse direct writes except in a transaction that declares a rebuild (annotations 0003).
        cursor.execute("SELECT set_config('taskhub.rebuild_derived', 'on', true)")
        cursor.execute(
            f"""
            UPDATE annotations_submission s
            SET final_grade = d.grade, posted_amount = d.ledger_amount, posted_entries = d.ledger_entries
            FROM ({disagreements}) d (id, final_grade, grade, posted_amount, ledger_amount, posted_entries,
                                      ledger_entries)
            WHERE s.id = d.id
            """,
            params,
        )
        fixed = cursor.rowcount
        cursor.execute("SELECT set_config('taskhub.rebuild_derived', 'off', true)")
        return fixed


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
