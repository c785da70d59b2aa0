"""A lottery winner sees their reserved tasks and when each reservation ends in their own time
zone, starts one (the claim time starts then), answers it, and hands another back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Claim, Submission
from annotations.services import lottery
from projects.models import Batch
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_winner_starts_one_reserved_task_and_hands_another_back(page, login):
    winner = factories.ContractorFactory(timezone="America/Los_Angeles")
    now = timezone.now()
    project = factories.ProjectFactory(name="Night-safe pairs", slug="night-safe-pairs", max_active_claims=5,
                                       claim_minutes=45)
    batch = factories.BatchFactory(project=project, status=Batch.Status.SCHEDULED, released_at=None,
                                   release_policy=Batch.Policy.LOTTERY, release_at=now + timedelta(hours=1),
                                   reservation_opens_at=now - timedelta(hours=1))
    factories.make_tasks(batch, 3)
    lottery.lottery_opt_in(batch=batch, contractor=winner, requested=3)
    lottery.lottery_allocate(batch_id=batch.pk, now=now)

    login(winner)
    reserved = page.get_by_role("region", name="Reserved for you")
    until = timezone.localtime(now + timedelta(hours=24), winner.tzinfo)
    assert f"held until {until:%a %d %b %Y %H:%M} P" in reserved.inner_text()  # PST or PDT
    assert "45 minutes to finish once started" in reserved.inner_text()

    reserved.get_by_role("button", name="Start").first.click()
    page.get_by_label("Response A").check()
    page.get_by_label("Clearly").check()
    page.get_by_label("Why?").fill("A answers the question; B does not.")
    page.get_by_role("button", name="Submit and next").click()
    assert Submission.objects.filter(contractor=winner).count() == 1
    opened = Claim.objects.get(contractor=winner, status="submitted")
    assert opened.opened_at is not None and opened.deadline == opened.opened_at + timedelta(minutes=45)
    # "Next" is the winner's own next reservation, opened now.
    assert page.get_by_role("button", name="Submit and next").is_visible()
    assert Claim.objects.filter(contractor=winner, status="active").count() == 1

    page.goto("/work/")
    page.get_by_role("region", name="Reserved for you").get_by_role("button", name="Hand back").click()
    assert page.get_by_text("Handed back").is_visible()
    assert Claim.objects.filter(contractor=winner, status="released").count() == 1
    assert page.get_by_role("region", name="Reserved for you").count() == 0
