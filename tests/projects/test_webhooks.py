"""Webhooks: registered per project for events, deliveries signed with HMAC-SHA256 of the body, sent
with retries and backoff, recorded, sent again on request; a dead endpoint slows nothing else."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from projects.models import Batch, WebhookDelivery
from projects.services import (
    batch_mark_exhausted_if_done,
    webhook_create,
    webhook_deliver,
    webhook_delivery_resend,
    webhooks_emit,
)
from projects.services.webhooks import WebhookError, backoff_seconds
from tests import factories
from tests.conftest import wait_for


class Receiver:
    """A local HTTP endpoint that records what it is sent and answers `status`."""

    def __init__(self, status=204):
        self.status, self.requests = status, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))  # case-insensitive
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize(("url", "events", "field"), [
    ("ftp://example.com/x", ["export.ready"], "url"),
    ("javascript:alert(1)", ["export.ready"], "url"),
    ("https://", ["export.ready"], "url"),
    ("https://example.com/x", ["task.eaten"], "events"),
    ("https://example.com/x", [], "events"),
])
def test_bad_registrations_are_refused(db, url, events, field):
    with pytest.raises(WebhookError) as refused:
        webhook_create(project=factories.ProjectFactory(), url=url, events=events)
    assert refused.value.errors[0]["field"] == field


def test_a_delivery_is_signed_and_recorded(db, receiver, django_capture_on_commit_callbacks):
    project = factories.ProjectFactory()
    hook = webhook_create(project=project, url=receiver.url, events=["export.ready"])
    webhook_create(project=project, url=receiver.url, events=["batch.exhausted"])  # not asked for this event
    with django_capture_on_commit_callbacks() as callbacks:
        (delivery_id,) = webhooks_emit(project_id=project.pk, event="export.ready", data={"export": {"id": 7}})
    assert len(callbacks) == 1  # sending waits for the commit, in Celery
    assert webhook_deliver(delivery_id=delivery_id) is None
    (headers, body), = receiver.requests
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-TaskHub-Signature"] == expected
    assert headers["X-TaskHub-Event"] == "export.ready"
    payload = json.loads(body)
    assert payload["data"] == {"export": {"id": 7}} and payload["project"] == project.slug
    assert headers["X-TaskHub-Delivery"] == payload["id"]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert webhook_deliver(delivery_id=delivery_id) is None and len(receiver.requests) == 1  # a repeat sends nothing


def test_failures_are_retried_with_backoff_then_given_up_and_can_be_sent_again(db, receiver, settings):
    settings.TASKHUB_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    project = factories.ProjectFactory()
    webhook_create(project=project, url=receiver.url, events=["submission.reviewed"])
    (delivery_id,) = webhooks_emit(project_id=project.pk, event="submission.reviewed", data={})
    assert webhook_deliver(delivery_id=delivery_id) == backoff_seconds(1) == 30
    assert webhook_deliver(delivery_id=delivery_id) == backoff_seconds(2) == 60
    assert webhook_deliver(delivery_id=delivery_id) is None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 503)
    assert "503" in delivery.last_error
    receiver.status = 200
    webhook_delivery_resend(delivery_id=delivery_id)
    assert webhook_deliver(delivery_id=delivery_id) is None
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    bodies = {body for _, body in receiver.requests}
    assert len(receiver.requests) == 4 and len(bodies) == 1  # the same body, the same id, each time


def test_an_unreachable_endpoint_is_recorded(db):
    project = factories.ProjectFactory()
    webhook_create(project=project, url="http://127.0.0.1:9/closed", events=["export.ready"])
    (delivery_id,) = webhooks_emit(project_id=project.pk, event="export.ready", data={})
    assert webhook_deliver(delivery_id=delivery_id) == 30
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "retrying" and "Could not reach" in delivery.last_error


def test_an_exhausted_batch_is_announced(db):
    project = factories.ProjectFactory()
    batch = factories.BatchFactory(project=project)
    factories.TaskFactory(batch=batch, project=project, overlap=1, claim_count=1, submitted_count=1)
    webhook_create(project=project, url="https://example.com/hook", events=["batch.exhausted"])
    assert batch_mark_exhausted_if_done(batch_id=batch.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "batch.exhausted" and delivery.status == "pending"
    assert json.loads(delivery.body)["data"]["batch"] == {"id": batch.pk, "name": batch.name, "status": "exhausted"}
    assert not batch_mark_exhausted_if_done(batch_id=batch.pk)  # once
    assert WebhookDelivery.objects.count() == 1 and Batch.objects.get(pk=batch.pk).status == "exhausted"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_on_the_webhook_queue(celery_worker_process, receiver):
    project = factories.ProjectFactory()
    webhook_create(project=project, url=receiver.url, events=["export.ready"])
    (delivery_id,) = webhooks_emit(project_id=project.pk, event="export.ready", data={"n": 1})
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery_id).status == "delivered", timeout=30)
    assert len(receiver.requests) == 1
