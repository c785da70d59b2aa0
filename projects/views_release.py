"""Fair-release pages: lottery opt-in/out (contractors), scheduling (admins), fairness (leads, admins)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from taskhub.access import admin_required, contractor_required, lead_required
from taskhub.errors import DomainError

from . import selectors
from .forms_release import ScheduleReleaseForm
from .models import Batch
from .services import release


def _requested(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise release.LotteryError(f"{raw[:20]!r} is not a number of tasks.", code="invalid_request",
                                   field="requested")
    return int(raw)


@require_POST
@contractor_required
def lottery_join(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
    try:
        entry = release.lottery_opt_in(batch=batch, contractor=request.user,
                                       requested=_requested(request.POST.get("requested")))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You're in the {batch.name} lottery, asking for up to {entry.requested} "
                                  f"task{'' if entry.requested == 1 else 's'}. You'll be told what you got.")
    return redirect("work:dashboard")


@require_POST
@contractor_required
def lottery_leave(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
    try:
        release.lottery_opt_out(batch=batch, contractor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You left the {batch.name} lottery.")
    return redirect("work:dashboard")


@admin_required
def batch_schedule(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project", "urgent_by", "scheduled_by"), pk=batch_id)
    initial = {
        "release_at": batch.release_at, "release_policy": batch.release_policy,
        "fair_share_cap": None if batch.fair_share_cap_derived else batch.fair_share_cap,
        "fallback_policy": batch.fallback_policy, "lottery_max_per_person": batch.lottery_max_per_person,
        "reservation_opens_at": batch.reservation_opens_at,
    }
    form = ScheduleReleaseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release.batch_schedule_release(
                batch=batch, scheduled_by=request.user, release_at=data["release_at"],
                release_policy=data["release_policy"], fair_share_cap=data["fair_share_cap"],
                fallback_policy=data["fallback_policy"], lottery_max_per_person=data["lottery_max_per_person"],
                reservation_opens_at=data["reservation_opens_at"], urgent=data["urgent"],
                urgent_reason=data["urgent_reason"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{batch.name} is scheduled; eligible contractors are being notified.")
            return redirect("manage:home")
    return render(request, "manage/schedule.html", {"batch": batch, "form": form},
                  status=400 if form.errors else 200)


def _fairness(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
    report = selectors.batch_fairness_report(batch=batch)
    return render(request, "manage/fairness.html", {"batch": batch, "report": report})


batch_fairness = admin_required(_fairness)
batch_fairness_for_lead = lead_required(_fairness)


@lead_required
def fairness_index(request):
    batches = selectors.batches_released().select_related("project")[:200]
    return render(request, "manage/fairness_index.html", {"batches": batches})
