"""Reads for fair release: lottery entries, and how fairly a batch's (or a project's) work went
round, measured over everyone who wanted it.

Who wanted work (the denominator of every share here): the contractors with a demand record for
the batch (they opted in to its lottery, or asked while it was open and got nothing), with a
lottery entry, or with any claim on it. "Got work" counts reserved, active and submitted claims.
Regions are bands of the contractor's UTC offset at the release: the Americas (UTC-2 and west),
Europe and Africa (UTC-1 to UTC+3), Asia and Oceania (UTC+4 and east).

Night figures count only tasks a person took themselves, at the local hour they took them:
claims they made, and lottery wins at the moment they opened them; never the draw's own rows,
nor hand-backs. "Fully handed out" is when every slot was first held at once (a reservation
holds a slot); "for good" when it was last filled and stayed so; "exhausted" when the last task
got its last submission. All of it in a fixed number of queries whatever the numbers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from projects.models import Batch, Project

from ..models import LotteryAllocation, LotteryEntry


def lottery_entries_for(*, batch: Batch) -> QuerySet[LotteryEntry]:
    return LotteryEntry.objects.filter(batch=batch).select_related("contractor").order_by("created_at")


REGIONS = [
    ("americas", "The Americas (UTC−2 and west)"),
    ("emea", "Europe and Africa (UTC−1 to UTC+3)"),
    ("apac", "Asia and Oceania (UTC+4 and east)"),
]

# Local hours counted as night in the report (00:00 to 05:59).
NIGHT_HOURS = range(0, 6)

# Per scope (a batch, or 0 for all of them), region and tasks got: how many people wanted work,
# how many of them had opted in, and how many of those kept every lottery win (none lapsed).
_SPREAD_SQL = """
WITH wanted AS (
    SELECT CASE WHEN %(by_batch)s THEN batch_id ELSE 0 END AS scope, contractor_id
    FROM annotations_batchdemand WHERE batch_id = ANY(%(ids)s)
    UNION
    SELECT CASE WHEN %(by_batch)s THEN batch_id ELSE 0 END, contractor_id
    FROM annotations_lotteryentry WHERE batch_id = ANY(%(ids)s)
    UNION
    SELECT CASE WHEN %(by_batch)s THEN batch_id ELSE 0 END, contractor_id
    FROM annotations_claim WHERE batch_id = ANY(%(ids)s)
), got AS (
    SELECT CASE WHEN %(by_batch)s THEN batch_id ELSE 0 END AS scope, contractor_id,
           count(*) FILTER (WHERE status IN ('reserved', 'active', 'submitted')) AS n,
           count(*) FILTER (WHERE status = 'lapsed') AS lapsed
    FROM annotations_claim WHERE batch_id = ANY(%(ids)s)
    GROUP BY 1, 2
), entered AS (
    SELECT CASE WHEN %(by_batch)s THEN batch_id ELSE 0 END AS scope, contractor_id,
           sum(COALESCE(allocated, 0)) AS won
    FROM annotations_lotteryentry WHERE batch_id = ANY(%(ids)s)
    GROUP BY 1, 2
)
SELECT w.scope,
       CASE WHEN o.hours <= -2 THEN 'americas' WHEN o.hours < 4 THEN 'emea' ELSE 'apac' END AS region,
       COALESCE(g.n, 0) AS n,
       count(*) AS people,
       count(e.contractor_id) AS opted_in,
       count(e.contractor_id) FILTER (WHERE e.won > 0 AND COALESCE(g.lapsed, 0) = 0) AS kept_wins
