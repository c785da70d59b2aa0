from datetime import timedelta

from django import template

from sprints.models import Sprint
from sprints.selectors import sprints_for_member, sprints_for_user

register = template.Library()


@register.filter
def span(value):
    """A duration as "1 d 3 h 20 min" (rounded down to the minute)."""
    if value is None:
        return "—"
    if not isinstance(value, timedelta):
        return value
    minutes = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{mins} min")
    return " ".join(parts)


@register.filter
def times(value, factor):
    """value × factor, for chart coordinates."""
    try:
        return int(value) * int(factor)
    except (TypeError, ValueError):
        return 0


@register.filter
def less(value, amount):
    """amount − value, e.g. the y of a bar `value` high in a chart `amount` tall."""
    try:
        return int(amount) - int(value)
    except (TypeError, ValueError):
        return 0


@register.inclusion_tag("sprints/_lead_card.html", takes_context=True)
def lead_sprints_card(context):
    """The lead's open and planned sprints, for their home page (admins: everyone's)."""
    user = context["user"]
    sprints = sprints_for_user(user=user).exclude(status=Sprint.Status.CLOSED).order_by("starts_at", "id")[:20]
    return {"sprints": list(sprints), "user": user}


@register.inclusion_tag("sprints/_member_card.html", takes_context=True)
def member_sprints_card(context):
    """A contractor's open and planned sprints with their latest announcement, for the dashboard."""
    user = context["user"]
    return {"member_sprints": list(sprints_for_member(user)), "user": user}
