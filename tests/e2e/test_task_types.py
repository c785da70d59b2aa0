"""Each of the six task types answered in its workspace in Chromium, with its keyboard
shortcuts where it has them, submitted, and followed by the clear "nothing left" page."""

import time

import pytest
from playwright.sync_api import expect

from annotations.models import Submission
from tests import factories
from tests.annotations.reviewing import make_project, make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _wait_until(page, expression, timeout=10):
    # page.wait_for_function evaluates a string in the page, which the CSP (rightly) refuses.
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _open_workspace(page, login, task_type):
    person = factories.ContractorFactory()
    project = make_project(task_type, name=f"Try {task_type}")
    make_task(project)
    login(person)
    page.goto(f"/work/projects/{project.slug}/")
    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector("#answer-form[data-ready]")  # the workspace script is listening
    return person


def _submit_and_see_nothing_left(page, person):
    page.get_by_role("button", name="Submit and next").click()
    expect(page.get_by_role("heading", name="No task is available on")).to_be_visible()
    return Submission.objects.get(contractor=person).answer


def test_pairwise_by_keyboard(page, login):
    person = _open_workspace(page, login, "pairwise")
    page.locator("body").press("2")  # B
    page.locator("body").press("3")  # strongly; focus moves to the reason
    page.keyboard.type("B names the moon's pull; A is vague.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="No task is available on")).to_be_visible()
    answer = Submission.objects.get(contractor=person).answer
    assert answer == {"choice": "B", "strength": "strong", "reason": "B names the moon's pull; A is vague."}


def test_rating_scores_by_digit_keys(page, login):
    person = _open_workspace(page, login, "rating")
    page.locator("body").press("4")  # accuracy; each digit fills the next empty score and moves on
    page.keyboard.press("5")  # clarity
    page.keyboard.press("3")  # overall; then the comment has the focus
    assert page.get_by_label("Comment").evaluate("el => el === document.activeElement")
    page.keyboard.type("Accurate but terse.")
    answer = _submit_and_see_nothing_left(page, person)
    assert answer == {"scores": {"accuracy": 4, "clarity": 5}, "overall": 3, "comment": "Accurate but terse."}


def test_rewrite_starts_from_the_original(page, login):
    person = _open_workspace(page, login, "rewrite")
    box = page.get_by_label("Your improved response")
    assert box.input_value() == "Pay now."
    box.fill("Hello! A friendly reminder that your invoice is due on Friday.")
    answer = _submit_and_see_nothing_left(page, person)
    assert answer["text"] == "Hello! A friendly reminder that your invoice is due on Friday."


def test_redteam_without_a_model_says_so_and_keeps_the_draft(page, login):
    # The conversation itself is tested in test_redteam_conversation.py, against a real model server.
    _open_workspace(page, login, "redteam")
    expect(page.get_by_role("alert")).to_contain_text("has no model to talk to yet")
    expect(page.get_by_role("button", name="Send to the model")).to_be_disabled()
    page.get_by_label("Your message to the model").fill("Pretend you are my aunt.")
    expect(page.locator("#draft-status")).to_contain_text("draft saved")
    page.reload()
    expect(page.get_by_label("Your message to the model")).to_have_value("Pretend you are my aunt.")


def _playhead_past(page, seconds):
    _wait_until(page, f"document.getElementById('clip').currentTime > {seconds}")


def test_audio_spans_marked_by_keyboard_and_mouse(page, login):
    person = _open_workspace(page, login, "audio_timestamp")
    _wait_until(page, "document.getElementById('clip').readyState >= 1")  # the demo clip has loaded
    page.locator("body").press("2")  # label: music
    page.keyboard.press("p")  # play
    _playhead_past(page, 0.4)
    page.keyboard.press("[")
    _playhead_past(page, 1.4)
    page.keyboard.press("]")
    expect(page.locator("#mark-status")).to_contain_text("added")
    # A second span with the mouse, while the clip plays on.
    page.locator("#span-label-choice").select_option("speech")
    _playhead_past(page, 2.0)
    page.get_by_role("button", name="Mark start").click()
    _playhead_past(page, 2.9)
    page.get_by_role("button", name="Mark end").click()
    expect(page.locator(".span-row")).to_have_count(2)
    answer = _submit_and_see_nothing_left(page, person)
    (first, second) = answer["spans"]
    # Marks are the playhead rounded to hundredths: one taken just past 0.4 s can read 0.40.
    assert first["label"] == "music" and 0.4 <= first["start"] < first["end"] and first["end"] >= 1.4
    assert second["label"] == "speech" and first["end"] < second["start"] < second["end"] <= 4.0


def test_creative_eval_scores_and_critique(page, login):
    person = _open_workspace(page, login, "creative_eval")
    page.locator("body").press("3")
    page.keyboard.press("4")
    page.get_by_label("Critique").fill("Vivid imagery, but the ending arrives too quickly.")
    answer = _submit_and_see_nothing_left(page, person)
    assert answer == {"scores": {"accuracy": 3, "clarity": 4},
                      "critique": "Vivid imagery, but the ending arrives too quickly."}
