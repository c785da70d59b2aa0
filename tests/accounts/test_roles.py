"""A role change is a decision (issue 20, part 1): `accounts.services.user_role_set` with a written
reason, the refusals (no-op, own role, last active admin, a lead with a running sprint), an audit entry
with the old and the new role, a notice in the "decisions" email group, and what becomes of the work a
contractor held; the person's page under /manage/people/ with its form and the role history."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from accounts import services
from accounts.errors import AccountDecisionError
from accounts.mail import group_of
from accounts.models import AuditEntry, EmailGroup, Notification, OutgoingEmail, Role, User
from annotations.models import Claim, Submission
from payouts.models import LedgerEntry
from sprints.errors import SprintError
from sprints.models import Sprint
from taskhub.errors import Forbidden
from tests import factories
from tests.admin_forms import admin_form_data
from tests.annotations.reviewing import _sprint_with_member, claim_for, make_project, make_task, submit

pytestmark = pytest.mark.django_db

REASON = "Leads the Thursday review shift from next week on."


def _no_decision(user, role):
    user.refresh_from_db()
    assert user.role == role
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.ROLE_SET).exists()
    assert not Notification.objects.filter(kind="role_set").exists()


def test_a_role_change_is_recorded_with_old_and_new_role_and_the_person_is_told(admin_user, contractor):
    services.user_role_set(user=contractor, role=Role.LEAD, by=admin_user, reason=REASON)
    contractor.refresh_from_db()
    assert contractor.role == Role.LEAD
    [entry] = AuditEntry.objects.filter(kind=AuditEntry.Kind.ROLE_SET)
    assert (entry.actor, entry.subject, entry.reason) == (admin_user, contractor, REASON)
    assert entry.data["old_role"] == "contractor" and entry.data["new_role"] == "lead"
    assert "from contractor to team lead" in entry.summary
    [notice] = Notification.objects.filter(user=contractor, kind="role_set")
    assert "team lead" in notice.title and "was contractor" in notice.title and REASON in notice.body
    # The "decisions" email group, at once by default.
    assert group_of("role_set") == EmailGroup.DECISIONS
    assert OutgoingEmail.objects.filter(user=contractor, notification=notice).exists()


def test_the_reason_is_required_at_its_length(admin_user, contractor):
    for short in ("", "   ", "because", "x" * 19):
        with pytest.raises(AccountDecisionError) as refused:
            services.user_role_set(user=contractor, role=Role.LEAD, by=admin_user, reason=short)
        assert refused.value.field == "reason" and "at least 20 characters" in refused.value.message
    with pytest.raises(AccountDecisionError) as nul:
        services.user_role_set(user=contractor, role=Role.LEAD, by=admin_user, reason="A reason with \x00 in it, long")
    assert nul.value.field == "reason"
    _no_decision(contractor, Role.CONTRACTOR)


def test_the_same_role_again_and_an_unknown_role_are_refused(admin_user, contractor):
    with pytest.raises(AccountDecisionError) as same:
        services.user_role_set(user=contractor, role=Role.CONTRACTOR, by=admin_user, reason=REASON)
    assert same.value.field == "role" and "already contractor" in same.value.message
    with pytest.raises(AccountDecisionError) as unknown:
        services.user_role_set(user=contractor, role="superhero", by=admin_user, reason=REASON)
    assert unknown.value.field == "role"
    _no_decision(contractor, Role.CONTRACTOR)


def test_only_an_admin_decides_and_never_about_their_own_role(admin_user, contractor, lead):
    with pytest.raises(Forbidden):
        services.user_role_set(user=contractor, role=Role.LEAD, by=lead, reason=REASON)
    with pytest.raises(Forbidden):
        services.user_role_set(user=contractor, role=Role.LEAD, by=contractor, reason=REASON)
    factories.AdminFactory()  # another admin: not the last one
    with pytest.raises(AccountDecisionError) as own:
        services.user_role_set(user=admin_user, role=Role.LEAD, by=admin_user, reason=REASON)
    assert own.value.field == "role" and "own role" in own.value.message
    _no_decision(admin_user, Role.ADMIN)
    _no_decision(contractor, Role.CONTRACTOR)


def test_the_last_active_admin_stays_an_admin(admin_user):
    """Two admins demoting each other at the same moment: each request's admin was loaded as an admin,
    the second decision finds the other one the last active admin and is refused."""
    other = factories.AdminFactory()
    stale_other = User.objects.get(pk=other.pk)  # as the other admin's request loaded them
    services.user_role_set(user=other, role=Role.LEAD, by=admin_user, reason=REASON)
    with pytest.raises(AccountDecisionError) as last:
        services.user_role_set(user=admin_user, role=Role.LEAD, by=stale_other, reason=REASON)
    assert last.value.field == "role" and "last active admin" in last.value.message
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.ROLE_SET).count() == 1
    # A deactivated admin does not count: demoting them leaves the active admins as they were.
    gone = factories.AdminFactory()
    services.user_deactivate(user=gone, by=admin_user, reason="Left the company at the end of November.")
    services.user_role_set(user=gone, role=Role.CONTRACTOR, by=admin_user, reason=REASON)
    assert User.objects.get(pk=gone.pk).role == Role.CONTRACTOR


def test_a_contractor_who_becomes_a_lead_keeps_submitted_work_and_pay_and_gives_held_claims_back(admin_user):
    contractor = factories.ContractorFactory()
    project = make_project("pairwise", name="Helpful answers")
    factories.PayRateFactory(project=project, amount=Decimal("1.5000"))
    done = submit(contractor, project)
    paid = LedgerEntry.objects.filter(contractor=contractor).aggregate(total=Sum("amount"))["total"]
    assert paid and paid > Decimal("0")
    task = make_task(project)
    held = claim_for(contractor, project)
    assert held.task_id == task.pk
    task.refresh_from_db()
    assert task.claim_count == 1

    services.user_role_set(user=contractor, role=Role.LEAD, by=admin_user, reason=REASON)

    held.refresh_from_db()
    task.refresh_from_db()
    assert held.status == Claim.Status.RELEASED and REASON in held.release_reason
    assert task.claim_count == 0  # back in the pool for the others
    assert Submission.objects.filter(pk=done.pk, contractor=contractor).exists()
    assert Claim.objects.get(pk=done.claim_id).status == Claim.Status.SUBMITTED
    assert LedgerEntry.objects.filter(contractor=contractor).aggregate(total=Sum("amount"))["total"] == paid
    [notice] = Notification.objects.filter(user=contractor, kind="role_set")
    assert "1 task you held (Helpful answers) was released back to the pool" in notice.body
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.ROLE_SET)
    assert entry.data["consequences"] and "released" in entry.data["consequences"][0]
    # The other way, nothing is released (a lead holds no claims) and nothing is said about tasks.
    services.user_role_set(user=contractor, role=Role.CONTRACTOR, by=admin_user, reason=REASON)
    assert "released" not in Notification.objects.filter(user=contractor, kind="role_set").first().body


def test_a_lead_running_a_sprint_that_is_not_closed_stays_a_lead(admin_user, lead, contractor):
    project = make_project("pairwise")
    sprint = _sprint_with_member(lead, contractor, project)
    with pytest.raises(SprintError) as running:
        services.user_role_set(user=lead, role=Role.CONTRACTOR, by=admin_user, reason=REASON)
    assert running.value.field == "role" and "“Push”" in running.value.message
    _no_decision(lead, Role.LEAD)
    # Becoming an admin is fine: admins see every sprint. An admin running it is held the same way.
    services.user_role_set(user=lead, role=Role.ADMIN, by=admin_user, reason=REASON)
    with pytest.raises(SprintError):
        services.user_role_set(user=lead, role=Role.CONTRACTOR, by=admin_user, reason=REASON)
    assert User.objects.get(pk=lead.pk).role == Role.ADMIN
    services.user_role_set(user=lead, role=Role.LEAD, by=admin_user, reason=REASON)
    Sprint.objects.filter(pk=sprint.pk).update(status=Sprint.Status.CLOSED)
    services.user_role_set(user=lead, role=Role.CONTRACTOR, by=admin_user, reason=REASON)
    lead.refresh_from_db()
    assert lead.role == Role.CONTRACTOR
    assert [e.data["new_role"] for e in AuditEntry.objects.filter(kind="role_set").order_by("id")] == [
        "admin", "lead", "contractor"]


# --- the person's page ---------------------------------------------------------------------------


def test_the_person_page_changes_the_role_and_shows_the_history(client, admin_user, contractor):
    client.force_login(admin_user)
    url = reverse("manage:person_role", args=[contractor.pk])
    response = client.post(url, {"role-role": "lead", "role-reason": REASON})
    assert response.status_code == 302 and response["Location"] == reverse("manage:person", args=[contractor.pk])
    contractor.refresh_from_db()
    assert contractor.role == Role.LEAD
    page = client.get(response["Location"]).content.decode()
    assert "is now team lead (was contractor) and is told why" in page
    history = page[page.index('id="role-history"'):]
    assert "from contractor to team lead" in history and REASON in history and str(admin_user) in history


def test_refusals_on_the_person_page_are_at_their_field_and_change_nothing(client, admin_user, contractor):
    client.force_login(admin_user)
    url = reverse("manage:person_role", args=[contractor.pk])
    short = client.post(url, {"role-role": "lead", "role-reason": "too short"})
    assert short.status_code == 400 and "reason" in short.context["role_form"].errors
    assert 'data-field="role-reason"' in short.content.decode()
    same = client.post(url, {"role-role": "contractor", "role-reason": REASON})
    assert same.status_code == 400 and "already contractor" in same.context["role_form"].errors["role"][0]
    unknown = client.post(url, {"role-role": "owner", "role-reason": REASON})
    assert unknown.status_code == 400 and "role" in unknown.context["role_form"].errors
    own = client.post(reverse("manage:person_role", args=[admin_user.pk]), {"role-role": "lead", "role-reason": REASON})
    assert own.status_code == 400 and "own role" in own.context["role_form"].errors["role"][0]
    assert client.get(reverse("manage:person_role", args=[contractor.pk])).status_code == 405
    assert client.post(reverse("manage:person_role", args=[10**9]), {"role-role": "lead"}).status_code == 404
    _no_decision(contractor, Role.CONTRACTOR)


def test_only_admins_reach_the_role_form(client_for, contractor, lead):
    url = reverse("manage:person_role", args=[contractor.pk])
    assert client_for(lead).post(url, {"role-role": "admin", "role-reason": REASON}).status_code == 403
    assert client_for(contractor).post(url, {"role-role": "admin", "role-reason": REASON}).status_code == 403
    _no_decision(contractor, Role.CONTRACTOR)


def test_the_django_admin_shows_the_role_but_does_not_change_it(admin_user, contractor, client_for):
    client = client_for(admin_user)
    change = reverse("admin:accounts_user_change", args=[contractor.pk])
    page = client.get(change).content.decode()
    assert 'name="role"' not in page and "/manage/people/" in page
    assert client.post(change, {**admin_form_data(page), "role": "admin"}).status_code == 302
    contractor.refresh_from_db()
    assert contractor.role == Role.CONTRACTOR
    # A new account is still made with its role.
    assert 'name="role"' in client.get(reverse("admin:accounts_user_add")).content.decode()
