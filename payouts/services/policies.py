"""Grade policies: what share of the pay each final grade earns on a project."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from projects.models import Project

from ..errors import LedgerError
from ..models import GRADE_POLICY_FIELDS, GradePolicy
from .recompute import earnings_recompute_enqueue


def grade_policy_set(*, project: Project, percents: dict[str, Decimal | str], updated_by) -> GradePolicy:
    """Set the project's policy (percent of pay for grades 1–5 and for ungraded work) and recompute.

    Changing a policy changes what past work on the project earns, so the project's earnings
    are recomputed once the change commits; the differences reach the ledger as adjustments.
    """
    values = {}
    for name in GRADE_POLICY_FIELDS:
        raw = percents.get(name, GradePolicy.DEFAULT_PERCENTS[name])
        if isinstance(raw, float):
            raise LedgerError("Give percentages as decimal strings, not floats.", field=name)
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise LedgerError(f"{raw!r} is not a percentage.", field=name) from None
        if not value.is_finite() or not Decimal("0") <= value <= Decimal("100") or value != round(value, 2):
            raise LedgerError(f"{name.replace('_', ' ')} must be between 0 and 100 with at most two decimals.",
                              field=name)
        values[name] = value
    with transaction.atomic():
        policy, _ = GradePolicy.objects.update_or_create(project=project,
                                                         defaults={**values, "updated_by": updated_by})
        earnings_recompute_enqueue(project_id=project.pk)
    return policy
