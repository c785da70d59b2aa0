"""The transactional outbox: an enqueue is written with the write it belongs to, sent once that
commits, kept when the broker is down and sent by the drain later; a committed submit is never
reported as failed because the pay recompute could not be queued."""

from __future__ import annotations

import kombu.exceptions
import pytest
from django.db import transaction
from django.urls import reverse

from annotations.models import Submission
from taskhub import outbox
from taskhub.celery import app
from taskhub.models import OutboxMessage
from tests import factories
from tests.annotations.reviewing import VALID_ANSWERS, claim_for, make_project, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """What reaches the broker (publishing recorded instead of sent)."""
    published: list[tuple[str, dict]] = []
    monkeypatch.setattr(outbox, "_publish", lambda name, kwargs, policy: published.append((name, kwargs)))
    return published


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(name, kwargs, policy):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "_publish", refuse)


def _task():
    return app.tasks["annotations.tasks.claims_expire_overdue"]


def test_a_message_exists_only_if_its_transaction_commits(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(_task())
        raise RuntimeError("the write failed")
    assert not OutboxMessage.objects.exists() and sent == []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(_task(), batch_id=7)
        assert sent == []  # nothing leaves before the commit
    assert sent == [("annotations.tasks.claims_expire_overdue", {"batch_id": 7})]
    message = OutboxMessage.objects.get()
    assert message.sent_at is not None and message.attempts == 1


def test_with_the_broker_down_the_message_waits_and_the_drain_sends_it_once(
        monkeypatch, broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(_task(), batch_id=1)
        outbox.enqueue(_task(), batch_id=2)
    waiting = list(OutboxMessage.objects.order_by("id"))
    assert [m.sent_at for m in waiting] == [None, None]
    assert "Connection refused" in waiting[0].last_error and waiting[0].lease_until is None
    assert outbox.drain() == 0  # still down: nothing sent, nothing lost

    published = []
    monkeypatch.setattr(outbox, "_publish", lambda name, kwargs, policy: published.append(kwargs))
    assert outbox.drain() == 2
    assert published == [{"batch_id": 1}, {"batch_id": 2}]
    assert outbox.drain() == 0 and outbox.waiting() == 0  # sent once


def test_a_leased_message_is_left_to_its_sender(sent):
    message = outbox.enqueue(_task())
    OutboxMessage.objects.filter(pk=message.pk).update(
        lease_until=message.created_at.replace(year=message.created_at.year + 1))
    assert outbox.drain() == 0 and sent == []


def test_a_submit_with_the_broker_down_answers_success_and_is_paid_at_once(client_for, broker_down,
                                                                          django_capture_on_commit_callbacks):
    person = factories.ContractorFactory()
    project = make_project("pairwise")
    factories.PayRateFactory(project=project)
    make_task(project)
    claim = claim_for(person, project)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(person).post(reverse("work:submit", args=[claim.pk]),
                                           {**VALID_ANSWERS["pairwise"], "next": "stop"})
    assert response.status_code == 302 and response["Location"] == reverse("work:dashboard")
    submission = Submission.objects.get(claim=claim)
    # Its pay was posted in the submit's own transaction: nothing waits for the broker.
    assert submission.posted_entries == 1
    assert not OutboxMessage.objects.exists()


def test_the_pay_hook_goes_through_the_outbox_except_for_a_new_submission(sent, django_capture_on_commit_callbacks):
    person = factories.ContractorFactory()
    project = make_project("pairwise")
    make_task(project)
    claim = claim_for(person, project)
    from annotations import services
    from taskhub.hooks import pay_changed

    with django_capture_on_commit_callbacks(execute=True):
        services.claim_submit(claim=claim, contractor=person, answer=VALID_ANSWERS["pairwise"])
    assert sent == [] and not OutboxMessage.objects.exists()  # paid in its own transaction
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        pay_changed(contractor_id=person.pk)  # a grade, an appeal: the recompute is queued
    assert [name for name, _ in sent] == ["payouts.tasks.earnings_recompute"]
    assert OutboxMessage.objects.filter(sent_at__isnull=False).count() == 1


def test_admins_see_what_waits_in_the_outbox(client_for, admin_user, broker_down):
    outbox.enqueue(_task(), batch_id=5)
    page = client_for(admin_user).get("/admin/taskhub/outboxmessage/?sent_at__isnull=True")
    assert page.status_code == 200
    assert "annotations.tasks.claims_expire_overdue" in page.content.decode()
