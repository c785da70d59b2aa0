"""Reads of projects, rates, grade policies, lineages and batches, with their related rows joined.

Rules written once, in SQL, because the database applies them in its own statements (triggers,
the lottery, fair-share caps); Python reads them through the querysets here:

- the rate in force: `projects_pay_rate_in_force` (projects/sql/rate_in_force.sql);
- the grade policy in force: `projects_grade_policy_in_force` (projects/sql/grade_policy.sql);
- who may work on a project: `projects_contractor_is_eligible` and the qualification part of it,
  `projects_contractor_is_qualified` (projects/sql/eligibility.sql).

Both "in force" rules reach up a project's lineage: a continuation is paid by its predecessor's
rate and policy until its own apply.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    Exists,
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
from django.db.models.functions import Coalesce, Now

from accounts.models import User
from taskhub.errors import NotFound
from taskhub.sql import HotRead

from .models import (
    Batch,
    GradePolicy,
    InstructionVersion,
    LineageDecision,
    PayRate,
    Project,
    Qualification,
    Task,
    TaskImport,
)

# --- Versioned instructions ------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed" or "same"
    text: str


@dataclass
class VersionWithDiff:
    version: InstructionVersion
    # The lines changed from the version before (with a little context), empty for the first version.
    diff: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0


def _diff(before: str, after: str, context: int = 2) -> tuple[list[DiffLine], int, int]:
    lines: list[DiffLine] = []
    added = removed = 0
    a, b = before.splitlines(), after.splitlines()
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", line) for line in a[i1:i2])
                continue
            lines.extend(DiffLine("removed", line) for line in a[i1:i2])
            lines.extend(DiffLine("added", line) for line in b[j1:j2])
            removed += i2 - i1
            added += j2 - j1
    return lines, added, removed


def instruction_history(*, project: Project, limit: int = 50) -> list[VersionWithDiff]:
    """A project's instruction versions, newest first, each with what changed from the one before."""
    versions = list(InstructionVersion.objects.filter(project=project).select_related("created_by")
                    .order_by("-number")[: limit + 1])
    history = []
    for index, version in enumerate(versions[:limit]):
        before = versions[index + 1] if index + 1 < len(versions) else None
        if before is None:
            history.append(VersionWithDiff(version=version))
            continue
        lines, added, removed = _diff(before.text, version.text)
        history.append(VersionWithDiff(version=version, diff=lines, added=added, removed=removed))
    return history


# --- The rate in force ---------------------------------------------------------------------


def rate_in_force_id(project, at) -> Func:
    """The id of the rate in force for `project` (an id or an expression) at `at`, as SQL."""
    project = project if hasattr(project, "resolve_expression") else Value(project)
    at = at if hasattr(at, "resolve_expression") else Value(at)
    return Func(project, at, function="projects_pay_rate_in_force", output_field=BigIntegerField())


def rate_in_force(*, project: Project, at: datetime) -> PayRate | None:
    """The rate that applied to `project` at the moment `at` (None before its lineage's first rate): its
    own, or, before its own first one, the rate in force of the project it continues."""
    return PayRate.objects.filter(pk=rate_in_force_id(project.pk, at)).select_related("project").first()


def with_rate_in_force(projects: QuerySet[Project], *, at: datetime) -> QuerySet[Project]:
    """`projects` annotated with `rate_amount`, `rate_currency` and `rate_unit` in force at `at`."""
    rate = PayRate.objects.filter(pk=rate_in_force_id(OuterRef("pk"), at))
    return projects.annotate(
        rate_amount=Subquery(rate.values("amount")[:1]),
        rate_currency=Subquery(rate.values("currency")[:1]),
        rate_unit=Subquery(rate.values("unit")[:1]),
    )


def rate_history(*, project: Project, now: datetime | None = None) -> QuerySet[PayRate]:
    """The project's own rates, newest first; with `now`, each knows whether it is the one `in_force`
    (a rate of a predecessor may be in force instead, see `lineage_pay_history`)."""
    rates = PayRate.objects.filter(project=project).select_related("set_by").order_by("-effective_from", "-id")
    if now is not None:
        rates = rates.annotate(in_force=Q(pk=rate_in_force_id(project.pk, now)))
    return rates


# --- The grade policy in force ---------------------------------------------------------------


