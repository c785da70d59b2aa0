"""Admins set up a project's model endpoints (OpenAI-compatible chat completions) and try them.

The API key is never stored: the endpoint names the environment variable that holds it. A value
that looks like a key rather than a variable's name is refused with that said, so a pasted key never
reaches the database (nor its backups).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .. import llm
from ..errors import ModelEndpointError
from ..models import ModelEndpoint, Project

# Project types whose work uses a model: the red-team conversation, and pairwise generation.
MODEL_TYPES = ("redteam", "pairwise")
ENDPOINT_FIELDS = ("name", "base_url", "model", "api_key_env", "system_prompt", "temperature", "max_tokens",
                   "connect_timeout_seconds", "read_timeout_seconds", "max_reply_seconds", "requests_per_task",
                   "requests_per_contractor_hour", "is_default", "is_active")


def _refusal(exc: ValidationError) -> ModelEndpointError:
    errors = [{"field": name if name != "__all__" else "name", "message": str(message)}
              for name, messages in exc.message_dict.items() for message in messages]
    return ModelEndpointError(f"{errors[0]['field']}: {errors[0]['message']}", field=errors[0]["field"],
                              errors=errors)


def _save(endpoint: ModelEndpoint, fields: dict[str, Any]) -> ModelEndpoint:
    unknown = set(fields) - set(ENDPOINT_FIELDS)
    if unknown:
        raise ModelEndpointError(f"Unknown endpoint fields: {sorted(unknown)}.")
    for name, value in fields.items():
        setattr(endpoint, name, value)
    if isinstance(endpoint.base_url, str):
        endpoint.base_url = endpoint.base_url.strip().rstrip("/")
    try:
        endpoint.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise _refusal(exc) from None
    try:
        with transaction.atomic():
            if endpoint.is_default:
                # One default per project (a constraint keeps it): the new default takes over.
                ModelEndpoint.objects.filter(project=endpoint.project_id, is_default=True).exclude(
                    pk=endpoint.pk).update(is_default=False)
            endpoint.save()
    except IntegrityError:
        raise ModelEndpointError.at("name", "This project already has an endpoint with this name.") from None
    return endpoint


def model_endpoint_create(*, project: Project, fields: dict[str, Any], created_by=None) -> ModelEndpoint:
    """Add an endpoint to a red-team or pairwise project."""
    if project.task_type not in MODEL_TYPES:
        raise ModelEndpointError(
            f"{project.name} is a {project.type.label.lower()} project; model endpoints are for red-teaming and "
            "pairwise generation.", field="project")
    if not ModelEndpoint.objects.filter(project=project).exists():
        fields = {"is_default": True, **fields}
    return _save(ModelEndpoint(project=project, created_by=created_by), fields)


def model_endpoint_update(*, endpoint: ModelEndpoint, fields: dict[str, Any]) -> ModelEndpoint:
    """Change an endpoint's settings (a conversation already held keeps what it recorded)."""
    return _save(ModelEndpoint.objects.get(pk=endpoint.pk), fields)


def model_endpoint_check(*, endpoint: ModelEndpoint, prompt: str = "Reply with the single word: ready") -> llm.Reply:
    """Send one short message, as the workspace would: raises ModelError saying what went wrong."""
    return llm.chat_complete(endpoint, [{"role": "user", "content": prompt}],
                             sampling=llm.Sampling.of(endpoint, {"max_tokens": min(16, endpoint.max_tokens)}))
