"""Writes for accounts: in-app notifications (the one writer of the notifications table), API
tokens, the audit trail (the one writer of audit entries) and the deactivation of accounts. Each
function owns its transaction, except `audit_record`, which joins the transaction of the decision it
records.

A fan-out to many people is one `INSERT ... SELECT` (never a loop of saves), and each
notification may carry a `key` so that delivering the same event twice inserts nothing:
Celery delivers at least once, the unique (user, key) index makes the repeat harmless.
Every notification created here is considered for email (`accounts.mail.notifications_email`, in the same transaction).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import AuthToken

from taskhub.decisions import clean_effective_time, clean_reason
from taskhub.errors import DomainError, Forbidden, NotFound
from taskhub.formats import local_time
from taskhub.hooks import role_changed

from .errors import AccountDecisionError, AccountStateError
from .mail import notifications_email
from .models import ApiToken, AuditEntry, Notification, Role, User
from .selectors import notifications_unread_forget

logger = logging.getLogger(__name__)

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
        RETURNING id, user_id
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"kind": kind, "url": url, "key": key, "now": timezone.now(), "users": user_ids,
                             "titles": titles, "bodies": bodies})
        rows = cursor.fetchall()
        created = [row[1] for row in rows]
        _forget_unread(created)
        notifications_email(kind=kind, notification_ids=[row[0] for row in rows])
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
        RETURNING id, user_id
    """
    values = {**params, "kind": kind, "title": title, "body": body, "url": url, "key": key,
              "now": timezone.now(), "at": at}
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    user_ids = [row[1] for row in rows]
    _forget_unread(user_ids)
    # The one boundary of email: every notification created here is considered for it.
    notifications_email(kind=kind, notification_ids=[row[0] for row in rows])
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


# --- The audit trail ----------------------------------------------------------------------------


def _audit_row(*, actor, kind: str, summary: str, subject=None, reason: str = "", obj=None, project=None,
               data: dict | None = None, at: datetime | None = None) -> AuditEntry:
    if kind not in AuditEntry.Kind.values:
        raise ValueError(f"{kind!r} is not an audit entry kind")
    return AuditEntry(
        at=at or timezone.now(), actor=actor, actor_role=getattr(actor, "role", "") if actor is not None else "",
        kind=kind, subject=subject, reason=reason or "", summary=summary[:300],
        project_id=getattr(project, "pk", None), project_name=(getattr(project, "name", "") or "")[:200],
        object_type=obj._meta.label_lower if obj is not None else "", object_id=getattr(obj, "pk", None),
        data=data or {},
    )


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        # An entry written outside the decision's transaction could outlive a rolled back decision.
        raise RuntimeError("audit entries are written inside the transaction of the decision they record")


def audit_record(*, actor, kind: str, summary: str, subject=None, reason: str = "", obj=None, project=None,
                 data: dict | None = None, at: datetime | None = None) -> AuditEntry:
    """Record a decision in the append-only audit trail. Call it inside the decision's own
    transaction. `actor` None is TaskHub acting on a rule a person set; `subject` is the person
    it is about (None for a project's pay); `project` anything with `pk` and `name`."""
    _require_transaction()
    entry = _audit_row(actor=actor, kind=kind, summary=summary, subject=subject, reason=reason, obj=obj,
                       project=project, data=data, at=at)
    entry.save(force_insert=True)
    return entry


def audit_record_many(*, entries: list[dict]) -> int:
    """Several entries in one INSERT (each a dict of `audit_record`'s arguments)."""
    _require_transaction()
    rows = [_audit_row(**entry) for entry in entries]
    AuditEntry.objects.bulk_create(rows)
    return len(rows)


# --- Deactivation: a decision, never a side effect ------------------------------------------------


def _require_admin(by) -> None:
    if by is None or getattr(by, "role", None) != Role.ADMIN or not by.is_active:
        raise Forbidden("Only an admin deactivates or reactivates an account.", code="not_an_admin")


