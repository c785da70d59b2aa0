"""Pay rates: an append-only history per project, where a cut waits for its notice period. The rate
a cut is measured against is the rate in force of the project's lineage (projects/sql/rate_in_force.sql),
so a new project that continues another cannot start lower without the same notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import AT_PLACEHOLDER, audit_record, notifications_create_many
from taskhub.formats import local_time
from taskhub.hooks import pay_changed
from taskhub.money import quantize_rate
from taskhub.parsing import moment, text

from ..errors import RateError
from ..models import PayRate, Project
from ..selectors import contractors_eligible_for, rate_in_force

# A rate set "now" may carry a timestamp a few seconds old by the time it is saved.
_CLOCK_SLACK_SECONDS = 60
# PayRate.amount holds 12 digits, 4 of them after the point.
_AMOUNT_LIMIT = Decimal(10) ** 8


def rate_change_is_cut(current: PayRate | None, *, amount: Decimal, unit: str, currency: str) -> bool:
    """A lower amount than the rate in force, or any change of unit or currency, is a cut."""
    return current is not None and (amount < current.amount or unit != current.unit or currency != current.currency)


def _clean_rate(*, amount, currency: str, unit: str, effective_from: datetime | None,
                now: datetime) -> tuple[Decimal, str, str, datetime]:
    """The rate as typed, checked: (amount, currency, unit, effective_from), or a RateError/InvalidInput
    naming the field. Shared by the preview and `pay_rate_set`, so a preview never shows what cannot be set."""
    try:
        if isinstance(amount, float | bool):
            raise RateError("Give the amount as a decimal string, not a float.", field="amount")
        amount = quantize_rate(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise RateError(f"{str(amount)[:30]!r} is not an amount of money.", field="amount") from None
    if not amount.is_finite():
        raise RateError(f"{amount!r} is not an amount of money.", field="amount")
    if amount >= _AMOUNT_LIMIT:
        raise RateError(f"A rate must be below {_AMOUNT_LIMIT:,}.", field="amount")
    if amount < 0:
        raise RateError("A rate cannot be negative.", field="amount")
    currency = text(currency, field="currency", max_length=3, error=RateError).upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise RateError("Use a three-letter currency code such as USD.", field="currency")
    if unit not in PayRate.Unit.values:
        raise RateError(f"Unit must be one of {', '.join(PayRate.Unit.values)}.", field="unit")
    effective_from = effective_from or now
    if timezone.is_naive(effective_from):
        raise RateError("Give the effective time with its time zone.", field="effective_from")
    effective_from = moment(effective_from, field="effective_from", error=RateError)
    if (now - effective_from).total_seconds() > _CLOCK_SLACK_SECONDS:
        raise RateError("A rate cannot take effect in the past.", field="effective_from")
    return amount, currency, unit, effective_from


def rate_highest_paid(*, project: Project, unit: str, currency: str) -> Decimal | None:
    """The highest rate in the project's history with this unit and currency (None without one)."""
    return PayRate.objects.filter(project=project, unit=unit, currency=currency).aggregate(
        highest=Max("amount"))["highest"]


def rate_is_unusual(*, project: Project, amount: Decimal, unit: str, currency: str) -> Decimal | None:
    """The highest rate paid so far when `amount` is more than TASKHUB_RATE_CONFIRM_FACTOR times it (a
    typo such as 99,999,999.9999 is in force at once, and undoing it is a cut that waits for notice)."""
    highest = rate_highest_paid(project=project, unit=unit, currency=currency)
    if highest is None or highest <= 0:
        return None
    return highest if amount > highest * settings.TASKHUB_RATE_CONFIRM_FACTOR else None


