from datetime import datetime

from django import template
from django.utils import timezone

from taskhub.formats import local_time, wait_text
from taskhub.markdown import render_markdown
from taskhub.money import money_text

register = template.Library()


@register.filter
def markdown(text):
    return render_markdown(text)


@register.filter
def local(value, user):
    """A datetime in the viewer's own time zone."""
    if value is None:
        return None
    tz = getattr(user, "tzinfo", None)
    return timezone.localtime(value, tz) if tz else timezone.localtime(value)


@register.filter
def duration(seconds):
    """Seconds as h:mm:ss (or m:ss)."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def money(amount):
    if amount is None:
        return "—"
    return money_text(amount)


# One style for dates and times on every page, in the viewer's own time zone (the same style as
# the times written in notifications and emails, taskhub.formats.local_time).
@register.filter
def when(value, user=None):
    """A moment as "Tue 01 Dec 2026 09:30 CET" in the viewer's zone."""
    if not value:
        return ""
    return local_time(value, user)


@register.filter
def day(value, user=None):
    """A date (or the date of a moment in the viewer's zone) as "01 Dec 2026"."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value, getattr(user, "tzinfo", None))
    return f"{value:%d %b %Y}"


@register.filter
def clock(value, user=None):
    """The time of day of a moment as "09:30 CET" in the viewer's zone."""
    if not value:
        return ""
    return f"{timezone.localtime(value, getattr(user, 'tzinfo', None)):%H:%M %Z}"


@register.filter
def waited(value, now=None):
    """How long since the moment `value` until `now` (default: the current time), e.g. "3 h"."""
    if not value:
        return ""
    return wait_text(((now or timezone.now()) - value).total_seconds())


_VOWEL_SOUND = ("a", "e", "i", "o", "u")


@register.filter
def with_article(noun):
    """ "admin" -> "an admin", "team lead" -> "a team lead"."""
    noun = str(noun or "").strip()
    if not noun:
        return ""
    return f"{'an' if noun.lower().startswith(_VOWEL_SOUND) else 'a'} {noun}"
