"""Questions and the FAQ on pages of lower apps (the workspace, the project page), issue 20."""

from django import template

from sprints.selectors.questions import project_faq as faq_of

register = template.Library()


@register.inclusion_tag("questions/_faq.html", takes_context=True)
def project_faq(context, project):
    """The project's FAQ: answers a lead pinned (nothing is shown while there are none)."""
    return {"faq": list(faq_of(project_id=project.pk)[:50]), "user": context.get("user")}


@register.inclusion_tag("questions/_ask_task.html", takes_context=True)
def ask_on_task(context, claim):
    """The workspace's "ask your lead" form for the task of this claim."""
    return {"claim": claim, "csrf_token": context.get("csrf_token")}
