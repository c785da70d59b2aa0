"""The payout desk says why nothing (or not everyone) was drafted: counted by the drafting service."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from payouts import services
from payouts.models import LedgerEntry, PayoutPeriod
from tests import factories


def closed_period():
    return services.payout_period_last_closed(now=timezone.now() + timedelta(days=7))


def test_an_open_period_is_explained_with_its_end(db):
    period = services.payout_period_for(at=timezone.now())
    outcome = services.payouts_draft_explained(period=period)
    assert outcome.drafted == 0
    assert outcome.reasons[0]["code"] == "period_open"
    assert f"the period has not ended (ends {period.end:%Y-%m-%d}" in outcome.summary


def test_nothing_unpaid_is_said_and_kept_on_the_period(db):
    period = closed_period()
    outcome = services.payouts_draft_explained(period=period, now=period.end + timedelta(hours=1))
    assert outcome.drafted == 0
    assert [r["code"] for r in outcome.reasons] == ["nothing_unpaid"]
    assert "nothing unpaid in the period" in outcome.summary
    period.refresh_from_db()
    assert period.last_draft == {"drafted": 0, "reasons": outcome.reasons}
    assert period.last_drafted_at is not None


def test_each_count_has_its_reason(contractor, admin_user):
    other = factories.ContractorFactory()
    services.ledger_bonus_add(contractor=contractor, amount="5.00", currency="USD", reason="Good week",
                              created_by=admin_user)
    services.ledger_adjustment_add(contractor=other, amount="-3.00", currency="USD", reason="Overpaid",
                                   created_by=admin_user)
    period = closed_period()
    now = period.end + timedelta(hours=1)
    first = services.payouts_draft_explained(period=period, now=now)
    assert first.drafted == 1
    assert [(r["code"], r["count"]) for r in first.reasons] == [("not_positive", 1)]
    # A later bonus for someone already paid for the period waits: said as such.
    services.ledger_bonus_add(contractor=contractor, amount="2.00", currency="USD", reason="Late",
                              created_by=admin_user)
    second = services.payouts_draft_explained(period=period, now=now)
    assert second.drafted == 0
    assert ("already_drafted", 1) in [(r["code"], r["count"]) for r in second.reasons]
    assert "1 contractor already has a payout for this period" in second.summary


def test_the_desk_shows_the_reasons(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("payouts_manage:draft"), follow=True)
    text = response.content.decode()
    assert "Drafted 0 payouts for" in text and "nothing unpaid in the period" in text
    period = services.payout_period_last_closed()
    assert PayoutPeriod.objects.get(pk=period.pk).last_draft["drafted"] == 0
    assert 'data-code="nothing_unpaid"' in text
    assert "has not ended (ends" in text


def test_a_bonus_with_its_reason_from_the_desk(client, admin_user, contractor):
    client.force_login(admin_user)
    page = client.get(reverse("payouts_manage:bonuses"))
    token = page.context["form"].initial["token"]
    data = {"kind": "bonus", "contractor": contractor.pk, "amount": "7.50", "currency": "usd",
            "reason": "Stayed late for the launch", "token": token}
    assert client.post(reverse("payouts_manage:bonuses"), data).status_code == 302
    # The same form sent twice pays once.
    client.post(reverse("payouts_manage:bonuses"), data)
    entry = LedgerEntry.objects.get(contractor=contractor)
    assert (entry.kind, str(entry.amount), entry.currency, entry.reason) == (
        "bonus", "7.50", "USD", "Stayed late for the launch")


def test_a_refused_bonus_is_told_at_its_field_and_writes_nothing(client, admin_user, contractor):
    client.force_login(admin_user)
    response = client.post(reverse("payouts_manage:bonuses"), {
        "kind": "bonus", "contractor": contractor.pk, "amount": "-2", "currency": "USD", "reason": "x",
        "token": "t1"})
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert not LedgerEntry.objects.exists()
