"""The pay rule is defined once for Python (projects/pay.py) and once for the database
(projects/sql/pay_rule.sql, applied by the nightly recompute): on generated cases, the two give
the same pay to the cent, for every unit, grade, grade-policy history (the policy in force when the
work was submitted, set before or after the work), lineage (a continuation paid by its
predecessor's rate and policy until its own apply), onboarding or not, and every number of seconds
the column can hold."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Appeal, Review, ReviewerRole
from payouts.services.recompute import expected_earnings_sql
from projects.models import GRADE_POLICY_FIELDS, GradePolicy, PayRate, Project
from projects.pay import pay_amount, pay_percent
from tests import factories

pytestmark = pytest.mark.django_db

# Rates up to the column's limit (below 10^8, four decimals); percents with two decimals.
amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999999.9999"), places=4)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)
shares = st.fixed_dictionaries({name: percents for name in GRADE_POLICY_FIELDS})
# A policy: days from the submission it takes effect (ties are likely, the later id wins), its shares,
# whether it is written after the work (so the database moves the work to it), and whose it is.
policy_entries = st.lists(st.tuples(st.sampled_from([-3, -1, 1]), shares, st.booleans(),
                                    st.sampled_from(["own", "predecessor"])), max_size=3)
# A ledger entry holds amounts below 10^12; hourly work is generated up to that, and up to the most
# seconds the column holds.
LEDGER_LIMIT = Decimal(10) ** 12


@st.composite
def cases(draw):
    case = draw(st.fixed_dictionaries({
        "amount": amounts,
        "unit": st.sampled_from(PayRate.Unit.values),
        "policies": policy_entries,
        "lineage": st.booleans(),
        "onboarding": st.booleans(),
        "grade": st.none() | st.integers(1, 5),
        "revised": st.none() | st.integers(1, 5),
    }))
    most = 2**31 - 1
    if case["unit"] == PayRate.Unit.PER_HOUR and case["amount"]:
        most = min(most, int(LEDGER_LIMIT * 3600 / case["amount"]) - 1)
    case["seconds"] = draw(st.integers(0, most) | st.integers(0, min(most, 20_000)))
    return case


def _in_force(policies: list[GradePolicy], project_id: int, at) -> GradePolicy | None:
    """The rule in force, written here again in Python: the latest effective time at or before `at`,
    the highest id among equal times."""
    mine = [p for p in policies if p.project_id == project_id and p.effective_from <= at]
    return max(mine, key=lambda p: (p.effective_from, p.pk), default=None)


def _submit(work, case, contractor):
    at = timezone.now() - timedelta(hours=1)
    project = work.project(rate=None, is_onboarding=case["onboarding"])
    owner = project
    if case["lineage"]:
        # The continuation has no rate of its own until after the work: its predecessor's pays it.
        owner = work.project(rate=None, is_onboarding=case["onboarding"])
        Project.objects.filter(pk=project.pk).update(continues=owner)
        factories.PayRateFactory(project=project, amount=Decimal("1"), unit=case["unit"],
                                 effective_from=at + timedelta(days=1))
    factories.PayRateFactory(project=owner, amount=case["amount"], unit=case["unit"],
                             effective_from=at - timedelta(days=60))
    created = []

    def write(entries):
        for days, values, _after, whose in entries:
            target = owner if whose == "predecessor" and case["lineage"] else project
            created.append(GradePolicy.objects.create(project=target, effective_from=at + timedelta(days=days),
                                                      reason="generated", **values))

    write([e for e in case["policies"] if not e[2]])
    submission = work.submission(contractor=contractor, project=project, at=at, active_seconds=case["seconds"])
    write([e for e in case["policies"] if e[2]])
    policy = _in_force(created, project.pk, at)
    if policy is None and case["lineage"]:
        policy = _in_force(created, owner.pk, at)
    grade = case["grade"]
    if grade is not None:
        review = work.review(submission, grade)
        if case["revised"] is not None and case["revised"] != grade:
            Appeal.objects.create(review=review, contractor=contractor, reason="Please look again at it.",
                                  status=Appeal.Status.REVISED, decided_by=work._lead(),
                                  decided_by_role=ReviewerRole.LEAD, decision_reason="Right after all, yes.",
                                  revised_score=case["revised"], created_at=review.created_at,
                                  decided_at=review.created_at)
            grade = case["revised"]
    return submission, policy, grade


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(batch=st.lists(cases(), min_size=1, max_size=12))
def test_python_and_sql_pay_the_same(work, batch):
    contractor = factories.ContractorFactory()
    expected = {}
    for case in batch:
        submission, policy, grade = _submit(work, case, contractor)
        percent = pay_percent(policy=policy, grade=grade, is_onboarding=case["onboarding"])
        expected[submission.pk] = (
            pay_amount(amount=case["amount"], unit=case["unit"], percent=percent, active_seconds=case["seconds"]),
            percent,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT submission_id, amount, pay_percent FROM ({expected_earnings_sql()}) e "
                       "WHERE submission_id = ANY(%s)", [list(expected)])
        found = {pk: (amount, percent) for pk, amount, percent in cursor.fetchall()}
    assert found == expected


def test_a_project_without_a_policy_pays_the_default_percents(work):
    """The view writes GradePolicy.DEFAULT_PERCENTS as numbers; they must stay the same."""
    contractor = factories.ContractorFactory()
    for grade in (None, 1, 2, 3, 4, 5):
        submission, _policy, _grade = _submit(work, {"amount": Decimal("10"), "unit": "per_task", "policies": [],
                                                     "lineage": False, "onboarding": False, "grade": grade,
                                                     "revised": None, "seconds": 60}, contractor)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pay_percent FROM ({expected_earnings_sql()}) e WHERE submission_id = %s",
                           [submission.pk])
            (percent,) = cursor.fetchone()
        name = "pay_ungraded" if grade is None else f"pay_grade_{grade}"
        assert percent == GradePolicy.DEFAULT_PERCENTS[name]
        assert Review.objects.filter(submission=submission).count() == (grade is not None)
