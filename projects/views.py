"""Admin pages for daily work beyond the Django admin: the admin's home, project set-up, rate
changes, task imports with progress, release scheduling and the calendar of releases."""

from __future__ import annotations

import calendar
import os
import re
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.access import admin_required, authenticated
from accounts.models import Role, User
from taskhub.errors import DomainError, apply_to_forms
from taskhub.formats import local_time
from taskhub.markdown import render_markdown
from taskhub.parsing import whole_number_or_none

from . import selectors, services, task_types
from .errors import MediaRefused, ModelError, ProjectSetupError
from .forms import (
    BatchCloseForm,
    BatchCreateForm,
    DecisionForm,
    GradePolicyForm,
    InitialRateForm,
    MarkdownPreviewForm,
    ModelEndpointForm,
    PairwiseGenerationForm,
    ProjectSetupForm,
    QualificationGrantForm,
    RateChangeForm,
    RoleChangeForm,
    ScheduleReleaseForm,
    TaskImportForm,
    quiet,
    rubric_formset,
    with_one_more_row,
)
from .models import Batch, MediaFile, ModelEndpoint, PairwiseGeneration, PayRate, Project, Qualification

VISUAL_TYPES = ("image_regions", "video_spans")
MEDIA_TYPES = (*VISUAL_TYPES, "audio_timestamp")  # the types with a media library
# The set-up form validates the type settings at each setting's own field (projects.settings_form); a
# refusal the service still finds there is shown above the form.
_SETUP_ALIASES: dict[str, str] = {}


@admin_required
def manage_home(request):
    context = {
        "batches": selectors.batches_overview(),
        "imports": selectors.task_imports_recent()[:20],
    }
    return render(request, "manage/home.html", context)


# --- Projects -------------------------------------------------------------------------------


@admin_required
def project_list(request):
    return render(request, "manage/projects.html", {"projects": selectors.projects_for_admin(now=timezone.now())})


def _project_fields(form: ProjectSetupForm, rubric: list[dict], project: Project | None = None) -> dict:
    data = dict(form.cleaned_data)
    fields = {name: data[name] for name in ProjectSetupForm.Meta.fields if name in data}
    for name in ("pass_rule", "pass_min_submissions", "pass_min_average", "pass_min_agreement"):
        if fields.get(name) in (None, ""):
            fields.pop(name, None)  # left blank: the project keeps what it has (or the default)
    fields["task_config"] = data.get("task_config") or {}
    fields["rubric"] = rubric
    if data.get("continues") is not None and (project is None or project.continues_id is None):
        fields["continues"] = data["continues"]
    fields["lineage_reason"] = data.get("lineage_reason", "")
    fields["wage_floor_guaranteed"] = data.get("wage_floor_guaranteed", False)
    fields["wage_floor_reason"] = data.get("wage_floor_reason", "")
    if project is not None:
        fields["instructions_change_note"] = data.get("instructions_change_note", "")
        fields["instructions_material"] = data.get("instructions_material", False)
    return fields


def _setup_page(request, *, project, form, rubric, rate_form, policy_form, status=200):
    now = timezone.now()
    context = {
        "project": project, "form": form, "rubric": rubric, "rate_form": rate_form, "policy_form": policy_form,
        "types": task_types.all_types(), "preview": render_markdown(form["instructions"].value() or ""),
        "lookback_days": settings.TASKHUB_LINEAGE_LOOKBACK.days,
    }
    if project is not None:
        context["proposals"] = services.project_open_blockers(project=project, now=now)
        context["lineage"] = selectors.lineage_of(project=project)
        context["declines"] = list(selectors.lineage_declines_for(project=project))
        context["policies"] = list(selectors.policy_history(project=project, now=now)[:20])
    return render(request, "manage/project_form.html", context, status=status)


