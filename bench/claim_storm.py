"""Claim storm: the claim engine under concurrent claimers, against the bare claim statement.

Seeds a project with one open batch of N tasks and C groups of contractors (each contractor
holds the project's active-claim cap of five tasks, so every claim pays the per-contractor
checks a real one does), beside a finished project whose N submitted claims by the same
people give the claims table a realistic history (the planner sees a populated table, as
in production, not an empty one). Then three phases, each on the same fresh batch:

  service: C processes, each with its own database connection, claim through
      annotations.services.task_claim_next, every contractor up to the cap, until nothing
      is left;
  raw SQL: C psycopg processes drive the same claim as one raw SQL statement (the service's
      own claim statement: overlap, one claim per task and contractor, the active-claim cap,
      a pause, fair share), prepared, in autocommit, with none of the service around it: no
      Python checks, no advisory locks, no model objects;
  minimal: for reference, a stripped statement that only picks and counts a task and
      inserts the claim (no cap, pause or fair-share checks at all).

Every phase starts its processes together behind a barrier and is timed from the first
claim to the last. Prints claims/s for each, the ratio service/raw (the goal) and
service/minimal, and the duplicates found afterwards (tasks above their overlap, a
contractor twice on a task). Goal: ratio >= 0.5 at C = 16 with 0 duplicates. Everything
seeded is deleted at the end.

    make bench BENCH=claim_storm
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/claim_storm.py --tasks 20000 --concurrency 16
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

# Each contractor holds a realistic handful of tasks (the project's active-claim cap), so every
# phase pays the same per-contractor checks a real claim does; each process works through a
# queue of contractors until the batch is empty.
CLAIMS_PER_CONTRACTOR = 5

MINIMAL_CLAIM_SQL = """
WITH candidate AS (
    SELECT t.id, t.batch_id
    FROM projects_task t
    JOIN projects_batch b ON b.id = t.batch_id
    WHERE t.project_id = %(project)s
      AND t.claim_count < t.overlap
      AND b.status = 'open'
      AND NOT EXISTS (
          SELECT 1 FROM annotations_claim c
          WHERE c.task_id = t.id AND c.contractor_id = %(contractor)s
      )
    ORDER BY t.id
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED
), taken AS (
    UPDATE projects_task t SET claim_count = t.claim_count + 1
    FROM candidate WHERE t.id = candidate.id
    RETURNING t.id, t.batch_id
)
INSERT INTO annotations_claim
    (task_id, contractor_id, project_id, batch_id, status, claimed_at, deadline, active_seconds)
