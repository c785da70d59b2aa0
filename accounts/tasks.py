"""Celery tasks of accounts: thin and idempotent."""

from celery import shared_task

from . import services


@shared_task(name="accounts.tasks.users_deactivate_due")
def users_deactivate_due() -> int:
    """Beat, every minute: carry out the deactivations an admin set for a later time (each decided,
    reasoned and announced by `user_deactivate`). A repeat finds nothing left to do."""
    return services.users_deactivate_due()
