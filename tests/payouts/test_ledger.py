"""The ledger is append-only, exact and explainable."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from payouts import selectors, services
from payouts.errors import LedgerError
from payouts.models import LedgerEntry
from tests import factories


@pytest.fixture
def bonus(contractor, admin_user):
    return services.ledger_bonus_add(contractor=contractor, amount="25.00", currency="USD",
                                     reason="Thank you for the careful red-teaming", created_by=admin_user)


def test_database_refuses_an_update_of_an_entry(bonus):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE payouts_ledgerentry SET amount = 9999 WHERE id = %s", [bonus.pk])
    bonus.refresh_from_db()
    assert bonus.amount == Decimal("25.00")


def test_database_refuses_a_delete_of_an_entry(bonus):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM payouts_ledgerentry WHERE id = %s", [bonus.pk])
    assert LedgerEntry.objects.filter(pk=bonus.pk).exists()


def test_orm_update_is_refused_too(bonus):
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=bonus.pk).update(reason="rewritten")
    assert LedgerEntry.objects.get(pk=bonus.pk).reason == "Thank you for the careful red-teaming"


def test_bonus_records_reason_author_and_exact_amount(bonus, admin_user, contractor):
    entry = LedgerEntry.objects.get(pk=bonus.pk)
    assert entry.kind == LedgerEntry.Kind.BONUS
    assert entry.reason == "Thank you for the careful red-teaming"
    assert entry.created_by == admin_user
    assert entry.contractor == contractor
    assert type(entry.amount) is Decimal and entry.amount == Decimal("25.00")
    assert entry.idempotency_key.startswith("bonus:manual:")


def test_same_token_pays_a_bonus_once(contractor, admin_user):
    first = services.ledger_bonus_add(contractor=contractor, amount="10", currency="usd", reason="Streak",
                                      created_by=admin_user, idempotency_key="form-token-1")
    again = services.ledger_bonus_add(contractor=contractor, amount="10", currency="USD", reason="Streak",
                                      created_by=admin_user, idempotency_key="form-token-1")
    assert first.pk == again.pk
    assert LedgerEntry.objects.filter(contractor=contractor).count() == 1
    with pytest.raises(LedgerError) as err:
        services.ledger_bonus_add(contractor=contractor, amount="99", currency="USD", reason="Streak",
                                  created_by=admin_user, idempotency_key="form-token-1")
    assert err.value.code == "idempotency_conflict"


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [
        (1.5, "float", "amount"),
        ("abc", "not a number", "amount"),
        ("NaN", "not finite", "amount"),
        ("1.005", "sub-cent", "amount"),
        ("0", "zero bonus", "amount"),
        ("-5", "negative bonus", "amount"),
        ("5", "", "reason"),
        ("5", "   ", "reason"),
    ],
)
def test_bad_bonus_is_refused_with_the_field_and_writes_nothing(contractor, admin_user, amount, reason, field):
    with pytest.raises(LedgerError) as err:
        services.ledger_bonus_add(contractor=contractor, amount=amount, currency="USD", reason=reason,
                                  created_by=admin_user)
    assert err.value.field == field
    assert not LedgerEntry.objects.exists()


def test_bonus_only_for_contractors(lead, admin_user):
    with pytest.raises(LedgerError, match="not a contractor"):
        services.ledger_bonus_add(contractor=lead, amount="5", currency="USD", reason="x", created_by=admin_user)


def test_correction_is_a_new_adjustment_and_balance_is_the_sum(bonus, contractor, admin_user):
    services.ledger_adjustment_add(contractor=contractor, amount="-5.50", currency="USD",
                                   reason="Bonus was meant to be 19.50", created_by=admin_user)
    services.ledger_bonus_add(contractor=contractor, amount="1.25", currency="EUR", reason="Welcome",
                              created_by=admin_user)
    assert LedgerEntry.objects.filter(contractor=contractor).count() == 3
    balances = {b.currency: b for b in selectors.balances_for(user=contractor)}
    assert balances["USD"].total == Decimal("19.50")
    assert balances["USD"].unpaid == Decimal("19.50")
    assert balances["EUR"].total == Decimal("1.25")
    for b in balances.values():
        for value in (b.total, b.unpaid, b.in_payouts, b.paid):
            assert type(value) is Decimal
    with pytest.raises(LedgerError, match="zero"):
        services.ledger_adjustment_add(contractor=contractor, amount="0.00", currency="USD", reason="noop",
                                       created_by=admin_user)


def test_another_contractors_entries_are_not_in_my_balance(bonus, admin_user):
    other = factories.ContractorFactory()
    assert selectors.balances_for(user=other) == []
    assert list(selectors.ledger_entries_for(user=other)) == []
