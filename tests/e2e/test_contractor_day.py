"""The contractor's day in Chromium (issue 19, items 1–6): pay next to the work, 1–5 as buttons with
the rubric's words, a clock that says when and why it pauses, and releasing or reporting a task."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotations.models import Submission
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
