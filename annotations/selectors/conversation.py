"""Reads of red-team conversations: the endpoint a project's workspace talks to, a claim's turns and how
the page and its stream show them."""

from __future__ import annotations

from typing import Any

from projects.models import ModelEndpoint

from ..models import Claim, ModelTurn

T = ModelTurn.Status


def conversation_endpoint(project) -> ModelEndpoint | None:
    """The endpoint a project's red-team workspace talks to."""
    return ModelEndpoint.objects.filter(project=project, is_default=True, is_active=True).first()


def turns_of(claim: Claim) -> list[ModelTurn]:
    return list(ModelTurn.objects.filter(claim=claim).select_related("endpoint").order_by("position"))


def turn_json(turn: ModelTurn, number: int | None = None) -> dict[str, Any]:
    """A turn as the page and its stream show it."""
    return {
        "id": turn.pk, "position": turn.position, "number": number, "prompt": turn.prompt, "reply": turn.reply,
        "status": turn.status, "model": turn.model, "finish_reason": turn.finish_reason,
        "cut_off": turn.status == T.CUT_OFF, "error_code": turn.error_code, "error_message": turn.error_message,
        "prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens,
        "latency_ms": turn.latency_ms, "first_token_ms": turn.first_token_ms,
    }


def numbered(turns: list[ModelTurn]) -> list[tuple[ModelTurn, int | None]]:
    """Each turn with its number in the transcript (answered turns only: 1, 2, ...)."""
    result, number = [], 0
    for turn in turns:
        if turn.status in ModelTurn.TRANSCRIPT:
            number += 1
            result.append((turn, number))
        else:
            result.append((turn, None))
    return result
