"""Revoking a qualification is a decision that keeps its history (issue 17, part 3): a reason, an
effective time, a notice and an audit entry; the row stays (revoked at, by, why) and eligibility,
the one rule in projects/sql/eligibility.sql, ignores it from then on. The Django admin has no
delete: its "Revoke…" action goes through the service."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Notification
from annotations import services as work_services
from annotations.errors import NotQualified
from projects import selectors, services
from projects.errors import QualificationError
from projects.models import Qualification
from taskhub.errors import Conflict, Forbidden
from tests import factories
from tests.annotations.reviewing import make_task

pytestmark = pytest.mark.django_db

REASON = "Copied answers from another contractor on the test."


@pytest.fixture
def gated(admin_user):
    onboarding = factories.ProjectFactory(is_onboarding=True, name="Basics")
    project = factories.ProjectFactory(qualification=onboarding, max_active_claims=5)
    person = factories.ContractorFactory()
    services.qualification_grant(contractor=person, project=onboarding, granted_by=admin_user)
    return onboarding, project, person


def eligible(person, project) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT projects_contractor_is_eligible(%s, %s)", [person.pk, project.pk])
        return cursor.fetchone()[0]


def test_a_revocation_keeps_the_row_and_eligibility_ignores_it(gated, admin_user):
    onboarding, project, person = gated
    assert eligible(person, project) and selectors.contractor_is_qualified(user=person, project=project)
    services.qualification_revoke(contractor=person, project=onboarding, revoked_by=admin_user, reason=REASON)
    row = Qualification.objects.get(contractor=person, project=onboarding)
    assert (row.revoked_by, row.revoke_reason) == (admin_user, REASON) and row.revoked_at <= timezone.now()
    assert not eligible(person, project)
    assert not selectors.contractor_is_qualified(user=person, project=project)
    assert person not in selectors.contractors_eligible_for(project=project)
    make_task(project)
    with pytest.raises(NotQualified):
        work_services.task_claim_next(contractor=person, project=project)
    [notice] = Notification.objects.filter(user=person, kind="qualification_revoked")
    assert REASON in notice.body
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.QUALIFICATION_REVOKED)
    assert (entry.actor, entry.subject, entry.reason, entry.project_id) == (admin_user, person, REASON, onboarding.pk)
    # Granted again later: a new row; the revoked one stays as history.
    services.qualification_grant(contractor=person, project=onboarding, granted_by=admin_user, note="Retook it")
    assert Qualification.objects.filter(contractor=person, project=onboarding).count() == 2
    assert eligible(person, project)


def test_a_revocation_set_for_later_counts_until_then(gated, admin_user):
    onboarding, project, person = gated
    later = timezone.now() + timedelta(days=2)
    services.qualification_revoke(contractor=person, project=onboarding, revoked_by=admin_user, reason=REASON,
                                  effective_at=later)
    assert eligible(person, project)
    with pytest.raises(Conflict):  # a second revocation of the same grant
        services.qualification_revoke(contractor=person, project=onboarding, revoked_by=admin_user, reason=REASON)
    Qualification.objects.filter(contractor=person).update(revoked_at=timezone.now() - timedelta(seconds=1))
    assert not eligible(person, project)


def test_bad_revocations_change_nothing(gated, admin_user, lead):
    onboarding, _project, person = gated
    with pytest.raises(Forbidden):
        services.qualification_revoke(contractor=person, project=onboarding, revoked_by=lead, reason=REASON)
    with pytest.raises(QualificationError) as short:
        services.qualification_revoke(contractor=person, project=onboarding, revoked_by=admin_user, reason="bad")
    assert short.value.field == "reason"
    with pytest.raises(QualificationError) as past:
        services.qualification_revoke(contractor=person, project=onboarding, revoked_by=admin_user, reason=REASON,
                                      effective_at=timezone.now() - timedelta(hours=2))
    assert past.value.field == "effective_at"
    assert Qualification.objects.get(contractor=person).revoked_at is None
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.QUALIFICATION_REVOKED).exists()


def test_the_django_admin_revokes_through_the_service_and_never_deletes(gated, admin_user, client_for):
    onboarding, project, person = gated
    client = client_for(admin_user)
    row = Qualification.objects.get(contractor=person)
    changelist = reverse("admin:projects_qualification_changelist")
    assert "delete_selected" not in client.get(changelist).content.decode()
    assert client.post(reverse("admin:projects_qualification_delete", args=[row.pk]), {"post": "yes"}).status_code \
        == 403
    assert 'name="contractor"' not in client.get(reverse("admin:projects_qualification_change",
                                                         args=[row.pk])).content.decode()
    action = {"action": "revoke", ACTION_CHECKBOX_NAME: [str(row.pk)]}
    short = client.post(changelist, {**action, "apply": "yes", "reason": "no"})
    assert short.status_code == 200 and "at least 20 characters" in short.content.decode()
    assert client.post(changelist, {**action, "apply": "yes", "reason": REASON}).status_code == 302
    row.refresh_from_db()
    assert row.revoked_by == admin_user and row.revoke_reason == REASON
    assert not eligible(person, project)
    # A grant from the admin goes through the service too: audited, and the person is told.
    other = factories.ContractorFactory()
    added = client.post(reverse("admin:projects_qualification_add"),
                        {"contractor": str(other.pk), "project": str(onboarding.pk), "note": "Passed in person"})
    assert added.status_code == 302
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.QUALIFICATION_GRANTED, subject=other).exists()
    assert Notification.objects.filter(user=other, kind="qualification_granted").exists()
