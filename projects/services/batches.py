"""Batch life cycle and release settings: draft → scheduled → open → exhausted → closed.

Every transition is a conditional UPDATE on the current status, so a transition happens
exactly once however many schedulers, workers or admins try it at the same moment.

Fair share (see README, "Fair release"): a batch without a fixed cap gets the equal share at
release (`fair_share_caps_derive`: slots over every eligible contractor), and its cap then follows
the published schedule `Batch.fair_share_steps` (half the horizon at the equal share, then the
demand share growing every relax period, computed by `annotations.services.fair_share`, which
writes each step through `batch_fair_share_cap_step`). Opening a batch sets `fair_share_ends_at`,
from which the claim statement applies no cap at all, so no work is stranded past the horizon.

Opening a batch is the claim engine's business (`annotations.services.release`): a lottery
batch opens with its draw. What is here opens the batches that hand out work first come or by
fair share (`batch_open`, `batches_open_due`), and lets an admin set how a batch is released and
when (`batch_schedule_release`, `batch_schedule`), announced ahead to the people it concerns.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, F, OuterRef
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Role
from accounts.services import audit_record, notifications_create_many
from taskhub.decisions import clean_reason
from taskhub.errors import Forbidden
from taskhub.formats import local_time
from taskhub.hooks import batch_closed
from taskhub.outbox import enqueue
from taskhub.parsing import moment, text
from taskhub.sql import Prepared

from .. import tasks
from ..errors import BatchCloseError, BatchStateError
from ..models import Batch, Task
from ..selectors import contractors_eligible_for
from .webhooks import webhooks_emit

S = Batch.Status
P = Batch.Policy
URGENT_REASON_MAX = Batch._meta.get_field("urgent_reason").max_length

# A fair-share batch without a fixed cap gets ceil(slots / eligible contractors), written
# in the same transaction that opens it, so no claim ever sees an open batch without a cap.
_DERIVE_CAPS_SQL = """
UPDATE projects_batch b
SET fair_share_cap = d.cap, fair_share_cap_derived = TRUE
FROM (
    SELECT b2.id, GREATEST(1, CEIL(
        (SELECT COALESCE(SUM(t.overlap), 0) FROM projects_task t WHERE t.batch_id = b2.id)::numeric
        / GREATEST(1, (
            SELECT count(*) FROM accounts_user u WHERE projects_contractor_is_eligible(u.id, b2.project_id)
        ))
    ))::int AS cap
    FROM projects_batch b2
    WHERE b2.id = ANY(%(ids)s) AND b2.fair_share_cap IS NULL
      AND (b2.release_policy = 'fair_share' OR (b2.release_policy = 'lottery' AND b2.fallback_policy = 'fair_share'))
) d
WHERE b.id = d.id
"""


# When the cap ends, from the moment the batch opens: the horizon, and for a lottery no sooner than
# one relax period after its reservations end (the Python twin is Batch.fair_share_steps).
_ENDS_AT_SQL = """
CASE WHEN release_policy = 'lottery'
     THEN %(now)s + GREATEST(fair_share_horizon, reservation_period + fair_share_relax_every)
     ELSE %(now)s + fair_share_horizon END
