"""Helpers for the red-team conversation tests: a project with its model endpoint, claims, and reading
server-sent events."""

from __future__ import annotations

import json
import socket

from django.urls import reverse

from annotations.models import Claim
from projects import services as project_services
from tests import factories
from tests.annotations.reviewing import claim_for, make_project, make_task

ENDPOINT = {"name": "primary", "model": "taskhub-test-model", "read_timeout_seconds": 2, "connect_timeout_seconds": 2,
            "max_reply_seconds": 20, "max_tokens": 200, "requests_per_task": 30, "requests_per_contractor_hour": 120}


def closed_port_url() -> str:
    """A loopback URL where nothing listens (a model that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def redteam_project(base_url: str, **endpoint):
    project = make_project("redteam")
    project_services.model_endpoint_create(project=project, fields={**ENDPOINT, "base_url": base_url, **endpoint})
    return project


def redteam_claim(project, contractor=None) -> Claim:
    contractor = contractor or factories.ContractorFactory()
    make_task(project)
    return claim_for(contractor, project)


def events(response) -> list[tuple[str, dict]]:
    """The server-sent events of a streamed response, as (event, data)."""
    assert response["Content-Type"].startswith("text/event-stream")
    body = b"".join(response.streaming_content).decode()
    found = []
    for block in body.split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
        if name:
            found.append((name, data))
    return found


def send(client, claim, message: str) -> tuple[dict, list[tuple[str, dict]]]:
    """Post a message, then read its stream: (the created turn, the events)."""
    created = client.post(reverse("work:turns", args=[claim.pk]), {"message": message},
                          HTTP_ACCEPT="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    return body["turn"], events(client.get(body["stream_url"]))


def reply_text(found: list[tuple[str, dict]]) -> str:
    return "".join(data["text"] for name, data in found if name == "delta")
