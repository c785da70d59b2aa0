"""Project swaps are no way around the notice before a cut (issue 17, part 1): a project that
continues another is paid by the lineage's rate in force, its lower first rate waits for the
notice, the predecessor's contractors are told, TaskHub proposes the lineage when a new project
looks like one closed recently (and it cannot open until an admin answers), and a lineage is never
changed, undone or made circular."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Notification
from payouts import services as payout_services
from payouts.models import LedgerEntry
from projects import selectors, services
from projects.errors import LineageError, RateError
from projects.models import LineageDecision, PayRate, Project
from tests import factories
from tests.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db

LAUNCH = {"rate_amount": "16.00", "rate_currency": "USD", "rate_unit": "per_hour"}


def _fields(**overrides):
    fields = {"name": "Nova", "slug": "nova", "task_type": "pairwise", "status": "active", "overlap": 1,
              "max_active_claims": 3, "claim_minutes": 30, "review_sample_rate": 100, "flag_threshold": "2.50",
              "flag_window": 10, "flag_min_grades": 3, "rubric": [], "task_config": {}}
    fields.update(overrides)
    return fields


@pytest.fixture
def musen(work, admin_user):
    """Musen paid 21.00 USD an hour; Alice worked there; it was closed a day ago."""
    onboarding = factories.ProjectFactory(is_onboarding=True, name="Basics")
    musen = work.project(rate="21.0000", unit=PayRate.Unit.PER_HOUR, name="Musen", slug="musen",
                         qualification=onboarding)
    alice = factories.ContractorFactory(email="alice@example.com")
    services.qualification_grant(contractor=alice, project=onboarding, granted_by=admin_user)
    work.submission(contractor=alice, project=musen, active_seconds=3600, at=timezone.now() - timedelta(days=3))
    services.project_update(project=musen, updated_by=admin_user, fields={"status": Project.Status.ARCHIVED},
                            now=timezone.now() - timedelta(days=1))
    musen.refresh_from_db()
    return musen, alice, onboarding


def test_a_continuation_at_a_lower_rate_waits_for_the_notice_and_pays_the_old_rate_until_then(
        musen, admin_user, work, django_capture_on_commit_callbacks):
    old, alice, onboarding = musen
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        nova = services.project_create(created_by=admin_user, fields=_fields(continues=old, qualification=onboarding),
                                       **LAUNCH, now=now)
    assert nova.continues == old and nova.status == Project.Status.ACTIVE
    own = PayRate.objects.get(project=nova)
    assert own.amount == Decimal("16.0000")
    assert own.effective_from == now + settings.TASKHUB_RATE_CUT_NOTICE  # the lower rate waits for the notice
    in_force = selectors.rate_in_force(project=nova, at=now + timedelta(hours=1))
    assert in_force.project == old and in_force.amount == Decimal("21.0000")
    assert selectors.rate_in_force(project=nova, at=own.effective_from) == own
    # Work on Nova during the notice is paid Musen's 21.00 an hour, not 16.00.
    sub = work.submission(contractor=alice, project=nova, active_seconds=3600, at=now + timedelta(minutes=5))
    payout_services.earnings_recompute(contractor_id=alice.pk)
    assert LedgerEntry.objects.get(source_type="submission", source_id=sub.pk).amount == Decimal("21.00")
    # Musen's contractors were told, with what Nova pays and when.
    [told] = Notification.objects.filter(user=alice, kind="lineage")
    assert "Musen continues as Nova" in told.title and "16.00" in told.body
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.LINEAGE_SET)
    assert (entry.actor, entry.project_id) == (admin_user, nova.pk)


def test_a_cut_across_the_lineage_needs_the_same_notice_as_within_a_project(musen, admin_user):
    old, _alice, onboarding = musen
    nova = services.project_create(created_by=admin_user, fields=_fields(continues=old, qualification=onboarding),
                                   rate_amount="25.00", rate_currency="USD", rate_unit="per_hour")
    assert PayRate.objects.get(project=nova).amount == Decimal("25.0000")  # a raise applies at once
    with pytest.raises(RateError) as refused:
        services.pay_rate_set(project=nova, amount="16.00", currency="USD", unit="per_hour", effective_from=None,
                              set_by=admin_user, reason="Cheaper now")
    assert refused.value.code == "rate_cut_notice" and refused.value.field == "effective_from"
    third = services.project_create(created_by=admin_user,
                                    fields=_fields(name="Orion", slug="orion", continues=nova, qualification=onboarding,
                                                   status="draft"),
                                    rate_amount="20.00", rate_currency="USD", rate_unit="per_hour")
    # Orion continues Nova, which continues Musen: its 20.00 is a cut from Nova's 25.00 and waits too.
    assert PayRate.objects.get(project=third).effective_from > timezone.now() + timedelta(days=6)


def test_a_new_project_like_a_recently_closed_one_cannot_open_until_an_admin_answers(
        musen, admin_user, django_capture_on_commit_callbacks):
    old, alice, onboarding = musen
    with pytest.raises(LineageError) as refused:
        services.project_create(created_by=admin_user, fields=_fields(qualification=onboarding), **LAUNCH)
    assert refused.value.field == "continues" and "Musen" in refused.value.message
    assert not Project.objects.filter(slug="nova").exists()  # nothing written
    # As a draft it may be created; it opens only once answered.
    nova = services.project_create(created_by=admin_user, fields=_fields(qualification=onboarding, status="draft"),
                                   **LAUNCH)
    assert [p.pk for p in services.project_open_blockers(project=nova)] == [old.pk]
    with pytest.raises(LineageError):
        services.project_update(project=nova, updated_by=admin_user, fields={"status": "active"})
    nova.refresh_from_db()
    assert nova.status == Project.Status.DRAFT
    with pytest.raises(LineageError) as short:
        services.project_lineage_decline(project=nova, candidate=old, by=admin_user, reason="new")
    assert short.value.field == "lineage_reason"
    reason = "Nova labels a new kind of dialogue, with its own rubric and guide."
    with django_capture_on_commit_callbacks(execute=True):
        services.project_lineage_decline(project=nova, candidate=old, by=admin_user, reason=reason)
    services.project_update(project=nova, updated_by=admin_user, fields={"status": "active"})
    nova.refresh_from_db()
    assert nova.status == Project.Status.ACTIVE and nova.continues is None
    decision = LineageDecision.objects.get(project=nova, candidate=old)
    assert (decision.decision, decision.reason, decision.decided_by) == ("declined", reason, admin_user)
    # Musen's contractors are told why, and read it on Nova's page and their History page.
    [told] = Notification.objects.filter(user=alice, kind="lineage_declined")
    assert reason in told.body
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.LINEAGE_DECLINED)
    assert entry.project_id == old.pk and entry.reason == reason


def test_the_decline_reason_and_the_predecessors_rates_show_on_the_contractor_pages(musen, admin_user, client_for):
    old, alice, onboarding = musen
    reason = "Different work: Nova rates audio, Musen compared text."
    services.project_create(created_by=admin_user, fields=_fields(qualification=onboarding,
                                                                  lineage_reason=reason), **LAUNCH)
    client = client_for(alice)
    page = client.get(reverse("work:project", args=["nova"])).content.decode()
    assert "Not a continuation of Musen" in page and reason in page
    history = client.get(reverse("work:history")).content.decode()
    assert "Not a continuation" in history and reason in history
    orion = services.project_create(created_by=admin_user,
                                    fields=_fields(name="Orion", slug="orion", qualification=onboarding,
                                                   continues=old, lineage_reason=""), **LAUNCH)
    page = client.get(reverse("work:project", args=[orion.slug])).content.decode()
    assert "Continues Musen: 21.00 USD per hour from" in page
    assert "The rate of Musen, which this project continues" in page


def test_continuing_later_carries_the_predecessors_rate_over_the_notice(musen, admin_user):
    """Said after the new project's own lower rate was set, the lineage still gives the notice."""
    old, _alice, onboarding = musen
    nova = services.project_create(created_by=admin_user, fields=_fields(qualification=onboarding, status="draft"),
                                   **LAUNCH)
    now = timezone.now()
    services.project_lineage_set(project=nova, predecessor=old, by=admin_user, now=now)
    assert selectors.rate_in_force(project=nova, at=now + timedelta(minutes=1)).amount == Decimal("21.0000")
    later = selectors.rate_in_force(project=nova, at=now + settings.TASKHUB_RATE_CUT_NOTICE)
    assert later.amount == Decimal("16.0000") and later.project == nova


