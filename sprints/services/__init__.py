"""Sprints and announcements: a lead's time-boxed push, opened and closed on time by beat.

planned → open → closed. Each transition is a conditional UPDATE on the status, so beat,
a second beat or a retried task running at the same moment change a sprint once. The
summary is computed and written in the transaction that closes the sprint, and never again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notifications_create_many
from annotations import services as review_services
from annotations.models import ContractorFlag, ContractorPause, PauseAppeal
from projects.models import Project
from projects.selectors import contractors_eligible_for
from taskhub.errors import DomainError, Forbidden, InvalidInput
from taskhub.parsing import moment, object_id, text, whole_number

from ..errors import SprintError
from ..models import SPRINT_MAX_DAYS, Announcement, Sprint, SprintMember
from ..selectors import led_by, sprint_summary

S = Sprint.Status

NAME_MAX = Sprint._meta.get_field("name").max_length
TITLE_MAX = Announcement._meta.get_field("title").max_length
BODY_MAX = 5000
TARGET_MAX = 1_000_000


def _check_lead(lead) -> None:
    if getattr(lead, "role", None) not in (Role.LEAD, Role.ADMIN) or not lead.is_active:
        raise Forbidden("Only team leads and admins run sprints.")


def _clean(
    *,
    name: str,
    project_ids: Iterable[int],
    member_ids: Iterable[int],
    starts_at: datetime,
    ends_at: datetime,
    target_submissions,
    quality_target,
) -> dict:
    errors: list[DomainError] = []

    def parsed(parse, value, **options):
        # Every value through the one parser (taskhub.parsing); each refusal is kept, all are reported.
        try:
            return parse(value, **options)
        except InvalidInput as exc:
            errors.append(exc)
            return None

    name = parsed(text, name, field="name", max_length=NAME_MAX)
    if name == "":
        errors.append(SprintError.at("name", "Give the sprint a name."))
    project_ids = sorted({pk for pk in (parsed(object_id, pk, field="projects") for pk in project_ids or [])
                          if pk is not None})
    member_ids = sorted({pk for pk in (parsed(object_id, pk, field="members") for pk in member_ids or [])
                         if pk is not None})
    # Times within the years every page can show, in every time zone (taskhub.parsing.moment).
    in_range = all([  # a list, not a generator: both times are checked and reported
        parsed(moment, value, field=label) is not None
        for label, value in (("starts_at", starts_at), ("ends_at", ends_at))
        if value is not None and not timezone.is_naive(value)
    ])

    projects = list(Project.objects.filter(pk__in=project_ids, status=Project.Status.ACTIVE))
    if not project_ids:
        errors.append(SprintError.at("projects", "Choose at least one project."))
    elif len(projects) != len(project_ids):
        missing = sorted(set(project_ids) - {p.pk for p in projects})
        errors.append(SprintError.at("projects", f"Projects {missing} are not active projects."))

    members = list(User.objects.filter(pk__in=member_ids, role=Role.CONTRACTOR, is_active=True))
    if not member_ids:
        errors.append(SprintError.at("members", "Choose at least one member."))
    elif len(members) != len(member_ids):
        missing = sorted(set(member_ids) - {u.pk for u in members})
        errors.append(SprintError.at("members", f"People {missing} are not active contractors."))

    if starts_at is None or timezone.is_naive(starts_at):
        errors.append(SprintError.at("starts_at", "Give the start with its time zone."))
    if ends_at is None or timezone.is_naive(ends_at):
        errors.append(SprintError.at("ends_at", "Give the end with its time zone."))
    elif in_range and starts_at is not None and not timezone.is_naive(starts_at):
        if ends_at <= starts_at:
            errors.append(SprintError.at("ends_at", "The sprint must end after it starts."))
        elif ends_at - starts_at > timedelta(days=SPRINT_MAX_DAYS):
            errors.append(SprintError.at("ends_at", f"A sprint lasts at most {SPRINT_MAX_DAYS} days."))

    target = parsed(whole_number, target_submissions, field="target_submissions", minimum=1, maximum=TARGET_MAX,
                    message=f"The target is a whole number from 1 to {TARGET_MAX:,}.")

    try:
        if isinstance(quality_target, float):
            raise InvalidOperation
        quality = Decimal(str(quality_target).strip())
        if not quality.is_finite() or not Decimal(1) <= quality <= Decimal(5) or quality != round(quality, 2):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.append(SprintError.at("quality_target", "The quality target is an average grade from 1 to 5 "
                                                 "(at most two decimals)."))
        quality = None

    if errors:
        raise SprintError.combine(errors)
    return {"name": name, "projects": projects, "members": members, "starts_at": starts_at, "ends_at": ends_at,
            "target_submissions": target, "quality_target": quality}


def sprint_create(
    *,
    lead,
    name: str,
    project_ids: Iterable[int],
    member_ids: Iterable[int],
    starts_at: datetime,
    ends_at: datetime,
    target_submissions: int,
    quality_target: Decimal | str,
    now: datetime | None = None,
) -> Sprint:
    """Plan a sprint. It opens when its window starts (beat); one created already started opens at once."""
    _check_lead(lead)
    now = now or timezone.now()
    data = _clean(name=name, project_ids=project_ids, member_ids=member_ids, starts_at=starts_at, ends_at=ends_at,
                  target_submissions=target_submissions, quality_target=quality_target)
    if data["ends_at"] <= now:
        raise SprintError.at("ends_at", "The sprint must end in the future.")
    with transaction.atomic():
        sprint = Sprint.objects.create(
            lead=lead, name=data["name"], starts_at=data["starts_at"], ends_at=data["ends_at"],
            target_submissions=data["target_submissions"], quality_target=data["quality_target"],
        )
        sprint.projects.set(data["projects"])
        SprintMember.objects.bulk_create(SprintMember(sprint=sprint, contractor=m) for m in data["members"])
    if sprint.starts_at <= now:
        sprints_open_due(now=now, sprint_ids=[sprint.pk])
        sprint.refresh_from_db(fields=["status", "opened_at"])
    return sprint


def sprint_update(
    *,
    sprint: Sprint,
    by,
    name: str,
    project_ids: Iterable[int],
    member_ids: Iterable[int],
    starts_at: datetime,
    ends_at: datetime,
    target_submissions: int,
    quality_target: Decimal | str,
    now: datetime | None = None,
) -> Sprint:
    """Change a planned or open sprint. An open sprint keeps its start (its figures count from it)."""
    _check_lead(by)
    now = now or timezone.now()
    data = _clean(name=name, project_ids=project_ids, member_ids=member_ids, starts_at=starts_at, ends_at=ends_at,
                  target_submissions=target_submissions, quality_target=quality_target)
    with transaction.atomic():
        locked = Sprint.objects.select_for_update().get(pk=sprint.pk)
        if locked.status == S.CLOSED:
            raise SprintError("A closed sprint cannot be changed; its summary is final.", code="sprint_closed")
        if locked.status == S.OPEN and data["starts_at"] != locked.starts_at:
            raise SprintError.at("starts_at", "An open sprint keeps its start time.")
        if data["ends_at"] <= now:
            raise SprintError.at("ends_at", "The sprint must end in the future.")
        fields = ["name", "starts_at", "ends_at", "target_submissions", "quality_target"]
        for field in fields:
            setattr(locked, field, data[field])
        locked.save(update_fields=[*fields, "updated_at"])
        locked.projects.set(data["projects"])
        keep = {m.pk for m in data["members"]}
        SprintMember.objects.filter(sprint=locked).exclude(contractor_id__in=keep).delete()
        SprintMember.objects.bulk_create(
            [SprintMember(sprint=locked, contractor=m) for m in data["members"]], ignore_conflicts=True
        )
    if locked.status == S.PLANNED and locked.starts_at <= now:
        sprints_open_due(now=now, sprint_ids=[locked.pk])
        locked.refresh_from_db(fields=["status", "opened_at"])
    return locked


def _notify_members(sprint_id: int, *, kind: str, title: str, body: str, key: str) -> int:
    members = User.objects.filter(sprint_memberships__sprint_id=sprint_id)
    return notifications_create_many(users=members, kind=kind, title=title, body=body,
                                      url="/work/", key=key)


def sprints_open_due(*, now: datetime | None = None, sprint_ids: list[int] | None = None) -> list[int]:
    """Open every planned sprint whose window has started; returns the ids this call opened.

    A sprint whose window already ended is left for `sprints_close_due`, which closes it
    directly (it was never open, and its summary says so)."""
    now = now or timezone.now()
    qs = Sprint.objects.filter(status=S.PLANNED, starts_at__lte=now, ends_at__gt=now)
    if sprint_ids is not None:
        qs = qs.filter(pk__in=sprint_ids)
    with transaction.atomic():
        # One UPDATE ... WHERE status = 'planned' RETURNING id: a concurrent call finds nothing left.
        opened = _open(qs, now)
        for sprint_id, name in Sprint.objects.filter(pk__in=opened).values_list("pk", "name"):
            transaction.on_commit(
                lambda sprint_id=sprint_id, name=name: _notify_members(
                    sprint_id, kind="sprint_open", title=f"Sprint “{name}” is open",
                    body="Your team's sprint has started. Its projects are on your dashboard.",
                    key=f"sprint-open-{sprint_id}",
                )
            )
    return opened


def _open(qs, now: datetime) -> list[int]:
    ids = list(qs.values_list("pk", flat=True))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sprints_sprint SET status = 'open', opened_at = %s, updated_at = %s "
            "WHERE id = ANY(%s) AND status = 'planned' RETURNING id",
            [now, now, ids],
        )
        return sorted(row[0] for row in cursor.fetchall())


def sprint_close(*, sprint_id: int, now: datetime | None = None) -> bool:
    """Close one sprint and write its summary. Returns False when it was already closed.

    The row is locked first (skipping it if another closer holds it), the summary computed
    from that snapshot and written in the same conditional UPDATE that changes the status."""
    now = now or timezone.now()
    with transaction.atomic():
        sprint = (
            Sprint.objects.select_for_update(skip_locked=True)
            .filter(pk=sprint_id).exclude(status=S.CLOSED).first()
        )
        if sprint is None:
            return False
        summary = sprint_summary(sprint=sprint, until=min(now, sprint.ends_at))
        closed = Sprint.objects.filter(pk=sprint.pk).exclude(status=S.CLOSED).update(
            status=S.CLOSED, closed_at=now, summary=summary, updated_at=now
        )
        if closed:
            name = sprint.name
            transaction.on_commit(
                lambda: _notify_members(
                    sprint_id, kind="sprint_closed", title=f"Sprint “{name}” has ended",
                    body=f"{summary['submitted']} submissions from the team. Thank you.",
                    key=f"sprint-closed-{sprint_id}",
                )
            )
    return bool(closed)


def sprints_close_due(*, now: datetime | None = None) -> list[int]:
    """Close every sprint whose window has ended; returns the ids this call closed."""
    now = now or timezone.now()
    due = list(Sprint.objects.filter(ends_at__lte=now).exclude(status=S.CLOSED).order_by("pk")
               .values_list("pk", flat=True))
    return [sprint_id for sprint_id in due if sprint_close(sprint_id=sprint_id, now=now)]


def announcement_post(*, author, title: str, body: str, sprint: Sprint | None = None,
                      project: Project | None = None) -> Announcement:
    """Post to a sprint's members or to a project's eligible contractors, notified in-app on commit.

    A lead posts only to their own sprints and to the projects of their sprints; admins anywhere."""
    _check_lead(author)
    errors: list[DomainError] = []
    if (sprint is None) == (project is None):
        errors.append(SprintError.at("target", "Post either to a sprint or to a project."))
    try:
        title = text(title, field="title", max_length=TITLE_MAX)
        if not title:
            errors.append(SprintError.at("title", "Give the announcement a title."))
    except InvalidInput as exc:
        errors.append(exc)
    try:
        body = text(body, field="body", max_length=BODY_MAX)
        if not body:
            errors.append(SprintError.at("body", "Write the announcement."))
    except InvalidInput as exc:
        errors.append(exc)
    if errors:
        raise SprintError.combine(errors)
    if author.role != Role.ADMIN:
        if sprint is not None and sprint.lead_id != author.pk:
            raise Forbidden("You can post only to sprints you lead.")
        if project is not None and not Sprint.objects.filter(lead=author, projects=project).exists():
            raise Forbidden("You can post only to projects of sprints you lead.")
    if sprint is not None and sprint.status == S.CLOSED:
        raise SprintError("This sprint has ended; post to its project instead.", code="sprint_closed",
                          field="target")

    with transaction.atomic():
        announcement = Announcement.objects.create(author=author, sprint=sprint, project=project,
                                                   title=title, body=body)
        announcement_id = announcement.pk
        transaction.on_commit(lambda: announcement_notify(announcement_id=announcement_id))
    return announcement


def announcement_recipients(*, sprint: Sprint | None = None, project: Project | None = None):
    if sprint is not None:
        return User.objects.filter(sprint_memberships__sprint=sprint, is_active=True)
    return contractors_eligible_for(project=project)


def announcement_notify(*, announcement_id: int) -> int:
    """Fan the announcement out as in-app notifications: one INSERT ... SELECT, once per person."""
    announcement = Announcement.objects.select_related("sprint", "project").filter(pk=announcement_id).first()
    if announcement is None:
        return 0
    users = announcement_recipients(sprint=announcement.sprint, project=announcement.project)
    if announcement.sprint is not None:
        where, url = announcement.sprint.name, "/work/"
    else:
        where, url = announcement.project.name, f"/work/projects/{announcement.project.slug}/"
    created = notifications_create_many(
        users=users, kind="announcement", title=f"{where}: {announcement.title}"[:200], body=announcement.body,
        url=url, key=f"announcement-{announcement.pk}",
    )
    if created:
        Announcement.objects.filter(pk=announcement.pk).update(recipients=created)
    return created


# --- A lead's people ---------------------------------------------------------------------------


def flag_decide(*, flag: ContractorFlag, lead, decision: str, reason: str, urgent: bool = False,
                urgent_reason: str = "") -> ContractorFlag:
    """A lead's decision on a flag of someone in one of their sprints, on a project of that sprint
    (admins: any flag). Anyone else's flag is NotFound, checked where the decision is recorded. A
    pause before the contractor's answer window ends must be `urgent`, with a reason."""
    return review_services.flag_decide(flag=flag, lead=lead, decision=decision, reason=reason, urgent=urgent,
                                       urgent_reason=urgent_reason, scope=led_by(lead))