SELECT taken.id, %(contractor)s, %(project)s, taken.batch_id, 'active', %(now)s, %(deadline)s, 0
FROM taken
RETURNING id
"""


def _django():
    import django

    django.setup()
    from django.conf import settings

    # Measure the service as production runs it: `make bench` sets DEBUG for the dev
    # defaults, and DEBUG makes Django log every query.
    settings.DEBUG = False


# --- workers (module level so the 'spawn' start method can import them) --------------------


def service_worker(contractor_ids: list[int], project_id: int, barrier, results) -> None:
    _django()
    from django.db import connection

    from accounts.models import User
    from annotations.services import task_claim_next
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    people = list(User.objects.filter(pk__in=contractor_ids).order_by("pk"))
    connection.ensure_connection()
    barrier.wait()
    started = time.monotonic()
    claimed = 0
    for person in people:
        for _ in range(CLAIMS_PER_CONTRACTOR):
            if task_claim_next(contractor=person, project=project) is None:
                break
            claimed += 1
    results.put((claimed, started, time.monotonic()))
    connection.close()


def raw_worker(conninfo: str, statement: str, contractor_ids: list[int], project_id: int, barrier, results) -> None:
    import psycopg

    if statement == "service":
        _django()
        from annotations.services import claims

        sql = claims._CLAIM.sql
        settings = claims._PLAN_SETTINGS  # the service's claim runs with these off (its plan)
    else:
        sql = MINIMAL_CLAIM_SQL
        settings = ()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cursor = conn.cursor()
        for name in settings:
            cursor.execute(f"SET {name} = off")
        barrier.wait()
        started = time.monotonic()
        claimed = 0
        for contractor_id in contractor_ids:
            for _ in range(CLAIMS_PER_CONTRACTOR):
                now = datetime.now(UTC)
                params = {"project": project_id, "contractor": contractor_id, "max_active": CLAIMS_PER_CONTRACTOR,
                          "now": now, "deadline": now + timedelta(hours=1)}
                row = cursor.execute(sql, params, prepare=True).fetchone()
                if row is None or (statement == "service" and row[2] is None):
                    break
                claimed += 1
        results.put((claimed, started, time.monotonic()))


# --- driver -------------------------------------------------------------------------------


def conninfo_from_settings() -> str:
    from django.db import connection
    from psycopg.conninfo import make_conninfo

    db = connection.settings_dict
    params = {"dbname": db["NAME"], "user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"],
              "port": str(db["PORT"] or "")}
    return make_conninfo(**{k: v for k, v in params.items() if v})


def seed(*, tasks: int, concurrency: int, overlap: int):
    from django.db import transaction

    from accounts.models import Role, User
    from annotations.models import Claim
    from projects.models import Batch, Project, Task

    tag = uuid.uuid4().hex[:10]
    # Enough contractors per process that nobody runs out of tasks they have not yet held.
    per_process = 2 * max(1, -(-tasks * overlap // (CLAIMS_PER_CONTRACTOR * concurrency)))
    with transaction.atomic():
        project = Project.objects.create(
            name=f"Claim storm {tag}", slug=f"claim-storm-{tag}", task_type="pairwise",
            status=Project.Status.ACTIVE, overlap=overlap, max_active_claims=CLAIMS_PER_CONTRACTOR,
            claim_minutes=60,
        )
        batch = Batch.objects.create(project=project, name="storm", status=Batch.Status.OPEN)
        people = User.objects.bulk_create(
            User(email=f"storm-{tag}-{i}@bench.invalid", role=Role.CONTRACTOR, password="!")
            for i in range(concurrency * per_process)
        )
        payload = {"prompt": "Which answer is better?", "response_a": "This one.", "response_b": "That one."}
        for start in range(0, tasks, 5_000):
            Task.objects.bulk_create(
                Task(batch=batch, project=project, external_id=f"storm-{i}", payload=payload, overlap=overlap)
                for i in range(start, min(tasks, start + 5_000))
            )
        # A finished project: one submitted claim per task, spread over the same people.
        history = Project.objects.create(
            name=f"Claim storm history {tag}", slug=f"claim-storm-history-{tag}", task_type="pairwise",
            status=Project.Status.ACTIVE, overlap=1, max_active_claims=CLAIMS_PER_CONTRACTOR, claim_minutes=60,
        )
        done = Batch.objects.create(project=history, name="history", status=Batch.Status.EXHAUSTED)
        now = datetime.now(UTC)
        for start in range(0, tasks, 5_000):
            old = Task.objects.bulk_create(
                Task(batch=done, project=history, external_id=f"history-{i}", payload=payload, overlap=1,
                     claim_count=1, submitted_count=1)
                for i in range(start, min(tasks, start + 5_000))
            )
            Claim.objects.bulk_create(
                Claim(task=task, contractor=people[(start + i) % len(people)], project=history, batch=done,
                      status=Claim.Status.SUBMITTED, claimed_at=now - timedelta(days=1), deadline=now,
                      finished_at=now - timedelta(hours=23), active_seconds=300)
                for i, task in enumerate(old)
            )
    groups = [[p.pk for p in people[i * per_process:(i + 1) * per_process]] for i in range(concurrency)]
    return project, batch, groups, history


def vacuum(conninfo: str) -> None:
    """Clear the dead rows a phase leaves behind, so the next phase starts on equal terms."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE projects_task")
        conn.execute("VACUUM ANALYZE annotations_claim")


def run_phase(ctx, target, args_for, concurrency: int) -> tuple[int, float]:
    barrier = ctx.Barrier(concurrency)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(i), barrier, results)) for i in range(concurrency)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=1800) for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a claimer process failed (exit code {proc.exitcode})")
    claimed = sum(o[0] for o in outcomes)
    elapsed = max(o[2] for o in outcomes) - min(o[1] for o in outcomes)
    return claimed, elapsed


