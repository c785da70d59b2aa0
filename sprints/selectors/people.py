"""A page per contractor for leads (issue 20): one person's graded work with reasons, appeals and
second opinions, agreement with gold, active time and effective hourly rate, flags and decisions, and
a trend of their grades. A lead sees only the people of their own sprints, and of those only the work
on their sprints' projects (the scoping of `led_by`); admins see everyone and everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, F, Func, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Role, User
from annotations.models import ContractorFlag, Review, SecondOpinion, Submission
from projects.models import Project
from taskhub.errors import NotFound

from ..models import SprintMember
from . import led_by

TREND_DAYS = 30
SUBMISSIONS_SHOWN = 50


def _is_admin(user) -> bool:
    return getattr(user, "role", None) == Role.ADMIN


def people_led_by(*, lead) -> QuerySet[User]:
    """The contractors a lead leads (members of their sprints); admins: every contractor."""
    people = User.objects.filter(role=Role.CONTRACTOR)
    if not _is_admin(lead):
        people = people.filter(pk__in=SprintMember.objects.filter(sprint__lead=lead).values("contractor_id"))
    return people.order_by("display_name", "email")


def person_get_for_lead(*, lead, contractor_id: int) -> User:
    person = people_led_by(lead=lead).filter(pk=contractor_id).first()
    if person is None:
        raise NotFound("No such person among the people you lead.")
    return person


def projects_led_for(*, lead, contractor) -> QuerySet[Project] | None:
    """The projects on which the lead leads this person (None: every project, for admins)."""
    if _is_admin(lead):
        return None
    return Project.objects.filter(sprints__lead=lead, sprints__memberships__contractor=contractor).distinct()


def _scoped(qs: QuerySet, projects, field: str = "project") -> QuerySet:
    return qs if projects is None else qs.filter(**{f"{field}__in": projects})


def _round(value, places="0.01") -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


@dataclass
class TrendPoint:
    day: date
    average: Decimal
    graded: int
    x: int = 0
    y: int = 0


def grade_trend(points: list[TrendPoint], *, width: int = 300, height: int = 100) -> dict:
    """Places a day-by-day average grade (1–5) on an SVG of `width` × `height` (y grows downwards)."""
    if not points:
        return {"points": [], "polyline": "", "width": width, "height": height}
    first, last = points[0].day, points[-1].day
    span = max((last - first).days, 1)
    for p in points:
        p.x = round(width * (p.day - first).days / span) if len(points) > 1 else width // 2
        p.y = round(height - (float(p.average) - 1) / 4 * height)
    return {"points": points, "polyline": " ".join(f"{p.x},{p.y}" for p in points), "width": width,
            "height": height, "first": first, "last": last}


def person_page(*, lead, contractor, now: datetime | None = None) -> dict:
    """Everything on the person's page, in a fixed number of queries whatever their amount of work."""
    now = now or timezone.now()
    projects = projects_led_for(lead=lead, contractor=contractor)
    submissions = _scoped(Submission.objects.filter(contractor=contractor), projects)
    current = Review.objects.exclude(kind=Review.Kind.CALIBRATION)
    recent = list(
        submissions.select_related("project", "task")
        .prefetch_related(Prefetch("reviews", queryset=current.select_related("appeal", "second_opinion"),
                                   to_attr="current_reviews"))
        .order_by("-submitted_at", "-id")[:SUBMISSIONS_SHOWN]
    )
    for s in recent:
        s.review = s.current_reviews[0] if s.current_reviews else None
    totals = submissions.aggregate(
        submitted=Count("id"), graded=Count("id", filter=Q(final_grade__isnull=False)),
        average=Avg("final_grade"), active_seconds=Sum("active_seconds"),
    )
    gold = _scoped(Review.objects.filter(submission__contractor=contractor, kind=Review.Kind.AUTOMATIC),
                   projects, "submission__project").aggregate(agreement=Avg("gold_agreement"), n=Count("id"))
    # Earnings on this work: what the ledger holds per submission (kept on the row), per currency.
    earned = list(submissions.filter(posted_entries__gt=0).values("pay_rate__currency")
                  .annotate(cents=Sum("posted_cents"), seconds=Sum("active_seconds")).order_by("pay_rate__currency"))
    earnings = []
    for row in earned:
        amount = Decimal(row["cents"] or 0) / 100
        hourly = _round(amount * 3600 / row["seconds"]) if row["seconds"] else None
        earnings.append({"currency": row["pay_rate__currency"] or "", "amount": _round(amount), "hourly": hourly})
    since = now - timedelta(days=TREND_DAYS)
    trend_rows = (submissions.filter(final_grade__isnull=False, submitted_at__gte=since)
                  .annotate(day=TruncDate("submitted_at")).values("day")
                  .annotate(average=Avg("final_grade"), graded=Count("id")).order_by("day"))
    trend = grade_trend([TrendPoint(r["day"], _round(r["average"]), r["graded"]) for r in trend_rows])
    flags = list(_scoped(ContractorFlag.objects.filter(contractor=contractor), projects)
                 .select_related("project", "decided_by", "pause", "pause__appeal").order_by("-created_at", "-id"))
    average = _round(totals["average"])
    return {
        "person": contractor, "projects": None if projects is None else list(projects.order_by("name")),
        "submissions": recent, "submitted": totals["submitted"], "graded": totals["graded"],
        "average_grade": average, "active_seconds": totals["active_seconds"] or 0,
        "gold_agreement_percent": _round(gold["agreement"] * 100, "0.1") if gold["agreement"] is not None else None,
        "gold_items": gold["n"], "earnings": earnings, "trend": trend, "trend_days": TREND_DAYS, "flags": flags,
    }


