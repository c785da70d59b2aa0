"""A voice (issue 17, part 4): a flagged contractor answers before the lead decides, and the lead
reads it; a pause waits for the end of the response window unless marked urgent with a reason; a
pause can be appealed to an admin or a lead who did not decide it, decided once whoever races; each
step is in the append-only trails."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import AuditEntry, Notification
from annotations import services
from annotations.models import ContractorFlag, ContractorPause, PauseAppeal, ReviewEvent
from sprints import services as lead_services
from taskhub.errors import DomainError
from tests import factories
from tests.annotations.reviewing import lead_of, make_project, make_task, reviewer, submit
from tests.concurrency import race

ANSWER = "The guide changed mid-week; I followed the old rule on these three."
DECISION = "Three low grades in a row on the same kind of mistake."
APPEAL = "I reread the guide and the two tasks graded 1 were ambiguous ones."


def _flag(project=None):
    project = project or make_project("pairwise", flag_threshold=Decimal("2.50"), flag_window=4, flag_min_grades=3)
    person = factories.ContractorFactory()
    for score in (1, 2, 2):
        services.review_create(submission=submit(person, project), reviewer=reviewer(), score=score,
                               marks={"accuracy": 2, "clarity": 2}, reason="Picked the response that is wrong.")
    flag = services.contractor_flags_recompute(contractor_id=person.pk, project_id=project.pk)
    return person, flag


def _lead_for(flag):
    """A lead who leads the flagged person on the flag's project (leads decide only for their people)."""
    lead = reviewer()
    lead_of(lead, flag.contractor, flag.project)
    return lead


def _over(flag):
    ContractorFlag.objects.filter(pk=flag.pk).update(respond_until=timezone.now() - timedelta(minutes=1))
    flag.refresh_from_db()
    return flag


@pytest.mark.django_db
def test_the_contractor_answers_and_the_lead_reads_it_before_deciding(client_for):
    person, flag = _flag()
    assert flag.respond_until - flag.created_at == timedelta(hours=48)
    client = client_for(person)
    page = client.get(reverse("work:my_work")).content.decode()
    assert f'action="{reverse("work:flag_respond", args=[flag.pk])}"' in page
    short = client.post(reverse("work:flag_respond", args=[flag.pk]), {"response": "no"})
    assert short.status_code == 400 and "needs a reason of at least" in short.content.decode()
    assert client.post(reverse("work:flag_respond", args=[flag.pk]), {"response": ANSWER}).status_code == 302
    flag.refresh_from_db()
    assert flag.response == ANSWER and flag.responded_at is not None
    with pytest.raises(DomainError) as twice:
        services.flag_respond(flag=flag, contractor=person, response=ANSWER)
    assert twice.value.status == 409
    lead = reviewer()
    lead_of(lead, person, flag.project)
    flags_page = client_for(lead).get(reverse("lead:flags")).content.decode()
    assert escape(ANSWER) in flags_page and "no pause before then unless urgent" in flags_page
    assert ReviewEvent.objects.filter(flag=flag, kind=ReviewEvent.Kind.RESPONDED, actor=person).exists()
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.FLAG_RESPONDED, subject=person).exists()
    # Another contractor cannot answer for them.
    other = factories.ContractorFactory()
    assert client_for(other).post(reverse("work:flag_respond", args=[flag.pk]),
                                  {"response": ANSWER}).status_code == 404


@pytest.mark.django_db
def test_a_pause_waits_for_the_window_unless_urgent_with_a_reason():
    person, flag = _flag()
    lead = _lead_for(flag)
    with pytest.raises(DomainError) as early:
        lead_services.flag_decide(flag=flag, lead=lead, decision="pause", reason=DECISION)
    assert early.value.field == "decision" and "may answer until" in early.value.message
    with pytest.raises(DomainError) as no_reason:
        lead_services.flag_decide(flag=flag, lead=lead, decision="pause", reason=DECISION, urgent=True,
                                  urgent_reason="x")
    assert no_reason.value.field == "urgent_reason"
    flag.refresh_from_db()
    assert flag.status == ContractorFlag.Status.OPEN and not ContractorPause.objects.exists()
    urgent = "Submitting copied answers to a customer batch due tomorrow."
    decided = lead_services.flag_decide(flag=flag, lead=lead, decision="pause", reason=DECISION, urgent=True,
                                        urgent_reason=urgent)
    assert (decided.status, decided.urgent, decided.urgent_reason) == (ContractorFlag.Status.PAUSED, True, urgent)
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.FLAG_DECIDED)
    assert entry.subject == person and "urgent" in entry.summary and entry.data["urgent_reason"] == urgent
    assert urgent in Notification.objects.get(user=person, kind="flag_decided").body


