"""Email of notifications: writes and sends (the one place TaskHub emails a notification).

The boundary is the notification service (`accounts.services`): every notification it creates is
handed to `notifications_email` in the same transaction, so a kind another app adds later is
emailed by its group's default without any code of its own. Each person chooses per group (see
`EmailGroup`) at once, a daily digest in their own time zone, or off.

- *At once*: one `OutgoingEmail` row keyed `n:<notification id>` (unique), and an outbox message
  that sends it once the notification is committed (taskhub/outbox.py).
- *Digest*: a `DigestItem`; beat's `emails_digest_due` gathers a person's items once a day, at
  `TASKHUB_EMAIL_DIGEST_HOUR` in their zone, into one row keyed `digest:<user>:<local day>`.

`emails_send` sends a row only while its `sent_at` is empty, under the row's lock: Celery's
at-least-once delivery, the drain and beat's resend net never send an event twice.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from taskhub.formats import local_time
from taskhub.outbox import enqueue

from .models import DigestItem, EmailGroup, EmailMode, EmailPreference, Notification, OutgoingEmail, User

logger = logging.getLogger(__name__)

# Which group each notification kind belongs to. A kind not named here is OTHER.
KIND_GROUPS: dict[str, str] = {
    "release_announced": EmailGroup.RELEASES,
    "release_reminder": EmailGroup.RELEASES,
    "lottery_result": EmailGroup.LOTTERY,
    "lottery_returned": EmailGroup.LOTTERY,
    "grade_low": EmailGroup.GRADES,
    "appeal_decided": EmailGroup.GRADES,
    "grades_flagged": EmailGroup.DECISIONS,
    "flag_decided": EmailGroup.DECISIONS,
    "pause_lifted": EmailGroup.DECISIONS,
    "pause_appeal_decided": EmailGroup.DECISIONS,
    "qualification_revoked": EmailGroup.DECISIONS,
    "role_set": EmailGroup.DECISIONS,
    "batch_closed": EmailGroup.DECISIONS,
    "rate_change": EmailGroup.PAY,
    "grade_policy_change": EmailGroup.PAY,
}
# Kinds whose service emails them itself, always (a deactivation's notice must reach the person
# whatever they chose, and they reply to it): the boundary leaves them alone, so nobody gets two.
OWN_EMAIL_KINDS = frozenset({"account_deactivated", "account_reactivated"})
DEFAULT_MODES: dict[str, str] = {
    EmailGroup.RELEASES: EmailMode.NOW,
    EmailGroup.LOTTERY: EmailMode.NOW,
    EmailGroup.GRADES: EmailMode.NOW,
    EmailGroup.DECISIONS: EmailMode.NOW,
    EmailGroup.PAY: EmailMode.NOW,
    EmailGroup.OTHER: EmailMode.DIGEST,
}
SEND_CHUNK = 100
UNSUBSCRIBE_SALT = "taskhub.email.unsubscribe"
ALL_GROUPS = "all"
# An unsent email older than this is sent again by beat (the outbox lost nothing, the SMTP server
# refused it): at most `MAX_ATTEMPTS` tries.
RESEND_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 8


def group_of(kind: str) -> str:
    return KIND_GROUPS.get(kind, EmailGroup.OTHER)


# --- Choices -------------------------------------------------------------------------------

def preferences_of(user) -> dict[str, str]:
    """{group: mode} for every group, the defaults filled in."""
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("group", "mode"))
    return {group: chosen.get(group, DEFAULT_MODES[group]) for group in EmailGroup.values}


def preferences_set(*, user, modes: dict[str, str]) -> None:
    """Store the person's choice for each group given (values already checked by the form)."""
    now = timezone.now()
    with transaction.atomic():
        for group, mode in modes.items():
            EmailPreference.objects.update_or_create(user=user, group=group,
                                                     defaults={"mode": mode, "updated_at": now})
        if any(mode == EmailMode.OFF for mode in modes.values()):
            off = [group for group, mode in modes.items() if mode == EmailMode.OFF]
            _drop_waiting(user.pk, off)


def _drop_waiting(user_id: int, groups: list[str]) -> None:
    """Digest items of groups now switched off are not sent later."""
    waiting = DigestItem.objects.filter(user_id=user_id, email__isnull=True).values_list("pk", "notification__kind")
    DigestItem.objects.filter(pk__in=[pk for pk, kind in waiting if group_of(kind) in groups]).delete()


