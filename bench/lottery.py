"""Lottery allocation: 100,000 tasks (overlap 1) drawn among 5,000 participants.

Seeds one project with two batches of N tasks each and P contractors:

  baseline: a bare INSERT ... SELECT of N claim rows into annotations_claim (task i paired
      with contractor i mod P, no checks, no counters), committed;
  lottery: the other batch, scheduled as a lottery with every contractor opted in asking
      for ceil(N / P) tasks, drawn through annotations.services.lottery.lottery_allocate
      (the conditional UPDATE that opens the batch once, the quota UPDATE, the draw as one
      INSERT ... SELECT with the claim_count and entry updates, the audit row), committed.

Both write the same number of claim rows into the same table with the same indexes, in the
same run on the same database; the lottery runs second, so it writes into the larger
table. Prints both times and the ratio lottery / baseline (goal: <= 2x), checks the draw
(N claims, none over overlap, no one twice on a task, everyone within one of each other)
and times the results fan-out (one INSERT of P notifications, through accounts.services) separately.
Runs 3 rounds on freshly seeded batches (the machine may be busy) and prints the median
ratio. Everything seeded is deleted at the end of each round.

    make bench BENCH=lottery
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/lottery.py --tasks 100000 --participants 5000
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

BASELINE_SQL = """
INSERT INTO annotations_claim
    (task_id, contractor_id, project_id, batch_id, status, claimed_at, deadline, active_seconds)
SELECT t.id, u.id, %(project)s, %(batch)s, 'active', %(now)s, %(deadline)s, 0
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM projects_task WHERE batch_id = %(batch)s) AS t
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM accounts_user WHERE email LIKE %(emails)s) AS u
    ON u.rn = t.rn %% %(participants)s
