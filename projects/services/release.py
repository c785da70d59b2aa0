"""Fair release: scheduling choices, the lottery (opt in, opt out, allocation) and its notices.

The allocation is one transaction made of set-based statements, never a loop per task:

1. a conditional UPDATE opens the batch (scheduled -> open, allocated_at, seed) and so
   decides which caller allocates: a second trigger, even at the same moment, finds the
   batch no longer scheduled and does nothing;
2. one UPDATE gives every entry its quota: what the person asked for, within the
   project's active-claim cap (minus claims already held), the batch's fair-share cap and
   the number of tasks (distinct tasks per person), or 0 if they are no longer eligible;
3. one INSERT ... SELECT creates the claims and, in the same statement, bumps each task's
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
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import notifications_unread_forget
from taskhub.errors import DomainError

from ..errors import BatchStateError
from ..models import Batch, LotteryAllocation, LotteryEntry
from ..selectors import contractor_is_qualified
from .batches import batch_schedule, fair_share_caps_derive

S = Batch.Status
P = Batch.Policy


class LotteryError(DomainError):
    code = "lottery"

_OPEN_FOR_DRAW_SQL = """
UPDATE projects_batch
SET status = 'open', released_at = %(now)s, allocated_at = %(now)s, lottery_seed = %(seed)s
WHERE id = %(batch)s AND status = 'scheduled' AND release_policy = 'lottery' AND allocated_at IS NULL
RETURNING project_id
"""

_QUOTA_SQL = """
WITH cfg AS (
    SELECT b.id, b.fair_share_cap, b.lottery_max_per_person, p.max_active_claims, p.qualification_id,
           p.status AS project_status, p.id AS project_id,
           (SELECT count(*) FROM projects_task t WHERE t.batch_id = b.id AND t.claim_count < t.overlap) AS open_tasks
    FROM projects_batch b JOIN projects_project p ON p.id = b.project_id
    WHERE b.id = %(batch)s
), held AS (
    SELECT c.contractor_id, count(*) AS n
    FROM annotations_claim c
    WHERE c.project_id = (SELECT project_id FROM cfg) AND c.status = 'active'
      AND c.contractor_id IN (SELECT contractor_id FROM projects_lotteryentry WHERE batch_id = %(batch)s)
    GROUP BY c.contractor_id
)
UPDATE projects_lotteryentry e
SET quota = CASE
    WHEN u.is_active AND u.role = 'contractor' AND cfg.project_status = 'active'
         AND (cfg.qualification_id IS NULL OR EXISTS (
             SELECT 1 FROM projects_qualification q
             WHERE q.contractor_id = u.id AND q.project_id = cfg.qualification_id))
    THEN GREATEST(0, LEAST(
        e.requested,
        COALESCE(cfg.lottery_max_per_person, e.requested),
        cfg.max_active_claims - COALESCE(held.n, 0),
        COALESCE(cfg.fair_share_cap, e.requested),
        cfg.open_tasks
    ))
    ELSE 0 END
