"""Earnings pages: the contractor's ledger, payouts and statements; the admin payout desk and
wage-floor report."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import admin_required, contractor_required
from taskhub.errors import DomainError, InvalidInput, apply_to_forms
from taskhub.parsing import object_id, whole_number_or_none
from taskhub.spreadsheets import safe_cell

from . import selectors, services
from .forms import BonusForm
from .models import LedgerEntry, Payout

EARNINGS_WEEKS = 12
LEDGER_PAGE = 100


def _weeks_back(now: datetime, weeks: int) -> datetime:
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday - timedelta(weeks=weeks - 1)


CHART_HEIGHT = 120
CHART_BAR = 40


def _charts(weeks: list[selectors.WeekBar]) -> list[dict]:
    """One bar chart per currency, drawn server-side as SVG coordinates (no script needed)."""
    charts: dict[str, list] = {}
    for bar in weeks:
        charts.setdefault(bar.currency, []).append(bar)
    result = []
    for currency, bars in charts.items():
        best = max(b.amount for b in bars)
        drawn = []
        for index, bar in enumerate(bars):
            height = int(bar.amount * (CHART_HEIGHT - 20) / best) if best > 0 and bar.amount > 0 else 0
            drawn.append({"bar": bar, "x": index * CHART_BAR + 6, "width": CHART_BAR - 12,
                          "y": CHART_HEIGHT - 16 - height, "height": height, "label_x": index * CHART_BAR + 20})
        result.append({"currency": currency, "bars": drawn, "width": len(bars) * CHART_BAR, "height": CHART_HEIGHT,
                       "total": sum(b.amount for b in bars), "baseline": CHART_HEIGHT - 16})
    return result


@contractor_required
def earnings(request):
    now = timezone.now()
    user = request.user
    context = {
        "balances": selectors.balances_for(user=user),
        "charts": _charts(selectors.weekly_earnings(user=user, weeks=EARNINGS_WEEKS, now=now)),
        "chart_weeks": EARNINGS_WEEKS,
        "rates": selectors.effective_hourly_rates_for(
            user=user, since=_weeks_back(now.astimezone(UTC), EARNINGS_WEEKS), until=now
        ),
        "entries": selectors.with_top_ups(selectors.ledger_entries_for(user=user)[:LEDGER_PAGE]),
        "payouts": selectors.payouts_for(user=user)[:52],
        "ledger_page": LEDGER_PAGE,
    }
    return render(request, "payouts/earnings.html", context)


@contractor_required
def ledger_entry(request, entry_id: int):
    """One ledger entry of mine: what it pays for and how it was worked out (linked from My work)."""
    entry = selectors.with_top_ups([selectors.ledger_entry_get_for_user(entry_id=entry_id, user=request.user)])[0]
    return render(request, "payouts/entry.html", {"e": entry})


@contractor_required
def statement(request, payout_id: int):
    payout = selectors.payout_get_for_user(payout_id=payout_id, user=request.user)
    return _statement_page(request, payout, csv_url_name="payouts:statement_csv")


@contractor_required
def statement_csv(request, payout_id: int):
    payout = selectors.payout_get_for_user(payout_id=payout_id, user=request.user)
    return _statement_csv(payout)


@admin_required
def manage_statement(request, payout_id: int):
    payout = selectors.payout_get(payout_id=payout_id)
    return _statement_page(request, payout, csv_url_name="payouts_manage:statement_csv")


@admin_required
def manage_statement_csv(request, payout_id: int):
    return _statement_csv(selectors.payout_get(payout_id=payout_id))


def _statement_page(request, payout: Payout, *, csv_url_name: str):
    entries = selectors.with_top_ups(selectors.payout_statement_entries(payout=payout))
    return render(request, "payouts/statement.html", {"payout": payout, "entries": entries,
                                                      "csv_url_name": csv_url_name})


class _Echo:
    def write(self, value):
        return value


STATEMENT_COLUMNS = ["entry_id", "created_at_utc", "kind", "project", "source", "source_id", "rate", "rate_unit",
                     "grade", "pay_percent", "active_seconds", "reason", "amount", "currency"]


def _statement_rows(payout: Payout):
    writer = csv.writer(_Echo())
    # Text cells pass safe_cell (a name or reason starting with "=" is no formula); numbers are ours.
    yield writer.writerow([f"# TaskHub statement for payout {payout.pk}", safe_cell(payout.contractor.email),
                           f"period {payout.period.start:%Y-%m-%d} to {payout.period.end:%Y-%m-%d}",
                           payout.get_status_display(), f"total {payout.total}", safe_cell(payout.currency)])
    yield writer.writerow(STATEMENT_COLUMNS)
    entries = selectors.payout_statement_entries(payout=payout)
    for e in entries.iterator(chunk_size=2000):
        # Decimals are written with str(): exact, never through float.
        yield writer.writerow([
            e.pk, e.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), safe_cell(e.kind),
            safe_cell(e.project.name if e.project else ""), safe_cell(e.source_type), e.source_id or "",
            "" if e.rate_amount is None else str(e.rate_amount), safe_cell(e.rate_unit),
            "" if e.grade is None else e.grade, "" if e.pay_percent is None else str(e.pay_percent),
            "" if e.active_seconds is None else e.active_seconds, safe_cell(e.reason), str(e.amount),
            safe_cell(e.currency),
        ])


def _statement_csv(payout: Payout):
    response = StreamingHttpResponse(_statement_rows(payout), content_type="text/csv; charset=utf-8")
    filename = f"taskhub-statement-{payout.pk}-{payout.period.start:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Admin pages ----------------------------------------------------------------------


@admin_required
def manage_payouts(request):
    status = request.GET.get("status") or ""
    if status and status not in Payout.Status.values:
        status = ""
    payouts = selectors.payouts_for_admin(status=status or None)[:500]
    counts = selectors.payouts_status_counts()
    context = {
        "payouts": payouts,
        "status": status,
        "statuses": [(value, label, counts.get(value, 0)) for value, label in Payout.Status.choices],
        "last_closed": services.payout_period_last_closed(),
        "current": services.payout_period_for(at=timezone.now()),
    }
    return render(request, "payouts/manage_payouts.html", context)


@require_POST
@admin_required
def manage_payouts_draft(request):
    period = services.payout_period_last_closed()
    outcome = services.payouts_draft_explained(period=period)
    (messages.success if outcome.drafted else messages.info)(request, outcome.summary)
    return redirect("payouts_manage:payouts")


@require_POST
@admin_required
def manage_payouts_approve(request):
    raw = request.POST.getlist("payout")
    try:
        ids = [object_id(value, field="payout") for value in raw]
    except InvalidInput:
        messages.error(request, "The list of payouts to approve was not understood; choose them again.")
        return redirect("payouts_manage:payouts")
    try:
        approved = services.payouts_approve(payout_ids=ids, approved_by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payouts_manage:payouts")
    skipped = len(set(ids)) - len(approved)
    text = f"Approved {len(approved)} payout(s)."
    if skipped:
        text += f" {skipped} were not drafts and were left as they were."
    messages.success(request, text)
    return redirect(reverse("payouts_manage:payouts") + "?status=approved")


@require_POST
@admin_required
def manage_payout_mark_paid(request, payout_id: int):
    try:
        payout = services.payout_mark_paid(
            payout_id=payout_id, external_reference=request.POST.get("external_reference", ""), paid_by=request.user
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, f"Payout {payout_id}: {exc.message}")
    else:
        messages.success(request, f"Payout {payout.pk} is paid (reference {payout.external_reference}).")
    return redirect("payouts_manage:payouts")


@admin_required
def manage_bonuses(request):
    """Bonuses and adjustments with their reasons: the form, and the latest ones added by hand."""
    form = BonusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        add = services.ledger_bonus_add if data["kind"] == LedgerEntry.Kind.BONUS else services.ledger_adjustment_add
        try:
            entry = add(contractor=data["contractor"], amount=data["amount"], currency=data["currency"],
                        reason=data["reason"], created_by=request.user, project=data["project"],
                        idempotency_key=data["token"])
        except DomainError as exc:
            apply_to_forms([form], exc, aliases={"idempotency_key": "token"})
        else:
            messages.success(request, f"{entry.get_kind_display()} of {entry.amount} {entry.currency} for "
                                      f"{entry.contractor.email} added; they read the reason on their ledger.")
            return redirect("payouts_manage:bonuses")
    return render(request, "payouts/manage_bonuses.html", {
        "form": form, "entries": selectors.manual_entries_recent()[:100],
    }, status=400 if form.errors else 200)


@admin_required
def manage_wage_floor(request):
    now = timezone.now()
    # From a link: anything but a whole number of weeks shows the default four.
    weeks = whole_number_or_none(request.GET.get("weeks"))
    weeks = 4 if weeks is None else max(1, min(52, weeks))
    since = _weeks_back(now.astimezone(UTC), weeks)
    projects, rows, total = selectors.wage_floor_report(since=since, until=now)
    context = {"projects": projects, "rows": rows, "total": total, "weeks": weeks, "since": since,
               "floors": selectors.wage_floors_current(), "top_ups": selectors.wage_floor_top_up_costs(since=since)}
    return render(request, "payouts/manage_wage_floor.html", context)
