"""The contractor's day (issue 19): My work with answers, marks, pay and filters (item 2), plain errors
at their fields (item 3), releasing with a reason and reporting a problem, which leads read (item 6)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations import services
from annotations.models import Appeal, Claim, ProblemReport
from payouts.models import LedgerEntry
from projects import task_types
from projects.task_types.base import InvalidData
from sprints.models import Sprint
from sprints.selectors import problem_reports_for_lead, problem_reports_open_count
from tests import factories
from tests.annotations.reviewing import RUBRIC, VALID_ANSWERS, claim_for, make_project, make_task, submit

pytestmark = pytest.mark.django_db


def _rated_project(**fields):
    project = make_project("rating", **fields)
    factories.PayRateFactory(project=project, amount=Decimal("0.60"), effective_from=timezone.now() - timedelta(days=2))
    return project


# --- item 2: My work -----------------------------------------------------------------------------


def test_my_work_shows_the_task_the_answer_labels_marks_reason_pay_and_appeal(client):
    project = _rated_project(name="Summaries", rubric=[{"key": "honest", "label": "Honesty"},
                                                       {"key": "clarity", "label": "Clarity"}])
    person, lead = factories.ContractorFactory(), factories.LeadFactory()
    submission = submit(person, project, {"scores": {"honest": 1, "clarity": 4}, "overall": 2, "comment": "Terse."})
    review = services.review_create(submission=submission, reviewer=lead, score=2, marks={"honest": 1, "clarity": 4},
                                    reason="The summary leaves out the ending.")
    services.appeal_create(review=review, contractor=person, reason="The ending is in the second sentence, look again.")
    client.force_login(person)
    html = client.get(reverse("work:my_work")).content.decode()
    assert "A prince avenges his father." in html  # the task as shown
    assert "Terse." in html and "<dt>Honesty</dt><dd>1/5</dd>" in html  # the answer, by label
    assert "<li>Honesty: 1/5</li>" in html and "honest:" not in html  # marks by label, never the raw key
    assert "The summary leaves out the ending." in html and "Appeal pending" in html
    entry = LedgerEntry.objects.get(source_type="submission", source_id=submission.pk)
    assert f'href="{reverse("payouts:entry", args=[entry.pk])}" data-earned>0.60 USD' in html
    page = client.get(reverse("payouts:entry", args=[entry.pk]))
    assert page.status_code == 200 and "0.60 USD" in page.content.decode()


def test_my_work_filters_and_pages_past_two_hundred(client):
    work = factories.Work()
    person = factories.ContractorFactory()
    one, two = work.project(name="One"), work.project(name="Two")
    for i in range(205):
        work.submission(contractor=person, project=one, at=timezone.now() - timedelta(minutes=i + 1))
    graded = work.submission(contractor=person, project=two, at=timezone.now() - timedelta(days=3))
    review = work.review(graded, 4)
    Appeal.objects.create(review=review, contractor=person, reason="Please look again at the reason.",
                          status=Appeal.Status.UPHELD, created_at=timezone.now(), decided_by=work.lead,
                          decided_by_role="lead", decision_reason="The grade fits the work.",
                          decided_at=timezone.now())
    client.force_login(person)
    response = client.get(reverse("work:my_work"))
    assert response.context["page"].paginator.count == 206
    last = client.get(reverse("work:my_work"), {"page": response.context["page"].paginator.num_pages})
    assert len(last.context["submissions"]) == 206 % 25
    assert [s.pk for s in client.get(reverse("work:my_work"), {"grade": "4"}).context["submissions"]] == [graded.pk]
    assert [s.pk for s in client.get(reverse("work:my_work"), {"appeal": "upheld"}).context["submissions"]] == [
        graded.pk]
    assert client.get(reverse("work:my_work"), {"project": one.pk}).context["page"].paginator.count == 205
    day = timezone.localtime(graded.submitted_at, person.tzinfo).date().isoformat()
    dated = client.get(reverse("work:my_work"), {"from": day, "until": day})
    assert graded.pk in [s.pk for s in dated.context["submissions"]]
    # Malformed filters are ignored through the one parser, never a 500.
    for junk in ({"grade": "٣"}, {"project": "1e9"}, {"from": "2026-13-40"}, {"page": "-1"}, {"appeal": "x\x00"}):
        assert client.get(reverse("work:my_work"), junk).status_code == 200


# --- item 3: plain errors at their fields ------------------------------------------------------------


@pytest.mark.parametrize(("task_type", "answer", "field", "words"), [
    ("rating", {"scores": {"accuracy": "four", "clarity": 5}, "overall": 4}, "score__accuracy",
     "Please give the Accuracy score as a whole number."),
    ("rating", {"scores": {"accuracy": 4, "clarity": 5}, "overall": 9}, "overall",
     "The overall score must be 5 or less."),
    ("pairwise", {"choice": "C", "strength": "clear", "reason": "x"}, "choice",
     "Please choose which response is better"),
    ("rewrite", {"text": ""}, "text", "Please fill in your improved response."),
    ("audio_timestamp", {"spans": [{"start": "x", "end": 2, "label": "speech"}]}, "span_start",
     "Please give the start of span 1 as a number"),
    ("creative_eval", {"scores": {"accuracy": 3, "clarity": 4}, "critique": "Meh."}, "critique",
     "Your critique needs at least 20 characters."),
])
def test_each_task_type_words_its_errors_at_its_own_fields(task_type, answer, field, words):
    project = make_project(task_type)
    kind = task_types.get(task_type)
    with pytest.raises(InvalidData) as refused:
        kind.validate_answer(answer, project=project)
    shown = kind.form_errors(refused.value.errors, project)
    assert shown[0]["field"] == field and shown[0]["message"].startswith(words), shown
    assert not any("Input should" in e["message"] or "unable to parse" in e["message"] for e in shown)


def test_missing_scores_are_named_by_their_labels_at_their_buttons():
    project = make_project("rating", rubric=RUBRIC)
    kind = task_types.get("rating")
    with pytest.raises(InvalidData) as refused:
        kind.validate_answer({"scores": {"accuracy": 4}, "overall": 4}, project=project)
    assert kind.form_errors(refused.value.errors, project) == [
        {"field": "score__clarity", "message": "Please fill in the Clarity score."}]


def test_a_refused_answer_redirects_keeps_what_was_typed_and_a_reload_sends_nothing(client):
    project = make_project("pairwise")
    make_task(project)
    person = factories.ContractorFactory()
    claim = claim_for(person, project)
    client.force_login(person)
    response = client.post(reverse("work:submit", args=[claim.pk]), {"choice": "A", "strength": "strong",
                                                                     "reason": ""})
    assert response.status_code == 302 and response.url == reverse("work:claim", args=[claim.pk])
    claim.refresh_from_db()
    assert claim.draft == {"choice": "A", "strength": "strong", "reason": ""}
    html = client.get(response.url).content.decode()
    assert html.count("Please fill in your reason.") == 1 and 'value="strong" checked' in html


# --- item 6: release with a reason, report a problem ---------------------------------------------------


def test_release_asks_a_reason_keeps_it_and_records_the_time(client, settings):
    project = make_project("pairwise")
    make_task(project)
    person = factories.ContractorFactory()
    claim = claim_for(person, project)
    start = timezone.now()
    services.claim_heartbeat(claim=claim, contractor=person, now=start)
    services.claim_heartbeat(claim=claim, contractor=person, now=start + timedelta(seconds=20))
    client.force_login(person)
    refused = client.post(reverse("work:release", args=[claim.pk]), {"reason": ""})
    assert refused.status_code == 302 and refused.url == reverse("work:claim", args=[claim.pk])
    assert "Please choose why you are releasing this task." in client.get(refused.url).content.decode()
    assert Claim.objects.get(pk=claim.pk).status == Claim.Status.ACTIVE
    done = client.post(reverse("work:release", args=[claim.pk]), {"reason": "time", "details": "Out of time today."})
    assert done.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RELEASED and claim.active_seconds >= 20
    assert claim.release_reason == "I don't have the time to finish it: Out of time today."
    assert claim.task.claim_count == 0


def test_a_report_ends_the_claim_records_the_time_and_leads_of_the_project_see_it(client):
    project = make_project("pairwise", name="Tides")
    other_project = make_project("pairwise", name="Elsewhere")
    make_task(project)
    person = factories.ContractorFactory()
    claim = claim_for(person, project)
    now = timezone.now()
    services.claim_heartbeat(claim=claim, contractor=person, now=now - timedelta(seconds=30))
    lead, stranger = factories.LeadFactory(), factories.LeadFactory()
    for who, where in ((lead, project), (stranger, other_project)):
        Sprint.objects.create(lead=who, name=f"Push {who.pk}", starts_at=now - timedelta(hours=1),
                              ends_at=now + timedelta(days=1), target_submissions=10,
                              quality_target=Decimal("3.50")).projects.set([where])
    client.force_login(person)
    refused = client.post(reverse("work:report", args=[claim.pk]), {"kind": "broken", "reason": "bad"})
    html = client.get(refused.url).content.decode()
    assert "What you found needs at least 10 characters." in html and ProblemReport.objects.count() == 0
    client.post(reverse("work:report", args=[claim.pk]), {"kind": "broken", "reason": "Response B is empty."})
    report = ProblemReport.objects.get()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RELEASED and report.active_seconds == claim.active_seconds >= 30
    assert (report.kind, report.reason) == ("broken", "Response B is empty.")
    assert problem_reports_open_count(lead=lead) == 1 and problem_reports_open_count(lead=stranger) == 0
    assert list(problem_reports_for_lead(lead=stranger)) == []
    client.force_login(lead)
    assert "Response B is empty." in client.get(reverse("lead:problems")).content.decode()
    client.force_login(stranger)
    assert client.post(reverse("lead:problem_resolve", args=[report.pk]), {"resolution": "Fixed."}).status_code == 404
    client.force_login(lead)
    assert client.post(reverse("lead:problem_resolve", args=[report.pk]), {"resolution": ""}).status_code == 400
    client.post(reverse("lead:problem_resolve", args=[report.pk]), {"resolution": "Removed the task."})
    report.refresh_from_db()
    assert report.status == "resolved" and report.resolved_by == lead
    assert problem_reports_open_count(lead=lead) == 0


def test_a_report_needs_a_kind_and_cannot_be_made_twice():
    project = make_project("pairwise")
    make_task(project)
    person = factories.ContractorFactory()
    claim = claim_for(person, project)
    with pytest.raises(Exception) as refused:
        services.problem_report_create(claim=claim, contractor=person, kind="boring", reason="Nothing to do here.")
    assert refused.value.errors[0]["field"] == "kind"
    services.problem_report_create(claim=claim, contractor=person, kind="unclear", reason="Which prompt is meant?")
    with pytest.raises(Exception) as again:
        services.problem_report_create(claim=claim, contractor=person, kind="unclear", reason="Which prompt is meant?")
    assert again.value.code == "claim_not_active"
    assert ProblemReport.objects.count() == 1


def test_valid_answers_still_submit():
    project = make_project("rating")
    assert submit(factories.ContractorFactory(), project, VALID_ANSWERS["rating"]).answer["overall"] == 4


# --- item 5: the server still caps what it credits ---------------------------------------------------


def test_a_reading_contractors_heartbeats_are_credited_at_most_one_interval_each(settings):
    """The page now beats while the contractor reads without input (up to the project's idle limit);
    the server's cap is unchanged: at most one interval per beat, nothing after a longer silence."""
    settings.TASKHUB_HEARTBEAT_SECONDS = 30
    project = make_project("pairwise", idle_minutes=5)
    make_task(project)
    person = factories.ContractorFactory()
    claim = claim_for(person, project)
    start = timezone.now()
    beats = [start + timedelta(seconds=s) for s in (0, 30, 60, 90)]  # five minutes of reading, beat by beat
    for moment in beats:
        services.claim_heartbeat(claim=claim, contractor=person, now=moment)
    assert claim.active_seconds == 90
    # A beat claiming a long gap (say, a sleeping laptop) only restarts the clock.
    assert services.claim_heartbeat(claim=claim, contractor=person, now=beats[-1] + timedelta(minutes=10)) == 90
    # Beats faster than the interval add only the real time between them.
    later = beats[-1] + timedelta(minutes=10, seconds=5)
    assert services.claim_heartbeat(claim=claim, contractor=person, now=later) == 95
