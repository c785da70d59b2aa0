"""Celery tasks of projects: thin and idempotent, they take ids and call a service.

Services enqueue these on commit and these call services, so the two import each other as
modules (`from . import services`, `from .. import tasks`); neither reaches into the other
until a task runs.
"""

from celery import shared_task

from . import services


@shared_task(name="projects.tasks.batch_announce_release")
def batch_announce_release(batch_id: int, release_at: str) -> int:
    """Fan out the release announcement; keyed, so a redelivery notifies nobody twice."""
    return services.batch_announce_release(batch_id=batch_id, release_at=release_at)


@shared_task(name="projects.tasks.release_reminders_due")
def release_reminders_due() -> int:
    """Beat: the reminder before a scheduled release; keyed, so a repeat reminds nobody twice."""
    return services.release_reminders_due()


@shared_task(name="projects.tasks.batches_exhaust_finished")
def batches_exhaust_finished() -> list[int]:
    """Beat: mark exhausted the open batches whose work is all done (a second net; submits do it)."""
    return services.batches_exhaust_finished()


@shared_task(name="projects.tasks.task_import_run")
def task_import_run(task_import_id: int) -> str:
    """Validate and write one upload. A redelivery finds it finished (or running) and stops."""
    return services.task_import_run(task_import_id=task_import_id).status


@shared_task(name="projects.tasks.task_imports_purge_files")
def task_imports_purge_files() -> int:
    """Nightly: delete uploads of imports finished over a week ago; the records stay."""
    return services.task_import_files_purge()


@shared_task(name="projects.tasks.webhook_deliver", bind=True, max_retries=None, acks_late=True)
def webhook_deliver(self, delivery_id: int) -> str | None:
    """One attempt at a webhook delivery (on the webhook queue, CELERY_WEBHOOK_QUEUE); a failure is
    recorded and retried with backoff until TASKHUB_WEBHOOK_MAX_ATTEMPTS. A repeat of a delivered
    one does nothing."""
    wait = services.webhook_deliver(delivery_id=delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait)
    return None


@shared_task(name="projects.tasks.pairwise_generation_run")
def pairwise_generation_run(generation_id: int) -> str:
    """Generate the next slice of a pairwise batch from its prompts; a repeat skips what is written."""
    return services.pairwise_generation_run(generation_id=generation_id).status


@shared_task(name="projects.tasks.pairwise_generations_resume")
def pairwise_generations_resume() -> int:
    """Beat: start again the generations whose worker died (nobody holds their lock)."""
    return services.pairwise_generations_resume()
