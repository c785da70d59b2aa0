"""Writes for claims, submissions and (later) reviews. Each function owns its transaction."""

from .claims import claim_release, claim_submit, claims_expire_overdue, task_claim_next

__all__ = ["claim_release", "claim_submit", "claims_expire_overdue", "task_claim_next"]
