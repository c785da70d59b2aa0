"""A task reported broken pays the active time spent on it (issue 19): hourly at the rate in force,
per task prorated over the estimated minutes and never more than one task, capped at the claim time,
once per report; harmful and unclear reports record the time and pay nothing; the recompute leaves
these entries alone. Plus the pages that state the rule and show the entry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations import services
from annotations.models import Claim, ProblemReport
from payouts.models import LedgerEntry
from payouts.services import earnings_recompute
from payouts.services.problems import problem_report_pay_post
from projects.models import PayRate
from sprints.models import Sprint
from taskhub.hooks import pay_changed
from tests import factories
from tests.annotations.reviewing import claim_for, make_project, make_task, submit

pytestmark = pytest.mark.django_db


def _project(unit=PayRate.Unit.PER_HOUR, amount="18.00", **fields):
    project = make_project("pairwise", **fields)
    factories.PayRateFactory(project=project, amount=Decimal(amount), unit=unit,
                             effective_from=timezone.now() - timedelta(days=2))
    return project


def _report(project, *, seconds: int, kind="broken", person=None):
    """Claim a task, with `seconds` of active time measured on it, and report it."""
    make_task(project)
    person = person or factories.ContractorFactory()
    claim = claim_for(person, project)
    Claim.objects.filter(pk=claim.pk).update(active_seconds=seconds, last_heartbeat_at=None)
    claim.refresh_from_db()
    report = services.problem_report_create(claim=claim, contractor=person, kind=kind,
                                            reason="Response B is empty, nothing to compare.")
    return report


def _entries(report):
    return list(LedgerEntry.objects.filter(source_type="problem_report", source_id=report.pk))


def test_a_broken_task_on_hourly_work_pays_its_active_seconds_at_the_hourly_rate():
    report = _report(_project(amount="18.00"), seconds=1200)  # 20 minutes at 18.00/h
    assert report.active_seconds == 1200
    [entry] = _entries(report)
    assert (entry.kind, entry.amount, entry.currency) == ("reported_broken", Decimal("6.00"), "USD")
    assert (entry.active_seconds, entry.rate_amount, entry.rate_unit) == (1200, Decimal("18.00"), "per_hour")
    assert entry.grade is None and entry.contractor_id == report.contractor_id
    assert entry.reason == f"Reported broken: {report.task.external_id}"
    assert entry.idempotency_key == f"reported_broken:problem_report:{report.pk}"


def test_per_task_work_is_prorated_over_the_estimated_minutes_and_never_more_than_one_task():
    project = _project(unit=PayRate.Unit.PER_TASK, amount="3.00", estimated_minutes=10)
    four_minutes = _report(project, seconds=240)
    assert _entries(four_minutes)[0].amount == Decimal("1.20")  # 3.00 × 4 / 10
    long_one = _report(project, seconds=25 * 60)  # 25 minutes on a 10-minute task: one task's pay
    [entry] = _entries(long_one)
    assert entry.amount == Decimal("3.00") and entry.rate_unit == "per_task" and entry.active_seconds == 1500


def test_the_seconds_paid_are_capped_at_the_claim_time_heartbeats_are_bound_by():
    project = _project(amount="36.00", claim_minutes=30)
    report = _report(project, seconds=4000)
    [entry] = _entries(report)
    assert entry.active_seconds == 1800 and entry.amount == Decimal("18.00")
    assert report.active_seconds == 4000  # the report keeps what was measured


@pytest.mark.parametrize("kind", ["harmful", "unclear"])
def test_harmful_and_unclear_reports_record_the_time_and_pay_nothing(kind):
    report = _report(_project(), seconds=600, kind=kind)
    assert report.active_seconds == 600
    assert _entries(report) == []
    assert problem_report_pay_post(report_id=report.pk) == 0
    assert not LedgerEntry.objects.filter(kind="reported_broken").exists()


def test_a_report_is_paid_once_whatever_repeats():
    report = _report(_project(), seconds=1200)
    assert problem_report_pay_post(report_id=report.pk) == 0
    pay_changed(problem_report_id=report.pk)
    assert len(_entries(report)) == 1


def test_no_time_or_no_rate_writes_nothing():
    assert _entries(_report(_project(), seconds=0)) == []
    assert _entries(_report(make_project("pairwise"), seconds=600)) == []


def test_the_recompute_neither_drops_nor_repeats_the_pay_of_a_broken_task():
    project = _project(unit=PayRate.Unit.PER_TASK, amount="3.00")
    person = factories.ContractorFactory()
    submitted = submit(person, project)
    report = _report(project, seconds=240, person=person)
    before = list(LedgerEntry.objects.order_by("pk").values_list("pk", "source_type", "amount"))
    assert earnings_recompute() == 0
    assert earnings_recompute(contractor_id=person.pk) == 0
    assert earnings_recompute(project_id=project.pk) == 0
    assert list(LedgerEntry.objects.order_by("pk").values_list("pk", "source_type", "amount")) == before
    assert len(_entries(report)) == 1
    assert LedgerEntry.objects.filter(source_type="submission", source_id=submitted.pk).count() == 1


def test_the_pages_state_the_rule_and_show_the_entry_and_the_time_paid(client):
    project = _project(unit=PayRate.Unit.PER_TASK, amount="3.00", estimated_minutes=10, name="Tides")
    person, lead = factories.ContractorFactory(), factories.LeadFactory()
    now = timezone.now()
    Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1),
                          target_submissions=10, quality_target=Decimal("3.50")).projects.set([project])
    client.force_login(person)
    page = client.get(reverse("work:project", args=[project.slug])).content.decode()
    assert "A task you report as <strong>broken</strong> is paid for the active time you spent on it" in page
    assert "over the estimated 10 minutes per task, never more than one task's pay" in page
    assert "records the time but pays nothing" in page
    make_task(project)
    claim = claim_for(person, project)
    task_page = client.get(reverse("work:claim", args=[claim.pk])).content.decode()
    assert 'class="help problem-pay-rule"' in task_page and "records the time but pays nothing" in task_page
    Claim.objects.filter(pk=claim.pk).update(active_seconds=300, last_heartbeat_at=None)
    response = client.post(reverse("work:report", args=[claim.pk]),
                           {"kind": "broken", "reason": "Both responses are the same text."})
    assert response.status_code == 302
    report = ProblemReport.objects.get()
    [entry] = _entries(report)
    assert entry.amount == Decimal("1.50")  # 3.00 × 5 / 10
    earnings = client.get(reverse("payouts:earnings")).content.decode()
    assert f"Reported broken: {report.task.external_id}" in earnings and "1.50 USD" in earnings
    detail = client.get(reverse("payouts:entry", args=[entry.pk])).content.decode()
    assert f"Reported broken: {report.task.external_id}" in detail and "reported broken, no grade" in detail
    client.force_login(lead)
    problems = client.get(reverse("lead:problems")).content.decode()
    assert "paid 5:00 of active time: 1.50 USD" in problems


def test_the_lead_page_says_a_harmful_report_recorded_the_time_and_paid_nothing(client):
    project = _project(name="Tides")
    lead, now = factories.LeadFactory(), timezone.now()
    Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1),
                          target_submissions=10, quality_target=Decimal("3.50")).projects.set([project])
    report = _report(project, seconds=600, kind="harmful")
    client.force_login(lead)
    problems = client.get(reverse("lead:problems")).content.decode()
    assert "10:00 of active time" in problems and "time recorded, not paid (harmful content)" in problems
    assert _entries(report) == []
