"""Recompute earnings from the work itself and write only the differences to the ledger.

The pay of a submission follows from the submission's row and a few tiny tables, so a
recompute is one pass over annotations_submission (over all of it at night, or through an
index for a contractor, a project or a period of submission times):

1. its pay as the rules say: the rate and the grade policy in force when it was submitted (its
   pay terms) and the submission's final grade (per task: rate × share; per hour: active seconds
   × hourly rate × share; rounded to cents half up, exactly like `taskhub.money.quantize`);
2. what the ledger already holds for it, which the database keeps on the row itself
   (`posted_cents`, `posted_entries`: a trigger on the append-only ledger adds each entry as
   it is inserted, payouts/sql/), as it keeps the final grade there (`final_grade`: triggers on
   reviews and appeals) and the rate, grade policy and pay terms in force (`pay_rate_id`,
   `grade_policy_id`, `pay_terms_id`: triggers on submissions, on the rate and policy histories and
   on lineages, annotations/sql/submission_cache.sql);
3. a new entry for each non-zero difference: the first entry of a submission has its own
   kind (`task`, `hourly` or `onboarding`), every later one is an `adjustment`.

No join with rates, policies, reviews, appeals or the ledger, and no grouping. Amounts are compared
in integer cents: each (terms, grade) cell gives either a fixed number of cents (per task) or an
exact integer fraction of the active seconds (per hour), and the cells are arrays read by
offset, so the work per row is a few integer operations; numeric is computed only for the rows
that are written.

Idempotency lives in the keys: the first entry of submission 42 is `task:submission:42`,
the n-th correction `adjustment:submission:42:<n>` where n is the number of entries the
submission already had (`posted_entries`). A re-run sees no difference and writes nothing;
two runs that raced from the same state would write the same key, and the unique index keeps
one. Everything runs in one transaction under an advisory lock, so a worker killed half way
leaves the ledger, and the cached columns its trigger updates in the same transaction, as they
were, and the next run does the whole job.

A new submission is paid at once, in the submit's own transaction (`submission_pay_post`): the same
rows, the same arithmetic and the same keys, with its one cell read from the view by its rate's key
instead of the arrays.

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

from taskhub.hooks import PayScope
from taskhub.outbox import enqueue
from taskhub.sql import Prepared

from .. import tasks
from ..selectors import submission_cache_disagreements_sql
from .problems import problem_report_pay_post

# pg_advisory_xact_lock(namespace, key): key 0 is the whole ledger, other keys contractors.
LOCK_NAMESPACE = 736_001

# The recompute applies the pay rule; it defines none of it. A submission's final grade is the
# column annotations_submission.final_grade, which the database keeps equal to the view
# annotations_final_grade (annotations/sql/final_grade.sql); its pay terms (the rate and the grade
# policy in force when it was submitted) are the column pay_terms_id, kept equal to
# projects_pay_terms_for(projects_pay_rate_in_force, projects_grade_policy_in_force); what terms pay
# for each grade is the view projects_pay_cell (projects/sql/pay_rule.sql).

GRADE_CELLS = 6  # per terms: ungraded, then final grades 1 to 5
_HOUR_DIVISOR = 3_600_000_000  # the pay rule's per-hour divisor (projects/sql/pay_rule.sql)

# Each column of the pay rule becomes one array over the terms ids from the lowest to the highest
# (GRADE_CELLS slots per id; ids that no terms hold, from rolled back inserts, or that the scope
# does not need, read 0), built once per statement in the CTE `pay`. A subquery on it runs once,
# before the scan, and its array reaches the parallel workers as a parameter: per submission,
# reading a cell is an offset into memory. (A join with the cells instead, even a hash join on one
# key, costs more per row than all the arithmetic.) Only arrays of fixed-size integers without
# NULLs are read per row, so that the offset is computed, not searched for. `{rates}` is a
# condition on pay terms (alias t, with t.id) keeping only those a scope can need.
_PAY_ARRAYS_SQL = f"""
    SELECT min(g.terms_id) AS lowest_terms,
           array_agg(COALESCE(k.task_cents, 0) ORDER BY g.terms_id, c.cell) AS task_cents,
           array_agg(COALESCE(k.hour_whole, 0) ORDER BY g.terms_id, c.cell) AS hour_whole,
           array_agg(COALESCE(k.hour_part, 0) ORDER BY g.terms_id, c.cell) AS hour_part,
           array_agg(COALESCE(k.percent_bp, 0) ORDER BY g.terms_id, c.cell) AS percent_bp
    FROM generate_series((SELECT min(t.id) FROM projects_payterms t WHERE {{rates}}),
                         (SELECT max(t.id) FROM projects_payterms t WHERE {{rates}})) g(terms_id)
    CROSS JOIN generate_series(0, {GRADE_CELLS - 1}) c(cell)
    LEFT JOIN (SELECT k.* FROM projects_pay_cell k
               WHERE k.terms_id IN (SELECT t.id FROM projects_payterms t WHERE {{rates}})) k
        ON k.terms_id = g.terms_id AND k.cell = c.cell