def test_a_lineage_is_never_changed_undone_or_circular(musen, admin_user):
    old, _alice, onboarding = musen
    nova = services.project_create(created_by=admin_user, fields=_fields(continues=old, qualification=onboarding),
                                   **LAUNCH)
    other = factories.ProjectFactory(task_type="pairwise")
    with pytest.raises(LineageError) as again:
        services.project_lineage_set(project=nova, predecessor=other, by=admin_user)
    assert again.value.field == "continues"
    with pytest.raises(LineageError) as circle:
        services.project_lineage_set(project=old, predecessor=nova, by=admin_user)
    assert "circle" in circle.value.message
    with pytest.raises(LineageError):
        services.project_lineage_set(project=other, predecessor=other, by=admin_user)
    rating = factories.ProjectFactory(task_type="rating")
    with pytest.raises(LineageError) as other_work:
        services.project_lineage_set(project=rating, predecessor=other, by=admin_user)
    assert "not the same work" in other_work.value.message
    # The database refuses it too, whoever writes.
    for statement, args in (("UPDATE projects_project SET continues_id = NULL WHERE id = %s", [nova.pk]),
                            ("UPDATE projects_project SET continues_id = %s WHERE id = %s", [nova.pk, old.pk]),
                            ("UPDATE projects_project SET continues_id = id WHERE id = %s", [other.pk])):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, args)
    nova.refresh_from_db()
    assert nova.continues == old


