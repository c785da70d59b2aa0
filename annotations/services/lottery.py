"""The lottery: contractors opt in during an announced reservation window, and at release the
batch's tasks are drawn evenly and at random among them, once. Each win is a reservation: the
task's slot is held for its winner for the batch's reservation period (default 24 hours, long
enough for every time zone to wake up), and the claim time starts only when the winner opens it
(`claims.claim_open`). A winner can hand back what they won't do (`claims.claim_release`); what
is not opened by the end lapses (`claims.claims_expire_overdue`) and goes back, with what nobody
won, under the batch's fallback policy (fair share unless the admin chose first come); the
people who opted in are told (`lottery_notify_lapsed`). Opting in records the person's demand.

The draw is one transaction made of set-based statements, never a loop per task:

1. a conditional UPDATE opens the batch (scheduled -> open, allocated_at, seed:
   `projects.services.batch_open_for_draw`) and so decides which caller draws: a second trigger,
   even at the same moment, finds the batch no longer scheduled and does nothing;
2. one UPDATE gives every entry its quota: what the person asked for, within the
   project's active-claim cap (minus what they already hold open there: active claims and
   reservations), the batch's fixed fair-share cap if it has one (a derived cap is for what is
   left after the draw) and the number of tasks (distinct tasks per person), or 0 if they may no
   longer work on it;
3. one INSERT ... SELECT creates the reservations and, in the same statement, bumps each task's
   claim_count and records what each entry got.

How the draw pairs people with tasks: participants are ranked by md5(seed:contractor id);
each one's quota becomes slots 1..q; slots are taken round by round (all first slots in
rank order, then all second slots, ...) until the free task slots run out, which is what
makes the split even (no two people differ by more than one unless their own request or
cap stopped them). The chosen slots, grouped per person, are laid against the task copies
ordered copy-major (every task's first free slot, then every task's second ...), so one
person's consecutive slots land on distinct tasks and each task gets distinct people.
The unique (task, contractor) index backs that rule in the schema; the draw depends only
on the seed, the entries' quotas and the tasks, so `lottery_replay` reproduces it.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import notifications_create_each
from projects.models import Batch
from projects.selectors import contractor_is_qualified
from projects.services import batch_open_for_draw, fair_share_caps_derive
from taskhub.formats import local_time
from taskhub.outbox import enqueue

from .. import tasks
from ..errors import LotteryError
from ..models import BatchDemand, Claim, LotteryAllocation, LotteryEntry
from .claims import PROJECT_CLAIMS_LOCK_NAMESPACE

S = Batch.Status
P = Batch.Policy

# `cfg` is MATERIALIZED: inlined, its count of open tasks would be evaluated again for every entry
# (5,000 entries over a 100,000-task batch: 50 s instead of 10 ms).
_QUOTA_SQL = """
WITH cfg AS MATERIALIZED (
    SELECT b.id, CASE WHEN b.fair_share_cap_derived THEN NULL ELSE b.fair_share_cap END AS fair_share_cap,
           b.lottery_max_per_person, p.max_active_claims, p.id AS project_id,
           (SELECT count(*) FROM projects_task t WHERE t.batch_id = b.id AND t.claim_count < t.overlap) AS open_tasks
    FROM projects_batch b JOIN projects_project p ON p.id = b.project_id
    WHERE b.id = %(batch)s
)
UPDATE annotations_lotteryentry e
SET quota = CASE
    WHEN projects_contractor_is_eligible(e.contractor_id, cfg.project_id)
    THEN GREATEST(0, LEAST(
        e.requested,
        COALESCE(cfg.lottery_max_per_person, e.requested),
        cfg.max_active_claims - (
            SELECT count(*) FROM annotations_claim c
            WHERE c.contractor_id = e.contractor_id AND c.project_id = cfg.project_id
              AND c.status IN ('active', 'reserved')
        ),
        COALESCE(cfg.fair_share_cap, e.requested),
        cfg.open_tasks
    ))
    ELSE 0 END
