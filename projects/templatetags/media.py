"""Template filters of the visual task types: where a task's image or clip is served from, and the
numbers the review pages' SVG drawings need (server-rendered, so no script and no inline style)."""

from django import template

from projects.models import media_url

register = template.Library()

TIMELINE_WIDTH = 1000  # the review timeline's SVG viewBox width


@register.filter
def media_src(payload) -> str:
    """The URL of a payload's image or clip: its own URL, or the stored upload's (a signed URL with S3)."""
    if not isinstance(payload, dict):
        return ""
    if payload.get("media"):
        return media_url(payload["media"])
    return payload.get("image_url") or payload.get("video_url") or payload.get("audio_url") or ""


@register.filter
def svg_points(points) -> str:
    """A polygon's points as an SVG `points` attribute."""
    try:
        return " ".join(f"{float(x):g},{float(y):g}" for x, y in points)
    except (TypeError, ValueError):
        return ""


@register.filter
def label_index(label, labels) -> int:
    """The label's place in the project's list (for its colour class), 0 when it is not there."""
    try:
        return list(labels or []).index(label) % 10
    except ValueError:
        return 0


@register.filter
def on_timeline(seconds, duration) -> str:
    """A time as an x position on the review timeline (0 to TIMELINE_WIDTH)."""
    try:
        return f"{max(0.0, min(1.0, float(seconds) / float(duration))) * TIMELINE_WIDTH:.2f}"
    except (TypeError, ValueError, ZeroDivisionError):
        return "0"


@register.filter
def span_width(span, duration) -> str:
    try:
        return f"{max(0.0, (float(span['end']) - float(span['start'])) / float(duration)) * TIMELINE_WIDTH:.2f}"
    except (TypeError, ValueError, ZeroDivisionError, KeyError):
        return "0"
