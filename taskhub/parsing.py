"""The one parser of what people type: whole numbers, text, times and JSON.

Every value a request carries that is not read by a Django form field (query strings, hand-read
POST fields, JSON bodies) goes through one of these before it reaches a service or the database,
and services run the text people wrote through `text` as well. Each refuses, with an error item
`{field, message}` (`InvalidInput`, a 400), what PostgreSQL cannot store or what would break a
page later:

- `whole_number` / `object_id`: ASCII digits only (`"²".isdigit()` is true, `int("²")` fails;
  `int("٣")` is 3), never a boolean or a float, within bounds (by default a PostgreSQL bigint);
- `text`: no NUL character (PostgreSQL text cannot hold one), no unpaired surrogate (not
  encodable as UTF-8), at most `max_length` characters;
- `moment`: an aware time between 2000 and 2100, so it can be shown in every time zone (a year
  9999 time is year 10000 east of UTC, which Python cannot represent);
- `json_value` / `json_check`: strict JSON (no NaN, no infinity, no number too large for a float
  such as 1e999), nested at most `JSON_MAX_DEPTH` deep, without NUL or unpaired surrogates in
  any string or key.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .errors import DomainError, InvalidInput

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
# Whole numbers are written with ASCII digits, an optional sign and nothing else.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,19}", re.ASCII)

# Every time a person sets (a release, a reservation window, a sprint, a rate) lies in this range.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

JSON_MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:20] + ("…" if len(text) > 20 else ""))


# --- whole numbers ----------------------------------------------------------------------------


def whole_number(
    value: Any,
    *,
    field: str,
    minimum: int = BIGINT_MIN,
    maximum: int = BIGINT_MAX,
    required: bool = True,
    message: str | None = None,
    error: type[DomainError] = InvalidInput,
) -> int | None:
    """An int from a form or JSON value; None for a blank value that is not `required`.

    `message` replaces the default wording of every refusal ("must be a whole number from 1 to 5");
    `error` is the DomainError class raised (a service's own, say; InvalidInput by default).
    """
    if minimum > BIGINT_MIN or maximum < BIGINT_MAX:
        expected = f"a whole number from {minimum:,} to {maximum:,}"
    else:
        expected = "a whole number"

    def refuse(detail: str):
        raise error.at(field, message or detail)

    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            refuse(f"is required: give {expected}")
        return None
    if isinstance(value, bool):
        refuse(f"must be {expected}, not true/false")
    if isinstance(value, float):
        refuse(f"must be {expected}, not {value!r}")
    if isinstance(value, str):
        raw = value.strip()
        if not _WHOLE_NUMBER.fullmatch(raw):
            refuse(f"must be {expected} written with the digits 0-9, not {_show(raw)}")
        value = int(raw)
    if not isinstance(value, int):
        refuse(f"must be {expected}")
    if not minimum <= value <= maximum:
        refuse(f"must be {expected}, not {value:,}")
    return value


def object_id(value: Any, *, field: str, required: bool = True) -> int | None:
    """The id of a row (a positive bigint), e.g. a project chosen in a filter."""
    return whole_number(value, field=field, minimum=1, maximum=BIGINT_MAX, required=required)


def whole_number_or_none(value: Any, **bounds) -> int | None:
    """For filters in links: a malformed value is ignored rather than refused."""
    try:
        return whole_number(value, field="value", required=False, **bounds)
    except InvalidInput:
        return None


# --- text -------------------------------------------------------------------------------------


def storable_text_problem(value: str) -> str | None:
    """Why PostgreSQL cannot store `value` as text, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored; remove it"
    if _SURROGATE.search(value):
        return "contains an unpaired surrogate (\\ud800-\\udfff), which is not text; remove it"
    return None


def text(
    value: Any,
    *,
    field: str,
    max_length: int,
    min_length: int = 0,
    required: bool = False,
    strip: bool = True,
    error: type[DomainError] = InvalidInput,
) -> str:
    """Text a person wrote: trimmed (unless `strip` is False), storable and within its length."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise error.at(field, "must be text")
    problem = storable_text_problem(value)
    if problem:
        raise error.at(field, problem)
    if strip:
        value = value.strip()
    if required and not value:
        raise error.at(field, "is required")
    if len(value) < min_length:
        raise error.at(field, f"needs at least {min_length:,} characters (this has {len(value):,})")
    if len(value) > max_length:
        raise error.at(field, f"is too long: {len(value):,} characters, at most {max_length:,}")
    return value


# --- times ------------------------------------------------------------------------------------


def moment(value: Any, *, field: str, required: bool = True,
           error: type[DomainError] = InvalidInput) -> datetime | None:
    """An aware datetime (or an ISO 8601 string with its offset) between EARLIEST and LATEST."""
    if value is None or value == "":
        if required:
            raise error.at(field, "is required: give a date and time")
        return None
    if isinstance(value, str):
        problem = storable_text_problem(value)
        try:
            parsed = None if problem or len(value) > 64 else parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise error.at(field, f"must be a date and time such as 2026-03-01T09:00+01:00, not {_show(value)}")
        value = parsed
    if not isinstance(value, datetime):
        raise error.at(field, "must be a date and time")
    if timezone.is_naive(value):
        raise error.at(field, "give the time with its time zone")
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc < LATEST:
        raise error.at(field, f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return value


def moment_or_none(value: Any) -> datetime | None:
    """For filters in links: a malformed or out-of-range time is ignored rather than refused."""
    try:
        return moment(value, field="value", required=False)
    except InvalidInput:
        return None


def day_or_none(value: Any) -> date | None:
    """For filters: a calendar day written YYYY-MM-DD (ASCII digits) between EARLIEST and LATEST, else
    None (a malformed day in a link is ignored rather than refused)."""
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if EARLIEST.year <= day.year < LATEST.year else None


# --- JSON -------------------------------------------------------------------------------------


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"the number {literal[:30]} is too large to store")
    return number


def json_value(raw: str | bytes, *, field: str, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Strict JSON text parsed and checked (see `json_check`), or a clear error naming `field`."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput.at(field, f"is not UTF-8 text (byte {exc.start + 1})") from None
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise InvalidInput.at(field, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") \
            from None
    except RecursionError:
        raise InvalidInput.at(field, f"is nested too deeply (at most {max_depth} levels)") from None
    except ValueError as exc:  # a refused constant or number, or an integer with too many digits
        raise InvalidInput.at(field, f"is not valid JSON: {exc}") from None
    return json_check(value, field=field, max_depth=max_depth)


def json_problem(value: Any, *, max_depth: int = JSON_MAX_DEPTH) -> tuple[str, str] | None:
    """(where, what) of the first thing in a parsed JSON value that cannot be stored, or None.

    Walked without recursion, so a value nested a million levels deep is refused, not a crash."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            return path, f"is nested too deeply (at most {max_depth} levels)"
        if isinstance(item, str):
            problem = storable_text_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, float):
            if not math.isfinite(item):
                return path, "is not a finite number"
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return path, "has a key that is not text"
                problem = storable_text_problem(key)
                if problem:
                    return path, f"has a key that {problem}"
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list | tuple):
            for index, child in enumerate(item):
                stack.append((child, f"{path}.{index}" if path else str(index), depth + 1))
        elif not (item is None or isinstance(item, bool | int)):
            return path, "is not a JSON value"
    return None


def json_check(value: Any, *, field: str, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """`value` itself, once nothing in it is found that PostgreSQL's jsonb cannot store."""
    found = json_problem(value, max_depth=max_depth)
    if found:
        where, what = found
        raise InvalidInput.at(f"{field}.{where}" if where else field, what)
    return value