FROM wanted w
JOIN accounts_user u ON u.id = w.contractor_id
CROSS JOIN LATERAL (
    SELECT EXTRACT(EPOCH FROM (%(at)s::timestamptz AT TIME ZONE u.timezone)
                              - (%(at)s::timestamptz AT TIME ZONE 'UTC')) / 3600 AS hours
) o
LEFT JOIN got g ON g.scope = w.scope AND g.contractor_id = w.contractor_id
LEFT JOIN entered e ON e.scope = w.scope AND e.contractor_id = w.contractor_id
GROUP BY 1, 2, 3
"""

# When people took tasks themselves, by local hour: claims they made, wins when they opened them.
_HOURS_SQL = """
SELECT EXTRACT(HOUR FROM (CASE WHEN c.source = 'draw' THEN c.opened_at ELSE c.claimed_at END)
                         AT TIME ZONE u.timezone)::int AS hour,
       count(*)
FROM annotations_claim c JOIN accounts_user u ON u.id = c.contractor_id
WHERE c.batch_id = ANY(%(ids)s) AND (c.source = 'claim' OR c.opened_at IS NOT NULL)
GROUP BY hour
"""

_RESERVATIONS_SQL = """
SELECT batch_id,
       count(*) FILTER (WHERE source = 'draw'),
       count(*) FILTER (WHERE source = 'draw' AND opened_at IS NOT NULL),
       count(*) FILTER (WHERE source = 'draw' AND status = 'released' AND opened_at IS NULL),
       count(*) FILTER (WHERE status = 'lapsed'),
       count(*) FILTER (WHERE status = 'reserved')
