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


def project_for_contractor(*, user, slug: str) -> Project | None:
    """The active project `slug` if the contractor may work on it, else None.

    Same rule as projects_for_contractor, for the hot path of claiming: a plain lookup by slug,
    then the qualification only for the projects that need one.
    """
    project = Project.objects.filter(slug=slug, status=Project.Status.ACTIVE).first()
    if project is None or not contractor_is_qualified(user=user, project=project):
        return None
    return project


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


def contractors_eligible_for(*, project: Project):
    """Active contractors who may work on `project` (qualified where it needs a qualification)."""
    from accounts.models import Role, User

    qs = User.objects.filter(role=Role.CONTRACTOR, is_active=True)
    if project.qualification_id is not None:
        qs = qs.filter(Exists(Qualification.objects.filter(contractor=OuterRef("pk"),
                                                           project_id=project.qualification_id)))
    return qs


def releases_for_contractor(*, user, project_ids) -> QuerySet[Batch]:
    """Announced releases of the person's eligible projects, with their own lottery entry."""
    from django.db.models import IntegerField, Subquery

    from .models import LotteryEntry

    mine = LotteryEntry.objects.filter(batch_id=OuterRef("pk"), contractor=user)
    return batches_upcoming(project_ids=project_ids).annotate(
        my_request=Subquery(mine.values("requested")[:1], output_field=IntegerField()),
    ).order_by("release_at", "id")


def lottery_entries_for(*, batch: Batch) -> QuerySet:
    from .models import LotteryEntry

    return LotteryEntry.objects.filter(batch=batch).select_related("contractor").order_by("created_at")


_FAIRNESS_SQL = """
WITH per AS (
    SELECT c.contractor_id, count(*) AS n
    FROM annotations_claim c
    WHERE c.batch_id = %(batch)s AND c.status IN ('active', 'submitted')
    GROUP BY c.contractor_id
), ranked AS (
    SELECT n, row_number() OVER (ORDER BY n) AS i FROM per
)
SELECT count(*), min(n), percentile_cont(0.5) WITHIN GROUP (ORDER BY n), max(n), COALESCE(sum(n), 0),
       CASE WHEN sum(n) > 0
            THEN 2.0 * sum(i * n) / (count(*) * sum(n)) - (count(*) + 1.0) / count(*)
       END
FROM ranked
"""

_FAIRNESS_HOURS_SQL = """
SELECT EXTRACT(HOUR FROM c.claimed_at AT TIME ZONE u.timezone)::int AS hour, count(*)
FROM annotations_claim c JOIN accounts_user u ON u.id = c.contractor_id
WHERE c.batch_id = %(batch)s
GROUP BY hour
"""

# Local hours counted as night work in the report (00:00 to 05:59).
NIGHT_HOURS = range(0, 6)


def batch_fairness_report(*, batch: Batch) -> dict:
    """Who got work from `batch` and how evenly, and at what local hour people claimed it.

    Tasks per contractor count claims held or submitted (work actually got); the hours
    count every claim, in each claimer's own time zone, since claiming is what people
    had to be awake for. The Gini coefficient is 0 when everyone got the same amount.
    """
    from django.db import connection

    from .models import LotteryAllocation, LotteryEntry

    with connection.cursor() as cursor:
        cursor.execute(_FAIRNESS_SQL, {"batch": batch.pk})
        people, least, median, most, total, gini = cursor.fetchone()
        cursor.execute(_FAIRNESS_HOURS_SQL, {"batch": batch.pk})
        by_hour = dict(cursor.fetchall())
    hours = [by_hour.get(h, 0) for h in range(24)]
    peak = max(hours) or 1
    claims = sum(hours)
    night = sum(hours[h] for h in NIGHT_HOURS)
    allocation = LotteryAllocation.objects.filter(batch=batch).first()
    lottery = None
    if batch.release_policy == Batch.Policy.LOTTERY:
        entries = LotteryEntry.objects.filter(batch=batch)
        lottery = {
            "allocation": allocation,
            "participants": entries.count(),
            "winners": entries.filter(allocated__gt=0).count() if allocation else None,
        }
    return {
        "contractors": people,
        "tasks_total": total,
        "min": least,
        "median": median,
        "max": most,
        "gini": round(float(gini), 3) if gini is not None else None,
        "hours": [
            {"hour": h, "claims": n, "percent": round(100 * n / peak), "night": h in NIGHT_HOURS}
            for h, n in enumerate(hours)
        ],
        "claims": claims,
        "night_claims": night,
        "night_percent": round(100 * night / claims, 1) if claims else 0,
        "lottery": lottery,
    }


def batches_released() -> QuerySet[Batch]:
    """Batches that have handed out work, newest release first (the fairness index)."""
    return (
        Batch.objects.exclude(released_at__isnull=True)
        .select_related("project")
        .order_by("-released_at", "-id")
    )