def grade_policy_in_force_id(project, at) -> Func:
    """The id of the grade policy in force for `project` (an id or an expression) at `at`, as SQL."""
    project = project if hasattr(project, "resolve_expression") else Value(project)
    at = at if hasattr(at, "resolve_expression") else Value(at)
    return Func(project, at, function="projects_grade_policy_in_force", output_field=BigIntegerField())


def grade_policy_in_force(*, project: Project, at: datetime) -> GradePolicy | None:
    """The policy that applied to work on `project` submitted at `at` (None: the default percents)."""
    return GradePolicy.objects.filter(pk=grade_policy_in_force_id(project.pk, at)).select_related("project").first()


def percents_of(policy: GradePolicy | None) -> dict[str, Decimal]:
    """The six shares of a policy; the default percents for none."""
    return dict(GradePolicy.DEFAULT_PERCENTS) if policy is None else policy.percents


def policy_history(*, project: Project, now: datetime | None = None) -> QuerySet[GradePolicy]:
    """The project's own policies as they were set, newest first (without the copies a raise applied
    to past work appends for each earlier period); with `now`, each knows whether it is `in_force`."""
    policies = (GradePolicy.objects.filter(project=project, extends__isnull=True).select_related("set_by")
                .order_by("-effective_from", "-id"))
    if now is not None:
        policies = policies.annotate(in_force=Q(pk=grade_policy_in_force_id(project.pk, now)))
    return policies


# --- Lineage -----------------------------------------------------------------------------------

_LINEAGE_SQL = """
WITH RECURSIVE earlier(id, step) AS (
    SELECT continues_id, 1 FROM projects_project WHERE id = %(project)s AND continues_id IS NOT NULL
    UNION ALL
    SELECT p.continues_id, e.step + 1 FROM projects_project p JOIN earlier e ON p.id = e.id
    WHERE p.continues_id IS NOT NULL AND e.step < 100
)
SELECT id FROM earlier ORDER BY step
"""


def lineage_ids(*, project: Project) -> list[int]:
    """The ids of the projects `project` continues, nearest first (one query)."""
    if project.continues_id is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_LINEAGE_SQL, {"project": project.pk})
        return [row[0] for row in cursor.fetchall()]


def lineage_of(*, project: Project) -> list[Project]:
    """The projects `project` continues, nearest first."""
    ids = lineage_ids(project=project)
    by_id = Project.objects.in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass
class LineageStage:
    """One project of a lineage with the rates and policies it paid, each with when it ended."""

    project: Project
    rates: list[PayRate] = field(default_factory=list)
    policies: list[GradePolicy] = field(default_factory=list)


def lineage_pay_history(*, project: Project) -> list[LineageStage]:
    """The pay history of the projects `project` continues, nearest first: each stage's rates and
    policies, oldest first, each with `until` (the next one's start, or when the stage's successor
    took over: the end of the predecessor's archive). A contractor page shows it as "continues
    Musen: 21.00 USD per hour until 14 Nov" above the project's own history. Three queries."""
    stages = [LineageStage(p) for p in lineage_of(project=project)]
    if not stages:
        return []
    by_project = {stage.project.pk: stage for stage in stages}
    for rate in PayRate.objects.filter(project_id__in=by_project).order_by("effective_from", "id"):
        by_project[rate.project_id].rates.append(rate)
    for policy in (GradePolicy.objects.filter(project_id__in=by_project, extends__isnull=True)
                   .order_by("effective_from", "id")):
        by_project[policy.project_id].policies.append(policy)
    for stage in stages:
        for rows in (stage.rates, stage.policies):
            for index, row in enumerate(rows):
                following = rows[index + 1].effective_from if index + 1 < len(rows) else stage.project.archived_at
                row.until = following
    return stages


def is_qualified(contractor, project) -> Func:
    """Whether `contractor` could work on `project` were it open (ids or expressions), as SQL."""
    contractor = contractor if hasattr(contractor, "resolve_expression") else Value(contractor)
    project = project if hasattr(project, "resolve_expression") else Value(project)
    return Func(contractor, project, function="projects_contractor_is_qualified", output_field=BooleanField())


def contractors_qualified_for(*, project: Project) -> QuerySet[User]:
    """The people who could work on `project` were it open: the contractors of a closed project."""
    return User.objects.filter(is_qualified(F("pk"), project.pk))


