"""Earnings recompute at scale, against a bare GROUP BY over the same rows in the same run.

Seeds, set-based (generate_series INSERT ... SELECT straight into the tables), N graded
submissions over C contractors: 24 projects (per-task and per-hour, two onboarding), each
with a rate history of three rates and a grade-policy history of two policies, tasks with
overlap 5, claims, submissions spread over eight weeks, one review per submission and revised
appeals on 1 % of them. The database's triggers keep each submission's rate, grade policy and pay
terms in force, its final grade (and, once posted, its ledger total) on the row through these bulk
inserts, as they do for every writer. Then, timed:

  post       the first full recompute: the ledger is empty and every submission is written
  baseline   SELECT contractor_id, SUM(active_seconds) FROM annotations_submission GROUP BY 1
             (the bare GROUP BY sum over the same rows)
  nightly    a full recompute when the ledger is already right (what beat runs every night):
             one scan of the submissions, reading the pay rule from arrays, nothing written
  earnings   the pay of every submission (its pay terms: the rate and grade policy in force
             when it was submitted) summed per contractor,
             the report query over the same rows (expected_earnings_sql)
  revise     a full recompute after 1 % more appeals revised grades (writes the adjustments)

Baseline and nightly alternate, best of --repeat each, after the bulk writes are vacuumed (what
autovacuum does in production), so both read the same table in the same state. Prints each
time, the ratio of nightly and revise to the baseline, the entries written, whether the cached
columns agree with the rates, the policies, the reviews and the ledger afterwards (a full audit, not timed), and the
process's peak RSS. Run at two sizes (250,000 then 1,000,000 by default) in one process: the
recompute runs inside PostgreSQL, so the peak RSS must not grow with the rows.
Goal: nightly <= 1.5 × baseline, memory flat. Everything seeded is deleted at the end.

    make bench BENCH=recompute
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/recompute.py --sizes 250000 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from annotations.models import Appeal, Claim, Review, Submission  # noqa: E402
from bench._seed import insert_select  # noqa: E402
from payouts.selectors import submission_cache_disagreements  # noqa: E402
from payouts.services import earnings_recompute  # noqa: E402
from payouts.services.recompute import expected_earnings_sql  # noqa: E402
from projects.models import Batch, GradePolicy, PayRate, Project, Task  # noqa: E402

PREFIX = "bench-recompute"
PROJECTS = 24
OVERLAP = 5
WEEKS = 8
BENCH_PROJECTS = f"(SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}-%%')"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(rows: int, contractors: int) -> None:
    tasks = rows // OVERLAP
    with transaction.atomic():
        insert_select(User, {
            "email": f"'{PREFIX}-lead-' || g || '@bench.local'", "password": "'!'", "role": "'lead'",
            "timezone": "'UTC'", "date_joined": "now()", "is_active": "true",
        }, "generate_series(1, 1) g")
        insert_select(User, {
            "email": f"'{PREFIX}-' || g || '@bench.local'", "password": "'!'", "role": "'contractor'",
            "timezone": "'UTC'", "jurisdiction": "'US-CA'", "date_joined": "now()", "is_active": "true",
        }, "generate_series(1, %(contractors)s) g", {"contractors": contractors})
        insert_select(Project, {
            "name": f"'{PREFIX} ' || g", "slug": f"'{PREFIX}-' || g", "task_type": "'pairwise'",
            "overlap": str(OVERLAP), "status": "'active'", "is_onboarding": "g <= 2",
        }, f"generate_series(1, {PROJECTS}) g")
        # Three rates per project; per-hour on every third project.
        insert_select(PayRate, {
            "project_id": "p.id",
            "amount": "CASE WHEN p.id %% 3 = 0 THEN 15 + r * 2.5 ELSE 0.5 + r * 0.1234 END",
            "currency": "'USD'", "unit": "CASE WHEN p.id %% 3 = 0 THEN 'per_hour' ELSE 'per_task' END",
            # 120, 40 and 20 days ago: the eight weeks of work straddle a rate change.
            "effective_from": "now() - CASE r WHEN 1 THEN 120 WHEN 2 THEN 40 ELSE 20 END * interval '1 day'",
            "reason": "'bench'", "created_at": "now()",
        }, f"projects_project p CROSS JOIN generate_series(1, 3) r WHERE p.slug LIKE '{PREFIX}-%%'")
        # Two grade policies per project, 100 and 30 days ago: the work on each side is paid by its own.
        insert_select(GradePolicy, {
            "project_id": "p.id", "pay_grade_5": "100", "pay_grade_4": "CASE WHEN g = 1 THEN 100 ELSE 90 END",
            "pay_grade_3": "CASE WHEN g = 1 THEN 100 ELSE 75.5 END",
            "pay_grade_2": "CASE WHEN g = 1 THEN 50 ELSE 40 END",
            "pay_grade_1": "0", "pay_ungraded": "100", "reason": "'bench'",
            "effective_from": "now() - CASE g WHEN 1 THEN 100 ELSE 30 END * interval '1 day'",
        }, f"projects_project p CROSS JOIN generate_series(1, 2) g WHERE p.slug LIKE '{PREFIX}-%%'")
        insert_select(Batch, {"project_id": "p.id", "name": "'bench'", "status": "'open'"},
                      f"projects_project p WHERE p.slug LIKE '{PREFIX}-%%'")
    with transaction.atomic():
        insert_select(Task, {
            "batch_id": "b.id", "project_id": "b.project_id", "external_id": "'t' || g",
            "payload": """'{"prompt": "p", "response_a": "a", "response_b": "b"}'::jsonb""",
            "overlap": str(OVERLAP), "claim_count": str(OVERLAP), "submitted_count": str(OVERLAP),
        }, f"""generate_series(1, %(tasks)s) g
               JOIN (SELECT id, project_id, row_number() OVER (ORDER BY id) - 1 AS n FROM projects_batch
                     WHERE project_id IN (SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}-%%')) b
                 ON b.n = g %% {PROJECTS}""", {"tasks": tasks})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE TEMP TABLE bench_people AS
            SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_user
            WHERE email LIKE '{PREFIX}-%%' AND role = 'contractor'""")
        cursor.execute("CREATE UNIQUE INDEX ON bench_people (n)")
        cursor.execute("ANALYZE bench_people")
        # Slot j of task t goes to contractor (t * 5 + j) mod C: five distinct people per task.
        insert_select(Claim, {
            "task_id": "t.id", "contractor_id": "u.id", "project_id": "t.project_id", "batch_id": "t.batch_id",
            "status": "'submitted'", "claimed_at": "s.at - interval '15 minutes'",
            "deadline": "s.at + interval '1 hour'",
            "finished_at": "s.at", "active_seconds": "s.secs",
        }, f"""(SELECT id, project_id, batch_id, row_number() OVER (ORDER BY id) - 1 AS n FROM projects_task
                WHERE project_id IN (SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}-%%')) t
               CROSS JOIN generate_series(0, {OVERLAP - 1}) j
               JOIN bench_people u ON u.n = (t.n * {OVERLAP} + j) %% %(contractors)s
               CROSS JOIN LATERAL (SELECT now() - interval '1 hour' - ((t.n * 7 + j * 13) %% ({WEEKS} * 7 * 1440))
                                          * interval '1 minute' AS at,
                                          60 + ((t.n * 31 + j * 17) %% 1800) AS secs) s""",
            {"contractors": contractors})
        cursor.execute("DROP TABLE bench_people")
    with transaction.atomic():
        insert_select(Submission, {
            "claim_id": "c.id", "task_id": "c.task_id", "contractor_id": "c.contractor_id",
            "project_id": "c.project_id", "answer": """'{"choice": "a"}'::jsonb""",
            "active_seconds": "c.active_seconds", "submitted_at": "c.finished_at",
        }, f"annotations_claim c WHERE c.project_id IN {BENCH_PROJECTS}")
    with transaction.atomic():
        insert_select(Review, {
            "submission_id": "s.id",
            "reviewer_id": f"(SELECT id FROM accounts_user WHERE email = '{PREFIX}-lead-1@bench.local')",
            "kind": "'reviewer'", "reviewer_role": "'lead'", "score": "1 + (s.id * 7919 + s.id / 100) %% 5",
            "reason": "'bench'", "created_at": "s.submitted_at + interval '10 minutes'",
        }, f"annotations_submission s WHERE s.project_id IN {BENCH_PROJECTS}")
    revise_appeals(percent_from=0, percent_to=1)
    vacuum()


