"""Pay rules never cut past work (issue 17, part 2): a grade-policy or rate change pays the work
submitted after it takes effect; a lowering needs the rate-cut notice; a raise may be applied to past
work, upward only. Every balance earned before a lowering is unchanged, whether the lowering comes
through the service, the set-up page or the Django admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from payouts import services as payouts
from payouts.models import LedgerEntry
from projects import selectors, services
from projects.errors import GradePolicyError, ProjectSetupError
from projects.models import GradePolicy, PayRate, Project
from tests import factories
from tests.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db

LOWER = {"pay_grade_5": "100", "pay_grade_4": "100", "pay_grade_3": "50", "pay_grade_2": "25", "pay_grade_1": "0",
         "pay_ungraded": "100"}


def balances(contractor) -> dict[int, Decimal]:
    """What the ledger holds per submission."""
    totals: dict[int, Decimal] = {}
    for entry in LedgerEntry.objects.filter(contractor=contractor, source_type="submission"):
        totals[entry.source_id] = totals.get(entry.source_id, Decimal("0")) + entry.amount
    return totals


@pytest.fixture
def paid(work, admin_user):
    """Five graded submissions (grades 1 to 5) and one ungraded, paid at 2.00 per task by the defaults."""
    contractor = factories.ContractorFactory()
    project = work.project(rate="2.0000")
    subs = []
    for grade in (1, 2, 3, 4, 5, None):
        sub = work.submission(contractor=contractor, project=project)
        if grade:
            work.review(sub, grade)
        subs.append(sub)
    payouts.earnings_recompute()
    before = balances(contractor)
    assert before[subs[2].pk] == Decimal("2.00") and before[subs[1].pk] == Decimal("1.00")
    return project, contractor, subs, before


def test_a_lowering_without_notice_is_refused_and_changes_nothing(paid, admin_user):
    project, _contractor, _subs, _before = paid
    policies = GradePolicy.objects.count()
    with pytest.raises(GradePolicyError) as refused:
        services.grade_policy_set(project=project, percents=LOWER, set_by=admin_user, reason="Quality push")
    assert refused.value.code == "policy_cut_notice" and refused.value.field == "effective_from"
    assert "grade 3 50%" in refused.value.message and "(was 100%)" in refused.value.message
    assert GradePolicy.objects.count() == policies
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.GRADE_POLICY_SET).exists()


def test_a_lowering_after_notice_pays_later_work_only_and_every_past_balance_stays(paid, admin_user, work):
    project, contractor, _subs, before = paid
    effective = timezone.now() + settings.TASKHUB_RATE_CUT_NOTICE + timedelta(minutes=1)
    services.grade_policy_set(project=project, percents=LOWER, set_by=admin_user, reason="Quality push",
                              effective_from=effective)
    assert payouts.earnings_recompute() == 0
    assert balances(contractor) == before
    # Work submitted before the change takes effect keeps the old shares; after it, the new ones.
    early = work.submission(contractor=contractor, project=project, at=effective - timedelta(minutes=5))
    late = work.submission(contractor=contractor, project=project, at=effective + timedelta(minutes=5))
    work.review(early, 3)
    work.review(late, 3)
    payouts.earnings_recompute()
    after = balances(contractor)
    assert (after[early.pk], after[late.pk]) == (Decimal("2.00"), Decimal("1.00"))
    assert all(after[pk] == amount for pk, amount in before.items())
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.GRADE_POLICY_SET)
    assert entry.actor == admin_user and entry.project_id == project.pk and entry.reason == "Quality push"


def test_a_lowering_through_the_set_up_page_leaves_past_balances(paid, admin_user, client_for):
    project, contractor, _subs, before = paid
    client = client_for(admin_user)
    page = client.get(reverse("manage:project_edit", args=[project.pk])).content.decode()
    assert 'name="policy-effective_from"' in page and 'name="policy-apply_to_past"' in page
    data = {
        "name": project.name, "slug": project.slug, "task_type": project.task_type, "status": "active",
        "description": "", "instructions": project.instructions, "overlap": "1", "max_active_claims": "3",
        "claim_minutes": "30", "review_sample_rate": "100", "flag_threshold": "2.50", "flag_window": "10",
        "flag_min_grades": "3", "wage_floor_guaranteed": "on", "rubric-TOTAL_FORMS": "0",
        "rubric-INITIAL_FORMS": "0", "rubric-MIN_NUM_FORMS": "0", "rubric-MAX_NUM_FORMS": "20",
        **{f"policy-{k}": v for k, v in LOWER.items()}, "policy-reason": "Quality push",
    }
    refused = client.post(reverse("manage:project_edit", args=[project.pk]), data)
    assert refused.status_code == 400
    assert 'data-field="policy-effective_from"' in refused.content.decode()
    assert not GradePolicy.objects.filter(project=project).exists()
    later = timezone.localtime(timezone.now() + settings.TASKHUB_RATE_CUT_NOTICE + timedelta(hours=1))
    saved = client.post(reverse("manage:project_edit", args=[project.pk]),
                        {**data, "policy-effective_from": later.strftime("%Y-%m-%dT%H:%M")})
    assert saved.status_code == 302
    assert GradePolicy.objects.get(project=project).pay_grade_3 == Decimal("50.00")
    payouts.earnings_recompute()
    assert balances(contractor) == before


def test_a_lowering_through_the_django_admin_leaves_past_balances(paid, admin_user, client_for):
    project, contractor, _subs, before = paid
    client = client_for(admin_user)
    add = reverse("admin:projects_gradepolicy_add")
    data = {"project": str(project.pk), **LOWER, "reason": "Quality push"}
    refused = client.post(add, data)
    assert refused.status_code == 200 and "after notice" in refused.content.decode()
    assert not GradePolicy.objects.exists()
    later = timezone.localtime(timezone.now() + settings.TASKHUB_RATE_CUT_NOTICE + timedelta(hours=1))
    saved = client.post(add, {**data, "effective_from_0": later.strftime("%Y-%m-%d"),
                              "effective_from_1": later.strftime("%H:%M:%S")})
    assert saved.status_code == 302, saved.content.decode()[:3000]
    policy = GradePolicy.objects.get()
    assert policy.set_by == admin_user and policy.effective_from > timezone.now()
    payouts.earnings_recompute()
    assert balances(contractor) == before
    # A policy is history: never edited or deleted here, and the database refuses it anyway.
    change = client.get(reverse("admin:projects_gradepolicy_change", args=[policy.pk]))
    assert change.status_code in (302, 403) or 'name="pay_grade_3"' not in change.content.decode()
    assert client.post(reverse("admin:projects_gradepolicy_delete", args=[policy.pk]),
                       {"post": "yes"}).status_code == 403
    for statement in ("UPDATE projects_gradepolicy SET pay_grade_3 = 0", "DELETE FROM projects_gradepolicy"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_a_rate_cut_through_the_django_admin_leaves_past_balances(paid, admin_user, client_for):
    project, contractor, _subs, before = paid
    client = client_for(admin_user)
    later = timezone.localtime(timezone.now() + settings.TASKHUB_RATE_CUT_NOTICE + timedelta(hours=1))
    response = client.post(reverse("admin:projects_payrate_add"), {
        "project": str(project.pk), "amount": "0.50", "currency": "USD", "unit": "per_task",
        "effective_from_0": later.strftime("%Y-%m-%d"), "effective_from_1": later.strftime("%H:%M:%S"),
        "reason": "Shorter tasks now"})
    assert response.status_code == 302
    assert PayRate.objects.filter(project=project).count() == 2
    payouts.earnings_recompute()
    assert balances(contractor) == before


def test_a_raise_applied_to_past_work_only_ever_adds(work, admin_user):
    """Work paid by an earlier, lower policy is raised to the new shares; work paid more by an even
    earlier policy keeps it; no correction is ever negative."""
    contractor = factories.ContractorFactory()
    project = work.project(rate="10.0000")
    now = timezone.now()
    GradePolicy.objects.create(project=project, effective_from=now - timedelta(days=60), pay_grade_2=Decimal("50"),
                               pay_grade_3=Decimal("100"), pay_grade_4=Decimal("100"))
    GradePolicy.objects.create(project=project, effective_from=now - timedelta(days=10), pay_grade_2=Decimal("20"),
                               pay_grade_3=Decimal("60"), pay_grade_4=Decimal("80"))
    old = {g: work.submission(contractor=contractor, project=project, at=now - timedelta(days=20)) for g in (2, 3)}
    recent = {g: work.submission(contractor=contractor, project=project, at=now - timedelta(days=5)) for g in (2, 3, 4)}
    for grade, sub in [*old.items(), *recent.items()]:
        work.review(sub, grade)
    payouts.earnings_recompute()
    before = balances(contractor)
    with pytest.raises(GradePolicyError) as not_a_raise:
        services.grade_policy_set(project=project, set_by=admin_user, reason="mixed", apply_to_past=True,
                                  percents={"pay_grade_2": "40", "pay_grade_3": "90", "pay_grade_4": "70"})
    assert not_a_raise.value.code == "policy_cut_notice"  # grade 4 lower: a cut, never for past work
    services.grade_policy_set(project=project, set_by=admin_user, reason="Grades 2 and 3 paid fairly",
                              apply_to_past=True,
                              percents={"pay_grade_2": "40", "pay_grade_3": "90", "pay_grade_4": "80"})
    payouts.earnings_recompute()
    after = balances(contractor)
    assert after[old[2].pk] == Decimal("5.00") and after[old[3].pk] == Decimal("10.00")  # kept the better 50/100
    assert after[recent[2].pk] == Decimal("4.00") and after[recent[3].pk] == Decimal("9.00")  # raised from 20/60
    assert after[recent[4].pk] == Decimal("8.00")
    assert all(after[pk] >= amount for pk, amount in before.items())
    assert not LedgerEntry.objects.filter(kind="adjustment", amount__lt=0).exists()
    # The contractor's history shows the policies as they were set, not the copies carried back.
    assert next(p.reason for p in selectors.policy_history(project=project)) == "Grades 2 and 3 paid fairly"
    assert selectors.policy_history(project=project).count() == 3


def test_a_projects_kind_is_fixed_once_created(work, admin_user, client_for):
    project = work.project(rate="2.0000", is_onboarding=False)
    with pytest.raises(ProjectSetupError) as refused:
        services.project_update(project=project, updated_by=admin_user, fields={"is_onboarding": True})
    assert refused.value.field == "is_onboarding"
    page = client_for(admin_user).get(reverse("admin:projects_project_change", args=[project.pk])).content.decode()
    posted = admin_form_data(page, is_onboarding="on")
    client_for(admin_user).post(reverse("admin:projects_project_change", args=[project.pk]), posted)
    assert not Project.objects.get(pk=project.pk).is_onboarding
