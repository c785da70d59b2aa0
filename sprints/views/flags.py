"""Flags and pauses for team leads: the contractors whose grades fell below a project's threshold,
for a human decision (warn, pause, clear) with a reason they read, after reading their answer (a
pause waits for the end of their response window unless urgent); and the appeals of pauses, which a
lead who did not decide the pause (or an admin) answers. A lead sees and decides those of the people
in their own sprints; admins, everyone's."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import lead_required
from annotations import selectors as review_selectors
from annotations import services as review_services
from annotations.models import ProblemReport, Review
from annotations.services.flags import AppealOutcome, Decision
from annotations.tasks import agreement_figures_compute
from projects.models import Project
from projects.task_types.base import plain_message
from taskhub.errors import DomainError, NotFound
from taskhub.outbox import enqueue
from taskhub.parsing import object_id

from .. import selectors, services


def _flags_page(request, *, error=None, failed_id=None, status=200):
    open_flags = list(selectors.flags_open_for_lead(lead=request.user)[:200])
    graded = {}
    if open_flags:
        # The graded submissions behind each flag, with their reasons, appeals and second opinions (one query).
        recent = (
            Review.objects.exclude(kind=Review.Kind.CALIBRATION)
            .filter(submission__contractor_id__in={f.contractor_id for f in open_flags},
                    submission__project_id__in={f.project_id for f in open_flags})
            .select_related("submission", "submission__task", "appeal", "second_opinion")
            .order_by("-created_at", "-id")
        )
        for review in recent[:5000]:
            graded.setdefault((review.submission.contractor_id, review.submission.project_id), []).append(review)
    for flag in open_flags:
        flag.graded = graded.get((flag.contractor_id, flag.project_id), [])[: flag.project.flag_window]
        flag.recent_grades = [r.submission.final_grade or r.score for r in flag.graded]
    context = {
        "flags": open_flags, "now": timezone.now(),
        "pauses": list(selectors.pauses_in_force_for_lead(lead=request.user)[:200]),
        "pause_appeals": list(selectors.pause_appeals_open_for_lead(lead=request.user)[:200]),
        "appeal_outcomes": AppealOutcome.CHOICES,
        "figures": list(review_selectors.agreement_figures()[:300]),
        "decisions": Decision.CHOICES,
        "reason_min_chars": settings.TASKHUB_DECISION_REASON_MIN_CHARS,
        "error": error, "failed_id": failed_id, "posted": request.POST if failed_id else {},
    }
    return render(request, "review/flags.html", context, status=status)


@lead_required
def flags(request):
    return _flags_page(request)


@require_POST
@lead_required
def flag_decide(request, flag_id):
    flag = selectors.flags_open_for_lead(lead=request.user).filter(pk=flag_id).first()
    if flag is None:
        raise NotFound("No such flag.")
    try:
        flag = services.flag_decide(
            flag=flag, lead=request.user, decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""), urgent=request.POST.get("urgent") == "on",
            urgent_reason=request.POST.get("urgent_reason", ""),
        )
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _flags_page(request, error=exc, failed_id=flag.pk, status=400)
    messages.success(request, f"{flag.contractor}: {flag.get_status_display().lower()}. They see your reason.")
    return redirect("lead:flags")


@require_POST
@lead_required
def pause_lift(request, pause_id):
    pause = selectors.pauses_in_force_for_lead(lead=request.user).filter(pk=pause_id).first()
    if pause is None:
        raise NotFound("No such pause.")
    try:
        services.pause_lift(pause=pause, lead=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _flags_page(request, error=exc, failed_id=f"pause-{pause.pk}", status=400)
    messages.success(request, f"{pause.contractor} may work on {pause.project.name} again.")
    return redirect("lead:flags")


@require_POST
@lead_required
def pause_appeal_decide(request, appeal_id):
    appeal = selectors.pause_appeals_open_for_lead(lead=request.user).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound("No such open appeal you may decide.")
    try:
        services.pause_appeal_decide(appeal=appeal, lead=request.user, outcome=request.POST.get("outcome", ""),
                                     reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _flags_page(request, error=exc, failed_id=f"appeal-{appeal.pk}", status=400)
    messages.success(request, f"Appeal of {appeal.contractor} decided. They see your reason.")
    return redirect("lead:flags")


@require_POST
@lead_required
def figures_recompute(request):
    # Blank (or a project that no longer exists): every project's figures.
    project_id = object_id(request.POST.get("project"), field="project", required=False)
    if project_id is not None and not Project.objects.filter(pk=project_id).exists():
        project_id = None
    enqueue(agreement_figures_compute, project_id=project_id)
    messages.info(request, "Agreement figures are being recomputed; reload in a moment.")
    return redirect("lead:flags")


PROBLEMS_PAGE = 50


@lead_required
def problems(request):
    """The problems contractors reported on the lead's projects (broken, harmful, unclear tasks)."""
    show_closed = request.GET.get("show") == "resolved"
    reports = selectors.problem_reports_for_lead(
        lead=request.user, status=ProblemReport.Status.RESOLVED if show_closed else ProblemReport.Status.OPEN)
    page = Paginator(reports, PROBLEMS_PAGE).get_page(request.GET.get("page"))
    return render(request, "lead/problems.html", {"page": page, "show_closed": show_closed,
                                                  "error": None, "failed_id": None})


@require_POST
@lead_required
def problem_resolve(request, report_id):
    report = selectors.problem_reports_for_lead(lead=request.user).filter(pk=report_id).first()
    if report is None:
        raise NotFound("No such open problem report on your projects.")
    try:
        review_services.problem_report_resolve(report=report, by=request.user,
                                               resolution=request.POST.get("resolution", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        reports = selectors.problem_reports_for_lead(lead=request.user)
        page = Paginator(reports, PROBLEMS_PAGE).get_page(1)
        return render(request, "lead/problems.html", {
            "page": page, "show_closed": False, "failed_id": report.pk,
            "error": plain_message(exc.message if not exc.errors else exc.errors[0]["message"], "your note"),
            "posted": request.POST.get("resolution", "")}, status=400)
    messages.success(request, "Report closed with your note.")
    return redirect("lead:problems")