FROM cfg, accounts_user u LEFT JOIN held ON held.contractor_id = u.id
WHERE e.batch_id = cfg.id AND u.id = e.contractor_id
"""

# The draw itself: (task, contractor, k) rows, k being the person's 1st, 2nd, ... task.
# `{free}` is the number of free slots of task t: `t.overlap - t.claim_count` when drawing,
# `t.overlap` when replaying (a scheduled batch has never handed out a claim).
_PLAN_SQL = """
entry AS (
    SELECT e.contractor_id, e.quota,
           row_number() OVER (ORDER BY md5(%(seed)s::text || ':' || e.contractor_id::text), e.contractor_id) AS rnk
    FROM projects_lotteryentry e
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

_ALLOCATE_SQL = (
    "WITH "
    + _PLAN_SQL.format(free="t.overlap - t.claim_count")
    + """
, inserted AS (
    INSERT INTO annotations_claim
        (task_id, contractor_id, project_id, batch_id, status, claimed_at, deadline, active_seconds)
    SELECT plan.task_id, plan.contractor_id, %(project)s, %(batch)s, 'active', %(now)s,
           %(now)s + make_interval(mins => %(minutes)s * plan.k), 0
    FROM plan
    ON CONFLICT (task_id, contractor_id) DO NOTHING
    RETURNING task_id, contractor_id
), counted AS (
    UPDATE projects_task t SET claim_count = t.claim_count + n.n
    FROM (SELECT task_id, count(*) AS n FROM inserted GROUP BY task_id) AS n
    WHERE t.id = n.task_id
    RETURNING t.id
), got AS (
    UPDATE projects_lotteryentry e SET allocated = COALESCE(n.n, 0)
    FROM projects_lotteryentry e2
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

_NOTIFY_RESULTS_SQL = """
INSERT INTO accounts_notification (user_id, kind, title, body, url, key, created_at, read_at)
SELECT e.contractor_id, 'lottery_result',
       left(CASE WHEN e.allocated > 0
            THEN 'You got ' || e.allocated || ' task' || CASE WHEN e.allocated = 1 THEN '' ELSE 's' END
                 || ' in the ' || %(name)s || ' lottery'
            ELSE 'No tasks for you in the ' || %(name)s || ' lottery' END, 200),
       CASE WHEN e.allocated > 0
            THEN 'You asked for ' || e.requested || ' and got ' || e.allocated
                 || '. They are waiting under "Your tasks in progress"; each has its own deadline.'
            ELSE 'You asked for ' || e.requested || ' but the draw did not reach you this time'
                 || CASE WHEN e.quota = 0 THEN ' (you were at your claim cap or no longer eligible)' ELSE '' END
                 || '. Tasks left over are handed out ' || %(fallback)s || ' from now on.' END,
       %(url)s, 'lottery:' || e.batch_id, %(now)s, NULL
FROM projects_lotteryentry e
WHERE e.batch_id = %(batch)s AND e.allocated IS NOT NULL
ON CONFLICT (user_id, key) WHERE key <> '' DO NOTHING
RETURNING user_id
"""


def _local(moment: datetime, user) -> str:
    return f"{timezone.localtime(moment, user.tzinfo):%a %d %b %Y %H:%M %Z}"


# --- Scheduling ----------------------------------------------------------------------------


def batch_schedule_release(
    *,
    batch: Batch,
    scheduled_by,
    release_at: datetime,
    release_policy: str,
    fair_share_cap: int | None = None,
    fallback_policy: str = P.FIRST_COME,
    lottery_max_per_person: int | None = None,
    reservation_opens_at: datetime | None = None,
    urgent: bool = False,
    urgent_reason: str = "",
) -> Batch:
    """Set how the batch is released and schedule it, in one transaction (the admin page)."""
    if release_policy not in P.values:
        raise BatchStateError(f"Choose a release policy among: {', '.join(P.labels)}.", field="release_policy")
    if fallback_policy not in (P.FIRST_COME, P.FAIR_SHARE):
        raise BatchStateError("Left-over lottery tasks fall back to first come or fair share.",
                              field="fallback_policy")
    for name, value in (("fair_share_cap", fair_share_cap), ("lottery_max_per_person", lottery_max_per_person)):
        if value is not None and not 1 <= value <= 32767:
            raise BatchStateError("Give a whole number from 1 (or leave it blank).", field=name)
    if batch.status not in (S.DRAFT, S.SCHEDULED):
        raise BatchStateError(f"A {batch.get_status_display().lower()} batch cannot be scheduled.")
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.status not in (S.DRAFT, S.SCHEDULED):
            raise BatchStateError(f"A {locked.get_status_display().lower()} batch cannot be scheduled.")
        batch.release_policy = release_policy
        batch.fair_share_cap = fair_share_cap
        batch.fair_share_cap_derived = False
        batch.fallback_policy = fallback_policy
        batch.lottery_max_per_person = lottery_max_per_person
        batch.save(update_fields=["release_policy", "fair_share_cap", "fair_share_cap_derived", "fallback_policy",
                                  "lottery_max_per_person"])
        batch_schedule(batch=batch, release_at=release_at, scheduled_by=scheduled_by, urgent=urgent,
                       urgent_reason=urgent_reason, reservation_opens_at=reservation_opens_at)
    return batch


# --- Opting in and out ----------------------------------------------------------------------


def _batch_for_entry(batch_id: int) -> Batch:
    """The batch, read under a share lock: the allocation's UPDATE waits for us (and we for it),
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
            f"{_local(batch.release_at or now, contractor)}; the lottery has been drawn.",
            code="lottery_closed",
        )
    if batch.reservation_opens_at and now < batch.reservation_opens_at:
        raise LotteryError(
            f"The reservation window for {batch.project.name} · {batch.name} opens at "
            f"{_local(batch.reservation_opens_at, contractor)}.",
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
    return entry


def lottery_opt_out(*, batch: Batch, contractor, now: datetime | None = None) -> None:
    """Leave the lottery while its window is open."""
    now = now or timezone.now()
    with transaction.atomic():
        batch = _batch_for_entry(batch.pk)
        _check_window(batch, contractor, now)
        deleted, _ = LotteryEntry.objects.filter(batch=batch, contractor=contractor).delete()
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
    from annotations.services.claims import PROJECT_CLAIMS_LOCK_NAMESPACE

    from ..tasks import lottery_notify_results as notify_task

    now = now or timezone.now()
    seed = secrets.randbelow(2**62) if seed is None else int(seed)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_OPEN_FOR_DRAW_SQL, {"batch": batch_id, "now": now, "seed": seed})
        row = cursor.fetchone()
        if row is None:
            return None
        (project_id,) = row
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
             "minutes": batch.project.claim_minutes},
        )
        created, slots, participants, requested_total, _tasks = cursor.fetchone()
        allocation = LotteryAllocation.objects.create(
            batch=batch, seed=seed, participants=participants, requested_total=requested_total,
            slots_total=slots, claims_created=created, fair_share_cap=batch.fair_share_cap,
            duration_ms=int((time.perf_counter() - started) * 1000), allocated_at=now,
        )
        transaction.on_commit(lambda: notify_task.delay(batch_id=batch_id))
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


