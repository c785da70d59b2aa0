"""Celery tasks of the frame: the outbox drain and the heartbeat, both scheduled by beat."""

from celery import shared_task

from . import heartbeats, outbox


@shared_task(name="taskhub.tasks.outbox_drain")
def outbox_drain() -> int:
    """Beat, every TASKHUB_OUTBOX_DRAIN_SECONDS: send what the outbox still holds."""
    return outbox.drain()


@shared_task(name=heartbeats.TASK_NAME)
def heartbeat() -> None:
    """Beat, every TASKHUB_SERVICE_HEARTBEAT_SECONDS: a worker ran this, so workers consume the queue."""
    heartbeats.heartbeat_record(heartbeats.WORKER)
