"""Contractor pages: dashboard, project page, the task workspace, my work (with answers to flags and
appeals of pauses) and the History page of the decisions about them."""

import contextlib
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import authenticated, can_review, contractor_required
from accounts.selectors import audit_entries_about, notifications_unread_for
from projects import selectors as project_selectors
from projects.media import media_csp_allow
from projects.models import Project
from projects.task_types.base import plain_message
from taskhub import parsing
from taskhub.errors import DomainError, NotFound

from .. import selectors, services
from ..forms import answer_from_post
from ..models import ContractorFlag, ContractorPause, ProblemReport, Review
from ..selectors.pay import MEDIAN_MIN_SUBMISSIONS, pay_outlook, pay_outlooks
from ..selectors.work import APPEAL_STATES
from ..services.problems import PROBLEM_REASON_MIN_CHARS
from .conversation import conversation_context


def _eligible_project(request, slug) -> Project:
    project = project_selectors.project_for_contractor(user=request.user, slug=slug)
    if project is None:
        raise Http404("No such project open to you.")
    return project


@contractor_required
def dashboard(request):
    now = timezone.now()
    projects = list(selectors.projects_for_dashboard(user=request.user, now=now))
    held = list(selectors.claims_held_for(user=request.user))
    claims = [c for c in held if c.status == c.Status.ACTIVE]
    reserved = [c for c in held if c.status == c.Status.RESERVED]
    releases = list(selectors.releases_for_contractor(user=request.user, project_ids=[p.pk for p in projects])[:10])
    for batch in releases:
        batch.window_open = batch.reservation_is_open(now)
        batch.reservation_hours = f"{batch.reservation_period.total_seconds() / 3600:g}"
        batch.hold_hours = f"{batch.fair_share_horizon.total_seconds() / 7200:g}"
        batch.horizon_hours = f"{batch.fair_share_horizon.total_seconds() / 3600:g}"
    notifications = list(notifications_unread_for(user=request.user)[:5])
    reviews = list(selectors.reviews_for_contractor(user=request.user).exclude(kind=Review.Kind.CALIBRATION)[:5])
    outlooks = pay_outlooks(projects=projects, now=now)
    for project in projects:
        project.outlook = outlooks[project.pk]
    return render(request, "work/dashboard.html", {
        "projects": projects, "claims": claims, "reserved": reserved, "releases": releases,
        "notifications": notifications, "now": now, "reviews": reviews, "median_min": MEDIAN_MIN_SUBMISSIONS,
    })


@contractor_required
def project_detail(request, slug):
    """The project as a contractor sees it before starting: instructions, the rate and grade policy in
    force with their histories across the lineage, and for onboarding what passing takes and unlocks."""
    project = _eligible_project(request, slug)
    now = timezone.now()
    rates = list(project_selectors.rate_history(project=project, now=now))
    # Its own rate in force, or (before its own first one) the rate of the project it continues.
    current = next((r for r in rates if r.in_force), None) or project_selectors.rate_in_force(project=project, at=now)
    upcoming = [r for r in rates if r.effective_from > now]
    policies = list(project_selectors.policy_history(project=project, now=now))
    policy = next((p for p in policies if p.in_force), None) or (
        project_selectors.grade_policy_in_force(project=project, at=now) if project.continues_id else None)
    context = {
        "project": project, "rates": rates, "current_rate": current, "upcoming_rates": upcoming,
        "policies": policies, "policy": policy,
        "upcoming_policies": [p for p in policies if p.effective_from > now],
        "default_percents": project_selectors.percents_of(None),
        "lineage": project_selectors.lineage_pay_history(project=project),
        "declines": list(project_selectors.lineage_declines_for(project=project)),
        "outlook": pay_outlook(project=project, now=now), "median_min": MEDIAN_MIN_SUBMISSIONS,
    }
    if project.is_onboarding:
        context["unlocks"] = list(project_selectors.projects_unlocked_by(project=project))
        context["progress"] = services.onboarding_progress(contractor_id=request.user.pk, project=project)
        context["held"] = project_selectors.qualification_held(contractor=request.user, project=project)
    return render(request, "work/project.html", context)


