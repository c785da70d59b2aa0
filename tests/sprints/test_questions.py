"""Questions in the product (issue 20): a contractor asks on a task or a sprint, a lead who leads them
answers in place, an answer can be pinned to the project's FAQ, and both sides are notified."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from annotations.models import Claim
from sprints.models import Question, Sprint, SprintMember
from sprints.selectors.questions import project_faq, questions_open_for_lead
from sprints.services import questions as svc
from taskhub.errors import Conflict, DomainError, Forbidden
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    lead = factories.LeadFactory()
    other_lead = factories.LeadFactory()
    contractor = factories.ContractorFactory()
    project = factories.ProjectFactory(name="Helpful pairs")
    now = timezone.now()
    sprint = Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=1),
                                   ends_at=now + timedelta(hours=20), target_submissions=10,
                                   quality_target=Decimal("3.5"), status=Sprint.Status.OPEN)
    sprint.projects.set([project])
    SprintMember.objects.create(sprint=sprint, contractor=contractor)
    batch = factories.BatchFactory(project=project)
    [task] = factories.make_tasks(batch, 1)
    claim = Claim.objects.create(task=task, contractor=contractor, project=project, batch=batch, claimed_at=now,
                                 deadline=now + timedelta(hours=1))
    return {"lead": lead, "other_lead": other_lead, "contractor": contractor, "project": project, "sprint": sprint,
            "claim": claim}


def test_a_task_question_reaches_the_leads_of_that_person_on_that_project(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        question = svc.question_ask_on_claim(claim=setup["claim"], contractor=setup["contractor"],
                                             body="  Is a tie fine when both answers are wrong?  ")
    assert question.body == "Is a tie fine when both answers are wrong?"
    assert question.project == setup["project"] and question.task_id == setup["claim"].task_id
    assert Notification.objects.filter(user=setup["lead"], kind="question_asked").count() == 1
    assert not Notification.objects.filter(user=setup["other_lead"]).exists()
    assert list(questions_open_for_lead(lead=setup["lead"])) == [question]
    assert list(questions_open_for_lead(lead=setup["other_lead"])) == []


@pytest.mark.parametrize("body", ["", "short", "\x00 is not text at all", "x" * 2001, None, 42])
def test_a_bad_question_is_refused_at_the_field_and_nothing_is_stored(setup, body):
    with pytest.raises(DomainError) as refused:
        svc.question_ask_on_claim(claim=setup["claim"], contractor=setup["contractor"], body=body)
    assert refused.value.errors[0]["field"] == "body"
    assert not Question.objects.exists()


def test_only_members_ask_on_a_sprint_and_only_owners_on_a_claim(setup):
    stranger = factories.ContractorFactory()
    with pytest.raises(Forbidden):
        svc.question_ask_on_sprint(sprint=setup["sprint"], contractor=stranger, body="When does it end, please?")
    with pytest.raises(Forbidden):
        svc.question_ask_on_claim(claim=setup["claim"], contractor=stranger, body="Whose task is this one?")


def test_the_lead_answers_in_place_pins_it_and_the_faq_shows_it(setup, client_for):
    question = svc.question_ask_on_claim(claim=setup["claim"], contractor=setup["contractor"],
                                         body="Is a tie fine when both answers are wrong?")
    answered = svc.question_answer(question=question, lead=setup["lead"], answer="Yes: choose tie, say why.",
                                   pin=True)
    assert answered.answered_by == setup["lead"] and answered.pinned_at is not None
    note = Notification.objects.get(user=setup["contractor"], kind="question_answered")
    assert note.body == "Yes: choose tie, say why." and note.url == reverse("questions:mine")
    assert list(project_faq(project_id=setup["project"].pk)) == [answered]
    with pytest.raises(Conflict):
        svc.question_answer(question=answered, lead=setup["lead"], answer="Another answer")
    # The FAQ is on the project page and in the workspace.
    client = client_for(setup["contractor"])
    assert "Yes: choose tie, say why." in client.get(reverse("work:claim", args=[setup["claim"].pk])).content.decode()
    assert "Yes: choose tie, say why." in client.get(reverse("work:project", args=[setup["project"].slug])
                                                     ).content.decode()
    svc.question_pin(question=answered, lead=setup["lead"], pinned=False)
    assert list(project_faq(project_id=setup["project"].pk)) == []


def test_a_sprint_question_goes_to_its_lead_and_cannot_be_pinned(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        question = svc.question_ask_on_sprint(sprint=setup["sprint"], contractor=setup["contractor"],
                                              body="May I work past midnight on this one?")
    assert Notification.objects.filter(user=setup["lead"], kind="question_asked").count() == 1
    with pytest.raises(DomainError) as refused:
        svc.question_answer(question=question, lead=setup["lead"], answer="Yes, any time.", pin=True)
    assert refused.value.errors[0]["field"] == "pin"
    assert Question.objects.get().answered_at is None


def test_pages_scope_questions_to_the_lead_who_leads_them(setup, client_for):
    question = svc.question_ask_on_claim(claim=setup["claim"], contractor=setup["contractor"],
                                         body="Is a tie fine when both answers are wrong?")
    other = client_for(setup["other_lead"])
    assert question.body not in other.get(reverse("lead:questions")).content.decode()
    assert other.post(reverse("lead:question_answer", args=[question.pk]), {"answer": "Mine"}).status_code == 404
    lead = client_for(setup["lead"])
    refused = lead.post(reverse("lead:question_answer", args=[question.pk]), {"answer": "\x00"})
    assert refused.status_code == 400 and "answer" in refused.content.decode()
    assert lead.post(reverse("lead:question_answer", args=[question.pk]), {"answer": "Yes."}).status_code == 302
    assert Question.objects.get().answer == "Yes."
