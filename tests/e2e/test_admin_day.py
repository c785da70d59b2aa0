"""The admin's day in the browser: project set-up without JSON, versioned instructions that tell the
contractors, and a payout desk that says why nothing was drafted."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Notification
from payouts import services as payout_services
from projects import services
from projects.models import InstructionVersion, Project
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sets_up_an_image_project_with_fields_not_json(page, login):
    login(factories.AdminFactory())
    page.goto("/manage/")
    page.get_by_role("link", name="New project").click()
    expect(page.get_by_label("Task type")).to_have_value("")  # no type chosen for the admin
    page.get_by_label("Name", exact=True).fill("Street scenes: cars")
    expect(page.get_by_label("Slug")).to_have_value("street-scenes-cars")  # made from the name as it is typed
    expect(page.locator("#slug-shown")).to_have_text("street-scenes-cars")
    page.get_by_label("Task type").select_option("image_regions")
    settings = page.locator('.type-settings-group[data-task-type="image_regions"]')
    expect(settings).to_be_visible()
    expect(page.locator('.type-settings-group[data-task-type="audio_timestamp"]')).to_be_hidden()
    settings.get_by_label("Labels").fill("car\ncar")
    page.get_by_label("Pay rate").fill("0.50")
    page.locator("[name=rubric-0-key]").fill("precise")
    page.locator("[name=rubric-0-label]").fill("Precision")
    page.get_by_role("button", name="Add a criterion").click()  # a row in place, no reload
    page.locator("[name=rubric-1-key]").fill("complete")
    page.locator("[name=rubric-1-label]").fill("Completeness")
    expect(page.get_by_text("Criterion 2")).to_be_visible()
    page.get_by_role("button", name="Create project").click()
    error = page.locator('[data-field="config__image_regions__labels"]')
    expect(error).to_contain_text("line 2")  # at the setting it is about
    assert not Project.objects.exists()
    page.locator('.type-settings-group[data-task-type="image_regions"]').get_by_label("Labels").fill("car\nperson")
    page.get_by_label("Pay rate").fill("0.50")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Project set-up: Street scenes: cars")).to_be_visible()
    project = Project.objects.get()
    assert project.slug == "street-scenes-cars" and project.task_config["labels"] == ["car", "person"]
    assert [c["key"] for c in project.rubric] == ["precise", "complete"]


def test_a_material_instructions_change_is_versioned_and_told(page, login, browser, live_server):
    admin = factories.AdminFactory()
    contractor = factories.ContractorFactory()
    project = services.project_create(
        created_by=admin, fields={"name": "Helpful", "slug": "helpful", "task_type": "pairwise", "status": "active",
                                  "instructions": "Pick the better reply."},
        rate_amount="1.00", rate_currency="USD", rate_unit="per_task")
    login(admin)
    page.goto(f"/manage/projects/{project.pk}/")
    page.get_by_label("Instructions (Markdown)").fill("Pick the safer reply.")
    page.get_by_role("button", name="Save project").click()
    expect(page.locator('[data-field="instructions_change_note"]')).to_be_visible()  # a note is needed
    page.get_by_label("Instructions (Markdown)").fill("Pick the safer reply.")
    page.get_by_label("What changed in the instructions").fill("Safety comes first now")
    page.get_by_label("Material change: tell the contractors").check()
    page.get_by_role("button", name="Save project").click()
    expect(page.get_by_text("saved.")).to_be_visible()
    assert InstructionVersion.objects.filter(project=project).count() == 2
    assert Notification.objects.filter(user=contractor, kind="instructions_change").exists()
    page.get_by_role("link", name="version history with changes").click()
    expect(page.get_by_role("heading", name="Version 2 current material change")).to_be_visible()
    expect(page.locator("ins").first).to_have_text("+ Pick the safer reply.")
    expect(page.locator("del").first).to_have_text("- Pick the better reply.")


def test_the_payout_desk_says_why_nothing_was_drafted(page, login):
    login(factories.AdminFactory())
    page.goto("/manage/")
    page.get_by_role("link", name="Payout desk").click()
    current = payout_services.payout_period_for(at=timezone.now())
    expect(page.locator("#draft-outcome")).to_contain_text(f"has not ended (ends {current.end:%Y-%m-%d})")
    page.get_by_role("button", name="Draft payouts for").click()
    expect(page.get_by_text("Drafted 0 payouts for")).to_be_visible()
    expect(page.locator('#draft-outcome [data-code="nothing_unpaid"]')).to_contain_text("nothing unpaid in the period")


def test_batches_and_people_are_managed_in_the_app(page, login):
    from projects.models import Batch

    factories.ProjectFactory(name="Rated replies")
    person = factories.ContractorFactory(display_name="Bo Worker")
    login(factories.AdminFactory())
    page.goto("/manage/")
    page.get_by_role("link", name="Batches", exact=True).click()
    page.get_by_label("Project").select_option(label="Rated replies")
    page.get_by_label("Batch name").fill("Week 49")
    page.get_by_role("button", name="Create draft batch").click()
    expect(page.get_by_role("heading", name="Rated replies · Week 49")).to_be_visible()
    expect(page.get_by_role("link", name="Schedule the release")).to_be_visible()
    page.get_by_label("Why it closes").fill("Made by mistake: the prompts belong to week 50.")
    page.get_by_role("button", name="Close the batch").click()
    expect(page.locator("#batch-status")).to_have_text("Closed")
    expect(page.locator("#batch-closed")).to_contain_text("Made by mistake")
    assert Batch.objects.get(name="Week 49").status == "closed"

    page.goto("/manage/")
    page.get_by_role("link", name="People: roles, qualifications, deactivation").click()
    page.get_by_label("Email or name").fill(person.email)
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=person.email).click()
    page.locator(".deactivate-form").get_by_label("Reason").fill("short")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator('[data-field="deactivate-reason"]')).to_be_visible()  # too short: said at the field
    page.locator(".deactivate-form").get_by_label("Reason").fill("Shared the account with someone else, twice.")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#account-state")).to_contain_text("Shared the account with someone else")
    person.refresh_from_db()
    assert not person.is_active
