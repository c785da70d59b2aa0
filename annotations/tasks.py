from celery import shared_task

from . import services


@shared_task(name="annotations.tasks.claims_expire_overdue")
def claims_expire_overdue() -> int:
    """Beat, every minute. Safe to repeat: a claim expires once (conditional update)."""
    return services.claims_expire_overdue()
