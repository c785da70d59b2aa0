"""How times are written in messages: in the reader's own time zone, one style everywhere."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def local_time(moment: datetime, user=None) -> str:
    """`moment` as "Mon 01 Dec 2026 09:30 CET" in `user`'s time zone (the active one without a user)."""
    tz = getattr(user, "tzinfo", None)
    return f"{timezone.localtime(moment, tz):%a %d %b %Y %H:%M %Z}"


def wait_text(seconds: float) -> str:
    """How long something has waited, short: "under 1 min", "12 min", "3 h", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    minutes = seconds // 60
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
