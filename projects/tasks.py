from celery import shared_task

from . import services


@shared_task(name="projects.tasks.batches_release_due")
def batches_release_due() -> list[int]:
    """Beat, every minute. Each due batch is opened exactly once however often this runs;
    a due lottery batch gets its own draw task (drawn once, whoever runs it first)."""
    from .services import release

    opened = services.batches_release_due()
    for batch_id in release.lottery_batches_due():
        lottery_allocate.delay(batch_id=batch_id)
    return opened


@shared_task(name="projects.tasks.lottery_allocate")
def lottery_allocate(batch_id: int) -> int | None:
    """Draw a lottery batch. A repeat finds it already drawn and does nothing."""
    from .services import release

    allocation = release.lottery_allocate(batch_id=batch_id)
    return allocation.claims_created if allocation else None


@shared_task(name="projects.tasks.lottery_notify_results")
def lottery_notify_results(batch_id: int) -> int:
    from .services import release

    return release.lottery_notify_results(batch_id=batch_id)


@shared_task(name="projects.tasks.batch_announce_release")
def batch_announce_release(batch_id: int, release_at: str) -> int:
    """Fan out the release announcement; keyed, so a redelivery notifies nobody twice."""
    from .services import release

    return release.batch_announce_release(batch_id=batch_id, release_at=release_at)


@shared_task(name="projects.tasks.sprints_open_close_due")
def sprints_open_close_due() -> dict:
    """Beat, every minute: open sprints whose window started, close (with their summary) those
    whose window ended. Conditional updates make a repeat or a concurrent run change nothing."""
    from .services import sprints

    return {"opened": sprints.sprints_open_due(), "closed": sprints.sprints_close_due()}


@shared_task(name="projects.tasks.task_import_run")
def task_import_run(task_import_id: int) -> str:
    """Validate and write one upload. A redelivery finds it finished (or running) and stops."""
    from .services.imports import task_import_run as run

    return run(task_import_id=task_import_id).status


@shared_task(name="projects.tasks.task_imports_purge_files")
def task_imports_purge_files() -> int:
    """Nightly: delete uploads of imports finished over a week ago; the records stay."""
    from .services.imports import task_import_files_purge

    return task_import_files_purge()
