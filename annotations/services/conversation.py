"""The red-team conversation: messages to the project's model and its replies, recorded on the claim.

A message is sent in two steps. `turn_create` records it (a `pending` ModelTurn) after the checks a
contractor must pass: the claim is theirs, active and within its deadline; no other message of theirs
is on its way; the endpoint's budgets allow it (messages per task, messages per contractor per hour,
counted by the database under a per-contractor advisory lock, so double clicks and two tabs cannot
overrun them). `turn_stream` then sends it with the conversation so far and yields the reply as it
streams (the page reads it as server-sent events), saving what has come every second, and records the
end: the whole reply, the model the server named, why it stopped, latency and token counts.

Nothing is lost when something fails. A model that is down, slow or rate-limited, a missing key, a
budget spent: the message stays recorded as `failed` with a message the page shows (the text goes back
into the box), and failed messages do not count against the budgets. A reply that breaks off (the
person left, the server restarted) keeps what came as `interrupted`. A reply cut at the token limit or
the time bound is kept and marked `cut_off`.

Who is streaming a reply is known by a session advisory lock on the turn, held by the web process
that streams it: a process that dies loses its connection and so the lock, and the next look at the
conversation (the page, the next message, the submit) records that turn as interrupted. A turn open
far longer than any reply may take is settled the same way, whatever its lock says.

While the model answers, the stream credits the claim's active time through the heartbeat rule itself
(services/work.py, same bounds), so time spent waiting on the model counts as work.

Each web process streams at most TASKHUB_MODEL_STREAMS_PER_PROCESS replies at once; one more is told
to try again in a few seconds. With gunicorn's threaded workers (taskhub/gunicorn_config.py) a stream
holds one thread, never a whole process, and at most that many of a process's threads.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from projects import llm
from projects.errors import ModelError
from projects.models import ModelEndpoint
from taskhub.errors import DomainError
from taskhub.parsing import text

from ..errors import ClaimError, ConversationError, ModelBudgetSpent
from ..models import Claim, ModelTurn
from ..selectors.conversation import conversation_endpoint, numbered, turn_json, turns_of
from .work import claim_heartbeat

T = ModelTurn.Status
TURN_LOCK_NAMESPACE = 7303  # second key: the turn being streamed
BUDGET_LOCK_NAMESPACE = 7304  # second key: the contractor sending
# How often a growing reply is saved, so a broken stream keeps what came.
SAVE_EVERY_SECONDS = 1.0
# A message recorded but never streamed (the page went away between the two requests) is let go after this.
PENDING_FOR = timedelta(seconds=30)

_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def _stream_slots() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(max(1, int(settings.TASKHUB_MODEL_STREAMS_PER_PROCESS)))
        return _slots


def transcript(claim: Claim) -> list[dict[str, Any]]:
    """The recorded conversation as the answer carries it: every answered turn, in order."""
    rows = []
    for turn, number in numbered(turns_of(claim)):
        if number is None:
            continue
        rows.append({
            "number": number, "prompt": turn.prompt, "reply": turn.reply, "model": turn.model,
            "endpoint": turn.endpoint.name, "finish_reason": turn.finish_reason, "cut_off": turn.status == T.CUT_OFF,
            "latency_ms": turn.latency_ms, "first_token_ms": turn.first_token_ms,
            "prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens,
            "at": turn.created_at.isoformat(),
        })
    return rows


# --- open turns -----------------------------------------------------------------------------------------


def _longest_turn(turn: ModelTurn) -> timedelta:
    endpoint = turn.endpoint
    return timedelta(seconds=llm.reply_seconds(endpoint) + endpoint.read_timeout_seconds
                     + endpoint.connect_timeout_seconds + 30)


def _streamer_alive(turn: ModelTurn, now: datetime) -> bool:
    if turn.started_at and now - turn.started_at > _longest_turn(turn):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [TURN_LOCK_NAMESPACE, turn.pk])
        free = cursor.fetchone()[0]
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [TURN_LOCK_NAMESPACE, turn.pk])
    return not free


def _finish(turn: ModelTurn, *, status: str, code: str = "", message: str = "", now: datetime | None = None,
            only_if: tuple[str, ...] = ModelTurn.OPEN, **fields) -> bool:
    """Record a turn's end, if it is still in one of `only_if` (a conditional update)."""
    now = now or timezone.now()
    changed = ModelTurn.objects.filter(pk=turn.pk, status__in=only_if).update(
        status=status, error_code=code, error_message=message, finished_at=now, **fields)
    if changed:
        turn.status, turn.error_code, turn.error_message, turn.finished_at = status, code, message, now
        for name, value in fields.items():
            setattr(turn, name, value)
    return bool(changed)


