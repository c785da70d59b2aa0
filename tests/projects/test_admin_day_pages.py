"""The admin's day in the app: batches (create, close), people (qualifications and deactivation through
their decision paths), and the home page's hierarchy."""

from django.urls import reverse

from accounts.models import AuditEntry, Notification
from projects.models import Batch, Qualification
from tests import factories

REASON = "Repeatedly copied answers from a model, see the flags."


def test_a_draft_batch_is_created_and_closed_from_the_batches_page(client, admin_user):
    project = factories.ProjectFactory()
    client.force_login(admin_user)
    response = client.post(reverse("manage:batches"), {"project": project.pk, "batch_name": "  Week 49  "})
    batch = Batch.objects.get(project=project)
    assert response.status_code == 302 and response["Location"] == reverse("manage:batch", args=[batch.pk])
    assert (batch.name, batch.status) == ("Week 49", "draft")
    page = client.get(reverse("manage:batch", args=[batch.pk])).content.decode()
    assert reverse("manage:batch_schedule", args=[batch.pk]) in page and f"?batch={batch.pk}" in page
    client.post(reverse("manage:batch_close", args=[batch.pk]), {"close-reason": REASON})
    batch.refresh_from_db()
    assert batch.status == "closed" and batch.closed_reason == REASON


def test_a_batch_without_a_name_is_refused_at_its_field(client, admin_user):
    project = factories.ProjectFactory()
    client.force_login(admin_user)
    response = client.post(reverse("manage:batches"), {"project": project.pk, "batch_name": "   "})
    assert response.status_code == 400 and "batch_name" in response.context["form"].errors
    assert not Batch.objects.exists()


def test_deactivation_from_the_person_page_is_a_decision_with_notice_and_reason(client, admin_user, contractor):
    client.force_login(admin_user)
    short = client.post(reverse("manage:person", args=[contractor.pk]), {
        "action": "deactivate", "deactivate-reason": "too short"})
    assert short.status_code == 400 and "reason" in short.context["deactivate_form"].errors
    contractor.refresh_from_db()
    assert contractor.is_active
    client.post(reverse("manage:person", args=[contractor.pk]), {"action": "deactivate", "deactivate-reason": REASON})
    contractor.refresh_from_db()
    assert not contractor.is_active and contractor.deactivation_reason == REASON
    assert Notification.objects.filter(user=contractor, kind="account_deactivated").exists()
    assert AuditEntry.objects.filter(kind="deactivated", subject=contractor, reason=REASON).exists()


def test_a_qualification_is_granted_and_revoked_from_the_person_page(client, admin_user, contractor):
    onboarding = factories.ProjectFactory(is_onboarding=True, name="Safety basics")
    client.force_login(admin_user)
    client.post(reverse("manage:person", args=[contractor.pk]), {"action": "grant", "grant-project": onboarding.pk,
                                                                  "grant-note": "Passed elsewhere"})
    held = Qualification.objects.get(contractor=contractor, project=onboarding)
    assert held.revoked_at is None and held.granted_by == admin_user
    page = client.get(reverse("manage:person", args=[contractor.pk])).content.decode()
    assert "Safety basics" in page
    client.post(reverse("manage:person", args=[contractor.pk]), {
        "action": "revoke", "project": onboarding.pk, "revoke-reason": REASON})
    held.refresh_from_db()
    assert held.revoked_at is not None and held.revoke_reason == REASON
    assert AuditEntry.objects.filter(kind="qualification_revoked", subject=contractor).exists()


def test_the_people_page_finds_people(client, admin_user, contractor):
    client.force_login(admin_user)
    page = client.get(reverse("manage:people"), {"q": contractor.email[:8], "role": "contractor"}).content.decode()
    assert reverse("manage:person", args=[contractor.pk]) in page


def test_the_home_page_leads_with_primary_actions_then_grouped_links(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("manage:home")).content.decode()
    primary = page[page.index('class="primary-actions"'):page.index('class="grid three secondary-links"')]
    assert primary.count('class="button primary"') == 3
    for heading in ("Set-up", "People and pay", "Reports and data"):
        assert f">{heading}</h2>" in page
    assert reverse("manage:people") in page and reverse("payouts_manage:bonuses") in page
