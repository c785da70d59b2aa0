"""Reads of projects, rates and batches, with their related rows already joined.

Two rules are written once, in SQL, because the database applies them in its own statements
(triggers, the lottery, fair-share caps); Python reads them through the querysets here:

- the rate in force: `projects_pay_rate_in_force` (projects/sql/rate_in_force.sql);
- who may work on a project: `projects_contractor_is_eligible` (projects/sql/eligibility.sql).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import User
from taskhub.errors import NotFound

from .models import Batch, PayRate, Project, Qualification, Task, TaskImport

# --- The rate in force ---------------------------------------------------------------------


def rate_in_force_id(project, at) -> Func:
    """The id of the rate in force for `project` (an id or an expression) at `at`, as SQL."""
    project = project if hasattr(project, "resolve_expression") else Value(project)
    at = at if hasattr(at, "resolve_expression") else Value(at)
    return Func(project, at, function="projects_pay_rate_in_force", output_field=BigIntegerField())


def rate_in_force(*, project: Project, at: datetime) -> PayRate | None:
    """The rate that applied to `project` at the moment `at` (None before its first rate)."""
    return PayRate.objects.filter(pk=rate_in_force_id(project.pk, at)).first()


def with_rate_in_force(projects: QuerySet[Project], *, at: datetime) -> QuerySet[Project]:
    """`projects` annotated with `rate_amount`, `rate_currency` and `rate_unit` in force at `at`."""
    rate = PayRate.objects.filter(pk=rate_in_force_id(OuterRef("pk"), at))
    return projects.annotate(
        rate_amount=Subquery(rate.values("amount")[:1]),
        rate_currency=Subquery(rate.values("currency")[:1]),
        rate_unit=Subquery(rate.values("unit")[:1]),
    )


def rate_history(*, project: Project, now: datetime | None = None) -> QuerySet[PayRate]:
    """The project's rates, newest first; with `now`, each knows whether it is the one `in_force`."""
    rates = PayRate.objects.filter(project=project).select_related("set_by").order_by("-effective_from", "-id")
    if now is not None:
        rates = rates.annotate(in_force=Q(pk=rate_in_force_id(project.pk, now)))
    return rates


# --- Who may work on a project -------------------------------------------------------------


def is_eligible(contractor, project) -> Func:
    """Whether `contractor` may work on `project` (ids or expressions), as SQL."""
    contractor = contractor if hasattr(contractor, "resolve_expression") else Value(contractor)
    project = project if hasattr(project, "resolve_expression") else Value(project)
    return Func(contractor, project, function="projects_contractor_is_eligible", output_field=BooleanField())


def contractors_eligible_for(*, project: Project) -> QuerySet[User]:
    """The people who may work on `project` now."""
    return User.objects.filter(is_eligible(F("pk"), project.pk))


def contractor_is_eligible(*, user, project: Project) -> bool:
    return contractors_eligible_for(project=project).filter(pk=user.pk).exists()


def contractor_is_qualified(*, user, project: Project) -> bool:
    """The qualification part of eligibility alone, for refusals that name what is missing."""
    if project.qualification_id is None:
        return True
    return Qualification.objects.filter(contractor=user, project_id=project.qualification_id).exists()


def projects_for_contractor(*, user) -> QuerySet[Project]:
    """The projects the contractor may work on now."""
    return Project.objects.filter(is_eligible(user.pk, F("pk"))).order_by("name")


def project_for_contractor(*, user, slug: str) -> Project | None:
    """The project `slug` if the contractor may work on it now, else None (one query)."""
    return projects_for_contractor(user=user).filter(slug=slug).first()


def qualifications_of(*, user) -> QuerySet[Qualification]:
    return Qualification.objects.filter(contractor=user).select_related("project").order_by("-granted_at")


# --- Batches and progress ------------------------------------------------------------------


def batches_upcoming(*, project_ids=None) -> QuerySet[Batch]:
    qs = Batch.objects.filter(status=Batch.Status.SCHEDULED).select_related("project").order_by("release_at")
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    return qs