def lottery_notify_results(*, batch_id: int) -> int:
    """Tell each participant what they got, in one INSERT ... SELECT (repeat-safe by key)."""
    batch = Batch.objects.select_related("project").filter(pk=batch_id, allocated_at__isnull=False).first()
    if batch is None:
        return 0
    fallback = "first come, first served" if batch.fallback_policy == P.FIRST_COME else (
        f"by fair share (at most {batch.fair_share_cap} per person)" if batch.fair_share_cap else "by fair share")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_NOTIFY_RESULTS_SQL, {
            "batch": batch_id, "name": f"{batch.project.name} · {batch.name}", "fallback": fallback,
            "url": reverse("work:dashboard"), "now": timezone.now(),
        })
        user_ids = [row[0] for row in cursor.fetchall()]
        notifications_unread_forget(user_ids=user_ids)
        transaction.on_commit(lambda: notifications_unread_forget(user_ids=user_ids))
    return len(user_ids)


def batch_announce_release(*, batch_id: int, release_at: str) -> int:
    """Notify the batch's eligible contractors of its release (each in their own time zone).

    Keyed by batch and release time: a repeat does nothing, a re-schedule is announced anew."""
    from accounts.services import notifications_create_many

    from ..selectors import contractors_eligible_for

    batch = Batch.objects.select_related("project").filter(pk=batch_id, status=S.SCHEDULED).first()
    if batch is None or batch.release_at is None or batch.release_at.isoformat() != release_at:
        return 0  # unscheduled or moved since; the newer schedule sends its own announcement
    if batch.project.status != batch.project.Status.ACTIVE:
        return 0
    policy = {
        P.FIRST_COME: "first come, first served",
        P.FAIR_SHARE: "fair share: everyone's claims are capped",
        P.LOTTERY: "lottery: opt in on your dashboard before release; tasks are drawn evenly at random",
    }[batch.release_policy]
    title = f"{batch.project.name} · {batch.name} opens {{at}}"
    body = f"Release policy: {policy}."
    if batch.is_urgent:
        body += f" This release is urgent: {batch.urgent_reason}"
    return notifications_create_many(
        users=contractors_eligible_for(project=batch.project),
        kind="release_announced", title=title, body=body, url=reverse("work:dashboard"),
        key=f"release:{batch.pk}:{batch.release_at.isoformat()}", at=batch.release_at,
    )
