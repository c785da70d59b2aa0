from datetime import datetime

from celery import shared_task
from django.utils.dateparse import parse_datetime

from . import services


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


@shared_task(name="payouts.tasks.earnings_recompute")
def earnings_recompute(
    contractor_id: int | None = None,
    project_id: int | None = None,
    submitted_from: str | None = None,
    submitted_before: str | None = None,
) -> int:
    """After reviews, appeals and rate changes, and nightly (everything). Repeats write nothing."""
    return services.earnings_recompute(
        contractor_id=contractor_id,
        project_id=project_id,
        submitted_from=_when(submitted_from),
        submitted_before=_when(submitted_before),
    )


@shared_task(name="payouts.tasks.payouts_draft_due")
def payouts_draft_due() -> int:
    """Beat, weekly: draft the payouts of the period that just ended. Repeats draft nothing new."""
    return services.payouts_draft(period=services.payout_period_last_closed())
