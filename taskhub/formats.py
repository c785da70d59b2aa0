"""How times are written in messages: in the reader's own time zone, one style everywhere."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def local_time(moment: datetime, user=None) -> str:
    """`moment` as "Mon 01 Dec 2026 09:30 CET" in `user`'s time zone (the active one without a user)."""
    tz = getattr(user, "tzinfo", None)
    return f"{timezone.localtime(moment, tz):%a %d %b %Y %H:%M %Z}"
