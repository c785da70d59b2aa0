"""Reads for accounts: notifications, the unread count shown in the header, and the audit trail."""

from __future__ import annotations

import contextlib
import logging

from django.core.cache import cache
from django.db.models import Q, QuerySet
from redis.exceptions import RedisError

from .models import ApiToken, AuditEntry, Notification

logger = logging.getLogger(__name__)

UNREAD_CACHE_SECONDS = 300


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def notifications_for(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def notifications_unread_for(*, user) -> QuerySet[Notification]:
    return notifications_for(user=user).filter(read_at__isnull=True)


def notifications_unread_count(*, user) -> int:
    """The header badge: cached per person and forgotten whenever their notifications change. Without
    Redis it is counted in the database: a badge is no reason for a page to fail."""
    key = _unread_key(user.pk)
    try:
        count = cache.get(key)
    except RedisError:
        logger.warning("cache unavailable; counting unread notifications in the database")
        return Notification.objects.filter(user=user, read_at__isnull=True).count()
    if count is None:
        count = Notification.objects.filter(user=user, read_at__isnull=True).count()
        with contextlib.suppress(RedisError):
            cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


def notifications_unread_forget(*, user_ids) -> None:
    """Forget cached badges. A Redis that is down forgets nothing: its counts are at most
    UNREAD_CACHE_SECONDS old, and a write that notified someone never fails for it."""
    if user_ids:
        try:
            cache.delete_many([_unread_key(user_id) for user_id in user_ids])
        except RedisError:
            logger.warning("cache unavailable; %s unread count(s) may be stale for a while", len(user_ids))


# --- The audit trail --------------------------------------------------------------------------------


def audit_entries() -> QuerySet[AuditEntry]:
    """Every entry, newest first, with who decided and about whom."""
    return AuditEntry.objects.select_related("actor", "subject").order_by("-at", "-id")


def audit_entries_about(*, user, project_ids=()) -> QuerySet[AuditEntry]:
    """What a contractor reads on their History page: the entries about them, and the decisions
    about the pay of the projects in `project_ids` (the ones they work or worked on)."""
    about = Q(subject=user)
    if project_ids:
        about |= Q(subject__isnull=True, project_id__in=list(project_ids))
    return audit_entries().filter(about)


def role_history(*, user) -> QuerySet[AuditEntry]:
    """Every role change of `user`, newest first, with who decided it (`data`: old_role, new_role)."""
    return (AuditEntry.objects.filter(subject=user, kind=AuditEntry.Kind.ROLE_SET).select_related("actor")
            .order_by("-at", "-id"))


def audit_projects() -> list[tuple[int, str]]:
    """The projects the trail names, for the admin page's filter (latest name of each)."""
    rows = (AuditEntry.objects.exclude(project_id__isnull=True).order_by("project_id", "-at")
            .distinct("project_id").values_list("project_id", "project_name"))
    return sorted(rows, key=lambda row: row[1].lower())


def api_tokens_for(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
