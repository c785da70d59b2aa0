"""No automatic off-boarding: a low rolling average flags the contractor for a lead's decision."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from annotations import services, tasks
from annotations.models import ContractorFlag, ContractorPause, ReviewEvent
from sprints import services as lead_services
from taskhub.errors import DomainError
from tests import factories
from tests.annotations.reviewing import lead_of, make_project, make_task, peer_reviewer, reviewer, submit

pytestmark = pytest.mark.django_db

MARKS = {"accuracy": 2, "clarity": 2}
LOW = "Picked the response that contradicts the prompt."
DECISION = "Three low grades in a row on the same kind of mistake."


def lead_for(flag):
    """A lead who leads the flagged person on the flag's project (a sprint of theirs)."""
    lead = reviewer()
    lead_of(lead, flag.contractor, flag.project)
    return lead


@pytest.fixture
def project():
    return make_project("pairwise", flag_threshold=Decimal("2.50"), flag_window=4, flag_min_grades=3)


def grade(contractor, project, score, lead=None):
    submission = submit(contractor, project)
    return services.review_create(submission=submission, reviewer=lead or reviewer(), score=score, marks=MARKS,
                                  reason=LOW)


def recompute(contractor, project):
    return services.contractor_flags_recompute(contractor_id=contractor.pk, project_id=project.pk)


def test_a_low_average_opens_a_flag_and_changes_nothing_else(project):
    person = factories.ContractorFactory()
    for score in (2, 2, 3):
        grade(person, project, score)
    flag = recompute(person, project)
    assert flag is not None
    assert (flag.status, flag.average, flag.threshold, flag.grades_counted) == (
        ContractorFlag.Status.OPEN, Decimal("2.33"), Decimal("2.50"), 3)
    assert ReviewEvent.objects.filter(flag=flag, kind=ReviewEvent.Kind.FLAGGED).exists()
    # Flagged, not removed: the person can still claim on the project.
    make_task(project)
    assert services.task_claim_next(contractor=person, project=project) is not None


def test_no_flag_before_the_minimum_number_of_grades_or_at_the_threshold(project):
    person = factories.ContractorFactory()
    grade(person, project, 1)
    grade(person, project, 1)
    assert recompute(person, project) is None
    steady = factories.ContractorFactory()
    for score in (2, 3, 2, 3):  # exactly 2.50: not below
        grade(steady, project, score)
    assert recompute(steady, project) is None
    assert not ContractorFlag.objects.exists()


def test_the_average_rolls_over_the_latest_grades_only(project):
    person = factories.ContractorFactory()
    for score in (1, 1, 1, 5, 5, 5, 5):  # window of 4: the early 1s no longer count
        grade(person, project, score)
    assert recompute(person, project) is None


def test_one_open_flag_per_contractor_and_project(project):
    person = factories.ContractorFactory()
    for score in (1, 2, 2):
        grade(person, project, score)
    assert recompute(person, project) is not None
    grade(person, project, 1)
    assert recompute(person, project) is None
    flag = ContractorFlag.objects.get()
    assert flag.average == Decimal("1.50")  # the open flag shows the latest figure


def test_a_grade_enqueues_the_recompute_on_commit(project, django_capture_on_commit_callbacks):
    person = factories.ContractorFactory()
    grade(person, project, 1)
    grade(person, project, 2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        grade(person, project, 2)
    assert callbacks, "the flag recompute must be enqueued when the grade commits"
    # What the worker runs (the task body), called here in-process:
    assert tasks.contractor_flags_recompute(person.pk, project.pk) is not None


@pytest.fixture
def flagged(project):
    person = factories.ContractorFactory()
    for score in (1, 2, 2):
        grade(person, project, score)
    return person, recompute(person, project)


def window_over(flag):
    """The contractor's answer window has ended: a lead may pause them now."""
    ContractorFlag.objects.filter(pk=flag.pk).update(respond_until=timezone.now() - timedelta(minutes=1))
    flag.refresh_from_db()
    return flag


def test_a_lead_warns_with_a_reason_the_contractor_sees(client_for, flagged):
    person, flag = flagged
    lead = lead_for(flag)
    decided = lead_services.flag_decide(flag=flag, lead=lead, decision="warn", reason=DECISION)
    assert (decided.status, decided.decided_by, decided.reason) == (ContractorFlag.Status.WARNED, lead, DECISION)
    assert ReviewEvent.objects.filter(flag=flag, kind=ReviewEvent.Kind.DECIDED, actor=lead).exists()
    page = client_for(person).get(reverse("work:my_work")).content.decode()
    assert "Warned" in page and DECISION in page
    assert lead.email not in page


def test_a_pause_blocks_claiming_on_that_project_only_until_lifted(project, flagged):
    person, flag = flagged
    window_over(flag)
    lead = lead_for(flag)
    lead_services.flag_decide(flag=flag, lead=lead, decision="pause", reason=DECISION)
    pause = ContractorPause.objects.get(contractor=person, project=project)
    make_task(project)
    with pytest.raises(DomainError) as refused:
        services.task_claim_next(contractor=person, project=project)
    assert refused.value.status == 403
    assert "paused" in refused.value.message and project.name in refused.value.message

    elsewhere = make_project("pairwise")
    make_task(elsewhere)
    assert services.task_claim_next(contractor=person, project=elsewhere) is not None

    lead_services.pause_lift(pause=pause, lead=lead, reason="Talked it through; back to work.")
    assert services.task_claim_next(contractor=person, project=project) is not None


def test_a_paused_contractor_gets_a_clear_page_when_starting_work(client_for, project, flagged):
    person, flag = flagged
    window_over(flag)
    lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="pause", reason=DECISION)
    make_task(project)
    response = client_for(person).post(reverse("work:start", args=[project.slug]))
    assert response.status_code == 403
    assert "paused you on" in response.content.decode()