def _send_notice_email(*, user_id: int, subject: str, body: str) -> None:
    """Email the notice too: a deactivated person cannot sign in to read it. A mail server that
    refuses is logged; the decision and its in-app notice stand."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    try:
        send_mail(subject, body, None, [user.email])
    except (OSError, smtplib.SMTPException):
        logger.exception("could not email the account notice to user %s", user_id)


def user_deactivate(*, user: User, by: User, reason: str, effective_at: datetime | None = None,
                    now: datetime | None = None) -> User:
    """Deactivate an account, now or from a later time: the person is told at once (in TaskHub and
    by email) with the reason, and the decision is in the audit trail. A deactivation set for later
    is carried out by `users_deactivate_due` when its time comes. Nothing else deactivates anyone."""
    now = now or timezone.now()
    _require_admin(by)
    if by.pk == user.pk:
        raise AccountDecisionError.at("user", "nobody deactivates their own account")
    text = clean_reason(reason, field="reason", what="A deactivation",
                        minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=AccountDecisionError)
    effective = clean_effective_time(effective_at, field="effective_at", now=now, error=AccountDecisionError)
    at_once = effective <= now
    when = "now" if at_once else f"from {local_time(effective, user)}"
    with transaction.atomic():
        current = User.objects.select_for_update().filter(pk=user.pk).first()
        if current is None:
            raise NotFound("No such account.")
        if not current.is_active:
            raise AccountStateError("This account is already deactivated.", code="already_deactivated")
        if current.deactivated_at is not None:
            raise AccountStateError(
                f"A deactivation is already set for {local_time(current.deactivated_at, by)}; reactivate the account "
                "to cancel it first.", code="deactivation_scheduled")
        title = f"Your TaskHub account is deactivated {when}"
        # The notice goes in before the account stops being active (notifications reach active accounts).
        notification_create(user=current, kind="account_deactivated", title=title, body=text,
                            key=f"deactivated:{current.pk}:{effective.isoformat()}")
        current.deactivated_at = effective
        current.deactivated_by = by
        current.deactivation_reason = text
        current.is_active = not at_once
        current.save(update_fields=["deactivated_at", "deactivated_by", "deactivation_reason", "is_active"])
        audit_record(actor=by, kind=AuditEntry.Kind.DEACTIVATED, subject=current, reason=text, obj=current,
                     summary=f"Account of {current.email} deactivated {when}", at=now,
                     data={"effective_at": effective.isoformat()})
        user_id, body = current.pk, f"{title}.\n\nReason: {text}\n\nReply to this email to contest the decision."
        transaction.on_commit(lambda: _send_notice_email(user_id=user_id, subject=title, body=body), robust=True)
    user.refresh_from_db()
    return user


def user_reactivate(*, user: User, by: User, reason: str, now: datetime | None = None) -> User:
    """Reactivate an account (or cancel a deactivation set for later), with a reason on record."""
    now = now or timezone.now()
    _require_admin(by)
    text = clean_reason(reason, field="reason", what="A reactivation",
                        minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=AccountDecisionError)
    with transaction.atomic():
        current = User.objects.select_for_update().filter(pk=user.pk).first()
        if current is None:
            raise NotFound("No such account.")
        if current.is_active and current.deactivated_at is None:
            raise AccountStateError("This account is active and no deactivation is set.", code="already_active")
        cancelled = current.is_active
        current.is_active = True
        current.deactivated_at = None
        current.deactivated_by = None
        current.deactivation_reason = ""
        current.save(update_fields=["deactivated_at", "deactivated_by", "deactivation_reason", "is_active"])
        what = "the deactivation set for later is cancelled" if cancelled else "your account is active again"
        title = f"TaskHub: {what}"
        notification_create(user=current, kind="account_reactivated", title=title, body=text)
        audit_record(actor=by, kind=AuditEntry.Kind.REACTIVATED, subject=current, reason=text, obj=current,
                     summary=f"Account of {current.email} reactivated" + (" (scheduled deactivation cancelled)"
                                                                           if cancelled else ""), at=now)
        user_id, body = current.pk, f"{title}.\n\nReason: {text}"
        transaction.on_commit(lambda: _send_notice_email(user_id=user_id, subject=title, body=body), robust=True)
    user.refresh_from_db()
    return user


def users_deactivate_due(*, now: datetime | None = None) -> int:
    """Carry out the deactivations whose time has come (beat, every minute). Only decisions
    `user_deactivate` recorded, with their reason and notice, are carried out; a repeat does nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(User.objects.select_for_update(skip_locked=True)
                   .filter(is_active=True, deactivated_at__isnull=False, deactivated_at__lte=now))
        if not due:
            return 0
        User.objects.filter(pk__in=[u.pk for u in due], is_active=True).update(is_active=False)
        audit_record_many(entries=[
            {"actor": None, "kind": AuditEntry.Kind.DEACTIVATED, "subject": u, "obj": u, "at": now,
             "reason": u.deactivation_reason, "summary": f"Deactivation of {u.email} took effect as decided",
             "data": {"effective_at": u.deactivated_at.isoformat(), "decided_by": u.deactivated_by_id}}
            for u in due
        ])
    return len(due)


