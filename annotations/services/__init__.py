"""Writes for claims, submissions and (later) reviews. Each function owns its transaction."""

from .appeals import appeal_create, appeal_decide
from .claims import claim_release, claim_submit, claims_expire_overdue, task_claim_next
from .flags import contractor_flags_recompute, flag_decide, pause_lift
from .gold import agreement_figures_compute, submission_grade_gold
from .reviews import review_create
from .work import claim_draft_save, claim_heartbeat

__all__ = [
    "agreement_figures_compute",
    "appeal_create",
    "appeal_decide",
    "claim_draft_save",
    "claim_heartbeat",
    "claim_release",
    "claim_submit",
    "claims_expire_overdue",
    "contractor_flags_recompute",
    "flag_decide",
    "pause_lift",
    "review_create",
    "submission_grade_gold",
    "task_claim_next",
]
