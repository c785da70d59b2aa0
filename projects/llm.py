"""Talking to a project's model: OpenAI-compatible chat completions through the `openai` package.

Every server TaskHub is pointed at (vLLM, Text Generation Inference, the llama.cpp server, Ollama, the
hosted APIs) speaks this protocol; the client library does the HTTP and the server-sent events, this
module only sets it up from a `ModelEndpoint` and says what went wrong in words a contractor can act on.

- The API key comes from the environment variable the endpoint names, read at each call (so a key is
  rotated by changing the environment, and never sits in the database).
- Timeouts: `connect_timeout_seconds` to connect, `read_timeout_seconds` for the first and each next
  piece of the reply (a server that goes quiet is "slow"), and a bound on the whole reply,
  `max_reply_seconds` capped by `TASKHUB_MODEL_MAX_REPLY_SECONDS`: a reply still streaming then is
  stopped and reported with finish reason "time". So no call holds a web worker longer than that.
- The client never retries by itself (`max_retries=0`): a person is waiting, and a 429 says how long to
  wait; pairwise generation retries on its own schedule (services/generation.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai
from django.conf import settings

from .errors import ModelError
from .models import ModelEndpoint


@dataclass(frozen=True)
class Delta:
    """A piece of the reply as it streams."""

    text: str


@dataclass
class Finished:
    """The end of a reply: the model the server says answered, why it stopped and what it counted."""

    model: str
    finish_reason: str  # "stop", "length" (cut off at max_tokens), "time" (stopped by TaskHub), ...
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_ms: int | None = None
    latency_ms: int = 0

    @property
    def cut_off(self) -> bool:
        return self.finish_reason in ("length", "time")


@dataclass
class Reply(Finished):
    text: str = ""


@dataclass(frozen=True)
class Sampling:
    """What one request samples with: the endpoint's settings unless overridden."""

    temperature: float | None = None
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, endpoint: ModelEndpoint, overrides: dict | None = None) -> Sampling:
        overrides = overrides or {}
        temperature = overrides.get("temperature", endpoint.temperature)
        return cls(temperature=None if temperature is None else float(temperature),
                   max_tokens=int(overrides.get("max_tokens") or endpoint.max_tokens))

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}


def reply_seconds(endpoint: ModelEndpoint) -> int:
    """The longest one reply may stream: the endpoint's bound within the site's."""
    return max(1, min(endpoint.max_reply_seconds, int(settings.TASKHUB_MODEL_MAX_REPLY_SECONDS)))


def _host(endpoint: ModelEndpoint) -> str:
    return urlsplit(endpoint.base_url).netloc or endpoint.base_url


def api_key(endpoint: ModelEndpoint) -> str:
    """The key from the endpoint's environment variable; a placeholder for servers that need none."""
    if not endpoint.api_key_env:
        return "no-key"  # the client insists on a value; keyless servers ignore it
    key = os.environ.get(endpoint.api_key_env, "")
    if not key:
        raise ModelError(
            f"The model's API key is not set on this server (the environment variable {endpoint.api_key_env} is "
            "empty), so TaskHub cannot talk to it. Tell an admin; your work is kept.",
            code="model_key_missing",
        )
    return key


def client_for(endpoint: ModelEndpoint) -> openai.OpenAI:
    read = float(endpoint.read_timeout_seconds)
    connect = float(endpoint.connect_timeout_seconds)
    return openai.OpenAI(
        base_url=endpoint.base_url,
        api_key=api_key(endpoint),
        max_retries=0,
        timeout=httpx2.Timeout(connect=connect, read=read, write=read, pool=connect),
    )


def _retry_after(exc: openai.APIStatusError) -> int | None:
    raw = exc.response.headers.get("retry-after", "") if exc.response is not None else ""
    try:
        return max(0, min(3600, int(float(raw))))
    except ValueError:
        return None


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or (body.get("error") or {}).get("message") if isinstance(body, dict) else None
    return str(message or exc.message or "")[:300]


