"""The claim engine: handing out tasks, opening and handing back lottery wins, releasing, expiring
and lapsing claims, taking submissions.

Concurrency is the database's job here. A contractor's claims are serialised by a
transaction-scoped advisory lock on their id (so their caps cannot be overrun by double
clicks), and the task itself is picked and counted in one statement with
`FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on each other or collide.
The `task_claims_within_overlap` check constraint backs the overlap rule in the schema.

The rules the statement keeps (see README, "Fair release"):

- a task's `claim_count` counts its reserved, active and submitted claims and never exceeds its
  overlap; never two claims of one contractor on one task;
- a contractor's open holds on a project (active claims and reserved lottery wins) stay within
  the project's `max_active_claims`;
- in a batch that follows fair share, a contractor's reserved, active and submitted claims stay
  below the batch's current cap until `fair_share_ends_at` (the cap schedule, relaxed by
  `fair_share.fair_share_caps_relax`);
- a lottery batch hands out nothing before its draw.

When the statement finds nothing for someone who was free to claim, it records their demand for
each batch of the project that is open or ran out before its horizon (`BatchDemand`, once per
batch and person), in the same statement.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notifications_create_many
from projects.models import Project, Task
from projects.selectors import contractor_is_qualified
from projects.services import batch_mark_exhausted_if_done
from taskhub import outbox, parsing
from taskhub.hooks import BatchClosed, RoleChange, pay_changed
from taskhub.sql import Prepared

from .. import tasks
from ..errors import ClaimError, NotQualified, ProjectClosed
from ..models import Claim, Submission
from ..rules import needs_review
from ..selectors import contractor_pause_in_force
from .conversation import conversation_attach
from .fair_share import fair_share_caps_relax
from .gold import submission_grade_gold
from .work import ACTIVE_TIME_CREDIT_SQL

# First key of the two-key advisory locks taken per contractor while claiming.
CLAIM_LOCK_NAMESPACE = 7301
# Claims hold this lock (key: project) shared; a lottery draw takes it exclusively so the
# active-claim caps it reads cannot move under it (services/lottery.py).
PROJECT_CLAIMS_LOCK_NAMESPACE = 7302

# Taken before the claim, in a statement of its own, so that the claim statement's snapshot
# (READ COMMITTED: one per statement) includes every claim this contractor committed before.
#
# The same statement prices sorts and sequential scans out of the claim's plan, for its transaction.
# The claim's plan must be the ordered scan of task_claimable_in_batch_idx that stops at the first
# free task; every other plan sorts what it found first, which is every claimable task of the batch,
# or reads the table through (a release storm comes right after an import, when the planner knows
# least about the new rows and may think the table tiny). With those priced out, the index scans are
# the only plan left, whatever the statistics say (tests/annotations/test_claim_plan.py).
_PLAN_SETTINGS = ("enable_sort", "enable_incremental_sort", "enable_seqscan")
_LOCKS_SQL = """
SELECT pg_advisory_xact_lock(%(contractor_lock)s, %(contractor)s),
       pg_advisory_xact_lock_shared(%(project_lock)s, %(project)s),
