"""Onboarding that unlocks (issue 17, part 5): meeting an onboarding project's pass rule grants its
qualification at once, in the transaction of the grade that met it, and tells the contractor what it
unlocks; contractors see beforehand what passing takes and what it unlocks."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEntry, Notification
from annotations import services
from projects import selectors
from projects.models import PassRule, Qualification
from projects.services import qualification_revoke
from tests import factories
from tests.annotations.reviewing import make_project, reviewer, submit

pytestmark = pytest.mark.django_db

MARKS = {"accuracy": 4, "clarity": 4}


@pytest.fixture
def course():
    onboarding = make_project("pairwise", is_onboarding=True, name="Pairwise basics", grants_name="Pairwise level 1",
                              pass_rule=PassRule.AVERAGE_GRADE, pass_min_submissions=3,
                              pass_min_average=Decimal("3.50"))
    unlocked = make_project("pairwise", name="Helpful pairs", qualification=onboarding)
    return onboarding, unlocked


def _grade(person, project, score):
    return services.review_create(submission=submit(person, project), reviewer=reviewer(), score=score, marks=MARKS,
                                  reason="" if score > 2 else "Misread the prompt in both answers here.")


def test_meeting_the_average_grade_rule_grants_at_once_and_tells_what_it_unlocks(course):
    onboarding, unlocked = course
    person = factories.ContractorFactory()
    assert not selectors.contractor_is_qualified(user=person, project=unlocked)
    _grade(person, onboarding, 5)
    _grade(person, onboarding, 2)
    assert not Qualification.objects.exists()  # two of three graded
    _grade(person, onboarding, 4)  # latest three average 3.67
    held = Qualification.objects.get(contractor=person, project=onboarding)
    assert held.granted_by is None and "3 of 3" in held.note
    assert selectors.contractor_is_qualified(user=person, project=unlocked)
    assert unlocked in selectors.projects_for_contractor(user=person)
    [told] = Notification.objects.filter(user=person, kind="qualification_granted")
    assert "Pairwise level 1" in told.title and "Helpful pairs" in told.body
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.QUALIFICATION_GRANTED)
    assert entry.actor is None and entry.subject == person


def test_below_the_rule_nothing_is_granted_and_only_the_latest_count(course):
    onboarding, _unlocked = course
    person = factories.ContractorFactory()
    for score in (2, 3, 3):
        _grade(person, onboarding, score)  # 2.67
    assert not Qualification.objects.exists()
    _grade(person, onboarding, 5)  # latest three: 3, 3, 5 = 3.67
    assert Qualification.objects.filter(contractor=person).exists()


def test_the_gold_rule_grants_on_the_automatic_grade_at_submit(course):
    onboarding, _unlocked = course
    onboarding.pass_rule = PassRule.GOLD_AGREEMENT
    onboarding.pass_min_submissions = 2
    onboarding.pass_min_agreement = Decimal("75")
    onboarding.save()
    person = factories.ContractorFactory()
    gold = {"choice": "A", "strength": "clear", "reason": "Known answer."}
    submit(person, onboarding, answer={"choice": "A", "strength": "clear", "reason": "A is right."}, gold=gold)
    assert not Qualification.objects.exists()  # one of two
    submit(person, onboarding, answer={"choice": "A", "strength": "clear", "reason": "A again."}, gold=gold)
    assert Qualification.objects.filter(contractor=person, project=onboarding).exists()


def test_a_revoked_qualification_is_not_granted_again_by_the_rule(course, admin_user):
    onboarding, _unlocked = course
    person = factories.ContractorFactory()
    for score in (4, 4, 4):
        _grade(person, onboarding, score)
    qualification_revoke(contractor=person, project=onboarding, revoked_by=admin_user,
                         reason="Answers were copied from a shared document.")
    _grade(person, onboarding, 5)
    assert not selectors.qualification_held(contractor=person, project=onboarding)
    assert Qualification.objects.filter(contractor=person).count() == 1


def test_contractors_see_what_passing_takes_and_unlocks_before_starting(course, client_for):
    onboarding, _unlocked = course
    person = factories.ContractorFactory()
    client = client_for(person)
    dashboard = client.get(reverse("work:dashboard")).content.decode()
    assert "Pairwise level 1" in dashboard and "unlocks 1 project" in dashboard
    page = client.get(reverse("work:project", args=[onboarding.slug])).content.decode()
    assert "Passing grants <strong>Pairwise level 1</strong>" in page
    assert "3 graded submissions with an average final grade of 3.50 or more" in page
    assert "Helpful pairs" in page
