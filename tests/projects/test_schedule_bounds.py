"""Bounded dates on every schedule: nothing a person can type breaks a page later (issue 15, item 2).

A release in the year 9999 was accepted, and every contractor east of UTC then got a 500 on /work/
(9999-12-31 is year 10000 in their time zone)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.errors import BatchStateError
from projects.models import Batch
from projects.services import batch_schedule
from sprints import services as sprint_services
from tests import factories

pytestmark = pytest.mark.django_db

EAST, WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"


@pytest.fixture
def batch():
    batch = factories.BatchFactory(status=Batch.Status.DRAFT, released_at=None)
    factories.make_tasks(batch, 2)
    return batch


@pytest.mark.parametrize("when", ["9999-12-31T12:00", "9999-12-31T23:59", "2100-01-01T00:00"])
def test_the_schedule_page_refuses_a_release_past_2099_with_a_field_error(client_for, batch, when):
    admin = factories.AdminFactory(timezone=WEST)
    response = client_for(admin).post(reverse("manage:batch_schedule", args=[batch.pk]),
                                      {"release_at": when, "release_policy": "first_come",
                                       "fallback_policy": "first_come"})
    assert response.status_code == 400 and b"must be between 2000 and 2099" in response.content
    batch.refresh_from_db()
    assert (batch.status, batch.release_at) == (Batch.Status.DRAFT, None)


def test_the_service_refuses_release_times_and_windows_outside_the_bounds(batch, admin_user):
    with pytest.raises(BatchStateError) as refused:
        batch_schedule(batch=batch, release_at=datetime(9999, 12, 31, 23, tzinfo=UTC), scheduled_by=admin_user)
    assert refused.value.field == "release_at"
    batch.release_policy = Batch.Policy.LOTTERY
    with pytest.raises(BatchStateError) as window:
        batch_schedule(batch=batch, release_at=timezone.now() + timedelta(days=2), scheduled_by=admin_user,
                       reservation_opens_at=datetime(1, 1, 1, tzinfo=UTC))
    assert window.value.field == "reservation_opens_at"


def test_a_release_at_the_last_allowed_moment_shows_east_of_utc(client_for, batch, admin_user):
    last = datetime(2099, 12, 31, 23, 59, tzinfo=UTC)
    batch_schedule(batch=batch, release_at=last, scheduled_by=admin_user)
    contractor = factories.ContractorFactory(timezone=EAST)
    assert client_for(contractor).get(reverse("work:dashboard")).status_code == 200
    assert client_for(factories.AdminFactory(timezone=EAST)).get(reverse("manage:home")).status_code == 200


def test_a_sprint_past_2099_is_refused_naming_its_times(lead):
    project = factories.ProjectFactory()
    member = factories.ContractorFactory()
    with pytest.raises(Exception) as refused:
        sprint_services.sprint_create(
            lead=lead, name="Far away", project_ids=[project.pk], member_ids=[member.pk],
            starts_at=datetime(9999, 12, 30, tzinfo=UTC), ends_at=datetime(9999, 12, 31, tzinfo=UTC),
            target_submissions=10, quality_target=Decimal("4.00"))
    assert {e["field"] for e in refused.value.errors} == {"starts_at", "ends_at"}
