"""Writes to the ledger (bonuses, adjustments, the earnings recompute), payouts and wage floors.
Each function owns its transaction."""

from .floors import wage_floor_set
from .ledger import ledger_adjustment_add, ledger_bonus_add
from .payouts import (
    payout_mark_paid,
    payout_period_for,
    payout_period_last_closed,
    payouts_approve,
    payouts_draft,
    payouts_draft_explained,
)
from .recompute import earnings_recompute, earnings_recompute_enqueue, submission_cache_rebuild

__all__ = [
    "earnings_recompute",
    "earnings_recompute_enqueue",
    "ledger_adjustment_add",
    "ledger_bonus_add",
    "payout_mark_paid",
    "payout_period_for",
    "payout_period_last_closed",
    "payouts_approve",
    "payouts_draft",
    "payouts_draft_explained",
    "submission_cache_rebuild",
    "wage_floor_set",
]