@authenticated
def instructions_history(request, slug):
    """Every version of a project's instructions with its change note and what changed, for the
    contractors who may work on it and for the people who grade its work."""
    if can_review(request.user):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise Http404("No such project.")
    else:
        project = _eligible_project(request, slug)
    return render(request, "work/instructions_history.html", {
        "project": project, "history": project_selectors.instruction_history(project=project),
    })


@require_POST
@contractor_required
def project_start(request, slug):
    project = _eligible_project(request, slug)
    claim = services.task_claim_next(contractor=request.user, project=project)
    if claim is None:
        return render(request, "work/nothing_left.html", {"project": project})
    return redirect("work:claim", claim_id=claim.pk)


def _task_config(project) -> dict:
    """The project's task configuration with the type's defaults filled in (e.g. harm categories)."""
    try:
        return project.type.validate_config(project.task_config or {})
    except DomainError:
        return project.task_config or {}


RELEASE_REASONS = (
    ("time", "I don't have the time to finish it"),
    ("expertise", "It is outside what I know well"),
    ("content", "I'd rather not work on this content"),
    ("other", "Another reason (say which below)"),
)


def _problem_key(claim_id) -> str:
    return f"workspace_problem:{claim_id}"


def _back_to_workspace(request, claim, *, form: str, message: str, errors, values=None, raw_errors=()):
    """Post, redirect, get: a refused form comes back on the task page's own address (a reload never
    sends it again), its errors at their fields, read once from the session."""
    request.session[_problem_key(claim.pk)] = {"form": form, "message": message, "errors": list(errors),
                                               "raw_errors": list(raw_errors), "values": values or {}}
    return redirect("work:claim", claim_id=claim.pk)


def _items(exc: DomainError, default_field: str, *, what: dict | None = None) -> list[dict]:
    """The error's items; with `what` (field -> its name in words), their messages in plain words."""
    items = list(exc.errors or [{"field": exc.field or default_field, "message": exc.message}])
    if what:
        items = [{"field": i["field"], "message": plain_message(i["message"], what.get(i["field"], "this"))}
                 for i in items]
    return items


def _workspace(request, claim, *, answer, problem=None, status=200):
    problem = problem or {}
    form = problem.get("form")
    errors = problem.get("errors", []) if form == "answer" else []
    context = {
        "claim": claim, "task": claim.task, "project": claim.project, "answer": answer or {},
        "config": _task_config(claim.project),
        "errors": errors, "error": problem.get("message") if form == "answer" else None,
        # The answer's own locations, for workspaces that mark errors on what was drawn (regions, spans).
        "raw_errors": problem.get("raw_errors", []) if form == "answer" else [],
        "side_form": form if form in ("release", "report") else None,
        "side_errors": {e["field"]: e["message"] for e in problem.get("errors", [])} if form in ("release", "report")
        else {},
        "side_values": problem.get("values", {}),
        "release_reasons": RELEASE_REASONS, "problem_kinds": ProblemReport.Kind.choices,
        "problem_min_chars": PROBLEM_REASON_MIN_CHARS,
        "heartbeat_seconds": settings.TASKHUB_HEARTBEAT_SECONDS,
        "outlook": pay_outlook(project=claim.project, now=timezone.now()), "median_min": MEDIAN_MIN_SUBMISSIONS,
    }
    if claim.project.type.records_conversation:
        context["conversation"] = conversation_context(claim)
    return media_csp_allow(render(request, "work/claim.html", context, status=status), claim.project)


