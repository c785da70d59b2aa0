"""Doing the work: saving drafts and measuring active time on a claim.

Active time is measured by the server from heartbeats. The page sends one every
`TASKHUB_HEARTBEAT_SECONDS` while it is visible, its window has the focus and the person has
given some input within the project's idle limit (`Project.idle_minutes`, 5 by default: reading
counts; static/js/workspace.js shows the clock paused, and why, otherwise); each beat adds
the time since the previous beat, capped at one heartbeat interval, in one conditional
UPDATE. Nothing the client says about durations is used. A first beat (or the first after
a break longer than two intervals: the page was hidden or the person idle) only starts
the clock, so idle time is never counted.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from taskhub.parsing import json_problem

from ..errors import ClaimError, DraftError
from ..models import Claim

# Credit the gap since the previous beat, capped at one interval; after a longer silence
# (more than two intervals) the beat only restarts the clock. The submit counts as a last beat:
# claims.claim_submit sets these same two columns in its own statement.
ACTIVE_TIME_CREDIT_SQL = """
    active_seconds = active_seconds + CASE
        WHEN last_heartbeat_at IS NULL OR last_heartbeat_at > %(now)s THEN 0
        WHEN %(now)s - last_heartbeat_at > 2 * %(interval)s * interval '1 second' THEN 0
        ELSE LEAST(floor(extract(epoch FROM %(now)s - last_heartbeat_at)), %(interval)s)::integer
    END,
    last_heartbeat_at = GREATEST(%(now)s, COALESCE(last_heartbeat_at, %(now)s))
"""
_HEARTBEAT_SQL = f"""
UPDATE annotations_claim SET {ACTIVE_TIME_CREDIT_SQL}
WHERE id = %(claim)s AND contractor_id = %(contractor)s AND status = 'active' AND deadline > %(now)s
RETURNING active_seconds
"""


def _not_active(claim: Claim) -> ClaimError:
    claim.refresh_from_db(fields=["status", "deadline"])
    if claim.status == Claim.Status.ACTIVE:
        return ClaimError("The time for this task has run out.", code="claim_expired")
    return ClaimError(f"This task is {claim.get_status_display().lower()}.", code="claim_not_active")


def claim_heartbeat(*, claim: Claim, contractor, now: datetime | None = None) -> int:
    """Credit the bounded time since the last heartbeat; returns the claim's active seconds."""
    now = now or timezone.now()
    params = {
        "now": now,
        "interval": int(settings.TASKHUB_HEARTBEAT_SECONDS),
        "claim": claim.pk,
        "contractor": contractor.pk,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_HEARTBEAT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        raise _not_active(claim)
    claim.active_seconds = row[0]
    claim.last_heartbeat_at = now
    return row[0]


def claim_draft_save(*, claim: Claim, contractor, draft: dict[str, Any], now: datetime | None = None) -> datetime:
    """Keep the unfinished answer of an active claim (not validated: it is work in progress)."""
    if not isinstance(draft, dict):
        raise DraftError("A draft must be an object of form fields.", field="draft")
    found = json_problem(draft)
    if found:  # a NUL character, say: PostgreSQL's jsonb cannot hold it
        where, problem = found
        raise DraftError.at(f"draft.{where}" if where else "draft", f"This draft {problem}.")
    size = len(json.dumps(draft, ensure_ascii=False).encode())
    if size > settings.TASKHUB_DRAFT_MAX_BYTES:
        raise DraftError(
            f"This draft is {size:,} bytes; drafts are kept up to {settings.TASKHUB_DRAFT_MAX_BYTES:,} bytes.",
            code="draft_too_large",
            field="draft",
        )
    now = now or timezone.now()
    saved = Claim.objects.filter(
        pk=claim.pk, contractor=contractor, status=Claim.Status.ACTIVE, deadline__gt=now
    ).update(draft=draft, draft_saved_at=now)
    if not saved:
        raise _not_active(claim)
    claim.draft = draft
    claim.draft_saved_at = now
    return now
