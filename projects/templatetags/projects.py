from django import template

from projects.selectors import qualifications_of
from projects.task_types.base import OVERALL_ANCHORS, rubric_criteria, rubric_labels

register = template.Library()


@register.inclusion_tag("projects/_qualifications_card.html", takes_context=True)
def qualifications_card(context):
    """The signed-in person's qualifications, for their profile page."""
    return {"qualifications": list(qualifications_of(user=context["user"])), "user": context["user"]}


@register.filter
def criteria(project):
    """The project's rubric criteria with labels and the anchor words of 1 and 5 (defaults filled in)."""
    return rubric_criteria(project)


@register.simple_tag
def overall_anchors():
    return OVERALL_ANCHORS


@register.filter
def rubric_label(key, project):
    """A rubric criterion's label for its key (the key itself when the rubric does not name it)."""
    return rubric_labels(project).get(key, key)