@contractor_required
def claim_detail(request, claim_id):
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    if claim.status == claim.Status.RESERVED:
        messages.info(request, "This task is reserved for you: start it from your dashboard when you are ready.")
        return redirect("work:dashboard")
    if claim.status != claim.Status.ACTIVE:
        messages.info(request, f"That task is {claim.get_status_display().lower()}.")
        return redirect("work:dashboard")
    problem = request.session.pop(_problem_key(claim.pk), None)
    if claim.draft and problem is None:
        messages.info(request, "Your draft was restored.")
    return _workspace(request, claim, answer=claim.draft, problem=problem)


@require_POST
@contractor_required
def claim_draft(request, claim_id):
    """Autosave from the task page: the form as it stands, kept until submitted."""
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    draft = answer_from_post(claim.project.task_type, request.POST)
    saved_at = services.claim_draft_save(claim=claim, contractor=request.user, draft=draft)
    return JsonResponse({"saved_at": saved_at.isoformat()})


@require_POST
@contractor_required
def claim_heartbeat(request, claim_id):
    """The page is visible and in use. The server measures the time; the body is ignored."""
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    active = services.claim_heartbeat(claim=claim, contractor=request.user)
    return JsonResponse({"active_seconds": active, "interval": settings.TASKHUB_HEARTBEAT_SECONDS})