"""


def fair_share_caps_derive(*, batch_ids: list[int]) -> int:
    """Give fair-share batches (and lotteries falling back to fair share) without a cap their
    derived cap. Call inside the transaction that opens them."""
    with connection.cursor() as cursor:
        cursor.execute(_DERIVE_CAPS_SQL, {"ids": list(batch_ids)})
        return cursor.rowcount


def _transition(batch: Batch, *, from_states: list[str], to: str, **fields) -> bool:
    updated = Batch.objects.filter(pk=batch.pk, status__in=from_states).update(status=to, **fields)
    if updated:
        batch.status = to
        for name, value in fields.items():
            setattr(batch, name, value)
    return bool(updated)


def _check_policy(batch: Batch) -> None:
    # A fair-share batch may leave its cap blank: it is then derived when the batch opens.
    if batch.fair_share_cap is not None and batch.fair_share_cap < 1:
        raise BatchStateError("The fair-share cap must be at least 1 (or blank to derive it).",
                              field="fair_share_cap")


def batch_check_releasable(*, batch: Batch) -> None:
    """Refuse to release a batch that could hand out nothing."""
    _check_policy(batch)
    if not Task.objects.filter(batch=batch).exists():
        raise BatchStateError("The batch has no tasks to release.")


# --- Scheduling ----------------------------------------------------------------------------


def batch_schedule(
    *,
    batch: Batch,
    release_at: datetime,
    scheduled_by=None,
    urgent: bool = False,
    urgent_reason: str = "",
    reservation_opens_at: datetime | None = None,
    now: datetime | None = None,
) -> Batch:
    """Announce the batch's release. It must be at least TASKHUB_RELEASE_MIN_NOTICE ahead
    unless an admin marks it urgent with a reason (recorded with who). Eligible contractors
    are notified once the schedule is committed. A lottery batch gets a reservation window
    (by default TASKHUB_LOTTERY_WINDOW long, never opening in the past) ending at release."""
    now = now or timezone.now()
    if release_at is None or timezone.is_naive(release_at):
        raise BatchStateError("Give the release time with its time zone.", field="release_at")
    # Within the years every page can show in every time zone (a year 9999 release is year 10000 east
    # of UTC); the reservation window and the reason are checked the same way.
    release_at = moment(release_at, field="release_at", error=BatchStateError)
    if reservation_opens_at is not None and not timezone.is_naive(reservation_opens_at):
        reservation_opens_at = moment(reservation_opens_at, field="reservation_opens_at", error=BatchStateError)
    urgent_reason = text(urgent_reason, field="urgent_reason", max_length=URGENT_REASON_MAX, error=BatchStateError)
    if release_at <= now:
        raise BatchStateError("The release time must be in the future.", field="release_at")
    _check_policy(batch)
    notice = settings.TASKHUB_RELEASE_MIN_NOTICE
    hours = notice.total_seconds() / 3600
    if release_at - now < notice:
        if not urgent:
            raise BatchStateError(
                f"Releases are announced at least {hours:g} hours ahead: the earliest release time now is "
                f"{local_time(now + notice, scheduled_by)}. Mark it urgent, with a reason, to release sooner.",
                code="release_notice", field="release_at",
            )
        if scheduled_by is None or getattr(scheduled_by, "role", None) != Role.ADMIN:
            raise BatchStateError("Only an admin can mark a release urgent.", code="release_urgent", field="urgent")
        if not urgent_reason:
            raise BatchStateError(
                f"Say why this release cannot wait {hours:g} hours; the reason is kept on record.",
                code="release_urgent", field="urgent_reason",
            )
    is_urgent = bool(urgent and release_at - now < notice)
    opens_at = None
    if batch.release_policy == P.LOTTERY:
        if reservation_opens_at is not None and timezone.is_naive(reservation_opens_at):
            raise BatchStateError("Give the reservation opening time with its time zone.",
                                  field="reservation_opens_at")
        opens_at = reservation_opens_at or release_at - settings.TASKHUB_LOTTERY_WINDOW
        opens_at = max(opens_at, now)
        if opens_at >= release_at:
            raise BatchStateError("The reservation window must open before the release time.",
                                  field="reservation_opens_at")
    if not Task.objects.filter(batch=batch).exists():
        raise BatchStateError("Import tasks into the batch before scheduling it.")
    with transaction.atomic():
        scheduled = _transition(
            batch, from_states=[S.DRAFT, S.SCHEDULED], to=S.SCHEDULED, release_at=release_at,
            reservation_opens_at=opens_at, is_urgent=is_urgent, urgent_reason=urgent_reason if is_urgent else "",
            urgent_by=scheduled_by if is_urgent else None, scheduled_at=now, scheduled_by=scheduled_by,
        )
        if not scheduled:
            raise BatchStateError(f"A {batch.get_status_display().lower()} batch cannot be scheduled.")
        batch_id, when = batch.pk, release_at.isoformat()
        enqueue(tasks.batch_announce_release, batch_id=batch_id, release_at=when)
    return batch


def _check_periods(*, reservation_period: timedelta, fair_share_horizon: timedelta,
                   fair_share_relax_every: timedelta) -> None:
    errors = []
    for field, value, what in (
        ("reservation_period", reservation_period, "The reservation period"),
        ("fair_share_horizon", fair_share_horizon, "The fair-share horizon"),
        ("fair_share_relax_every", fair_share_relax_every, "The relax period"),
    ):
        if not isinstance(value, timedelta):
            errors.append(BatchStateError.at(field, f"{what} must be a length of time."))
        elif value <= timedelta(0):
            errors.append(BatchStateError.at(field, f"{what} must be longer than zero."))
        elif value > _LONGEST_PERIOD:
            errors.append(BatchStateError.at(field, f"{what} can be at most {_LONGEST_PERIOD.days} days."))
    notice = settings.TASKHUB_RELEASE_MIN_NOTICE
    if isinstance(fair_share_horizon, timedelta) and timedelta(0) < fair_share_horizon < notice:
        errors.append(BatchStateError.at(
            "fair_share_horizon",
            f"The fair-share horizon must be at least the release notice ({notice.total_seconds() / 3600:g} hours): "
            "a shorter one would hand the work to whoever is awake when the cap lifts.",
        ))
    if errors:
        raise BatchStateError.combine(errors) if len(errors) > 1 else errors[0]


# The longest reservation period, horizon or relax period an admin may set.
_LONGEST_PERIOD = timedelta(days=30)


def batch_schedule_release(
    *,
    batch: Batch,
    scheduled_by,
    release_at: datetime,
    release_policy: str,
    fair_share_cap: int | None = None,
    fallback_policy: str = P.FAIR_SHARE,
    lottery_max_per_person: int | None = None,
    reservation_opens_at: datetime | None = None,
    reservation_period: timedelta | None = None,
    fair_share_horizon: timedelta | None = None,
    fair_share_relax_every: timedelta | None = None,
    urgent: bool = False,
    urgent_reason: str = "",
    now: datetime | None = None,
) -> Batch:
    """Set how the batch is released and schedule it, in one transaction (the admin page).

    The periods default to the batch's current ones (24 h reservation, 24 h horizon, 4 h relax
    period). None may be zero or negative; the horizon may not be shorter than the release notice
    (TASKHUB_RELEASE_MIN_NOTICE); each at most 30 days."""
    if release_policy not in P.values:
        raise BatchStateError(f"Choose a release policy among: {', '.join(P.labels)}.", field="release_policy")
    if fallback_policy not in (P.FIRST_COME, P.FAIR_SHARE):
        raise BatchStateError("Left-over lottery tasks fall back to first come or fair share.",
                              field="fallback_policy")
    for name, value in (("fair_share_cap", fair_share_cap), ("lottery_max_per_person", lottery_max_per_person)):
        if value is not None and not 1 <= value <= 32767:
            raise BatchStateError("Give a whole number from 1 (or leave it blank).", field=name)
    periods = {
        "reservation_period": batch.reservation_period if reservation_period is None else reservation_period,
        "fair_share_horizon": batch.fair_share_horizon if fair_share_horizon is None else fair_share_horizon,
        "fair_share_relax_every": (batch.fair_share_relax_every if fair_share_relax_every is None
                                   else fair_share_relax_every),
    }
    _check_periods(**periods)
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
        for name, value in periods.items():
            setattr(batch, name, value)
        batch.save(update_fields=["release_policy", "fair_share_cap", "fair_share_cap_derived", "fallback_policy",
                                  "lottery_max_per_person", *periods])
        batch_schedule(batch=batch, release_at=release_at, scheduled_by=scheduled_by, urgent=urgent,
                       urgent_reason=urgent_reason, reservation_opens_at=reservation_opens_at, now=now)
    return batch


def batch_unschedule(*, batch: Batch) -> Batch:
    if not _transition(batch, from_states=[S.SCHEDULED], to=S.DRAFT, release_at=None):
        raise BatchStateError("Only a scheduled batch can be taken back to draft.")
    return batch


_POLICY_WORDS = {
    P.FIRST_COME: "first come, first served",
    P.FAIR_SHARE: "fair share: everyone's claims are capped at an equal share for the first hours, so there is "
                  "no need to be awake at release",
    P.LOTTERY: "lottery: opt in on your dashboard before release; tasks are drawn evenly at random and each win "
               "is held for you until you wake up",
}


def batch_announce_release(*, batch_id: int, release_at: str) -> int:
    """Notify the batch's eligible contractors of its release (each in their own time zone).

    Keyed by batch and release time: a repeat does nothing, a re-schedule is announced anew."""
    batch = Batch.objects.select_related("project").filter(pk=batch_id, status=S.SCHEDULED).first()
    if batch is None or batch.release_at is None or batch.release_at.isoformat() != release_at:
        return 0  # unscheduled or moved since; the newer schedule sends its own announcement
    title = f"{batch.project.name} · {batch.name} opens {{at}}"
    body = f"Release policy: {_POLICY_WORDS[batch.release_policy]}."
    if batch.is_urgent:
        body += f" This release is urgent: {batch.urgent_reason}"
    return notifications_create_many(
        users=contractors_eligible_for(project=batch.project),
        kind="release_announced", title=title, body=body, url=reverse("work:dashboard"),
        key=f"release:{batch.pk}:{batch.release_at.isoformat()}", at=batch.release_at,
    )


def _night_hours() -> tuple[int, int, int]:
    """The contractor's night from the settings: (start hour, end hour, its length in hours)."""
    start, end = settings.TASKHUB_NIGHT_START_HOUR % 24, settings.TASKHUB_NIGHT_END_HOUR % 24
    return start, end, (end - start) % 24


