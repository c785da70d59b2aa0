"""Reads for fair release: lottery entries and how evenly a batch's work went round."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from projects.models import Batch

from ..models import LotteryAllocation, LotteryEntry


def lottery_entries_for(*, batch: Batch) -> QuerySet[LotteryEntry]:
    return LotteryEntry.objects.filter(batch=batch).select_related("contractor").order_by("created_at")


_FAIRNESS_SQL = """
WITH per AS (
    SELECT c.contractor_id, count(*) AS n
    FROM annotations_claim c
    WHERE c.batch_id = %(batch)s AND c.status IN ('active', 'submitted')
    GROUP BY c.contractor_id
), ranked AS (
    SELECT n, row_number() OVER (ORDER BY n) AS i FROM per
)
SELECT count(*), min(n), percentile_cont(0.5) WITHIN GROUP (ORDER BY n), max(n), COALESCE(sum(n), 0),
       CASE WHEN sum(n) > 0
            THEN 2.0 * sum(i * n) / (count(*) * sum(n)) - (count(*) + 1.0) / count(*)
       END
FROM ranked
"""

_FAIRNESS_HOURS_SQL = """
SELECT EXTRACT(HOUR FROM c.claimed_at AT TIME ZONE u.timezone)::int AS hour, count(*)
FROM annotations_claim c JOIN accounts_user u ON u.id = c.contractor_id
WHERE c.batch_id = %(batch)s
GROUP BY hour
"""

# Local hours counted as night work in the report (00:00 to 05:59).
NIGHT_HOURS = range(0, 6)


def batch_fairness_report(*, batch: Batch) -> dict:
    """Who got work from `batch` and how evenly, and at what local hour people claimed it.

    Tasks per contractor count claims held or submitted (work actually got); the hours
    count every claim, in each claimer's own time zone, since claiming is what people
    had to be awake for. The Gini coefficient is 0 when everyone got the same amount.
    """
    with connection.cursor() as cursor:
        cursor.execute(_FAIRNESS_SQL, {"batch": batch.pk})
        people, least, median, most, total, gini = cursor.fetchone()
        cursor.execute(_FAIRNESS_HOURS_SQL, {"batch": batch.pk})
        by_hour = dict(cursor.fetchall())
    hours = [by_hour.get(h, 0) for h in range(24)]
    peak = max(hours) or 1
    claims = sum(hours)
    night = sum(hours[h] for h in NIGHT_HOURS)
    allocation = LotteryAllocation.objects.filter(batch=batch).first()
    lottery = None
    if batch.release_policy == Batch.Policy.LOTTERY:
        entries = LotteryEntry.objects.filter(batch=batch)
        lottery = {
            "allocation": allocation,
            "participants": entries.count(),
            "winners": entries.filter(allocated__gt=0).count() if allocation else None,
        }
    return {
        "contractors": people,
        "tasks_total": total,
        "min": least,
        "median": median,
        "max": most,
        "gini": round(float(gini), 3) if gini is not None else None,
        "hours": [
            {"hour": h, "claims": n, "percent": round(100 * n / peak), "night": h in NIGHT_HOURS}
            for h, n in enumerate(hours)
        ],
        "claims": claims,
        "night_claims": night,
        "night_percent": round(100 * night / claims, 1) if claims else 0,
        "lottery": lottery,
    }
