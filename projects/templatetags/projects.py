from django import template

from projects.selectors import qualifications_of

register = template.Library()


@register.inclusion_tag("projects/_qualifications_card.html", takes_context=True)
def qualifications_card(context):
    """The signed-in person's qualifications, for their profile page."""
    return {"qualifications": list(qualifications_of(user=context["user"])), "user": context["user"]}
