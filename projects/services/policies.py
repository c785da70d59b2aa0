"""Grade policies: what share of the pay each final grade earns on a project."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from taskhub.hooks import pay_changed

from ..errors import GradePolicyError
from ..models import GRADE_POLICY_FIELDS, GradePolicy, Project


def grade_policy_set(*, project: Project, percents: dict[str, Decimal | str], updated_by) -> GradePolicy:
    """Set the project's policy (percent of pay for grades 1–5 and for ungraded work) and recompute.

    Changing a policy changes what past work on the project earns, so the project's earnings
    are recomputed once the change commits; the differences reach the ledger as adjustments.
    """
    values = {}
    for name in GRADE_POLICY_FIELDS:
        raw = percents.get(name, GradePolicy.DEFAULT_PERCENTS[name])
        if isinstance(raw, float):
            raise GradePolicyError("Give percentages as decimal strings, not floats.", field=name)
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise GradePolicyError(f"{raw!r} is not a percentage.", field=name) from None
        if not value.is_finite() or not Decimal("0") <= value <= Decimal("100") or value != round(value, 2):
            raise GradePolicyError(f"{name.replace('_', ' ')} must be between 0 and 100 with at most two decimals.",
                                   field=name)
        values[name] = value
    with transaction.atomic():
        policy, _ = GradePolicy.objects.update_or_create(project=project,
                                                         defaults={**values, "updated_by": updated_by})
        pay_changed(project_id=project.pk)
    return policy