def _reminder_due_now(*, release_at: datetime, now: datetime) -> RawSQL:
    """Whether a contractor (accounts_user, in the query around it) is due the reminder of a release
    at `release_at` now, in SQL over their time zone. The ordinary moment is release_at minus
    TASKHUB_RELEASE_REMINDER; when it falls in the person's night, the reminder is due instead in the
    last reminder period before that night began, the evening before (21:00-22:00 for a 22:00 night
    and a 60-minute reminder). Only used before the ordinary moment: from then on everyone is due (a
    release scheduled after someone's evening has passed still reminds them at the ordinary moment)."""
    start, end, length = _night_hours()
    reminder = settings.TASKHUB_RELEASE_REMINDER
    ordinary = release_at - reminder
    local = '(%s::timestamptz AT TIME ZONE "accounts_user"."timezone")'
    hour = f"extract(hour FROM {local})"
    joiner = "OR" if start > end else "AND"  # a night that crosses midnight, or one within a day
    in_night = f"({hour} >= %s {joiner} {hour} < %s)"
    # The night the moment falls in began at `start` on its local day, or on the day before.
    night_began = (f"((CASE WHEN {hour} < %s THEN {local}::date - 1 ELSE {local}::date END"
                   f" + make_time(%s, 0, 0)) AT TIME ZONE \"accounts_user\".\"timezone\")")
    sql = (f"({in_night} AND %s >= {night_began} - %s AND %s < {night_began})")
    began_params = [ordinary, start, ordinary, ordinary, start]
    params = [ordinary, start, ordinary, end, now, *began_params, reminder, now, *began_params]
    if not length:
        return RawSQL("FALSE", [], output_field=BooleanField())
    # Only fixed SQL text: every value is a parameter.
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def release_reminders_due(*, now: datetime | None = None) -> int:
    """Beat: remind the eligible contractors of each scheduled batch that opens within
    TASKHUB_RELEASE_REMINDER, with the time in each one's own zone (in-app, and by email for those
    who chose it). A person whose reminder would come in their night (TASKHUB_NIGHT_START_HOUR to
    TASKHUB_NIGHT_END_HOUR, their own zone) is reminded the evening before, in the last reminder
    period before the night (`_reminder_due_now`). Keyed by person, batch and release time: a repeat
    reminds nobody twice, a re-schedule reminds anew. One query per due batch, whatever the zones.
    Returns how many reminders were created."""
    now = now or timezone.now()
    reminder = settings.TASKHUB_RELEASE_REMINDER
    # The earliest a reminder can be due: its night's length before the ordinary moment.
    reach = reminder + timedelta(hours=_night_hours()[2])
    due = Batch.objects.select_related("project").filter(
        status=S.SCHEDULED, release_at__gt=now, release_at__lte=now + reach)
    created = 0
    for batch in due:
        users = contractors_eligible_for(project=batch.project)
        if now < batch.release_at - reminder:
            users = users.alias(reminder_due=_reminder_due_now(release_at=batch.release_at, now=now)).filter(
                reminder_due=True)
        created += notifications_create_many(
            users=users,
            kind="release_reminder", title=f"Soon: {batch.project.name} · {batch.name} opens {{at}}",
            body=f"Release policy: {_POLICY_WORDS[batch.release_policy]}.", url=reverse("work:dashboard"),
            key=f"release-reminder:{batch.pk}:{batch.release_at.isoformat()}", at=batch.release_at,
        )
    return created


