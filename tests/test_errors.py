"""One error shape: DomainErrors become clear 4xx pages or JSON problems, never a 500."""

import json

import pytest
from django.test import RequestFactory

from taskhub.errors import Conflict, DomainError, DomainErrorMiddleware


@pytest.fixture
def middleware():
    return DomainErrorMiddleware(lambda request: None)


@pytest.mark.parametrize(
    "errors",
    [
        [{"field": "spans.0.end", "message": "past the end of the clip"}],
        [{"line": 7, "message": "duplicate external id"}],
        [{"line": 3, "field": "payload.prompt", "message": "Field required"}],
    ],
)
def test_page_error_lists_each_location(middleware, db, errors):
    request = RequestFactory().get("/work/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = middleware.process_exception(request, DomainError("Invalid answer", errors=errors))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Invalid answer" in body
    assert errors[0]["message"] in body
    if "line" in errors[0]:
        assert f"line {errors[0]['line']}" in body


def test_api_error_is_a_json_problem_with_the_right_status(middleware):
    request = RequestFactory().post("/api/claims/1/submit/")
    response = middleware.process_exception(request, Conflict("Already submitted", code="already_submitted"))
    assert response.status_code == 409
    assert json.loads(response.content) == {"code": "already_submitted", "detail": "Already submitted"}


def test_other_exceptions_are_left_alone(middleware):
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("x")) is None