FROM cfg
WHERE e.batch_id = cfg.id
"""

# The draw itself: (task, contractor, k) rows, k being the person's 1st, 2nd, ... task.
# `{free}` is the number of free slots of task t: `t.overlap - t.claim_count` when drawing,
# `t.overlap` when replaying (a scheduled batch has never handed out a claim).
_PLAN_SQL = """
entry AS (
    SELECT e.contractor_id, e.quota,
           row_number() OVER (ORDER BY md5(%(seed)s::text || ':' || e.contractor_id::text), e.contractor_id) AS rnk
    FROM annotations_lotteryentry e
    WHERE e.batch_id = %(batch)s AND e.quota > 0
), copy AS (
    SELECT t.id AS task_id, row_number() OVER (ORDER BY c.n, t.id) AS pos
    FROM projects_task t CROSS JOIN LATERAL generate_series(1, {free}) AS c(n)
    WHERE t.batch_id = %(batch)s
), chosen AS (
    SELECT entry.contractor_id, entry.rnk, k.n AS k
    FROM entry CROSS JOIN LATERAL generate_series(1, entry.quota) AS k(n)
    ORDER BY k.n, entry.rnk
    LIMIT (SELECT count(*) FROM copy)
), run AS (
    SELECT contractor_id, k, row_number() OVER (ORDER BY rnk, k) AS pos FROM chosen
), plan AS (
    SELECT copy.task_id, run.contractor_id, run.k FROM run JOIN copy ON copy.pos = run.pos
)
"""

# The reservations are the claim engine's own rows (status 'reserved', no deadline until opened);
# the tasks' claim_count is the counter it keeps on every claim (see annotations/services/claims.py),
# bumped in the same statement.
_ALLOCATE_SQL = (
    "WITH "
    + _PLAN_SQL.format(free="t.overlap - t.claim_count")
    + """
, inserted AS (
    INSERT INTO annotations_claim
        (task_id, contractor_id, project_id, batch_id, status, source, claimed_at, reserved_until, active_seconds)
    SELECT plan.task_id, plan.contractor_id, %(project)s, %(batch)s, 'reserved', 'draw', %(now)s,
           %(reserved_until)s, 0
    FROM plan
    ON CONFLICT (task_id, contractor_id) DO NOTHING
    RETURNING task_id, contractor_id
), counted AS (
    UPDATE projects_task t SET claim_count = t.claim_count + n.n
    FROM (SELECT task_id, count(*) AS n FROM inserted GROUP BY task_id) AS n
    WHERE t.id = n.task_id
    RETURNING t.id
), got AS (
    UPDATE annotations_lotteryentry e SET allocated = COALESCE(n.n, 0)
    FROM annotations_lotteryentry e2
    LEFT JOIN (SELECT contractor_id, count(*) AS n FROM inserted GROUP BY contractor_id) AS n
        ON n.contractor_id = e2.contractor_id
    WHERE e.id = e2.id AND e2.batch_id = %(batch)s
    RETURNING e.requested
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM copy), (SELECT count(*) FROM got),
       (SELECT COALESCE(sum(requested), 0) FROM got), (SELECT count(*) FROM counted)
"""
)

_REPLAY_SQL = "WITH " + _PLAN_SQL.format(free="t.overlap") + "SELECT task_id, contractor_id FROM plan ORDER BY 1, 2"


# --- Opting in and out ----------------------------------------------------------------------


def _batch_for_entry(batch_id: int) -> Batch:
    """The batch, read under a share lock: the draw's UPDATE waits for us (and we for it),
    so an entry is either in the draw or refused, never silently left out."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM projects_batch WHERE id = %s FOR SHARE", [batch_id])
        if cursor.fetchone() is None:
            raise LotteryError("No such batch.", code="not_found")
    return Batch.objects.select_related("project", "project__qualification").get(pk=batch_id)


def _check_window(batch: Batch, contractor, now: datetime) -> None:
    if batch.release_policy != P.LOTTERY:
        raise LotteryError(f"{batch.name} is not released by lottery, so there is nothing to opt in to.",
                           code="not_lottery")
    if batch.status != S.SCHEDULED or batch.allocated_at is not None or now >= batch.release_at:
        raise LotteryError(
            f"The reservation window for {batch.project.name} · {batch.name} closed at "
            f"{local_time(batch.release_at or now, contractor)}; the lottery has been drawn.",
            code="lottery_closed",
        )
    if batch.reservation_opens_at and now < batch.reservation_opens_at:
        raise LotteryError(
            f"The reservation window for {batch.project.name} · {batch.name} opens at "
            f"{local_time(batch.reservation_opens_at, contractor)}.",
            code="lottery_not_open",
        )


