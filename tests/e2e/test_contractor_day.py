"""The contractor's day in Chromium (issue 19, items 1–6): pay next to the work, 1–5 as buttons with
the rubric's words, a clock that says when and why it pauses, and releasing or reporting a task."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotations.models import Claim, ProblemReport, Submission
from projects.models import PayRate
from tests import factories
from tests.annotations.reviewing import make_project, make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _project(task_type="rating", **fields):
    project = make_project(task_type, **fields)
    factories.PayRateFactory(project=project, amount=Decimal("0.50"), effective_from=timezone.now() - timedelta(days=3))
    return project


def _start(page, project):
    page.goto(f"/work/projects/{project.slug}/")
    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector("#answer-form[data-ready]")


def test_pay_is_shown_where_work_is_offered(page, login):
    project = _project(name="Tides", estimated_minutes=6)
    PayRate.objects.create(project=project, amount=Decimal("0.40"), currency="USD", unit="per_task",
                           effective_from=timezone.now() + timedelta(days=14), reason="Budget")
    make_task(project)
    login(factories.ContractorFactory())
    page.goto("/work/")
    row = page.get_by_role("row").filter(has_text="Tides")
    expect(row).to_contain_text("about 6 min · ≈ 5.00 USD/h at full pay")
    expect(row.get_by_text("pay change coming")).to_be_visible()
    row.get_by_text("Pay by grade").click()
    expect(row.locator("tr.pays-nothing")).to_contain_text("1")
    expect(row.locator("tr.pays-nothing")).to_contain_text("pays nothing")
    expect(row.get_by_text("Rate change from")).to_contain_text("0.40 USD per task")

    page.goto(f"/work/projects/{project.slug}/")
    outlook = page.locator(".pay-outlook")
    expect(outlook).to_contain_text("the admin's estimate, until 10 submissions are measured")
    expect(outlook.locator("[data-expected-hourly]")).to_have_text("5.00 USD an hour")
    expect(outlook.locator("tr.pays-nothing")).to_contain_text("0 %")

    page.get_by_role("button", name="Start working").click()
    page.locator(".pay-details summary").click()
    expect(page.locator(".payload .pay-outlook [data-expected-hourly]")).to_have_text("5.00 USD an hour")


def test_scores_are_buttons_with_the_rubrics_words_and_digits_still_work(page, login):
    rubric = [{"key": "accuracy", "label": "Accuracy", "low": "Wrong on the facts", "high": "Every fact right"},
              {"key": "clarity", "label": "Clarity"}]
    project = _project(rubric=rubric)
    make_task(project)
    person = factories.ContractorFactory()
    login(person)
    _start(page, project)
    accuracy = page.get_by_role("group", name="Accuracy")
    expect(accuracy).to_contain_text("1 = Wrong on the facts")
    expect(accuracy).to_contain_text("5 = Every fact right")
    expect(page.get_by_role("group", name="Clarity")).to_contain_text("1 = Very poor")
    expect(accuracy.get_by_role("radio")).to_have_count(5)
    page.locator("body").press("4")  # accuracy; each digit fills the next empty score and moves on
    page.keyboard.press("5")  # clarity
    page.keyboard.press("3")  # overall; then the comment has the focus
    assert page.get_by_label("Comment").evaluate("el => el === document.activeElement")
    expect(accuracy.get_by_role("radio", name="4")).to_be_checked()
    # A click on a button changes a score; arrow keys move within the group as for any radios.
    page.get_by_role("group", name="Clarity").get_by_role("radio", name="2").click()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("group", name="Clarity").get_by_role("radio", name="3")).to_be_checked()
    page.get_by_label("Comment").fill("Close.")
    page.get_by_role("button", name="Submit and stop").click()
    expect(page).to_have_url("/work/")
    answer = Submission.objects.get(contractor=person).answer
    assert answer == {"scores": {"accuracy": 4, "clarity": 3}, "overall": 3, "comment": "Close."}


def _clock(page) -> str:
    return page.locator("#active-clock").inner_text()


def test_the_clock_counts_while_reading_and_says_when_and_why_it_pauses(page, login):
    project = _project(idle_minutes=5)
    make_task(project)
    login(factories.ContractorFactory())
    page.goto(f"/work/projects/{project.slug}/")
    expect(page.locator(".active-time-rule")).to_contain_text("5 minutes")
    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector("#answer-form[data-ready]")
    state = page.locator("#clock-state")
    expect(page.locator("#clock-rule")).to_contain_text("pauses after 5 minutes without typing")
    expect(state).to_have_text("Counting.")
    before = _clock(page)
    time.sleep(2.2)  # reading: no input at all, the clock still counts
    assert _clock(page) != before

    page.evaluate("window.dispatchEvent(new Event('blur'))")
    expect(state).to_have_text("Paused: another window has the focus.")
    paused_at = _clock(page)
    time.sleep(1.5)
    assert _clock(page) == paused_at
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(state).to_have_text("Counting.")

    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    expect(state).to_have_text("Paused: this tab is hidden.")
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    expect(state).to_have_text("Counting.")

    # The idle limit (shortened here to 2 seconds so the test need not wait 5 minutes).
    page.evaluate("document.getElementById('answer-form').dataset.idleSeconds = '2'")
    expect(state).to_contain_text("Paused: no input for 2 seconds", timeout=5_000)
    expect(page.locator("#active-clock")).to_have_class("active-clock paused")
    idle_at = _clock(page)
    time.sleep(1.5)
    assert _clock(page) == idle_at
    page.mouse.wheel(0, 100)
    expect(state).to_have_text("Counting.")


def test_a_refused_answer_comes_back_by_get_with_its_error_at_the_field_and_the_focus_there(page, login):
    project = _project()
    make_task(project)
    person = factories.ContractorFactory()
    login(person)
    _start(page, project)
    workspace = page.url
    page.locator("body").press("4")  # accuracy
    page.keyboard.press("5")  # clarity; the overall score is left empty
    page.evaluate("document.getElementById('answer-form').noValidate = true")  # let the server judge it
    page.get_by_role("button", name="Submit and next").click()
    page.wait_for_selector("#answer-form[data-ready]")
    assert page.url == workspace  # post, redirect, get: the address is the task page's own
    overall = page.get_by_role("group", name="Overall")
    expect(overall.locator(".field-error")).to_have_text("Please fill in the overall score.")
    expect(page.get_by_text("Your answer was not sent: 1 thing to fix, shown at each field.")).to_be_visible()
    assert page.content().count("Please fill in the overall score.") == 1  # once, at the field
    assert page.evaluate("document.activeElement.name") == "overall"
    expect(overall.get_by_role("radio", name="1")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("group", name="Accuracy").get_by_role("radio", name="4")).to_be_checked()
    page.reload()  # a reload sends nothing again: the same page, without the error, the answer kept
    page.wait_for_selector("#answer-form[data-ready]")
    expect(page.locator(".field-error")).to_have_count(0)
    expect(page.get_by_role("group", name="Clarity").get_by_role("radio", name="5")).to_be_checked()
    assert not Submission.objects.exists()
    page.keyboard.press("3")
    page.get_by_role("button", name="Submit and stop").click()
    expect(page).to_have_url("/work/")
    assert Submission.objects.get(contractor=person).answer["overall"] == 3


def test_release_with_a_reason_and_report_a_problem_that_the_lead_reads(page, login):
    project = _project(name="Tides")
    make_task(project)
    make_task(project)
    person = factories.ContractorFactory()
    login(person)
    _start(page, project)
    page.get_by_text("Release this task, or report a problem with it").click()
    page.get_by_role("button", name="Release this task").click()
    expect(page.locator("#release-reason-error")).to_have_text("Please choose why you are releasing this task.")
    page.get_by_label("It is outside what I know well").check()
    page.get_by_role("button", name="Release this task").click()
    expect(page.get_by_text("Task released; it has gone back to the pool.")).to_be_visible()
    released = Claim.objects.get(contractor=person, status=Claim.Status.RELEASED)
    assert released.release_reason == "It is outside what I know well"

    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector("#answer-form[data-ready]")
    page.get_by_text("Release this task, or report a problem with it").click()
    page.get_by_label("Broken (cannot be done)").check()
    page.get_by_label("What did you find?").fill("Empty")
    page.get_by_role("button", name="Report this task").click()
    page.wait_for_selector("#answer-form[data-ready]")
    expect(page.locator("#report-reason-error")).to_have_text("What you found needs at least 10 characters.")
    assert page.evaluate("document.activeElement.id") == "report-reason"
    expect(page.get_by_label("Broken (cannot be done)")).to_be_checked()
    page.get_by_label("What did you find?").fill("Response B is empty.")
    page.get_by_role("button", name="Report this task").click()
    expect(page.get_by_text("Thank you: your report (broken (cannot be done)) went to the project's leads."))\
        .to_be_visible()
    expect(page.locator(".problem-rule")).to_contain_text("recorded")
    report = ProblemReport.objects.get()
    assert report.contractor == person and report.kind == "broken"


def test_the_lead_reads_and_closes_the_reports_on_their_projects(page, login):
    from annotations import services
    from sprints.models import Sprint

    project = _project(name="Tides", task_type="pairwise")
    make_task(project)
    person = factories.ContractorFactory()
    from tests.annotations.reviewing import claim_for

    services.problem_report_create(claim=claim_for(person, project), contractor=person, kind="harmful",
                                   reason="The prompt asks for a home address.")
    lead = factories.LeadFactory()
    now = timezone.now()
    Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1),
                          target_submissions=5, quality_target=Decimal("3.5")).projects.set([project])
    login(lead)
    page.get_by_role("link", name="Problems").click()
    report = page.locator(".problem-reports li")
    expect(report).to_contain_text("Harmful content")
    expect(report).to_contain_text("The prompt asks for a home address.")
    page.get_by_label("Your note (the contractor reads it)").fill("Removed from the batch.")
    page.get_by_role("button", name="Close the report").click()
    expect(page.get_by_text("Report closed with your note.")).to_be_visible()
    expect(page.get_by_text("No open reports.")).to_be_visible()
    assert ProblemReport.objects.get().status == "resolved"


def test_my_work_shows_my_answer_its_grade_its_pay_and_filters(page, login):
    from annotations import services
    from tests.annotations.reviewing import submit

    rubric = [{"key": "honest", "label": "Honesty"}, {"key": "clarity", "label": "Clarity"}]
    project = _project(name="Summaries", rubric=rubric)
    person, lead = factories.ContractorFactory(), factories.LeadFactory()
    graded = submit(person, project, {"scores": {"honest": 2, "clarity": 4}, "overall": 2, "comment": "Short."})
    services.review_create(submission=graded, reviewer=lead, score=2, marks={"honest": 1, "clarity": 4},
                           reason="Leaves out the ending.")
    submit(person, project, {"scores": {"honest": 5, "clarity": 5}, "overall": 5, "comment": "Full."})
    login(person)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My work").click()
    items = page.locator("li.submission")
    expect(items).to_have_count(2)
    first = page.locator(f"#submission-{graded.pk}")
    expect(first.locator(".my-answer")).to_contain_text("Honesty")
    expect(first.locator(".my-answer")).to_contain_text("Short.")
    expect(first.locator(".marks li")).to_have_text(["Honesty: 1/5", "Clarity: 4/5"])
    expect(first).to_contain_text("Leaves out the ending.")
    first.get_by_text("The task as you saw it").click()
    expect(first.locator(".task-as-shown")).to_contain_text("A prince avenges his father.")
    page.get_by_label("Final grade").select_option("2")
    page.get_by_role("button", name="Filter").click()
    expect(items).to_have_count(1)
    expect(page.get_by_text("1 submission match.")).to_be_visible()
    first.locator("[data-earned]").click()
    expect(page.get_by_role("heading", name="Ledger entry")).to_be_visible()
    expect(page.locator("[data-entry-amount]")).to_have_text("0.50 USD")


def test_a_task_reported_broken_is_paid_and_the_entry_is_on_the_earnings_page(page, login):
    from django.urls import reverse

    project = make_project("rating", name="Tides", estimated_minutes=10, claim_minutes=30)
    factories.PayRateFactory(project=project, amount=Decimal("3.00"), unit="per_task",
                             effective_from=timezone.now() - timedelta(days=3))
    task = make_task(project)
    person = factories.ContractorFactory()
    login(person)
    page.goto(f"/work/projects/{project.slug}/")
    expect(page.locator(".problem-pay-rule")).to_contain_text(
        "the per-task rate (3.00 USD) times your active minutes over the estimated 10 minutes per task")
    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector("#answer-form[data-ready]")
    page.get_by_text("Release this task, or report a problem with it").click()
    rule = page.locator(".problem-form .problem-pay-rule")
    expect(rule).to_contain_text("A task you report as broken is paid for the active time you spent on it")
    expect(rule).to_contain_text("harmful or unclear records the time but pays nothing")
    # Fifteen minutes measured on a ten-minute task: one task's pay, no more.
    Claim.objects.filter(contractor=person, status=Claim.Status.ACTIVE).update(active_seconds=900)
    page.get_by_label("Broken (cannot be done)").check()
    page.get_by_label("What did you find?").fill("The answer to rate is missing.")
    page.get_by_role("button", name="Report this task").click()
    expect(page.get_by_text("Thank you: your report (broken (cannot be done)) went to the project's leads."))\
        .to_be_visible()
    page.goto(reverse("payouts:earnings"))
    row = page.get_by_role("row").filter(has_text=f"Reported broken: {task.external_id}")
    expect(row).to_contain_text("Reported broken")
    expect(row).to_contain_text("Tides")
    expect(row).to_contain_text("3.00 USD")
    expect(row).to_contain_text("reported broken, no grade")
