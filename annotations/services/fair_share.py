"""Fair share that never strands work: each capped batch's cap follows its published schedule
(`projects.models.Batch.fair_share_steps`), relaxed from the demand the claim engine recorded.

The cap at release is the equal share: the batch's slots over every eligible contractor (or the
admin's fixed cap). It holds for the first half of the horizon, long enough for every time zone
to have had a morning, so being awake at release gains nothing. Then, every relax period, it
becomes the *demand share*, and at least one more than before:

    demand share = the lowest cap at which the contractors who wanted work from the batch so far
                   (opted in, asked and found none, or hold a claim) could take every free slot,
                   given what each of them already holds ("water filling").

So the people who have less go first, a dormant account (who never asks) takes no share, and the
cap keeps growing until the cap ends at the horizon (`fair_share_ends_at`, which the claim
statement checks itself), so nothing is stranded. A lottery's cap takes one more step when its
reservations end (`returned`): the demand share for what came back, which may be lower than the
cap before, so lapsed wins go first to those who got less, never first come.

`fair_share_caps_relax` is run by beat every minute and by the expiry sweep right after
reservations lapse; it is safe to repeat (each step is applied once, by a conditional UPDATE).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from projects.models import Batch
from projects.services import batch_fair_share_cap_step

S = Batch.Status
P = Batch.Policy

_DEMAND_SQL = """
WITH wanted AS (
    SELECT batch_id, contractor_id FROM annotations_batchdemand WHERE batch_id = ANY(%(ids)s)
    UNION
    SELECT batch_id, contractor_id FROM annotations_claim WHERE batch_id = ANY(%(ids)s)
), held AS (
    SELECT batch_id, contractor_id, count(*) AS n FROM annotations_claim
    WHERE batch_id = ANY(%(ids)s) AND status IN ('reserved', 'active', 'submitted')
    GROUP BY batch_id, contractor_id
)
SELECT w.batch_id, COALESCE(h.n, 0), count(*)
FROM wanted w LEFT JOIN held h ON h.batch_id = w.batch_id AND h.contractor_id = w.contractor_id
GROUP BY 1, 2
"""

_FREE_SQL = """
SELECT batch_id, sum(overlap - claim_count) FROM projects_task
WHERE batch_id = ANY(%(ids)s) AND claim_count < overlap
GROUP BY batch_id
"""

# Reservations whose end has come but that the expiry sweep has not lapsed yet.
_LAPSE_PENDING_SQL = """
SELECT DISTINCT batch_id FROM annotations_claim
WHERE batch_id = ANY(%(ids)s) AND status = 'reserved' AND reserved_until <= %(now)s
"""


def demand_share(held: dict[int, int], free: int) -> int | None:
    """The lowest cap c >= 1 at which people holding `held` ({tasks held: people}) could take
    `free` more slots: sum over people of max(0, c - held) >= free. None without anyone."""
    if not held:
        return None

    def room(cap: int) -> int:
        return sum(people * max(0, cap - n) for n, people in held.items())

    low, high = 1, max(held) + max(free, 0) + 1
    while low < high:
        middle = (low + high) // 2
        if room(middle) >= free:
            high = middle
        else:
            low = middle + 1
    return low


def _next_cap(kind: str, current: int, share: int | None, free: int) -> int:
    if kind == "returned":
        # What came back goes first to those who hold less, even if the cap had grown past them.
        return share if share is not None and free > 0 else current
    return max(share or 0, current + 1)


def fair_share_caps_relax(*, now: datetime | None = None, batch_ids: list[int] | None = None) -> int:
    """Apply the cap schedule of every open batch with a derived fair-share cap up to `now`.
    Returns how many batches took a step. Several steps due at once (a late sweep) are applied as
    one, the latest."""
    now = now or timezone.now()
    candidates = Batch.objects.filter(
        Q(release_policy=P.FAIR_SHARE) | Q(release_policy=P.LOTTERY, fallback_policy=P.FAIR_SHARE),
        status=S.OPEN, fair_share_cap_derived=True, released_at__isnull=False, fair_share_ends_at__gt=now,
    )
    if batch_ids is not None:
        candidates = candidates.filter(id__in=batch_ids)
    due = {}
    for batch in candidates.only(
        "id", "release_policy", "fallback_policy", "fair_share_cap", "fair_share_cap_derived", "fair_share_step",
        "released_at", "fair_share_horizon", "fair_share_relax_every", "reservation_period",
    ):
        step = batch.fair_share_step_due(now)
        if step > batch.fair_share_step:
            due[batch.pk] = (batch, step)
    if not due:
        return 0
    ids = list(due)
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LAPSE_PENDING_SQL, {"ids": ids, "now": now})
        lapse_pending = {row[0] for row in cursor.fetchall()}
        cursor.execute(_DEMAND_SQL, {"ids": ids})
        held: dict[int, dict[int, int]] = defaultdict(dict)
        for batch_id, n, people in cursor.fetchall():
            held[batch_id][n] = people
        cursor.execute(_FREE_SQL, {"ids": ids})
        free = {batch_id: int(n) for batch_id, n in cursor.fetchall()}
        for batch_id, (batch, step) in due.items():
            kind = batch.fair_share_steps()[step].kind
            if kind == "end":
                cap = batch.fair_share_cap  # the claim statement stops applying it at fair_share_ends_at
            elif kind == "returned" and batch_id in lapse_pending:
                continue  # the expiry sweep lapses them first, then takes this step itself
            else:
                left = free.get(batch_id, 0)
                cap = _next_cap(kind, batch.fair_share_cap, demand_share(held.get(batch_id, {}), left), left)
            changed += batch_fair_share_cap_step(batch_id=batch_id, from_step=batch.fair_share_step, to_step=step,
                                                 cap=cap)
    return changed
