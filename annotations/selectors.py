from django.db.models import QuerySet

from taskhub.errors import NotFound

from .models import Claim, Submission


def claims_active_for(*, user) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(contractor=user, status=Claim.Status.ACTIVE)
        .select_related("project", "task")
        .order_by("deadline")
    )


def claim_get_for_user(*, claim_id: int, user) -> Claim:
    """The contractor's own claim, or NotFound (never another person's)."""
    claim = (
        Claim.objects.filter(pk=claim_id, contractor=user)
        .select_related("task", "project", "project__qualification", "batch", "contractor")
        .first()
    )
    if claim is None:
        raise NotFound("No such task claim of yours.")
    return claim


def submissions_for(*, user) -> QuerySet[Submission]:
    return Submission.objects.filter(contractor=user).select_related("project", "task").order_by("-submitted_at")


# --- Reviews, appeals and flags (work-and-review issue) ----------------------------------------


def contractor_pause_in_force(*, contractor_id: int, project_id: int):
    from .models import ContractorPause

    return ContractorPause.objects.filter(contractor_id=contractor_id, project_id=project_id,
                                          lifted_at__isnull=True).first()


def current_reviews_with_final_grade() -> QuerySet:
    """Current (non-calibration) reviews annotated with `final_grade`: the revised score when
    an appeal revised the grade, else the score. This is what pay and averages follow. It is read
    from the submission, where the database keeps it by the one rule (the view
    annotations_final_grade, migration 0003)."""
    from django.db.models import F

    from .models import Review

    return Review.objects.exclude(kind=Review.Kind.CALIBRATION).annotate(final_grade=F("submission__final_grade"))


def submission_final_grade(*, submission: Submission) -> int | None:
    """The grade pay follows for one submission (None while it has no current review), read
    afresh: an instance loaded before a review or an appeal decision holds the old value."""
    return Submission.objects.filter(pk=submission.pk).values_list("final_grade", flat=True).first()


def _current_review_exists():
    from django.db.models import Exists, OuterRef

    from .models import Review

    return Exists(Review.objects.filter(submission_id=OuterRef("pk")).exclude(kind=Review.Kind.CALIBRATION))


def review_queue(
    *,
    reviewer,
    project_ids=None,
    contractor_id: int | None = None,
    submitted_from=None,
    submitted_to=None,
) -> QuerySet[Submission]:
    """Submissions waiting for a human grade, oldest first, never the reviewer's own.

    `project_ids` plus a time window is how a sprint (several projects, a window) filters it.
    """
    qs = (
        Submission.objects.filter(needs_review=True)
        .exclude(contractor=reviewer)
        .filter(~_current_review_exists())
        .select_related("project", "task", "contractor")
        .order_by("submitted_at", "id")
    )
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    if contractor_id is not None:
        qs = qs.filter(contractor_id=contractor_id)
    if submitted_from is not None:
        qs = qs.filter(submitted_at__gte=submitted_from)
    if submitted_to is not None:
        qs = qs.filter(submitted_at__lt=submitted_to)
    return qs


def calibration_items(*, reviewer, project_ids=None) -> QuerySet[Submission]:
    """Gold submissions, already graded automatically, this reviewer has not calibrated on."""
    from django.db.models import Exists, OuterRef

    from .models import Review

    mine = Review.objects.filter(submission_id=OuterRef("pk"), reviewer=reviewer, kind=Review.Kind.CALIBRATION)
    graded = Review.objects.filter(submission_id=OuterRef("pk"), kind=Review.Kind.AUTOMATIC)
    qs = (
        Submission.objects.filter(is_gold=True)
        .exclude(contractor=reviewer)
        .filter(Exists(graded), ~Exists(mine))
        .select_related("project", "task", "contractor")
        .order_by("submitted_at", "id")
    )
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    return qs


