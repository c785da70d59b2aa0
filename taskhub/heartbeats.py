"""Heartbeats of the background processes, for /healthz.

Beat publishes `taskhub.tasks.heartbeat` every `TASKHUB_SERVICE_HEARTBEAT_SECONDS`; publishing it
records beat's heartbeat (a `before_task_publish` handler that only beat connects, see
taskhub.celery), and a worker running it records the workers' heartbeat. Both are times kept in
Redis. A heartbeat older than three intervals means that process is not doing its job: no beat,
nothing is scheduled (releases, expiries, the outbox drain); no worker, queued work (an import, a
pay recompute) waits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

BEAT = "beat"
WORKER = "worker"
TASK_NAME = "taskhub.tasks.heartbeat"


def _key(name: str) -> str:
    return f"heartbeat:{name}"


def heartbeat_record(name: str, *, at: datetime | None = None) -> None:
    cache.set(_key(name), (at or timezone.now()).isoformat(), timeout=None)


def heartbeats_last_seen() -> dict[str, datetime | None]:
    found = cache.get_many([_key(BEAT), _key(WORKER)])
    return {name: parse_datetime(found[_key(name)]) if found.get(_key(name)) else None for name in (BEAT, WORKER)}


def stale_after() -> timedelta:
    return timedelta(seconds=3 * settings.TASKHUB_SERVICE_HEARTBEAT_SECONDS)


def heartbeat_states(*, now: datetime | None = None) -> dict[str, str]:
    """"ok", or "down: ..." saying since when, for beat and for the workers."""
    now = now or timezone.now()
    states = {}
    for name, seen in heartbeats_last_seen().items():
        if seen is None:
            states[name] = "down: no heartbeat yet"
        elif now - seen > stale_after():
            states[name] = f"down: last heartbeat {int((now - seen).total_seconds())} s ago"
        else:
            states[name] = "ok"
    return states
