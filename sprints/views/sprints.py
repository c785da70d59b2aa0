"""Team lead pages: sprints, the live board, the roster and announcements.

A lead sees only the sprints they lead (and so only those members); admins see every
sprint. Anyone else's sprint is a 404, so its existence is not revealed.
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import lead_required
from annotations.services.flags import Decision
from projects.selectors import projects_progress
from taskhub.errors import DomainError, apply_to_forms

from .. import selectors as sel
from .. import services as svc
from ..forms import AnnouncementForm, SprintForm
from ..models import Sprint


@lead_required
def lead_home(request):
    return render(request, "lead/home.html", {"projects": projects_progress()})


def _sprint_kwargs(form) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"], "project_ids": [p.pk for p in data["projects"]],
        "member_ids": [m.pk for m in data["members"]], "starts_at": data["starts_at"], "ends_at": data["ends_at"],
        "target_submissions": data["target_submissions"], "quality_target": data["quality_target"],
    }


@lead_required
def sprint_list(request):
    sprints = list(sel.sprints_for_user(user=request.user))
    groups = {status: [s for s in sprints if s.status == status] for status in Sprint.Status.values}
    return render(request, "sprints/list.html", {
        "open_sprints": groups["open"], "planned_sprints": groups["planned"], "closed_sprints": groups["closed"],
    })


@lead_required
def sprint_create(request):
    if request.method == "POST":
        form = SprintForm(request.POST)
        if form.is_valid():
            try:
                sprint = svc.sprint_create(lead=request.user, **_sprint_kwargs(form))
            except DomainError as exc:
                apply_to_forms([form], exc)
            else:
                messages.success(request, f"Sprint “{sprint.name}” is {sprint.get_status_display().lower()}.")
                return redirect("lead:sprint_board", sprint_id=sprint.pk)
    else:
        now = timezone.localtime().replace(minute=0, second=0, microsecond=0)
        form = SprintForm(initial={"starts_at": now + timezone.timedelta(hours=1),
                                   "ends_at": now + timezone.timedelta(hours=25)})
    return render(request, "sprints/form.html", {"form": form, "sprint": None},
                  status=400 if form.errors else 200)


@lead_required
def sprint_edit(request, sprint_id):
    sprint = sel.sprint_get_for_user(sprint_id=sprint_id, user=request.user)
    if sprint.status == Sprint.Status.CLOSED:
        messages.error(request, "A closed sprint cannot be changed; its summary is final.")
        return redirect("lead:sprint_board", sprint_id=sprint.pk)
    if request.method == "POST":
        form = SprintForm(request.POST)
        if form.is_valid():
            try:
                sprint = svc.sprint_update(sprint=sprint, by=request.user, **_sprint_kwargs(form))
            except DomainError as exc:
                apply_to_forms([form], exc)
            else:
                messages.success(request, f"Sprint “{sprint.name}” saved.")
                return redirect("lead:sprint_board", sprint_id=sprint.pk)
    else:
        form = SprintForm(initial=SprintForm.initial_for(sprint))
    return render(request, "sprints/form.html", {"form": form, "sprint": sprint},
                  status=400 if form.errors else 200)


def _board_context(request, sprint) -> dict:
    return {"sprint": sprint, "board": sel.sprint_board(sprint=sprint), "review_url": _review_url(sprint)}


def _review_url(sprint) -> str:
    """The review queue filtered to this sprint's work (its projects and its window)."""
    return f"{reverse('review:queue')}?{sel.sprint_review_query(sprint=sprint)}"


@lead_required
def sprint_board(request, sprint_id):
    sprint = sel.sprint_get_for_user(sprint_id=sprint_id, user=request.user)
    context = _board_context(request, sprint)
    context["announcements"] = sel.announcements_for_sprint(sprint=sprint)[:10]
    context["announce_form"] = AnnouncementForm(sprint=sprint, projects=list(sprint.projects.all()))
    return render(request, "sprints/board.html", context)


@lead_required
def sprint_board_fragment(request, sprint_id):
    """The board's figures alone: htmx swaps them in place every few seconds."""
    sprint = sel.sprint_get_for_user(sprint_id=sprint_id, user=request.user)
    return render(request, "sprints/_board.html", _board_context(request, sprint))


@lead_required
def sprint_roster(request, sprint_id):
    sprint = sel.sprint_get_for_user(sprint_id=sprint_id, user=request.user)
    members = sel.sprint_roster(sprint=sprint)
    return render(request, "sprints/roster.html", {
        "sprint": sprint, "members": members, "decisions": Decision.CHOICES,
        "reason_min_chars": settings.TASKHUB_DECISION_REASON_MIN_CHARS,
        "open_flags": sum(len(m.flags) for m in members),
    })


@require_POST
@lead_required
def sprint_announce(request, sprint_id):
    sprint = sel.sprint_get_for_user(sprint_id=sprint_id, user=request.user)
    projects = list(sprint.projects.all())
    form = AnnouncementForm(request.POST, sprint=sprint, projects=projects)
    if form.is_valid():
        target = form.cleaned_data["target"]
        try:
            announcement = svc.announcement_post(
                author=request.user, title=form.cleaned_data["title"], body=form.cleaned_data["body"],
                sprint=sprint if target == "sprint" else None, project=form.projects.get(target),
            )
        except DomainError as exc:
            apply_to_forms([form], exc)
        else:
            where = sprint.name if announcement.sprint_id else announcement.project.name
            messages.success(request, f"Announcement posted to {where}; its members are notified.")
            return redirect("lead:sprint_board", sprint_id=sprint.pk)
    context = _board_context(request, sprint)
    context["announcements"] = sel.announcements_for_sprint(sprint=sprint)[:10]
    context["announce_form"] = form
    return render(request, "sprints/board.html", context, status=400)
