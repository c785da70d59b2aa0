"""Questions in the product (issue 20): a contractor asks on a task (from the workspace) or on a
sprint; a lead who leads them answers in place; an answer on a project can be pinned to the project's
FAQ. Both sides are told through the notification service (accounts.services), once per event."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notification_create, notifications_create_many
from annotations.models import Claim
from taskhub.badges import badges_forget
from taskhub.errors import Conflict, Forbidden
from taskhub.parsing import text

from ..errors import SprintError
from ..models import Question, Sprint, SprintMember

QUESTION_MIN = 10
QUESTION_MAX = Question._meta.get_field("body").max_length
ANSWER_MAX = Question._meta.get_field("answer").max_length


class QuestionError(SprintError):
    code = "invalid_question"


def _body(value) -> str:
    body = text(value, field="body", max_length=QUESTION_MAX, error=QuestionError)
    if len(body) < QUESTION_MIN:
        raise QuestionError.at("body", f"write your question in at least {QUESTION_MIN} characters "
                                       f"(this one has {len(body)})")
    return body


def question_leads(question: Question):
    """Who answers: the sprint's lead; for a task question, the leads of the sprints that have this
    person on this project (admins when nobody leads them there)."""
    if question.sprint_id:
        return User.objects.filter(pk=question.sprint.lead_id, is_active=True)
    leads = User.objects.filter(is_active=True, role__in=[Role.LEAD, Role.ADMIN]).filter(Exists(
        SprintMember.objects.filter(sprint__lead=OuterRef("pk"), contractor_id=question.contractor_id,
                                    sprint__projects=question.project_id)))
    if leads.exists():
        return leads
    return User.objects.filter(is_active=True, role=Role.ADMIN)


def _asked(question: Question) -> None:
    where = question.sprint.name if question.sprint_id else question.project.name
    leads = question_leads(question)
    badges_forget(user_ids=list(leads.values_list("pk", flat=True)))
    notifications_create_many(users=leads, kind="question_asked",
                              title=f"A question on {where} from {question.contractor}",
                              body=question.body[:500], url=reverse("lead:questions"),
                              key=f"question:{question.pk}:asked")


def question_ask_on_claim(*, claim: Claim, contractor, body, now: datetime | None = None) -> Question:
    """A question on the task of one's own claim (asked from the workspace)."""
    if claim.contractor_id != contractor.pk:
        raise Forbidden("You can ask only about your own tasks.")
    body = _body(body)
    with transaction.atomic():
        question = Question.objects.create(contractor=contractor, project_id=claim.project_id, task_id=claim.task_id,
                                           body=body, created_at=now or timezone.now())
        transaction.on_commit(lambda: _asked(question))
    return question


def question_ask_on_sprint(*, sprint: Sprint, contractor, body, now: datetime | None = None) -> Question:
    """A question to the lead of a sprint one is a member of."""
    if not SprintMember.objects.filter(sprint=sprint, contractor=contractor).exists():
        raise Forbidden("You can ask only in sprints you are a member of.")
    body = _body(body)
    with transaction.atomic():
        question = Question.objects.create(contractor=contractor, sprint=sprint, body=body,
                                           created_at=now or timezone.now())
        transaction.on_commit(lambda: _asked(question))
    return question


def question_answer(*, question: Question, lead, answer, pin: bool = False,
                    now: datetime | None = None) -> Question:
    """Answer once, in place (the caller checked the lead leads the asker); optionally pin it to the
    project's FAQ. The contractor is notified."""
    if getattr(lead, "role", None) not in (Role.LEAD, Role.ADMIN) or not lead.is_active:
        raise Forbidden("Only team leads and admins answer questions.")
    answer = text(answer, field="answer", max_length=ANSWER_MAX, error=QuestionError)
    if not answer:
        raise QuestionError.at("answer", "write the answer")
    if pin and not question.project_id:
        raise QuestionError.at("pin", "a question on a sprint belongs to no project's FAQ; only task questions "
                                      "can be pinned")
    now = now or timezone.now()
    with transaction.atomic():
        done = Question.objects.filter(pk=question.pk, answered_at__isnull=True).update(
            answer=answer, answered_by=lead, answered_at=now, pinned_at=now if pin else None)
        if not done:
            raise Conflict("This question was already answered; your answer was not saved.",
                           code="question_answered")
        notification_create(user=User(pk=question.contractor_id), kind="question_answered",
                            title="Your question was answered", body=answer[:500],
                            url=reverse("questions:mine"), key=f"question:{question.pk}:answered")
    badges_forget(user_ids=[lead.pk])
    question.refresh_from_db()
    return question


def question_pin(*, question: Question, lead, pinned: bool, now: datetime | None = None) -> Question:
    """Show an answered task question in its project's FAQ, or take it out."""
    if getattr(lead, "role", None) not in (Role.LEAD, Role.ADMIN) or not lead.is_active:
        raise Forbidden("Only team leads and admins edit a project's FAQ.")
    if question.answered_at is None:
        raise QuestionError.at("pin", "answer the question before pinning it")
    if not question.project_id:
        raise QuestionError.at("pin", "a question on a sprint belongs to no project's FAQ")
    Question.objects.filter(Q(pk=question.pk)).update(pinned_at=(now or timezone.now()) if pinned else None)
    question.refresh_from_db()
    return question
