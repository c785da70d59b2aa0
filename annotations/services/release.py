"""Releasing a batch: the moment the claim engine starts handing out its tasks.

A first-come or fair-share batch opens (`projects.services.batch_open`); a lottery batch opens
with its draw (`lottery.lottery_allocate`). Either happens exactly once, whoever triggers it: an
admin by hand, or beat at the release time. Both take `now`, so a simulation (bench/fairness.py)
or a test drives them on its own clock.
"""

from __future__ import annotations

from datetime import datetime

from projects.errors import BatchStateError
from projects.models import Batch
from projects.services import batch_check_releasable, batch_open, batches_open_due
from taskhub.outbox import enqueue

from .. import tasks
from .lottery import lottery_allocate, lottery_batches_due


def batch_release(*, batch: Batch, now: datetime | None = None) -> bool:
    """Release the batch at `now` (default: this moment). Returns False when someone else already
    released it."""
    batch_check_releasable(batch=batch)
    if batch.release_policy != Batch.Policy.LOTTERY:
        return batch_open(batch=batch, now=now)
    allocation = lottery_allocate(batch_id=batch.pk, now=now)
    batch.refresh_from_db()
    if allocation is None and batch.status == Batch.Status.DRAFT:
        raise BatchStateError("Schedule a lottery batch, with its reservation window, before drawing it.")
    return allocation is not None


def batches_release_due(*, now: datetime | None = None) -> list[int]:
    """Open every due first-come and fair-share batch (returning their ids) and start the draw of
    every due lottery batch, each in a task of its own (drawn once, whoever runs it first)."""
    opened = batches_open_due(now=now)
    for batch_id in lottery_batches_due(now=now):
        enqueue(tasks.lottery_allocate, batch_id=batch_id)
    return opened