def turns_settle(*, claim: Claim, now: datetime | None = None) -> list[ModelTurn]:
    """Record as ended the open turns of a conversation whose streamer is gone; returns those still open."""
    now = now or timezone.now()
    still_open = []
    for turn in ModelTurn.objects.filter(claim=claim, status__in=ModelTurn.OPEN).select_related("endpoint"):
        if turn.status == T.PENDING:
            if now - turn.created_at > PENDING_FOR:
                _finish(turn, status=T.FAILED, code="not_sent", now=now, only_if=(T.PENDING,),
                        message="This message was never sent: the page was left before it went. Send it again.")
                continue
            still_open.append(turn)
        elif not _streamer_alive(turn, now):
            _finish(turn, status=T.INTERRUPTED, code="reply_broke_off", now=now, only_if=(T.STREAMING,),
                    message="The reply broke off: the server stopped while the model was answering. What came "
                            "is kept; send your message again to carry on.")
        else:
            still_open.append(turn)
    return still_open


# --- sending --------------------------------------------------------------------------------------------

_CREATE_SQL = """
INSERT INTO annotations_modelturn
    (claim_id, contractor_id, endpoint_id, position, prompt, reply, status, model, sampling, finish_reason,
     error_code, error_message, created_at)
SELECT c.id, c.contractor_id, %(endpoint)s,
       COALESCE((SELECT max(position) FROM annotations_modelturn WHERE claim_id = c.id), 0) + 1,
       %(prompt)s, '', 'pending', %(model)s, %(sampling)s::jsonb, '', '', '', %(now)s
FROM annotations_claim c
WHERE c.id = %(claim)s AND c.contractor_id = %(contractor)s AND c.status = 'active' AND c.deadline > %(now)s
  AND (SELECT count(*) FROM annotations_modelturn
       WHERE claim_id = c.id AND status = ANY(%(counted)s)) < %(per_task)s
  AND (SELECT count(*) FROM annotations_modelturn
       WHERE contractor_id = c.contractor_id AND endpoint_id = %(endpoint)s AND created_at > %(hour_ago)s
         AND status = ANY(%(counted)s)) < %(per_hour)s
RETURNING id, position
"""


def _budget_refusal(claim: Claim, endpoint: ModelEndpoint, now: datetime) -> DomainError:
    counted = ModelTurn.objects.filter(status__in=ModelTurn.COUNTED)
    on_task = counted.filter(claim=claim).count()
    if on_task >= endpoint.requests_per_task:
        return ModelBudgetSpent(
            f"You have sent the model {on_task} messages on this task, the most this project allows. Your "
            "conversation is kept: mark where the model failed and submit it.",
            code="budget_task_spent", field="message")
    window = counted.filter(contractor_id=claim.contractor_id, endpoint=endpoint,
                            created_at__gt=now - timedelta(hours=1))
    oldest = window.order_by("created_at").values_list("created_at", flat=True).first()
    if window.count() >= endpoint.requests_per_contractor_hour and oldest is not None:
        free_at = timezone.localtime(oldest + timedelta(hours=1), claim.contractor.tzinfo)
        return ModelBudgetSpent(
            f"You have sent this model {endpoint.requests_per_contractor_hour} messages in the last hour, the most "
            f"it allows; you can send the next at {free_at:%H:%M %Z}. Your message and conversation are kept.",
            code="budget_hour_spent", field="message")
    claim.refresh_from_db(fields=["status", "deadline"])
    if claim.status != Claim.Status.ACTIVE:
        return ClaimError(f"This task is {claim.get_status_display().lower()}; nothing more can be sent.",
                          code="claim_not_active")
    return ClaimError("The time for this task has run out.", code="claim_expired")


