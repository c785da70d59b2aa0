"""The rules of grading, written once and used by reviews, gold grading, appeals and flags:
what a grade, a rubric mark and a written reason must be, who a grader is to the contractor,
and which submissions a person grades."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.models import Role
from projects.task_types.base import rubric_keys
from taskhub.parsing import text, whole_number

from .errors import ReviewError
from .models import ReviewerRole

TEXT_MAX = 5_000


def reviewer_role_of(user) -> str:
    """Who graded, as the contractor sees it: a role, never a name."""
    if user.role == Role.ADMIN:
        return ReviewerRole.ADMIN
    if user.role == Role.LEAD:
        return ReviewerRole.LEAD
    return ReviewerRole.PEER


def parse_grade(value: Any, field: str) -> int:
    """A 1–5 grade from a form or JSON value (a JSON whole number or a form's digits; never
    true/false, a float or other digits than 0-9), or a clear error naming the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ReviewError.at(field, "is required: give a whole number from 1 to 5")
    return whole_number(value, field=field, minimum=1, maximum=5, error=ReviewError,
                        message=f"must be a whole number from 1 to 5, not {str(value)[:20]!r}")


def clean_marks(marks: Any, project) -> dict[str, int]:
    """Marks for exactly the project's rubric criteria, each 1–5."""
    if marks is None:
        marks = {}
    if not isinstance(marks, dict):
        raise ReviewError.at("marks", "must be an object of rubric criterion to 1–5 mark")
    keys = rubric_keys(project)
    unknown = [k for k in marks if k not in keys]
    if unknown:
        raise ReviewError.at(f"marks.{unknown[0]}", f"{project.name} has no rubric criterion named {unknown[0]!r}")
    cleaned = {}
    for key in keys:
        if key not in marks or marks[key] in ("", None):
            raise ReviewError.at(f"marks.{key}", "is required: mark every rubric criterion from 1 to 5")
        cleaned[key] = parse_grade(marks[key], f"marks.{key}")
    return cleaned


def clean_grade_reason(reason: Any, score: int) -> str:
    """The reviewer's reason: required, at some length, for grades 1 and 2 (promise 2)."""
    reason = text(reason, field="reason", max_length=TEXT_MAX, error=ReviewError)
    minimum = settings.TASKHUB_LOW_GRADE_REASON_MIN_CHARS
    if score <= 2 and len(reason) < minimum:
        raise ReviewError.at(
            "reason",
            f"a grade of {score} needs a written reason of at least {minimum} characters "
            f"(this one has {len(reason)}) so the contractor knows what to improve",
        )
    return reason


def clean_written_reason(value: Any, field: str, minimum: int, what: str) -> str:
    """A reason a person must write (an appeal, a decision): trimmed text of at least `minimum`
    characters; `what` names the step in the refusal ("An appeal needs a reason of at least ...")."""
    written = text(value if isinstance(value, str) else "", field=field, max_length=TEXT_MAX, error=ReviewError)
    if len(written) < minimum:
        raise ReviewError.at(field, f"{what} needs a reason of at least {minimum} characters "
                                    f"(this one has {len(written)})")
    return written


def needs_review(*, project, claim_id: int, is_gold: bool) -> bool:
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
