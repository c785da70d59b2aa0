"""Reads of projects, rates and batches, with their related rows already joined."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Batch, PayRate, Project, Qualification


def rate_in_force(*, project: Project, at: datetime) -> PayRate | None:
    """The rate that applied to `project` at the moment `at` (None before its first rate)."""
    return PayRate.objects.filter(project=project, effective_from__lte=at).order_by("-effective_from", "-id").first()


def rate_history(*, project: Project) -> QuerySet[PayRate]:
    return PayRate.objects.filter(project=project).select_related("set_by").order_by("-effective_from", "-id")


def projects_for_contractor(*, user) -> QuerySet[Project]:
    """Active projects the contractor may work on: no qualification needed, or passed."""
    passed = Qualification.objects.filter(contractor=user, project=OuterRef("qualification_id"))
    return (
        Project.objects.filter(status=Project.Status.ACTIVE)
        .filter(Q(qualification__isnull=True) | Q(Exists(passed)))
        .order_by("name")
    )


def contractor_is_qualified(*, user, project: Project) -> bool:
    if project.qualification_id is None:
        return True
    return Qualification.objects.filter(contractor=user, project_id=project.qualification_id).exists()


def batches_upcoming(*, project_ids=None) -> QuerySet[Batch]:
    qs = Batch.objects.filter(status=Batch.Status.SCHEDULED).select_related("project").order_by("release_at")
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    return qs


def projects_dashboard_for(*, user, now: datetime) -> QuerySet[Project]:
    """Eligible projects with the rate in force and the tasks this person could claim now."""
    from django.db.models import Count, F, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from annotations.models import Claim

    from .models import Task

    mine = Claim.objects.filter(task_id=OuterRef("pk"), contractor=user)
    available = (
        Task.objects.filter(project_id=OuterRef("pk"), claim_count__lt=F("overlap"), batch__status=Batch.Status.OPEN)
        .filter(~Exists(mine))
        .order_by()
        .values("project_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    rate = PayRate.objects.filter(project_id=OuterRef("pk"), effective_from__lte=now).order_by("-effective_from", "-id")
    return projects_for_contractor(user=user).annotate(
        available=Coalesce(Subquery(available, output_field=IntegerField()), 0),
        rate_amount=Subquery(rate.values("amount")[:1]),
        rate_currency=Subquery(rate.values("currency")[:1]),
        rate_unit=Subquery(rate.values("unit")[:1]),
    )


def projects_progress() -> QuerySet[Project]:
    """Every non-archived project with its task, claim and submission totals (fixed query count)."""
    from django.db.models import IntegerField, OuterRef, Subquery, Sum
    from django.db.models.functions import Coalesce

    from .models import Task

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


def batches_overview() -> QuerySet[Batch]:
    from django.db.models import Count, Sum

    return (
        Batch.objects.exclude(status=Batch.Status.CLOSED)
        .select_related("project")
        .annotate(task_total=Count("tasks"), slots=Sum("tasks__overlap"), submitted=Sum("tasks__submitted_count"))
        .order_by("status", "release_at", "-created_at")
    )
