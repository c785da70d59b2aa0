"""Wage floors: the minimum hourly pay of each jurisdiction, as an append-only history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

from taskhub.money import quantize_rate

from ..errors import WageFloorError
from ..models import WageFloor, jurisdiction_validator
from .ledger import LedgerError, parse_currency


def wage_floor_set(
    *, jurisdiction: str, amount: Decimal | str, currency: str, effective_from: date, note: str = ""
) -> WageFloor:
    """Record the floor of a jurisdiction from a date (e.g. US-CA 16.90 USD per hour from 2025-01-01)."""
    jurisdiction = (jurisdiction or "").strip().upper()
    if not jurisdiction_validator.regex.match(jurisdiction):
        raise WageFloorError(
            f"{jurisdiction or 'An empty value'!r} is not a jurisdiction; use a country code, optionally "
            "with a region, such as US-CA or DE.",
            field="jurisdiction",
        )
    if isinstance(amount, float):
        raise WageFloorError("Give the amount as a decimal string, not a float.", field="amount")
    try:
        value = quantize_rate(str(amount).strip())
    except ArithmeticError:
        raise WageFloorError(f"{amount!r} is not an amount of money.", field="amount") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e8"):
        raise WageFloorError(f"{amount!r} is not a possible hourly floor.", field="amount")
    try:
        currency = parse_currency(currency)
    except LedgerError as exc:
        raise WageFloorError(exc.message, field="currency") from None
    if not isinstance(effective_from, date):
        raise WageFloorError("Give the date the floor applies from.", field="effective_from")
    try:
        with transaction.atomic():
            return WageFloor.objects.create(
                jurisdiction=jurisdiction, amount=value, currency=currency, effective_from=effective_from,
                note=(note or "").strip()[:300],
            )
    except IntegrityError:
        raise WageFloorError(
            f"{jurisdiction} already has a floor from {effective_from}; add one from another date.",
            code="wage_floor_exists", field="effective_from",
        ) from None
