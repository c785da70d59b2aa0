from django import template
from django.utils import timezone

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