def review_next_for(
    *,
    reviewer,
    project_ids=None,
    contractor_id=None,
    submitted_from=None,
    submitted_to=None,
    every: int | None = None,
    skip_ids=(),
):
    """The next item to grade: the oldest waiting submission, except that every `every`th
    item (counting the reviewer's own grades) is a gold item for blind calibration.
    `skip_ids` are items this reviewer chose to skip for now."""
    from django.conf import settings

    from .models import Review

    every = every or settings.TASKHUB_REVIEW_GOLD_EVERY
    done = Review.objects.filter(reviewer=reviewer).exclude(kind=Review.Kind.AUTOMATIC).count()
    queue = review_queue(reviewer=reviewer, project_ids=project_ids, contractor_id=contractor_id,
                         submitted_from=submitted_from, submitted_to=submitted_to)
    gold = calibration_items(reviewer=reviewer, project_ids=project_ids)
    if skip_ids:
        queue = queue.exclude(pk__in=skip_ids)
        gold = gold.exclude(pk__in=skip_ids)
    if every and (done + 1) % every == 0:
        item = gold.first()
        if item is not None:
            return item
    item = queue.first()
    if item is None:
        # Nothing real is waiting: calibration items still help.
        item = gold.first()
    return item


def submission_get_for_review(*, submission_id: int, reviewer) -> Submission:
    """A submission a reviewer may grade: anyone's but their own."""
    submission = (
        Submission.objects.filter(pk=submission_id)
        .exclude(contractor=reviewer)
        .select_related("project", "task", "contractor", "claim")
        .first()
    )
    if submission is None:
        raise NotFound("No such submission to review (nobody reviews their own work).")
    return submission


def reviews_for_contractor(*, user) -> QuerySet:
    """Every review of this contractor's work, with its appeal (reviewer names are not loaded)."""
    from .models import Review

    return (
        Review.objects.filter(submission__contractor=user)
        .select_related("submission", "submission__project", "submission__task", "appeal")
        .order_by("-created_at", "-id")
    )


def submissions_with_reviews_for(*, user, limit: int = 200) -> list[Submission]:
    """My work: submissions, newest first, each with `review_list` (current first) in 2 queries."""
    from django.db.models import Prefetch

    from .models import Review

    reviews = Review.objects.select_related("appeal").order_by("kind", "created_at")
    return list(
        Submission.objects.filter(contractor=user)
        .select_related("project", "task")
        .prefetch_related(Prefetch("reviews", queryset=reviews, to_attr="review_list"))
        .order_by("-submitted_at", "-id")[:limit]
    )


def flags_for_contractor(*, user) -> QuerySet:
    from .models import ContractorFlag

    return ContractorFlag.objects.filter(contractor=user).select_related("project").order_by("-created_at")


def appeals_open_for(*, decider) -> QuerySet:
    """Open appeals this person may decide: not their own, not of a grade they gave; oldest first."""
    from django.db.models import Q

    from .models import Appeal

    return (
        Appeal.objects.filter(status=Appeal.Status.OPEN)
        .exclude(contractor=decider)
        .exclude(Q(review__reviewer=decider))
        .select_related("review", "review__submission", "review__submission__project",
                        "review__submission__task", "contractor")
        .order_by("created_at", "id")
    )


def appeal_get_for_decider(*, appeal_id: int, decider):
    appeal = appeals_open_for(decider=decider).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound("No such open appeal that you may decide.")
    return appeal


def _people_led_by(queryset: QuerySet, lead) -> QuerySet:
    """Admins see everyone; a lead sees the contractors who are members of their sprints."""
    from accounts.models import Role
    from projects.models import SprintMember

    if lead is None or lead.role == Role.ADMIN:
        return queryset
    return queryset.filter(contractor_id__in=SprintMember.objects.filter(sprint__lead=lead).values("contractor_id"))


def flags_open(*, lead=None) -> QuerySet:
    from .models import ContractorFlag

    return _people_led_by(
        ContractorFlag.objects.filter(status=ContractorFlag.Status.OPEN)
        .select_related("contractor", "project")
        .order_by("created_at", "id"),
        lead,
    )


def pauses_in_force(*, lead=None) -> QuerySet:
    from .models import ContractorPause

    return _people_led_by(
        ContractorPause.objects.filter(lifted_at__isnull=True)
        .select_related("contractor", "project", "created_by")
        .order_by("-created_at"),
        lead,
    )


def agreement_figures(*, project_ids=None) -> QuerySet:
    from .models import AgreementFigure

    qs = AgreementFigure.objects.select_related("project", "subject").order_by("project__name", "kind", "subject_id")
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    return qs