# --- Roles: a decision, with a reason, never a silent edit ------------------------------------------


def user_role_set(*, user: User, role: str, by: User, reason: str, now: datetime | None = None) -> User:
    """An admin changes a person's role, with the reason the person reads. Refused: the same role
    again, an unknown role, an admin changing their own role, and taking away the last active admin.

    What the person held under the old role is settled in the same transaction by the apps above
    (taskhub.hooks.role_changed): a contractor who stops being one has their active claims and unopened
    lottery wins released back to the pool with the reason (their submitted work and its pay stay); a
    lead who runs a sprint that is not closed stays a lead until it is. The person is notified (the
    "decisions" email group), and the audit entry keeps the old and the new role."""
    now = now or timezone.now()
    if by is None or getattr(by, "role", None) != Role.ADMIN or not by.is_active:
        raise Forbidden("Only an admin changes a role.", code="not_an_admin")
    if role not in Role.values:
        raise AccountDecisionError.at("role", "choose one of: " + ", ".join(str(label) for label in Role.labels))
    if by.pk == user.pk:
        raise AccountDecisionError.at("role", "nobody changes their own role; ask another admin")
    text = clean_reason(reason, field="reason", what="A role change",
                        minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=AccountDecisionError)
    with transaction.atomic():
        # The admins are locked in one order, so two admins demoting each other cannot both succeed.
        list(User.objects.select_for_update().filter(role=Role.ADMIN).order_by("pk").values_list("pk", flat=True))
        current = User.objects.select_for_update().filter(pk=user.pk).first()
        if current is None:
            raise NotFound("No such account.")
        old = current.role
        if old == role:
            raise AccountDecisionError.at("role", f"{current.email} is already {Role(role).label.lower()}")
        if old == Role.ADMIN and current.is_active and not User.objects.filter(
                role=Role.ADMIN, is_active=True).exclude(pk=current.pk).exists():
            raise AccountDecisionError.at("role", f"{current.email} is the last active admin; make another admin "
                                                  "first")
        done = role_changed(user_id=current.pk, old=old, new=role, by_id=by.pk, reason=text, now=now)
        current.role = role
        current.save(update_fields=["role"])
        old_label, new_label = Role(old).label, Role(role).label
        body = f"Reason: {text}" + "".join(f"\n\n{sentence}" for sentence in done)
        notification_create(user=current, kind="role_set", url="/", body=body,
                            title=f"Your TaskHub role is now {new_label.lower()} (was {old_label.lower()})",
                            key=f"role_set:{current.pk}:{now.isoformat()}")
        audit_record(actor=by, kind=AuditEntry.Kind.ROLE_SET, subject=current, reason=text, obj=current, at=now,
                     summary=f"Role of {current.email} changed from {old_label.lower()} to {new_label.lower()}",
                     data={"old_role": old, "new_role": role, "consequences": done})
    user.refresh_from_db()
    return user


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
