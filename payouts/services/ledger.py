"""Writes to the ledger that people make by hand: bonuses and manual adjustments.

Earnings for work are written by the recompute (recompute.py), never here. Entries are
append-only; a mistake in a bonus is corrected with a negative adjustment, with a reason.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from accounts.models import AuditEntry, Role, User
from accounts.services import audit_record
from projects.models import Project
from taskhub.money import quantize
from taskhub.parsing import text

from ..errors import LedgerError
from ..models import LedgerEntry


def parse_amount(value: Decimal | str | int, *, field: str = "amount") -> Decimal:
    """An amount of money typed by a person: a decimal with at most two places, never a float."""
    if isinstance(value, float):
        raise LedgerError("Give the amount as a decimal string, not a float.", field=field)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise LedgerError(f"{value!r} is not an amount of money; write it like 12.50.", field=field) from None
    if not amount.is_finite():
        raise LedgerError(f"{value!r} is not an amount of money; write it like 12.50.", field=field)
    if amount != quantize(amount):
        raise LedgerError(f"{value} has more than two decimal places; amounts are in cents.", field=field)
    if abs(amount) >= Decimal("1e12"):
        raise LedgerError(f"{value} is too large for one entry.", field=field)
    return quantize(amount)


def parse_currency(value: str, *, field: str = "currency") -> str:
    currency = (value or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise LedgerError("Use a three-letter currency code such as USD.", field=field)
    return currency


def _manual_entry(
    *,
    kind: str,
    contractor: User,
    amount: Decimal | str,
    currency: str,
    reason: str,
    created_by: User,
    project: Project | None,
    idempotency_key: str | None,
) -> LedgerEntry:
    amount = parse_amount(amount)
    currency = parse_currency(currency)
    reason = text(reason, field="reason", max_length=500, error=LedgerError)
    if not reason:
        raise LedgerError("Give a reason; the contractor sees it on their statement.", field="reason")
    if contractor.role != Role.CONTRACTOR:
        raise LedgerError(f"{contractor} is not a contractor; only contractors earn.", field="contractor")
    key = f"{kind}:manual:{idempotency_key or uuid.uuid4().hex}"
    if len(key) > 120:
        raise LedgerError("The idempotency key is too long (at most 100 characters).", field="idempotency_key")
    existing = LedgerEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _same_or_conflict(existing, contractor=contractor, amount=amount, currency=currency)
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                contractor=contractor,
                project=project,
                kind=kind,
                amount=amount,
                currency=currency,
                source_type=LedgerEntry.Source.MANUAL,
                reason=reason,
                created_by=created_by,
                idempotency_key=key,
            )
            audit_record(actor=created_by, subject=contractor, project=project, obj=entry, reason=reason,
                         kind=AuditEntry.Kind.LEDGER_BONUS if kind == LedgerEntry.Kind.BONUS
                         else AuditEntry.Kind.LEDGER_ADJUSTMENT,
                         summary=f"{entry.get_kind_display()} of {amount} {currency} for {contractor.email}",
                         data={"amount": str(amount), "currency": currency})
            return entry
    except IntegrityError:
        # The same form was submitted twice at once: the first write won, this one is that entry.
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, contractor=contractor, amount=amount, currency=currency)


def _same_or_conflict(existing: LedgerEntry, *, contractor, amount, currency) -> LedgerEntry:
    if (existing.contractor_id, existing.amount, existing.currency) != (contractor.pk, amount, currency):
        raise LedgerError("This idempotency key was already used for a different entry.", code="idempotency_conflict")
    return existing


def ledger_bonus_add(
    *,
    contractor: User,
    amount: Decimal | str,
    currency: str,
    reason: str,
    created_by: User,
    project: Project | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Add a bonus (a positive amount, with the reason the contractor will read).

    Pass the same `idempotency_key` (e.g. a token rendered into the form) to make a repeated
    request return the first entry instead of paying twice.
    """
    amount = parse_amount(amount)
    if amount <= 0:
        raise LedgerError("A bonus must be more than zero.", field="amount")
    return _manual_entry(kind=LedgerEntry.Kind.BONUS, contractor=contractor, amount=amount, currency=currency,
                         reason=reason, created_by=created_by, project=project, idempotency_key=idempotency_key)


def ledger_adjustment_add(
    *,
    contractor: User,
    amount: Decimal | str,
    currency: str,
    reason: str,
    created_by: User,
    project: Project | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Correct the ledger by hand: a positive or negative amount, never zero, with a reason."""
    amount = parse_amount(amount)
    if amount == 0:
        raise LedgerError("An adjustment of zero changes nothing.", field="amount")
    return _manual_entry(kind=LedgerEntry.Kind.ADJUSTMENT, contractor=contractor, amount=amount, currency=currency,
                         reason=reason, created_by=created_by, project=project, idempotency_key=idempotency_key)
