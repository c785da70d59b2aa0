"""The two rules projects write once, in SQL (projects/sql/), against their plain statement on
generated cases: the rate in force, and who may work on a project. Python reads both through the
selectors, so these also prove the selectors say what the rules say."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from projects.models import PayRate, Project, Qualification
from projects.selectors import (
    contractor_is_eligible,
    contractors_eligible_for,
    projects_for_contractor,
    rate_in_force,
)
from tests import factories

pytestmark = pytest.mark.django_db

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES)
@given(offsets=st.lists(st.integers(-5, 5), min_size=0, max_size=8), probe=st.integers(-6, 6))
def test_the_rate_in_force_is_the_latest_effective_at_or_before_the_moment(db, offsets, probe):
    """Of the rates effective at or before the moment, the latest; among equal times, the last added."""
    project = factories.ProjectFactory()
    base = timezone.now().replace(microsecond=0)
    rates = [factories.PayRateFactory(project=project, effective_from=base + timedelta(hours=h)) for h in offsets]
    at = base + timedelta(hours=probe)
    candidates = [r for r in rates if r.effective_from <= at]
    expected = max(candidates, key=lambda r: (r.effective_from, r.pk)) if candidates else None
    assert rate_in_force(project=project, at=at) == expected


people = st.fixed_dictionaries({
    "role": st.sampled_from(list(Role.values)),
    "active": st.booleans(),
    "qualified": st.booleans(),
})


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES)
@given(status=st.sampled_from(list(Project.Status.values)), needs_qualification=st.booleans(),
       population=st.lists(people, min_size=1, max_size=6))
def test_who_may_work_on_a_project(db, status, needs_qualification, population):
    """An active contractor, on an active project, holding its qualification when it needs one."""
    onboarding = factories.ProjectFactory(is_onboarding=True)
    project = factories.ProjectFactory(status=status, qualification=onboarding if needs_qualification else None)
    users = []
    for person in population:
        user = factories.UserFactory(role=person["role"], is_active=person["active"])
        if person["qualified"]:
            Qualification.objects.create(contractor=user, project=onboarding)
        users.append((user, person))
    expected = {
        user.pk for user, person in users
        if person["role"] == Role.CONTRACTOR and person["active"] and status == Project.Status.ACTIVE
        and (not needs_qualification or person["qualified"])
    }
    assert set(contractors_eligible_for(project=project).filter(pk__in=[u.pk for u, _ in users])
               .values_list("pk", flat=True)) == expected
    for user, _person in users:
        assert contractor_is_eligible(user=user, project=project) == (user.pk in expected)
        assert (project in projects_for_contractor(user=user)) == (user.pk in expected)


def test_a_rate_set_for_later_is_not_yet_in_force(db):
    project = factories.ProjectFactory()
    now = timezone.now()
    current = factories.PayRateFactory(project=project, effective_from=now - timedelta(days=1))
    factories.PayRateFactory(project=project, effective_from=now + timedelta(days=8))
    assert rate_in_force(project=project, at=now) == current
    assert PayRate.objects.filter(project=project).count() == 2
