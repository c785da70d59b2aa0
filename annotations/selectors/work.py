"""Reads for the contractor's own work: their projects with what they could claim, announced
releases with their lottery entries, their claims, and their submissions with grades."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from projects.models import Batch, Project, Task
from projects.selectors import batches_upcoming, is_eligible, projects_for_contractor, with_rate_in_force
from taskhub import parsing
from taskhub.errors import NotFound
from taskhub.sql import HotRead

from ..models import Appeal, Claim, LotteryEntry, Review, Submission


def projects_for_dashboard(*, user, now: datetime) -> QuerySet[Project]:
    """The projects the contractor may work on, with the rate in force, the tasks they could claim
    now (open batches, a free slot, not done by them before) and, for onboarding, how many projects
    passing unlocks."""
    mine = Claim.objects.filter(task_id=OuterRef("pk"), contractor=user)
    available = (
        Task.objects.filter(project_id=OuterRef("pk"), claim_count__lt=F("overlap"), batch__status=Batch.Status.OPEN)
        .filter(~Exists(mine))
        .order_by()
        .values("project_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    unlocks = (Project.objects.filter(qualification_id=OuterRef("pk")).exclude(status=Project.Status.ARCHIVED)
               .order_by().values("qualification_id").annotate(n=Count("id")).values("n"))
    projects = projects_for_contractor(user=user).annotate(
        available=Coalesce(Subquery(available, output_field=IntegerField()), 0),
        unlocks=Coalesce(Subquery(unlocks, output_field=IntegerField()), 0),
    )
    return with_rate_in_force(projects, at=now)


def releases_for_contractor(*, user, project_ids) -> QuerySet[Batch]:
    """Announced releases of the person's eligible projects, with their own lottery entry."""
    entry = LotteryEntry.objects.filter(batch_id=OuterRef("pk"), contractor=user)
    return batches_upcoming(project_ids=project_ids).annotate(
        my_request=Subquery(entry.values("requested")[:1], output_field=IntegerField()),
    ).order_by("release_at", "id")


def claims_active_for(*, user) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(contractor=user, status=Claim.Status.ACTIVE)
        .select_related("project", "task")
        .order_by("deadline")
    )


def claims_held_for(*, user) -> QuerySet[Claim]:
    """The contractor's open holds in one query: lottery wins reserved for them (soonest ending
    first), then active claims (soonest due first)."""
    return (
        Claim.objects.filter(contractor=user, status__in=Claim.HELD_OPEN)
        .select_related("project", "task")
        .order_by("-status", "reserved_until", "deadline", "id")
    )


def claim_get_for_user(*, claim_id: int, user) -> Claim:
    """The contractor's own claim, or NotFound (never another person's)."""
    claim = (
        Claim.objects.filter(pk=claim_id, contractor=user)
        .select_related("task", "project", "project__qualification", "batch")
        .first()
    )
    if claim is None:
        raise NotFound("No such task claim of yours.")
    claim.contractor = user  # it is theirs: no join for it
    return claim


_CLAIM_FOR_API = HotRead("claim_for_api", Claim, related=("task", "project"),
                         where="m.id = %(claim)s AND m.contractor_id = %(contractor)s",
                         params={"claim": "bigint", "contractor": "bigint"})


def claim_for_api(*, claim_id: int, user) -> Claim:
    """The contractor's own claim with its task and project, what the API's open, release and submit
    read (the claim-and-submit cycle's hot path: one prepared statement with two joins); or NotFound."""
    claim_id = parsing.whole_number_or_none(claim_id, minimum=1)  # an id no row can have finds nothing
    claim = None if claim_id is None else _CLAIM_FOR_API.get({"claim": claim_id, "contractor": user.pk})
    if claim is None:
        raise NotFound("No such task claim of yours.")
    claim.contractor = user
    return claim


def submissions_for(*, user) -> QuerySet[Submission]:
    return Submission.objects.filter(contractor=user).select_related("project", "task").order_by("-submitted_at")


APPEAL_STATES = ("none", "open", "upheld", "revised")


def my_work_for(*, user, project_id: int | None = None, grade: int | str | None = None,
                appeal: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> QuerySet[Submission]:
    """My work, filtered, newest first: each submission with its project and task, and `review_list`
    (current first, with their appeals) prefetched for the page of them that is read (2 queries a page).
    `grade` is a final grade 1–5 or "ungraded"; `appeal` one of APPEAL_STATES ("none": never appealed)."""
    reviews = Review.objects.select_related("appeal", "second_opinion").order_by("kind", "created_at")
    qs = (Submission.objects.filter(contractor=user).select_related("project", "task", "instructions_version")
          .prefetch_related(Prefetch("reviews", queryset=reviews, to_attr="review_list"))
          .order_by("-submitted_at", "-id"))
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    if grade == "ungraded":
        qs = qs.filter(final_grade__isnull=True)
    elif grade is not None:
        qs = qs.filter(final_grade=grade)
    if appeal == "none":
        qs = qs.filter(~Exists(Appeal.objects.filter(review__submission_id=OuterRef("pk"))))
    elif appeal in APPEAL_STATES:
        qs = qs.filter(Exists(Appeal.objects.filter(review__submission_id=OuterRef("pk"), status=appeal)))
    if since is not None:
        qs = qs.filter(submitted_at__gte=since)
    if until is not None:
        qs = qs.filter(submitted_at__lt=until)
    return qs


def my_work_projects_for(*, user) -> QuerySet[Project]:
    """The projects the contractor submitted work on (for the filter of My work)."""
    return Project.objects.filter(pk__in=Submission.objects.filter(contractor=user).values("project_id")).order_by(
        "name").only("id", "name")


def audit_project_ids_for(*, user) -> list[int]:
    """The projects whose pay decisions a contractor reads on their History page: those they worked
    on and those they may work on now (one query)."""
    worked = Submission.objects.filter(contractor=user).values("project_id")
    return list(Project.objects.filter(Q(pk__in=worked) | Q(is_eligible(user.pk, F("pk"))))
                .values_list("pk", flat=True))