def vacuum() -> None:
    """What autovacuum does after bulk writes: the final-grade and ledger-total triggers update
    the submissions they touch, and a table read right after a million updates is half dead rows."""
    with connection.cursor() as cursor:
        for table in ("annotations_submission", "annotations_review", "annotations_appeal", "payouts_ledgerentry"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def revise_appeals(*, percent_from: int, percent_to: int) -> int:
    """Revised appeals on the reviews whose id falls in [from, to) percent (score + 1, at most 5)."""
    with transaction.atomic():
        return insert_select(Appeal, {
            "review_id": "r.id", "contractor_id": "s.contractor_id", "reason": "'bench appeal'",
            "status": "'revised'", "decided_by_id": "r.reviewer_id", "decided_by_role": "'lead'",
            "decision_reason": "'bench'", "revised_score": "CASE WHEN r.score = 5 THEN 4 ELSE r.score + 1 END",
            "created_at": "now()", "decided_at": "now()",
        }, f"""annotations_review r JOIN annotations_submission s ON s.id = r.submission_id
               WHERE s.project_id IN (SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}-%%')
                 AND r.id %% 100 >= {percent_from} AND r.id %% 100 < {percent_to}""")


def cleanup() -> None:
    """Remove everything seeded. Ledger rows are append-only for every normal session; the
    benchmark's own superuser session switches triggers off (replica mode) to clear its data."""
    mine = f"(SELECT id FROM accounts_user WHERE email LIKE '{PREFIX}-%%')"
    projects = f"(SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}-%%')"
    statements = [
        f"DELETE FROM payouts_payoutline WHERE payout_id IN "
        f"(SELECT id FROM payouts_payout WHERE contractor_id IN {mine})",
        f"DELETE FROM payouts_payout WHERE contractor_id IN {mine}",
        f"DELETE FROM payouts_ledgerentry WHERE contractor_id IN {mine}",
        f"DELETE FROM annotations_appeal WHERE contractor_id IN {mine}",
        f"DELETE FROM annotations_review WHERE submission_id IN "
        f"(SELECT id FROM annotations_submission WHERE project_id IN {projects})",
        f"DELETE FROM annotations_submission WHERE project_id IN {projects}",
        f"DELETE FROM annotations_claim WHERE project_id IN {projects}",
        f"DELETE FROM projects_task WHERE project_id IN {projects}",
        f"DELETE FROM projects_batch WHERE project_id IN {projects}",
        f"DELETE FROM projects_payterms WHERE rate_id IN (SELECT id FROM projects_payrate WHERE project_id IN "
        f"{projects})",
        f"DELETE FROM projects_payrate WHERE project_id IN {projects}",
        f"DELETE FROM projects_gradepolicy WHERE project_id IN {projects}",
        f"DELETE FROM projects_project WHERE id IN {projects}",
        f"DELETE FROM accounts_user WHERE email LIKE '{PREFIX}-%%'",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in statements:
            cursor.execute(sql)


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def query(sql: str):
    def run():
        # The same memory the recompute gives itself, so the comparison is like for like.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.TASKHUB_RECOMPUTE_WORK_MEM])
            cursor.execute(sql)
            return len(cursor.fetchall())

    return run


BASELINE_SQL = "SELECT contractor_id, SUM(active_seconds) FROM annotations_submission GROUP BY contractor_id"
EARNINGS_SQL = expected_earnings_sql(around="SELECT contractor_id, SUM(amount) FROM {rows} e GROUP BY contractor_id")


def run_size(rows: int, contractors: int, repeat: int) -> dict:
    cleanup()
    start = time.perf_counter()
    seed(rows, contractors)
    seeded = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotations_submission")
        (total_rows,) = cursor.fetchone()
    post, posted = best_of(1, earnings_recompute)
    vacuum()
    query(BASELINE_SQL)()  # warm the cache the same way for everyone
    baselines, nightlies, groups, nothing = [], [], 0, 0
    for _ in range(repeat):  # alternating, so a busy moment on the machine hits both alike
        baseline, groups = best_of(1, query(BASELINE_SQL))
        nightly, written = best_of(1, earnings_recompute)
        baselines.append(baseline)
        nightlies.append(nightly)
        nothing += written
    earnings, _ = best_of(repeat, query(EARNINGS_SQL))
    revised = revise_appeals(percent_from=1, percent_to=2)
    revise, adjustments = best_of(1, earnings_recompute)
    agree = not submission_cache_disagreements(limit=1)
    return {
        "rows": total_rows, "groups": groups, "seed_s": seeded, "baseline_s": min(baselines), "earnings_s": earnings,
        "post_s": post, "posted": posted, "nightly_s": min(nightlies), "nightly_written": nothing,
        "revise_s": revise, "revised": revised, "adjustments": adjustments, "agree": agree,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--contractors", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the seeded rows in place")
    args = parser.parse_args()
    print(f"recompute benchmark: {args.contractors} contractors, sizes {args.sizes}, best of {args.repeat}",
          flush=True)
    print(f"peak RSS before seeding: {peak_rss_mib():.1f} MiB", flush=True)
    results = []
    try:
        for size in args.sizes:
            r = run_size(size, args.contractors, args.repeat)
            results.append(r)
            print(
                f"\n{r['rows']:>9,} submissions ({r['groups']:,} contractors), seeded in {r['seed_s']:.1f} s\n"
                f"  baseline GROUP BY sum       {r['baseline_s'] * 1000:9.1f} ms\n"
                f"  earnings aggregate (joins)  {r['earnings_s'] * 1000:9.1f} ms  "
                f"({r['earnings_s'] / r['baseline_s']:.2f}x baseline)\n"
                f"  first posting (writes)      {r['post_s'] * 1000:9.1f} ms  {r['posted']:,} entries written\n"
                f"  nightly full recompute      {r['nightly_s'] * 1000:9.1f} ms  "
                f"({r['nightly_s'] / r['baseline_s']:.2f}x baseline, {r['nightly_written']} entries written)\n"
                f"  after {r['revised']:,} appeal revisions     {r['revise_s'] * 1000:9.1f} ms  "
                f"({r['revise_s'] / r['baseline_s']:.2f}x baseline, {r['adjustments']:,} adjustments written)\n"
                f"  cached columns agree with rates, policies, reviews, ledger: {r['agree']}\n"
                f"  peak RSS of this process    {r['peak_rss_mib']:9.1f} MiB",
                flush=True,
            )
    finally:
        if not args.keep:
            cleanup()
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"\nmemory: {first['peak_rss_mib']:.1f} MiB at {first['rows']:,} rows, "
              f"{last['peak_rss_mib']:.1f} MiB at {last['rows']:,} rows "
              f"({last['rows'] / first['rows']:.0f}x the rows)")
    ok = all(r["nightly_written"] == 0 and r["agree"] for r in results)
    print("\ngoal nightly <= 1.5x baseline: "
          + ", ".join(f"{r['nightly_s'] / r['baseline_s']:.2f}x at {r['rows']:,}" for r in results)
          + "; against the earnings aggregate over the same joined rows: "
          + ", ".join(f"{r['nightly_s'] / r['earnings_s']:.2f}x at {r['rows']:,}" for r in results)
          + f"; nightly wrote nothing and the cached columns agree: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
