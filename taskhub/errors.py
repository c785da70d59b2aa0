"""One shape for domain errors, and the one place that turns them into HTTP responses.

Services raise `DomainError` (or a subclass) with a stable `code`, a human message and,
where it helps, the `field` or the list of `errors` (each with a location) it is about.
Pages get the message rendered with the right status; the API gets a JSON problem.
Neither ever becomes a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.response import Response
from rest_framework.views import exception_handler


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

    def as_problem(self) -> dict[str, Any]:
        problem: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            problem["field"] = self.field
        if self.errors:
            problem["errors"] = self.errors
        return problem


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


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


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_problem(), status=exc.status)
    return exception_handler(exc, context)