@pytest.mark.django_db
def test_after_the_window_a_pause_needs_no_urgency():
    person, flag = _flag()
    lead_services.flag_decide(flag=_over(flag), lead=_lead_for(flag), decision="pause", reason=DECISION)
    assert ContractorPause.objects.filter(contractor=person, lifted_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_pause_is_appealed_to_someone_who_did_not_decide_it(client_for):
    person, flag = _flag()
    project = flag.project
    deciding_lead = reviewer()
    lead_of(deciding_lead, person, project)
    lead_services.flag_decide(flag=_over(flag), lead=deciding_lead, decision="pause", reason=DECISION)
    pause = ContractorPause.objects.get(contractor=person)
    client = client_for(person)
    page = client.get(reverse("work:my_work")).content.decode()
    assert f'action="{reverse("work:pause_appeal", args=[pause.pk])}"' in page
    assert client.post(reverse("work:pause_appeal", args=[pause.pk]), {"reason": APPEAL}).status_code == 302
    appeal = PauseAppeal.objects.get(pause=pause)
    with pytest.raises(DomainError) as twice:
        services.pause_appeal_create(pause=pause, contractor=person, reason=APPEAL)
    assert twice.value.status == 409
    # The lead who paused them neither sees it to decide nor may decide it.
    assert escape(APPEAL) not in client_for(deciding_lead).get(reverse("lead:flags")).content.decode()
    with pytest.raises(DomainError) as own:
        lead_services.pause_appeal_decide(appeal=appeal, lead=deciding_lead, outcome="lift", reason=DECISION)
    assert own.value.code == "own_pause"
    stranger = reviewer()  # leads nobody: the appeal is not theirs to decide
    with pytest.raises(DomainError) as not_theirs:
        lead_services.pause_appeal_decide(appeal=appeal, lead=stranger, outcome="lift", reason=DECISION)
    assert not_theirs.value.status == 404
    with pytest.raises(DomainError) as contractor_decides:
        services.pause_appeal_decide(appeal=appeal, decider=person, outcome="lift", reason=DECISION)
    assert contractor_decides.value.status == 403
    other_lead = reviewer()
    lead_of(other_lead, person, project)
    assert escape(APPEAL) in client_for(other_lead).get(reverse("lead:flags")).content.decode()
    short = client_for(other_lead).post(reverse("lead:pause_appeal_decide", args=[appeal.pk]),
                                        {"outcome": "lift", "reason": "ok"})
    assert short.status_code == 400
    lifted = client_for(other_lead).post(reverse("lead:pause_appeal_decide", args=[appeal.pk]),
                                         {"outcome": "lift", "reason": "The two tasks were ambiguous: pause lifted."})
    assert lifted.status_code == 302
    appeal.refresh_from_db()
    pause.refresh_from_db()
    assert (appeal.status, appeal.decided_by) == (PauseAppeal.Status.LIFTED, other_lead)
    assert pause.lifted_at is not None and pause.lifted_by == other_lead
    make_task(project)
    assert services.task_claim_next(contractor=person, project=project) is not None
    kinds = list(AuditEntry.objects.filter(subject=person).order_by("id").values_list("kind", flat=True))
    assert kinds[-3:] == [AuditEntry.Kind.FLAG_DECIDED, AuditEntry.Kind.PAUSE_APPEALED,
                          AuditEntry.Kind.PAUSE_APPEAL_DECIDED]
    assert Notification.objects.filter(user=person, kind="pause_appeal_decided").exists()


@pytest.mark.django_db
def test_an_upheld_appeal_keeps_the_pause():
    person, flag = _flag()
    lead_services.flag_decide(flag=_over(flag), lead=_lead_for(flag), decision="pause", reason=DECISION)
    pause = ContractorPause.objects.get(contractor=person)
    appeal = services.pause_appeal_create(pause=pause, contractor=person, reason=APPEAL)
    services.pause_appeal_decide(appeal=appeal, decider=factories.AdminFactory(), outcome="uphold",
                                 reason="The grades hold up on a second look; the pause stays.")
    pause.refresh_from_db()
    assert pause.lifted_at is None


@pytest.mark.django_db(transaction=True)
def test_an_appeal_is_decided_once_when_two_decide_at_the_same_moment():
    person, flag = _flag()
    lead_services.flag_decide(flag=_over(flag), lead=_lead_for(flag), decision="pause", reason=DECISION)
    pause = ContractorPause.objects.get(contractor=person)
    appeal = services.pause_appeal_create(pause=pause, contractor=person, reason=APPEAL)
    deciders = [factories.AdminFactory(), factories.AdminFactory(), _lead_for(flag)]

    def decide(decider, outcome):
        def call():
            fresh = PauseAppeal.objects.select_related("pause").get(pk=appeal.pk)
            return lead_services.pause_appeal_decide(appeal=fresh, lead=decider, outcome=outcome,
                                                     reason=f"Decided by {decider.email} after a look.")
        return call

    outcomes = race(decide(deciders[0], "lift"), decide(deciders[1], "uphold"), decide(deciders[2], "lift"))
    won = [value for kind, value in outcomes if kind == "ok"]
    lost = [value for kind, value in outcomes if kind == "error"]
    assert len(won) == 1 and len(lost) == 2
    assert all(isinstance(e, DomainError) and e.code == "pause_appeal_already_decided" for e in lost)
    appeal.refresh_from_db()
    assert appeal.decided_by_id == won[0].decided_by_id
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.PAUSE_APPEAL_DECIDED).count() == 1
    assert ReviewEvent.objects.filter(kind=ReviewEvent.Kind.PAUSE_APPEAL_DECIDED).count() == 1
