"""Reads of questions (issue 20): a lead's questions (their people's on their projects, and those on
their sprints; admins: all), a contractor's own, and a project's FAQ (pinned answers)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Role
from taskhub.errors import NotFound

from ..models import Question
from . import led_by


def _led(lead) -> Q:
    return Q(sprint__lead=lead) | (Q(sprint__isnull=True) & led_by(lead))


def questions_for_lead(*, lead) -> QuerySet[Question]:
    qs = Question.objects.all()
    if getattr(lead, "role", None) != Role.ADMIN:
        qs = qs.filter(_led(lead))
    return qs.select_related("contractor", "project", "task", "sprint", "answered_by")


def questions_open_for_lead(*, lead) -> QuerySet[Question]:
    """Unanswered questions a lead may answer, oldest first (the badge counts them)."""
    return questions_for_lead(lead=lead).filter(answered_at__isnull=True).order_by("created_at", "id")


def question_get_for_lead(*, lead, question_id: int) -> Question:
    question = questions_for_lead(lead=lead).filter(pk=question_id).first()
    if question is None:
        raise NotFound("No such question from the people you lead.")
    return question


def questions_of_contractor(*, user) -> QuerySet[Question]:
    return (Question.objects.filter(contractor=user).select_related("project", "task", "sprint")
            .order_by("-created_at", "-id"))


def project_faq(*, project_id: int) -> QuerySet[Question]:
    """The project's FAQ: answered questions pinned to it, oldest pin first (a stable order)."""
    return (Question.objects.filter(project_id=project_id, pinned_at__isnull=False)
            .order_by("pinned_at", "id").only("id", "body", "answer", "pinned_at", "project_id"))