def projects_progress() -> QuerySet[Project]:
    """Every non-archived project with its task, claim and submission totals (fixed query count)."""

    def task_sum(field):
        return Coalesce(
            Subquery(
                Task.objects.filter(project_id=OuterRef("pk")).order_by().values("project_id")
                .annotate(total=Sum(field)).values("total"),
                output_field=IntegerField(),
            ),
            0,
        )

    return (
        Project.objects.exclude(status=Project.Status.ARCHIVED)
        .select_related("qualification")
        .annotate(slots=task_sum("overlap"), claimed=task_sum("claim_count"), submitted=task_sum("submitted_count"))
        .order_by("name")
    )


def projects_for_admin(*, now: datetime) -> QuerySet[Project]:
    """Every project with its rate in force and its number of batches (the set-up list)."""
    projects = Project.objects.select_related("qualification").annotate(batch_count=Count("batches", distinct=True))
    return with_rate_in_force(projects, at=now).order_by("status", "name")


def batches_overview() -> QuerySet[Batch]:
    return (
        Batch.objects.exclude(status=Batch.Status.CLOSED)
        .select_related("project")
        .annotate(task_total=Count("tasks"), slots=Sum("tasks__overlap"), submitted=Sum("tasks__submitted_count"))
        .order_by("status", "release_at", "-created_at")
    )


def batches_released() -> QuerySet[Batch]:
    """Batches that have handed out work, newest release first (the fairness index)."""
    return (
        Batch.objects.exclude(released_at__isnull=True)
        .select_related("project")
        .order_by("-released_at", "-id")
    )


def task_imports_recent() -> QuerySet[TaskImport]:
    return TaskImport.objects.select_related("batch", "project", "created_by").order_by("-created_at")


def batches_with_counts() -> QuerySet[Batch]:
    """Batches with their task, slot, claim and submission totals (the admin API's batch status)."""
    return Batch.objects.select_related("project").annotate(
        task_total=Count("tasks"), slots=Coalesce(Sum("tasks__overlap"), 0),
        claimed=Coalesce(Sum("tasks__claim_count"), 0), submitted=Coalesce(Sum("tasks__submitted_count"), 0),
    ).order_by("-created_at", "-id")


def batch_get_with_counts(*, batch_id: int) -> Batch:
    batch = batches_with_counts().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"There is no batch {batch_id}.", field="batch")
    return batch


def batch_get(*, batch_id: int) -> Batch:
    batch = Batch.objects.select_related("project").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"There is no batch {batch_id}.", field="batch")
    return batch


def project_get(*, slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound(f"There is no project {slug!r}.", field="project")
    return project


def task_import_get(*, import_id: int) -> TaskImport:
    task_import = TaskImport.objects.select_related("batch", "project").filter(pk=import_id).first()
    if task_import is None:
        raise NotFound(f"There is no import {import_id}.", field="import")
    return task_import


def batch_cap_schedule(*, batch: Batch, release_at: datetime | None = None) -> dict:
    """The fair-share cap schedule the scheduling page publishes for `batch` as set (unsaved
    settings included): each step with its time (when the release time is known) and, for the
    first, the cap it gives now (tasks x overlap over the eligible contractors, or the fixed cap)."""
    steps = batch.fair_share_steps()
    if not steps:
        return {"steps": [], "equal_share": None, "slots": 0, "eligible": 0}
    slots = Task.objects.filter(batch=batch).aggregate(n=Coalesce(Sum("overlap"), 0))["n"]
    eligible = contractors_eligible_for(project=batch.project).count()
    fixed = batch.fair_share_cap if batch.fair_share_cap and not batch.fair_share_cap_derived else None
    equal = fixed or max(1, -(-slots // max(1, eligible)))
    start = batch.released_at or release_at
    return {
        "steps": [{"offset_hours": f"{step.offset.total_seconds() / 3600:g}", "kind": step.kind,
                   "at": start + step.offset if start else None} for step in steps],
        "equal_share": equal, "fixed": fixed is not None, "slots": slots, "eligible": eligible,
    }