def pay_rate_set(
    *,
    project: Project,
    amount: Decimal | str,
    currency: str,
    unit: str,
    effective_from: datetime | None,
    set_by,
    reason: str,
    now: datetime | None = None,
    confirm_unusual: bool = False,
) -> PayRate:
    """Append a rate to the project's history.

    Rates are never edited and never apply to the past. A cut takes effect only after the notice
    period, so contractors learn of it before it applies; a raise may apply at once, but one far
    above what the project has paid (`rate_is_unusual`) needs `confirm_unusual`. Every path that
    sets a rate (the set-up pages, the Django admin) comes here, and eligible contractors are told
    once it commits.
    """
    now = now or timezone.now()
    amount, currency, unit, effective_from = _clean_rate(amount=amount, currency=currency, unit=unit,
                                                         effective_from=effective_from, now=now)
    reason_limit = PayRate._meta.get_field("reason").max_length
    reason = text(reason, field="reason", max_length=reason_limit, error=RateError)
    if not reason:
        raise RateError("Say why the rate is set or changed; contractors see the reason.", field="reason")

    with transaction.atomic():
        # Serialise rate changes per project so two admins cannot both pass the checks.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        current = rate_in_force(project=project, at=max(effective_from, now))
        earliest = now + settings.TASKHUB_RATE_CUT_NOTICE
        if rate_change_is_cut(current, amount=amount, unit=unit, currency=currency) and effective_from < earliest:
            days = settings.TASKHUB_RATE_CUT_NOTICE.days
            of = ("" if current.project_id == project.pk
                  else f" (the rate of {current.project.name}, which it continues)")
            raise RateError(
                f"This lowers pay from {current}{of}: it can take effect {days} days after notice at the earliest "
                f"({earliest:%Y-%m-%d %H:%M} UTC).",
                code="rate_cut_notice",
                field="effective_from",
            )
        highest = rate_is_unusual(project=project, amount=amount, unit=unit, currency=currency)
        if highest is not None and not confirm_unusual:
            raise RateError(
                f"{amount.normalize():f} {currency} is more than {settings.TASKHUB_RATE_CONFIRM_FACTOR} times the "
                f"highest rate this project has paid ({highest.normalize():f} {currency}). It would be in force at "
                f"once, and lowering it again is a cut that waits {settings.TASKHUB_RATE_CUT_NOTICE.days} days: "
                "confirm that this rate is intended.",
                code="rate_unusual",
                field="confirm_unusual",
            )
        rate = rate_append(project=project, amount=amount, currency=currency, unit=unit,
                           effective_from=effective_from, set_by=set_by, reason=reason, now=now)
        rate_id, project_id = rate.pk, project.pk
        transaction.on_commit(lambda: pay_rate_notify(rate_id=rate_id, project_id=project_id), robust=True)
        return rate


def rate_append(*, project: Project, amount: Decimal, currency: str, unit: str, effective_from: datetime, set_by,
                reason: str, now: datetime, was: PayRate | None = None) -> PayRate:
    """Write a checked rate into the history, with its audit entry, and recompute the work it may
    pay. For `pay_rate_set` and for the lineage's carry-over (projects.services.lineage); call it
    inside their transaction."""
    rate = PayRate.objects.create(project=project, amount=amount, currency=currency, unit=unit,
                                  effective_from=effective_from, set_by=set_by, reason=reason)
    # A moment in the recompute's scope: the work this project's descendants do follows it too.
    pay_changed(project_id=None if project.continued_by.exists() else project.pk)
    when = "now" if effective_from <= now else f"from {local_time(effective_from)}"
    audit_record(actor=set_by, kind=AuditEntry.Kind.RATE_SET, project=project, obj=rate, reason=reason, at=now,
                 summary=f"Rate of {project.name}: {rate} {when}",
                 data={"amount": str(amount), "currency": currency, "unit": unit,
                       "effective_from": effective_from.isoformat(), "was": str(was) if was else None})
    return rate


def pay_rate_notify(*, rate_id: int, project_id: int) -> int:
    """One notification per eligible contractor, keyed by the rate so a repeat notifies nobody twice."""
    rate = PayRate.objects.select_related("project").filter(pk=rate_id, project_id=project_id).first()
    if rate is None:
        return 0
    project = rate.project
    return notifications_create_many(
        users=contractors_eligible_for(project=project),
        kind="rate_change",
        title=f"New pay rate on {project.name}: {rate}",
        body=f"From {AT_PLACEHOLDER} the rate is {rate}. Reason: {rate.reason}",
        url=f"/work/projects/{project.slug}/",
        key=f"rate-{rate.pk}",
        at=rate.effective_from,
    )


@dataclass(frozen=True)
class RatePreview:
    current: PayRate | None
    amount: Decimal
    currency: str
    unit: str
    is_cut: bool
    effective_from: datetime
    earliest_for_cut: datetime
    allowed: bool
    notified: int
    # The highest rate paid so far when this one is far above it (it needs confirming), else None.
    unusual_against: Decimal | None = None

    @property
    def unit_label(self) -> str:
        return PayRate.Unit(self.unit).label


def pay_rate_preview(*, project: Project, amount: Decimal, currency: str, unit: str,
                     effective_from: datetime | None, now: datetime | None = None) -> RatePreview:
    """What `pay_rate_set` would do: whether it is a cut (which waits for the notice period), whether it
    is far above the project's history (which needs confirming), the time the rate takes effect and how
    many eligible contractors will be told. Refuses what `pay_rate_set` refuses."""
    now = now or timezone.now()
    amount, currency, unit, effective = _clean_rate(amount=amount, currency=currency, unit=unit,
                                                    effective_from=effective_from, now=now)
    current = rate_in_force(project=project, at=max(effective, now))
    is_cut = rate_change_is_cut(current, amount=amount, unit=unit, currency=currency)
    earliest = now + settings.TASKHUB_RATE_CUT_NOTICE
    return RatePreview(
        current=current, amount=amount, currency=currency, unit=unit, is_cut=is_cut, effective_from=effective,
        earliest_for_cut=earliest, allowed=not (is_cut and effective < earliest),
        notified=contractors_eligible_for(project=project).count(),
        unusual_against=rate_is_unusual(project=project, amount=amount, unit=unit, currency=currency),
    )