def lineage_candidates(*, project: Project, now: datetime) -> QuerySet[Project]:
    """Projects `project` may be continuing without saying so: closed in the last
    TASKHUB_LINEAGE_LOOKBACK, with the same task type, onboarding kind and qualification, with no
    continuation yet, reaching the same people (a contractor qualified for both), and not answered
    for this project (`LineageDecision`)."""
    if project.pk is None:
        return Project.objects.none()
    related = [project.pk, *lineage_ids(project=project)]
    reached = User.objects.filter(is_qualified(F("pk"), OuterRef("pk"))).filter(is_qualified(F("pk"), project.pk))
    return (
        Project.objects.filter(
            status=Project.Status.ARCHIVED, archived_at__gte=now - settings.TASKHUB_LINEAGE_LOOKBACK,
            task_type=project.task_type, is_onboarding=project.is_onboarding,
            qualification_id=project.qualification_id,
        )
        .exclude(pk__in=related)
        .exclude(Exists(Project.objects.filter(continues_id=OuterRef("pk"))))
        .exclude(Exists(LineageDecision.objects.filter(project_id=project.pk, candidate_id=OuterRef("pk"))))
        .filter(Exists(reached))
        .order_by("-archived_at", "name")
    )


def lineage_declines_for(*, project: Project) -> QuerySet[LineageDecision]:
    """The recently closed projects an admin said `project` does not continue, with the reasons
    (its contractors read them on the project page)."""
    return (LineageDecision.objects.filter(project=project, decision=LineageDecision.Decision.DECLINED)
            .select_related("candidate").order_by("-decided_at"))


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


def holds_qualification(contractor, qualification) -> Func:
    """Whether `contractor` holds the qualification of onboarding project `qualification` now (granted,
    not revoked), as SQL (projects/sql/eligibility.sql)."""
    contractor = contractor if hasattr(contractor, "resolve_expression") else Value(contractor)
    qualification = qualification if hasattr(qualification, "resolve_expression") else Value(qualification)
    return Func(contractor, qualification, function="projects_contractor_holds_qualification",
                output_field=BooleanField())


def contractor_is_qualified(*, user, project: Project) -> bool:
    """The qualification part of eligibility alone, for refusals that name what is missing."""
    if project.qualification_id is None:
        return True
    return User.objects.filter(pk=user.pk).filter(holds_qualification(F("pk"), project.qualification_id)).exists()


def projects_for_contractor(*, user) -> QuerySet[Project]:
    """The projects the contractor may work on now."""
    return Project.objects.filter(is_eligible(user.pk, F("pk"))).order_by("name")


_PROJECT_FOR_CONTRACTOR = HotRead(
    "project_for_contractor", Project, where="m.slug = %(slug)s AND projects_contractor_is_eligible(%(user)s, m.id)",
    params={"slug": "text", "user": "bigint"},
)


def project_for_contractor(*, user, slug: str) -> Project | None:
    """The project `slug` if the contractor may work on it now, else None (one prepared statement: every
    claim-next reads it)."""
    return _PROJECT_FOR_CONTRACTOR.get({"slug": slug, "user": user.pk})


def qualifications_of(*, user) -> QuerySet[Qualification]:
    """The person's qualifications, held and revoked (with when, by whom and why), newest first."""
    return (Qualification.objects.filter(contractor=user).select_related("project", "revoked_by")
            .order_by("-granted_at", "-id"))


def qualification_held(*, contractor, project: Project) -> Qualification | None:
    """The contractor's qualification from onboarding `project` that counts now, if any."""
    return (Qualification.objects.filter(contractor=contractor, project=project)
            .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=Now())).order_by("-granted_at").first())


def projects_unlocked_by(*, project: Project) -> QuerySet[Project]:
    """What passing onboarding `project` unlocks: the projects not closed that require it."""
    return Project.objects.filter(qualification=project).exclude(status=Project.Status.ARCHIVED).order_by("name")


def onboarding_projects() -> QuerySet[Project]:
    """Open onboarding projects, each with the number of projects it unlocks."""
    unlocks = (Project.objects.filter(qualification_id=OuterRef("pk")).exclude(status=Project.Status.ARCHIVED)
               .order_by().values("qualification_id").annotate(n=Count("id")).values("n"))
    return (Project.objects.filter(is_onboarding=True, status=Project.Status.ACTIVE)
            .annotate(unlocks=Coalesce(Subquery(unlocks, output_field=IntegerField()), 0)).order_by("name"))


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
