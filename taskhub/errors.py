"""One shape for domain errors, and the one place that turns them into HTTP responses.

Services raise `DomainError` (or a subclass from their app's `errors.py`) with a stable `code`, a
human message and, where it helps, the `field` it is about and its `errors`: items of one shape,
`{"field": ..., "message": ...}` (an item about a line of an uploaded file also has `"line"`).
Pages get the message rendered with the right status, next to its field where the page has one
(`apply_to_forms`); the API gets a JSON problem. Neither ever becomes a 500.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import kombu.exceptions
import psycopg
import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.errors = errors or []

    @classmethod
    def at(cls, field: str, message: str, **kwargs) -> DomainError:
        """The error of one field, with its one item."""
        return cls(message, field=field, errors=[{"field": field, "message": message}], **kwargs)

    @classmethod
    def combine(cls, errors: list[DomainError], **kwargs) -> DomainError:
        """Several refusals at once: the messages joined, every item kept, the first field leading."""
        items = [item for error in errors
                 for item in (error.errors or [{"field": error.field, "message": error.message}])]
        return cls("; ".join(e.message for e in errors), field=errors[0].field, errors=items, **kwargs)

    def as_problem(self) -> dict[str, Any]:
        problem: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            problem["field"] = self.field
        if self.errors:
            problem["errors"] = self.errors
        return problem


class InvalidInput(DomainError):
    """A value that is not what its field takes (see taskhub.parsing)."""

    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def apply_to_forms(forms, exc: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's refusal next to its field, in the first of `forms` that has that field
    (above the first form when none has it). `aliases` maps a service's field name to the form's."""
    forms = list(forms)
    aliases = aliases or {}
    for item in exc.errors or [{"field": exc.field, "message": exc.message}]:
        name = aliases.get(item.get("field"), item.get("field"))
        form = next((f for f in forms if name and name in f.fields), None)
        if form is not None:
            form.add_error(name, item["message"])
        else:
            forms[0].add_error(None, item["message"])


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if wants_json(request):
            return JsonResponse(exception.as_problem(), status=exception.status)
        return render(request, "errors/domain_error.html", {"error": exception}, status=exception.status)


# --- a service TaskHub needs is down ---------------------------------------------------------------

RETRY_AFTER = "30"
_SERVICE_NAMES = {"postgres": "the database", "redis": "Redis (the task queue and cache)"}


def unavailable_service(exc: BaseException | None) -> str | None:
    """"postgres" or "redis" when `exc` (or what caused it) says that service cannot be reached."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError
                      | kombu.exceptions.OperationalError):
            return "redis"
        if isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
            return "postgres"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def unavailable_problem(service: str) -> dict[str, Any]:
    return {
        "code": "service_unavailable",
        "detail": f"TaskHub cannot reach {_SERVICE_NAMES[service]} right now. What you saved before is safe; "
                  "try again in a minute.",
        "service": service,
    }


def unavailable_response(request: HttpRequest, service: str) -> HttpResponse:
    """A 503 that needs neither the database nor Redis to render (no context processors)."""
    if wants_json(request):
        return JsonResponse(unavailable_problem(service), status=503, headers={"Retry-After": RETRY_AFTER})
    body = render_to_string("errors/unavailable.html", {"service": _SERVICE_NAMES[service]})
    return HttpResponse(body, status=503, headers={"Retry-After": RETRY_AFTER})


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 with a clear message when PostgreSQL or Redis is down, otherwise a 500
    (JSON under /api/). Called by Django while the exception is being handled, wherever it was
    raised (a view, a middleware, an on-commit callback)."""
    exc = sys.exc_info()[1]
    service = unavailable_service(exc)
    if service:
        logger.warning("%s unavailable while serving %s: %r", service, request.path, exc)
        return unavailable_response(request, service)
    if wants_json(request):
        return JsonResponse({"code": "server_error", "detail": "Something went wrong on our side; it was logged."},
                            status=500)
    return HttpResponse(render_to_string("500.html"), status=500)
