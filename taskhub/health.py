"""Health of what TaskHub cannot work without: PostgreSQL and Redis, and the Celery worker and beat
that run its background work (their heartbeats, see taskhub.heartbeats).

`GET /healthz` answers 200 when all four are fine, else 503 naming what is down. The web
container's own check asks `GET /healthz?scope=web` (PostgreSQL and Redis only): a web server is
healthy while the worker is down, but the site is not.
"""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .heartbeats import heartbeat_states


def _check_postgres() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any failure means "down"; the reason is reported
        connection.close()
        return f"down: {exc.__class__.__name__}"


def _check_redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as exc:
        return f"down: {exc.__class__.__name__}"


def _check_heartbeats() -> dict[str, str]:
    try:
        states = heartbeat_states()
    except Exception as exc:
        return {"worker": f"unknown: {exc.__class__.__name__}", "beat": f"unknown: {exc.__class__.__name__}"}
    return {"worker": states["worker"], "beat": states["beat"]}


@never_cache
@require_GET
def healthz(request):
    checks = {"postgres": _check_postgres(), "redis": _check_redis()}
    if request.GET.get("scope") != "web":
        if checks["redis"] == "ok":
            checks.update(_check_heartbeats())
        else:
            checks.update({"worker": "unknown: Redis is down", "beat": "unknown: Redis is down"})
    healthy = all(state == "ok" for state in checks.values())
    # "unknown" (a heartbeat that cannot be read while Redis is down) is not counted as down.
    down = [name for name, state in checks.items() if state.startswith("down")]
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if down:
        body["down"] = down
    return JsonResponse(body, status=200 if healthy else 503)
