"""Grading submissions: reviews by people, calibration on gold items, and the audit trail.

Two reviewers grading the same submission at once produce one review: the partial unique
constraint `review_one_current_per_submission` lets exactly one insert through and the
other gets a clear 409. Every grade is explained (a reason is required for 1 and 2) and
recorded in the append-only `ReviewEvent` trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from projects.services import webhooks_emit
from taskhub.errors import Conflict, Forbidden
from taskhub.hooks import pay_changed

from ..models import Review, ReviewEvent, Submission
from ..pseudonyms import pseudonym
from ..rules import clean_grade_reason, clean_marks, parse_grade, reviewer_role_of
from .notices import flags_recompute_enqueue, notify_contractor
from .onboarding import onboarding_pass_check


def review_create(
    *,
    submission: Submission,
    reviewer,
    score: Any,
    marks: Any = None,
    reason: Any = "",
    now: datetime | None = None,
) -> Review:
    """Grade a submission 1–5 with rubric marks and a reason.

    A gold submission is already graded automatically; a reviewer's grade of it is a blind
    calibration grade that never affects pay. Anything else gets at most one current review.
    """
    if not getattr(reviewer, "can_review", False) or not reviewer.is_active:
        raise Forbidden("Only team leads, admins and appointed reviewers grade work.", code="not_a_reviewer")
    if submission.contractor_id == reviewer.pk:
        raise Forbidden("Nobody reviews their own work.", code="own_work")
    score = parse_grade(score, "score")
    marks = clean_marks(marks, submission.project)
    reason = clean_grade_reason(reason, score)
    now = now or timezone.now()
    kind = Review.Kind.CALIBRATION if submission.is_gold else Review.Kind.REVIEWER
    try:
        with transaction.atomic():
            review = Review.objects.create(
                submission=submission, reviewer=reviewer, kind=kind, reviewer_role=reviewer_role_of(reviewer),
                score=score, marks=marks, reason=reason, created_at=now,
            )
            ReviewEvent.objects.create(
                kind=ReviewEvent.Kind.CALIBRATED if kind == Review.Kind.CALIBRATION else ReviewEvent.Kind.CREATED,
                actor=reviewer, submission=submission, review=review, at=now,
                data={"score": score, "marks": marks, "reason": reason},
            )
            if kind == Review.Kind.REVIEWER:
                flags_recompute_enqueue(contractor_id=submission.contractor_id, project_id=submission.project_id)
                notify_contractor(
                    user_id=submission.contractor_id, kind="grade_low" if score <= 2 else "review_received",
                    title=f"Your work on {submission.project.name} was graded {score}/5",
                    body=reason or "See My work for the rubric marks.", key=f"review:{review.pk}",
                )
                pay_changed(contractor_id=submission.contractor_id)  # pay follows the grade
                onboarding_pass_check(contractor_id=submission.contractor_id, project=submission.project)
                webhooks_emit(project_id=submission.project_id, event="submission.reviewed",
                              data=submission_reviewed_data(submission, review))
    except IntegrityError:
        raise _already_reviewed(submission, reviewer, kind) from None
    return review


def _already_reviewed(submission: Submission, reviewer, kind: str) -> Conflict:
    if kind == Review.Kind.CALIBRATION:
        return Conflict("You already graded this calibration item.", code="already_calibrated")
    existing = Review.objects.filter(submission=submission).exclude(kind=Review.Kind.CALIBRATION).first()
    when = timezone.localtime(existing.created_at, reviewer.tzinfo) if existing else None
    by = "you" if existing and existing.reviewer_id == reviewer.pk else "another reviewer"
    at = f" at {when:%H:%M:%S}" if when else ""
    return Conflict(
        f"This submission was already graded by {by}{at}; your grade was not saved. Go on to the next item.",
        code="already_reviewed",
    )


def submission_reviewed_data(submission: Submission, review: Review) -> dict:
    """What a `submission.reviewed` webhook says: the grade, never the reviewer or the contractor's name."""
    return {"submission": {"id": submission.pk, "task": submission.task_id, "contractor":
                           pseudonym(submission.project_id, submission.contractor_id)},
            "review": {"id": review.pk, "kind": review.kind, "score": review.score, "created_at": review.created_at}}
