"""Onboarding that leads somewhere (promise 4): passing an onboarding project's rule grants its
qualification at once, and the person is told what it unlocks.

The rule is the project's (`Project.pass_rule`): the latest N graded submissions averaging at least
a final grade, or the latest N gold tasks agreeing with the known answers at least X % on average.
It is checked inside the transaction of every grade that could meet it (a review, an automatic gold
grade, an appeal that revises a grade), so the grant commits with the grade that earned it. A
qualification an admin revoked is not granted again by the rule: undoing a person's decision is a
person's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from accounts.models import User
from projects.models import PassRule, Project, Qualification
from projects.services import qualification_grant

from ..models import Review, Submission


@dataclass(frozen=True)
class PassProgress:
    """Where a contractor stands against an onboarding project's pass rule."""

    counted: int  # graded submissions (or gold tasks) counted, at most the rule's N
    needed: int
    score: Decimal | None  # the average final grade, or the average agreement in %
    passed: bool

    @property
    def text(self) -> str:
        if not self.counted:
            return "Nothing counted yet."
        return f"{self.counted} of {self.needed} counted so far, averaging {self.score}."


def onboarding_progress(*, contractor_id: int, project: Project) -> PassProgress:
    """The contractor's latest work on `project` against its pass rule (one query)."""
    n = project.pass_min_submissions
    if project.pass_rule == PassRule.GOLD_AGREEMENT:
        agreements = list(
            Review.objects.filter(submission__contractor_id=contractor_id, submission__project=project,
                                  kind=Review.Kind.AUTOMATIC, gold_agreement__isnull=False)
            .order_by("-submission__submitted_at", "-id").values_list("gold_agreement", flat=True)[:n]
        )
        score = (Decimal(str(sum(agreements) / len(agreements) * 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
                 if agreements else None)
        return PassProgress(len(agreements), n, score,
                            len(agreements) >= n and score is not None and score >= project.pass_min_agreement)
    grades = list(
        Submission.objects.filter(contractor_id=contractor_id, project=project, final_grade__isnull=False)
        .order_by("-submitted_at", "-id").values_list("final_grade", flat=True)[:n]
    )
    score = (Decimal(sum(grades)) / len(grades)).quantize(Decimal("0.01"), ROUND_HALF_UP) if grades else None
    return PassProgress(len(grades), n, score,
                        len(grades) >= n and score is not None and score >= project.pass_min_average)


def onboarding_pass_check(*, contractor_id: int, project: Project) -> Qualification | None:
    """Grant the qualification of onboarding `project` if the contractor meets its pass rule now.
    Call it inside the grading transaction; harmless to repeat (a held qualification is returned)."""
    if not project.is_onboarding:
        return None
    if Qualification.objects.filter(contractor_id=contractor_id, project=project, revoked_at__isnull=False).exists():
        return None  # revoked by an admin: only a person grants it again
    progress = onboarding_progress(contractor_id=contractor_id, project=project)
    if not progress.passed:
        return None
    return qualification_grant(contractor=User.objects.get(pk=contractor_id), project=project, granted_by=None,
                               note=f"Passed: {progress.text}"[:500])
