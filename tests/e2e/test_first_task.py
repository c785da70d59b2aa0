"""A contractor signs in, starts working, answers a pairwise task and gets the next one."""

import pytest

from annotations.models import Submission
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_contractor_claims_answers_and_gets_the_next_task(page, login):
    person = factories.ContractorFactory()
    batch = factories.BatchFactory(project__name="Helpful pairs", project__slug="helpful-pairs")
    factories.make_tasks(batch, 2)

    login(person)
    assert page.get_by_role("heading", name="Welcome back").is_visible()
    row = page.get_by_role("row", name="Helpful pairs")
    assert "2" in row.inner_text()
    row.get_by_role("button", name="Start working").click()

    page.get_by_label("Response A").check()
    page.get_by_label("Clearly").check()
    page.get_by_label("Why?").fill("A answers the question; B does not.")
    page.get_by_role("button", name="Submit and next").click()

    assert page.get_by_text("Submitted. Here is your next task.").is_visible()
    assert page.get_by_role("heading", name="Helpful pairs").is_visible()
    submission = Submission.objects.get(contractor=person)
    assert submission.answer == {"choice": "A", "strength": "clear", "reason": "A answers the question; B does not."}
