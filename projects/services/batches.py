"""Batch life cycle: draft → scheduled → open → exhausted → closed.

Every transition is a conditional UPDATE on the current status, so a transition happens
exactly once however many schedulers, workers or admins try it at the same moment.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from ..errors import BatchStateError
from ..models import Batch, Task

S = Batch.Status


def _transition(batch: Batch, *, from_states: list[str], to: str, **fields) -> bool:
    updated = Batch.objects.filter(pk=batch.pk, status__in=from_states).update(status=to, **fields)
    if updated:
        batch.status = to
        for name, value in fields.items():
            setattr(batch, name, value)
    return bool(updated)


def _check_policy(batch: Batch) -> None:
    if batch.release_policy == Batch.Policy.FAIR_SHARE and not batch.fair_share_cap:
        raise BatchStateError("A fair-share batch needs a per-contractor cap.", field="fair_share_cap")


def batch_schedule(*, batch: Batch, release_at: datetime) -> Batch:
    now = timezone.now()
    if release_at <= now:
        raise BatchStateError("The release time must be in the future.", field="release_at")
    _check_policy(batch)
    if not Task.objects.filter(batch=batch).exists():
        raise BatchStateError("Import tasks into the batch before scheduling it.")
    if not _transition(batch, from_states=[S.DRAFT, S.SCHEDULED], to=S.SCHEDULED, release_at=release_at):
        raise BatchStateError(f"A {batch.get_status_display().lower()} batch cannot be scheduled.")
    return batch


def batch_unschedule(*, batch: Batch) -> Batch:
    if not _transition(batch, from_states=[S.SCHEDULED], to=S.DRAFT, release_at=None):
        raise BatchStateError("Only a scheduled batch can be taken back to draft.")
    return batch


def batch_release(*, batch: Batch) -> bool:
    """Open the batch now. Returns False when someone else already released it."""
    _check_policy(batch)
    if not Task.objects.filter(batch=batch).exists():
        raise BatchStateError("The batch has no tasks to release.")
    return _transition(batch, from_states=[S.DRAFT, S.SCHEDULED], to=S.OPEN, released_at=timezone.now())


def batches_release_due(*, now: datetime | None = None) -> list[int]:
    """Open every scheduled batch whose release time has passed; returns the ids this call opened."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Batch.objects.filter(status=S.SCHEDULED, release_at__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        if not ids:
            return []
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
