"""Email of notifications: one boundary (the notification service), choices per group, one email
per event whatever the retries, digests in each person's own time zone, unsubscribe without a
sign-in, and the release reminder. Mail is read from django.core.mail.outbox (locmem backend)."""

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail as django_mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import mail
from accounts.models import DigestItem, EmailGroup, EmailMode, EmailPreference, Notification, OutgoingEmail, User
from accounts.services import notification_create, notifications_create_many
from projects.models import Batch
from projects.services import release_reminders_due
from taskhub import outbox
from taskhub.celery import app
from taskhub.models import OutboxMessage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def _send_all() -> int:
    return mail.emails_send(email_ids=list(OutgoingEmail.objects.order_by("pk").values_list("pk", flat=True)))


def test_a_release_announcement_is_emailed_once_through_the_outbox(eager, django_capture_on_commit_callbacks):
    person = factories.ContractorFactory(timezone="Asia/Tokyo")
    at = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        notifications_create_many(users=User.objects.filter(pk=person.pk), kind="release_announced",
                                  title="Pairs · B1 opens {at}", body="Fair share.", url="/work/", key="r1", at=at)
    assert len(django_mail.outbox) == 1
    message = django_mail.outbox[0]
    assert message.to == [person.email]
    assert message.subject == "[TaskHub] Pairs · B1 opens Sun 01 Jun 2031 12:00 Asia/Tokyo"
    assert "Fair share." in message.body
    assert "http://127.0.0.1:8000/work/" in message.body
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://127.0.0.1:8000/accounts/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    email = OutgoingEmail.objects.get()
    assert email.key == f"n:{Notification.objects.get().pk}" and email.sent_at is not None
    # Celery redelivers, the drain sends the outbox row again, beat's net runs: still one email.
    OutboxMessage.objects.update(sent_at=None)
    outbox.drain()
    assert _send_all() == 0
    mail.emails_digest_due(now=timezone.now() + timedelta(hours=2))
    assert len(django_mail.outbox) == 1


def test_a_repeated_event_plans_no_second_email():
    person = factories.ContractorFactory()
    users = User.objects.filter(pk=person.pk)
    notifications_create_many(users=users, kind="lottery_result", title="You won 3 tasks", key="lottery:1")
    notifications_create_many(users=users, kind="lottery_result", title="You won 3 tasks", key="lottery:1")
    assert OutgoingEmail.objects.count() == 1
    assert _send_all() == 1 and _send_all() == 0
    assert len(django_mail.outbox) == 1


def test_a_mail_server_failure_keeps_the_email_for_a_retry_and_sends_it_once(monkeypatch):
    person = factories.ContractorFactory()
    notification_create(user=person, kind="flag_decided", title="Your flag was decided", key="flag:1")
    from django.core.mail.backends.locmem import EmailBackend

    real = EmailBackend.send_messages

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with pytest.raises(mail.EmailNotSent):
        _send_all()
    email = OutgoingEmail.objects.get()
    assert (email.sent_at, email.attempts) == (None, 1)
    assert "SMTPServerDisconnected" in email.last_error
    assert django_mail.outbox == []

    monkeypatch.setattr(EmailBackend, "send_messages", real)
    assert _send_all() == 1
    assert _send_all() == 0
    assert len(django_mail.outbox) == 1
    assert OutgoingEmail.objects.get().attempts == 2


def test_beat_sends_again_what_a_failure_left(eager, django_capture_on_commit_callbacks):
    person = factories.ContractorFactory()
    notification_create(user=person, kind="rate_change", title="New pay rate", key="rate-1")
    OutgoingEmail.objects.update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        mail.emails_digest_due()  # beat's round sends the stuck one (eager: at once)
    assert [m.subject for m in django_mail.outbox] == ["[TaskHub] New pay rate"]