# --- Opening and closing -------------------------------------------------------------------


def batch_open(*, batch: Batch, now: datetime | None = None) -> bool:
    """Open a first-come or fair-share batch now (deriving its fair-share cap in the same
    transaction). Returns False when someone else already opened it. Lottery batches open
    with their draw (`annotations.services.release`)."""
    if batch.release_policy == P.LOTTERY:
        raise BatchStateError("A lottery batch opens with its draw.", code="lottery_opens_with_draw")
    batch_check_releasable(batch=batch)
    now = now or timezone.now()
    with transaction.atomic():
        opened = _transition(batch, from_states=[S.DRAFT, S.SCHEDULED], to=S.OPEN, released_at=now)
        if opened:
            _start_cap_schedule(batch_ids=[batch.pk], now=now)
            fair_share_caps_derive(batch_ids=[batch.pk])
    if opened:
        batch.refresh_from_db(fields=["fair_share_cap", "fair_share_cap_derived", "fair_share_ends_at",
                                      "fair_share_step"])
    return opened


def _start_cap_schedule(*, batch_ids: list[int], now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE projects_batch SET fair_share_step = 0, fair_share_ends_at = {_ENDS_AT_SQL} "
            "WHERE id = ANY(%(ids)s)",
            {"ids": list(batch_ids), "now": now},
        )


