"""In-app notifications: set-based fan-out, idempotent keys, the page, and the header badge."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Notification, User
from accounts.selectors import notifications_unread_count
from accounts.services import (
    notification_create,
    notification_mark_read,
    notifications_create_many,
    notifications_mark_all_read,
)
from taskhub.errors import NotFound
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def test_fan_out_is_one_insert_and_personalises_the_time(django_assert_max_num_queries):
    tokyo = factories.ContractorFactory(timezone="Asia/Tokyo")
    factories.ContractorFactory.create_batch(30)
    factories.ContractorFactory(is_active=False)
    at = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)
    # savepoint, INSERT ... SELECT, the email plan (one statement), its one outbox row, release
    with django_assert_max_num_queries(5):
        created = notifications_create_many(users=User.objects.filter(role="contractor"), kind="release_announced",
                                            title="Opens {at}", body="See you {at}.", url="/work/", key="k1", at=at)
    assert created == 31  # the inactive one is skipped
    note = Notification.objects.get(user=tokyo)
    assert note.title == "Opens Sun 01 Jun 2031 12:00 Asia/Tokyo"
    assert note.body == "See you Sun 01 Jun 2031 12:00 Asia/Tokyo."


def test_same_key_twice_notifies_nobody_twice():
    people = factories.ContractorFactory.create_batch(3)
    users = User.objects.filter(pk__in=[p.pk for p in people])
    assert notifications_create_many(users=users, kind="x", title="Hi", key="event-1") == 3
    assert notifications_create_many(users=users, kind="x", title="Hi", key="event-1") == 0
    assert notifications_create_many(users=users, kind="x", title="Hi again", key="event-2") == 3
    assert Notification.objects.count() == 6


def test_unkeyed_notifications_are_never_deduplicated(contractor):
    assert notification_create(user=contractor, kind="x", title="One")
    assert notification_create(user=contractor, kind="x", title="One")
    assert Notification.objects.filter(user=contractor).count() == 2


def test_querysets_with_parameters_work_as_the_audience():
    match = factories.ContractorFactory(email="needle@example.com")
    factories.ContractorFactory(email="hay@example.com")
    users = User.objects.filter(email__contains="needle%", is_active=True) | User.objects.filter(
        email__startswith="needle")
    assert notifications_create_many(users=users, kind="x", title="Found") == 1
    assert Notification.objects.get().user == match


def test_unread_count_is_cached_and_forgotten_on_change(contractor, django_assert_num_queries):
    notification_create(user=contractor, kind="x", title="A")
    assert notifications_unread_count(user=contractor) == 1
    with django_assert_num_queries(0):
        assert notifications_unread_count(user=contractor) == 1
    notification_create(user=contractor, kind="x", title="B")
    assert notifications_unread_count(user=contractor) == 2
    notifications_mark_all_read(user=contractor)
    assert notifications_unread_count(user=contractor) == 0


def test_mark_read_only_ones_own(contractor):
    other = factories.ContractorFactory()
    notification_create(user=other, kind="x", title="Not yours")
    theirs = Notification.objects.get(user=other)
    with pytest.raises(NotFound):
        notification_mark_read(user=contractor, notification_id=theirs.pk)
    assert Notification.objects.get(pk=theirs.pk).read_at is None


class TestPages:
    def test_badge_and_list(self, client_for, contractor, django_assert_max_num_queries):
        for i in range(3):
            notification_create(user=contractor, kind="x", title=f"Note {i}", url="/work/")
        client = client_for(contractor)
        page = client.get(reverse("notifications")).content.decode()
        assert 'aria-label="3 unread"' in page and "Note 2" in page
        for i in range(60):
            notification_create(user=contractor, kind="x", title=f"More {i}")
        client.get(reverse("notifications"))
        with django_assert_max_num_queries(6):
            page = client.get(reverse("notifications")).content.decode()
        assert "page 1 of 2" in page

    def test_mark_one_read_and_follow_its_link(self, client_for, contractor):
        notification_create(user=contractor, kind="x", title="Go", url="/work/")
        note = Notification.objects.get()
        response = client_for(contractor).post(reverse("notification_read", args=[note.pk]), {"follow": "1"})
        assert response.status_code == 302 and response["Location"] == "/work/"
        assert Notification.objects.get().read_at is not None

    def test_links_off_site_are_not_followed(self, client_for, contractor):
        notification_create(user=contractor, kind="x", title="Go", url="https://evil.example/")
        note = Notification.objects.get()
        response = client_for(contractor).post(reverse("notification_read", args=[note.pk]), {"follow": "1"})
        assert response["Location"] == reverse("notifications")

    def test_mark_all_read_clears_the_badge(self, client_for, contractor):
        notification_create(user=contractor, kind="x", title="A")
        client = client_for(contractor)
        client.post(reverse("notifications_read_all"))
        page = client.get(reverse("notifications")).content.decode()
        assert "unread" not in page.split("</header>")[0]
        assert not Notification.objects.filter(read_at__isnull=True).exists()

    def test_someone_elses_notification_is_404(self, client_for, contractor):
        notification_create(user=factories.ContractorFactory(), kind="x", title="A")
        note = Notification.objects.get()
        assert client_for(contractor).post(reverse("notification_read", args=[note.pk])).status_code == 404

    def test_anonymous_is_sent_to_login(self, client):
        assert client.get(reverse("notifications")).status_code == 302