def test_off_sends_nothing_and_each_group_has_its_own_choice():
    person = factories.ContractorFactory()
    mail.preferences_set(user=person, modes={EmailGroup.PAY: EmailMode.OFF})
    notification_create(user=person, kind="rate_change", title="New pay rate", key="rate-1")
    notification_create(user=person, kind="appeal_decided", title="Your appeal was upheld", key="appeal-1")
    assert list(OutgoingEmail.objects.values_list("notification__kind", flat=True)) == ["appeal_decided"]
    assert DigestItem.objects.count() == 0
    assert Notification.objects.filter(user=person).count() == 2  # in-app is never switched off


def test_a_kind_added_later_is_emailed_by_the_default_of_other():
    person = factories.ContractorFactory()
    notification_create(user=person, kind="some_kind_added_next_year", title="Something new")
    assert mail.group_of("some_kind_added_next_year") == EmailGroup.OTHER
    assert OutgoingEmail.objects.count() == 0
    assert DigestItem.objects.filter(user=person).count() == 1  # the default of "other" is the digest


def test_the_digest_comes_once_a_day_at_the_hour_in_the_persons_zone(settings):
    settings.TASKHUB_EMAIL_DIGEST_HOUR = 8
    tokyo = factories.ContractorFactory(timezone="Asia/Tokyo")  # UTC+9
    denver = factories.ContractorFactory(timezone="America/Denver")  # UTC-7 in June
    mail.preferences_set(user=denver, modes={EmailGroup.RELEASES: EmailMode.DIGEST})
    for person in (tokyo, denver):
        notification_create(user=person, kind="sprint_open", title="Sprint 1 is open")
    notification_create(user=denver, kind="release_announced", title="B1 opens soon")

    # 22:30 UTC: 07:30 in Tokyo (not yet), 16:30 the day before in Denver (past 8:00).
    made = mail.emails_digest_due(now=datetime(2031, 6, 1, 22, 30, tzinfo=UTC))
    assert made == 1
    assert OutgoingEmail.objects.get().key == f"digest:{denver.pk}:2031-06-01"
    _send_all()
    assert len(django_mail.outbox) == 1
    digest = django_mail.outbox[0]
    assert digest.to == [denver.email]
    assert digest.subject == "[TaskHub] Your TaskHub digest: 2 notifications"
    assert "Sprint 1 is open" in digest.body and "B1 opens soon" in digest.body

    # 23:10 UTC: 08:10 in Tokyo; Denver had today's digest already.
    notification_create(user=denver, kind="sprint_open", title="Sprint 2 is open")
    assert mail.emails_digest_due(now=datetime(2031, 6, 1, 23, 10, tzinfo=UTC)) == 1
    _send_all()
    assert [m.to for m in django_mail.outbox] == [[denver.email], [tokyo.email]]
    # The next local day in Denver, the item that waited comes in the next digest.
    assert mail.emails_digest_due(now=datetime(2031, 6, 2, 15, 0, tzinfo=UTC)) == 1
    _send_all()
    assert "Sprint 2 is open" in django_mail.outbox[-1].body
    assert len(django_mail.outbox) == 3


def test_unsubscribe_link_works_without_sign_in_after_one_confirming_click():
    person = factories.ContractorFactory()
    notification_create(user=person, kind="lottery_result", title="You won", key="l1")
    _send_all()
    url = django_mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>").replace("http://127.0.0.1:8000", "")
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(url)
    assert page.status_code == 200
    assert "Stop emailing" in page.content.decode() and "Lottery results" in page.content.decode().replace(
        "lottery results", "Lottery results")
    assert not EmailPreference.objects.exists()  # a GET (a mail scanner's prefetch) changes nothing

    done = anonymous.post(url)
    assert done.status_code == 200 and "will no longer email" in done.content.decode()
    assert mail.preferences_of(person)[EmailGroup.LOTTERY] == EmailMode.OFF
    assert mail.preferences_of(person)[EmailGroup.RELEASES] == EmailMode.NOW
    notification_create(user=person, kind="lottery_result", title="You won again", key="l2")
    assert OutgoingEmail.objects.count() == 1


