from celery import shared_task

from . import services


@shared_task(name="annotations.tasks.claims_expire_overdue")
def claims_expire_overdue() -> int:
    """Beat, every minute. Safe to repeat: a claim expires once (conditional update)."""
    return services.claims_expire_overdue()


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
