"""Pay next to the work (issue 19): what a task of a project is expected to take and to pay, the
grade-to-pay table in force and the changes to come, read for several projects in a fixed number
of queries.

Nothing here defines pay: the rate and the grade policy in force are the SQL rules
(`projects_pay_rate_in_force`, `projects_grade_policy_in_force`, through projects.selectors), and the
money a task earns at a share is `projects.pay.pay_amount`, the one pay rule in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from projects.models import GRADE_POLICY_FIELDS, GradePolicy, PayRate, Project
from projects.pay import pay_amount
from projects.selectors import percents_of
from taskhub.money import quantize

# The median active time replaces the admin's estimate once this many submissions with measured
# time exist on the project: below it, a few fast or slow people would swing the figure.
MEDIAN_MIN_SUBMISSIONS = 10

GRADE_ROWS = (("5", "pay_grade_5"), ("4", "pay_grade_4"), ("3", "pay_grade_3"), ("2", "pay_grade_2"),
              ("1", "pay_grade_1"), ("not graded yet", "pay_ungraded"))


@dataclass
class PayOutlook:
    project_id: int
    minutes: Decimal  # expected active minutes per task
    measured: bool  # True: the median of `measured_count` submissions; False: the admin's estimate
    measured_count: int
    rate: PayRate | None
    policy: GradePolicy | None
    is_onboarding: bool
    idle_minutes: int
    upcoming_rates: list[PayRate] = field(default_factory=list)
    upcoming_policies: list[GradePolicy] = field(default_factory=list)

    @property
    def percents(self) -> dict[str, Decimal]:
        if self.is_onboarding:
            return {name: Decimal("100") for name in GRADE_POLICY_FIELDS}
        return percents_of(self.policy)

    @property
    def grade_table(self) -> list[dict]:
        """Grade by grade: the share and, per task, the money at the rate in force."""
        rows = []
        percents = self.percents
        for label, name in GRADE_ROWS:
            percent = percents[name]
            row = {"grade": label, "percent": percent, "pays_nothing": percent == 0, "amount": None}
            if self.rate is not None and self.rate.unit == PayRate.Unit.PER_TASK:
                row["amount"] = pay_amount(amount=self.rate.amount, unit=self.rate.unit, percent=percent,
                                           active_seconds=0)
            elif self.rate is not None:
                row["amount"] = pay_amount(amount=self.rate.amount, unit=self.rate.unit, percent=percent,
                                           active_seconds=3600)
            rows.append(row)
        return rows

    @property
    def expected_hourly(self) -> Decimal | None:
        """Per-task work: the full pay of one task over the expected minutes, as money per hour. Per-hour
        work: the rate itself (its share still depends on the grade, as the table says)."""
        if self.rate is None:
            return None
        if self.rate.unit == PayRate.Unit.PER_HOUR:
            return quantize(self.rate.amount)
        if not self.minutes:
            return None
        per_task = pay_amount(amount=self.rate.amount, unit=self.rate.unit, percent=Decimal("100"), active_seconds=0)
        return quantize(per_task * 60 / self.minutes)

    @property
    def minutes_text(self) -> str:
        return f"{self.minutes.normalize():f}"


_MEDIANS_SQL = """
SELECT project_id, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY active_seconds)
FROM annotations_submission
WHERE project_id = ANY(%(projects)s) AND active_seconds > 0
GROUP BY project_id
"""

# Per project: the rate and the grade policy in force (the SQL rules, across lineages) and the
# measured active time of its work, in one statement.
_IN_FORCE_SQL = """
SELECT p, projects_pay_rate_in_force(p, %(now)s), projects_grade_policy_in_force(p, %(now)s), m.n, m.median
FROM unnest(%(projects)s::bigint[]) p
LEFT JOIN LATERAL (
    SELECT count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY s.active_seconds) AS median
    FROM annotations_submission s WHERE s.project_id = p AND s.active_seconds > 0
) m ON TRUE
"""


def active_time_medians(*, project_ids: list[int]) -> dict[int, tuple[int, float]]:
    """Per project: how many submissions have measured active time, and their median in seconds."""
    if not project_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_MEDIANS_SQL, {"projects": list(project_ids)})
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def pay_outlooks(*, projects: list[Project], now: datetime) -> dict[int, PayOutlook]:
    """The pay outlook of each project, in three queries whatever their number."""
    ids = [p.pk for p in projects]
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_IN_FORCE_SQL, {"projects": ids, "now": now})
        facts = {row[0]: row[1:] for row in cursor.fetchall()}
    rate_ids = [f[0] for f in facts.values() if f[0]]
    policy_ids = [f[1] for f in facts.values() if f[1]]
    rates, upcoming_rates = {}, {}
    for rate in (PayRate.objects.filter(Q(pk__in=rate_ids) | Q(project_id__in=ids, effective_from__gt=now))
                 .order_by("effective_from", "id")):
        if rate.pk in rate_ids:
            rates[rate.pk] = rate
        if rate.effective_from > now and rate.project_id in facts:
            upcoming_rates.setdefault(rate.project_id, []).append(rate)
    policies, upcoming_policies = {}, {}
    for policy in (GradePolicy.objects.filter(Q(pk__in=policy_ids)
                                              | Q(project_id__in=ids, effective_from__gt=now, extends__isnull=True))
                   .order_by("effective_from", "id")):
        if policy.pk in policy_ids:
            policies[policy.pk] = policy
        if policy.effective_from > now and policy.extends_id is None and policy.project_id in facts:
            upcoming_policies.setdefault(policy.project_id, []).append(policy)
    outlooks = {}
    for project in projects:
        rate_id, policy_id, count, median = facts.get(project.pk, (None, None, 0, None))
        count = count or 0
        measured = count >= MEDIAN_MIN_SUBMISSIONS and median is not None
        if measured:
            minutes = max((Decimal(str(median)) / 60).quantize(Decimal("0.1")), Decimal("0.1"))
        else:
            minutes = Decimal(project.estimated_minutes)
        outlooks[project.pk] = PayOutlook(
            project_id=project.pk, minutes=minutes, measured=measured, measured_count=count,
            rate=rates.get(rate_id), policy=policies.get(policy_id), is_onboarding=project.is_onboarding,
            idle_minutes=project.idle_minutes, upcoming_rates=upcoming_rates.get(project.pk, []),
            upcoming_policies=upcoming_policies.get(project.pk, []),
        )
    return outlooks


def pay_outlook(*, project: Project, now: datetime) -> PayOutlook:
    return pay_outlooks(projects=[project], now=now)[project.pk]


__all__ = ["MEDIAN_MIN_SUBMISSIONS", "PayOutlook", "active_time_medians", "pay_outlook", "pay_outlooks"]