"""


def _pay(column: str) -> str:
    return f"(SELECT {column} FROM pay)"


# Per submission (alias s): its cell, then its pay in cents. PostgreSQL evaluates a repeated
# expression again wherever it appears, so the per-task pay is read once (NULLIF turns the
# per-hour mark into NULL, and only then is the per-hour pay worked out). A submission without a
# rate (before its lineage's first one) has no terms, no cell and no pay, and never differs.
_SLOT = f"((s.pay_terms_id - {_pay('lowest_terms')}) * {GRADE_CELLS} + COALESCE(s.final_grade, 0) + 1)"


def _expected_cents(task_cents: str, hour_whole: str, hour_part: str) -> str:
    """The pay in cents of submission s from its cell's columns of the pay rule (projects_pay_cell)."""
    return (f"COALESCE(NULLIF({task_cents}, -1),"
            f" s.active_seconds * {hour_whole}"
            f" + (s.active_seconds * {hour_part} + {_HOUR_DIVISOR // 2}) / {_HOUR_DIVISOR})")


# The cell's columns, read from the arrays (a scope of many submissions) or from the view's one row
# for the submission's rate and grade (alias k: a single submission, `submission_pay_post`).
_ARRAY_CELL = {name: f"{_pay(name)}[{_SLOT}]" for name in ("task_cents", "hour_whole", "hour_part", "percent_bp")}
_VIEW_CELL = {name: f"k.{name}" for name in ("task_cents", "hour_whole", "hour_part", "percent_bp")}


def _rows_sql(cell: dict[str, str], joins: str, where: str, condition: str) -> str:
    """One row per submission of `where` (alias s) with its pay as the rules say and what the ledger
    holds for it, for those meeting `condition`; `cell` says where the pay rule's cell is read."""
    expected = _expected_cents(cell["task_cents"], cell["hour_whole"], cell["hour_part"])
    condition = condition.replace("{expected}", expected)
    # The filter reads the submission and the cell only, so PostgreSQL applies it in the scan;
    # the joins that describe the pay (rate, project) see only the rows that pass it.
    return f"""
        SELECT s.id AS submission_id, s.contractor_id, s.project_id, s.active_seconds,
               r.amount AS rate_amount, r.unit AS rate_unit, r.currency, s.final_grade AS grade,
               ({cell['percent_bp']} / 100.0)::numeric(5, 2) AS pay_percent,
               CASE WHEN p.is_onboarding THEN 'onboarding'
                    WHEN r.unit = 'per_hour' THEN 'hourly' ELSE 'task' END AS kind,
               (({expected})::numeric / 100)::numeric(14, 2) AS amount,
               (s.posted_cents::numeric / 100)::numeric(14, 2) AS posted_amount, s.posted_entries
        FROM annotations_submission s
        {joins}
        JOIN projects_payrate r ON r.id = s.pay_rate_id
        JOIN projects_project p ON p.id = s.project_id
        WHERE {where} AND {condition}
    """


def _pay_sql(where: str, rates: str, condition: str, around: str) -> str:
    rows = _rows_sql(_ARRAY_CELL, "", where, condition)
    # The CTE goes in front of the whole statement: a subquery with a WITH of its own cannot be
    # merged into the query around it, which would keep an aggregate over it out of the workers.
    pay = _PAY_ARRAYS_SQL.replace("{rates}", rates)
    return f"WITH pay AS MATERIALIZED ({pay}) " + around.replace("{rows}", f"({rows})")


_JUST_THE_ROWS = "SELECT * FROM {rows} e"
_DIFFERS = "({expected}) <> s.posted_cents"


def expected_earnings_sql(where: str = "TRUE", rates: str = "TRUE", around: str = _JUST_THE_ROWS) -> str:
    """A statement over one row per submission matching `where` (over alias s) that has a rate,
    with its pay as the rules say (`amount`, with how it was worked out) and what the ledger holds
    for it (`posted_amount`, `posted_entries`). `rates`, a condition on pay terms (alias t), may
    leave out terms no such submission is paid by. `around` is the statement, with `{rows}` where
    the rows go as a subquery (an aggregate over them, for instance); by default, the rows."""
    return _pay_sql(where, rates, "TRUE", around)


