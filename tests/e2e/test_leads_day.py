"""The lead's day in the browser (issue 20): a page per contractor reached from the roster and the
flags page; a second opinion sampled, graded blind, decided with a reason the contractor reads; alert
badges, the pace projection and a board that announces only what changed; a question asked from the
workspace, answered in place and pinned to the project's FAQ."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotations.models import Appeal, Claim, ContractorFlag, SecondOpinion, Submission
from sprints.models import Question, Sprint
from tests import factories
from tests.annotations.reviewing import RUBRIC, lead_of, make_project, make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOW_REASON = "Chose the answer that contradicts the prompt's own numbers."
APPEAL = "The prompt's numbers were ambiguous; B reads them the other way."


def _work(work, person, project, score, *, reviewer, reason="", at=None):
    submission = work.submission(contractor=person, project=project, at=at)
    review = work.review(submission, score, reviewer=reviewer)
    if reason:
        type(review).objects.filter(pk=review.pk).update(reason=reason)
    return submission, review


def test_a_lead_opens_a_contractors_page_from_the_roster_and_the_flags_page(page, login, work):
    lead = factories.LeadFactory()
    person = factories.ContractorFactory(display_name="Ada Member")
    project = work.project(name="Helpful pairs", rubric=RUBRIC)
    sprint = lead_of(lead, person, project)
    Sprint.objects.filter(pk=sprint.pk).update(status=Sprint.Status.OPEN)
    now = timezone.now()
    for days, score in ((3, 4), (2, 3), (1, 1)):
        _work(work, person, project, score, reviewer=lead, at=now - timedelta(days=days),
              reason=LOW_REASON if score == 1 else "")
    low = Submission.objects.get(final_grade=1).reviews.get()
    Appeal.objects.create(review=low, contractor=person, reason=APPEAL, created_at=now)
    ContractorFlag.objects.create(contractor=person, project=project, average=Decimal("2.67"),
                                  threshold=Decimal("3.00"), grades_counted=3, created_at=now)

    login(lead)
    page.goto(f"/lead/sprints/{sprint.pk}/roster/")
    page.get_by_role("link", name="Ada Member").click()
    expect(page.get_by_role("heading", name="Ada Member")).to_be_visible()
    expect(page.get_by_text(LOW_REASON)).to_be_visible()
    expect(page.get_by_text(APPEAL)).to_be_visible()
    expect(page.locator('[data-figure="average"]')).to_have_text("2.67")
    expect(page.locator("svg.trend polyline")).to_have_count(1)
    assert page.locator("svg.trend circle").count() == 3
    expect(page.get_by_role("img", name="Average final grade per day over the last 30 days, on a scale of 1 to 5")) \
        .to_be_visible()

    # Deciding the flag, the lead reads the graded work itself, with its reasons and the appeal.
    page.get_by_role("link", name="Flags").first.click()
    page.get_by_text("The graded work").click()
    flag_row = page.locator("tr", has_text="Helpful pairs")
    expect(flag_row.get_by_text(LOW_REASON)).to_be_visible()
    expect(flag_row.get_by_text(APPEAL, exact=False)).to_be_visible()
    flag_row.get_by_role("link", name="Ada Member").click()
    expect(page.get_by_role("heading", name="Ada Member")).to_be_visible()


def test_a_second_opinion_is_sampled_graded_blind_and_decided_with_a_reason(page, login, work):
    first = factories.LeadFactory(display_name="First Lead")
    lead = factories.LeadFactory(display_name="Deciding Lead")
    second = factories.ContractorFactory(is_reviewer=True, display_name="Peer Second")
    person = factories.ContractorFactory(display_name="Ada Member")
    project = make_project("pairwise", name="Helpful pairs")
    lead_of(lead, person, project)
    task = make_task(project)
    claim = Claim.objects.create(task=task, contractor=person, project=project, batch=task.batch,
                                 status=Claim.Status.SUBMITTED, claimed_at=timezone.now(),
                                 deadline=timezone.now() + timedelta(hours=1), finished_at=timezone.now())
    submission = Submission.objects.create(claim=claim, task=task, contractor=person, project=project,
                                           answer={"choice": "A", "strength": "clear", "reason": "A is right."},
                                           active_seconds=90, submitted_at=timezone.now())
    work.review(submission, 4, reviewer=first)

    login(lead)
    page.goto("/lead/second-opinions/")
    page.get_by_label("How many").fill("1")
    page.get_by_role("button", name="Sample at random").click()
    expect(page.get_by_text("1 graded submission sampled")).to_be_visible()
    opinion = SecondOpinion.objects.get()

    page.context.clear_cookies()
    login(second)
    badge = page.locator('[data-badge="second_opinions"] .count-badge')
    expect(badge).to_have_text("1")
    page.locator('[data-badge="second_opinions"]').click()
    page.get_by_role("link", name="Grade blind").click()
    expect(page.get_by_role("heading", name="Second opinion · Helpful pairs", exact=False)).to_be_visible()
    assert "4/5" not in page.content()  # blind: the first grade is not shown
    page.get_by_label("2", exact=True).first.check()
    for criterion in ("Accuracy", "Clarity"):
        page.get_by_role("group", name=criterion).get_by_label("2").check()
    page.get_by_label("Reason").fill("A misreads the prompt's second question entirely.")
    page.get_by_role("button", name="Save second opinion").click()
    expect(page.get_by_text("differs from the first grade")).to_be_visible()
    submission.refresh_from_db()
    assert submission.final_grade == 4  # nothing changes before the decision

    page.context.clear_cookies()
    login(lead)
    expect(page.locator('[data-badge="re_review"] .count-badge')).to_have_text("1")
    page.locator('[data-badge="re_review"]').click()
    row = page.locator(f"#opinion-{opinion.pk}")
    expect(row.get_by_text("4/5")).to_be_visible()  # the decider sees both grades
    row.get_by_label("Outcome").select_option("revised")
    row.get_by_label("Reason").fill("The second reading is right: A misses the second question.")
    row.get_by_role("button", name="Decide").click()
    expect(page.get_by_text("The contractor reads your reason.")).to_be_visible()
    agreement = page.locator("table.agreement")
    expect(agreement.get_by_role("row", name="First Lead")).to_contain_text("0.0%")
    submission.refresh_from_db()
    assert submission.final_grade == 2

    page.context.clear_cookies()
    login(person)
    page.goto("/work/submissions/")
    expect(page.get_by_text("grade revised from 4 to 2")).to_be_visible()
    expect(page.get_by_text("The second reading is right: A misses the second question.")).to_be_visible()


def test_badges_the_pace_and_a_board_that_announces_only_what_changed(page, login, work):
    lead = factories.LeadFactory()
    member = factories.ContractorFactory(display_name="Ada Member")
    project = work.project(name="Helpful pairs")
    sprint = lead_of(lead, member, project)
    now = timezone.now()
    # 1 h 58 min of a 10 h window has passed: 3 done projects to 15 (rounded down) for a minute or so.
    Sprint.objects.filter(pk=sprint.pk).update(status=Sprint.Status.OPEN,
                                               starts_at=now - timedelta(hours=2) + timedelta(minutes=2),
                                               ends_at=now + timedelta(hours=8) + timedelta(minutes=2),
                                               target_submissions=30)
    for _ in range(3):
        work.submission(contractor=member, project=project, at=now - timedelta(hours=1))
    ContractorFlag.objects.create(contractor=member, project=project, average=Decimal("1.50"),
                                  threshold=Decimal("2.50"), grades_counted=3, created_at=now)

    login(lead)
    expect(page.locator('[data-badge="flags"] .count-badge')).to_have_text("1")
    page.goto(f"/lead/sprints/{sprint.pk}/")
    expect(page.locator('[data-figure="pace"]')).to_have_text("At this pace 15 of 30 by the end.")
    assert page.locator("#board").get_attribute("aria-live") is None  # the board itself is not re-read
    region = page.locator("#board-changes")
    assert region.get_attribute("aria-live") == "polite"
    expect(region).to_have_text("")

    for _ in range(3):
        work.submission(contractor=member, project=project, at=timezone.now() - timedelta(minutes=1))
    expect(page.locator('[data-figure="submitted"]')).to_have_text("6 / 30", timeout=25_000)
    expect(region).to_contain_text("Submitted: 6 / 30 (was 3 / 30)")
    said = region.inner_text()
    assert "Average grade" not in said and "Reviewed" not in said  # unchanged figures are not announced
    assert "Pace: At this pace" in said


def test_a_contractor_asks_from_the_workspace_and_the_lead_answers_and_pins_it(page, login):
    lead = factories.LeadFactory()
    person = factories.ContractorFactory(display_name="Ada Member")
    project = make_project("pairwise", name="Helpful pairs")
    lead_of(lead, person, project)
    task = make_task(project)
    claim = Claim.objects.create(task=task, contractor=person, project=project, batch=task.batch,
                                 claimed_at=timezone.now(), deadline=timezone.now() + timedelta(hours=1))
    question = "Is a tie fine when both answers are wrong?"
    answer = "Yes: choose tie and say what both get wrong."

    login(person)
    page.goto(f"/work/claims/{claim.pk}/")
    page.get_by_text("Ask your lead a question about this task").click()
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send question").click()
    expect(page.get_by_text("Question sent to your lead")).to_be_visible()
    assert Question.objects.get().task_id == task.pk

    page.context.clear_cookies()
    login(lead)
    expect(page.locator('[data-badge="questions"] .count-badge')).to_have_text("1")
    page.locator('[data-badge="questions"]').click()
    expect(page.get_by_text(question)).to_be_visible()
    page.get_by_label("Answer to Ada Member").fill(answer)
    page.get_by_label("Pin to the FAQ of Helpful pairs").check()
    page.get_by_role("button", name="Answer").click()
    expect(page.get_by_text("Answered; they are notified.")).to_be_visible()
    expect(page.locator('[data-badge="questions"] .count-badge')).to_have_count(0)

    page.context.clear_cookies()
    login(person)
    page.get_by_role("link", name="My questions").click()
    expect(page.locator(".question-answer")).to_contain_text(answer)
    page.goto(f"/work/claims/{claim.pk}/")
    expect(page.locator(".faq")).to_contain_text(question)
    expect(page.locator(".faq")).to_contain_text(answer)
    page.goto(f"/work/projects/{project.slug}/")
    expect(page.locator(".faq")).to_contain_text(answer)