def pause_lift(*, pause: ContractorPause, lead, reason: str) -> ContractorPause:
    """Lift a pause of someone in one of the lead's sprints, on a project of that sprint (admins: any)."""
    return review_services.pause_lift(pause=pause, lead=lead, reason=reason, scope=led_by(lead))


def pause_appeal_decide(*, appeal: PauseAppeal, lead, outcome: str, reason: str) -> PauseAppeal:
    """Decide the appeal of a pause of someone in one of the lead's sprints, on a project of that
    sprint (admins: any), unless the lead decided the pause themselves."""
    return review_services.pause_appeal_decide(appeal=appeal, decider=lead, outcome=outcome, reason=reason,
                                               scope=led_by(lead))


def sprints_check_role_change(change) -> list[str]:
    """The role handler of sprints (taskhub.hooks.role_changed): whoever runs a sprint that is not closed
    (a lead, or an admin) does not become a contractor until it is closed: its members need their lead,
    and no one else may run it. Between lead and admin nothing changes for their sprints. A contractor
    who becomes a lead or admin stays a member of their sprints, so the boards still count what they
    submitted."""
    if change.new != Role.CONTRACTOR or change.old == Role.CONTRACTOR:
        return []
    running = list(Sprint.objects.filter(lead_id=change.user_id).exclude(status=Sprint.Status.CLOSED)
                   .order_by("starts_at", "id").values_list("name", flat=True)[:6])
    if running:
        names = ", ".join(f"“{name}”" for name in running[:5]) + (" ..." if len(running) > 5 else "")
        raise SprintError.at("role", f"they lead sprints that are not closed ({names}); change the role once "
                                     "those sprints have closed, or make them an admin")
    return []
