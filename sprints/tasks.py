"""Celery tasks of sprints: thin and idempotent."""

from celery import shared_task

from . import services
from .services import alerts


@shared_task(name="sprints.tasks.sprints_open_close_due")
def sprints_open_close_due() -> dict:
    """Beat, every minute: open sprints whose window started, close (with their summary) those
    whose window ended. Conditional updates make a repeat or a concurrent run change nothing."""
    return {"opened": services.sprints_open_due(), "closed": services.sprints_close_due()}


@shared_task(name="sprints.tasks.lead_alerts_send")
def lead_alerts_send() -> int:
    """Beat, every minute: notify leads of new flags and appeals on their people and of their sprints'
    milestones. Each notification has a key, so a repeat or a concurrent run inserts nothing twice."""
    return alerts.lead_alerts_send()