def batch_fair_share_cap_step(*, batch_id: int, from_step: int, to_step: int, cap: int) -> int:
    """Record that the batch's cap schedule took step `to_step`, setting its cap. Conditional on
    the step it was at, so two sweeps applying the same step apply it once (returns 0 or 1)."""
    return Batch.objects.filter(pk=batch_id, fair_share_step=from_step, status=S.OPEN).update(
        fair_share_step=to_step, fair_share_cap=max(1, cap),
    )


_OPEN_FOR_DRAW_SQL = f"""
UPDATE projects_batch
SET status = 'open', released_at = %(now)s, allocated_at = %(now)s, lottery_seed = %(seed)s,
    fair_share_step = 0, fair_share_ends_at = {_ENDS_AT_SQL}
WHERE id = %(batch)s AND status = 'scheduled' AND release_policy = 'lottery' AND allocated_at IS NULL
RETURNING project_id
"""


def batch_open_for_draw(*, batch_id: int, seed: int, now: datetime) -> int | None:
    """Open a scheduled lottery batch for its draw, recording the seed; returns its project's id, or
    None when it was already drawn (or is no scheduled lottery). Call inside the draw's transaction:
    this conditional UPDATE is what makes the draw happen once."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_FOR_DRAW_SQL, {"batch": batch_id, "now": now, "seed": seed})
        row = cursor.fetchone()
    return row[0] if row else None


def batches_open_due(*, now: datetime | None = None) -> list[int]:
    """Open every scheduled first-come or fair-share batch whose release time has passed; returns
    the ids this call opened (lottery batches are drawn by the claim engine)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Batch.objects.filter(status=S.SCHEDULED, release_at__lte=now)
            .exclude(release_policy=P.LOTTERY)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        if not ids:
            return []
        fair_share_caps_derive(batch_ids=ids)
        _start_cap_schedule(batch_ids=ids, now=now)
        Batch.objects.filter(id__in=ids, status=S.SCHEDULED).update(status=S.OPEN, released_at=now)
    return ids


