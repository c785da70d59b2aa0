"""Contractor pages: dashboard, project page, the task workspace and my work."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from projects import selectors as project_selectors
from projects.models import Project
from taskhub.access import contractor_required
from taskhub.errors import DomainError

from . import selectors, services
from .forms import answer_from_post


def _eligible_project(request, slug) -> Project:
    return get_object_or_404(project_selectors.projects_for_contractor(user=request.user), slug=slug)


@contractor_required
def dashboard(request):
    now = timezone.now()
    projects = list(project_selectors.projects_dashboard_for(user=request.user, now=now))
    claims = list(selectors.claims_active_for(user=request.user))
    releases = list(project_selectors.batches_upcoming(project_ids=[p.pk for p in projects])[:10])
    return render(request, "work/dashboard.html", {"projects": projects, "claims": claims, "releases": releases})


@contractor_required
def project_detail(request, slug):
    project = _eligible_project(request, slug)
    rates = list(project_selectors.rate_history(project=project))
    now = timezone.now()
    current = next((r for r in rates if r.effective_from <= now), None)
    upcoming = [r for r in rates if r.effective_from > now]
    return render(
        request,
        "work/project.html",
        {"project": project, "rates": rates, "current_rate": current, "upcoming_rates": upcoming},
    )


@require_POST
@contractor_required
def project_start(request, slug):
    project = _eligible_project(request, slug)
    claim = services.task_claim_next(contractor=request.user, project=project)
    if claim is None:
        return render(request, "work/nothing_left.html", {"project": project})
    return redirect("work:claim", claim_id=claim.pk)


@contractor_required
def claim_detail(request, claim_id):
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    if claim.status != claim.Status.ACTIVE:
        messages.info(request, f"That task is {claim.get_status_display().lower()}.")
        return redirect("work:dashboard")
    return render(request, "work/claim.html", {"claim": claim, "task": claim.task, "project": claim.project,
                                               "answer": {}, "errors": []})


@require_POST
@contractor_required
def claim_release(request, claim_id):
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    services.claim_release(claim=claim, contractor=request.user)
    messages.success(request, "Task released; it has gone back to the pool.")
    return redirect("work:project", slug=claim.project.slug)


@require_POST
@contractor_required
def claim_submit(request, claim_id):
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    answer = answer_from_post(claim.project.task_type, request.POST)
    try:
        services.claim_submit(claim=claim, contractor=request.user, answer=answer)
    except DomainError as exc:
        if exc.code != "invalid_data":
            raise
        return render(request, "work/claim.html", {"claim": claim, "task": claim.task, "project": claim.project,
                                                   "answer": answer, "errors": exc.errors, "error": exc.message},
                      status=400)
    messages.success(request, "Submitted. Here is your next task.")
    if request.POST.get("next") == "stop":
        return redirect("work:dashboard")
    next_claim = services.task_claim_next(contractor=request.user, project=claim.project)
    if next_claim is None:
        return render(request, "work/nothing_left.html", {"project": claim.project})
    return redirect("work:claim", claim_id=next_claim.pk)


@contractor_required
def my_work(request):
    submissions = selectors.submissions_for(user=request.user)[:200]
    return render(request, "work/my_work.html", {"submissions": submissions})
