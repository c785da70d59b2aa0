"""Earnings figures shown on other apps' pages (the contractor dashboard), rendered by payouts so
that those apps need not know the ledger."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

from django import template
from django.utils import timezone

from payouts import selectors
from taskhub.money import quantize

register = template.Library()


def this_week(user, now) -> list[dict]:
    """This week's earnings per currency with the effective hourly rate on the week's work (2 queries).

    The rate is the ledger's pay for submissions made this week over the active time measured
    on them, set against the contractor's wage floor when it is in the same currency.
    """
    monday = (now.astimezone(UTC) - timedelta(days=now.astimezone(UTC).weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0)
    earned = {bar.currency: bar.amount for bar in selectors.weekly_earnings(user=user, weeks=1, now=now)}
    work: dict[str, dict] = {}
    for row in selectors.effective_hourly_rates_for(user=user, since=monday, until=now):
        if row.currency is None:
            continue
        week = work.setdefault(row.currency, {"seconds": 0, "pay": Decimal("0"), "floor": None})
        week["seconds"] += row.active_seconds
        week["pay"] += row.earnings
        if row.floor_comparable:
            week["floor"] = row.floor
    summary = []
    for currency in sorted(set(earned) | set(work)):
        week = work.get(currency, {"seconds": 0, "pay": Decimal("0"), "floor": None})
        hourly = quantize(week["pay"] * 3600 / week["seconds"]) if week["seconds"] else None
        summary.append({
            "currency": currency, "earned": earned.get(currency, Decimal("0")), "hourly": hourly,
            "active_seconds": week["seconds"], "floor": week["floor"],
            "below_floor": hourly is not None and week["floor"] is not None and hourly < week["floor"],
        })
    return summary


@register.inclusion_tag("payouts/_this_week_card.html", takes_context=True)
def this_week_card(context):
    """The contractor's earnings this week and their effective hourly rate, for the dashboard."""
    return {"this_week": this_week(context["user"], context.get("now") or timezone.now()), "user": context["user"]}