FROM annotations_claim WHERE batch_id = ANY(%(ids)s)
GROUP BY batch_id
"""

# Held slots over time, per batch: +1 when a claim takes a slot, -1 when it gives it back.
_TIMELINE_SQL = """
WITH slots AS (
    SELECT batch_id, sum(overlap) AS n, bool_and(submitted_count >= overlap) AS done
    FROM projects_task WHERE batch_id = ANY(%(ids)s) GROUP BY batch_id
), ev AS (
    SELECT batch_id, claimed_at AS t, 1 AS d FROM annotations_claim WHERE batch_id = ANY(%(ids)s)
    UNION ALL
    SELECT batch_id, finished_at, -1 FROM annotations_claim
    WHERE batch_id = ANY(%(ids)s) AND status IN ('expired', 'released', 'lapsed')
), run AS (
    SELECT batch_id, t, d,
           sum(d) OVER (PARTITION BY batch_id ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS held,
           sum(d) OVER (PARTITION BY batch_id) AS held_now
    FROM ev
), last_submit AS (
    SELECT batch_id, max(finished_at) AS t FROM annotations_claim
    WHERE batch_id = ANY(%(ids)s) AND status = 'submitted' GROUP BY batch_id
)
SELECT s.batch_id, s.n,
       min(r.t) FILTER (WHERE r.held >= s.n),
       CASE WHEN bool_or(r.held_now >= s.n) THEN max(r.t) FILTER (WHERE r.d = 1 AND r.held >= s.n) END,
       CASE WHEN s.done THEN ls.t END
FROM slots s
LEFT JOIN run r ON r.batch_id = s.batch_id
LEFT JOIN last_submit ls ON ls.batch_id = s.batch_id
GROUP BY s.batch_id, s.n, s.done, ls.t
"""


def _spread(histogram: dict[int, int]) -> dict:
    """Figures of a {tasks got: people} histogram: who got any, min / median / max, Gini."""
    people = sum(histogram.values())
    tasks = sum(n * k for n, k in histogram.items())
    figures = {"wanted": people, "got_any": sum(k for n, k in histogram.items() if n > 0), "tasks": tasks,
               "min": None, "median": None, "max": None, "gini": None, "got_any_percent": None,
               "mean": None}
    if not people:
        return figures
    values = sorted(histogram)
    figures["min"], figures["max"] = values[0], values[-1]
    figures["mean"] = round(tasks / people, 2)
    figures["got_any_percent"] = round(100 * figures["got_any"] / people, 1)
    # Median of the expanded list, from the cumulative counts.
    def nth(index: int) -> int:
        seen = 0
        for value in values:
            seen += histogram[value]
            if index < seen:
                return value
        return values[-1]

    middle = (people - 1) / 2
    median = (nth(int(middle)) + nth(int(middle + 0.5))) / 2
    figures["median"] = int(median) if median == int(median) else median
    if tasks:
        # Mean absolute difference over all ordered pairs, over twice the mean: 0 for an even split.
        differences = sum(histogram[a] * histogram[b] * abs(a - b) for a in values for b in values)
        gini = differences / (2 * people * tasks)
        figures["gini"] = max(0.0, round(gini, 3)) + 0.0  # never "-0.0"
    else:
        figures["gini"] = 0.0
    return figures


def _hours(ids: list[int], cursor) -> dict:
    cursor.execute(_HOURS_SQL, {"ids": ids})
    by_hour = dict(cursor.fetchall())
    hours = [by_hour.get(h, 0) for h in range(24)]
    peak = max(hours) or 1
    taken = sum(hours)
    night = sum(hours[h] for h in NIGHT_HOURS)
    return {
        "hours": [{"hour": h, "claims": n, "percent": round(100 * n / peak), "night": h in NIGHT_HOURS}
                  for h, n in enumerate(hours)],
        "claims": taken,
        "night_claims": night,
        "night_percent": round(100 * night / taken, 1) if taken else 0.0,
    }


def _since(moment: datetime | None, start: datetime | None) -> float | None:
    if moment is None or start is None:
        return None
    return round((moment - start).total_seconds() / 3600, 1)


def _figures(*, ids: list[int], at: datetime, by_batch: bool, cursor) -> dict[int, dict]:
    """Per scope (batch id, or 0 for all): the spread overall and per region, and the lottery's."""
    cursor.execute(_SPREAD_SQL, {"ids": ids, "at": at, "by_batch": by_batch})
    overall: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    regions: dict[int, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    lottery: dict[int, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"opted_in": 0, "kept_wins": 0}))
    for scope, region, n, people, opted_in, kept in cursor.fetchall():
        overall[scope][n] += people
        regions[scope][region][n] += people
        for key in (region, "all"):
            lottery[scope][key]["opted_in"] += opted_in
            lottery[scope][key]["kept_wins"] += kept
    result = {}
    scopes = set(overall) if by_batch else {0}
    for scope in scopes:
        spread = _spread(dict(overall.get(scope, {})))
        spread["regions"] = []
        for key, label in REGIONS:
            region = _spread(dict(regions[scope].get(key, {})))
            region.update(key=key, label=label, opted_in=lottery[scope][key]["opted_in"],
                          kept_wins=lottery[scope][key]["kept_wins"])
            region["share_of_tasks_percent"] = (round(100 * region["tasks"] / spread["tasks"], 1)
                                                if spread["tasks"] else 0.0)
            spread["regions"].append(region)
        opted = lottery[scope]["all"]
        spread["opted_in"], spread["kept_wins"] = opted["opted_in"], opted["kept_wins"]
        spread["kept_wins_percent"] = (round(100 * opted["kept_wins"] / opted["opted_in"], 1)
                                       if opted["opted_in"] else None)
        result[scope] = spread
    return result


def _per_batch(ids: list[int], cursor) -> tuple[dict, dict]:
    cursor.execute(_RESERVATIONS_SQL, {"ids": ids})
    reservations = {row[0]: dict(zip(("drawn", "opened", "handed_back", "lapsed", "reserved"), row[1:], strict=True))
                    for row in cursor.fetchall()}
    cursor.execute(_TIMELINE_SQL, {"ids": ids})
    timeline = {
        batch_id: {"slots": int(slots or 0), "full_at": full, "full_for_good_at": for_good, "exhausted_at": done}
        for batch_id, slots, full, for_good, done in cursor.fetchall()
    }
    return reservations, timeline


