"""The one parser of typed input (taskhub.parsing) refuses what PostgreSQL cannot store or a page cannot show."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskhub.errors import InvalidInput
from taskhub.parsing import (
    json_check,
    json_value,
    moment,
    object_id,
    storable_text_problem,
    text,
    whole_number,
    whole_number_or_none,
)


@pytest.mark.parametrize("value", ["²", "٣", "١٢", "𝟓", "۵", "1e3", "4.0", "0x10", "1_000", "--1", "", "  ", "٣٣"])
def test_whole_numbers_are_ascii_digits_only(value):
    with pytest.raises(InvalidInput) as refused:
        whole_number(value, field="requested")
    assert refused.value.field == "requested"
    assert refused.value.errors == [{"field": "requested", "message": refused.value.message}]


@pytest.mark.parametrize("value", [True, False, 4.0, 2.5, float("nan"), [1], {"a": 1}, b"3"])
def test_booleans_floats_and_other_types_are_not_whole_numbers(value):
    with pytest.raises(InvalidInput):
        whole_number(value, field="score")


def test_whole_numbers_are_bounded_by_default_to_a_bigint_and_by_the_caller():
    assert whole_number(" +42 ", field="n") == 42
    assert whole_number("-9223372036854775808", field="n") == -(2**63)
    for beyond in ("9223372036854775808", "-9223372036854775809", "9" * 25, 2**63):
        with pytest.raises(InvalidInput):
            whole_number(beyond, field="n")
    with pytest.raises(InvalidInput) as refused:
        whole_number("6", field="score", minimum=1, maximum=5)
    assert "from 1 to 5" in refused.value.message
    assert whole_number("", field="n", required=False) is None
    assert object_id("12", field="project") == 12
    with pytest.raises(InvalidInput):
        object_id("0", field="project")
    assert whole_number_or_none("²") is None and whole_number_or_none("7") == 7


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_bigint_written_in_digits_reads_back(number):
    assert whole_number(str(number), field="n") == number


@given(st.text(max_size=30))
def test_whatever_is_typed_is_a_number_or_a_refusal_never_a_crash(typed):
    try:
        parsed = whole_number(typed, field="n")
    except InvalidInput:
        return
    assert isinstance(parsed, int) and typed.strip().lstrip("+-").isascii()


def test_text_refuses_nul_and_unpaired_surrogates_and_over_long_values():
    assert text("  a reason  ", field="reason", max_length=20) == "a reason"
    for bad in ("a\x00b", "\x00", "half \ud800 a pair"):
        with pytest.raises(InvalidInput) as refused:
            text(bad, field="reason", max_length=100)
        assert refused.value.field == "reason"
    with pytest.raises(InvalidInput) as too_long:
        text("x" * 101, field="reason", max_length=100)
    assert "at most 100" in too_long.value.message
    with pytest.raises(InvalidInput):
        text(12, field="reason", max_length=100)
    assert text("\u202eRTL 😀 مرحبا", field="t", max_length=50) == "\u202eRTL 😀 مرحبا"
    assert storable_text_problem("fine") is None


def test_times_must_be_aware_and_between_2000_and_2099_in_every_time_zone():
    east = timezone(timedelta(hours=14))
    assert moment("2027-03-01T09:00+01:00", field="at") == datetime(2027, 3, 1, 8, tzinfo=UTC)
    for bad in ("9999-12-31T23:59+00:00", "1999-12-31T23:59Z", "2100-01-01T00:00Z", "2027-03-01T09:00",
                datetime(9999, 12, 31, 23, tzinfo=UTC), datetime(2027, 3, 1), "not a time", "2026-13-45T99:99Z"):
        with pytest.raises(InvalidInput) as refused:
            moment(bad, field="release_at")
        assert refused.value.field == "release_at"
    # Year 9999 in UTC+14 is still 9999 in UTC: refused before any page has to show it.
    with pytest.raises(InvalidInput):
        moment(datetime(9999, 12, 31, 23, tzinfo=east), field="release_at")
    # Year 1 east of UTC is year 0 in UTC, which Python cannot represent: refused, not a crash.
    with pytest.raises(InvalidInput):
        moment(datetime(1, 1, 1, 1, tzinfo=east), field="release_at")


@pytest.mark.parametrize("raw", ["1e999", '{"a": -1e999}', '{"a": NaN}', "[Infinity]", '{"a": "\\u0000"}',
                                 '{"\\u0000": 1}', '["\\ud800"]', "[" * 100_000 + "]" * 100_000,
                                 "[" * 33 + "]" * 33, "{", "1" * 5000, b"\xff\xfe"])
def test_json_refuses_what_jsonb_cannot_store_with_a_clear_message(raw):
    with pytest.raises(InvalidInput) as refused:
        json_value(raw, field="body")
    assert refused.value.field.startswith("body")
    assert refused.value.message


def test_json_that_can_be_stored_is_returned_and_the_place_of_a_problem_is_named():
    assert json_value('{"a": [1, 2.5, "x", null, true], "b": {"c": 1e308}}', field="body") == {
        "a": [1, 2.5, "x", None, True], "b": {"c": 1e308}}
    with pytest.raises(InvalidInput) as refused:
        json_check({"answer": {"reason": "a\x00b"}}, field="body")
    assert refused.value.field == "body.answer.reason"
    nested: list = []
    for _ in range(200_000):  # built without recursion, checked without recursion
        nested = [nested]
    with pytest.raises(InvalidInput):
        json_check(nested, field="body")
