"""Liveness of the two services TaskHub cannot work without."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


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


@never_cache
@require_GET
def healthz(request):
    checks = {"postgres": _check_postgres(), "redis": _check_redis()}
    healthy = all(state == "ok" for state in checks.values())
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if down:
        body["down"] = down
    return JsonResponse(body, status=200 if healthy else 503)