def _batch_times(batch: Batch, timeline: dict) -> dict:
    times = timeline.get(batch.pk, {"slots": 0, "full_at": None, "full_for_good_at": None, "exhausted_at": None})
    return {
        "slots": times["slots"],
        "hours_to_fully_handed_out": _since(times["full_at"], batch.released_at),
        "hours_to_handed_out_for_good": _since(times["full_for_good_at"], batch.released_at),
        "hours_to_exhausted": _since(times["exhausted_at"], batch.released_at),
    }


_NO_RESERVATIONS = {"drawn": 0, "opened": 0, "handed_back": 0, "lapsed": 0, "reserved": 0}


def _cap_schedule(batch: Batch, now: datetime) -> list[dict]:
    start = batch.released_at or batch.release_at
    steps = batch.fair_share_steps()
    due = batch.fair_share_step_due(now) if batch.released_at else None
    return [{"offset_hours": round(step.offset.total_seconds() / 3600, 2), "kind": step.kind,
             "at": start + step.offset if start else None,
             "applied": due is not None and index <= due} for index, step in enumerate(steps)]


def batch_fairness_report(*, batch: Batch, now: datetime | None = None) -> dict:
    """How fairly `batch`'s work went round, over everyone who wanted it (see the module)."""
    now = now or timezone.now()
    ids = [batch.pk]
    at = batch.released_at or batch.release_at or now
    with connection.cursor() as cursor:
        spread = _figures(ids=ids, at=at, by_batch=False, cursor=cursor)[0]
        hours = _hours(ids, cursor)
        reservations, timeline = _per_batch(ids, cursor)
    report = {**spread, **hours, "reservations": reservations.get(batch.pk, dict(_NO_RESERVATIONS)),
              **_batch_times(batch, timeline)}
    # The names the report had before it counted everyone: contractors with work, their tasks.
    report["contractors"] = spread["got_any"]
    report["tasks_total"] = spread["tasks"]
    report["cap"] = {
        "follows_fair_share": batch.follows_fair_share, "current": batch.fair_share_cap,
        "derived": batch.fair_share_cap_derived, "ends_at": batch.fair_share_ends_at,
        "ended": bool(batch.fair_share_ends_at and now >= batch.fair_share_ends_at),
        "schedule": _cap_schedule(batch, now),
    }
    report["lottery"] = None
    if batch.release_policy == Batch.Policy.LOTTERY:
        entries = LotteryEntry.objects.filter(batch=batch)
        allocation = LotteryAllocation.objects.filter(batch=batch).first()
        report["lottery"] = {
            "allocation": allocation,
            "participants": entries.count(),
            "winners": entries.filter(allocated__gt=0).count() if allocation else None,
            "reservation_period_hours": round(batch.reservation_period.total_seconds() / 3600, 2),
        }
    return report


def project_fairness_report(*, project: Project, now: datetime | None = None) -> dict:
    """The same figures over every released batch of `project` (each person's tasks summed over
    the batches), with one row per batch."""
    now = now or timezone.now()
    batches = list(Batch.objects.filter(project=project, released_at__isnull=False).order_by("-released_at", "-id"))
    ids = [b.pk for b in batches]
    at = batches[-1].released_at if batches else now
    with connection.cursor() as cursor:
        overall = _figures(ids=ids, at=at, by_batch=False, cursor=cursor)[0]
        per_batch = _figures(ids=ids, at=at, by_batch=True, cursor=cursor)
        hours = _hours(ids, cursor)
        reservations, timeline = _per_batch(ids, cursor)
    rows = []
    for batch in batches:
        spread = per_batch.get(batch.pk) or _figures_empty()
        rows.append({"batch": batch, **spread, **_batch_times(batch, timeline),
                     "reservations": reservations.get(batch.pk, dict(_NO_RESERVATIONS))})
    lapsed = sum(row["reservations"]["lapsed"] for row in rows)
    return {**overall, **hours, "batches": rows, "lapsed": lapsed}


def _figures_empty() -> dict:
    spread = _spread({})
    spread.update(regions=[], opted_in=0, kept_wins=0, kept_wins_percent=None)
    return spread