@require_POST
@contractor_required
def claim_open(request, claim_id):
    """Start a reserved lottery win: the time to finish it starts now."""
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    try:
        services.claim_open(claim=claim, contractor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("work:dashboard")
    return redirect("work:claim", claim_id=claim.pk)


def _release_reason(post) -> tuple[str, list[dict]]:
    """The reason of a release from its form: one of RELEASE_REASONS, with details (required for "other")."""
    choice = post.get("reason", "")
    labels = dict(RELEASE_REASONS)
    details = post.get("details", "")
    if choice not in labels:
        return "", [{"field": "reason", "message": "Please choose why you are releasing this task."}]
    if choice == "other" and not (details or "").strip():
        return "", [{"field": "details", "message": "Please say in a few words why you are releasing it."}]
    text = labels[choice] if choice != "other" else ""
    if isinstance(details, str) and details.strip():
        text = f"{text}: {details.strip()}" if text else details.strip()
    return text, []


@require_POST
@contractor_required
def claim_release(request, claim_id):
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    was_reserved = claim.status == claim.Status.RESERVED
    reason = ""
    if not was_reserved:  # handing back a lottery win unopened needs no reason
        reason, errors = _release_reason(request.POST)
        if errors and claim.status == claim.Status.ACTIVE:
            return _back_to_workspace(request, claim, form="release", message=errors[0]["message"], errors=errors,
                                      values={"reason": request.POST.get("reason", ""),
                                              "details": request.POST.get("details", "")})
    try:
        services.claim_release(claim=claim, contractor=request.user, reason=reason)
    except DomainError as exc:
        if exc.status == 400 and claim.status == claim.Status.ACTIVE:
            return _back_to_workspace(request, claim, form="release", message=exc.message,
                                      errors=_items(exc, "details", what={"reason": "your reason"}),
                                      values={"reason": request.POST.get("reason", ""),
                                              "details": request.POST.get("details", "")})
        messages.error(request, exc.message)
        return redirect("work:dashboard")
    if was_reserved:
        messages.success(request, "Handed back; the task goes to the others who wanted work.")
        return redirect("work:dashboard")
    messages.success(request, f"Task released; it has gone back to the pool. Your {claim.active_seconds // 60} "
                              "minutes of active time on it are recorded.")
    return redirect("work:project", slug=claim.project.slug)


@require_POST
@contractor_required
def claim_report(request, claim_id):
    """Report the task as broken, harmful or unclear, with a reason; the claim ends and the leads read it."""
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    values = {"kind": request.POST.get("kind", ""), "reason": request.POST.get("reason", "")}
    try:
        report = services.problem_report_create(claim=claim, contractor=request.user, kind=values["kind"],
                                                reason=values["reason"])
    except DomainError as exc:
        if exc.status == 400 and claim.status == claim.Status.ACTIVE:
            return _back_to_workspace(request, claim, form="report", message=exc.message,
                                      errors=_items(exc, "reason", what={"reason": "what you found"}),
                                      values=values)
        messages.error(request, exc.message)
        return redirect("work:dashboard")
    messages.success(request, f"Thank you: your report ({report.get_kind_display().lower()}) went to the project's "
                              f"leads. Your {report.active_seconds // 60} minutes of active time on it are recorded.")
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
        # The answer as typed stays: kept as the claim's draft, which the task page shows after the redirect.
        # (An answer too large to keep as a draft is not kept; the errors still say what to fix.)
        with contextlib.suppress(DomainError):
            services.claim_draft_save(claim=claim, contractor=request.user, draft=answer)
        raw = _items(exc, "answer")
        errors = claim.project.type.form_errors(raw, claim.project)
        n = len(errors) or len(raw)
        return _back_to_workspace(request, claim, form="answer", errors=errors, raw_errors=raw,
                                  message=f"Your answer was not sent: {n} thing{'s' if n != 1 else ''} to fix, "
                                          "shown at each field.")
    if request.POST.get("next") == "stop":
        messages.success(request, "Submitted. You have stopped for now; your work is saved.")
        return redirect("work:dashboard")
    messages.success(request, "Submitted. Here is your next task.")
    # A winner's own reservations on the project come before anything new.
    reserved = selectors.claims_held_for(user=request.user).filter(project=claim.project,
                                                                   status=claim.Status.RESERVED).first()
    if reserved is not None:
        try:
            services.claim_open(claim=reserved, contractor=request.user)
        except DomainError:
            reserved = None
        else:
            return redirect("work:claim", claim_id=reserved.pk)
    next_claim = services.task_claim_next(contractor=request.user, project=claim.project)
    if next_claim is None:
        return render(request, "work/nothing_left.html", {"project": claim.project})
    return redirect("work:claim", claim_id=next_claim.pk)


def _submission_status(submission, now) -> str:
    reviews = submission.review_list
    current = next((r for r in reviews if r.kind != Review.Kind.CALIBRATION), None)
    if current is None:
        return "Waiting for review" if submission.needs_review else "Not sampled for review"
    appeal = current._appeal_or_none()
    if appeal is None:
        return "Graded automatically" if current.kind == Review.Kind.AUTOMATIC else "Reviewed"
    return {"open": "Appeal pending", "upheld": "Appeal decided: upheld",
            "revised": "Appeal decided: grade revised"}[appeal.status]


@contractor_required
def my_work(request):
    return _my_work_page(request)


MY_WORK_PAGE = 25


def _my_work_filters(request) -> dict:
    """My work's filters from the query string, through the one parser; anything malformed is ignored
    (they come from links and the filter form): a project id, a final grade 1–5 or "ungraded", an appeal
    state, and days (YYYY-MM-DD, in the contractor's own time zone) from and until, both included."""
    get = request.GET
    grade = get.get("grade", "")
    tz = request.user.tzinfo if getattr(request.user, "tzinfo", None) else timezone.get_current_timezone()
    since, until = parsing.day_or_none(get.get("from")), parsing.day_or_none(get.get("until"))
    return {
        "project_id": parsing.whole_number_or_none(get.get("project"), minimum=1),
        "grade": "ungraded" if grade == "ungraded" else parsing.whole_number_or_none(grade, minimum=1, maximum=5),
        "appeal": get.get("appeal") if get.get("appeal") in APPEAL_STATES else None,
        "since": datetime.combine(since, time.min, tzinfo=tz) if since else None,
        "until": datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz) if until else None,
    }