""" + ", ".join(f"set_config('{name}', 'off', true)" for name in _PLAN_SETTINGS)
# Inside a caller's transaction the settings would outlive the claim: put them back after it.
_PLAN_SETTINGS_RESET_SQL = "; ".join(f"SET LOCAL {name} TO DEFAULT" for name in _PLAN_SETTINGS)
_CLAIM_COLUMNS = 8

# Always returns one row: the contractor's open holds (active claims and reservations) on the
# project before this call, whether a lead's pause on the project is in force, then the new
# claim's id, task and batch (NULLs when nothing was claimed). Parameters: $1 project,
# $2 contractor, $3 the project's active-claim cap, $4 now, $5 the deadline.
#
# The `demand` part runs only when nothing was claimed although the person was free to claim
# (under the cap, not paused): its one-time filter on `claimed` keeps it off the claiming path.
# It records demand for each batch of the project that is open, or ran out of work before its
# horizon ended (asking a few hours after a first-come batch emptied is wanting its work too).
_CLAIM_SQL = """
WITH held AS (
    SELECT count(*) AS n, EXISTS (
        SELECT 1 FROM annotations_contractorpause p
        WHERE p.contractor_id = $2 AND p.project_id = $1 AND p.lifted_at IS NULL
    ) AS paused
    FROM annotations_claim
    WHERE contractor_id = $2 AND project_id = $1 AND status IN ('active', 'reserved')
), batches AS (
    -- The project's batches handing out work to this person now (a handful), evaluated once. Empty
    -- when the person is at the project's cap or paused, so nothing at all is scanned then.
    SELECT ARRAY(
        SELECT b.id FROM projects_batch b
        WHERE (SELECT n < $3 AND NOT paused FROM held)
          AND b.project_id = $1
          AND b.status = 'open'
          -- A lottery batch hands out nothing before its draw, then follows its fallback policy.
          AND NOT (b.release_policy = 'lottery' AND b.allocated_at IS NULL)
          AND (
              (CASE WHEN b.release_policy = 'lottery' THEN b.fallback_policy ELSE b.release_policy END) <> 'fair_share'
              OR $4 >= b.fair_share_ends_at
              OR b.fair_share_cap > (
                  SELECT count(*) FROM annotations_claim c
                  WHERE c.batch_id = b.id AND c.contractor_id = $2
                    AND c.status IN ('active', 'submitted', 'reserved')
              )
          )
    ) AS ids
), candidate AS (
    -- One ordered scan of task_claimable_idx (batch_id, id WHERE claim_count < overlap), batch by
    -- batch: it stops at the first free task this person has not held, whatever the statistics say
    -- (no join to plan, nothing to sort; see README "The claim's plan").
    SELECT t.id, t.batch_id
    FROM projects_task t
    WHERE t.batch_id = ANY ((SELECT ids FROM batches)::bigint[])
      AND t.claim_count < t.overlap
      AND NOT EXISTS (
          SELECT 1 FROM annotations_claim c
          WHERE c.task_id = t.id AND c.contractor_id = $2
      )
    ORDER BY t.batch_id, t.id
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED
), taken AS (
    -- By its primary key, as a value: never a join the planner could turn into a scan.
    UPDATE projects_task t SET claim_count = t.claim_count + 1
    WHERE t.id = (SELECT id FROM candidate)
    RETURNING t.id, t.batch_id, t.external_id, t.payload, t.overlap
), claimed AS (
    INSERT INTO annotations_claim
        (task_id, contractor_id, project_id, batch_id, status, claimed_at, deadline, active_seconds)
    SELECT taken.id, $2, $1, taken.batch_id, 'active', $4, $5, 0
    FROM taken
    RETURNING id, task_id, batch_id
), demand AS (
    INSERT INTO annotations_batchdemand (batch_id, contractor_id, reason, recorded_at)
    SELECT b.id, $2,
           CASE WHEN (CASE WHEN b.release_policy = 'lottery' THEN b.fallback_policy ELSE b.release_policy END)
                     = 'fair_share'
                 AND (b.fair_share_ends_at IS NULL OR $4 < b.fair_share_ends_at)
                 AND b.fair_share_cap <= (
                     SELECT count(*) FROM annotations_claim c
                     WHERE c.batch_id = b.id AND c.contractor_id = $2
                       AND c.status IN ('active', 'submitted', 'reserved')
                 )
                THEN 'capped' ELSE 'found_none' END,
           $4
    FROM projects_batch b
    WHERE NOT EXISTS (SELECT 1 FROM claimed)
      AND (SELECT n < $3 AND NOT paused FROM held)
      AND b.project_id = $1
      AND (b.status = 'open' OR (b.status = 'exhausted' AND $4 < b.fair_share_ends_at))
      AND NOT (b.release_policy = 'lottery' AND b.allocated_at IS NULL)
    ON CONFLICT (batch_id, contractor_id) DO NOTHING
)
SELECT held.n, held.paused, claimed.id, claimed.task_id, claimed.batch_id,
       taken.external_id, taken.payload, taken.overlap
