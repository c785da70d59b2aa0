"""Writes to projects, rates, grade policies, lineages, qualifications, batches and tasks. Each
function owns its transaction."""

from .batches import (
    batch_announce_release,
    batch_check_releasable,
    batch_close,
    batch_fair_share_cap_step,
    batch_mark_exhausted_if_done,
    batch_open,
    batch_open_for_draw,
    batch_schedule,
    batch_schedule_release,
    batch_unschedule,
    batches_exhaust_finished,
    batches_open_due,
    fair_share_caps_derive,
    release_reminders_due,
)
from .endpoints import model_endpoint_check, model_endpoint_create, model_endpoint_update
from .generation import (
    pairwise_generation_create,
    pairwise_generation_retry,
    pairwise_generation_run,
    pairwise_generations_resume,
)
from .imports import task_import_create, task_import_files_purge, task_import_run
from .instructions import instructions_change_notify, instructions_version_add
from .lineage import project_lineage_decline, project_lineage_set
from .media import media_file_create
from .policies import grade_policy_set
from .qualifications import qualification_grant, qualification_revoke
from .rates import pay_rate_notify, pay_rate_preview, pay_rate_set, rate_change_is_cut
from .setup import batch_create_draft, project_create, project_open_blockers, project_update
from .webhooks import (
    webhook_create,
    webhook_deliver,
    webhook_delivery_resend,
    webhook_update,
    webhooks_emit,
)

__all__ = [
    "batch_announce_release",
    "batch_check_releasable",
    "batch_close",
    "batch_create_draft",
    "batch_fair_share_cap_step",
    "batch_mark_exhausted_if_done",
    "batch_open",
    "batch_open_for_draw",
    "batch_schedule",
    "batch_schedule_release",
    "batch_unschedule",
    "batches_exhaust_finished",
    "batches_open_due",
    "fair_share_caps_derive",
    "grade_policy_set",
    "instructions_change_notify",
    "instructions_version_add",
    "media_file_create",
    "model_endpoint_check",
    "model_endpoint_create",
    "model_endpoint_update",
    "pairwise_generation_create",
    "pairwise_generation_retry",
    "pairwise_generation_run",
    "pairwise_generations_resume",
    "pay_rate_notify",
    "pay_rate_preview",
    "pay_rate_set",
    "project_create",
    "project_lineage_decline",
    "project_lineage_set",
    "project_open_blockers",
    "project_update",
    "qualification_grant",
    "qualification_revoke",
    "rate_change_is_cut",
    "release_reminders_due",
    "task_import_create",
    "task_import_files_purge",
    "task_import_run",
    "webhook_create",
    "webhook_deliver",
    "webhook_delivery_resend",
    "webhook_update",
    "webhooks_emit",
]
