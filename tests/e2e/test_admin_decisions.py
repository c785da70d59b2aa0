"""The admin's decisions in the browser (issue 20): a role changed on the person's page with a reason
(refused at the field without one, then told to the person, in the role history, the held task given
back), a batch closed with a reason its holders read, and the review queue's waiting times."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Notification, Role, User
from annotations.models import Claim, Submission
from projects.models import Batch
from tests import factories
from tests.annotations.reviewing import claim_for, make_project, make_task, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLE_REASON = "Leads the Thursday review shift from next week on."
CLOSE_REASON = "The client withdrew these prompts; nothing more is needed."


def test_an_admin_changes_a_role_on_the_person_page_with_a_reason(page, login):
    admin = factories.AdminFactory()
    person = factories.ContractorFactory(display_name="Ada Worker")
    project = make_project("pairwise", name="Helpful pairs")
    make_task(project)
    held = claim_for(person, project)

    login(admin)
    page.goto("/manage/people/")
    page.get_by_role("link", name=person.email).first.click()
    expect(page.get_by_role("heading", name="Ada Worker")).to_be_visible()
    expect(page.locator("#role-history")).to_contain_text("No role changes on record")
    card = page.locator("#role-card")
    card.get_by_label("New role").select_option("lead")
    card.get_by_label("Reason").fill("promoted")
    card.get_by_role("button", name="Change the role").click()
    expect(page.locator('[data-field="role-reason"]')).to_contain_text("at least 20 characters")
    assert User.objects.get(pk=person.pk).role == Role.CONTRACTOR
    card = page.locator("#role-card")
    expect(card.get_by_label("New role")).to_have_value("lead")  # what was chosen is kept
    card.get_by_label("Reason").fill(ROLE_REASON)
    card.get_by_role("button", name="Change the role").click()
    expect(page.get_by_text("is now team lead (was contractor) and is told why")).to_be_visible()
    expect(page.locator("#person-role")).to_contain_text("Team lead")
    history = page.locator("#role-history")
    expect(history).to_contain_text("from contractor to team lead")
    expect(history).to_contain_text(ROLE_REASON)
    assert User.objects.get(pk=person.pk).role == Role.LEAD
    assert Claim.objects.get(pk=held.pk).status == Claim.Status.RELEASED
    notice = Notification.objects.get(user=person, kind="role_set")
    assert ROLE_REASON in notice.body and "released back to the pool" in notice.body

    # The admin's own page has no form: nobody changes their own role.
    page.goto(f"/manage/people/{admin.pk}/")
    expect(page.locator("#role-card")).to_contain_text("Nobody changes their own role")
    expect(page.locator("#role-card form")).to_have_count(0)


def test_an_admin_closes_a_batch_with_a_reason_its_holders_read(page, login):
    admin = factories.AdminFactory()
    holder = factories.ContractorFactory()
    project = make_project("pairwise", name="Helpful pairs")
    batch = factories.BatchFactory(project=project, name="Week 49", status=Batch.Status.OPEN)
    make_task(project, batch=batch)
    make_task(project, batch=batch)
    held = claim_for(holder, project)

    login(admin)
    page.goto(f"/manage/batches/{batch.pk}/")
    page.get_by_role("button", name="Close the batch").click()
    expect(page.locator('[data-field="close-reason"]')).to_be_visible()  # at the field, nothing closed
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.OPEN
    page.get_by_label("Why it closes").fill(CLOSE_REASON)
    page.get_by_role("button", name="Close the batch").click()
    expect(page.get_by_text("1 contractor holding its tasks told why")).to_be_visible()
    expect(page.locator("#batch-status")).to_have_text("Closed")
    expect(page.locator("#batch-closed")).to_contain_text(CLOSE_REASON)
    expect(page.get_by_role("button", name="Close the batch")).to_have_count(0)
    notice = Notification.objects.get(user=holder, kind="batch_closed")
    assert CLOSE_REASON in notice.body and Claim.objects.get(pk=held.pk).status == Claim.Status.ACTIVE


def test_the_review_queue_shows_how_long_each_submission_has_waited(page, login):
    lead = factories.LeadFactory()
    project = make_project("pairwise", name="Helpful pairs")
    now = timezone.now()
    for age in (timedelta(hours=3, minutes=5), timedelta(minutes=30)):
        submission = submit(factories.ContractorFactory(), project)
        Submission.objects.filter(pk=submission.pk).update(submitted_at=now - age)
    login(lead)
    page.goto("/review/")
    expect(page.get_by_role("columnheader", name="Waiting")).to_be_visible()
    waits = page.locator("td.wait time")
    expect(waits).to_have_text(["3 h", "30 min"])
    expect(page.locator("#oldest-wait")).to_contain_text("the oldest has waited 3 h")
    assert waits.first.get_attribute("title")
