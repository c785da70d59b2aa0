"""A service that is down is a 503 with a clear message, never a 500: pages get a page that needs
neither PostgreSQL nor Redis to render, /api/ gets a JSON problem. (The real outages, with a
PostgreSQL and a Redis the test starts and stops, are in tests/hardening/test_faults.py.)"""

import pytest
import redis.exceptions
from django.db import OperationalError
from django.test import Client

from annotations.api import work as work_api
from annotations.views import work as work_views
from taskhub import middleware

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(contractor):
    client = Client(raise_request_exception=False)
    client.force_login(contractor)
    return client


def _fail_with(monkeypatch, target, name, exc):
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(target, name, fail)


def test_a_page_that_loses_the_database_answers_503_with_a_clear_message(signed_in, monkeypatch):
    _fail_with(monkeypatch, work_views.selectors, "projects_for_dashboard",
               OperationalError("server closed the connection unexpectedly"))
    response = signed_in.get("/work/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    body = response.content.decode()
    assert "TaskHub is briefly unavailable" in body and "the database" in body
    assert "<script" not in body and "style=" not in body  # no inline code (CSP)


def test_the_api_answers_a_json_503_naming_the_service(signed_in, monkeypatch):
    _fail_with(monkeypatch, work_api.selectors, "claims_held_for",
               redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."))
    response = signed_in.get("/api/claims/")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable" and response.json()["service"] == "redis"


def test_a_failure_outside_the_view_is_a_503_too(signed_in, monkeypatch):
    _fail_with(monkeypatch, middleware.timezone, "activate", OperationalError("the database system is shutting down"))
    response = signed_in.get("/work/submissions/")
    assert response.status_code == 503 and b"the database" in response.content


def test_anything_else_is_still_a_plain_500(signed_in, monkeypatch):
    _fail_with(monkeypatch, work_views.selectors, "projects_for_dashboard", ZeroDivisionError("a bug"))
    assert signed_in.get("/work/").status_code == 500
    _fail_with(monkeypatch, work_api.selectors, "claims_held_for", ZeroDivisionError("a bug"))
    response = signed_in.get("/api/claims/")
    assert response.status_code == 500 and response.json()["code"] == "server_error"


def test_the_unread_badge_never_fails_a_page_when_redis_is_down(signed_in, monkeypatch, contractor):
    from accounts import selectors
    from accounts.models import Notification

    Notification.objects.create(user=contractor, kind="t", title="Hello")
    _fail_with(monkeypatch, selectors.cache, "get", redis.exceptions.ConnectionError("down"))
    _fail_with(monkeypatch, selectors.cache, "delete_many", redis.exceptions.ConnectionError("down"))
    assert selectors.notifications_unread_count(user=contractor) == 1  # counted in PostgreSQL
    selectors.notifications_unread_forget(user_ids=[contractor.pk])  # and forgetting is not an error
    assert signed_in.get("/work/").status_code == 200
