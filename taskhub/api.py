"""The REST API's one exception handler (settings REST_FRAMEWORK): domain errors, DRF's validation
errors and unavailable services, all in the problem shape of taskhub.errors. The body parser is
taskhub.parsers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from . import parsing
from .errors import RETRY_AFTER, DomainError, unavailable_problem, unavailable_service


def _drf_items(detail, prefix: str = "") -> list[dict[str, str]]:
    """A DRF validation error's detail ({field: [messages]}, nested) as error items."""
    if isinstance(detail, dict):
        return [item for key, value in detail.items()
                for item in _drf_items(value, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            return [{"field": prefix or "(root)", "message": str(d)} for d in detail]
        return [item for index, value in enumerate(detail)
                for item in _drf_items(value, f"{prefix}.{index}" if prefix else str(index))]
    return [{"field": prefix or "(root)", "message": str(detail)}]


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The API's errors in one shape: `{code, detail, field?, errors?}`, never a 500 for bad input."""
    if isinstance(exc, DomainError):
        return Response(exc.as_problem(), status=exc.status)
    if isinstance(exc, drf_exceptions.ValidationError):
        items = _drf_items(exc.detail)
        detail = "; ".join(f"{i['field']}: {i['message']}" for i in items[:5])
        problem = {"code": "invalid", "detail": detail, "errors": items}
        if items:
            problem["field"] = items[0]["field"]
        return Response(problem, status=exc.status_code)
    if isinstance(exc, drf_exceptions.ParseError):
        return Response({"code": "parse_error", "detail": str(exc.detail)}, status=exc.status_code)
    unavailable = unavailable_service(exc)
    if unavailable:
        return Response(unavailable_problem(unavailable), status=503, headers={"Retry-After": RETRY_AFTER})
    return exception_handler(exc, context)




@extend_schema_field(OpenApiTypes.DATETIME)
class MomentField(serializers.Field):
    """An API field for a moment a person types: ISO 8601 with its offset, within the years TaskHub
    schedules in (taskhub.parsing.moment), refused with a clear message otherwise."""

    default_error_messages = {"invalid": "must be a date and time"}

    def to_internal_value(self, data):
        try:
            return parsing.moment(data, field=self.field_name or "value")
        except DomainError as exc:
            raise serializers.ValidationError(exc.errors[0]["message"] if exc.errors else exc.message) from None

    def to_representation(self, value):
        return serializers.DateTimeField().to_representation(value)
