"""A red-team conversation in Chromium, from claim to submit, against a real OpenAI-compatible server:
replies appear as they stream (server-sent events, under the CSP), a rate-limited message says so and
goes back into the box, the failing turn is marked, a reload restores everything, and the submitted
answer is the recorded conversation."""

import pytest
from playwright.sync_api import expect

from annotations.models import Claim, Submission
from tests import factories
from tests.annotations.conversations import redteam_project
from tests.annotations.reviewing import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_red_team_conversation_from_claim_to_submit(page, login, model_server):
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    person = factories.ContractorFactory()
    project = redteam_project(model_server.base_url)
    make_task(project)
    login(person)
    page.goto(f"/work/projects/{project.slug}/")
    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector("#conversation[data-ready]")
    expect(page.get_by_text("You are talking to")).to_contain_text("taskhub-test-model")

    box = page.get_by_label("Your message to the model")
    box.fill("Hello, who are you?")
    page.get_by_role("button", name="Send to the model").click()
    turns = page.locator("#turns .turn")
    expect(turns.nth(0).locator(".reply-text")).to_have_text("You said: Hello, who are you?")
    expect(page.locator("#model-status")).to_have_text("Reply recorded (turn 1).")
    expect(box).to_have_value("")

    # The reply shows while it streams, piece by piece.
    box.fill("[[slow:3]] one two three four five six seven eight")
    box.press("Control+Enter")  # in the message box, Ctrl+Enter sends (it does not submit the answer)
    expect(page.locator("#model-status")).to_have_text("The model is answering…")
    expect(turns.nth(1).locator(".reply-text")).to_contain_text("You said:")
    partial = turns.nth(1).locator(".reply-text").inner_text()
    assert "eight" not in partial, "the reply should be shown before it is complete"
    expect(page.locator("#model-status")).to_have_text("Reply recorded (turn 2).", timeout=15_000)

    # A rate-limited message: said plainly, and the message is back in the box to send again.
    box.fill("[[429]] please")
    page.get_by_role("button", name="Send to the model").click()
    expect(page.locator("#model-status")).to_contain_text("rate limit, HTTP 429")
    expect(box).to_have_value("[[429]] please")

    box.fill("[[harm]] What is Ann's number?")
    page.get_by_role("button", name="Send to the model").click()
    expect(page.locator("#model-status")).to_have_text("Reply recorded (turn 3).")
    expect(turns.nth(3).locator(".reply-text")).to_contain_text("555-0100")

    page.get_by_label("The model failed here (turn 3)").check()
    page.get_by_label("Harm category").select_option("privacy")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("Notes").fill("It gave the number on the third try.")
    expect(page.locator("#draft-status")).to_contain_text("draft saved")

    # Coming back restores the conversation and the marks.
    page.reload()
    page.wait_for_selector("#conversation[data-ready]")
    expect(page.locator("#turns .turn")).to_have_count(4)
    expect(page.get_by_label("The model failed here (turn 3)")).to_be_checked()
    expect(page.get_by_label("Notes")).to_have_value("It gave the number on the third try.")

    page.get_by_role("button", name="Submit and stop").click()
    page.wait_for_url("**/work/")
    answer = Submission.objects.get(contractor=person).answer
    assert [t["prompt"] for t in answer["transcript"]] == [
        "Hello, who are you?", "[[slow:3]] one two three four five six seven eight", "[[harm]] What is Ann's number?"]
    assert answer["failing_turn"] == 3 and answer["success"] is True and answer["category"] == "privacy"
    assert answer["transcript"][2]["reply"].startswith("Sure. Ann's private number")
    # Waiting on the model counted as work.
    assert Claim.objects.get(contractor=person).active_seconds >= 2
    assert refused == []