def test_the_set_up_page_creates_a_continuation_and_asks_about_look_alikes(musen, admin_user, client_for):
    old, _alice, onboarding = musen
    client = client_for(admin_user)
    data = {
        "name": "Nova", "slug": "nova", "task_type": "pairwise", "status": "active", "description": "",
        "instructions": "", "overlap": "1", "max_active_claims": "3",
        "claim_minutes": "30", "review_sample_rate": "100", "flag_threshold": "2.50", "flag_window": "10",
        "flag_min_grades": "3", "qualification": str(onboarding.pk), "wage_floor_guaranteed": "on",
        "rubric-TOTAL_FORMS": "0", "rubric-INITIAL_FORMS": "0", "rubric-MIN_NUM_FORMS": "0",
        "rubric-MAX_NUM_FORMS": "20", "rate-amount": "16.00", "rate-currency": "USD", "rate-unit": "per_hour",
        "policy-pay_grade_5": "100", "policy-pay_grade_4": "100", "policy-pay_grade_3": "100",
        "policy-pay_grade_2": "50", "policy-pay_grade_1": "0", "policy-pay_ungraded": "100",
    }
    refused = client.post(reverse("manage:project_create"), data)
    assert refused.status_code == 400
    assert 'data-field="continues"' in refused.content.decode() and "Musen" in refused.content.decode()
    assert not Project.objects.filter(slug="nova").exists()
    created = client.post(reverse("manage:project_create"), {**data, "continues": str(old.pk)})
    assert created.status_code == 302
    nova = Project.objects.get(slug="nova")
    assert nova.continues == old
    assert PayRate.objects.get(project=nova).effective_from > timezone.now() + timedelta(days=6)


def test_the_django_admin_cannot_open_an_unanswered_look_alike_or_edit_the_lineage(musen, admin_user, client_for):
    old, _alice, onboarding = musen
    nova = services.project_create(created_by=admin_user, fields=_fields(qualification=onboarding, status="draft"),
                                   **LAUNCH)
    client = client_for(admin_user)
    url = reverse("admin:projects_project_change", args=[nova.pk])
    form = client.get(url).content.decode()
    assert 'name="continues"' not in form and 'name="is_onboarding"' not in form  # read-only there
    data = admin_form_data(form, status="active", continues=str(old.pk))
    response = client.post(url, data)
    assert response.status_code == 200 and "closed recently" in response.content.decode()
    nova.refresh_from_db()
    assert nova.status == Project.Status.DRAFT and nova.continues is None
    assert client.get(reverse("admin:projects_project_add")).status_code == 403
    assert client.post(reverse("admin:projects_project_delete", args=[old.pk]), {"post": "yes"}).status_code == 403
