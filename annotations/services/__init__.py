"""Writes of the claim engine (claims, releases, the lottery), of the work (drafts, active time,
submissions) and of grading (reviews, gold, appeals, flags). Each function owns its transaction."""

from .appeals import appeal_create, appeal_decide
from .claims import claim_open, claim_release, claim_submit, claims_expire_overdue, task_claim_next
from .conversation import conversation_attach, turn_create, turn_stream, turns_settle
from .fair_share import demand_share, fair_share_caps_relax
from .flags import (
    contractor_flags_recompute,
    flag_decide,
    flag_respond,
    pause_appeal_create,
    pause_appeal_decide,
    pause_lift,
)
from .gold import agreement_figures_compute, submission_grade_gold
from .labels import task_labels_compute
from .lottery import (
    lottery_allocate,
    lottery_batches_due,
    lottery_notify_lapsed,
    lottery_notify_results,
    lottery_opt_in,
    lottery_opt_out,
    lottery_replay,
)
from .onboarding import onboarding_pass_check, onboarding_progress
from .problems import problem_report_create, problem_report_resolve
from .release import batch_release, batches_release_due
from .reviews import review_create
from .second_opinions import second_opinion_decide, second_opinion_grade, second_opinions_sample
from .work import claim_draft_save, claim_heartbeat

__all__ = [
    "agreement_figures_compute",
    "appeal_create",
    "appeal_decide",
    "batch_release",
    "batches_release_due",
    "claim_draft_save",
    "claim_heartbeat",
    "claim_open",
    "claim_release",
    "claim_submit",
    "claims_expire_overdue",
    "contractor_flags_recompute",
    "conversation_attach",
    "demand_share",
    "fair_share_caps_relax",
    "flag_decide",
    "flag_respond",
    "lottery_allocate",
    "lottery_batches_due",
    "lottery_notify_lapsed",
    "lottery_notify_results",
    "lottery_opt_in",
    "lottery_opt_out",
    "lottery_replay",
    "onboarding_pass_check",
    "onboarding_progress",
    "pause_appeal_create",
    "pause_appeal_decide",
    "pause_lift",
    "problem_report_create",
    "problem_report_resolve",
    "review_create",
    "second_opinion_decide",
    "second_opinion_grade",
    "second_opinions_sample",
    "submission_grade_gold",
    "task_claim_next",
    "task_labels_compute",
    "turn_create",
    "turn_stream",
    "turns_settle",
]
