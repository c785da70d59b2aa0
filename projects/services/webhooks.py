"""Webhooks: an admin registers a URL per project for events; each event becomes one delivery per
matching hook, signed and sent by Celery with retries and backoff, and recorded.

- `webhooks_emit(project_id=..., event=..., data=...)` is called by whoever emits the event
  (`batch.exhausted` here in projects, `submission.reviewed` and `export.ready` by annotations)
  inside its own transaction: it only inserts delivery rows and enqueues their sending once the
  transaction commits, so emitting costs one INSERT ... SELECT whatever the receivers do.
- `webhook_deliver(delivery_id=...)` makes one attempt (a short timeout) and says whether and when
  to try again; the Celery task (projects.tasks.webhook_deliver, on a queue of its own) schedules
  the retry, so a dead endpoint holds up nothing but its own deliveries.
- `webhook_delivery_resend(...)` sends a recorded delivery again, the same body and id.

The body is JSON: {"id": <delivery uuid>, "event": ..., "created_at": ..., "project": slug, "data": {...}}.
Receivers check `X-TaskHub-Signature: sha256=<hex HMAC-SHA256 of the raw body with the hook's secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from taskhub import outbox
from taskhub.errors import DomainError, NotFound

from .. import tasks
from ..models import WEBHOOK_EVENTS, Project, Webhook, WebhookDelivery

D = WebhookDelivery.Status
SIGNATURE_HEADER = "X-TaskHub-Signature"
USER_AGENT = "TaskHub-Webhooks/1"
# Attempts wait 30 s, 1, 2, 4, ... minutes, at most an hour, between them.
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


class WebhookError(DomainError):
    code = "invalid_webhook"


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def clean_webhook_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise WebhookError.at("url", "Give the URL the events are sent to.")
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookError.at("url", f"A webhook URL must start with http:// or https://, not {scheme or 'nothing'}:.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise WebhookError.at("url", "This is not a valid http(s) URL.") from None
    if len(url) > Webhook._meta.get_field("url").max_length:
        raise WebhookError.at("url", "Keep the URL to 1000 characters.")
    return url


def _clean_events(events: Any) -> list[str]:
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list | tuple) or not events or not all(isinstance(e, str) for e in events):
        raise WebhookError.at("events", f"Choose one or more events among: {', '.join(WEBHOOK_EVENTS)}.")
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise WebhookError.at("events", f"Unknown event {', '.join(unknown)}; use {', '.join(WEBHOOK_EVENTS)}.")
    return sorted(set(events))


def webhook_create(*, project: Project, url: Any, events: Any, created_by=None) -> Webhook:
    """Register a URL for some of the project's events, with a new random secret."""
    errors = []
    cleaned: dict[str, Any] = {}
    for name, clean, value in (("url", clean_webhook_url, url), ("events", _clean_events, events)):
        try:
            cleaned[name] = clean(value)
        except WebhookError as exc:
            errors.append(exc)
    if errors:
        raise WebhookError.combine(errors)
    return Webhook.objects.create(project=project, url=cleaned["url"], events=cleaned["events"],
                                  secret=secrets.token_hex(32), created_by=created_by)


def webhook_update(*, webhook: Webhook, url: Any = None, events: Any = None, is_active: bool | None = None) -> Webhook:
    fields = []
    if url is not None:
        webhook.url = clean_webhook_url(url)
        fields.append("url")
    if events is not None:
        webhook.events = _clean_events(events)
        fields.append("events")
    if is_active is not None:
        webhook.is_active = bool(is_active)
        fields.append("is_active")
    if fields:
        webhook.save(update_fields=fields)
    return webhook


def webhooks_emit(*, project_id: int, event: str, data: dict[str, Any], now: datetime | None = None) -> list[int]:
    """Record the event for every active hook of the project that asked for it, and send each
    once the surrounding transaction commits. Returns the new deliveries' ids."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    now = now or timezone.now()
    hooks = [h for h in Webhook.objects.filter(project_id=project_id, is_active=True).select_related("project")
             if event in (h.events or [])]
    if not hooks:
        return []
    deliveries = []
    for hook in hooks:
        delivery_id = uuid.uuid4()
        body = json.dumps({"id": str(delivery_id), "event": event, "created_at": now.isoformat(),
                           "project": hook.project.slug, "data": data},
                          cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)
        deliveries.append(WebhookDelivery(webhook=hook, event=event, uuid=delivery_id, body=body, created_at=now,
                                          next_attempt_at=now))
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in created]
        for delivery_id in ids:
            outbox.enqueue(tasks.webhook_deliver, delivery_id=delivery_id)
    return ids


def backoff_seconds(attempts: int) -> int:
    """How long to wait after the `attempts`-th failed attempt."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, attempts - 1))


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> int | None:
    """Make one attempt at a delivery. Returns the seconds to wait before the next attempt, or None
    when there is nothing more to do (delivered, given up, gone, or another worker has it)."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True).select_related("webhook")
                    .filter(pk=delivery_id, status__in=[D.PENDING, D.RETRYING]).first())
        if delivery is None:
            return None
        hook = delivery.webhook
        if not hook.is_active:
            delivery.status, delivery.last_error = D.FAILED, "The webhook was switched off."
            delivery.save(update_fields=["status", "last_error"])
            return None
        # The row stays locked while the request is made, so a redelivered task skips it; the
        # request is bounded by TASKHUB_WEBHOOK_TIMEOUT_SECONDS.
        code, error = _post(hook, delivery)
        now = now or timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = code
        delivery.last_error = error
        wait = None
        if error == "":
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = D.DELIVERED, now, None
        elif delivery.attempts >= settings.TASKHUB_WEBHOOK_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = D.FAILED, None
        else:
            wait = backoff_seconds(delivery.attempts)
            delivery.status, delivery.next_attempt_at = D.RETRYING, now + timedelta(seconds=wait)
        delivery.save(update_fields=["attempts", "last_attempt_at", "last_status_code", "last_error", "status",
                                     "delivered_at", "next_attempt_at"])
    return wait


def _post(hook: Webhook, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the body; (status code, "" when delivered, else what went wrong)."""
    body = delivery.body.encode()
    # The URL is http(s) only: clean_webhook_url refused anything else when the hook was saved.
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-TaskHub-Event": delivery.event,
        "X-TaskHub-Delivery": str(delivery.uuid),
        SIGNATURE_HEADER: sign(hook.secret, body),
    })
    try:
        with _opener.open(request, timeout=settings.TASKHUB_WEBHOOK_TIMEOUT_SECONDS) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        return exc.code, f"The endpoint answered {exc.code} {exc.reason}."
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"Could not reach the endpoint: {reason}"[:2000]
    if 200 <= code < 300:
        return code, ""
    return code, f"The endpoint answered {code}."


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send the signed body on to."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_delivery_resend(*, delivery_id: int, project: Project | None = None) -> WebhookDelivery:
    """Send a recorded delivery again (same id and body, so receivers can tell a repeat)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or (project is not None and delivery.webhook.project_id != project.pk):
            raise NotFound("There is no such webhook delivery.", field="delivery")
        if delivery.status in (D.PENDING, D.RETRYING) and delivery.attempts == 0:
            return delivery  # not tried yet: it is on its way
        delivery.status, delivery.attempts, delivery.next_attempt_at = D.PENDING, 0, timezone.now()
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
        outbox.enqueue(tasks.webhook_deliver, delivery_id=delivery_id)
    return delivery