def _my_work_page(request, *, error=None, failed_review_id=None, failed_flag_id=None, failed_pause_id=None,
                  status=200):
    now = timezone.now()
    filters = _my_work_filters(request)
    page = Paginator(selectors.my_work_for(user=request.user, **filters), MY_WORK_PAGE).get_page(
        parsing.whole_number_or_none(request.GET.get("page"), minimum=1) or 1)
    submissions = list(page.object_list)
    for submission in submissions:
        submission.status_label = _submission_status(submission, now)
        for review in submission.review_list:
            review.appealable = review.can_be_appealed(now)
    flags = list(selectors.flags_for_contractor(user=request.user)[:50])
    for flag in flags:  # the reverse one-to-ones were joined; absent ones raise, so ask once here
        flag.the_pause = flag.pause if hasattr(flag, "pause") else None
        if flag.the_pause is not None:
            flag.the_pause.the_appeal = flag.the_pause.appeal if hasattr(flag.the_pause, "appeal") else None
    kept = {k: v for k, v in request.GET.items() if k in ("project", "grade", "appeal", "from", "until") and v}
    return render(request, "work/my_work.html", {
        "submissions": submissions, "flags": flags, "now": now, "page": page, "filters": filters,
        "filter_query": urlencode(kept), "filter_values": kept,
        "filter_projects": list(selectors.my_work_projects_for(user=request.user)),
        "appeal_states": (("none", "Not appealed"), ("open", "Appeal pending"), ("upheld", "Appeal: grade upheld"),
                          ("revised", "Appeal: grade revised")),
        "appeal_min_chars": settings.TASKHUB_APPEAL_REASON_MIN_CHARS,
        "error": error, "failed_review_id": failed_review_id, "failed_flag_id": failed_flag_id,
        "failed_pause_id": failed_pause_id,
        "posted_reason": (request.POST.get("response") or request.POST.get("reason", ""))
        if (failed_review_id or failed_flag_id or failed_pause_id) else "",
    }, status=status)


@require_POST
@contractor_required
def flag_respond(request, flag_id):
    """The contractor's answer to a flag, read by the lead before deciding."""
    flag = ContractorFlag.objects.filter(pk=flag_id, contractor=request.user).select_related("project").first()
    if flag is None:
        raise NotFound("No such flag of yours.")
    try:
        services.flag_respond(flag=flag, contractor=request.user, response=request.POST.get("response", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _my_work_page(request, error=exc, failed_flag_id=flag.pk, status=400)
    messages.success(request, "Answer sent. The team lead reads it before deciding.")
    return redirect("work:my_work")


@require_POST
@contractor_required
def pause_appeal(request, pause_id):
    """The contractor contests a pause; an admin or a lead who did not decide it answers."""
    pause = ContractorPause.objects.filter(pk=pause_id, contractor=request.user).select_related("project").first()
    if pause is None:
        raise NotFound("No such pause of yours.")
    try:
        services.pause_appeal_create(pause=pause, contractor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _my_work_page(request, error=exc, failed_pause_id=pause.pk, status=400)
    messages.success(request, "Appeal sent. An admin or a lead who did not pause you will decide.")
    return redirect("work:my_work")


HISTORY_PAGE = 50


@contractor_required
def history(request):
    """Every decision on record about me, and about the pay of the projects I work or worked on."""
    entries = audit_entries_about(user=request.user, project_ids=selectors.audit_project_ids_for(user=request.user))
    page = Paginator(entries, HISTORY_PAGE).get_page(request.GET.get("page"))
    return render(request, "work/history.html", {"page": page})


@require_POST
@contractor_required
def appeal_create(request, review_id):
    review = selectors.reviews_for_contractor(user=request.user).filter(pk=review_id).first()
    if review is None:
        raise NotFound("No such review of your work.")
    try:
        services.appeal_create(review=review, contractor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _my_work_page(request, error=exc, failed_review_id=review.pk, status=400)
    messages.success(request, "Appeal sent. A different reviewer will decide it; you will see the outcome here.")
    return redirect("work:my_work")
