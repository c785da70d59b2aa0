from django import template

from projects.selectors import qualifications_of
from projects.task_types.base import OVERALL_ANCHORS, rubric_criteria

register = template.Library()


@register.inclusion_tag("projects/_qualifications_card.html", takes_context=True)
def qualifications_card(context):
    """The signed-in person's qualifications, for their profile page."""
    return {"qualifications": list(qualifications_of(user=context["user"]))}


@register.filter
def criteria(project):
    """The project's rubric criteria with labels and the anchor words of 1 and 5 (defaults filled in)."""
    return rubric_criteria(project)


@register.simple_tag
def overall_anchors():
    return OVERALL_ANCHORS
