"""THE pay rule, for Python: what a submission earns at a rate and a grade policy, for its final grade.

The database's twin is the view `projects_pay_cell` (projects/sql/pay_rule.sql), which the nightly
recompute reads (and the posting of each new submission, for its one cell);
`tests/payouts/test_pay_rule_agrees.py` proves the two agree on generated cases. Which rate and which
policy pay a submission is the rule in force when it was submitted (`projects.selectors.rate_in_force`,
`grade_policy_in_force`, across the project's lineage).

- The share: the grade policy's percent for the final grade (or for work not graded yet; the
  default percents without a policy); onboarding work is always paid in full (fair-work promise 4).
- The amount: per task, the rate times the share; per hour, the active seconds times the hourly
  rate times the share. Rounded once, to cents, half up (`taskhub.money.quantize`).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from taskhub.money import quantize

from .models import GradePolicy, PayRate


def pay_percent(*, policy: GradePolicy | None, grade: int | None, is_onboarding: bool) -> Decimal:
    """The share of the pay (0–100) that work with final grade `grade` (None: not graded yet) earns."""
    if is_onboarding:
        return Decimal("100")
    name = "pay_ungraded" if grade is None else f"pay_grade_{grade}"
    if policy is None:
        return GradePolicy.DEFAULT_PERCENTS[name]
    return getattr(policy, name)


def pay_amount(*, amount: Decimal, unit: str, percent: Decimal, active_seconds: int) -> Decimal:
    """The pay in money of one submission at a rate of `amount` per `unit`, for `percent` of it."""
    with localcontext() as exact:
        exact.prec = 60  # rate × percent × seconds stays exact before the one rounding
        if unit == PayRate.Unit.PER_HOUR:
            return quantize(Decimal(active_seconds) * amount * percent / Decimal(360_000))
        return quantize(amount * percent / Decimal(100))
