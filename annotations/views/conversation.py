"""The red-team conversation of a claim: send a message, stream the reply (server-sent events), read a turn.

The page (static/js/redteam.js) posts a message to `turn_create`, then opens an EventSource on the
turn's stream: `delta` events carry the reply as it comes, then one `done` (the recorded turn) or
`failure` (what went wrong, in words to show, and the turn as recorded). Asked again for an ended turn,
the stream answers its end at once, so a reconnect never sends a message twice.
"""

import json

from django.http import JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import contractor_required
from taskhub.errors import NotFound

from .. import selectors, services
from ..models import ModelTurn
from ..selectors import conversation_endpoint, numbered, turn_json, turns_of


def conversation_context(claim) -> dict:
    """What the workspace shows of a conversation: the turns with their transcript numbers, the model and
    what is left of the per-task budget."""
    services.turns_settle(claim=claim)
    turns = turns_of(claim)
    endpoint = conversation_endpoint(claim.project)
    used = sum(1 for turn in turns if turn.status in ModelTurn.COUNTED)
    return {
        "turns": numbered(turns), "endpoint": endpoint, "turns_used": used,
        "turns_left": max(0, endpoint.requests_per_task - used) if endpoint else 0,
        "turns_url": reverse("work:turns", args=[claim.pk]),
    }


def _stream_url(claim_id: int, turn_id: int) -> str:
    return reverse("work:turn_stream", args=[claim_id, turn_id])


@require_POST
@contractor_required
def turn_create(request, claim_id):
    """Record a message to the model; the page then opens its stream."""
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    turn = services.turn_create(claim=claim, contractor=request.user, prompt=request.POST.get("message"))
    return JsonResponse({"turn": turn_json(turn), "stream_url": _stream_url(claim.pk, turn.pk)}, status=201)


def _turn(request, claim_id, turn_id):
    claim = selectors.claim_get_for_user(claim_id=claim_id, user=request.user)
    turn = ModelTurn.objects.filter(pk=turn_id, claim=claim).first()
    if turn is None:
        raise NotFound("No such message in this conversation.")
    return claim, turn


@require_GET
@contractor_required
def turn_detail(request, claim_id, turn_id):
    """A turn as recorded (after a broken stream: did the reply come, break off, or is it still coming?)."""
    claim, turn = _turn(request, claim_id, turn_id)
    services.turns_settle(claim=claim)
    number = dict((t.pk, n) for t, n in numbered(turns_of(claim))).get(turn.pk)
    turn.refresh_from_db()
    return JsonResponse({"turn": turn_json(turn, number)})


def _events(stream):
    try:
        # A comment first, so the browser (and any proxy) sees the stream open before the model's first token.
        yield ": stream open\n\n"
        for name, data in stream:
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
    finally:
        # The server closes this when the page stops listening: the reply is recorded as broken off, now,
        # while the request still has its database connection.
        stream.close()


@require_GET
@contractor_required
def turn_stream(request, claim_id, turn_id):
    """The model's reply to a recorded message, streamed as server-sent events (text/event-stream)."""
    claim, turn = _turn(request, claim_id, turn_id)
    response = StreamingHttpResponse(
        _events(services.turn_stream(claim=claim, contractor=request.user, turn_id=turn.pk)),
        content_type="text/event-stream; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response
