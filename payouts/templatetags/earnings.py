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


def this_week_by_project(user, now) -> list[dict]:
    """This week's effective hourly rate per project (1 query): a project whose work paid nothing shows
    0 per hour on its own line, never averaged away into a total. Its work has no ledger entry, hence no
    currency: it is shown in the project's rate currency where known."""
    monday = (now.astimezone(UTC) - timedelta(days=now.astimezone(UTC).weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0)
    projects: dict[int, dict] = {}
    for row in selectors.effective_hourly_rates_for(user=user, since=monday, until=now):
        one = projects.setdefault(row.project_id, {"project": row.project, "currency": row.currency,
                                                   "seconds": 0, "pay": Decimal("0")})
        one["seconds"] += row.active_seconds
        one["pay"] += row.earnings
        one["currency"] = one["currency"] or row.currency
    rows = []
    for one in sorted(projects.values(), key=lambda item: item["project"]):
        hourly = quantize(one["pay"] * 3600 / one["seconds"]) if one["seconds"] else None
        rows.append({**one, "hourly": hourly, "pays_nothing": hourly is not None and hourly == 0})
    return rows


@register.inclusion_tag("payouts/_this_week_card.html", takes_context=True)
def this_week_card(context):
    """The contractor's earnings this week and their effective hourly rate, for the dashboard."""
    now = context.get("now") or timezone.now()
    return {"this_week": this_week(context["user"], now), "per_project": this_week_by_project(context["user"], now),
            "user": context["user"]}


@register.simple_tag(takes_context=True)
def submissions_pay(context, submissions):
    """For My work: the ledger entries that paid each of these submissions, by submission id (1 query),
    so each line shows what it earned and links to its entries."""
    totals = {}
    entries = selectors.ledger_entries_for_submissions(user=context["user"], submission_ids=[s.pk for s in submissions])
    for submission_id, rows in entries.items():
        total = sum((row.amount for row in rows), Decimal("0"))
        totals[submission_id] = {"entries": rows, "total": quantize(total), "currency": rows[0].currency}
    return totals


@register.simple_tag
def problem_reports_pay(reports):
    """For the lead's problem reports: the ledger entry that paid each report's active time (a task
    reported broken), by report id (1 query); harmful and unclear reports have none."""
    return selectors.ledger_entries_for_problem_reports(report_ids=[r.pk for r in reports])