def duplicates(batch_id: int) -> tuple[int, int]:
    """(tasks holding more live claims than their overlap, contractor-task pairs claimed twice)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM projects_task t
               JOIN (SELECT task_id, count(*) AS n FROM annotations_claim
                     WHERE batch_id = %s AND status IN ('active', 'submitted') GROUP BY task_id) c
                 ON c.task_id = t.id
               WHERE c.n > t.overlap""",
            [batch_id],
        )
        over = cursor.fetchone()[0]
        cursor.execute(
            """SELECT count(*) FROM (SELECT 1 FROM annotations_claim WHERE batch_id = %s
                                     GROUP BY task_id, contractor_id HAVING count(*) > 1) twice""",
            [batch_id],
        )
        return over, cursor.fetchone()[0]


def reset(batch_id: int) -> None:
    from django.db import transaction

    from annotations.models import Claim
    from projects.models import Task

    with transaction.atomic():
        Claim.objects.filter(batch_id=batch_id).delete()
        Task.objects.filter(batch_id=batch_id).update(claim_count=0, submitted_count=0)


def cleanup(projects, groups) -> None:
    from django.db import transaction

    from accounts.models import User
    from annotations.models import Claim
    from projects.models import Batch, Project, Task

    with transaction.atomic():
        Claim.objects.filter(project__in=projects).delete()
        Task.objects.filter(project__in=projects).delete()
        Batch.objects.filter(project__in=projects).delete()
        Project.objects.filter(pk__in=[p.pk for p in projects]).delete()
        User.objects.filter(pk__in=[pk for group in groups for pk in group]).delete()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks in the batch (default 20000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent claimer processes (default 16)")
    parser.add_argument("--overlap", type=int, default=1, help="contractors needed per task (default 1)")
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.concurrency < 1 or args.overlap < 1:
        parser.error("--tasks, --concurrency and --overlap must be at least 1")
    if args.overlap > args.concurrency:
        parser.error("--overlap cannot exceed --concurrency (each task needs that many distinct claimers)")

    _django()
    from django.db import connection

    conninfo = conninfo_from_settings()
    ctx = mp.get_context("spawn")
    slots = args.tasks * args.overlap
    print(f"claim_storm: {args.tasks} tasks x overlap {args.overlap} = {slots} claims, "
          f"{args.concurrency} concurrent processes, database {connection.settings_dict['NAME']}", flush=True)

    project, batch, groups, history = seed(tasks=args.tasks, concurrency=args.concurrency, overlap=args.overlap)
    phases = [
        ("service", service_worker, lambda i: (groups[i], project.pk)),
        ("raw SQL", raw_worker, lambda i: (conninfo, "service", groups[i], project.pk)),
        ("minimal", raw_worker, lambda i: (conninfo, "minimal", groups[i], project.pk)),
    ]
    results = {}
    try:
        for name, worker, args_for in phases:
            reset(batch.pk)
            vacuum(conninfo)
            claims, seconds = run_phase(ctx, worker, args_for, args.concurrency)
            results[name] = (claims, seconds, claims / seconds, duplicates(batch.pk))
    finally:
        connection.close()
        cleanup([project, history], groups)

    ratio = results["service"][2] / results["raw SQL"][2]
    width = 52
    print("-" * width)
    print(f"{'':14}{'claims':>9}{'seconds':>10}{'claims/s':>11}{'dupes':>8}")
    for name, (claims, seconds, rate, (over, twice)) in results.items():
        print(f"{name:14}{claims:>9}{seconds:>10.2f}{rate:>11.0f}{over + twice:>8}")
    print("-" * width)
    print(f"ratio service/raw: {ratio:.2f} (goal >= 0.50); "
          f"service/minimal: {results['service'][2] / results['minimal'][2]:.2f}")
    print("duplicates: " + "; ".join(f"{name} {over} tasks over overlap, {twice} contractor twice"
                                     for name, (_, _, _, (over, twice)) in results.items()))
    complete = all(claims == slots for claims, _, _, _ in results.values())
    if not complete:
        print(f"INCOMPLETE: expected {slots} claims in each phase")
    ok = complete and not any(sum(dupes) for _, _, _, dupes in results.values())
    print(f"result: {'OK' if ok and ratio >= 0.5 else 'BELOW GOAL' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
