"""Reads for accounts: notifications and the unread count shown in the header."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import QuerySet

from .models import ApiToken, Notification

UNREAD_CACHE_SECONDS = 300


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def notifications_for(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def notifications_unread_for(*, user) -> QuerySet[Notification]:
    return notifications_for(user=user).filter(read_at__isnull=True)


def notifications_unread_count(*, user) -> int:
    """The header badge: cached per person and forgotten whenever their notifications change."""
    key = _unread_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(user=user, read_at__isnull=True).count()
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


def notifications_unread_forget(*, user_ids) -> None:
    if user_ids:
        cache.delete_many([_unread_key(user_id) for user_id in user_ids])


def api_tokens_for(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
