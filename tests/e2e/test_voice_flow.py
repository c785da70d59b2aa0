"""A voice, in the browser (issue 17): a flagged contractor answers on My work; the lead reads the
answer on the flags page, cannot pause before the answer window ends, pauses as urgent with a
reason; the contractor appeals the pause and reads the decision of another lead on their History
page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotations.models import ContractorFlag, ContractorPause, PauseAppeal
from sprints import services as lead_services
from tests import factories
from tests.annotations.reviewing import lead_of, make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWER = "The guide changed mid-week and I followed the old rule on these."
APPEAL = "I have reread the new guide; the two tasks graded 1 were ambiguous."


def test_a_contractor_answers_a_flag_and_appeals_the_pause(page, login):
    project = make_project("pairwise", name="Helpful pairs")
    person = factories.ContractorFactory(display_name="Ada Member")
    lead, other_lead = factories.LeadFactory(), factories.LeadFactory()
    lead_of(lead, person, project)
    lead_of(other_lead, person, project)
    flag = ContractorFlag.objects.create(contractor=person, project=project, average=Decimal("1.67"),
                                         threshold=Decimal("2.50"), grades_counted=3, created_at=timezone.now(),
                                         respond_until=timezone.now() + timedelta(hours=48))

    login(person)
    page.goto("/work/submissions/")
    page.get_by_text("Answer before the lead decides").click()
    page.get_by_label("Your side").fill(ANSWER)
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_text("Answer sent.")).to_be_visible()
    expect(page.get_by_text(ANSWER)).to_be_visible()

    page.context.clear_cookies()
    login(lead)
    page.goto("/lead/flags/")
    expect(page.get_by_text(ANSWER)).to_be_visible()
    page.get_by_label("Decision").first.select_option("pause")
    page.get_by_label("Reason").first.fill("Three low grades in a row on the same kind of mistake.")
    page.get_by_role("button", name="Decide").first.click()
    expect(page.get_by_text("decision the contractor may answer until")).to_be_visible()  # refused: the window is open
    assert not ContractorPause.objects.exists()
    page.get_by_label("Decision").first.select_option("pause")
    page.get_by_label("Reason").first.fill("Three low grades in a row on the same kind of mistake.")
    page.get_by_label("Urgent: pause before the answer window ends").first.check()
    page.get_by_label("Why it cannot wait").first.fill("A customer batch with these tasks is due tomorrow.")
    page.get_by_role("button", name="Decide").first.click()
    expect(page.get_by_text("paused on the project")).to_be_visible()
    pause = ContractorPause.objects.get(contractor=person)

    page.context.clear_cookies()
    login(person)
    page.goto("/work/submissions/")
    page.get_by_text("Appeal this pause").click()
    page.get_by_label("Why should the pause be lifted?").fill(APPEAL)
    page.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_text("Appeal sent.")).to_be_visible()
    appeal = PauseAppeal.objects.get(pause=pause)

    lead_services.pause_appeal_decide(appeal=appeal, lead=other_lead, outcome="lift",
                                      reason="Ambiguous tasks, as the contractor said: lifted.")
    page.goto("/work/history/")
    expect(page.get_by_role("cell", name="Pause appeal decided")).to_be_visible()
    expect(page.get_by_text("Ambiguous tasks, as the contractor said: lifted.")).to_be_visible()
    flag.refresh_from_db()
    assert flag.urgent and flag.response == ANSWER
