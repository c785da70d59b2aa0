from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone

from tests import factories


def test_times_are_shown_in_the_viewers_own_time_zone(client_for, db):
    person = factories.ContractorFactory(timezone="Asia/Kolkata")
    batch = factories.BatchFactory(status="scheduled", release_at=datetime(2031, 1, 5, 18, 0, tzinfo=UTC),
                                   project__name="Essays")
    factories.make_tasks(batch, 1)
    page = client_for(person).get(reverse("work:dashboard")).content.decode()
    # 18:00 UTC is 23:30 in India (UTC+5:30).
    assert "23:30 IST" in page
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks past the request
