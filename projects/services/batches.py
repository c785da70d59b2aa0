"""Batch life cycle: draft → scheduled → open → exhausted → closed.

Every transition is a conditional UPDATE on the current status, so a transition happens
exactly once however many schedulers, workers or admins try it at the same moment.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import Role

from ..errors import BatchStateError
from ..models import Batch, Task

S = Batch.Status
P = Batch.Policy

# A fair-share batch without a fixed cap gets ceil(slots / eligible contractors), written
# in the same transaction that opens it, so no claim ever sees an open batch without a cap.
_DERIVE_CAPS_SQL = """
UPDATE projects_batch b
SET fair_share_cap = d.cap, fair_share_cap_derived = TRUE
FROM (
    SELECT b2.id, GREATEST(1, CEIL(
        (SELECT COALESCE(SUM(t.overlap), 0) FROM projects_task t WHERE t.batch_id = b2.id)::numeric
        / GREATEST(1, (
            SELECT count(*) FROM accounts_user u
            WHERE u.role = 'contractor' AND u.is_active
              AND (p.qualification_id IS NULL OR EXISTS (
                  SELECT 1 FROM projects_qualification q
                  WHERE q.contractor_id = u.id AND q.project_id = p.qualification_id))
        ))
    ))::int AS cap
    FROM projects_batch b2 JOIN projects_project p ON p.id = b2.project_id
    WHERE b2.id = ANY(%(ids)s) AND b2.fair_share_cap IS NULL
      AND (b2.release_policy = 'fair_share' OR (b2.release_policy = 'lottery' AND b2.fallback_policy = 'fair_share'))
) d
WHERE b.id = d.id
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


def _local(moment: datetime, user) -> str:
    tz = getattr(user, "tzinfo", None)
    return f"{timezone.localtime(moment, tz):%a %d %b %Y %H:%M %Z}"


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
    if release_at <= now:
        raise BatchStateError("The release time must be in the future.", field="release_at")
    _check_policy(batch)
    urgent_reason = (urgent_reason or "").strip()
    notice = settings.TASKHUB_RELEASE_MIN_NOTICE
    hours = notice.total_seconds() / 3600
    if release_at - now < notice:
        if not urgent:
            raise BatchStateError(
                f"Releases are announced at least {hours:g} hours ahead: the earliest release time now is "
                f"{_local(now + notice, scheduled_by)}. Mark it urgent, with a reason, to release sooner.",
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
    if len(urgent_reason) > Batch._meta.get_field("urgent_reason").max_length:
        raise BatchStateError("Keep the urgent reason to 500 characters.", field="urgent_reason")
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
        from ..tasks import batch_announce_release

        batch_id, when = batch.pk, release_at.isoformat()
        transaction.on_commit(lambda: batch_announce_release.delay(batch_id=batch_id, release_at=when))
    return batch


def batch_unschedule(*, batch: Batch) -> Batch:
    if not _transition(batch, from_states=[S.SCHEDULED], to=S.DRAFT, release_at=None):
        raise BatchStateError("Only a scheduled batch can be taken back to draft.")
    return batch


def batch_release(*, batch: Batch) -> bool:
    """Open the batch now. Returns False when someone else already released it.

    A lottery batch is opened by its allocation (projects.services.release.lottery_allocate),
    so that the draw and the opening are one transaction that happens once."""
    _check_policy(batch)
    if not Task.objects.filter(batch=batch).exists():
        raise BatchStateError("The batch has no tasks to release.")
    if batch.release_policy == P.LOTTERY:
        from .release import lottery_allocate

        allocation = lottery_allocate(batch_id=batch.pk)
        batch.refresh_from_db()
        if allocation is None and batch.status == S.DRAFT:
            raise BatchStateError("Schedule a lottery batch, with its reservation window, before drawing it.")
        return allocation is not None
    with transaction.atomic():
        opened = _transition(batch, from_states=[S.DRAFT, S.SCHEDULED], to=S.OPEN, released_at=timezone.now())
        if opened:
            fair_share_caps_derive(batch_ids=[batch.pk])
    if opened:
        batch.refresh_from_db(fields=["fair_share_cap", "fair_share_cap_derived"])
    return opened


def batches_release_due(*, now: datetime | None = None) -> list[int]:
    """Open every scheduled batch whose release time has passed; returns the ids this call opened.

    Lottery batches are left to their allocation (`lottery_batches_due` + `lottery_allocate`)."""
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
        Batch.objects.filter(id__in=ids, status=S.SCHEDULED).update(status=S.OPEN, released_at=now)
    return ids


def batch_close(*, batch: Batch) -> Batch:
    """Stop handing out the batch's tasks. Claims already held may still be submitted."""
    if not _transition(batch, from_states=[S.OPEN, S.EXHAUSTED, S.SCHEDULED, S.DRAFT], to=S.CLOSED,
                       closed_at=timezone.now()):
        raise BatchStateError("The batch is already closed.")
    return batch


def batch_mark_exhausted_if_done(*, batch_id: int) -> bool:
    """An open batch becomes exhausted once every task has all the submissions it needs."""
    unfinished = Task.objects.filter(batch_id=OuterRef("pk"), submitted_count__lt=F("overlap"))
    return bool(
        Batch.objects.filter(pk=batch_id, status=S.OPEN).filter(~Exists(unfinished)).update(status=S.EXHAUSTED)
    )
