"""One audit trail (issue 17, part 6): every decision that touches people or pay is an append-only
entry (who, when, what, about whom, why, what it touched), written inside the decision's own
transaction; admins read it all on one page with filters, a contractor reads the entries about them
(and about the pay of their projects) on a History page."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import audit_record, user_deactivate
from payouts.services import ledger_bonus_add
from projects.services import pay_rate_set, qualification_grant, qualification_revoke
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(work, admin_user):
    """A few decisions: a rate change on Alice's project, a grant and a revocation about Alice, a bonus
    for Bob, a deactivation of Carol."""
    alice, bob, carol = (factories.ContractorFactory(email=f"{n}@example.com") for n in ("alice", "bob", "carol"))
    project = work.project(rate="1.0000", name="Musen")
    work.submission(contractor=alice, project=project)
    pay_rate_set(project=project, amount="1.50", currency="USD", unit="per_task", effective_from=None,
                 set_by=admin_user, reason="Harder prompts from this week")
    onboarding = factories.ProjectFactory(is_onboarding=True, name="Basics")
    qualification_grant(contractor=alice, project=onboarding, granted_by=admin_user)
    qualification_revoke(contractor=alice, project=onboarding, revoked_by=admin_user,
                         reason="Passed with someone else's answers, as we found.")
    ledger_bonus_add(contractor=bob, amount="5.00", currency="USD", reason="Found a bug", created_by=admin_user)
    user_deactivate(user=carol, by=admin_user, reason="Asked us to close the account for good.")
    return {"alice": alice, "bob": bob, "carol": carol, "project": project, "onboarding": onboarding}


def test_the_database_refuses_to_change_or_remove_an_entry(trail):
    for statement in ("UPDATE accounts_auditentry SET reason = ''", "DELETE FROM accounts_auditentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_an_entry_is_written_inside_its_decisions_transaction_or_not_at_all():
    admin = factories.AdminFactory()
    with pytest.raises(RuntimeError):  # outside a transaction it could outlive a rolled back decision
        audit_record(actor=admin, kind=AuditEntry.Kind.RATE_SET, summary="x")
    with pytest.raises(ValueError), transaction.atomic():
        audit_record(actor=admin, kind="not_a_kind", summary="x")
    assert not AuditEntry.objects.exists()


def test_each_decision_names_who_what_whom_why_and_the_object(trail, admin_user):
    entries = {e.kind: e for e in AuditEntry.objects.all()}
    rate = entries[AuditEntry.Kind.RATE_SET]
    assert (rate.actor, rate.actor_role, rate.subject, rate.project_name) == (admin_user, "admin", None, "Musen")
    assert rate.object_type == "projects.payrate" and rate.reason == "Harder prompts from this week"
    revoked = entries[AuditEntry.Kind.QUALIFICATION_REVOKED]
    assert revoked.subject == trail["alice"] and revoked.object_type == "projects.qualification"
    assert entries[AuditEntry.Kind.LEDGER_BONUS].subject == trail["bob"]
    assert entries[AuditEntry.Kind.DEACTIVATED].subject == trail["carol"]


def test_the_admin_page_lists_everything_with_filters(trail, admin_user, client_for, django_assert_max_num_queries):
    client = client_for(admin_user)
    url = reverse("accounts_manage:audit")
    with django_assert_max_num_queries(8):
        page = client.get(url).content.decode()
    for text in ("Pay rate set", "Qualification revoked", "Bonus added", "Account deactivated"):
        assert text in page
    only = client.get(url, {"kind": "qualification_revoked"}).content.decode()
    assert "Qualification revoked" in only and "Bonus added</td>" not in only
    about = client.get(url, {"subject": "bob@"}).content.decode()
    assert "Bonus added" in about and "Account deactivated</td>" not in about
    by_project = client.get(url, {"project": str(trail["project"].pk)}).content.decode()
    assert "Pay rate set" in by_project and "Bonus added</td>" not in by_project
    text = client.get(url, {"text": "someone else"}).content.decode()
    assert "Qualification revoked" in text and "Pay rate set</td>" not in text
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert "No entries match" in client.get(url, {"since": tomorrow}).content.decode()
    bad = client.get(url, {"kind": "nonsense", "since": "yesterday", "project": "x1"})
    assert bad.status_code == 400
    # The page's query count does not grow with the trail.
    for _ in range(5):
        ledger_bonus_add(contractor=trail["bob"], amount="1.00", currency="USD", reason="More", created_by=admin_user)
    with django_assert_max_num_queries(8):
        client.get(url)


def test_only_admins_reach_the_admin_page(client_for, lead, contractor):
    assert client_for(lead).get(reverse("accounts_manage:audit")).status_code == 403
    assert client_for(contractor).get(reverse("accounts_manage:audit")).status_code == 403


def test_a_contractor_reads_the_entries_about_them_and_their_projects_pay(trail, client_for,
                                                                         django_assert_max_num_queries):
    client = client_for(trail["alice"])
    with django_assert_max_num_queries(9):
        page = client.get(reverse("work:history")).content.decode()
    assert "Qualification revoked" in page and "someone else&#x27;s answers" in page
    assert "Pay rate set" in page and "Harder prompts" in page  # the pay of a project they worked on
    assert "an admin" in page and trail["bob"].email not in page  # by role, and nothing about others
    assert "Bonus added" not in page and "Account deactivated" not in page
    bob_page = client_for(trail["bob"]).get(reverse("work:history")).content.decode()
    assert "Bonus added" in bob_page and "Qualification revoked" not in bob_page
    assert "Pay rate set" in bob_page  # Musen is open to him: its pay decisions concern him too
    gated = factories.ProjectFactory(qualification=trail["onboarding"], name="Gated")
    pay_rate_set(project=gated, amount="3.00", currency="USD", unit="per_task", effective_from=None,
                 set_by=AuditEntry.objects.first().actor, reason="Launch rate")
    assert "Gated" not in client_for(trail["bob"]).get(reverse("work:history")).content.decode()