def test_a_cleared_flag_does_not_reopen_without_a_newer_grade(project, flagged):
    person, flag = flagged
    lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="clear",
                              reason="These tasks were ambiguous ones.")
    assert recompute(person, project) is None
    grade(person, project, 1)
    assert recompute(person, project) is not None
    assert ContractorFlag.objects.filter(contractor=person, status="open").count() == 1


def test_a_decision_needs_a_lead_and_a_reason_and_is_made_once(flagged):
    _person, flag = flagged
    with pytest.raises(DomainError) as not_lead:
        services.flag_decide(flag=flag, lead=peer_reviewer(), decision="pause", reason=DECISION)
    assert not_lead.value.code == "not_a_lead"
    with pytest.raises(DomainError) as no_reason:
        lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="warn", reason="bad")
    assert no_reason.value.field == "reason"
    with pytest.raises(DomainError) as bad_choice:
        lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="remove", reason=DECISION)
    assert bad_choice.value.field == "decision"
    lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="warn", reason=DECISION)
    with pytest.raises(DomainError) as twice:
        lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="pause", reason=DECISION)
    assert twice.value.status == 409
    assert not ContractorPause.objects.exists()


def test_the_flags_page_decides_with_a_reason(client_for, flagged):
    person, flag = flagged
    window_over(flag)
    lead = reviewer()
    lead_of(lead, person, flag.project)
    client = client_for(lead)
    page = client.get(reverse("lead:flags")).content.decode()
    assert escape(str(person)) in page and "1.67" in page
    refused = client.post(reverse("lead:flag_decide", args=[flag.pk]), {"decision": "pause", "reason": "no"})
    assert refused.status_code == 400
    assert "needs a reason" in refused.content.decode()
    flag.refresh_from_db()
    assert flag.status == ContractorFlag.Status.OPEN
    done = client.post(reverse("lead:flag_decide", args=[flag.pk]), {"decision": "pause", "reason": DECISION})
    assert done.status_code == 302
    assert ContractorPause.objects.filter(contractor=person, lifted_at__isnull=True).exists()


def test_contractors_and_reviewer_contractors_cannot_reach_the_flags_page(client_for):
    assert client_for(factories.ContractorFactory()).get(reverse("lead:flags")).status_code == 403
    assert client_for(peer_reviewer()).get(reverse("lead:flags")).status_code == 403


def test_a_revised_appeal_updates_the_average_the_lead_sees(project, flagged):
    person, flag = flagged
    review = person.submissions.order_by("submitted_at").first().reviews.get()
    appeal = services.appeal_create(review=review, contractor=person, reason="The known facts support my choice here.")
    services.appeal_decide(appeal=appeal, decider=reviewer(), outcome="revised", revised_score=5,
                           reason="Right: the response was the accurate one.")
    recompute(person, project)
    flag.refresh_from_db()
    assert flag.average == Decimal("3.00")  # (5 + 2 + 2) / 3


def test_the_contractor_is_notified_when_flagged_and_of_the_decision(flagged):
    from accounts.models import Notification

    person, flag = flagged
    lead_services.flag_decide(flag=flag, lead=lead_for(flag), decision="warn", reason=DECISION)
    kinds = {n.kind: n for n in Notification.objects.filter(user=person)}
    assert "nothing changes until they decide" in kinds["grades_flagged"].body
    assert kinds["flag_decided"].body == DECISION and "Warned" in kinds["flag_decided"].title
