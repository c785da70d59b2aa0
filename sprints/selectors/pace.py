"""The sprint board's pace projection (issue 20): "at this pace 27 of 30 by the end", from the
sprint's elapsed time and what it has completed, as a straight line. A pure function of its inputs,
so every edge (not started, just started, nothing done, over the target, ended) is unit tested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Before this share of the window (and at least this long) has passed, a projection would be noise.
MIN_ELAPSED_SHARE = 0.05
MIN_ELAPSED = timedelta(minutes=15)


@dataclass(frozen=True)
class Pace:
    state: str  # "not_started", "too_early", "projecting" or "ended"
    completed: int
    target: int
    projected: int | None  # at the end, at this pace (None when there is no projection)
    text: str

    @property
    def on_track(self) -> bool | None:
        if self.state == "ended":
            return self.completed >= self.target
        if self.projected is None:
            return None
        return self.projected >= self.target


def sprint_pace(*, starts_at: datetime, ends_at: datetime, now: datetime, completed: int, target: int) -> Pace:
    """Where the sprint ends at the pace so far: completed ÷ elapsed × the whole window, rounded down
    (a projection never promises a submission that is not there)."""
    completed = max(int(completed), 0)
    target = max(int(target), 0)
    window = (ends_at - starts_at).total_seconds()
    if now >= ends_at or window <= 0:
        met = "target met" if completed >= target else f"{max(target - completed, 0)} short of the target"
        return Pace("ended", completed, target, None, f"Ended with {completed} of {target} ({met}).")
    if now <= starts_at:
        return Pace("not_started", completed, target, None, "The projection starts with the sprint.")
    elapsed = (now - starts_at).total_seconds()
    if elapsed < max(window * MIN_ELAPSED_SHARE, MIN_ELAPSED.total_seconds()) and completed < target:
        return Pace("too_early", completed, target, None,
                    f"Too early to project: {completed} of {target} so far.")
    projected = int(completed * window // elapsed) if elapsed else completed
    projected = max(projected, completed)
    if completed == 0:
        text = f"At this pace 0 of {target} by the end: nothing completed yet."
    elif completed >= target:
        text = f"Target reached: {completed} of {target}; at this pace {projected} by the end."
    else:
        text = f"At this pace {projected} of {target} by the end."
    return Pace("projecting", completed, target, projected, text)
