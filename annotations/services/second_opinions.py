"""Second opinions (issue 20): leads and admins sample graded work for a blind re-review; a second
reviewer grades it without seeing the first grade; one that differs goes to a decision, by a lead or an
admin who did not give the first grade, with a reason the contractor reads, like an appeal.

The first grade stands until that decision: a second grade alone never touches the final grade, so it
never moves pay. A decision "revised" is read by the one definition of the final grade
(annotations/sql/final_grade.sql and `Review.final_score`), and pay follows it through `pay_changed`.
Each step is a conditional UPDATE on the status, so two people at once produce one outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notification_create
from taskhub.badges import badges_forget
from taskhub.errors import Conflict, Forbidden
from taskhub.hooks import pay_changed
from taskhub.parsing import whole_number

from ..errors import ReviewError
from ..models import Review, ReviewEvent, SecondOpinion
from ..rules import clean_grade_reason, clean_marks, clean_written_reason, parse_grade, reviewer_role_of
from .notices import flags_recompute_enqueue, notify_contractor
from .onboarding import onboarding_pass_check

SAMPLE_MAX = 100


class Outcome:
    STANDS = SecondOpinion.Status.STANDS
    REVISED = SecondOpinion.Status.REVISED
    CHOICES = [(STANDS, "The first grade stands"), (REVISED, "Revise the grade")]


def _require_lead(user, what: str) -> None:
    if getattr(user, "role", None) not in (Role.LEAD, Role.ADMIN) or not user.is_active:
        raise Forbidden(f"Only team leads and admins {what}.", code="not_a_lead")


def sampleable_reviews(*, by) -> QuerySet[Review]:
    """Graded work that may be sampled for a second opinion by `by`: current human grades (not gold's
    automatic grade), never one `by` gave or of `by`'s own work, not appealed (an appeal is a second
    look already), and without a second opinion yet. A lead's page narrows it to their people."""
    return (Review.objects.filter(kind=Review.Kind.REVIEWER, second_opinion__isnull=True, appeal__isnull=True)
            .exclude(reviewer=by).exclude(submission__contractor=by))


def second_opinions_sample(*, by, reviews: QuerySet[Review], size: Any, now: datetime | None = None) -> int:
    """Draw `size` of `reviews` at random for a second opinion; returns how many were drawn (fewer when
    fewer are left). `reviews` is what the caller may sample (see `sampleable_reviews`)."""
    _require_lead(by, "sample graded work for a second opinion")
    size = whole_number(size, field="size", minimum=1, maximum=SAMPLE_MAX, error=ReviewError)
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(reviews.filter(pk__in=sampleable_reviews(by=by).values("pk"))
                   .order_by("?").values_list("pk", flat=True)[:size])
        created = SecondOpinion.objects.bulk_create(
            [SecondOpinion(review_id=pk, requested_by=by, requested_at=now) for pk in ids], ignore_conflicts=True)
    return len(created)


