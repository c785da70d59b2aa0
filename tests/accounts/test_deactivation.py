"""Deactivation is a decision (issue 17, part 3): one service with a written reason, an effective
time, a notice to the person (in TaskHub and by email) and an audit entry; the Django admin's
is_active box is read-only and its action goes through the service; accounts are never deleted
there; nothing deactivates anyone automatically."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.errors import AccountDecisionError, AccountStateError
from accounts.models import AuditEntry, Notification, User
from taskhub.errors import Forbidden
from tests import factories
from tests.admin_forms import admin_form_data
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.django_db

REASON = "Shared their login with someone else, twice."


def test_deactivation_now_needs_a_reason_tells_the_person_and_is_on_record(admin_user, contractor, client,
                                                                           django_capture_on_commit_callbacks):
    with pytest.raises(AccountDecisionError) as short:
        services.user_deactivate(user=contractor, by=admin_user, reason="spam")
    assert short.value.field == "reason" and "at least 20 characters" in short.value.message
    contractor.refresh_from_db()
    assert contractor.is_active and not AuditEntry.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.user_deactivate(user=contractor, by=admin_user, reason=REASON)
    contractor.refresh_from_db()
    assert not contractor.is_active
    assert (contractor.deactivated_by, contractor.deactivation_reason) == (admin_user, REASON)
    [notice] = Notification.objects.filter(user=contractor, kind="account_deactivated")
    assert notice.body == REASON
    [email] = mail.outbox
    assert email.to == [contractor.email] and REASON in email.body
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.DEACTIVATED)
    assert (entry.actor, entry.subject, entry.reason) == (admin_user, contractor, REASON)
    assert not client.login(email=contractor.email, password=factories.PASSWORD)


def test_a_deactivation_set_for_later_is_told_now_and_carried_out_then(admin_user, contractor):
    later = timezone.now() + timedelta(days=3)
    services.user_deactivate(user=contractor, by=admin_user, reason=REASON, effective_at=later)
    contractor.refresh_from_db()
    assert contractor.is_active and contractor.deactivated_at == later
    assert Notification.objects.filter(user=contractor, kind="account_deactivated").exists()
    assert services.users_deactivate_due(now=later - timedelta(minutes=1)) == 0
    assert services.users_deactivate_due(now=later) == 1
    assert services.users_deactivate_due(now=later) == 0  # a repeat does nothing
    contractor.refresh_from_db()
    assert not contractor.is_active
    carried = AuditEntry.objects.filter(kind=AuditEntry.Kind.DEACTIVATED).order_by("id").last()
    assert carried.actor is None and carried.reason == REASON and carried.data["decided_by"] == admin_user.pk


def test_bad_input_and_second_decisions_change_nothing(admin_user, contractor, lead):
    with pytest.raises(Forbidden):
        services.user_deactivate(user=contractor, by=lead, reason=REASON)
    with pytest.raises(AccountDecisionError) as own:
        services.user_deactivate(user=admin_user, by=admin_user, reason=REASON)
    assert own.value.field == "user"
    with pytest.raises(AccountDecisionError) as past:
        services.user_deactivate(user=contractor, by=admin_user, reason=REASON,
                                 effective_at=timezone.now() - timedelta(days=1))
    assert past.value.field == "effective_at"
    with pytest.raises(AccountDecisionError) as nul:
        services.user_deactivate(user=contractor, by=admin_user, reason="Reason with a \x00 NUL in it, long")
    assert nul.value.field == "reason"
    assert not AuditEntry.objects.exists()
    services.user_deactivate(user=contractor, by=admin_user, reason=REASON)
    with pytest.raises(AccountStateError) as twice:
        services.user_deactivate(user=contractor, by=admin_user, reason=REASON)
    assert twice.value.status == 409
    services.user_reactivate(user=contractor, by=admin_user, reason="Cleared up with them on a call today.")
    contractor.refresh_from_db()
    assert contractor.is_active and contractor.deactivated_at is None
    kinds = list(AuditEntry.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [AuditEntry.Kind.DEACTIVATED, AuditEntry.Kind.REACTIVATED]


def test_the_django_admin_box_is_read_only_and_the_action_is_the_service(admin_user, contractor, client_for):
    client = client_for(admin_user)
    change = reverse("admin:accounts_user_change", args=[contractor.pk])
    page = client.get(change).content.decode()
    assert 'name="is_active"' not in page  # shown, not editable
    posted = admin_form_data(page, is_active=None)  # an unticked box, as a browser would send it
    assert client.post(change, posted).status_code == 302
    contractor.refresh_from_db()
    assert contractor.is_active
    # No delete, in the list's actions or on the page.
    changelist = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "delete_selected" not in changelist and "deactivate" in changelist
    assert client.post(reverse("admin:accounts_user_delete", args=[contractor.pk]), {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=contractor.pk).exists()
    # The action asks for the reason, refuses a short one, and decides through the service.
    action = {"action": "deactivate", ACTION_CHECKBOX_NAME: [str(contractor.pk)]}
    asked = client.post(reverse("admin:accounts_user_changelist"), action)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    short = client.post(reverse("admin:accounts_user_changelist"), {**action, "apply": "yes", "reason": "no"})
    assert short.status_code == 200 and "at least 20 characters" in short.content.decode()
    contractor.refresh_from_db()
    assert contractor.is_active
    done = client.post(reverse("admin:accounts_user_changelist"), {**action, "apply": "yes", "reason": REASON})
    assert done.status_code == 302
    contractor.refresh_from_db()
    assert not contractor.is_active and contractor.deactivation_reason == REASON


def test_a_scheduled_deactivation_is_carried_out_by_a_real_worker(celery_worker_process):
    admin = factories.AdminFactory()
    person = factories.ContractorFactory()
    soon = timezone.now() + timedelta(seconds=2)
    services.user_deactivate(user=person, by=admin, reason=REASON, effective_at=soon)
    from accounts.tasks import users_deactivate_due

    wait_for(lambda: timezone.now() > soon, timeout=10)
    users_deactivate_due.delay()
    wait_for(lambda: not User.objects.get(pk=person.pk).is_active, timeout=60)
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.DEACTIVATED, actor__isnull=True, subject=person).exists()


# Where an account's is_active is written, a qualification revoked or a user deleted: only the decision
# services (and the migrations' and tests' own set-up), called only where an admin decides with a reason:
# the Django admin's actions and the people page of /manage/ (projects/views.py). A new writer elsewhere
# reopens a door.
_WRITERS = {
    r"is_active\s*=\s*False|is_active=False|\.update\(is_active": {"accounts/services.py"},
    # (accounts' own revoked_at is an API token's, revoked by its owner: no decision about a person.)
    r"revoked_at\s*=|revoked_at=": {"projects/services/qualifications.py", "projects/models.py",
                                    "accounts/models.py", "accounts/services.py"},
    r"user_deactivate\(|users_deactivate_due\(": {"accounts/services.py", "accounts/admin.py", "accounts/tasks.py",
                                                 "projects/views.py"},
    r"qualification_revoke\(": {"projects/services/qualifications.py", "projects/admin.py",
                                "projects/services/__init__.py", "projects/views.py"},
}
_APPS = ("accounts", "projects", "annotations", "sprints", "payouts", "taskhub")


def test_no_automatic_path_deactivates_or_revokes():
    found: dict[str, set[str]] = {pattern: set() for pattern in _WRITERS}
    for app in _APPS:
        for path in (Path(ROOT) / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in _WRITERS:
                if re.search(pattern, text):
                    found[pattern].add(relative)
    for pattern, allowed in _WRITERS.items():
        assert found[pattern] <= allowed, f"{pattern} written outside the decision services: {found[pattern] - allowed}"
    # The one task carries out only what an admin decided (deactivated_at set by user_deactivate).
    task = (Path(ROOT) / "accounts" / "tasks.py").read_text(encoding="utf-8")
    assert "services.users_deactivate_due()" in task
