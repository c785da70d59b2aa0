"""Appeals: a contractor contests a review; a different reviewer upholds or revises it.

At most one appeal per review (a unique constraint) and exactly one decision per appeal
(a conditional UPDATE from `open`), whatever the concurrency. Every step is recorded in
the audit trail, and the final grade (`Review.final_score`) is what pay follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from taskhub.errors import Conflict, DomainError, Forbidden, NotFound
from taskhub.hooks import pay_changed

from ..errors import ReviewError
from ..models import Appeal, Review, ReviewEvent
from ..rules import clean_written_reason, parse_grade, reviewer_role_of
from .notices import flags_recompute_enqueue, notify_contractor
from .onboarding import onboarding_pass_check


def appeal_create(*, review: Review, contractor, reason: Any, now: datetime | None = None) -> Appeal:
    """Appeal one's own current review within the appeal window, with a written reason."""
    submission = review.submission
    if submission.contractor_id != contractor.pk:
        raise NotFound("No such review of your work.")
    if review.kind == Review.Kind.CALIBRATION:
        raise DomainError(
            "Calibration grades do not count towards your grade or pay, so there is nothing to appeal.",
            code="not_appealable",
        )
    now = now or timezone.now()
    deadline = review.created_at + settings.TASKHUB_APPEAL_WINDOW
    if now > deadline:
        local = timezone.localtime(deadline, contractor.tzinfo)
        raise DomainError(
            f"The appeal window for this review closed on {local:%Y-%m-%d %H:%M %Z}.", code="appeal_window_closed"
        )
    reason = clean_written_reason(reason, "reason", settings.TASKHUB_APPEAL_REASON_MIN_CHARS, "An appeal")
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(review=review, contractor=contractor, reason=reason, created_at=now)
            ReviewEvent.objects.create(
                kind=ReviewEvent.Kind.APPEALED, actor=contractor, submission=submission, review=review,
                appeal=appeal, at=now, data={"reason": reason},
            )
    except IntegrityError:
        raise Conflict("This review has already been appealed; an appeal is decided once.",
                       code="already_appealed") from None
    return appeal


def appeal_decide(
    *,
    appeal: Appeal,
    decider,
    outcome: str,
    reason: Any,
    revised_score: Any = None,
    now: datetime | None = None,
) -> Appeal:
    """Uphold or revise the appealed grade. The decider is a reviewer who neither made the
    original grade nor did the work; two deciders at once produce one decision."""
    review = appeal.review
    if not getattr(decider, "can_review", False) or not decider.is_active:
        raise Forbidden("Only team leads, admins and appointed reviewers decide appeals.", code="not_a_reviewer")
    if decider.pk == appeal.contractor_id:
        raise Forbidden("Nobody decides their own appeal.", code="own_appeal")
    if review.reviewer_id is not None and decider.pk == review.reviewer_id:
        raise Forbidden("A different reviewer must decide an appeal of your own grade.", code="own_review")
    if outcome not in (Appeal.Status.UPHELD, Appeal.Status.REVISED):
        raise ReviewError.at("outcome", "choose upheld or revised")
    reason = clean_written_reason(reason, "decision_reason", settings.TASKHUB_DECISION_REASON_MIN_CHARS,
                                  "A decision")
    new_score = None
    if outcome == Appeal.Status.REVISED:
        new_score = parse_grade(revised_score, "revised_score")
        if new_score == review.score:
            raise ReviewError.at("revised_score", f"a revision must change the grade (it is {review.score} now)")
    now = now or timezone.now()
    with transaction.atomic():
        decided = Appeal.objects.filter(pk=appeal.pk, status=Appeal.Status.OPEN).update(
            status=outcome, decided_by=decider, decided_by_role=reviewer_role_of(decider),
            decision_reason=reason, revised_score=new_score, decided_at=now,
        )
        if not decided:
            appeal.refresh_from_db()
            raise Conflict(
                f"This appeal was already decided ({appeal.get_status_display().lower()}); "
                "your decision was not saved.",
                code="appeal_already_decided",
            )
        ReviewEvent.objects.create(
            kind=ReviewEvent.Kind.REVISED if outcome == Appeal.Status.REVISED else ReviewEvent.Kind.UPHELD,
            actor=decider, submission_id=review.submission_id, review=review, appeal=appeal, at=now,
            data={"reason": reason, "score": review.score, "revised_score": new_score},
        )
        outcome_text = f"revised to {new_score}/5" if new_score is not None else f"upheld at {review.score}/5"
        notify_contractor(
            user_id=appeal.contractor_id, kind="appeal_decided", title=f"Your appeal was decided: grade {outcome_text}",
            body=reason, key=f"appeal:{appeal.pk}:decided",
        )
        if new_score is not None:
            submission = review.submission
            flags_recompute_enqueue(contractor_id=submission.contractor_id, project_id=submission.project_id)
            pay_changed(contractor_id=submission.contractor_id)  # pay follows the revised grade
            onboarding_pass_check(contractor_id=submission.contractor_id, project=submission.project)
    appeal.refresh_from_db()
    return appeal
