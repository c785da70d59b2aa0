"""Celery tasks of the claim engine and of grading: thin and idempotent, they take ids and call a
service. Services enqueue these on commit and these call services, so the two import each other
as modules; neither reaches into the other until a task runs."""

from celery import shared_task

from . import exports, services


@shared_task(name="annotations.tasks.batches_release_due")
def batches_release_due() -> list[int]:
    """Beat, every minute. Each due batch is opened exactly once however often this runs;
    a due lottery batch gets its own draw task (drawn once, whoever runs it first)."""
    return services.batches_release_due()


@shared_task(name="annotations.tasks.lottery_allocate")
def lottery_allocate(batch_id: int) -> int | None:
    """Draw a lottery batch. A repeat finds it already drawn and does nothing."""
    allocation = services.lottery_allocate(batch_id=batch_id)
    return allocation.claims_created if allocation else None


@shared_task(name="annotations.tasks.lottery_notify_results")
def lottery_notify_results(batch_id: int) -> int:
    return services.lottery_notify_results(batch_id=batch_id)


@shared_task(name="annotations.tasks.lottery_notify_lapsed")
def lottery_notify_lapsed(batch_id: int) -> int:
    """After reservations lapsed. Safe to repeat: keyed per batch and person."""
    return services.lottery_notify_lapsed(batch_id=batch_id)


@shared_task(name="annotations.tasks.claims_expire_overdue")
def claims_expire_overdue() -> int:
    """Beat, every minute: overdue claims expire, ended reservations lapse. Safe to repeat: a
    claim ends once (conditional update)."""
    return services.claims_expire_overdue()


@shared_task(name="annotations.tasks.fair_share_caps_relax")
def fair_share_caps_relax() -> int:
    """Beat, every minute: fair-share caps follow their published schedule. Safe to repeat: each
    step is applied once (conditional update on the step)."""
    return services.fair_share_caps_relax()


@shared_task(name="annotations.tasks.contractor_flags_recompute")
def contractor_flags_recompute(contractor_id: int, project_id: int) -> int | None:
    """After a grade or a revised appeal. Safe to repeat: at most one open flag per person and
    project (partial unique constraint), and none again without a newer grade."""
    flag = services.contractor_flags_recompute(contractor_id=contractor_id, project_id=project_id)
    return flag.pk if flag is not None else None


@shared_task(name="annotations.tasks.agreement_figures_compute")
def agreement_figures_compute(project_id: int | None = None) -> int:
    """Beat, nightly (and on demand). Safe to repeat: each figure is replaced in place."""
    return services.agreement_figures_compute(project_id=project_id)


@shared_task(name="annotations.tasks.export_run", soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300)
def export_run(export_id: int) -> str:
    """Write one export. A redelivery finds it finished (or being written) and stops."""
    return exports.export_run(export_id=export_id).status


@shared_task(name="annotations.tasks.exports_purge_files")
def exports_purge_files() -> int:
    """Nightly: delete export files older than TASKHUB_EXPORT_KEEP_DAYS; the records stay."""
    return exports.exports_purge_files()


@shared_task(name="annotations.tasks.task_labels_compute")
def task_labels_compute(batch_id: int) -> int | None:
    """Recompute a batch's final labels and agreement. Safe to repeat: the rows are replaced."""
    figures = services.task_labels_compute(batch_id=batch_id)
    return figures.tasks if figures else None
