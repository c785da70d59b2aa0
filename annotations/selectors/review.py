"""Reads for grading: the review queue and calibration items, reviews and final grades, appeals,
flags, pauses (with their appeals) and agreement figures."""

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from taskhub.errors import NotFound

from ..models import (
    AgreementFigure,
    Appeal,
    ContractorFlag,
    ContractorPause,
    PauseAppeal,
    Review,
    SecondOpinion,
    Submission,
)


def contractor_pause_in_force(*, contractor_id: int, project_id: int):
    return ContractorPause.objects.filter(contractor_id=contractor_id, project_id=project_id,
                                          lifted_at__isnull=True).first()


def current_reviews_with_final_grade() -> QuerySet:
    """Current (non-calibration) reviews annotated with `final_grade`: the revised score when
    an appeal revised the grade, else the score. This is what pay and averages follow. It is read
    from the submission, where the database keeps it by the one rule (the view
    annotations_final_grade, migration 0003)."""
    return Review.objects.exclude(kind=Review.Kind.CALIBRATION).annotate(final_grade=F("submission__final_grade"))


def submission_final_grade(*, submission: Submission) -> int | None:
    """The grade pay follows for one submission (None while it has no current review), read
    afresh: an instance loaded before a review or an appeal decision holds the old value."""
    return Submission.objects.filter(pk=submission.pk).values_list("final_grade", flat=True).first()


def _current_review_exists():
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
        .select_related("project", "task", "contractor", "claim", "instructions_version")
        .first()
    )
    if submission is None:
        raise NotFound("No such submission to review (nobody reviews their own work).")
    return submission


def reviews_for_contractor(*, user) -> QuerySet:
    """Every review of this contractor's work, with its appeal (reviewer names are not loaded)."""
    return (
        Review.objects.filter(submission__contractor=user)
        .select_related("submission", "submission__project", "submission__task", "appeal", "second_opinion")
        .order_by("-created_at", "-id")
    )


def flags_for_contractor(*, user) -> QuerySet:
    """The person's flags, newest first, each with its pause (and the pause's appeal) when it paused them."""
    return (ContractorFlag.objects.filter(contractor=user)
            .select_related("project", "pause", "pause__appeal").order_by("-created_at"))


def pause_appeals_open() -> QuerySet[PauseAppeal]:
    """Appeals of pauses awaiting a decision, oldest first (a lead's page narrows them to their
    people and leaves out the pauses they decided)."""
    return (PauseAppeal.objects.filter(status=PauseAppeal.Status.OPEN)
            .select_related("contractor", "pause", "pause__project", "pause__created_by", "pause__flag")
            .order_by("created_at", "id"))


def appeals_open_for(*, decider) -> QuerySet:
    """Open appeals this person may decide: not their own, not of a grade they gave; oldest first."""
    return (
        Appeal.objects.filter(status=Appeal.Status.OPEN)
        .exclude(contractor=decider)
        .exclude(Q(review__reviewer=decider))
        .select_related("review", "review__submission", "review__submission__project",
                        "review__submission__task", "review__submission__instructions_version", "contractor")
        .order_by("created_at", "id")
    )


def appeal_get_for_decider(*, appeal_id: int, decider):
    appeal = appeals_open_for(decider=decider).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound("No such open appeal that you may decide.")
    return appeal


def flags_open() -> QuerySet[ContractorFlag]:
    """Flags awaiting a lead's decision, oldest first (a lead's page narrows them to their people)."""
    return (
        ContractorFlag.objects.filter(status=ContractorFlag.Status.OPEN)
        .select_related("contractor", "project")
        .order_by("created_at", "id")
    )


def pauses_in_force() -> QuerySet[ContractorPause]:
    return (
        ContractorPause.objects.filter(lifted_at__isnull=True)
        .select_related("contractor", "project", "created_by")
        .order_by("-created_at")
    )


def agreement_figures(*, project_ids=None) -> QuerySet:
    qs = AgreementFigure.objects.select_related("project", "subject").order_by("project__name", "kind", "subject_id")
    if project_ids is not None:
        qs = qs.filter(project_id__in=project_ids)
    return qs


def second_opinions_pending_for(*, reviewer) -> QuerySet[SecondOpinion]:
    """Sampled graded work waiting for a blind second grade that this reviewer may give: never of
    their own work, never of a grade they gave; oldest first."""
    return (
        SecondOpinion.objects.filter(status=SecondOpinion.Status.PENDING)
        .exclude(review__reviewer=reviewer).exclude(review__submission__contractor=reviewer)
        .select_related("review", "review__submission", "review__submission__project", "review__submission__task",
                        "review__submission__contractor", "review__submission__claim")
        .order_by("requested_at", "id")
    )


def second_opinion_get_for_grading(*, opinion_id: int, reviewer) -> SecondOpinion:
    opinion = second_opinions_pending_for(reviewer=reviewer).filter(pk=opinion_id).first()
    if opinion is None:
        raise NotFound("No such second opinion waiting for you (it may have been given already).")
    return opinion
