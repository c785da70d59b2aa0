from celery import shared_task

from . import services


@shared_task(name="projects.tasks.batches_release_due")
def batches_release_due() -> list[int]:
    """Beat, every minute. Each due batch is opened exactly once however often this runs."""
    return services.batches_release_due()
