"""Team leads and admins in the browser: a lead creates a sprint and watches its board refresh in
place; an admin sets up a project, imports the HH-RLHF sample through the import page and
schedules the batch's release."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotations.models import Claim, Submission
from projects.models import Batch, PayRate, Project, Task, TaskImport
from sprints.models import Sprint
from tests import factories
from tests.projects.import_helpers import HH_FILE, HH_LINES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def _local(moment, user) -> str:
    return timezone.localtime(moment, user.tzinfo).strftime("%Y-%m-%dT%H:%M")


def test_a_lead_creates_a_sprint_and_its_board_refreshes_in_place(page, login):
    lead = factories.LeadFactory(timezone="Europe/Berlin")
    factories.ProjectFactory(name="Helpful pairs")
    member = factories.ContractorFactory(display_name="Ada Member")
    factories.ContractorFactory(display_name="Not Chosen")

    login(lead)
    page.get_by_role("link", name="Sprints").first.click()
    page.get_by_role("link", name="New sprint").click()
    page.get_by_label("Name").fill("Weekend push")
    page.get_by_label("Helpful pairs").check()
    page.get_by_label("Ada Member").check()
    now = timezone.now()
    page.get_by_label("Starts at").fill(_local(now - timedelta(minutes=1), lead))
    page.get_by_label("Ends at").fill(_local(now + timedelta(hours=24), lead))
    page.get_by_label("Target submissions").fill("40")
    page.get_by_label("Quality target (average grade)").fill("4.2")
    page.get_by_role("button", name="Create sprint").click()

    assert page.get_by_role("heading", name="Weekend push").is_visible()
    sprint = Sprint.objects.get()
    assert sprint.lead == lead and sprint.status == Sprint.Status.OPEN
    assert list(sprint.members.all()) == [member]
    figure = page.locator('[data-figure="submitted"]')
    assert figure.inner_text() == "0 / 40"

    # Work arrives; the board picks it up without a reload (the marker survives).
    page.evaluate("window.__stillTheSamePage = true")
    project = sprint.projects.get()
    batch = factories.BatchFactory(project=project)
    for task in factories.make_tasks(batch, 3):
        claim = Claim.objects.create(task=task, contractor=member, project=project, batch=batch,
                                     status=Claim.Status.SUBMITTED, claimed_at=timezone.now(),
                                     deadline=timezone.now() + timedelta(hours=1), finished_at=timezone.now())
        Submission.objects.create(claim=claim, task=task, contractor=member, project=project, answer={"choice": "A"},
                                  active_seconds=60, submitted_at=timezone.now())
    # Polled from Python: wait_for_function evaluates a string in the page, which the CSP refuses.
    expect(page.locator("[data-figure=submitted]")).to_have_text("3 / 40", timeout=25_000)
    assert page.evaluate("window.__stillTheSamePage") is True
    assert "Ada Member" in page.locator("#board").inner_text()

    page.get_by_role("link", name="Roster").click()
    assert page.get_by_role("row", name="Ada Member").is_visible()


def test_an_admin_sets_up_a_project_imports_hh_rlhf_and_schedules_the_batch(page, login, celery_worker_process,
                                                                             settings):
    assert HH_FILE.exists(), HH_FILE
    admin = factories.AdminFactory(timezone="America/New_York")
    login(admin)

    page.goto("/manage/")
    page.get_by_role("link", name="Project set-up").click()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name", exact=True).fill("Harmless pairs")
    page.get_by_label("Slug").fill("harmless-pairs")
    page.get_by_label("Task type").select_option("pairwise")
    page.get_by_label("Status").select_option("active")
    instructions = page.get_by_label("Instructions (Markdown)")
    instructions.fill("Prefer the **harmless** reply.")
    page.locator("#instructions-preview strong", has_text="harmless").wait_for()  # live preview via htmx
    page.locator("[name=rubric-0-key]").fill("harmless")
    page.locator("[name=rubric-0-label]").fill("Harmlessness")
    page.get_by_label("Overlap").fill("1")
    page.get_by_label("Pay rate").fill("0.90")
    page.get_by_label("Unit").select_option("per_task")
    page.get_by_role("button", name="Create project").click()
    assert page.get_by_role("heading", name="Project set-up: Harmless pairs").is_visible()
    project = Project.objects.get(slug="harmless-pairs")
    assert project.rubric[0]["key"] == "harmless"
    assert PayRate.objects.get(project=project).amount == Decimal("0.9000")

    page.get_by_role("link", name="Import tasks").first.click()
    page.get_by_label("Project", exact=True).select_option(str(project.pk))
    page.get_by_label("New batch name").fill("HH harmless test")
    page.get_by_label("File").set_input_files(str(HH_FILE))
    page.get_by_label("Format").select_option("hh_rlhf")
    page.get_by_role("button", name="Import").click()

    progress = page.locator(".import-progress")
    progress.and_(page.locator('[data-status="done"]')).wait_for(timeout=120_000)  # polled in place by htmx
    task_import = TaskImport.objects.get()
    assert task_import.status == TaskImport.Status.DONE
    assert Task.objects.filter(batch=task_import.batch).count() == task_import.imported_count == HH_LINES
    assert str(task_import.imported_count) in page.locator('[data-figure="imported"]').inner_text()

    page.get_by_role("link", name="Schedule its release").click()
    release_at = timezone.now() + settings.TASKHUB_RELEASE_MIN_NOTICE + timedelta(hours=2)
    page.get_by_label("Release at").fill(_local(release_at, admin))
    page.get_by_label("Fair share").check()
    page.get_by_role("button", name="Schedule release").click()
    batch = Batch.objects.get(pk=task_import.batch_id)
    assert batch.status == Batch.Status.SCHEDULED
    assert abs((batch.release_at - release_at).total_seconds()) < 60

    local = timezone.localtime(batch.release_at, admin.tzinfo)
    page.goto(f"/manage/calendar/?month={local:%Y-%m}")
    entry = page.get_by_role("link", name="Harmless pairs · HH harmless test")
    assert entry.is_visible()
    assert local.strftime("%H:%M") in entry.inner_text()


def _sprint_with_work(lead):
    from tests.sprints.sprint_helpers import make_sprint, make_work

    member = factories.ContractorFactory(display_name="Ada Member")
    project = factories.ProjectFactory(name="Helpful pairs", rubric=[{"key": "accuracy", "label": "Accuracy"}])
    sprint = make_sprint(lead=lead, members=[member], projects=[project], hours_ago=3)
    answer = {"choice": "A", "strength": "clear", "reason": "A answers the question."}
    work = make_work(contractor=member, project=project, count=4, at=sprint.starts_at + timedelta(minutes=20))
    gold = make_work(contractor=member, project=project, count=1, at=sprint.starts_at + timedelta(minutes=30),
                     gold_agreement=1.0)
    Submission.objects.filter(pk__in=[s.pk for s in work + gold]).update(answer=answer)
    Task.objects.filter(submissions__in=gold).update(gold_answer=answer)
    return sprint, member, project


def test_a_lead_grades_five_items_with_the_keyboard_and_decides_a_flag(page, login):
    from annotations.models import ContractorFlag, Review

    lead = factories.LeadFactory()
    sprint, member, project = _sprint_with_work(lead)
    login(lead)
    page.goto(f"/lead/sprints/{sprint.pk}/")
    page.get_by_role("link", name="Review this sprint's work").click()
    page.get_by_role("link", name="Start grading").click()

    for item in range(5):
        page.locator("#grade-form").wait_for()
        page.wait_for_load_state("load")  # review.js (deferred) is listening for the keys
        heading = page.get_by_role("heading", level=1).inner_text()
        low = item == 1
        page.keyboard.press("2" if low else "4")  # overall grade
        page.keyboard.press("2" if low else "4")  # the rubric mark
        if low:  # a 1 or 2 needs a reason: the page moves the focus to it
            assert page.evaluate("document.activeElement.id") == "reason"
            page.keyboard.type("The choice ignores the safety problem in B.")
        page.keyboard.press("Control+Enter")
        expect(page.locator("h1")).not_to_have_text(heading)

    graded = Review.objects.filter(reviewer=lead)
    assert graded.filter(kind=Review.Kind.REVIEWER).count() == 4
    assert graded.filter(kind=Review.Kind.CALIBRATION).count() == 1  # the gold item mixed in
    low = graded.get(kind=Review.Kind.REVIEWER, score=2)
    assert low.reason == "The choice ignores the safety problem in B."

    flag = ContractorFlag.objects.create(contractor=member, project=project, average=Decimal("2.00"),
                                         threshold=Decimal("2.50"), grades_counted=4, created_at=timezone.now(),
                                         respond_until=timezone.now() + timedelta(hours=48))
    page.goto(f"/lead/sprints/{sprint.pk}/roster/")
    row = page.get_by_role("row", name="Ada Member")
    row.get_by_label("Decision").select_option("warn")
    row.get_by_label("Reason the contractor will read").fill("Please re-read the harmlessness guidance, section 2.")
    row.get_by_role("button", name="Decide").click()
    page.wait_for_load_state()
    flag.refresh_from_db()
    assert flag.status == ContractorFlag.Status.WARNED
    assert flag.reason == "Please re-read the harmlessness guidance, section 2."


def test_an_admin_approves_payouts_from_the_admin_area(page, login):
    from payouts.models import LedgerEntry, Payout
    from payouts.services import payouts_draft
    from payouts.services.payouts import payout_period_last_closed

    admin = factories.AdminFactory()
    period = payout_period_last_closed()
    people = [factories.ContractorFactory() for _ in range(2)]
    for person in people:
        LedgerEntry.objects.create(contractor=person, kind="bonus", amount=Decimal("25.00"), currency="USD",
                                   source_type="manual", reason="Sprint bonus",
                                   idempotency_key=f"e2e-bonus-{person.pk}",
                                   created_at=period.start + timedelta(hours=1))
    assert payouts_draft(period=period) == 2

    login(admin)
    page.goto("/manage/")
    page.get_by_role("link", name="Payouts").first.click()
    for payout in Payout.objects.all():
        page.get_by_label(f"Approve payout {payout.pk}").check()
    page.get_by_role("button", name="Approve selected").click()
    page.wait_for_load_state()
    assert set(Payout.objects.values_list("status", flat=True)) == {"approved"}