def test_one_click_unsubscribe_by_a_mail_client_and_stop_all():
    person = factories.ContractorFactory()
    url = reverse("email_unsubscribe", kwargs={"token": mail.unsubscribe_token(person.pk, EmailGroup.PAY)})
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert mail.preferences_of(person)[EmailGroup.PAY] == EmailMode.OFF
    Client().post(url, {"all": "1"})
    assert set(mail.preferences_of(person).values()) == {EmailMode.OFF}


@pytest.mark.parametrize("token", ["nonsense", "eyJ1IjoxfQ:1:abc", "a" * 300])
def test_a_bad_unsubscribe_token_is_a_clear_404(token):
    response = Client().post(reverse("email_unsubscribe", kwargs={"token": token}))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    assert not EmailPreference.objects.exists()


def test_a_token_cannot_be_forged_for_someone_else():
    victim = factories.ContractorFactory()
    token = mail.unsubscribe_token(victim.pk, EmailGroup.PAY)
    forged = token.replace(token.split(":")[0], mail.unsubscribe_token(victim.pk + 1, EmailGroup.PAY).split(":")[0])
    assert mail.unsubscribe_read(forged) is None


def test_preferences_page_saves_and_refuses_a_bad_choice_at_the_field(client_for):
    person = factories.ContractorFactory()
    client = client_for(person)
    page = client.get(reverse("email_preferences"))
    assert page.status_code == 200
    assert 'name="releases" value="now"' in page.content.decode()

    modes = {group: EmailMode.NOW for group in EmailGroup.values}
    bad = client.post(reverse("email_preferences"), {**modes, "pay": "sometimes"})
    assert bad.status_code == 400
    assert "Choose at once, a daily digest or off." in bad.content.decode()
    assert not EmailPreference.objects.exists()

    saved = client.post(reverse("email_preferences"), {**modes, "other": "off", "grades": "digest"})
    assert saved.status_code == 302 and saved["Location"] == reverse("email_preferences")
    assert mail.preferences_of(person)[EmailGroup.OTHER] == EmailMode.OFF
    assert mail.preferences_of(person)[EmailGroup.GRADES] == EmailMode.DIGEST


def test_switching_a_group_off_drops_its_waiting_digest_items():
    person = factories.ContractorFactory()
    notification_create(user=person, kind="sprint_open", title="Sprint 1 is open")
    assert DigestItem.objects.count() == 1
    mail.preferences_set(user=person, modes={EmailGroup.OTHER: EmailMode.OFF})
    assert DigestItem.objects.count() == 0


def test_a_low_grade_is_emailed_and_a_good_one_waits_for_the_digest(work):
    person = factories.ContractorFactory()
    project = work.project()
    from annotations.services import review_create

    lead = factories.LeadFactory()
    low = work.submission(contractor=person, project=project)
    good = work.submission(contractor=person, project=project)
    review_create(submission=low, reviewer=lead, score=2, marks={}, reason="Does not follow the instructions at all.")
    review_create(submission=good, reviewer=lead, score=5, marks={}, reason="")
    assert list(OutgoingEmail.objects.values_list("notification__kind", flat=True)) == ["grade_low"]
    assert list(DigestItem.objects.values_list("notification__kind", flat=True)) == ["review_received"]


def test_the_release_reminder_comes_once_in_each_persons_zone(settings):
    settings.TASKHUB_RELEASE_REMINDER = timedelta(minutes=60)
    tokyo = factories.ContractorFactory(timezone="Asia/Tokyo")
    release_at = (timezone.now() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    batch = factories.BatchFactory(status=Batch.Status.SCHEDULED, released_at=None, release_at=release_at)
    factories.BatchFactory(status=Batch.Status.SCHEDULED, released_at=None,
                           release_at=timezone.now() + timedelta(hours=5))  # too far off yet
    assert release_reminders_due() == 1
    assert release_reminders_due() == 0
    note = Notification.objects.get(kind="release_reminder")
    local = timezone.localtime(release_at, tokyo.tzinfo)
    assert note.title == f"Soon: {batch.project.name} · {batch.name} opens {local:%a %d %b %Y %H:%M} Asia/Tokyo"
    assert OutgoingEmail.objects.filter(notification=note).count() == 1


def test_a_deactivation_notice_is_emailed_once_by_its_own_service(admin_user, django_capture_on_commit_callbacks):
    from accounts.services import user_deactivate

    person = factories.ContractorFactory()
    mail.preferences_set(user=person, modes={EmailGroup.DECISIONS: EmailMode.OFF})
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=person, by=admin_user, reason="Repeated copying of other people's answers.")
    assert [m.to for m in django_mail.outbox] == [[person.email]]  # always sent, and only once
    assert OutgoingEmail.objects.count() == 0 and DigestItem.objects.count() == 0