"""

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Manila", "America/Sao_Paulo",
         "Africa/Nairobi", "Asia/Tokyo"]


def seed(cursor, *, tag: str, tasks: int, participants: int, per_person: int):
    from django.utils import timezone

    from accounts.models import User
    from bench._seed import insert_select
    from projects.models import Batch, Project

    now = timezone.now()
    batches, projects = [], []
    # Two projects, so the baseline's claims do not count against the lottery's active-claim caps.
    for name, policy, status in (("baseline", "first_come", "open"), ("lottery", "lottery", "scheduled")):
        # Through the ORM, so every column the model has gets its default (a raw INSERT would miss new ones).
        project = Project.objects.create(
            name=f"Bench lottery {tag} {name}", slug=f"bench-lottery-{tag}-{name}", task_type="pairwise", overlap=1,
            max_active_claims=min(32767, per_person + 5), claim_minutes=60, status=Project.Status.ACTIVE,
            review_sample_rate=100,
        ).pk
        projects.append(project)
        batch = Batch.objects.create(project_id=project, name=name, status=status, release_policy=policy,
                                     release_at=now, reservation_opens_at=now).pk
        batches.append(batch)
        cursor.execute(
            """INSERT INTO projects_task (batch_id, project_id, external_id, payload, overlap, claim_count,
                   submitted_count, created_at)
               SELECT %s, %s, 't-' || i, jsonb_build_object('prompt', 'Prompt ' || i, 'response_a', 'A',
                      'response_b', 'B'), 1, 0, 0, %s
               FROM generate_series(1, %s) AS i""",
            [batch, project, now, tasks],
        )
    insert_select(User, {
        "password": "'!'", "email": "'bench-' || %(tag)s || '-' || i || '@example.com'",
        "display_name": "'Bench ' || i", "role": "'contractor'",
        "timezone": "(%(zones)s::text[])[1 + i %% %(n_zones)s]",
        "is_active": "true", "date_joined": "%(now)s",
    }, "generate_series(1, %(participants)s) AS i",
        {"tag": tag, "zones": ZONES, "n_zones": len(ZONES), "now": now, "participants": participants})
    cursor.execute(
        """INSERT INTO annotations_lotteryentry (batch_id, contractor_id, requested, created_at, updated_at)
           SELECT %s, id, %s, %s, %s FROM accounts_user WHERE email LIKE %s""",
        [batches[1], per_person, now, now, f"bench-{tag}-%"],
    )
    return projects[0], batches[0], batches[1]


def cleanup(cursor, tag: str) -> None:
    cursor.execute("SELECT id FROM projects_project WHERE slug LIKE %s", [f"bench-lottery-{tag}-%"])
    rows = cursor.fetchall()
    users = "SELECT id FROM accounts_user WHERE email LIKE %s"
    pattern = f"bench-{tag}-%"
    # What the results fan-out queued by email, then the notifications themselves.
    cursor.execute(f"DELETE FROM accounts_digestitem WHERE user_id IN ({users})", [pattern])
    cursor.execute(f"DELETE FROM accounts_outgoingemail WHERE user_id IN ({users})", [pattern])
    cursor.execute(f"DELETE FROM accounts_notification WHERE user_id IN ({users})", [pattern])
    for (project,) in rows:
        cursor.execute("DELETE FROM annotations_claim WHERE project_id = %s", [project])
        cursor.execute("DELETE FROM annotations_lotteryallocation WHERE batch_id IN "
                       "(SELECT id FROM projects_batch WHERE project_id = %s)", [project])
        cursor.execute("DELETE FROM annotations_lotteryentry WHERE batch_id IN "
                       "(SELECT id FROM projects_batch WHERE project_id = %s)", [project])
        cursor.execute("DELETE FROM projects_task WHERE project_id = %s", [project])
        cursor.execute("DELETE FROM projects_batch WHERE project_id = %s", [project])
        cursor.execute("DELETE FROM projects_project WHERE id = %s", [project])
    cursor.execute("DELETE FROM accounts_user WHERE email LIKE %s", [pattern])


def vacuum(tables) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    settings.DEBUG = False  # no query logging while measuring
    from annotations import tasks as annotation_tasks

    # The results fan-out is timed on its own below, not enqueued to a worker from here.
    annotation_tasks.lottery_notify_results.delay = lambda **kwargs: None

    per_person = math.ceil(args.tasks / args.participants)
    print(f"lottery: {args.tasks:,} tasks (overlap 1), {args.participants:,} participants asking for "
          f"{per_person} each; {args.rounds} rounds, each on freshly seeded batches")
    ratios, failures = [], 0
    for round_no in range(1, args.rounds + 1):
        tag = uuid.uuid4().hex[:8]
        try:
            ratio, ok = one_round(args, tag, per_person, round_no)
            ratios.append(ratio)
            failures += not ok
        finally:
            with transaction.atomic(), connection.cursor() as cursor:
                cleanup(cursor, tag)
            vacuum(["annotations_claim", "projects_task", "accounts_user", "annotations_lotteryentry",
                    "accounts_notification", "accounts_outgoingemail", "accounts_digestitem"])
    median = statistics.median(ratios)
    print(f"median ratio lottery / baseline over {len(ratios)} rounds: {median:.2f}x (goal <= 2x) -> "
          f"{'OK' if median <= 2 else 'OVER GOAL'}")
    return 1 if failures else 0


def one_round(args, tag: str, per_person: int, round_no: int) -> tuple[float, bool]:
    from django.db import connection, transaction
    from django.utils import timezone

    from annotations.services import lottery

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        project, baseline_batch, lottery_batch = seed(cursor, tag=tag, tasks=args.tasks,
                                                      participants=args.participants, per_person=per_person)
    vacuum(["projects_task", "accounts_user", "annotations_lotteryentry", "annotations_claim", "projects_batch"])
    print(f"round {round_no}: seeded in {time.perf_counter() - started:.1f} s")

    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, {"project": project, "batch": baseline_batch, "now": now,
                                      "deadline": now, "emails": f"bench-{tag}-%",
                                      "participants": args.participants})
        baseline_rows = cursor.rowcount
    baseline = time.perf_counter() - started
    vacuum(["annotations_claim"])

    started = time.perf_counter()
    allocation = lottery.lottery_allocate(batch_id=lottery_batch)
    drawn = time.perf_counter() - started

    started = time.perf_counter()
    notified = lottery.lottery_notify_results(batch_id=lottery_batch)
    fan_out = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), count(DISTINCT (task_id, contractor_id)) FROM annotations_claim
               WHERE batch_id = %s""", [lottery_batch])
        claims, distinct_pairs = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM projects_task WHERE batch_id = %s AND claim_count <> 1",
                       [lottery_batch])
        (unfilled,) = cursor.fetchone()
        cursor.execute("""SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM annotations_claim
                          WHERE batch_id = %s GROUP BY contractor_id) AS per""", [lottery_batch])
        least, most = cursor.fetchone()

    ratio = drawn / baseline
    print(f"  baseline INSERT ... SELECT of {baseline_rows:,} claim rows: {baseline * 1000:,.0f} ms")
    print(f"  lottery allocation of {allocation.claims_created:,} claims:        {drawn * 1000:,.0f} ms "
          f"(before commit {allocation.duration_ms:,} ms; seed {allocation.seed})")
    print(f"  ratio lottery / baseline: {ratio:.2f}x")
    print(f"  results fan-out: {notified:,} notifications in {fan_out * 1000:,.0f} ms")
    print(f"  check: {claims:,} claims, {distinct_pairs:,} distinct (task, contractor), {unfilled} tasks not "
          f"at overlap, per person min {least} max {most}")
    ok = (claims == distinct_pairs == args.tasks and unfilled == 0 and most - least <= 1
          and baseline_rows == args.tasks)
    if not ok:
        print("  CHECK FAILED")
    return ratio, ok


if __name__ == "__main__":
    sys.exit(main())
