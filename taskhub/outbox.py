"""The transactional outbox: Celery tasks that survive a broker outage.

A service that must start background work calls `enqueue(task, **kwargs)` inside its own
transaction. That writes one `OutboxMessage` row in the same transaction, so the message exists
exactly when the write it belongs to was committed (and never when it rolled back). Sending is
then tried twice over:

1. right after the commit (`transaction.on_commit`), in the process that committed, with a quick
   retry only: when Redis answers, the worker gets the task at once;
2. by beat's `taskhub.tasks.outbox_drain`, every `TASKHUB_OUTBOX_DRAIN_SECONDS`, for whatever is
   still waiting (Redis was down, the process died between commit and send).

A sender leases the rows it sends (`lease_until`), so two senders do not send the same message at
the same moment; a sender that dies loses its lease when it runs out. A message can still be sent
twice (sent, then the database went away before it was marked), which is harmless: every TaskHub
task is idempotent (thin tasks that take ids and return early when their work is done).

A failure to send never reaches the person whose request committed: their write is saved, and the
message waits in the table for the drain.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .celery import app as celery_app
from .models import OutboxMessage

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 500
# Sent messages are kept this long (to see what was sent when), then deleted by the drain.
KEEP_SENT = timedelta(days=1)
# Right after a commit the request is waiting: one quick reconnect, then the drain's turn.
AFTER_COMMIT_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

_LEASE_SQL = """
UPDATE taskhub_outboxmessage m SET lease_until = %(until)s, attempts = m.attempts + 1
FROM (
    SELECT id FROM taskhub_outboxmessage
    WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until < %(now)s) {only}
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) due
WHERE m.id = due.id
RETURNING m.id, m.task, m.kwargs
"""


def enqueue(task, /, **kwargs: Any) -> OutboxMessage:
    """Send `task(**kwargs)` once the current transaction commits (at once outside a transaction).

    `task` is a Celery task (its registered name is stored); `kwargs` must be JSON values."""
    message = OutboxMessage.objects.create(task=task.name, kwargs=kwargs)
    message_id = message.pk
    # robust: nothing that goes wrong while sending may turn a committed request into an error.
    transaction.on_commit(lambda: send_after_commit(message_id), robust=True)
    return message


def send_after_commit(message_id: int) -> None:
    try:
        deliver(message_ids=[message_id], retry_policy=AFTER_COMMIT_RETRY)
    except Exception:  # the database itself went away: the drain sends it later
        logger.warning("outbox message %s is left for the drain", message_id, exc_info=True)


def _publish(name: str, kwargs: dict, retry_policy: dict | None) -> None:
    options: dict[str, Any] = {"retry": True}
    if retry_policy is not None:
        options["retry_policy"] = retry_policy
    task = celery_app.tasks.get(name)
    if task is None:
        celery_app.send_task(name, kwargs=kwargs, **options)
    else:
        # apply_async, not send_task: it honours task_always_eager (the tests' eager mode).
        task.apply_async(kwargs=kwargs, **options)


def deliver(*, message_ids: list[int] | None = None, limit: int = BATCH, retry_policy: dict | None = None,
            now: datetime | None = None) -> tuple[int, int]:
    """Lease up to `limit` waiting messages (only `message_ids` if given) and send them in order;
    returns (leased, sent). The first send that fails stops the round: the broker is down, and the
    rest wait for the next one."""
    now = now or timezone.now()
    only = "AND id = ANY(%(ids)s)" if message_ids is not None else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LEASE_SQL.format(only=only),
                       {"until": now + LEASE, "now": now, "limit": limit, "ids": message_ids or []})
        leased = sorted(cursor.fetchall())
    sent: list[int] = []
    failure: Exception | None = None
    for message_id, name, kwargs in leased:
        try:
            _publish(name, json.loads(kwargs) if isinstance(kwargs, str) else kwargs, retry_policy)
        except Exception as exc:  # any failure to publish leaves the message for later
            failure = exc
            break
        sent.append(message_id)
    unsent = [row[0] for row in leased if row[0] not in set(sent)]
    with transaction.atomic(), connection.cursor() as cursor:
        if sent:
            cursor.execute("UPDATE taskhub_outboxmessage SET sent_at = %s, lease_until = NULL, last_error = '' "
                           "WHERE id = ANY(%s)", [timezone.now(), sent])
        if unsent:
            cursor.execute("UPDATE taskhub_outboxmessage SET lease_until = NULL, last_error = %s WHERE id = ANY(%s)",
                           [f"{type(failure).__name__}: {failure}"[:500], unsent])
    if failure is not None:
        logger.warning("outbox: %s message(s) wait for the broker: %r", len(unsent), failure)
    return len(leased), len(sent)


def drain(*, now: datetime | None = None) -> int:
    """Send every waiting message (beat runs this); returns how many were sent."""
    total = 0
    while True:
        leased, sent = deliver(now=now)
        total += sent
        if sent < leased or leased < BATCH:
            break
    OutboxMessage.objects.filter(sent_at__lt=(now or timezone.now()) - KEEP_SENT).delete()
    return total


def waiting() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=True).count()