def second_opinion_grade(*, opinion: SecondOpinion, reviewer, score: Any, marks: Any = None, reason: Any = "",
                         now: datetime | None = None) -> SecondOpinion:
    """The second reviewer's blind grade: agrees (same overall grade) or differs (then a decision)."""
    review = opinion.review
    submission = review.submission
    if not getattr(reviewer, "can_review", False) or not reviewer.is_active:
        raise Forbidden("Only team leads, admins and appointed reviewers grade work.", code="not_a_reviewer")
    if reviewer.pk == submission.contractor_id:
        raise Forbidden("Nobody reviews their own work.", code="own_work")
    if reviewer.pk == review.reviewer_id:
        raise Forbidden("A second opinion comes from someone other than the first reviewer.", code="own_review")
    score = parse_grade(score, "score")
    marks = clean_marks(marks, submission.project)
    reason = clean_grade_reason(reason, score)
    now = now or timezone.now()
    status = SecondOpinion.Status.AGREED if score == review.score else SecondOpinion.Status.DIFFERS
    with transaction.atomic():
        graded = SecondOpinion.objects.filter(pk=opinion.pk, status=SecondOpinion.Status.PENDING).update(
            status=status, reviewer=reviewer, score=score, marks=marks, reason=reason, graded_at=now)
        if not graded:
            raise Conflict("This second opinion was already given; yours was not saved.",
                           code="second_opinion_given")
        ReviewEvent.objects.create(
            kind=ReviewEvent.Kind.SECOND_OPINION, actor=reviewer, submission=submission, review=review, at=now,
            data={"score": score, "marks": marks, "reason": reason, "first_score": review.score},
        )
        if status == SecondOpinion.Status.DIFFERS:
            # The lead who sampled it hears at once (the other leads of the person see the badge).
            notification_create(
                user=User(pk=opinion.requested_by_id), kind="second_opinion_differs",
                title=f"A second opinion differs on {submission.project.name}: {review.score}/5 then {score}/5",
                body="It waits for a decision by a lead or admin who did not give the first grade.",
                url=reverse("lead:second_opinions"), key=f"second-opinion:{opinion.pk}:differs")
    badges_forget(user_ids=[opinion.requested_by_id, reviewer.pk])
    opinion.refresh_from_db()
    return opinion


def second_opinion_decide(*, opinion: SecondOpinion, decider, outcome: str, reason: Any,
                          revised_score: Any = None, now: datetime | None = None) -> SecondOpinion:
    """Decide a second opinion that differs: the first grade stands, or the grade is revised (to the
    second grade unless another is given). The contractor is told, with the reason."""
    review = opinion.review
    submission = review.submission
    _require_lead(decider, "decide second opinions")
    if decider.pk == submission.contractor_id:
        raise Forbidden("Nobody decides on their own work.", code="own_work")
    if review.reviewer_id is not None and decider.pk == review.reviewer_id:
        raise Forbidden("A lead or admin other than the first reviewer decides a second opinion.",
                        code="own_review")
    if outcome not in (Outcome.STANDS, Outcome.REVISED):
        raise ReviewError.at("outcome", "choose whether the first grade stands or is revised")
    reason = clean_written_reason(reason, "reason", settings.TASKHUB_DECISION_REASON_MIN_CHARS, "A decision")
    new_score = None
    if outcome == Outcome.REVISED:
        new_score = parse_grade(revised_score if revised_score not in (None, "") else opinion.score,
                                "revised_score")
        if new_score == review.score:
            raise ReviewError.at("revised_score", f"a revision must change the grade (it is {review.score} now)")
    now = now or timezone.now()
    with transaction.atomic():
        decided = SecondOpinion.objects.filter(pk=opinion.pk, status=SecondOpinion.Status.DIFFERS).update(
            status=outcome, decided_by=decider, decided_by_role=reviewer_role_of(decider), decision_reason=reason,
            revised_score=new_score, decided_at=now)
        if not decided:
            opinion.refresh_from_db()
            raise Conflict(f"This second opinion is {opinion.get_status_display().lower()}; your decision was not "
                           "saved.", code="second_opinion_decided")
        ReviewEvent.objects.create(
            kind=ReviewEvent.Kind.SECOND_OPINION_DECIDED, actor=decider, submission=submission, review=review, at=now,
            data={"reason": reason, "score": review.score, "second_score": opinion.score, "revised_score": new_score},
        )
        outcome_text = f"revised to {new_score}/5" if new_score is not None else f"stands at {review.score}/5"
        notify_contractor(
            user_id=submission.contractor_id, kind="second_opinion_decided",
            title=f"A second look at your work on {submission.project.name}: grade {outcome_text}",
            body=reason, key=f"second-opinion:{opinion.pk}:decided",
        )
        if new_score is not None:
            flags_recompute_enqueue(contractor_id=submission.contractor_id, project_id=submission.project_id)
            pay_changed(contractor_id=submission.contractor_id)  # pay follows the decided grade
            onboarding_pass_check(contractor_id=submission.contractor_id, project=submission.project)
    badges_forget(user_ids=[decider.pk])
    opinion.refresh_from_db()
    return opinion