def differing_earnings_sql(where: str = "TRUE", rates: str = "TRUE", around: str = _JUST_THE_ROWS) -> str:
    """Like `expected_earnings_sql`, for the rows whose pay differs from what the ledger holds."""
    return _pay_sql(where, rates, _DIFFERS, around)


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
FROM {rows} e
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
        """SQL conditions on submissions (alias s) and on the pay terms to read (alias t), with params."""
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
        # Only the terms a contractor's submissions are paid by (through the same index), so a
        # recompute after one review does not lay out the pay rule of every project. (A project's work
        # may be paid by its predecessor's rates: its scope reads every terms, a small table.)
        if self.contractor_id is not None:
            rates = f"t.id IN (SELECT s.pay_terms_id FROM annotations_submission s WHERE {where})"
        else:
            rates = "TRUE"
        return where, rates, params


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
    where, rates, params = scope.where()
    entries = differing_earnings_sql(where, rates, around=_ENTRIES_SQL)
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


# One submission: its pay terms' cell for its grade, read from the pay rule's view through the
# terms' primary key (the view's other terms and grades are never formed), then the same arithmetic
# and the same entries as every recompute.
_CELL_JOIN = "JOIN projects_pay_cell k ON k.terms_id = s.pay_terms_id AND k.cell = COALESCE(s.final_grade, 0)"
_SUBMISSION_ROWS_SQL = _rows_sql(_VIEW_CELL, _CELL_JOIN, "s.id = %(submission)s", _DIFFERS)
_SUBMISSION_POST_SQL = _INSERT_SQL.format(columns=_ENTRY_COLUMNS,
                                          rows=_ENTRIES_SQL.replace("{rows}", f"({_SUBMISSION_ROWS_SQL})"))
# Prepared once per connection: planning the pay rule's view costs ten times running it for one row.
_SUBMISSION_POST = Prepared("submission_pay_post", _SUBMISSION_POST_SQL, {"submission": "bigint"})


def submission_pay_post(*, submission_id: int) -> int:
    """Post what one submission earns, in the caller's transaction (a submit's): one row read, at
    most one entry written, by the same rule and with the same idempotency keys as the recompute.
    Returns the entries written (0 when the ledger already holds its pay, or it has no rate).

    No lock is needed: the entry is committed with the submission, so a recompute either sees both
    or neither, and the unique idempotency key keeps one entry if two writers ever meet."""
    with connection.cursor() as cursor:
        _SUBMISSION_POST.execute(cursor, {"submission": submission_id})
        return max(cursor.rowcount, 0)


def submission_cache_rebuild() -> int:
    """Rewrite the cached columns of every submission that disagrees with the rates, the reviews
    or the ledger (see `payouts.selectors.submission_cache_disagreements`); return how many. Only
    needed after writes made with triggers off. Writers of rates, reviews, appeals and the ledger
    wait until it commits, so what it writes is what they left."""
    disagreements, params = submission_cache_disagreements_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_NAMESPACE])
        cursor.execute(
            "LOCK TABLE projects_payrate, projects_gradepolicy, annotations_review, annotations_appeal, "
            "payouts_ledgerentry IN SHARE MODE"
        )
        # The columns refuse direct writes except in a transaction that declares a rebuild (annotations 0003).
        cursor.execute("SELECT set_config('taskhub.rebuild_derived', 'on', true)")
        cursor.execute(
            f"""
            UPDATE annotations_submission s
            SET pay_rate_id = d.rate_in_force, grade_policy_id = d.policy_in_force, pay_terms_id = d.terms_in_force,
                final_grade = d.grade, posted_cents = d.ledger_amount * 100, posted_entries = d.ledger_entries
            FROM ({disagreements}) d (id, pay_rate_id, rate_in_force, grade_policy_id, policy_in_force, pay_terms_id,
                                      terms_in_force, final_grade, grade, posted_amount, ledger_amount,
                                      posted_entries, ledger_entries)
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
    transaction rolls back, and a broker that is down when it commits only delays it (the outbox,
    taskhub.outbox, sends it once Redis is back).
    """
    window = {
        "submitted_from": submitted_from.isoformat() if submitted_from else None,
        "submitted_before": submitted_before.isoformat() if submitted_before else None,
    }
    enqueue(tasks.earnings_recompute, contractor_id=contractor_id, project_id=project_id, **window)


def earnings_recompute_enqueue_scope(scope: PayScope) -> None:
    """The handler of `taskhub.hooks.pay_changed`: a new submission is paid at once, in the writing
    transaction (`submission_pay_post`), and so is a task reported broken (`problem_report_pay_post`);
    any other scope is recomputed after the commit."""
    if scope.problem_report_id is not None:
        problem_report_pay_post(report_id=scope.problem_report_id)
        return
    if scope.submission_id is not None:
        submission_pay_post(submission_id=scope.submission_id)
        return
    earnings_recompute_enqueue(contractor_id=scope.contractor_id, project_id=scope.project_id,
                               submitted_from=scope.submitted_from, submitted_before=scope.submitted_before)
