"""What every decision that touches a person or their pay asks of its input: a written reason
the person will read, and an effective time that is not in the past. Services of every app use
these, so a refusal reads the same wherever it comes from; both go through the one parser of typed
input (taskhub.parsing), so nothing the database cannot store reaches it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from .errors import DomainError
from .parsing import moment, storable_text_problem

REASON_MAX = 5_000
# A time typed as "now" may be a few seconds old by the time it is saved.
CLOCK_SLACK_SECONDS = 60


def clean_reason(value: Any, *, field: str, what: str, minimum: int, maximum: int = REASON_MAX,
                 error: type[DomainError] = DomainError) -> str:
    """The trimmed reason, or `error` naming `field`: "<what> needs a reason of at least N
    characters (this one has M)"."""
    text = value if isinstance(value, str) else ""
    problem = storable_text_problem(text)
    if problem:
        raise error.at(field, problem)
    text = text.strip()
    if len(text) < minimum:
        raise error.at(field, f"{what} needs a reason of at least {minimum} characters (this one has {len(text)})")
    if len(text) > maximum:
        raise error.at(field, f"is too long ({maximum:,} characters at most)")
    return text


def clean_effective_time(value: datetime | None, *, field: str, now: datetime,
                         error: type[DomainError] = DomainError) -> datetime:
    """When a decision takes effect: `now` when blank; never naive, never in the past."""
    if value is None:
        return now
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise error.at(field, "give the time with its time zone")
    value = moment(value, field=field, error=error)
    if (now - value).total_seconds() > CLOCK_SLACK_SECONDS:
        raise error.at(field, "a decision cannot take effect in the past")
    return max(value, now)
