"""Statement CSVs are safe to open in a spreadsheet: no cell a person typed is a formula (issue 15)."""

import csv
import io

import pytest
from django.urls import reverse

from payouts import services
from taskhub.spreadsheets import safe_cell
from tests import factories
from tests.payouts.test_pages import _draft_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("typed", "written"), [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("Plain text", "Plain text"), ("", ""), (None, ""),
])
def test_safe_cell(typed, written):
    assert safe_cell(typed) == written


def test_a_statement_with_formulas_in_its_text_writes_them_as_text(client_for, admin_user):
    person = factories.ContractorFactory()
    services.ledger_bonus_add(contractor=person, amount="2.50", currency="USD", reason="=cmd|' /C calc'!A0",
                              created_by=admin_user)
    services.ledger_adjustment_add(contractor=person, amount="-1.00", currency="USD", reason="@SUM(1+1)*cmd",
                                   created_by=admin_user)
    payout = _draft_for(person)
    body = b"".join(client_for(person).get(reverse("payouts:statement_csv", args=[payout.pk])).streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode())))
    header = rows[1]
    reasons = [row[header.index("reason")] for row in rows[2:]]
    assert "'=cmd|' /C calc'!A0" in reasons and "'@SUM(1+1)*cmd" in reasons
    assert all(not cell.startswith(("=", "+", "@")) for row in rows[2:] for cell in row)
    amounts = [row[header.index("amount")] for row in rows[2:]]
    assert "-1.00" in amounts  # a negative amount is a number, written as one