def _add_row_page(request, *, project):
    """"Add a criterion" without script: the form as typed, with one more empty rubric row."""
    data = with_one_more_row(request.POST) or request.POST
    form = ProjectSetupForm(data, instance=project)
    rubric = rubric_formset(data)
    rate_form = None if project else InitialRateForm(data, prefix="rate")
    policy_form = GradePolicyForm(data, prefix="policy", changing=project is not None)
    quiet(form, rubric, rate_form, policy_form)
    return _setup_page(request, project=project, form=form, rubric=rubric, rate_form=rate_form,
                       policy_form=policy_form)


@admin_required
def project_create(request):
    if request.method == "POST" and "add_row" in request.POST:
        return _add_row_page(request, project=None)
    if request.method == "POST":
        form = ProjectSetupForm(request.POST)
        rubric = rubric_formset(request.POST)
        rate_form = InitialRateForm(request.POST, prefix="rate")
        policy_form = GradePolicyForm(request.POST, prefix="policy")
        if all([form.is_valid(), rubric.is_valid(), rate_form.is_valid(), policy_form.is_valid()]):
            try:
                project = services.project_create(
                    created_by=request.user, fields=_project_fields(form, rubric.rubric()),
                    rate_amount=rate_form.cleaned_data["amount"], rate_currency=rate_form.cleaned_data["currency"],
                    rate_unit=rate_form.cleaned_data["unit"], grade_policy=policy_form.percents(),
                )
            except DomainError as exc:
                apply_to_forms([form, rate_form, policy_form], exc, aliases=_SETUP_ALIASES)
            else:
                messages.success(request, f"Project “{project.name}” created with its rate and grade policy.")
                upcoming = project.pay_rates.filter(effective_from__gt=timezone.now()).first()
                if upcoming is not None:
                    messages.info(request, f"Its rate {upcoming} is lower than the one it continues: it starts "
                                           f"{local_time(upcoming.effective_from, request.user)}, after the notice "
                                           "period; until then the predecessor's rate applies.")
                return redirect("manage:project_edit", project_id=project.pk)
        return _setup_page(request, project=None, form=form, rubric=rubric, rate_form=rate_form,
                           policy_form=policy_form, status=400)
    return _setup_page(
        request, project=None, form=ProjectSetupForm(initial={"status": Project.Status.DRAFT}),
        rubric=rubric_formset(), rate_form=InitialRateForm(prefix="rate"),
        policy_form=GradePolicyForm(prefix="policy", initial=GradePolicyForm.initial_for(None)),
    )


@admin_required
def project_edit(request, project_id):
    project = get_object_or_404(Project, pk=project_id)
    if request.method == "POST" and "add_row" in request.POST:
        return _add_row_page(request, project=project)
    if request.method == "POST":
        form = ProjectSetupForm(request.POST, instance=Project.objects.get(pk=project.pk))
        rubric = rubric_formset(request.POST)
        policy_form = GradePolicyForm(request.POST, prefix="policy", changing=True)
        if all([form.is_valid(), rubric.is_valid(), policy_form.is_valid()]):
            fields = _project_fields(form, rubric.rubric(), project)
            fields.pop("task_type", None)
            fields.pop("is_onboarding", None)
            try:
                project = services.project_update(
                    project=project, updated_by=request.user, fields=fields, grade_policy=policy_form.percents(),
                    policy_effective_from=policy_form.cleaned_data["effective_from"],
                    policy_reason=policy_form.cleaned_data["reason"],
                    policy_apply_to_past=policy_form.cleaned_data["apply_to_past"],
                )
            except DomainError as exc:
                apply_to_forms([form, policy_form], exc, aliases=_SETUP_ALIASES)
            else:
                messages.success(request, f"Project “{project.name}” saved.")
                return redirect("manage:project_edit", project_id=project.pk)
        project.refresh_from_db()
        return _setup_page(request, project=project, form=form, rubric=rubric, rate_form=None,
                           policy_form=policy_form, status=400)
    return _setup_page(
        request, project=project, form=ProjectSetupForm(instance=project),
        rubric=rubric_formset(rubric=project.rubric), rate_form=None,
        policy_form=GradePolicyForm(prefix="policy", initial=GradePolicyForm.initial_for(project), changing=True),
    )


