"""Celery tasks of accounts: thin and idempotent."""

from celery import shared_task

from . import services


@shared_task(name="accounts.tasks.users_deactivate_due")
def users_deactivate_due() -> int:
    """Beat, every minute: carry out the deactivations an admin set for a later time (each decided,
    reasoned and announced by `user_deactivate`). A repeat finds nothing left to do."""
    return services.users_deactivate_due()


@shared_task(name="accounts.tasks.emails_send", bind=True, max_retries=6)
def emails_send(self, email_ids: list[int]) -> int:
    """Send these emails, each once (a repeat finds them sent). The mail server being unreachable
    retries the task (30 s, 1, 2, 4 ... min); beat's digest round sends whatever is still left."""
    from . import mail

    try:
        return mail.emails_send(email_ids=email_ids)
    except mail.EmailNotSent as exc:
        raise self.retry(exc=exc, countdown=min(30 * 2 ** self.request.retries, 3600)) from exc


@shared_task(name="accounts.tasks.emails_digest_due")
def emails_digest_due() -> int:
    """Beat, every 15 minutes: today's digests for the people whose digest hour has come."""
    from . import mail

    return mail.emails_digest_due()