# --- Graded work, browsed again, and second opinions (issue 20) --------------------------------------

GRADED_PAGE = 50


def _led_reviews(lead) -> Q:
    return led_by(lead, contractor="submission__contractor_id", project="submission__project_id")


def graded_for_lead(*, lead, project_id=None, contractor_id=None, reviewer_id=None, grade=None,
                    submitted_from=None, submitted_to=None) -> QuerySet[Review]:
    """Current grades (not calibration) of the lead's people on their projects (admins: all), newest
    first, with the work, its appeal and its second opinion, and the final grade pay follows."""
    qs = Review.objects.exclude(kind=Review.Kind.CALIBRATION).filter(_led_reviews(lead))
    if project_id:
        qs = qs.filter(submission__project_id=project_id)
    if contractor_id:
        qs = qs.filter(submission__contractor_id=contractor_id)
    if reviewer_id:
        qs = qs.filter(reviewer_id=reviewer_id)
    if grade:
        qs = qs.filter(submission__final_grade=grade)
    if submitted_from:
        qs = qs.filter(submission__submitted_at__gte=submitted_from)
    if submitted_to:
        qs = qs.filter(submission__submitted_at__lt=submitted_to)
    return (qs.select_related("submission", "submission__project", "submission__task", "submission__contractor",
                              "reviewer", "appeal", "second_opinion")
            .order_by("-created_at", "-id"))


def second_opinion_candidates(*, lead, project_id=None) -> QuerySet[Review]:
    """What a lead may sample: their people's graded work on their projects (admins: all)."""
    qs = Review.objects.filter(_led_reviews(lead))
    if project_id:
        qs = qs.filter(submission__project_id=project_id)
    return qs


def second_opinions_for_lead(*, lead) -> QuerySet:
    return (SecondOpinion.objects.filter(led_by_reviews_of_opinions(lead))
        .select_related("review", "review__reviewer", "review__submission", "review__submission__project",
                        "review__submission__task", "review__submission__contractor", "reviewer", "decided_by"))


def led_by_reviews_of_opinions(lead) -> Q:
    return led_by(lead, contractor="review__submission__contractor_id", project="review__submission__project_id")


def second_opinions_to_decide(*, lead) -> QuerySet:
    """Second opinions that differ from the first grade, for a lead or admin who did not give it."""
    return (second_opinions_for_lead(lead=lead).filter(status="differs").exclude(review__reviewer=lead)
            .exclude(review__submission__contractor=lead).order_by("graded_at", "id"))


def reviewer_agreement(*, lead) -> list[dict]:
    """Per first reviewer: second opinions given on their grades, how many agreed, and the mean gap
    between the two grades (one query)."""
    rows = (second_opinions_for_lead(lead=lead).exclude(status="pending")
            .values("review__reviewer_id", "review__reviewer__display_name", "review__reviewer__email")
            .annotate(n=Count("id"), agreed=Count("id", filter=Q(status="agreed")),
                      revised=Count("id", filter=Q(status="revised")),
                      gap=Avg(Func(F("score") - F("review__score"), function="ABS")))
            .order_by("review__reviewer__display_name", "review__reviewer__email"))
    table = []
    for r in rows:
        table.append({
            "reviewer_id": r["review__reviewer_id"],
            "name": r["review__reviewer__display_name"] or r["review__reviewer__email"],
            "n": r["n"], "agreed": r["agreed"], "revised": r["revised"],
            "percent": _round(Decimal(100 * r["agreed"]) / r["n"], "0.1") if r["n"] else None,
            "gap": _round(r["gap"]),
        })
    return table