@require_POST
@admin_required
def lineage_answer(request, project_id):
    """Answer TaskHub's proposal from the set-up page: this project continues that closed one, or not
    (with the reason its contractors are shown)."""
    project = get_object_or_404(Project, pk=project_id)
    raw = request.POST.get("candidate", "")
    candidate = Project.objects.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() and len(raw) < 19 \
        else None
    if candidate is None:
        messages.error(request, "Choose the closed project the answer is about.")
        return redirect("manage:project_edit", project_id=project.pk)
    try:
        if request.POST.get("answer") == "continues":
            services.project_lineage_set(project=project, predecessor=candidate, by=request.user)
            messages.success(request, f"{project.name} continues {candidate.name}; its contractors are told.")
        else:
            services.project_lineage_decline(project=project, candidate=candidate, by=request.user,
                                             reason=request.POST.get("lineage_reason", ""))
            messages.success(request,
                             f"{project.name} is new work, not {candidate.name}; its contractors are told why.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("manage:project_edit", project_id=project.pk)


@require_POST
@admin_required
def markdown_preview(request):
    """The instructions as contractors will see them (htmx swaps this into the form)."""
    form = MarkdownPreviewForm(request.POST)
    text = form.cleaned_data["instructions"] if form.is_valid() else ""
    if not form.is_valid():
        return render(request, "manage/_preview.html", {"error": "The instructions are too long to preview."})
    return render(request, "manage/_preview.html", {"html": render_markdown(text)})


# --- Rates ----------------------------------------------------------------------------------


@admin_required
def rate_change(request, project_id):
    project = get_object_or_404(Project, pk=project_id)
    current = selectors.rate_in_force(project=project, at=timezone.now())
    preview = None
    if request.method == "POST":
        form = RateChangeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                preview = services.pay_rate_preview(project=project, amount=data["amount"],
                                                    currency=data["currency"], unit=data["unit"],
                                                    effective_from=data["effective_from"])
                rate = None
                if request.POST.get("action") == "confirm":
                    rate = services.pay_rate_set(
                        project=project, amount=data["amount"], currency=data["currency"], unit=data["unit"],
                        effective_from=data["effective_from"], set_by=request.user, reason=data["reason"],
                        confirm_unusual=data["confirm_unusual"],
                    )
            except DomainError as exc:
                apply_to_forms([form], exc)
            else:
                if rate is not None:
                    messages.success(
                        request,
                        f"New rate {rate} from {timezone.localtime(rate.effective_from):%Y-%m-%d %H:%M %Z}; "
                        f"{preview.notified} contractor{'' if preview.notified == 1 else 's'} notified.")
                    return redirect("manage:rate_change", project_id=project.pk)
    else:
        initial = {"currency": "USD", "unit": PayRate.Unit.PER_TASK}
        if current:
            initial = {"amount": current.amount, "currency": current.currency, "unit": current.unit}
        form = RateChangeForm(initial=initial)
    history = selectors.rate_history(project=project)[:20]
    return render(request, "manage/rate_change.html", {
        "project": project, "form": form, "preview": preview, "current": current, "history": history,
        "confirm_factor": settings.TASKHUB_RATE_CONFIRM_FACTOR,
    }, status=400 if form.errors else 200)


# --- Imports --------------------------------------------------------------------------------


@admin_required
def import_page(request):
    if request.method == "POST":
        form = TaskImportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # Into a chosen batch, or a new one created with its tasks (none if the file fails).
                task_import = services.task_import_create(
                    batch=data["batch"], project=data["project"], new_batch_name=data["batch_name"],
                    uploaded_file=data["file"], format=data["format"],
                    gold_from_reference=data["gold_from_reference"], created_by=request.user,
                )
            except DomainError as exc:
                apply_to_forms([form], exc)
            else:
                return redirect("manage:import_detail", import_id=task_import.pk)
    else:
        form = TaskImportForm(initial={"batch": request.GET.get("batch")})
    page = Paginator(selectors.task_imports_recent(), 20).get_page(request.GET.get("page"))
    return render(request, "manage/import.html", {"form": form, "page": page},
                  status=400 if form.errors else 200)


def _import_context(task_import) -> dict:
    return {"imp": task_import, "batch": task_import.batch, "project": task_import.project}


@admin_required
def import_detail(request, import_id):
    task_import = get_object_or_404(selectors.task_imports_recent(), pk=import_id)
    return render(request, "manage/import_detail.html", _import_context(task_import))


@admin_required
def import_progress(request, import_id):
    """The progress fragment; it keeps polling itself (htmx) until the import is finished."""
    task_import = get_object_or_404(selectors.task_imports_recent(), pk=import_id)
    return render(request, "manage/_import_progress.html", _import_context(task_import))


# --- Batches --------------------------------------------------------------------------------


@admin_required
def batch_list(request):
    """Batches that are not closed, with their counts and what can be done next (import, schedule,
    close), and the form that creates a draft batch."""
    form = BatchCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.batch_create_draft(project=form.cleaned_data["project"],
                                                name=form.cleaned_data["batch_name"], created_by=request.user)
        except DomainError as exc:
            apply_to_forms([form], exc)
        else:
            messages.success(request, f"Draft batch “{batch.name}” created: import its tasks, then schedule it.")
            return redirect("manage:batch", batch_id=batch.pk)
    page = Paginator(selectors.batches_overview(), 50).get_page(request.GET.get("page"))
    return render(request, "manage/batches.html", {"form": form, "page": page},
                  status=400 if form.errors else 200)


def _batch_page(request, batch_id, *, close_form=None, status=200):
    batch = get_object_or_404(selectors.batches_with_counts().select_related("project", "closed_by"), pk=batch_id)
    imports = batch.imports.order_by("-created_at")[:20]
    return render(request, "manage/batch.html", {"batch": batch, "imports": imports,
                                                 "close_form": close_form or BatchCloseForm(prefix="close")},
                  status=status)


@admin_required
def batch_detail(request, batch_id):
    return _batch_page(request, batch_id)


@require_POST
@admin_required
def batch_close(request, batch_id):
    """Close a batch with a reason (the form on its page): POST, then back to the page."""
    batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
    form = BatchCloseForm(request.POST, prefix="close")
    if form.is_valid():
        try:
            services.batch_close(batch=batch, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if exc.field == "reason":
                apply_to_forms([form], exc)
            else:
                messages.error(request, exc.message)
                return redirect("manage:batch", batch_id=batch.pk)
        else:
            told = batch.holders_told
            messages.success(request, f"{batch.name} is closed: no more of its tasks are handed out; claims already "
                                      f"held may still be submitted. {told} contractor{'s' if told != 1 else ''} "
                                      "holding its tasks told why.")
            return redirect("manage:batch", batch_id=batch.pk)
    return _batch_page(request, batch.pk, close_form=form, status=400)


# --- People -------------------------------------------------------------------------------


@admin_required
def people(request):
    """Everyone, searchable by email or name and filtered by role, each linking to their page."""
    query = (request.GET.get("q") or "")[:200].replace("\x00", "")
    role = request.GET.get("role") or ""
    users = User.objects.order_by("email")
    if query:
        users = users.filter(Q(email__icontains=query) | Q(display_name__icontains=query))
    if role in Role.values:
        users = users.filter(role=role)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "manage/people.html", {"page": page, "q": query, "role": role, "roles": Role.choices})


def _person_page(request, person, *, forms_=None, status=200):
    forms_ = forms_ or {}
    return render(request, "manage/person.html", {
        "person": person, "qualifications": Qualification.objects.filter(contractor=person).select_related(
            "project", "granted_by", "revoked_by").order_by("-granted_at"),
        "deactivate_form": forms_.get("deactivate") or DecisionForm(prefix="deactivate"),
        "reactivate_form": forms_.get("reactivate") or DecisionForm(prefix="reactivate"),
        "grant_form": forms_.get("grant") or QualificationGrantForm(prefix="grant"),
        "revoke_form": forms_.get("revoke") or DecisionForm(prefix="revoke"),
        "role_form": forms_.get("role") or RoleChangeForm(prefix="role", initial={"role": person.role}),
        "role_history": account_selectors.role_history(user=person),
        "revoke_failed": forms_.get("revoke_project"),
        "now": timezone.now(),
    }, status=status)


@admin_required
def person(request, user_id):
    """One person: their role, their qualifications and their account, and the decisions about them,
    each through its service (notice and reason, audited)."""
    person = get_object_or_404(User, pk=user_id)
    if request.method != "POST":
        return _person_page(request, person)
    action = request.POST.get("action", "")
    if action not in ("deactivate", "reactivate", "grant", "revoke"):
        messages.error(request, "Choose what to do: deactivate, reactivate, grant or revoke.")
        return redirect("manage:person", user_id=person.pk)
    form = (QualificationGrantForm if action == "grant" else DecisionForm)(request.POST, prefix=action)
    extra = {}
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "deactivate":
                account_services.user_deactivate(user=person, by=request.user, reason=data["reason"],
                                                 effective_at=data["effective_at"])
                done = f"{person.email} is told, with your reason; the account stops working " + (
                    "now." if not data["effective_at"] else f"at {local_time(data['effective_at'], request.user)}.")
            elif action == "reactivate":
                account_services.user_reactivate(user=person, by=request.user, reason=data["reason"])
                done = f"{person.email} is active again and told why."
            elif action == "grant":
                services.qualification_grant(contractor=person, project=data["project"], granted_by=request.user,
                                             note=data["note"])
                done = f"{person.email} holds {data['project'].qualification_name} and is told what it unlocks."
            else:
                project = Project.objects.filter(is_onboarding=True, pk=whole_number_or_none(
                    request.POST.get("project"), minimum=1)).first()
                if project is None:
                    raise ProjectSetupError.at("reason", "Choose the qualification to revoke.")
                extra["revoke_project"] = project.pk
                services.qualification_revoke(contractor=person, project=project, revoked_by=request.user,
                                              reason=data["reason"], effective_at=data["effective_at"])
                done = f"{person.email} no longer holds {project.qualification_name} and is told why."
        except DomainError as exc:
            if exc.status == 404:
                raise
            apply_to_forms([form], exc)
        else:
            messages.success(request, done)
            return redirect("manage:person", user_id=person.pk)
    person.refresh_from_db()
    return _person_page(request, person, forms_={action: form, **extra}, status=400)


@require_POST
@admin_required
def person_role(request, user_id):
    """Change a person's role (the form on their page): a decision with a reason, through
    accounts.services.user_role_set; refusals are shown at their field, on the page again."""
    person = get_object_or_404(User, pk=user_id)
    form = RoleChangeForm(request.POST, prefix="role")
    if form.is_valid():
        old = person.get_role_display()
        try:
            account_services.user_role_set(user=person, by=request.user, role=form.cleaned_data["role"],
                                           reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if exc.status == 404:
                raise
            apply_to_forms([form], exc)
        else:
            messages.success(request, f"{person.email} is now {person.get_role_display().lower()} (was "
                                      f"{old.lower()}) and is told why.")
            return redirect("manage:person", user_id=person.pk)
    person.refresh_from_db()
    return _person_page(request, person, forms_={"role": form}, status=400)


# --- Releases -------------------------------------------------------------------------------


_PERIODS = ("reservation_period", "fair_share_horizon", "fair_share_relax_every")


@admin_required
def batch_schedule(request, batch_id):
    """Schedule a release and its policy; the page shows the fair-share cap schedule the settings
    publish (for the posted settings after a refusal)."""
    batch = get_object_or_404(Batch.objects.select_related("project", "urgent_by", "scheduled_by"), pk=batch_id)
    initial = {
        "release_at": batch.release_at, "release_policy": batch.release_policy,
        "fair_share_cap": None if batch.fair_share_cap_derived else batch.fair_share_cap,
        "fallback_policy": batch.fallback_policy, "lottery_max_per_person": batch.lottery_max_per_person,
        "reservation_opens_at": batch.reservation_opens_at,
        **{name: getattr(batch, name) for name in _PERIODS},
    }
    form = ScheduleReleaseForm(request.POST or None, initial=initial)
    release_at = batch.release_at
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        release_at = data["release_at"]
        try:
            services.batch_schedule_release(
                batch=batch, scheduled_by=request.user, release_at=data["release_at"],
                release_policy=data["release_policy"], fair_share_cap=data["fair_share_cap"],
                fallback_policy=data["fallback_policy"], lottery_max_per_person=data["lottery_max_per_person"],
                reservation_opens_at=data["reservation_opens_at"], urgent=data["urgent"],
                urgent_reason=data["urgent_reason"], **{name: data[name] for name in _PERIODS},
            )
        except DomainError as exc:
            apply_to_forms([form], exc)
            # Show the schedule the refused settings would publish (the batch row is unchanged).
            batch.refresh_from_db()
            _preview_settings(batch, data)
        else:
            messages.success(request, f"{batch.name} is scheduled; eligible contractors are being notified.")
            return redirect("manage:home")
    schedule = selectors.batch_cap_schedule(batch=batch, release_at=release_at)
    return render(request, "manage/schedule.html", {"batch": batch, "form": form, "schedule": schedule},
                  status=400 if form.errors else 200)


def _preview_settings(batch: Batch, data: dict) -> None:
    batch.release_policy = data["release_policy"]
    batch.fallback_policy = data["fallback_policy"]
    batch.fair_share_cap, batch.fair_share_cap_derived = data["fair_share_cap"], False
    for name in _PERIODS:
        value = data[name]
        if value is not None and value.total_seconds() > 0:
            setattr(batch, name, value)


# --- Calendar -------------------------------------------------------------------------------


def _month_from(raw: str | None, today: date) -> date:
    """`?month=2026-03` (from the calendar's links); anything else is this month."""
    parts = (raw or "").split("-")
    if len(parts) == 2:
        year = whole_number_or_none(parts[0], minimum=2000, maximum=2099)
        month = whole_number_or_none(parts[1], minimum=1, maximum=12)
        if year is not None and month is not None:
            return date(year, month, 1)
    return today.replace(day=1)


@admin_required
def release_calendar(request):
    """Scheduled (and recently released) batches on a month grid, in the admin's own time zone."""
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    month = _month_from(request.GET.get("month"), today)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    start = datetime.combine(weeks[0][0], datetime.min.time(), tzinfo=tz)
    end = datetime.combine(weeks[-1][-1] + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    batches = (
        Batch.objects.filter(release_at__gte=start, release_at__lt=end)
        .exclude(status=Batch.Status.DRAFT)
        .select_related("project")
        .annotate(task_total=Count("tasks"))
        .order_by("release_at", "id")
    )
    by_day: dict[date, list[Batch]] = {}
    for batch in batches:
        by_day.setdefault(timezone.localtime(batch.release_at, tz).date(), []).append(batch)
    grid = [[{"date": d, "in_month": d.month == month.month, "today": d == today, "batches": by_day.get(d, [])}
             for d in week] for week in weeks]
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    unscheduled = (
        Batch.objects.filter(status=Batch.Status.DRAFT).select_related("project")
        .annotate(task_total=Count("tasks")).filter(Q(task_total__gt=0)).order_by("project__name", "name")[:50]
    )
    return render(request, "manage/calendar.html", {
        "month": month, "grid": grid, "previous": previous, "following": following, "tz": tz,
        "weekdays": [calendar.day_abbr[i] for i in range(7)], "unscheduled": unscheduled,
        "count": sum(len(v) for v in by_day.values()),
    })


# --- Media library (image and video projects) --------------------------------------------------


def _media_project(project_id) -> Project:
    return get_object_or_404(Project.objects.filter(task_type__in=MEDIA_TYPES), pk=project_id)


@admin_required
def media_library(request, project_id):
    """A project's uploaded images or clips, and the upload form (each file sent with its progress by
    static/js/media_upload.js; without script the form posts them all at once)."""
    project = _media_project(project_id)
    errors = []
    if request.method == "POST":
        added = 0
        for uploaded in request.FILES.getlist("file"):
            try:
                services.media_file_create(project=project, uploaded_file=uploaded, uploaded_by=request.user)
                added += 1
            except DomainError as exc:
                errors.extend(exc.errors or [{"field": "file", "message": exc.message}])
        if not request.FILES.getlist("file"):
            errors.append({"field": "file", "message": "choose at least one file to upload"})
        if not errors:
            messages.success(request, f"{added} file{'s' if added != 1 else ''} added to the library.")
            return redirect("manage:media_library", project_id=project.pk)
    files = project.media_files.order_by("-created_at", "-pk")
    return render(request, "manage/media.html", {
        "project": project, "page": Paginator(files, 50).get_page(request.GET.get("page")), "errors": errors,
        "max_bytes": settings.TASKHUB_MEDIA_MAX_BYTES,
    }, status=400 if errors else 200)


@admin_required
@require_POST
def media_upload(request, project_id):
    """One file of the library, answered in JSON (the upload script's request)."""
    project = _media_project(project_id)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > settings.TASKHUB_MEDIA_MAX_BYTES + (1 << 20):
        refused = MediaRefused.at("file", f"the file is {int(declared):,} bytes; the largest accepted is "
                                          f"{settings.TASKHUB_MEDIA_MAX_BYTES:,} bytes")
        return JsonResponse(refused.as_problem(), status=413)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse(MediaRefused.at("file", "no file was sent").as_problem(), status=400)
    try:
        media = services.media_file_create(project=project, uploaded_file=uploaded, uploaded_by=request.user)
    except DomainError as exc:
        return JsonResponse(exc.as_problem(), status=400)
    return JsonResponse({
        "name": media.name, "kind": media.kind, "format": media.format, "width": media.width,
        "height": media.height, "duration_seconds": media.duration_seconds, "fps": media.fps,
        "size_bytes": media.size_bytes, "url": media.served_url,
    }, status=201)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@authenticated
def media_serve(request, path):
    """A task's image or clip from MEDIA_ROOT (with S3 the bucket serves them), to signed-in people
    only, with byte ranges so a video can seek. Other uploads (import files) are never served."""
    media = MediaFile.objects.filter(file=path).only("file", "content_type").first()
    if media is None or media.served_url != request.path:
        raise Http404("No such media file.")
    try:
        handle = default_storage.open(media.file.name, "rb")
    except FileNotFoundError:
        raise Http404("The media file is missing from storage.") from None
    size = default_storage.size(media.file.name)
    wanted = _RANGE.match(request.headers.get("Range", ""))
    if not wanted or not (wanted[1] or wanted[2]):
        response = FileResponse(handle, content_type=media.content_type)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=3600"
        return response
    if wanted[1]:
        start, end = int(wanted[1]), min(int(wanted[2]) if wanted[2] else size - 1, size - 1)
    else:
        start, end = max(0, size - int(wanted[2])), size - 1
    if start > end or start >= size:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)
    body = handle.read(end - start + 1)
    handle.close()
    response = HttpResponse(body, status=206, content_type=media.content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Model endpoints and generated pairwise batches (issue 21) -----------------------------------


def _model_project(project_id) -> Project:
    return get_object_or_404(Project.objects.filter(task_type__in=services.endpoints.MODEL_TYPES), pk=project_id)


def _endpoint_fields(form: ModelEndpointForm) -> dict:
    return {name: form.cleaned_data[name] for name in ModelEndpointForm.Meta.fields}


@admin_required
def model_endpoints(request, project_id):
    """A project's model endpoints, and the form to add one."""
    project = _model_project(project_id)
    form = ModelEndpointForm(request.POST or None, instance=ModelEndpoint(project=project),
                             initial={"is_default": not project.model_endpoints.exists()})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.model_endpoint_create(project=project, fields=_endpoint_fields(form),
                                                      created_by=request.user)
        except DomainError as exc:
            apply_to_forms([form], exc)
        else:
            messages.success(request, f"Endpoint “{endpoint.name}” added. Try it with “Send a test message”.")
            return redirect("manage:model_endpoint", endpoint_id=endpoint.pk)
    form.forget_refused_key()
    return render(request, "manage/model_endpoints.html", {
        "project": project, "form": form, "endpoints": project.model_endpoints.order_by("name"),
    }, status=400 if form.errors else 200)


def _endpoint_page(request, endpoint, form, *, check=None, check_error=None, status=200):
    return render(request, "manage/model_endpoint.html", {
        "endpoint": endpoint, "project": endpoint.project, "form": form, "check": check, "check_error": check_error,
        "key_set": bool(endpoint.api_key_env and os.environ.get(endpoint.api_key_env)),
    }, status=status)


@admin_required
def model_endpoint(request, endpoint_id):
    endpoint = get_object_or_404(ModelEndpoint.objects.select_related("project"), pk=endpoint_id)
    form = ModelEndpointForm(request.POST or None, instance=ModelEndpoint.objects.get(pk=endpoint.pk))
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.model_endpoint_update(endpoint=endpoint, fields=_endpoint_fields(form))
        except DomainError as exc:
            apply_to_forms([form], exc)
        else:
            messages.success(request, f"Endpoint “{endpoint.name}” saved.")
            return redirect("manage:model_endpoint", endpoint_id=endpoint.pk)
    form.forget_refused_key()
    return _endpoint_page(request, endpoint, form, status=400 if form.errors else 200)


@require_POST
@admin_required
def model_endpoint_check(request, endpoint_id):
    """Send one short message to the endpoint, as the workspace would, and show what came back."""
    endpoint = get_object_or_404(ModelEndpoint.objects.select_related("project"), pk=endpoint_id)
    try:
        reply = services.model_endpoint_check(endpoint=endpoint)
    except ModelError as exc:
        return _endpoint_page(request, endpoint, ModelEndpointForm(instance=endpoint), check_error=exc.message)
    return _endpoint_page(request, endpoint, ModelEndpointForm(instance=endpoint), check=reply)


@admin_required
def generations(request):
    """Pairwise batches generated from a file of prompts: the form, and the recent ones."""
    form = PairwiseGenerationForm(request.POST or None, request.FILES or None,
                                  initial={"project": request.GET.get("project")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            generation = services.pairwise_generation_create(
                project=data["project"], uploaded_file=data["file"], endpoint_a=data["endpoint_a"],
                endpoint_b=data["endpoint_b"], batch=data["batch"], new_batch_name=data["batch_name"],
                created_by=request.user, **form.sides(),
            )
        except DomainError as exc:
            apply_to_forms([form], exc, aliases={"settings_a": "temperature_a", "settings_b": "temperature_b"})
        else:
            return redirect("manage:generation", generation_id=generation.pk)
    recent = PairwiseGeneration.objects.select_related("project", "batch", "endpoint_a", "endpoint_b")
    page = Paginator(recent, 20).get_page(request.GET.get("page"))
    return render(request, "manage/generations.html", {"form": form, "page": page},
                  status=400 if form.errors else 200)


def _generation(generation_id) -> PairwiseGeneration:
    return get_object_or_404(
        PairwiseGeneration.objects.select_related("project", "batch", "endpoint_a", "endpoint_b"), pk=generation_id)


@admin_required
def generation_detail(request, generation_id):
    generation = _generation(generation_id)
    return render(request, "manage/generation_detail.html", {"gen": generation})


@admin_required
def generation_progress(request, generation_id):
    """The progress fragment; it polls itself (htmx) until the generation is finished."""
    return render(request, "manage/_generation_progress.html", {"gen": _generation(generation_id)})


@require_POST
@admin_required
def generation_retry(request, generation_id):
    generation = _generation(generation_id)
    try:
        services.pairwise_generation_retry(generation=generation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The prompts without a pair are being generated again.")
    return redirect("manage:generation", generation_id=generation.pk)
