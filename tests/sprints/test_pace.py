"""The board's pace projection ("at this pace 27 of 30 by the end") at every edge: not started, just
started, nothing done, on the way, over the target, ended."""

from datetime import UTC, datetime, timedelta

from sprints.selectors.pace import sprint_pace

START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
END = START + timedelta(hours=10)


def pace(at: timedelta, completed: int, target: int = 30, end=END):
    return sprint_pace(starts_at=START, ends_at=end, now=START + at, completed=completed, target=target)


def test_a_straight_line_from_the_pace_so_far():
    p = pace(timedelta(hours=5), 13)
    assert (p.state, p.projected) == ("projecting", 26)
    assert p.text == "At this pace 26 of 30 by the end."
    assert p.on_track is False


def test_the_example_of_the_issue():
    p = pace(timedelta(hours=1), 2)  # 2 in the first hour of ten: 20 by the end
    assert p.projected == 20
    assert pace(timedelta(hours=10) / 3, 9).text == "At this pace 27 of 30 by the end."


def test_before_the_start_there_is_no_projection():
    p = pace(-timedelta(minutes=5), 0)
    assert (p.state, p.projected, p.on_track) == ("not_started", None, None)


def test_just_started_is_too_early_to_project():
    p = pace(timedelta(minutes=3), 2)
    assert (p.state, p.projected) == ("too_early", None)
    assert p.text == "Too early to project: 2 of 30 so far."


def test_nothing_done_projects_zero_and_says_so():
    p = pace(timedelta(hours=2), 0)
    assert (p.state, p.projected, p.on_track) == ("projecting", 0, False)
    assert p.text == "At this pace 0 of 30 by the end: nothing completed yet."


def test_over_the_target_says_it_is_reached_and_still_projects():
    p = pace(timedelta(hours=5), 35)
    assert (p.state, p.projected, p.on_track) == ("projecting", 70, True)
    assert p.text == "Target reached: 35 of 30; at this pace 70 by the end."
    # Even in the first minutes, a reached target is not "too early".
    assert pace(timedelta(minutes=1), 31).state == "projecting"


def test_ended_reports_the_result_without_a_projection():
    missed = pace(timedelta(hours=11), 27)
    assert (missed.state, missed.projected, missed.on_track) == ("ended", None, False)
    assert missed.text == "Ended with 27 of 30 (3 short of the target)."
    met = pace(timedelta(hours=10), 30)
    assert met.text == "Ended with 30 of 30 (target met)." and met.on_track is True


def test_a_projection_never_promises_less_than_is_done_nor_rounds_up():
    p = pace(timedelta(hours=9, minutes=59), 29)
    assert p.projected == 29  # 29 × 600/599 = 29.05: rounded down, never below what is done
