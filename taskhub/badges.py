"""The alert badges of the navigation (issue 20): counts of what waits for a lead, an admin or a
reviewer (new flags, appeals, second opinions, questions, problem reports), each a link to its page.

Each app registers its own badges when Django starts (`<app>.apps.<Config>.ready`), so the header,
rendered by a lower layer, shows an upper layer's counts without importing it. A badge's `count` takes
the signed-in user and returns a QuerySet (all of a person's badges are then counted in ONE query) or an
int (a count function of its own). To add the problem reports of another app:

    badge_register("problem_reports", label="Problem reports", url_name="...", roles=LEADS,
                   count=lambda user: problem_reports_open_count(lead=user))

Counts are cached per person for BADGE_CACHE_SECONDS (a badge is a hint, not a figure), and a cache
that is down costs a query, not the page.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.urls import reverse
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BADGE_CACHE_SECONDS = 30
LEADS = frozenset({"lead", "admin"})
REVIEWERS = frozenset({"reviewer", "lead", "admin"})  # "reviewer": a contractor who may review


@dataclass(frozen=True)
class Badge:
    key: str
    label: str
    url_name: str
    roles: frozenset
    count: Callable[[object], QuerySet | int]
    order: int = 100


_BADGES: dict[str, Badge] = {}


def badge_register(key: str, *, label: str, url_name: str, count: Callable[[object], QuerySet | int],
                   roles=LEADS, order: int = 100) -> Badge:
    """Add (or replace, for a reload) the badge `key` to the navigation of people in `roles`."""
    badge = Badge(key=key, label=label, url_name=url_name, roles=frozenset(roles), count=count, order=order)
    _BADGES[key] = badge
    return badge


def badges_registered() -> list[Badge]:
    return sorted(_BADGES.values(), key=lambda b: (b.order, b.key))


def _roles_of(user) -> set[str]:
    roles = {user.role}
    if getattr(user, "can_review", False):
        roles.add("reviewer")
    return roles


def _counted(user, badges: list[Badge]) -> dict[str, int]:
    counts: dict[str, int] = {}
    subqueries, params, keys = [], [], []
    for badge in badges:
        value = badge.count(user)
        if isinstance(value, QuerySet):
            sql, sql_params = value.order_by().values("pk").query.sql_with_params()
            subqueries.append(f"(SELECT COUNT(*) FROM ({sql}) b{len(keys)})")
            params.extend(sql_params)
            keys.append(badge.key)
        else:
            counts[badge.key] = int(value)
    if subqueries:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(subqueries), params)
            counts.update(zip(keys, cursor.fetchone(), strict=True))
    return counts


def _cache_key(user_id: int) -> str:
    return f"taskhub:badges:{user_id}"


def badges_for(user) -> list[dict]:
    """The badges this person sees, each {key, label, url, count}, in order."""
    if not getattr(user, "is_authenticated", False):
        return []
    roles = _roles_of(user)
    badges = [b for b in badges_registered() if b.roles & roles]
    if not badges:
        return []
    counts = None
    with contextlib.suppress(RedisError):
        counts = cache.get(_cache_key(user.pk))
    if counts is None or set(counts) != {b.key for b in badges}:
        counts = _counted(user, badges)
        try:
            cache.set(_cache_key(user.pk), counts, BADGE_CACHE_SECONDS)
        except RedisError:
            logger.warning("cache unavailable; badges are counted on every page")
    return [{"key": b.key, "label": b.label, "url": reverse(b.url_name), "count": counts.get(b.key, 0)}
            for b in badges]


def badges_forget(*, user_ids) -> None:
    """Forget cached counts (after a write that changes them, so a badge does not lag behind)."""
    with contextlib.suppress(RedisError):
        cache.delete_many([_cache_key(pk) for pk in user_ids])
