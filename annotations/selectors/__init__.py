"""Reads of the claim engine and of grading, with related rows joined: the contractor's own work
(`work`), grading (`review`) and fair release (`release`)."""

from .release import batch_fairness_report, lottery_entries_for
from .review import (
    agreement_figures,
    appeal_get_for_decider,
    appeals_open_for,
    calibration_items,
    contractor_pause_in_force,
    current_reviews_with_final_grade,
    flags_for_contractor,
    flags_open,
    pause_appeals_open,
    pauses_in_force,
    review_next_for,
    review_queue,
    reviews_for_contractor,
    submission_final_grade,
    submission_get_for_review,
)
from .work import (
    audit_project_ids_for,
    claim_get_for_user,
    claims_active_for,
    projects_for_dashboard,
    releases_for_contractor,
    submissions_for,
    submissions_with_reviews_for,
)

__all__ = [
    "agreement_figures",
    "appeal_get_for_decider",
    "appeals_open_for",
    "audit_project_ids_for",
    "batch_fairness_report",
    "calibration_items",
    "claim_get_for_user",
    "claims_active_for",
    "contractor_pause_in_force",
    "current_reviews_with_final_grade",
    "flags_for_contractor",
    "flags_open",
    "lottery_entries_for",
    "pause_appeals_open",
    "pauses_in_force",
    "projects_for_dashboard",
    "releases_for_contractor",
    "review_next_for",
    "review_queue",
    "reviews_for_contractor",
    "submission_final_grade",
    "submission_get_for_review",
    "submissions_for",
    "submissions_with_reviews_for",
]
