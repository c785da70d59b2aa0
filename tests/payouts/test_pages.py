"""Earnings pages, statements, the payout desk and the wage-floor report."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from payouts import services
from payouts.models import LedgerEntry, Payout, PayoutPeriod
from tests import factories


def _closed():
    return services.payout_period_last_closed(now=timezone.now() + timedelta(days=7))


def _earn(work, contractor, admin_user, *, submissions=3, bonus=True):
    project = work.project(rate="1.2500")
    for _ in range(submissions):
        work.submission(contractor=contractor, project=project)
    services.earnings_recompute(contractor_id=contractor.pk)
    if bonus:
        services.ledger_bonus_add(contractor=contractor, amount="2.00", currency="USD",
                                  reason="Careful work on the hard prompts", created_by=admin_user)
    return project


def _draft_for(contractor):
    period = _closed()
    services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    return Payout.objects.get(contractor=contractor, period=period)


def test_earnings_page_shows_balance_chart_ledger_and_rates(client_for, contractor, admin_user, work):
    _earn(work, contractor, admin_user)
    response = client_for(contractor).get(reverse("payouts:earnings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "5.75 USD" in html  # 3 × 1.25 + 2.00
    assert "Careful work on the hard prompts" in html
    assert "<svg" in html and "<rect" in html
    assert "<script>" not in html  # the chart is SVG drawn by the server: no inline script
    assert "Effective hourly rate" in html


def test_earnings_page_query_count_is_fixed_as_the_data_grows(client_for, contractor, admin_user, work,
                                                             django_assert_max_num_queries):
    client = client_for(contractor)
    _earn(work, contractor, admin_user, submissions=2)
    _draft_for(contractor)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("payouts:earnings")).status_code == 200
    for _ in range(4):
        _earn(work, contractor, admin_user, submissions=6)
    PayoutPeriod.objects.create(start=_closed().end, end=_closed().end + timedelta(days=7))
    services.payouts_draft(period=PayoutPeriod.objects.order_by("-start").first(),
                           now=timezone.now() + timedelta(days=30))
    assert Payout.objects.filter(contractor=contractor).count() == 2
    with django_assert_max_num_queries(12):
        response = client.get(reverse("payouts:earnings"))
    assert response.status_code == 200
    assert response.content.decode().count("submission ") >= 26


def test_statement_page_and_csv_list_the_payouts_entries(client_for, contractor, admin_user, work,
                                                        django_assert_max_num_queries):
    _earn(work, contractor, admin_user)
    payout = _draft_for(contractor)
    client = client_for(contractor)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("payouts:statement", args=[payout.pk]))
    assert page.status_code == 200
    assert "5.75" in page.content.decode() and "Download CSV" in page.content.decode()

    response = client.get(reverse("payouts:statement_csv", args=[payout.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == f"# TaskHub statement for payout {payout.pk}" and "total 5.75" in rows[0]
    header, body = rows[1], rows[2:]
    assert header[-2:] == ["amount", "currency"]
    assert len(body) == 4
    amounts = [Decimal(row[header.index("amount")]) for row in body]
    assert sorted(amounts) == [Decimal("1.25")] * 3 + [Decimal("2.00")]
    assert sum(amounts) == payout.total
    assert all(len(row[header.index("amount")].split(".")[1]) == 2 for row in body)  # cents, not floats
    kinds = {row[header.index("kind")] for row in body}
    assert kinds == {"task", "bonus"}
    bonus = next(row for row in body if row[header.index("kind")] == "bonus")
    assert bonus[header.index("reason")] == "Careful work on the hard prompts"


def test_another_persons_statement_is_not_found(client_for, contractor, admin_user, work):
    _earn(work, contractor, admin_user)
    payout = _draft_for(contractor)
    other = factories.ContractorFactory()
    client = client_for(other)
    assert client.get(reverse("payouts:statement", args=[payout.pk])).status_code == 404
    assert client.get(reverse("payouts:statement_csv", args=[payout.pk])).status_code == 404
    page = client.get(reverse("payouts:earnings")).content.decode()
    assert "Careful work" not in page and f"#{payout.pk}" not in page


@pytest.mark.parametrize("name", ["payouts_manage:payouts", "payouts_manage:wage_floor"])
def test_contractors_and_leads_cannot_reach_admin_pages(client_for, contractor, lead, name):
    assert client_for(contractor).get(reverse(name)).status_code == 403
    assert client_for(lead).get(reverse(name)).status_code == 403


def test_lead_and_admin_have_no_contractor_earnings_page(client_for, lead):
    assert client_for(lead).get(reverse("payouts:earnings")).status_code == 403


def test_admin_drafts_approves_many_and_marks_paid(client_for, admin_user, work,
                                                   django_assert_max_num_queries):
    people = [factories.ContractorFactory() for _ in range(3)]
    for person in people:
        _earn(work, person, admin_user, submissions=1, bonus=False)
    client = client_for(admin_user)
    period = _closed()
    services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    with django_assert_max_num_queries(10):
        page = client.get(reverse("payouts_manage:payouts"))
    assert page.status_code == 200 and page.content.decode().count('name="payout"') == 3

    ids = list(Payout.objects.values_list("pk", flat=True))
    response = client.post(reverse("payouts_manage:approve"), {"payout": ids[:2]}, follow=True)
    assert "Approved 2 payout(s)." in response.content.decode()
    assert sorted(Payout.objects.values_list("status", flat=True)) == ["approved", "approved", "draft"]
    bad = client.post(reverse("payouts_manage:approve"), {"payout": ["x"]}, follow=True)
    assert bad.status_code == 200 and "not understood" in bad.content.decode()

    url = reverse("payouts_manage:mark_paid", args=[ids[0]])
    client.post(url, {"external_reference": "BANK-77"})
    client.post(url, {"external_reference": "BANK-77"})
    payout = Payout.objects.get(pk=ids[0])
    assert (payout.status, payout.external_reference) == ("paid", "BANK-77")
    refused = client.post(reverse("payouts_manage:mark_paid", args=[ids[2]]), {"external_reference": "X"},
                          follow=True)
    assert "approve it before" in refused.content.decode()
    assert Payout.objects.get(pk=ids[2]).status == "draft"
    assert client.post(reverse("payouts_manage:mark_paid", args=[999_999]), {"external_reference": "X"}
                       ).status_code == 404

    statement = client.get(reverse("payouts_manage:statement", args=[ids[0]]))
    assert statement.status_code == 200 and "BANK-77" in statement.content.decode()


def test_wage_floor_report_page(client_for, admin_user, work, django_assert_max_num_queries):
    services.wage_floor_set(jurisdiction="US-CA", amount="16.90", currency="USD", effective_from=date(2024, 1, 1))
    person = factories.ContractorFactory(jurisdiction="US-CA", display_name="Under Paid")
    project = work.project(rate="2.0000", name="Tiny tasks")
    work.submission(contractor=person, project=project, at=timezone.now() - timedelta(minutes=1),
                    active_seconds=3600)
    services.earnings_recompute()
    client = client_for(admin_user)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("payouts_manage:wage_floor"), {"weeks": "oops"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Under Paid" in html and "Tiny tasks" in html and "16.90" in html and "2.00" in html


def test_admin_adds_a_bonus_through_the_django_admin(client_for, admin_user, contractor):
    client = client_for(admin_user)
    url = reverse("admin:payouts_ledgerentry_add")
    assert client.get(url).status_code == 200
    data = {"kind": "bonus", "contractor": contractor.pk, "project": "", "amount": "15.00", "currency": "USD",
            "reason": "Top reviewer of the month", "token": "tok-123"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.post(url, data)  # a double submission pays once
    entry = LedgerEntry.objects.get(contractor=contractor)
    assert (entry.kind, entry.amount, entry.reason, entry.created_by) == (
        "bonus", Decimal("15.00"), "Top reviewer of the month", admin_user)
    negative = client.post(url, {**data, "amount": "-1.00", "token": "tok-456"}, follow=True)
    assert "more than zero" in negative.content.decode()
    assert LedgerEntry.objects.count() == 1
    change = client.get(reverse("admin:payouts_ledgerentry_change", args=[entry.pk]))
    assert change.status_code == 200 and "Save" not in change.content.decode().split("submit-row")[-1][:200]