def batch_close(*, batch: Batch, by, reason: str, now: datetime | None = None) -> Batch:
    """Stop handing out the batch's tasks: an admin's decision with a reason, kept on the batch and in the
    audit trail. Claims already held may still be submitted; their holders are told, with the reason
    (annotations, through taskhub.hooks.batch_closed)."""
    if by is None or getattr(by, "role", None) != Role.ADMIN or not by.is_active:
        raise Forbidden("Only an admin closes a batch.", code="not_an_admin")
    now = now or timezone.now()
    text = clean_reason(reason, field="reason", what="Closing a batch",
                        minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=BatchCloseError)
    with transaction.atomic():
        if not _transition(batch, from_states=[S.OPEN, S.EXHAUSTED, S.SCHEDULED, S.DRAFT], to=S.CLOSED,
                           closed_at=now, closed_reason=text, closed_by=by):
            raise BatchStateError("The batch is already closed.")
        project = batch.project
        told = batch_closed(batch_id=batch.pk, batch_name=batch.name, project_name=project.name, by_id=by.pk,
                            reason=text, now=now)
        audit_record(actor=by, kind=AuditEntry.Kind.BATCH_CLOSED, project=project, obj=batch, reason=text, at=now,
                     summary=f"Batch {batch.name} of {project.name} closed",
                     data={"holders_told": told})
    batch.holders_told = told
    return batch


def batches_exhaust_finished() -> list[int]:
    """Mark exhausted every open batch whose tasks all have their submissions (beat, every minute):
    the submit that finishes a batch does it right after its commit, unless its process died in
    between. Returns the ids this call marked."""
    unfinished = Task.objects.filter(batch_id=OuterRef("pk"), submitted_count__lt=F("overlap"))
    done = Batch.objects.filter(status=S.OPEN).filter(~Exists(unfinished)).values_list("id", flat=True)
    return [batch_id for batch_id in done if batch_mark_exhausted_if_done(batch_id=batch_id)]


# Every submission that finishes a task asks this after its commit: prepared once per connection, and
# read through task_unfinished_idx whatever the statistics say (projects/sql/batch_progress.sql).
_UNFINISHED_TASK_LEFT = Prepared(
    "unfinished_task_left", "SELECT projects_batch_has_unfinished_task(%(batch)s)", {"batch": "bigint"},
)


def batch_mark_exhausted_if_done(*, batch_id: int) -> bool:
    """An open batch becomes exhausted once every task has all the submissions it needs; the
    project's `batch.exhausted` webhooks are told once the transaction commits. Once: the status
    change is a conditional update. It takes no lock: a submission that finishes a task calls it
    after its own commit (annotations.services.claims.claim_submit), when it sees every submission
    committed before it."""
    # A read first, outside any transaction (task_unfinished_idx): nearly every call finds work left.
    with connection.cursor() as cursor:
        _UNFINISHED_TASK_LEFT.execute(cursor, {"batch": batch_id})
        if cursor.fetchone()[0]:
            return False
    unfinished = Task.objects.filter(batch_id=OuterRef("pk"), submitted_count__lt=F("overlap"))
    with transaction.atomic():
        exhausted = bool(
            Batch.objects.filter(pk=batch_id, status=S.OPEN).filter(~Exists(unfinished)).update(status=S.EXHAUSTED)
        )
        if exhausted:
            batch = Batch.objects.select_related("project").get(pk=batch_id)
            webhooks_emit(project_id=batch.project_id, event="batch.exhausted", data={
                "batch": {"id": batch.pk, "name": batch.name, "status": batch.status},
                "tasks": Task.objects.filter(batch_id=batch_id).count(),
            })
    return exhausted
