from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """mapping[key] for dicts in templates (rubric scores and marks); empty when absent."""
    if isinstance(mapping, dict):
        value = mapping.get(key)
        return "" if value is None else value
    return ""


@register.filter
def stars(score):
    """A 1–5 grade as filled and empty marks, for a quick read next to the number."""
    try:
        score = int(score)
    except (TypeError, ValueError):
        return ""
    return "★" * score + "☆" * (5 - score)