def lottery_opt_in(*, batch: Batch, contractor, requested: int | None = None,
                   now: datetime | None = None) -> LotteryEntry:
    """Join the batch's lottery, asking for up to `requested` tasks (default: as many as allowed).
    Opting in again changes the request."""
    now = now or timezone.now()
    if contractor.role != Role.CONTRACTOR or not contractor.is_active:
        raise LotteryError("Only contractors can join a lottery.", code="not_contractor")
    with transaction.atomic():
        batch = _batch_for_entry(batch.pk)
        project = batch.project
        _check_window(batch, contractor, now)
        if project.status != project.Status.ACTIVE:
            raise LotteryError(f"{project.name} is not open for work, so its lottery is closed to you.",
                               code="not_eligible")
        if not contractor_is_qualified(user=contractor, project=project):
            raise LotteryError(
                f"You are not eligible for {project.name}: it needs the qualification "
                f"{project.qualification.name}. Pass it first, then opt in.",
                code="not_eligible",
            )
        limit = batch.lottery_request_limit
        if requested is None:
            requested = limit
        if isinstance(requested, bool) or not isinstance(requested, int) or not 1 <= requested <= limit:
            raise LotteryError(f"Ask for between 1 and {limit} tasks.", code="invalid_request", field="requested")
        entry, _ = LotteryEntry.objects.update_or_create(
            batch=batch, contractor=contractor, defaults={"requested": requested}
        )
        _demand_record(batch_id=batch.pk, contractor_id=contractor.pk, now=now)
    return entry


_DEMAND_SQL = """
INSERT INTO annotations_batchdemand (batch_id, contractor_id, reason, recorded_at)
VALUES (%(batch)s, %(contractor)s, 'opted_in', %(now)s)
ON CONFLICT (batch_id, contractor_id) DO NOTHING
"""


def _demand_record(*, batch_id: int, contractor_id: int, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_DEMAND_SQL, {"batch": batch_id, "contractor": contractor_id, "now": now})


def lottery_opt_out(*, batch: Batch, contractor, now: datetime | None = None) -> None:
    """Leave the lottery while its window is open."""
    now = now or timezone.now()
    with transaction.atomic():
        batch = _batch_for_entry(batch.pk)
        _check_window(batch, contractor, now)
        deleted, _ = LotteryEntry.objects.filter(batch=batch, contractor=contractor).delete()
        # Leaving is no longer wanting work from it (unless they had asked for work otherwise).
        BatchDemand.objects.filter(batch=batch, contractor=contractor, reason=BatchDemand.Reason.OPTED_IN).delete()
    if not deleted:
        raise LotteryError(f"You had not opted in to the {batch.name} lottery.", code="not_in_lottery")


# --- The draw -----------------------------------------------------------------------------


def lottery_batches_due(*, now: datetime | None = None) -> list[int]:
    """Scheduled lottery batches whose release time has come (the beat task draws each)."""
    now = now or timezone.now()
    return list(
        Batch.objects.filter(status=S.SCHEDULED, release_policy=P.LOTTERY, release_at__lte=now,
                             allocated_at__isnull=True).order_by("release_at").values_list("id", flat=True)
    )


def lottery_allocate(*, batch_id: int, seed: int | None = None, now: datetime | None = None
                     ) -> LotteryAllocation | None:
    """Draw the lottery and open the batch, exactly once. Returns None if it was already drawn
    (or the batch is not a scheduled lottery). `seed` is for audits and tests; by default a
    fresh random one is drawn and recorded."""
    now = now or timezone.now()
    seed = secrets.randbelow(2**62) if seed is None else int(seed)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        project_id = batch_open_for_draw(batch_id=batch_id, seed=seed, now=now)
        if project_id is None:
            return None
        # Wait for claims in flight on this project to commit, and hold new ones back until
        # we commit, so the active-claim caps used below are exact.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PROJECT_CLAIMS_LOCK_NAMESPACE, project_id])
        fair_share_caps_derive(batch_ids=[batch_id])
        batch = Batch.objects.select_related("project").get(pk=batch_id)
        # generate_series() row estimates make the planner expect millions of rows, and JIT
        # compiling for that costs more than the draw itself.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_QUOTA_SQL, {"batch": batch_id})
        cursor.execute(
            _ALLOCATE_SQL,
            {"batch": batch_id, "project": project_id, "seed": seed, "now": now,
             "reserved_until": now + batch.reservation_period},
        )
        created, slots, participants, requested_total, _tasks = cursor.fetchone()
        allocation = LotteryAllocation.objects.create(
            batch=batch, seed=seed, participants=participants, requested_total=requested_total,
            slots_total=slots, claims_created=created, fair_share_cap=batch.fair_share_cap,
            duration_ms=int((time.perf_counter() - started) * 1000), allocated_at=now,
        )
        enqueue(tasks.lottery_notify_results, batch_id=batch_id)
    return allocation