def unsubscribe_token(user_id: int, group: str) -> str:
    """A signed token that switches `group` (or every group: "all") off for one person, without a
    sign-in; it does not expire (an old email's link still works)."""
    return signing.dumps({"u": user_id, "g": group}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[User, str] | None:
    """(person, group) a token stands for, or None for a token that is not ours."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    group = data.get("g")
    if group != ALL_GROUPS and group not in EmailGroup.values:
        return None
    user = User.objects.filter(pk=data["u"]).first()
    return (user, group) if user is not None else None


def unsubscribe(*, user, group: str) -> list[str]:
    """Switch one group (or all) off; returns the groups switched off."""
    groups = list(EmailGroup.values) if group == ALL_GROUPS else [group]
    preferences_set(user=user, modes={g: EmailMode.OFF for g in groups})
    return groups


# --- The boundary: notifications become emails ------------------------------------------------

_PLAN_SQL = """
WITH n AS (
    SELECT n.id, n.user_id, COALESCE(p.mode, %(default)s) AS mode
    FROM accounts_notification n
    JOIN accounts_user u ON u.id = n.user_id AND u.email <> ''
    LEFT JOIN accounts_emailpreference p ON p.user_id = n.user_id AND p."group" = %(group)s
    WHERE n.id = ANY(%(ids)s)
), digest AS (
    INSERT INTO accounts_digestitem (notification_id, user_id, email_id, created_at)
    SELECT id, user_id, NULL, %(now)s FROM n WHERE mode = 'digest'
    ON CONFLICT (notification_id) DO NOTHING
)
INSERT INTO accounts_outgoingemail (user_id, key, kind, notification_id, created_at, sent_at, attempts, last_error)
SELECT user_id, 'n:' || id, 'now', id, %(now)s, NULL, 0, '' FROM n WHERE mode = 'now'
ON CONFLICT (key) DO NOTHING
RETURNING id
"""


def notifications_email(*, kind: str, notification_ids: list[int]) -> int:
    """Consider notifications just created (all of one kind) for email, in the caller's
    transaction: returns how many emails at once were planned (and enqueued through the outbox)."""
    if not notification_ids or kind in OWN_EMAIL_KINDS:
        return 0
    group = group_of(kind)
    with connection.cursor() as cursor:
        cursor.execute(_PLAN_SQL, {"ids": notification_ids, "group": group, "default": DEFAULT_MODES[group],
                                   "now": timezone.now()})
        email_ids = [row[0] for row in cursor.fetchall()]
    _enqueue(email_ids)
    return len(email_ids)


def _enqueue(email_ids: list[int]) -> None:
    from . import tasks  # the tasks module imports this one

    for start in range(0, len(email_ids), SEND_CHUNK):
        enqueue(tasks.emails_send, email_ids=email_ids[start:start + SEND_CHUNK])


_DIGEST_SQL = """
WITH due AS (
    SELECT DISTINCT i.user_id, (%(now)s::timestamptz AT TIME ZONE u.timezone)::date AS day
    FROM accounts_digestitem i
    JOIN accounts_user u ON u.id = i.user_id AND u.is_active
    WHERE i.email_id IS NULL
      AND EXTRACT(hour FROM %(now)s::timestamptz AT TIME ZONE u.timezone) >= %(hour)s
), made AS (
    INSERT INTO accounts_outgoingemail (user_id, key, kind, notification_id, created_at, sent_at, attempts, last_error)
    SELECT user_id, 'digest:' || user_id || ':' || day, 'digest', NULL, %(now)s, NULL, 0, '' FROM due
    ON CONFLICT (key) DO NOTHING
    RETURNING id, user_id
)
UPDATE accounts_digestitem i SET email_id = made.id FROM made
WHERE i.user_id = made.user_id AND i.email_id IS NULL
RETURNING made.id
"""


def emails_digest_due(*, now: datetime | None = None) -> int:
    """Beat: gather each person's waiting digest items into today's digest once it is
    TASKHUB_EMAIL_DIGEST_HOUR or later in their zone (one digest a local day); send those, and
    send again what an SMTP failure left unsent. Returns how many digests were made."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_DIGEST_SQL, {"now": now, "hour": settings.TASKHUB_EMAIL_DIGEST_HOUR})
        made = sorted({row[0] for row in cursor.fetchall()})
        stuck = list(OutgoingEmail.objects.filter(
            sent_at__isnull=True, created_at__lt=now - RESEND_AFTER, attempts__lt=MAX_ATTEMPTS,
        ).exclude(pk__in=made).order_by("pk").values_list("pk", flat=True)[:1000])
        _enqueue(made + stuck)
    return len(made)


# --- Sending --------------------------------------------------------------------------------

def _site(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return settings.TASKHUB_SITE_URL.rstrip("/") + path


def _footer(user: User, group: str, why: str) -> tuple[str, dict]:
    token = unsubscribe_token(user.pk, group)
    links = {"why": why, "preferences_url": _site(reverse("email_preferences")),
             "unsubscribe_url": _site(reverse("email_unsubscribe", kwargs={"token": token}))}
    text = (
        f"\n\n--\n{why}\n"
        f"Choose what TaskHub emails you: {links['preferences_url']}\n"
        f"Unsubscribe from these emails (one click, no sign-in): {links['unsubscribe_url']}\n"
    )
    return text, links


# Every email has two parts with the same content: the plain text (written here) and an HTML
# alternative rendered from templates/email/ (the title, the body, the link, the choices and the
# unsubscribe link), so a mail client shows either and loses nothing.

def _message_now(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    notification = email.notification
    if notification is None:
        return None
    group = group_of(notification.kind)
    link = _site(notification.url or reverse("notifications"))
    lines = [notification.title, ""]
    if notification.body:
        lines += [notification.body, ""]
    lines.append(f"Open it: {link}")
    footer, links = _footer(
        email.user, group,
        f"You get this at once because you chose so for: {EmailGroup(group).label}.")
    html = render_to_string("email/notification.html", {
        "title": notification.title, "body": notification.body, "link": link, **links})
    return _message(email, subject=notification.title, body="\n".join(lines) + footer, html=html,
                    unsubscribe_url=links["unsubscribe_url"])


def _message_digest(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    notifications = list(Notification.objects.filter(
        pk__in=DigestItem.objects.filter(email=email).values("notification_id")).order_by("created_at", "id"))
    if not notifications:
        return None
    count = len(notifications)
    heading = f"Your TaskHub digest: {count} notification{'' if count == 1 else 's'} since the last one."
    lines = [heading, ""]
    items = []
    for n in notifications:
        item = {"title": n.title, "when": local_time(n.created_at, email.user), "body": n.body[:500],
                "link": _site(n.url or reverse("notifications"))}
        items.append(item)
        lines.append(f"* {item['title']} ({item['when']})")
        if item["body"]:
            lines.append(f"  {item['body']}")
        lines.append(f"  {item['link']}")
        lines.append("")
    footer, links = _footer(email.user, ALL_GROUPS,
                            "You get this digest once a day because you chose a daily digest.")
    html = render_to_string("email/digest.html", {"heading": heading, "items": items, **links})
    return _message(email, subject=f"Your TaskHub digest: {count} notification{'' if count == 1 else 's'}",
                    body="\n".join(lines) + footer, html=html, unsubscribe_url=links["unsubscribe_url"])


def _message(email: OutgoingEmail, *, subject: str, body: str, html: str,
             unsubscribe_url: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=f"[TaskHub] {subject}"[:200], body=body, to=[email.user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-TaskHub-Key": email.key,
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


class EmailNotSent(Exception):
    """The mail server refused or could not be reached; the email waits for a retry."""


def emails_send(*, email_ids: list[int]) -> int:
    """Send each email not sent yet (under its row's lock, so two senders send it once); returns how
    many were sent. The first failure to reach the mail server stops the round and raises
    EmailNotSent: the rest stay unsent for the task's retry and beat's resend."""
    sent = 0
    for email_id in email_ids:
        with transaction.atomic():
            email = (OutgoingEmail.objects.select_for_update(of=("self",)).select_related("user", "notification")
                     .filter(pk=email_id, sent_at__isnull=True).first())
            if email is None:
                continue  # sent already (a repeat) or gone with its person
            now = timezone.now()
            message = None
            # No check of is_active: a deactivation's own notice is sent after the account stopped.
            if email.user.email:
                message = _message_now(email) if email.kind == OutgoingEmail.Kind.NOW else _message_digest(email)
            if message is None:
                OutgoingEmail.objects.filter(pk=email.pk).update(sent_at=now, last_error="nothing to send")
                continue
            try:
                message.send()
            except (smtplib.SMTPException, OSError) as exc:
                OutgoingEmail.objects.filter(pk=email.pk).update(
                    attempts=email.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500])
                failure = exc
            else:
                OutgoingEmail.objects.filter(pk=email.pk).update(sent_at=now, attempts=email.attempts + 1,
                                                                 last_error="")
                sent += 1
                continue
        logger.warning("email %s not sent: %r", email_id, failure)
        raise EmailNotSent(str(failure)) from failure
    return sent
