"""A new contractor's first day in Chromium: sign up, verify the email, do the paid onboarding
task, get qualified, claim, answer a pairwise task with the keyboard only, submit and get the
next task; then a lead grades the work low with a reason, the contractor reads the review on
My work and appeals it through the form."""

import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from annotations import services as work
from annotations.models import Appeal, Submission
from projects.services import qualification_grant
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase 42"


def _projects():
    onboarding = factories.ProjectFactory(name="Onboarding pairs", slug="onboarding-pairs", is_onboarding=True)
    factories.PayRateFactory(project=onboarding, amount="12.00", unit="per_hour")
    factories.make_tasks(factories.BatchFactory(project=onboarding), 1)
    real = factories.ProjectFactory(name="Helpful pairs", slug="helpful-pairs", qualification=onboarding,
                                    rubric=[{"key": "care", "label": "Care"}])
    factories.PayRateFactory(project=real, amount="0.80")
    factories.make_tasks(factories.BatchFactory(project=real), 2)
    return onboarding, real


def _answer_pairwise_by_keyboard(page, reason):
    page.wait_for_selector("#answer-form[data-ready]")
    page.locator("body").press("1")  # Response A
    page.keyboard.press("2")  # clearly; the reason box takes the focus
    page.keyboard.type(reason)
    page.keyboard.press("Control+Enter")


def test_sign_up_verify_qualify_claim_answer_by_keyboard_see_review_and_appeal(page, live_server):
    onboarding, real = _projects()
    admin = factories.AdminFactory()
    lead = factories.LeadFactory()
    mail.outbox.clear()
    # A fresh address each run: allauth rate-limits confirmation emails per address in the (shared) cache.
    email = f"new.person.{uuid.uuid4().hex[:10]}@example.com"

    # Sign up through the allauth form and verify the address from the email.
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [email]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(urlsplit(link).path)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    person = User.objects.get(email=email)
    assert person.emailaddress_set.get().verified

    # Only the paid onboarding project is open before qualifying.
    expect(page.get_by_role("row", name="Onboarding pairs")).to_be_visible()
    expect(page.get_by_role("row", name="Helpful pairs")).to_have_count(0)
    page.get_by_role("row", name="Onboarding pairs").get_by_role("button", name="Start working").click()
    _answer_pairwise_by_keyboard(page, "A is correct and kind; B is curt.")
    expect(page.get_by_role("heading", name="No task is available on Onboarding pairs")).to_be_visible()
    assert Submission.objects.get(contractor=person, project=onboarding).answer["choice"] == "A"

    # Qualifying for a project means holding its onboarding project's qualification, which a
    # person grants after looking at the onboarding work (there is no automatic pass mark).
    qualification_grant(contractor=person, project=onboarding, granted_by=admin, note="Onboarding done well")
    page.goto("/work/")
    row = page.get_by_role("row", name="Helpful pairs")
    expect(row).to_contain_text("2")
    row.get_by_role("button", name="Start working").click()
    first_task = page.url
    _answer_pairwise_by_keyboard(page, "A answers the question that was asked.")
    expect(page.get_by_text("Submitted. Here is your next task.")).to_be_visible()
    assert page.url != first_task and "/work/claims/" in page.url
    submission = Submission.objects.get(contractor=person, project=real)
    assert submission.answer == {"choice": "A", "strength": "clear", "reason": "A answers the question that was asked."}

    # A lead grades it low, with the reason the contractor will read.
    review = work.review_create(submission=submission, reviewer=lead, score=2, marks={"care": 2},
                                reason="The reason ignores that A gets the date wrong.",
                                now=timezone.now() - timedelta(minutes=1))
    page.get_by_role("link", name="My work").click()
    expect(page.get_by_text("The reason ignores that A gets the date wrong.")).to_be_visible()
    expect(page.get_by_label("2 out of 5")).to_be_visible()
    page.get_by_text("Appeal this grade").click()
    page.get_by_label("Why should the grade change?").fill(
        "The date in A is the one the prompt gave; B never answers at all.")
    page.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_text("Appeal sent.")).to_be_visible()
    appeal = Appeal.objects.get(review=review)
    assert appeal.status == Appeal.Status.OPEN and appeal.reason.startswith("The date in A")
    expect(page.get_by_text("A different reviewer will decide.")).to_be_visible()