FROM held LEFT JOIN claimed ON TRUE LEFT JOIN taken ON taken.id = claimed.task_id
"""

def _named_placeholders(sql: str, names: list[str]) -> str:
    for position in range(len(names), 0, -1):  # $5 before $1, so $1 never eats the start of $10
        sql = sql.replace(f"${position}", f"%({names[position - 1]})s")
    return sql


# The claim statement is prepared once per database connection and executed by name (taskhub.sql):
# the planner's work, most of the statement's cost, is done once per connection, not per claim.
_CLAIM = Prepared(
    "claim_next", _named_placeholders(_CLAIM_SQL, ["project", "contractor", "max_active", "now", "deadline"]),
    {"project": "bigint", "contractor": "bigint", "max_active": "integer", "now": "timestamptz",
     "deadline": "timestamptz"},
)
_CLAIM_STATEMENT = _CLAIM.name


# The time worked on a released task is kept: the release counts as a last heartbeat (the same bounded
# credit, annotations/services/work.py), so what was measured until the release stays on the claim.
_RELEASE_SQL = f"""
WITH released AS (
    UPDATE annotations_claim SET status = 'released', finished_at = %(now)s, release_reason = %(reason)s,
        {ACTIVE_TIME_CREDIT_SQL}
    WHERE id = %(claim)s AND contractor_id = %(contractor)s AND status IN ('active', 'reserved')
    RETURNING task_id, active_seconds
)
UPDATE projects_task t SET claim_count = t.claim_count - 1
FROM released WHERE t.id = released.task_id
RETURNING t.id, released.active_seconds
"""

# Active claims past their deadline expire; reservations past their end lapse. Both give the
# slot back. Returns (batch, status, claims) for what ended.
_EXPIRE_SQL = """
WITH ended AS (
    UPDATE annotations_claim
    SET status = CASE WHEN status = 'reserved' THEN 'lapsed' ELSE 'expired' END, finished_at = %(now)s
    WHERE (status = 'active' AND deadline <= %(now)s) OR (status = 'reserved' AND reserved_until <= %(now)s)
    RETURNING task_id, batch_id, status
), per_task AS (
    SELECT task_id, count(*) AS n FROM ended GROUP BY task_id
), counted AS (
    UPDATE projects_task t SET claim_count = t.claim_count - per_task.n
    FROM per_task WHERE t.id = per_task.task_id
    RETURNING t.id
)
SELECT batch_id, status, count(*) FROM ended GROUP BY batch_id, status
"""

# Opening a lottery win: the claim time starts now. Nothing is counted again (the slot is held).
_OPEN_SQL = """
UPDATE annotations_claim SET status = 'active', opened_at = %(now)s, deadline = %(deadline)s
WHERE id = %(claim)s AND contractor_id = %(contractor)s AND status = 'reserved' AND reserved_until > %(now)s
RETURNING id
"""


def _check_can_claim(contractor, project: Project) -> None:
    if contractor.role != Role.CONTRACTOR or not contractor.is_active:
        raise NotQualified("Only contractors can claim tasks.")
    if project.status != Project.Status.ACTIVE:
        raise ProjectClosed(f"{project.name} is not open for work right now.")
    if not contractor_is_qualified(user=contractor, project=project):
        raise NotQualified(
            f"{project.name} needs the qualification {project.qualification.name!s}; pass it first.",
        )


def _refuse_if_paused(contractor, project: Project) -> None:
    # The claim statement itself checks for a pause; this only words the refusal.
    pause = contractor_pause_in_force(contractor_id=contractor.pk, project_id=project.pk)
    if pause is not None:
        since = timezone.localtime(pause.created_at, contractor.tzinfo)
        raise NotQualified(
            f"A team lead paused you on {project.name} on {since:%Y-%m-%d}: {pause.reason} "
            "You can still work on your other projects; see My work for the decision.",
            code="paused_on_project",
        )


def task_claim_next(*, contractor, project: Project, now: datetime | None = None) -> Claim | None:
    """Hold the next claimable task of `project` for `contractor`; None when nothing is left.

    Respects: the batch is open (a lottery batch: drawn); a task's reserved, active and submitted
    claims stay below its overlap; never the same contractor twice on one task; the contractor's
    open holds (active claims and reservations) within the project's cap; a fair-share batch's
    current per-person cap until the cap ends; the qualification; a lead's pause. Finding nothing
    while free to claim records the person's demand for the project's open batches.
    """
    _check_can_claim(contractor, project)
    now = now or timezone.now()
    deadline = now + timedelta(minutes=project.claim_minutes)
    params = {
        "contractor_lock": CLAIM_LOCK_NAMESPACE, "project_lock": PROJECT_CLAIMS_LOCK_NAMESPACE,
        "project": project.pk, "contractor": contractor.pk, "max_active": project.max_active_claims,
        "now": now, "deadline": deadline,
    }
    nested = connection.in_atomic_block
    with connection.cursor() as cursor:
        if isinstance(cursor.cursor, psycopg.ClientCursor):
            # Django's default client-side binding sends the statements as one query string:
            # one round trip and one implicit transaction, which holds the locks until the
            # claim is committed (or, inside an outer transaction, until that one ends).
            prefix = _CLAIM.prefix(cursor)
            suffix = ";" + _PLAN_SETTINGS_RESET_SQL if nested else ""
            cursor.execute(prefix + _LOCKS_SQL + ";" + _CLAIM.execute_sql + suffix, params)
            _CLAIM.sent(cursor)
            row = None
            while True:  # the claim's row is the one result with its columns
                if cursor.description is not None and len(cursor.description) == _CLAIM_COLUMNS:
                    row = cursor.fetchone()
                if not cursor.nextset():
                    break
        else:
            # Server-side binding (OPTIONS server_side_binding): statements one at a time in a
            # transaction; psycopg prepares the claim itself if OPTIONS sets prepare_threshold.
            with transaction.atomic():
                cursor.execute(_LOCKS_SQL, params)
                cursor.execute(_CLAIM.sql, params)
                row = cursor.fetchone()
                if nested:
                    cursor.execute(_PLAN_SETTINGS_RESET_SQL)
    held, paused, claim_id, task_id, batch_id, external_id, payload, overlap = row
    if claim_id is None:
        if paused:
            _refuse_if_paused(contractor, project)
        if held >= project.max_active_claims:
            raise ClaimError(
                f"You already hold {held} task(s) on {project.name}, the most this project allows at once. "
                "Submit or release one first.",
                code="active_claim_cap",
            )
        return None
    # The task comes back from the same statement, so callers need no second read.
    task = Task(id=task_id, batch_id=batch_id, project=project, external_id=external_id,
                payload=json.loads(payload) if isinstance(payload, str) else payload, overlap=overlap)
    task._state.adding = False
    task._state.db = connection.alias
    claim = Claim(
        id=claim_id,
        task=task,
        batch_id=batch_id,
        contractor=contractor,
        project=project,
        status=Claim.Status.ACTIVE,
        claimed_at=now,
        deadline=deadline,
        active_seconds=0,
    )
    # The row exists: a later save() must update it, not try to insert it again.
    claim._state.adding = False
    claim._state.db = connection.alias
    return claim


RELEASE_REASON_MAX_CHARS = 500


def claim_release(*, claim: Claim, contractor, now: datetime | None = None, reason: str = "") -> None:
    """Give a claim back: an active claim, or a reserved lottery win handed back unopened. Its
    task returns to the pool at once (a lottery's under its fallback policy). The reason, if given,
    is kept on the claim, and so is the active time measured until now."""
    if claim.contractor_id != contractor.pk:
        raise NotQualified("This is not your claim.")
    reason = parsing.text(reason, field="reason", max_length=RELEASE_REASON_MAX_CHARS)
    now = now or timezone.now()
    with transaction.atomic():
        released = claim_release_in_transaction(claim=claim, contractor=contractor, now=now, reason=reason)
    if released is None:
        claim.refresh_from_db(fields=["status"])
        raise ClaimError(f"This claim is {claim.get_status_display().lower()}, so it cannot be released.",
                         code="claim_not_active")


def claim_release_in_transaction(*, claim: Claim, contractor, now: datetime, reason: str) -> tuple | None:
    """The release statement, in the caller's transaction (a problem report ends its claim this way):
    returns (task id, active seconds), or None when the claim was not active or reserved."""
    params = {"claim": claim.pk, "contractor": contractor.pk, "now": now, "reason": reason,
              "interval": int(settings.TASKHUB_HEARTBEAT_SECONDS)}
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, params)
        released = cursor.fetchone()
    if released is not None:
        claim.status = Claim.Status.RELEASED
        claim.finished_at = now
        claim.release_reason = reason
        claim.active_seconds = released[1]
    return released


def claims_release_on_role_change(change: RoleChange) -> list[str]:
    """The role handler of annotations (taskhub.hooks): a contractor who stops being one cannot reach
    their workspace any more, so their active claims and unopened lottery wins go back to the pool at
    once, each with the reason of the decision (and the active time measured until now). What they
    submitted, its grades and its pay are not touched."""
    if change.old != Role.CONTRACTOR or change.new == Role.CONTRACTOR:
        return []
    held = list(Claim.objects.select_for_update(of=("self",))
                .filter(contractor_id=change.user_id, status__in=Claim.HELD_OPEN)
                .select_related("project").order_by("claimed_at", "id"))
    person = User(pk=change.user_id)  # the release statement reads only its id
    reason = f"Role changed: {change.reason}"[:RELEASE_REASON_MAX_CHARS]
    released = []
    for claim in held:
        if claim_release_in_transaction(claim=claim, contractor=person, now=change.now,
                                        reason=reason) is not None:
            released.append(claim)
    if not released:
        return []
    projects = ", ".join(sorted({claim.project.name for claim in released}))
    n = len(released)
    return [f"{n} task{'s' if n != 1 else ''} you held ({projects}) {'were' if n != 1 else 'was'} released back "
            "to the pool with this reason. What you submitted, its grades and its pay stay as they are."]


def claims_tell_holders_of_closed_batch(event: BatchClosed) -> int:
    """The batch-closed handler of annotations (taskhub.hooks): everyone still holding an active claim
    or an unopened lottery win of the batch is told it closed, why, and that they may still submit
    what they hold. Returns how many were told (once per batch and person: the notification key)."""
    holders = User.objects.filter(pk__in=Claim.objects.filter(batch_id=event.batch_id, status__in=Claim.HELD_OPEN)
                                  .values("contractor_id"))
    return notifications_create_many(
        users=holders, kind="batch_closed", url="/work/", key=f"batch_closed:{event.batch_id}",
        title=f"{event.project_name}: the batch “{event.batch_name}” is closed",
        body=f"Reason: {event.reason}\n\nNo more of its tasks are handed out. The tasks you hold from it may "
             "still be submitted before their deadline, and are paid as usual.")


def claim_open(*, claim: Claim, contractor, now: datetime | None = None) -> Claim:
    """Start work on a reserved lottery win: it becomes an active claim whose deadline
    (the project's claim_minutes) starts now. Opening an already open claim changes nothing."""
    if claim.contractor_id != contractor.pk:
        raise NotQualified("This is not your claim.")
    project: Project = claim.project
    if claim.status == Claim.Status.ACTIVE:
        return claim
    if claim.status not in (Claim.Status.RESERVED, Claim.Status.LAPSED):
        # What was released, expired or submitted is no reservation to open, whoever may claim now.
        raise ClaimError(f"This task is {claim.get_status_display().lower()}, so it cannot be opened.",
                         code="claim_not_reserved")
    _check_can_claim(contractor, project)
    _refuse_if_paused(contractor, project)
    now = now or timezone.now()
    deadline = now + timedelta(minutes=project.claim_minutes)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_OPEN_SQL, {"claim": claim.pk, "contractor": contractor.pk, "now": now, "deadline": deadline})
        opened = cursor.fetchone()
    if opened is None:
        claim.refresh_from_db(fields=["status", "deadline", "opened_at", "reserved_until"])
        if claim.status == Claim.Status.ACTIVE:
            return claim  # opened a moment ago, by a second click
        if claim.status == Claim.Status.RESERVED or claim.status == Claim.Status.LAPSED:
            local = timezone.localtime(claim.reserved_until, contractor.tzinfo)
            raise ClaimError(
                f"Your reservation of this task ended at {local:%Y-%m-%d %H:%M %Z}; it went back to the others "
                "who opted in.",
                code="reservation_lapsed",
            )
        raise ClaimError(f"This task is {claim.get_status_display().lower()}, so it cannot be opened.",
                         code="claim_not_reserved")
    claim.status, claim.opened_at, claim.deadline = Claim.Status.ACTIVE, now, deadline
    return claim


def claims_expire_overdue(*, now: datetime | None = None) -> int:
    """Expire every active claim past its deadline and lapse every reservation past its end;
    their tasks return to the pool. Returns how many claims ended.

    Lapsed reservations go back under the batch's fallback policy: in the same transaction the
    cap schedule takes its `returned` step (the demand share for what came back), and once
    committed the people who opted in are told."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL, {"now": now})
        ended = cursor.fetchall()
        lapsed_batches = sorted({batch_id for batch_id, status, _n in ended if status == Claim.Status.LAPSED})
        if lapsed_batches:
            fair_share_caps_relax(now=now, batch_ids=lapsed_batches)
            for batch_id in lapsed_batches:
                outbox.enqueue(tasks.lottery_notify_lapsed, batch_id=batch_id)
    return sum(n for _batch, _status, n in ended)


def _refusal(claim: Claim, now: datetime) -> ClaimError:
    status = claim.status
    if status == Claim.Status.SUBMITTED:
        return ClaimError("This task was already submitted.", code="already_submitted")
    if status == Claim.Status.RELEASED:
        return ClaimError("You released this task, so it can no longer be submitted.", code="claim_released")
    if status == Claim.Status.RESERVED and claim.reserved_until > now:
        return ClaimError("This task is reserved for you: start it first (the time to finish it starts then).",
                          code="claim_not_opened")
    if status in (Claim.Status.RESERVED, Claim.Status.LAPSED) or claim.deadline is None:
        local = timezone.localtime(claim.reserved_until, claim.contractor.tzinfo)
        return ClaimError(f"Your reservation of this task ended at {local:%Y-%m-%d %H:%M %Z} before it was started.",
                          code="reservation_lapsed")
    # Expired, or past the deadline and not yet swept.
    local = timezone.localtime(claim.deadline, claim.contractor.tzinfo)
    return ClaimError(
        f"The time for this task ran out at {local:%Y-%m-%d %H:%M %Z}; it has gone back to the pool "
        "and your answer was not saved.",
        code="claim_expired",
    )


# A submit in one statement: the claim leaves `active` (counting the time since the last heartbeat,
# with the heartbeat's bounds) only if it is still within its deadline, its task counts the
# submission, and the submission is written. Returns nothing when the claim was not active; else
# the submission's id, its active seconds, whether the task now has all its submissions and the
# batch. The submission's cached pay columns are filled by its triggers (annotations sql/); it records
# the project's latest instructions version, the one in force as it is submitted.
_SUBMIT_SQL = f"""
WITH submitted AS (
    UPDATE annotations_claim SET {ACTIVE_TIME_CREDIT_SQL}, status = 'submitted', finished_at = %(now)s
    WHERE id = %(claim)s AND contractor_id = %(contractor)s AND status = 'active' AND deadline > %(now)s
    RETURNING id, task_id, batch_id, active_seconds
), counted AS (
    UPDATE projects_task t SET submitted_count = t.submitted_count + 1
    WHERE t.id = (SELECT task_id FROM submitted)
    RETURNING t.submitted_count >= t.overlap AS task_done
)
INSERT INTO annotations_submission
    (claim_id, task_id, contractor_id, project_id, answer, active_seconds, submitted_at, is_gold, needs_review,
     instructions_version_id)
SELECT submitted.id, submitted.task_id, %(contractor)s, %(project)s, %(answer)s::jsonb, submitted.active_seconds,
       %(now)s, %(is_gold)s, %(needs_review)s,
       (SELECT v.id FROM projects_instructionversion v WHERE v.project_id = %(project)s ORDER BY v.number DESC LIMIT 1)
FROM submitted
RETURNING id, active_seconds, (SELECT task_done FROM counted), (SELECT batch_id FROM submitted),
          instructions_version_id
"""
_SUBMIT = Prepared("claim_submit", _SUBMIT_SQL, {
    "claim": "bigint", "contractor": "bigint", "project": "bigint", "now": "timestamptz", "interval": "integer",
    "answer": "text", "is_gold": "boolean", "needs_review": "boolean",
})


def _batch_finished_check(batch_id: int) -> None:
    # After the commit, in a transaction of its own: see batch_mark_exhausted_if_done.
    batch_mark_exhausted_if_done(batch_id=batch_id)


def claim_submit(*, claim: Claim, contractor, answer: Any, now: datetime | None = None) -> Submission:
    """Validate and store the answer for an active claim that is still within its deadline, and
    post its pay in the same transaction.

    A submission that finishes its task may finish the batch. Nothing is locked for it: once this
    transaction has committed, a statement of its own marks the batch exhausted if no task is left
    unfinished (a conditional update: once). Commits are ordered, so of the submissions finishing a
    batch's last tasks at the same moment, the one that commits last sees all the others' work; beat
    catches a batch whose last submitter died between its commit and the check
    (`projects.services.batches_exhaust_finished`)."""
    if claim.contractor_id != contractor.pk:
        raise NotQualified("This is not your claim.")
    task: Task = claim.task
    project: Project = claim.project
    # A red-team answer carries the conversation as the server recorded it, never as typed.
    answer = conversation_attach(claim=claim, answer=answer)
    cleaned = project.type.validate_answer(answer, task=task, project=project)
    now = now or timezone.now()
    is_gold = task.gold_answer is not None
    params = {
        "claim": claim.pk, "contractor": contractor.pk, "project": project.pk, "now": now,
        "interval": int(settings.TASKHUB_HEARTBEAT_SECONDS), "answer": json.dumps(cleaned),
        "is_gold": is_gold, "needs_review": needs_review(project=project, claim_id=claim.pk, is_gold=is_gold),
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            _SUBMIT.execute(cursor, params)
            row = cursor.fetchone()
        if row is None:
            claim.refresh_from_db(fields=["status", "deadline", "reserved_until"])
            raise _refusal(claim, now)
        submission_id, active_seconds, task_done, batch_id, version_id = row
        submission = Submission(
            id=submission_id, claim=claim, task=task, contractor=contractor, project=project, answer=cleaned,
            active_seconds=active_seconds, submitted_at=now, is_gold=is_gold, needs_review=params["needs_review"],
            instructions_version_id=version_id,
        )
        submission._state.adding = False
        submission._state.db = connection.alias
        if is_gold:
            submission_grade_gold(submission=submission, now=now)
        # Paid at once, at the rate in force now, by the one pay rule (payouts posts it: the hook).
        pay_changed(submission_id=submission_id)
        if task_done:
            transaction.on_commit(lambda: _batch_finished_check(batch_id), robust=True)
    claim.status = Claim.Status.SUBMITTED
    claim.finished_at = now
    claim.active_seconds = active_seconds
    return submission
