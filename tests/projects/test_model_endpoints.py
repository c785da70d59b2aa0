"""Admins set up a project's model endpoints: OpenAI-compatible servers, keys by the name of their
environment variable only, limits kept by the database, and a test message that says what happened."""

import pytest
from django.urls import reverse

from projects import services
from projects.errors import ModelEndpointError
from projects.models import ModelEndpoint
from tests.annotations.conversations import closed_port_url
from tests.annotations.reviewing import make_project

pytestmark = pytest.mark.django_db

FORM = {"name": "primary", "base_url": "http://vllm:8000/v1", "model": "llama-3.1-8b", "api_key_env": "",
        "system_prompt": "", "temperature": "", "max_tokens": "512", "connect_timeout_seconds": "5",
        "read_timeout_seconds": "30", "max_reply_seconds": "120", "requests_per_task": "20",
        "requests_per_contractor_hour": "100", "is_default": "on", "is_active": "on"}


def test_an_admin_adds_an_endpoint_on_the_projects_page(client_for, admin_user):
    project = make_project("redteam")
    client = client_for(admin_user)
    response = client.post(reverse("manage:model_endpoints", args=[project.pk]), {**FORM,
                                                                                   "api_key_env": "VLLM_KEY"})
    endpoint = ModelEndpoint.objects.get(project=project)
    assert response.status_code == 302 and response["Location"] == reverse("manage:model_endpoint",
                                                                           args=[endpoint.pk])
    assert (endpoint.base_url, endpoint.model, endpoint.api_key_env, endpoint.is_default) == (
        "http://vllm:8000/v1", "llama-3.1-8b", "VLLM_KEY", True)
    page = client.get(reverse("manage:model_endpoint", args=[endpoint.pk])).content.decode()
    assert "<code>VLLM_KEY</code> is not set on this server" in page


@pytest.mark.parametrize(("field", "value", "words"), [
    ("api_key_env", "sk-proj-abc123def456", "looks like an API key itself"),
    ("api_key_env", "my key", "capital letters, digits and _"),
    ("api_key_env", "1KEY", "not starting with a digit"),
    ("base_url", "ftp://models.example.org/v1", "http:// or https://"),
    ("base_url", "https://user:secret@models.example.org/v1", "no credentials in the URL"),
    ("max_tokens", "0", "greater than or equal to 1"),
    ("temperature", "2.5", "less than or equal to 2"),
])
def test_a_bad_setting_is_refused_at_its_field_and_nothing_is_stored(client_for, admin_user, field, value, words):
    project = make_project("redteam")
    response = client_for(admin_user).post(reverse("manage:model_endpoints", args=[project.pk]),
                                           {**FORM, field: value})
    assert response.status_code == 400
    body = response.content.decode()
    assert f'data-field="{field}"' in body and words in body
    if field == "api_key_env":
        assert f'value="{value}"' not in body  # a pasted key is not even shown back
    assert not ModelEndpoint.objects.exists()


def test_one_default_endpoint_per_project_and_only_for_projects_that_use_a_model():
    project = make_project("pairwise")
    fields = {"base_url": "http://vllm:8000/v1", "model": "m"}
    first = services.model_endpoint_create(project=project, fields={"name": "a", **fields})
    second = services.model_endpoint_create(project=project, fields={"name": "b", **fields, "is_default": True})
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    with pytest.raises(ModelEndpointError) as refused:
        services.model_endpoint_create(project=project, fields={"name": "a", **fields})
    assert refused.value.field == "name"
    with pytest.raises(ModelEndpointError) as refused:
        services.model_endpoint_create(project=make_project("rating"), fields={"name": "a", **fields})
    assert "model endpoints are for red-teaming and pairwise generation" in refused.value.message


def test_a_test_message_says_what_came_back_or_what_went_wrong(client_for, admin_user, model_server):
    project = make_project("redteam")
    working = services.model_endpoint_create(project=project, fields={"name": "up", "base_url": model_server.base_url,
                                                                      "model": "m"})
    down = services.model_endpoint_create(project=project, fields={"name": "down", "base_url": closed_port_url(),
                                                                   "model": "m", "connect_timeout_seconds": 1})
    client = client_for(admin_user)
    page = client.post(reverse("manage:model_endpoint_check", args=[working.pk])).content.decode()
    assert "taskhub-test-model answered in" in page and "You said: Reply with the single word: ready" in page
    page = client.post(reverse("manage:model_endpoint_check", args=[down.pk])).content.decode()
    assert "cannot reach the model at 127.0.0.1" in page
    assert model_server.requests[0]["body"]["max_tokens"] == 16
