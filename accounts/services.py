"""Writes for accounts: in-app notifications (the one writer of the notifications table) and API
tokens. Each function owns its transaction.

A fan-out to many people is one `INSERT ... SELECT` (never a loop of saves), and each
notification may carry a `key` so that delivering the same event twice inserts nothing:
Celery delivers at least once, the unique (user, key) index makes the repeat harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import AuthToken

from taskhub.errors import DomainError, NotFound

from .models import ApiToken, Notification
from .selectors import notifications_unread_forget

# "{at}" in a title or body becomes the time `at` in each recipient's own time zone.
AT_PLACEHOLDER = "{at}"
_LOCAL_AT_SQL = (
    "to_char((%(at)s::timestamptz AT TIME ZONE u.timezone), 'Dy DD Mon YYYY HH24:MI') || ' ' || u.timezone"
)


def notification_create(*, user, kind: str, title: str, body: str = "", url: str = "", key: str = "") -> bool:
    """Notify one person. Returns False when a notification with the same key already exists."""
    with transaction.atomic():
        created = _insert(
            "SELECT u.id FROM accounts_user u WHERE u.id = %(one_user)s",
            {"one_user": user.pk},
            kind=kind, title=title, body=body, url=url, key=key, at=None,
        )
    return bool(created)


def notifications_create_many(
    *,
    users: QuerySet,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    key: str = "",
    at: datetime | None = None,
) -> int:
    """Notify everyone in `users` with one INSERT ... SELECT; returns how many were created.

    With `key`, a person already notified under that key is skipped, so a repeated fan-out
    is harmless. With `at`, "{at}" in the title or body is written in each person's zone.
    """
    inner_sql, inner_params = users.order_by().values("pk").query.sql_with_params()
    # The queryset's own SQL uses positional placeholders; give them names for one style.
    names = {f"u{i}": value for i, value in enumerate(inner_params)}
    inner_sql = inner_sql % tuple(f"%({name})s" for name in names)
    with transaction.atomic():
        return len(_insert(inner_sql, names, kind=kind, title=title, body=body, url=url, key=key, at=at))


def notifications_create_each(*, messages: list[tuple[int, str, str]], kind: str, url: str = "",
                              key: str = "") -> int:
    """Notify several people, each with their own (user id, title, body), in one INSERT; returns
    how many were created. With `key`, a person already notified under it is skipped."""
    if not messages:
        return 0
    user_ids, titles, bodies = (list(column) for column in zip(*messages, strict=True))
    sql = """
        INSERT INTO accounts_notification (user_id, kind, title, body, url, key, created_at, read_at)
        SELECT u.id, %(kind)s, left(m.title, 200), m.body, %(url)s, %(key)s, %(now)s, NULL
        FROM unnest(%(users)s::bigint[], %(titles)s::text[], %(bodies)s::text[]) AS m(user_id, title, body)
        JOIN accounts_user u ON u.id = m.user_id AND u.is_active
        ON CONFLICT (user_id, key) WHERE key <> '' DO NOTHING
        RETURNING user_id
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"kind": kind, "url": url, "key": key, "now": timezone.now(), "users": user_ids,
                             "titles": titles, "bodies": bodies})
        created = [row[0] for row in cursor.fetchall()]
        _forget_unread(created)
    return len(created)


def _forget_unread(user_ids: list[int]) -> None:
    # Forget now and again at commit, so a count cached in between cannot outlive the insert.
    notifications_unread_forget(user_ids=user_ids)
    transaction.on_commit(lambda: notifications_unread_forget(user_ids=user_ids))


def _insert(recipients_sql: str, params: dict, *, kind, title, body, url, key, at) -> list[int]:
    def text(name: str) -> str:
        if at is not None:
            return f"replace(%({name})s, '{AT_PLACEHOLDER}', {_LOCAL_AT_SQL})"
        return f"%({name})s"

    sql = f"""
        INSERT INTO accounts_notification (user_id, kind, title, body, url, key, created_at, read_at)
        SELECT u.id, %(kind)s, left({text("title")}, 200), {text("body")}, %(url)s, %(key)s, %(now)s, NULL
        FROM accounts_user u
        WHERE u.id IN ({recipients_sql}) AND u.is_active
        ON CONFLICT (user_id, key) WHERE key <> '' DO NOTHING
        RETURNING user_id
    """
    values = {**params, "kind": kind, "title": title, "body": body, "url": url, "key": key,
              "now": timezone.now(), "at": at}
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        user_ids = [row[0] for row in cursor.fetchall()]
    _forget_unread(user_ids)
    return user_ids


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of the person's own notifications read (NotFound for anyone else's)."""
    notification = Notification.objects.filter(pk=notification_id, user=user).first()
    if notification is None:
        raise NotFound("No such notification of yours.")
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db(fields=["read_at"])
        notifications_unread_forget(user_ids=[user.pk])
    return notification


def notifications_mark_all_read(*, user) -> int:
    updated = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    notifications_unread_forget(user_ids=[user.pk])
    return updated


# --- API tokens -----------------------------------------------------------------------------

API_TOKEN_MAX_DAYS = 365
API_TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


def api_token_create(*, user, name: str, days: int, now: datetime | None = None) -> tuple[ApiToken, str]:
    """Make an API token acting as `user` (with their role) for `days` days. Returns the record and
    the token itself, which is shown this once: only its digest is stored."""
    name = (name or "").strip()
    errors = []
    if not name:
        errors.append(DomainError.at("name", "Give the token a name, such as the pipeline that will use it."))
    elif len(name) > API_TOKEN_NAME_MAX or "\x00" in name:
        errors.append(DomainError.at("name", f"Keep the name to {API_TOKEN_NAME_MAX} characters of text."))
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= API_TOKEN_MAX_DAYS:
        errors.append(DomainError.at("days", f"A token lasts from 1 to {API_TOKEN_MAX_DAYS} days."))
    if errors:
        raise DomainError.combine(errors)
    if not user.is_active:
        raise DomainError("An inactive account cannot have API tokens.", code="inactive")
    with transaction.atomic():
        knox_token, token = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
        record = ApiToken.objects.create(
            user=user, name=name, digest=knox_token.digest, token_key=knox_token.token_key,
            created_at=knox_token.created, expires_at=knox_token.expiry,
        )
    return record, token


def api_token_revoke(*, user, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke one of `user`'s tokens at once: knox's row goes, the record says when. Idempotent."""
    with transaction.atomic():
        record = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if record is None:
            raise NotFound("You have no such API token.", field="token")
        if record.revoked_at is None:
            record.revoked_at = now or timezone.now()
            record.save(update_fields=["revoked_at"])
        AuthToken.objects.filter(digest=record.digest).delete()
    return record