def turn_create(*, claim: Claim, contractor, prompt: Any, now: datetime | None = None) -> ModelTurn:
    """Record a message to the model on an active red-team claim, within the endpoint's budgets."""
    if claim.contractor_id != contractor.pk:
        raise ClaimError("This is not your claim.", code="not_your_claim")
    project = claim.project
    if not project.type.records_conversation:
        raise ConversationError(f"{project.name} is a {project.type.label.lower()} project: its tasks hold no "
                                "conversation with a model.", code="no_conversation")
    endpoint = conversation_endpoint(project)
    if endpoint is None:
        raise ConversationError(
            f"{project.name} has no model to talk to yet: an admin must set up its model endpoint. Your draft is "
            "kept.", code="no_model_endpoint", field="message")
    prompt = text(prompt, field="message", max_length=settings.TASKHUB_MODEL_PROMPT_MAX_CHARS, required=True,
                  error=ConversationError)
    now = now or timezone.now()
    if turns_settle(claim=claim, now=now):
        raise ClaimError("The model is still answering your last message; wait for its reply.",
                         code="turn_in_progress", field="message")
    sampling = llm.Sampling.of(endpoint)
    params = {
        "claim": claim.pk, "contractor": contractor.pk, "endpoint": endpoint.pk, "prompt": prompt,
        "model": endpoint.model, "sampling": json.dumps(sampling.as_dict()), "now": now,
        "counted": list(ModelTurn.COUNTED), "per_task": endpoint.requests_per_task,
        "per_hour": endpoint.requests_per_contractor_hour, "hour_ago": now - timedelta(hours=1),
    }
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # One contractor's sends are counted one at a time; everyone else's go on in parallel.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [BUDGET_LOCK_NAMESPACE, contractor.pk])
            cursor.execute(_CREATE_SQL, params)
            row = cursor.fetchone()
    except IntegrityError:
        raise ClaimError("The model is still answering your last message; wait for its reply.",
                         code="turn_in_progress", field="message") from None
    if row is None:
        raise _budget_refusal(claim, endpoint, now)
    turn = ModelTurn.objects.select_related("endpoint").get(pk=row[0])
    return turn


def _messages(turn: ModelTurn) -> list[dict[str, str]]:
    """The conversation so far (answered turns), then this message."""
    messages = []
    if turn.endpoint.system_prompt:
        messages.append({"role": "system", "content": turn.endpoint.system_prompt})
    for earlier in ModelTurn.objects.filter(claim_id=turn.claim_id, position__lt=turn.position,
                                            status__in=ModelTurn.TRANSCRIPT).order_by("position"):
        messages.append({"role": "user", "content": earlier.prompt})
        messages.append({"role": "assistant", "content": earlier.reply})
    messages.append({"role": "user", "content": turn.prompt})
    return messages


def _credit_time(claim: Claim, contractor) -> None:
    with contextlib.suppress(DomainError):  # the claim ended meanwhile: nothing to credit
        claim_heartbeat(claim=claim, contractor=contractor)


def _failure(turn: ModelTurn, code: str, message: str, retry_after: int | None = None) -> tuple[str, dict]:
    return "failure", {"code": code, "message": message, "retry_after": retry_after, "turn": turn_json(turn)}


def turn_stream(*, claim: Claim, contractor, turn_id: int) -> Iterator[tuple[str, dict]]:
    """Send a recorded message and yield the reply as events: ("delta", {"text"}) as it comes, then
    ("done", {"turn"}) or ("failure", {"code", "message", "retry_after", "turn"}). Asked again for a turn
    that has ended, it yields that end (the page may reconnect)."""
    turn = ModelTurn.objects.select_related("endpoint").filter(pk=turn_id, claim=claim,
                                                              contractor=contractor).first()
    if turn is None:
        yield "failure", {"code": "not_found", "message": "No such message in this conversation.", "turn": None}
        return
    slots = _stream_slots()
    if not slots.acquire(blocking=False):
        _finish(turn, status=T.FAILED, code="model_busy", only_if=(T.PENDING,),
                message="Many replies are streaming on this server right now; send your message again in a few "
                        "seconds. It is kept.")
        yield _failure(turn, "model_busy", turn.error_message or "The server is busy.", retry_after=5)
        return
    try:
        yield from _stream_holding_slot(claim, contractor, turn)
    finally:
        slots.release()


def _number(turn: ModelTurn) -> int:
    """An answered turn's number in the transcript."""
    return ModelTurn.objects.filter(claim_id=turn.claim_id, status__in=ModelTurn.TRANSCRIPT,
                                    position__lte=turn.position).count()