def _parts(message) -> tuple[str, str]:
    """The plain text and the one HTML alternative of a sent email."""
    html = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    assert len(html) == 1, "an email carries exactly one HTML alternative"
    return message.body, html[0]


def test_an_email_at_once_has_a_text_and_an_html_part_with_the_same_content_and_links(
        eager, django_capture_on_commit_callbacks):
    person = factories.ContractorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=person, kind="lottery_result", title="You won 3 tasks <of B1>",
                            body="Start them from the dashboard & enjoy.", url="/work/", key="l-html")
    message = django_mail.outbox[-1]
    text, html = _parts(message)
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://127.0.0.1:8000/accounts/unsubscribe/")
    for part in (text, html):
        assert unsubscribe in part
        assert "http://127.0.0.1:8000/work/" in part
        assert "http://127.0.0.1:8000/accounts/email-choices/" in part
    assert "You won 3 tasks <of B1>" in text and "Start them from the dashboard & enjoy." in text
    # The HTML carries the same words, escaped, with real links.
    assert "You won 3 tasks &lt;of B1&gt;" in html and "Start them from the dashboard &amp; enjoy." in html
    assert f'href="{unsubscribe}"' in html and 'href="http://127.0.0.1:8000/work/"' in html
    assert "<of B1>" not in html


def test_a_digest_has_a_text_and_an_html_part_listing_every_item_with_the_unsubscribe_link(settings):
    settings.TASKHUB_EMAIL_DIGEST_HOUR = 8
    person = factories.ContractorFactory(timezone="UTC")
    notification_create(user=person, kind="sprint_open", title="Sprint 1 is open", url="/lead/")
    notification_create(user=person, kind="sprint_open", title="Sprint 2 is open", body="Join before Friday.")
    assert mail.emails_digest_due(now=datetime(2031, 6, 1, 9, 0, tzinfo=UTC)) == 1
    _send_all()
    message = django_mail.outbox[-1]
    text, html = _parts(message)
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    for part in (text, html):
        assert "Sprint 1 is open" in part and "Sprint 2 is open" in part and "Join before Friday." in part
        assert "http://127.0.0.1:8000/lead/" in part
        assert unsubscribe in part
    assert f'href="{unsubscribe}"' in html
    assert "2 notifications since the last one" in html


