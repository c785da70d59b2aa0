"""Writes to projects, rates, batches and tasks. Each function owns its transaction."""

from .batches import (
    batch_close,
    batch_mark_exhausted_if_done,
    batch_release,
    batch_schedule,
    batch_unschedule,
    batches_release_due,
    fair_share_caps_derive,
)
from .imports import task_import_create, task_import_files_purge, task_import_run
from .qualifications import qualification_grant, qualification_revoke
from .rates import pay_rate_set

__all__ = [
    "batch_close",
    "batch_mark_exhausted_if_done",
    "batch_release",
    "batch_schedule",
    "batch_unschedule",
    "batches_release_due",
    "fair_share_caps_derive",
    "pay_rate_set",
    "qualification_grant",
    "qualification_revoke",
    "task_import_create",
    "task_import_files_purge",
    "task_import_run",
]
