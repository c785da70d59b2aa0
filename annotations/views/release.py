"""Fair-release pages: lottery opt-in and opt-out (contractors), and the fairness report of a
batch's release and of a project's (team leads and admins; the same figures are in the API)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import contractor_required, lead_required
from projects import selectors as project_selectors
from projects.models import Batch, Project
from taskhub.errors import DomainError
from taskhub.parsing import whole_number

from .. import selectors, services
from ..errors import LotteryError


def _requested(raw: str | None) -> int | None:
    """How many tasks the contractor asks for (blank: as many as allowed); the service checks the cap."""
    shown = (raw or "").strip()[:20]
    return whole_number(raw, field="requested", minimum=1, maximum=32767, required=False, error=LotteryError,
                        message=f"{shown!r} is not a number of tasks: give a whole number from 1, or leave it blank "
                                "to ask for as many as you may.")


@require_POST
@contractor_required
def lottery_join(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
    try:
        entry = services.lottery_opt_in(batch=batch, contractor=request.user,
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
        services.lottery_opt_out(batch=batch, contractor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You left the {batch.name} lottery.")
    return redirect("work:dashboard")


@lead_required
def batch_fairness(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
    report = selectors.batch_fairness_report(batch=batch)
    return render(request, "manage/fairness.html", {"batch": batch, "report": report})


@lead_required
def project_fairness(request, slug):
    project = get_object_or_404(Project, slug=slug)
    report = selectors.project_fairness_report(project=project)
    return render(request, "manage/fairness_project.html", {"project": project, "report": report})


@lead_required
def fairness_index(request):
    batches = project_selectors.batches_released()[:200]
    return render(request, "manage/fairness_index.html", {"batches": batches})
