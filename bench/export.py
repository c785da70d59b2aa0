"""A `dpo` export of N pairwise submissions, against a bare COPY of the same columns in the same run.

Seeds, set-based (generate_series INSERT ... SELECT), one pairwise project with overlap 2: N/2 tasks
whose payloads hold a prompt and two responses of realistic length, N claims and N submissions over
1,000 contractors (about 5 % ties, which the export leaves out), reviews on half of them. Then,
alternating, best of --repeat each:

  baseline   COPY (SELECT <the same ten columns, raw> FROM the same join, filter and order) TO STDOUT,
             read and written to a file by the same loop
  export     annotations.exports.export_write: the count for progress, then PostgreSQL building each
             JSON line (prompt, chosen, rejected, tie, strength, reason, ids, pseudonym, final grade)
             in the COPY, streamed to a file, exactly what the export job and export_results run

Prints both times, rows/s, the ratio (goal: export <= 2 x baseline) and the process's peak RSS at each
size (goal: flat: nothing but the current row is held). Everything seeded is deleted at the end.

    make bench BENCH=export
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/export.py --sizes 250000 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from annotations import exports  # noqa: E402
from annotations.exports.writer import _reading_cursor  # noqa: E402
from bench._seed import insert_select  # noqa: E402
from projects.models import Batch, Project  # noqa: E402

PREFIX = "bench-export"
CONTRACTORS = 1_000
BASELINE = (
    "COPY (SELECT t.payload->>'prompt', t.payload->>'response_a', t.payload->>'response_b', s.answer->>'choice', "
    "s.answer->>'strength', s.answer->>'reason', s.id, t.external_id, s.contractor_id, s.final_grade "
    "FROM annotations_submission s JOIN projects_task t ON t.id = s.task_id "
    "WHERE s.project_id = %(project)s AND s.answer->>'choice' <> 'tie' ORDER BY s.id) TO STDOUT"
)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_sql(sql: str, params: dict | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})


def cleanup() -> None:
    projects = f"(SELECT id FROM projects_project WHERE slug LIKE '{PREFIX}%%')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in (
            f"DELETE FROM annotations_review WHERE submission_id IN "
            f"(SELECT id FROM annotations_submission WHERE project_id IN {projects})",
            f"DELETE FROM annotations_submission WHERE project_id IN {projects}",
            f"DELETE FROM annotations_claim WHERE project_id IN {projects}",
            f"DELETE FROM projects_task WHERE project_id IN {projects}",
            f"DELETE FROM projects_batch WHERE project_id IN {projects}",
            f"DELETE FROM projects_project WHERE id IN {projects}",
            f"DELETE FROM accounts_user WHERE email LIKE '{PREFIX}-%%'",
        ):
            cursor.execute(sql)
    vacuum()


def vacuum() -> None:
    with connection.cursor() as cursor:
        for table in ("annotations_submission", "annotations_claim", "projects_task", "annotations_review"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def seed(rows: int) -> Project:
    tasks = rows // 2
    with transaction.atomic():
        insert_select(User, {
            "email": f"'{PREFIX}-' || g || '@bench.local'", "password": "'!'",
            "role": "CASE WHEN g = 0 THEN 'lead' ELSE 'contractor' END", "timezone": "'UTC'", "date_joined": "now()",
            "is_active": "true",
        }, f"generate_series(0, {CONTRACTORS}) g")
        project = Project.objects.create(name=PREFIX, slug=PREFIX, task_type="pairwise", overlap=2,
                                         status=Project.Status.ACTIVE)
        Batch.objects.create(project=project, name="bench", status=Batch.Status.OPEN)
        run_sql("""INSERT INTO projects_task (batch_id, project_id, external_id, payload, overlap, claim_count,
                        submitted_count, created_at)
                   SELECT b.id, b.project_id, 'task-' || g, jsonb_build_object(
                        'prompt', 'Question ' || g || ': ' || repeat('how should I think about this? ', 6),
                        'response_a', 'First answer ' || g || '. ' || repeat('A careful, kind reply. ', 18),
                        'response_b', 'Second answer ' || g || '. ' || repeat('A short, blunt reply. ', 18)),
                        2, 2, 2, now()
                   FROM projects_batch b CROSS JOIN generate_series(1, %(tasks)s) g WHERE b.project_id = %(p)s""",
                {"p": project.pk, "tasks": tasks})
    with transaction.atomic():
        run_sql(f"""CREATE TEMP TABLE bench_people AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                    FROM accounts_user WHERE email LIKE '{PREFIX}-%%' AND role = 'contractor'""")
        run_sql("""INSERT INTO annotations_claim (task_id, contractor_id, project_id, batch_id, status, claimed_at,
                        deadline, finished_at, active_seconds)
                   SELECT t.id, u.id, t.project_id, t.batch_id, 'submitted', now() - interval '2 hours',
                          now() + interval '1 hour', now() - interval '1 hour', 120
                   FROM projects_task t CROSS JOIN generate_series(0, 1) j
                   JOIN bench_people u ON u.n = (t.id * 2 + j) %% %(c)s
                   WHERE t.project_id = %(p)s""", {"p": project.pk, "c": CONTRACTORS})
        run_sql("DROP TABLE bench_people")
    with transaction.atomic():
        run_sql("""INSERT INTO annotations_submission (claim_id, task_id, contractor_id, project_id, answer,
                        active_seconds, submitted_at, is_gold, needs_review)
                   SELECT c.id, c.task_id, c.contractor_id, c.project_id, jsonb_build_object(
                        'choice', CASE WHEN c.id %% 20 = 0 THEN 'tie' WHEN c.id %% 3 = 0 THEN 'B' ELSE 'A' END,
                        'strength', (ARRAY['slight', 'clear', 'strong'])[1 + c.id %% 3],
                        'reason', 'It answers the question that was asked, and says why (' || c.id || ').'),
                        120, c.finished_at, false, true
                   FROM annotations_claim c WHERE c.project_id = %(p)s""", {"p": project.pk})
    with transaction.atomic():
        run_sql(f"""INSERT INTO annotations_review (submission_id, reviewer_id, kind, reviewer_role, score, marks,
                        reason, created_at)
                    SELECT s.id, (SELECT id FROM accounts_user WHERE email = '{PREFIX}-0@bench.local'), 'reviewer',
                           'lead', 3 + s.id %% 3, '{{}}'::jsonb, '', now()
                    FROM annotations_submission s WHERE s.project_id = %(p)s AND s.id %% 2 = 0""", {"p": project.pk})
    vacuum()
    return project


def baseline(project: Project) -> int:
    rows = 0
    with (tempfile.TemporaryFile() as out, _reading_cursor() as (cursor, _live),
          cursor.copy(BASELINE, {"project": project.pk}) as copy):
        write = out.write
        while data := copy.read():
            write(data)
            rows += 1
    return rows


def export(project: Project) -> int:
    spec = exports.export_spec(project=project, batch=None, format="dpo", options=exports.parse_options({}))
    with tempfile.TemporaryFile() as out:
        return exports.export_write(spec, out)


def best_of(repeat: int, fn, *args) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("The machine is shared with other work: compare the ratio, not the seconds.", flush=True)
    results = []
    try:
        for size in args.sizes:
            cleanup()
            start = time.perf_counter()
            project = seed(size)
            print(f"\n{size:,} submissions seeded in {time.perf_counter() - start:.1f} s", flush=True)
            baseline(project)  # warm the cache the same way for both
            base_times, export_times, rows = [], [], 0
            for _ in range(args.repeat):
                t, base_rows = best_of(1, baseline, project)
                base_times.append(t)
                t, rows = best_of(1, export, project)
                export_times.append(t)
            assert rows == base_rows, (rows, base_rows)
            base, exp = min(base_times), min(export_times)
            results.append((size, rows, base, exp, peak_rss_mib()))
            print(f"  rows exported (ties left out) {rows:12,}\n"
                  f"  baseline (bare COPY)          {base:9.2f} s  {rows / base:12,.0f} rows/s\n"
                  f"  dpo export                    {exp:9.2f} s  {rows / exp:12,.0f} rows/s\n"
                  f"  ratio export / baseline       {exp / base:9.2f}  (goal <= 2.00)\n"
                  f"  peak RSS of this process      {peak_rss_mib():9.1f} MiB", flush=True)
    finally:
        cleanup()
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"\nmemory: {first[4]:.1f} MiB at {first[0]:,} submissions, {last[4]:.1f} MiB at {last[0]:,} "
              f"({'flat' if last[4] <= first[4] * 1.1 + 5 else 'GROWS'})")
    worst = max(r[3] / r[2] for r in results)
    return 0 if worst <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