def model_error(exc: Exception, endpoint: ModelEndpoint) -> ModelError:
    """What the client library raised, as a ModelError a person can read."""
    host = _host(endpoint)
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ModelError(
            f"The model at {host} is too slow: it sent nothing for {endpoint.read_timeout_seconds} s. "
            "Try again in a moment; your conversation is kept.",
            code="model_slow",
        )
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return ModelError(
            f"TaskHub cannot reach the model at {host} right now (it is down or unreachable). "
            "Try again in a moment; your conversation is kept.",
            code="model_unreachable",
        )
    if isinstance(exc, openai.RateLimitError):
        wait = _retry_after(exc)
        when = f"in {wait} s" if wait is not None else "in a minute"
        return ModelError(
            f"The model's server is busy and asks TaskHub to slow down (rate limit, HTTP 429). Try again {when}; "
            "your conversation is kept.",
            code="model_rate_limited", retry_after=wait,
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelError(
            f"The model's server refused TaskHub's API key (HTTP {exc.status_code}). Tell an admin: the key in "
            f"{endpoint.api_key_env or 'the environment'} must be checked. Your work is kept.",
            code="model_key_refused",
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelError(
            f"The model's server at {host} has no model named {endpoint.model!r} (HTTP 404). Tell an admin.",
            code="model_not_found",
        )
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        detail = _server_message(exc)
        return ModelError(
            f"The model's server refused this request (HTTP {exc.status_code}){': ' + detail if detail else ''}. "
            "A shorter message or a new conversation may help.",
            code="model_bad_request",
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelError(
            f"The model's server failed (HTTP {exc.status_code}). Try again in a moment; your conversation is kept.",
            code="model_error",
        )
    return ModelError(
        f"The model's reply could not be read ({type(exc).__name__}). Try again; your conversation is kept.",
        code="model_error",
    )


def chat_stream(endpoint: ModelEndpoint, messages: list[dict[str, str]], *,
                sampling: Sampling | None = None) -> Iterator[Delta | Finished]:
    """Stream one reply: `Delta`s as they come, then one `Finished`. Raises ModelError (before or during
    the reply); closing the generator early closes the connection to the model."""
    sampling = sampling or Sampling.of(endpoint)
    started = time.monotonic()
    stop_at = started + reply_seconds(endpoint)
    options: dict[str, Any] = {"max_tokens": sampling.max_tokens}
    if sampling.temperature is not None:
        options["temperature"] = sampling.temperature
    try:
        stream = client_for(endpoint).chat.completions.create(
            model=endpoint.model, messages=messages, stream=True, stream_options={"include_usage": True},
            **options, **sampling.extra,
        )
    except Exception as exc:
        raise model_error(exc, endpoint) from exc
    finished = Finished(model=endpoint.model, finish_reason="")
    try:
        for chunk in stream:
            if chunk.model:
                finished.model = chunk.model
            if chunk.usage is not None:
                finished.prompt_tokens = chunk.usage.prompt_tokens
                finished.completion_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices or ():
                text = choice.delta.content if choice.delta is not None else None
                if text:
                    if finished.first_token_ms is None:
                        finished.first_token_ms = int((time.monotonic() - started) * 1000)
                    yield Delta(text)
                if choice.finish_reason:
                    finished.finish_reason = choice.finish_reason
            if time.monotonic() > stop_at and not finished.finish_reason:
                finished.finish_reason = "time"
                break
    except ModelError:
        raise
    except Exception as exc:
        raise model_error(exc, endpoint) from exc
    finally:
        stream.close()
    finished.finish_reason = finished.finish_reason or "stop"
    finished.latency_ms = int((time.monotonic() - started) * 1000)
    yield finished


def chat_complete(endpoint: ModelEndpoint, messages: list[dict[str, str]], *,
                  sampling: Sampling | None = None) -> Reply:
    """One whole reply (the same request, timeouts and bounds as a streamed one)."""
    parts: list[str] = []
    for event in chat_stream(endpoint, messages, sampling=sampling):
        if isinstance(event, Delta):
            parts.append(event.text)
        else:
            return Reply(**{**event.__dict__, "text": "".join(parts)})
    raise ModelError("The model's reply ended without finishing.", code="model_error")  # pragma: no cover