def lottery_replay(*, batch_id: int, seed: int | None = None) -> list[tuple[int, int]]:
    """The (task, contractor) pairs the draw gives for `seed` (by default the recorded one),
    from the recorded quotas. For an audit: equal to the lottery's claims for the same seed."""
    batch = Batch.objects.get(pk=batch_id)
    if seed is None:
        if batch.lottery_seed is None:
            raise LotteryError("This lottery has not been drawn yet.", code="lottery_not_drawn")
        seed = batch.lottery_seed
    with connection.cursor() as cursor:
        cursor.execute(_REPLAY_SQL, {"batch": batch_id, "seed": int(seed)})
        return [tuple(row) for row in cursor.fetchall()]


def _result(entry: LotteryEntry, batch_name: str, fallback: str) -> tuple[int, str, str]:
    if entry.allocated:
        tasks_word = "task" if entry.allocated == 1 else "tasks"
        return (entry.contractor_id, f"You got {entry.allocated} {tasks_word} in the {batch_name} lottery",
                f"You asked for {entry.requested} and got {entry.allocated}. They are reserved for you until "
                "{at} (see \"Reserved for you\" on your dashboard): open each one when you start it, the time to "
                "finish it starts then. Hand back any you won't do.")
    why = " (you were at your claim cap or no longer eligible)" if entry.quota == 0 else ""
    return (entry.contractor_id, f"No tasks for you in the {batch_name} lottery",
            f"You asked for {entry.requested} but the draw did not reach you this time{why}. "
            f"Tasks left over are handed out {fallback} from now on.")


def lottery_notify_results(*, batch_id: int) -> int:
    """Tell each participant what they got, in one INSERT (repeat-safe by key)."""
    batch = Batch.objects.select_related("project").filter(pk=batch_id, allocated_at__isnull=False).first()
    if batch is None:
        return 0
    fallback = "first come, first served" if batch.fallback_policy == P.FIRST_COME else (
        f"by fair share (at most {batch.fair_share_cap} per person)" if batch.fair_share_cap else "by fair share")
    name = f"{batch.project.name} · {batch.name}"
    entries = LotteryEntry.objects.filter(batch=batch, allocated__isnull=False).select_related("contractor").only(
        "contractor_id", "requested", "quota", "allocated", "contractor__timezone")
    until = batch.released_at + batch.reservation_period
    messages = []
    for entry in entries.iterator(chunk_size=2000):
        user_id, title, body = _result(entry, name, fallback)
        messages.append((user_id, title, body.replace("{at}", local_time(until, entry.contractor))))
    return notifications_create_each(
        messages=messages, kind="lottery_result", url=reverse("work:dashboard"), key=f"lottery:{batch.pk}",
    )


def lottery_notify_lapsed(*, batch_id: int) -> int:
    """Tell the people who opted in that reservations lapsed and their tasks are back: each winner
    whose wins lapsed, and everyone else who opted in (where to find them, and the cap now).
    One INSERT, keyed per batch: a repeat, or a second sweep, tells nobody twice."""
    batch = Batch.objects.select_related("project").filter(pk=batch_id, allocated_at__isnull=False).first()
    if batch is None:
        return 0
    lapsed = dict(
        Claim.objects.filter(batch=batch, status=Claim.Status.LAPSED).order_by()
        .values_list("contractor_id").annotate(n=Count("id"))
    )
    if not lapsed:
        return 0
    back = sum(lapsed.values())
    name = f"{batch.project.name} · {batch.name}"
    if batch.fallback_policy == P.FAIR_SHARE:
        how = f"by fair share (at most {batch.fair_share_cap} per person from this batch for now)"
    else:
        how = "first come, first served"
    messages = []
    for contractor_id in LotteryEntry.objects.filter(batch=batch).values_list("contractor_id", flat=True):
        mine = lapsed.get(contractor_id, 0)
        if mine:
            word = "task" if mine == 1 else "tasks"
            messages.append((contractor_id, f"Your reservation in the {name} lottery ended",
                             f"{mine} reserved {word} were not started in time and went back to the others who "
                             f"opted in, handed out {how}."))
        else:
            word = "task is" if back == 1 else "tasks are"
            messages.append((contractor_id, f"{back} reserved {word} back in {name}",
                             f"Reservations nobody started in time have lapsed; they are handed out {how}. "
                             "Start working on the project to take one."))
    return notifications_create_each(messages=messages, kind="lottery_returned", url=reverse("work:dashboard"),
                                     key=f"lottery-returned:{batch.pk}")
