"""The Django admin is no back door (issue 17): nothing that records work, pay, a person's access or a
decision about them can be deleted there, and the fields that decide access or pay are read-only
(they change through the decision services, with a reason, a notice and an audit entry)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.models import AuditEntry, User
from annotations.models import (
    Appeal,
    Claim,
    ContractorFlag,
    ContractorPause,
    PauseAppeal,
    Review,
    ReviewEvent,
    Submission,
)
from payouts.models import LedgerEntry, Payout, PayoutLine, WageFloorTopUp
from projects.models import GradePolicy, LineageDecision, PayRate, Project, Qualification
from tests import factories

pytestmark = pytest.mark.django_db

NEVER_DELETED = [User, Project, PayRate, GradePolicy, Qualification, LineageDecision, Claim, Submission, Review,
                 Appeal, ContractorFlag, ContractorPause, PauseAppeal, ReviewEvent, LedgerEntry, Payout, PayoutLine,
                 WageFloorTopUp, AuditEntry]


@pytest.mark.parametrize("model", NEVER_DELETED, ids=lambda m: m._meta.label)
def test_records_of_work_pay_access_and_decisions_cannot_be_deleted_in_the_django_admin(model):
    request = RequestFactory().get("/admin/")
    request.user = factories.AdminFactory()
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return  # not in the admin at all
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_access_deciding_fields_are_read_only_in_the_django_admin():
    request = RequestFactory().get("/admin/")
    request.user = factories.AdminFactory()
    user_admin = admin.site._registry[User]
    assert "is_active" in user_admin.get_readonly_fields(request, request.user)
    project_admin = admin.site._registry[Project]
    project = factories.ProjectFactory()
    for name in ("continues", "is_onboarding", "task_type", "wage_floor_guarantee_ends_at"):
        assert name in project_admin.get_readonly_fields(request, project)
    qualification_admin = admin.site._registry[Qualification]
    assert not qualification_admin.has_change_permission(request, factories.QualificationFactory())
