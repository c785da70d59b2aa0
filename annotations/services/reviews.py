"""Grading submissions: reviews by people, calibration on gold items, and the audit trail.

Two reviewers grading the same submission at once produce one review: the partial unique
constraint `review_one_current_per_submission` lets exactly one insert through and the
other gets a clear 409. Every grade is explained (a reason is required for 1 and 2) and
recorded in the append-only `ReviewEvent` trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from projects.task_types.base import rubric_keys
from taskhub.errors import Conflict, DomainError, Forbidden

from ..models import Review, ReviewerRole, ReviewEvent, Submission


def reviewer_role_of(user) -> str:
    if user.role == Role.ADMIN:
        return ReviewerRole.ADMIN
    if user.role == Role.LEAD:
        return ReviewerRole.LEAD
    return ReviewerRole.PEER


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(message, code="invalid_review", field=field, errors=[{"loc": field, "msg": message}])


def _grade(value: Any, field: str) -> int:
    """A 1–5 grade from a form or JSON value, or a clear error naming the field."""
    if isinstance(value, bool):
        raise _invalid(field, "must be a whole number from 1 to 5")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise _invalid(field, "is required: give a whole number from 1 to 5")
        if not value.isdigit():
            raise _invalid(field, f"must be a whole number from 1 to 5, not {value[:20]!r}")
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 5:
        raise _invalid(field, f"must be a whole number from 1 to 5, not {value!r}")
    return value


def clean_marks(marks: Any, project) -> dict[str, int]:
    """Marks for exactly the project's rubric criteria, each 1–5."""
    if marks is None:
        marks = {}
    if not isinstance(marks, dict):
        raise _invalid("marks", "must be an object of rubric criterion to 1–5 mark")
    keys = rubric_keys(project)
    unknown = [k for k in marks if k not in keys]
    if unknown:
        raise _invalid(f"marks.{unknown[0]}", f"{project.name} has no rubric criterion named {unknown[0]!r}")
    cleaned = {}
    for key in keys:
        if key not in marks or marks[key] in ("", None):
            raise _invalid(f"marks.{key}", "is required: mark every rubric criterion from 1 to 5")
        cleaned[key] = _grade(marks[key], f"marks.{key}")
    return cleaned


def clean_reason(reason: Any, score: int) -> str:
    reason = (reason or "").strip() if isinstance(reason, str | type(None)) else None
    if reason is None:
        raise _invalid("reason", "must be text")
    minimum = settings.TASKHUB_LOW_GRADE_REASON_MIN_CHARS
    if score <= 2 and len(reason) < minimum:
        raise _invalid(
            "reason",
            f"a grade of {score} needs a written reason of at least {minimum} characters "
            f"(this one has {len(reason)}) so the contractor knows what to improve",
        )
    if len(reason) > 5_000:
        raise _invalid("reason", "is too long (5,000 characters at most)")
    return reason


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
    score = _grade(score, "score")
    marks = clean_marks(marks, submission.project)
    reason = clean_reason(reason, score)
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
                _enqueue_flag_recompute(submission.contractor_id, submission.project_id)
                notify_contractor(
                    user_id=submission.contractor_id, kind="review_received",
                    title=f"Your work on {submission.project.name} was graded {score}/5",
                    body=reason or "See My work for the rubric marks.", key=f"review:{review.pk}",
                )
                from payouts.services import earnings_recompute_enqueue  # pay follows the grade

                earnings_recompute_enqueue(contractor_id=submission.contractor_id)
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


def notify_contractor(*, user_id: int, kind: str, title: str, body: str = "", key: str) -> None:
    """An in-app notification to the contractor, once per event (the key makes repeats harmless)."""
    from django.urls import reverse

    from accounts.models import User
    from accounts.services import notification_create

    notification_create(user=User(pk=user_id), kind=kind, title=title, body=body[:2_000],
                        url=reverse("work:my_work"), key=key)


def _enqueue_flag_recompute(contractor_id: int, project_id: int) -> None:
    from ..tasks import contractor_flags_recompute

    transaction.on_commit(lambda: contractor_flags_recompute.delay(contractor_id, project_id))


def submission_needs_review(*, project, claim_id: int, is_gold: bool) -> bool:
    """Whether a person grades this submission: gold never (it is graded automatically);
    otherwise all of them, or a deterministic share of the project's sample rate."""
    if is_gold:
        return False
    rate = project.review_sample_rate
    if rate >= 100:
        return True
    if rate <= 0:
        return False
    # Knuth's multiplicative hash spreads consecutive claim ids evenly over 0..99.
    return (claim_id * 2654435761 % 2**32) % 100 < rate