def _replay(turn: ModelTurn) -> tuple[str, dict]:
    turn.refresh_from_db()
    if turn.status in ModelTurn.TRANSCRIPT:
        return "done", {"turn": turn_json(turn, _number(turn))}
    if turn.status in ModelTurn.OPEN:
        return _failure(turn, "turn_in_progress", "The model is still answering this message in another window.")
    return _failure(turn, turn.error_code or "reply_broke_off", turn.error_message or "This message got no reply.")


def _stream_holding_slot(claim: Claim, contractor, turn: ModelTurn) -> Iterator[tuple[str, dict]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [TURN_LOCK_NAMESPACE, turn.pk])
        locked = cursor.fetchone()[0]
    if not locked:
        yield _replay(turn)
        return
    try:
        now = timezone.now()
        started = ModelTurn.objects.filter(
            pk=turn.pk, status=T.PENDING, claim__status=Claim.Status.ACTIVE, claim__deadline__gt=now,
        ).update(status=T.STREAMING, started_at=now)
        if not started:
            turn.refresh_from_db()
            if turn.status == T.PENDING:  # the claim ended before the message went
                _finish(turn, status=T.FAILED, code="claim_not_active", only_if=(T.PENDING,),
                        message="This task is no longer yours to work on, so the message was not sent.")
            yield _replay(turn)
            return
        turn.status, turn.started_at = T.STREAMING, now
        yield from _generate(claim, contractor, turn)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [TURN_LOCK_NAMESPACE, turn.pk])


def _generate(claim: Claim, contractor, turn: ModelTurn) -> Iterator[tuple[str, dict]]:
    _credit_time(claim, contractor)
    beat_every = max(1.0, settings.TASKHUB_HEARTBEAT_SECONDS / 2)
    last_beat = last_save = time.monotonic()
    parts: list[str] = []
    saved = 0
    try:
        for event in llm.chat_stream(turn.endpoint, _messages(turn), sampling=llm.Sampling(**turn.sampling)):
            if isinstance(event, llm.Delta):
                parts.append(event.text)
                yield "delta", {"text": event.text}
                moment = time.monotonic()
                if moment - last_save >= SAVE_EVERY_SECONDS and len(parts) > saved:
                    ModelTurn.objects.filter(pk=turn.pk, status=T.STREAMING).update(reply="".join(parts))
                    saved, last_save = len(parts), moment
                if moment - last_beat >= beat_every:
                    _credit_time(claim, contractor)
                    last_beat = moment
                continue
            status = T.CUT_OFF if event.cut_off else T.DONE
            note = ""
            if event.finish_reason == "length":
                note = (f"The reply was cut off at the most this project allows ({turn.endpoint.max_tokens} "
                        "tokens); what came is kept.")
            elif event.finish_reason == "time":
                note = (f"The reply was stopped after {llm.reply_seconds(turn.endpoint)} s, the longest one may "
                        "take; what came is kept.")
            _finish(turn, status=status, message=note, code="reply_cut_off" if note else "",
                    reply="".join(parts), model=(event.model or turn.model)[:200],
                    finish_reason=event.finish_reason[:32],
                    prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens,
                    first_token_ms=event.first_token_ms, latency_ms=event.latency_ms)
            _credit_time(claim, contractor)
            yield "done", {"turn": turn_json(turn, _number(turn))}
            return
    except ModelError as exc:
        reply = "".join(parts)
        status = T.INTERRUPTED if reply else T.FAILED
        _finish(turn, status=status, code=exc.code, message=exc.message, reply=reply)
        _credit_time(claim, contractor)
        yield _failure(turn, exc.code, exc.message, exc.retry_after)
        return
    except GeneratorExit:
        _finish(turn, status=T.INTERRUPTED, code="page_left", reply="".join(parts),
                message="The reply broke off: the page stopped listening while the model was answering. What came "
                        "is kept; send your message again to carry on.")
        raise


def conversation_attach(*, claim: Claim, answer: Any) -> Any:
    """The answer with the recorded transcript in it (whatever the person sent as one), for the types whose
    tasks are conversations; the unsent message in the box is no part of an answer."""
    if not claim.project.type.records_conversation or not isinstance(answer, dict):
        return answer
    if turns_settle(claim=claim):
        raise ClaimError("The model is still answering your last message; wait for its reply, then submit.",
                         code="turn_in_progress", field="message")
    attached = {key: value for key, value in answer.items() if key not in ("message", "transcript")}
    attached["transcript"] = transcript(claim)
    return attached