def test_the_release_reminder_avoids_each_persons_night(settings):
    settings.TASKHUB_RELEASE_REMINDER = timedelta(minutes=60)
    settings.TASKHUB_NIGHT_START_HOUR, settings.TASKHUB_NIGHT_END_HOUR = 22, 8
    # Released at 06:30 UTC on 2 June 2031: the ordinary reminder moment is 05:30 UTC.
    release_at = datetime(2031, 6, 2, 6, 30, tzinfo=UTC)
    utc = factories.ContractorFactory(timezone="UTC")  # 05:30: night, so 21:00-22:00 on 1 June
    new_york = factories.ContractorFactory(timezone="America/New_York")  # 01:30 EDT: night, 01:00-02:00 UTC
    los_angeles = factories.ContractorFactory(timezone="America/Los_Angeles")  # 22:30 PDT: night, 04:00 UTC
    tokyo = factories.ContractorFactory(timezone="Asia/Tokyo")  # 14:30: day, at 05:30 UTC
    kolkata = factories.ContractorFactory(timezone="Asia/Kolkata")  # 11:00: day, at 05:30 UTC
    batch = factories.BatchFactory(status=Batch.Status.SCHEDULED, released_at=None, release_at=release_at)

    def reminded() -> set[int]:
        return set(Notification.objects.filter(kind="release_reminder").values_list("user_id", flat=True))

    assert release_reminders_due(now=datetime(2031, 6, 1, 20, 55, tzinfo=UTC)) == 0
    assert release_reminders_due(now=datetime(2031, 6, 1, 21, 5, tzinfo=UTC)) == 1
    assert reminded() == {utc.pk}
    assert release_reminders_due(now=datetime(2031, 6, 1, 21, 55, tzinfo=UTC)) == 0  # once per person
    assert release_reminders_due(now=datetime(2031, 6, 1, 23, 0, tzinfo=UTC)) == 0
    assert release_reminders_due(now=datetime(2031, 6, 2, 1, 10, tzinfo=UTC)) == 1
    assert reminded() == {utc.pk, new_york.pk}
    assert release_reminders_due(now=datetime(2031, 6, 2, 4, 0, tzinfo=UTC)) == 1
    assert reminded() == {utc.pk, new_york.pk, los_angeles.pk}
    assert release_reminders_due(now=datetime(2031, 6, 2, 5, 25, tzinfo=UTC)) == 0
    assert release_reminders_due(now=datetime(2031, 6, 2, 5, 30, tzinfo=UTC)) == 2
    assert reminded() == {utc.pk, new_york.pk, los_angeles.pk, tokyo.pk, kolkata.pk}
    assert release_reminders_due(now=datetime(2031, 6, 2, 6, 0, tzinfo=UTC)) == 0
    # Each reminder still writes the release time in the person's own zone.
    note = Notification.objects.get(kind="release_reminder", user=new_york)
    assert note.title.endswith("opens Mon 02 Jun 2031 02:30 America/New_York")
    assert Notification.objects.filter(key=f"release-reminder:{batch.pk}:{release_at.isoformat()}").count() == 5


def test_a_release_scheduled_after_the_evening_reminds_at_the_ordinary_moment(settings):
    settings.TASKHUB_RELEASE_REMINDER = timedelta(minutes=60)
    settings.TASKHUB_NIGHT_START_HOUR, settings.TASKHUB_NIGHT_END_HOUR = 23, 7  # the window is a setting
    release_at = datetime(2031, 6, 2, 6, 30, tzinfo=UTC)
    person = factories.ContractorFactory(timezone="UTC")  # 05:30 is in the night: due 22:00-23:00 on 1 June
    assert release_reminders_due(now=datetime(2031, 6, 1, 21, 30, tzinfo=UTC)) == 0
    factories.BatchFactory(status=Batch.Status.SCHEDULED, released_at=None, release_at=release_at)
    assert release_reminders_due(now=datetime(2031, 6, 1, 21, 50, tzinfo=UTC)) == 0  # not 21:00 with 23:00
    assert release_reminders_due(now=datetime(2031, 6, 1, 22, 5, tzinfo=UTC)) == 1
    assert Notification.objects.get(kind="release_reminder").user_id == person.pk


def test_a_release_scheduled_during_the_night_waits_for_the_ordinary_moment(settings):
    settings.TASKHUB_RELEASE_REMINDER = timedelta(minutes=60)
    release_at = datetime(2031, 6, 2, 6, 30, tzinfo=UTC)
    factories.ContractorFactory(timezone="UTC")
    # Scheduled at 23:00 UTC, after this person's evening: nothing in the night before 05:30.
    factories.BatchFactory(status=Batch.Status.SCHEDULED, released_at=None, release_at=release_at)
    assert release_reminders_due(now=datetime(2031, 6, 1, 23, 0, tzinfo=UTC)) == 0
    assert release_reminders_due(now=datetime(2031, 6, 2, 3, 0, tzinfo=UTC)) == 0
    assert release_reminders_due(now=datetime(2031, 6, 2, 5, 31, tzinfo=UTC)) == 1
