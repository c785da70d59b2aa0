"""A rate far above what the project has paid needs an explicit confirmation, and a rate's start is a
time every page can show (issue 15, item 6)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.errors import RateError
from projects.models import PayRate
from projects.services import pay_rate_preview, pay_rate_set
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(db):
    project = factories.ProjectFactory()
    factories.PayRateFactory(project=project, amount=Decimal("12.0000"), unit=PayRate.Unit.PER_HOUR,
                             effective_from=datetime(2024, 1, 1, tzinfo=UTC))
    return project


def _set(project, admin, amount, **options):
    return pay_rate_set(project=project, amount=amount, currency="USD", unit=PayRate.Unit.PER_HOUR,
                        effective_from=None, set_by=admin, reason="Market review", **options)


def test_a_typo_of_a_raise_is_refused_until_confirmed(project, admin_user):
    with pytest.raises(RateError) as refused:
        _set(project, admin_user, "99999999.9999")
    assert (refused.value.code, refused.value.field) == ("rate_unusual", "confirm_unusual")
    assert "more than 3 times the highest rate" in refused.value.message
    assert project.pay_rates.count() == 1
    rate = _set(project, admin_user, "99999999.9999", confirm_unusual=True)
    assert rate.amount == Decimal("99999999.9999")


def test_an_ordinary_raise_needs_no_confirmation_and_the_first_rate_has_nothing_to_compare(project, admin_user):
    assert _set(project, admin_user, "36.0000").amount == Decimal("36.0000")  # 3x is still ordinary
    fresh = factories.ProjectFactory()
    assert pay_rate_set(project=fresh, amount="500", currency="USD", unit=PayRate.Unit.PER_HOUR, effective_from=None,
                        set_by=admin_user, reason="Launch rate").amount == Decimal("500")


def test_the_rate_page_warns_and_asks_for_the_confirmation(client_for, admin_user, project):
    client = client_for(admin_user)
    url = reverse("manage:rate_change", args=[project.pk])
    form = {"amount": "1200", "currency": "USD", "unit": "per_hour", "reason": "Market review"}
    preview = client.post(url, {**form, "action": "preview"})
    assert preview.status_code == 200 and b'data-figure="unusual"' in preview.content
    refused = client.post(url, {**form, "action": "confirm"})
    assert refused.status_code == 400 and "this rate is intended" in refused.content.decode()
    assert project.pay_rates.count() == 1
    confirmed = client.post(url, {**form, "action": "confirm", "confirm_unusual": "on"})
    assert confirmed.status_code == 302 and project.pay_rates.count() == 2


@pytest.mark.parametrize("when", [datetime(9999, 12, 31, 12, tzinfo=UTC), datetime(2100, 1, 2, tzinfo=UTC)])
def test_a_start_beyond_2099_is_refused_by_the_preview_and_the_service(project, admin_user, when):
    for call in (lambda: pay_rate_preview(project=project, amount=Decimal("13"), currency="USD", unit="per_hour",
                                          effective_from=when),
                 lambda: pay_rate_set(project=project, amount="13", currency="USD", unit="per_hour",
                                      effective_from=when, set_by=admin_user, reason="Later")):
        with pytest.raises(RateError) as refused:
            call()
        assert refused.value.field == "effective_from"
    assert project.pay_rates.count() == 1


def test_the_rate_page_refuses_year_9999_with_a_field_error_west_of_utc(client_for, project):
    admin = factories.AdminFactory(timezone="Pacific/Pago_Pago")
    response = client_for(admin).post(reverse("manage:rate_change", args=[project.pk]), {
        "amount": "13", "currency": "USD", "unit": "per_hour", "effective_from": "9999-12-31T23:59",
        "reason": "Later", "action": "preview"})
    assert response.status_code == 400 and b'data-field="effective_from"' in response.content
    assert timezone.now() - project.pay_rates.get().created_at < timedelta(days=1)
