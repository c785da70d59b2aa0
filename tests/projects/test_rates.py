"""Pay rates: an append-only history, cuts only after notice, and the rate in force at any moment."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from projects.errors import RateError
from projects.models import PayRate
from projects.selectors import rate_in_force
from projects.services import pay_rate_set
from tests import factories

pytestmark = pytest.mark.django_db

FROZEN_NOW = datetime(2031, 3, 10, 12, 0, 0, 500_000, tzinfo=UTC)


@pytest.fixture
def frozen_now(monkeypatch):
    """Pin `timezone.now()` so the notice boundary can be hit to the microsecond."""
    monkeypatch.setattr(timezone, "now", lambda: FROZEN_NOW)
    return FROZEN_NOW


@pytest.fixture
def project(db):
    return factories.ProjectFactory()


@pytest.fixture
def current_rate(project):
    return factories.PayRateFactory(project=project, amount=Decimal("1.0000"),
                                    effective_from=datetime(2020, 1, 1, tzinfo=UTC))


def _set(project, admin, **overrides):
    fields = {"amount": "1.0000", "currency": "USD", "unit": PayRate.Unit.PER_TASK, "effective_from": None,
              "reason": "Market review"}
    fields.update(overrides)
    return pay_rate_set(project=project, set_by=admin, **fields)


def test_rate_in_force_before_at_and_after_a_change_to_the_microsecond(project):
    first_from = datetime(2030, 1, 1, tzinfo=UTC)
    change_at = datetime(2030, 6, 1, 9, 30, 0, 123_456, tzinfo=UTC)
    first = factories.PayRateFactory(project=project, amount=Decimal("1.2000"), effective_from=first_from)
    second = factories.PayRateFactory(project=project, amount=Decimal("1.5000"), effective_from=change_at)
    other_project_rate = factories.PayRateFactory(amount=Decimal("9.0000"), effective_from=first_from)

    assert rate_in_force(project=project, at=first_from - timedelta(microseconds=1)) is None
    assert rate_in_force(project=project, at=first_from) == first
    assert rate_in_force(project=project, at=change_at - timedelta(microseconds=1)) == first
    assert rate_in_force(project=project, at=change_at) == second
    assert rate_in_force(project=project, at=change_at + timedelta(days=400)) == second
    assert rate_in_force(project=other_project_rate.project, at=change_at) == other_project_rate


def test_first_rate_may_apply_at_once(project, admin_user):
    rate = _set(project, admin_user, amount="0.5000")
    assert rate.amount == Decimal("0.5000")
    assert rate.set_by == admin_user
    assert rate.reason == "Market review"
    assert rate_in_force(project=project, at=timezone.now()) == rate


def test_a_raise_takes_effect_immediately(frozen_now, project, current_rate, admin_user):
    rate = _set(project, admin_user, amount="1.2500", reason="  Harder tasks  ")
    assert rate.effective_from == frozen_now
    assert rate.reason == "Harder tasks"
    assert rate_in_force(project=project, at=frozen_now) == rate
    assert rate_in_force(project=project, at=frozen_now - timedelta(microseconds=1)) == current_rate


def test_a_cut_before_the_notice_period_is_refused_with_the_earliest_date(
    frozen_now, project, current_rate, admin_user, settings
):
    settings.TASKHUB_RATE_CUT_NOTICE = timedelta(days=7)
    earliest = frozen_now + timedelta(days=7)
    for effective_from in (None, frozen_now + timedelta(days=1), earliest - timedelta(microseconds=1)):
        with pytest.raises(RateError) as excinfo:
            _set(project, admin_user, amount="0.9000", effective_from=effective_from)
        assert excinfo.value.code == "rate_cut_notice"
        assert excinfo.value.field == "effective_from"
        assert f"{earliest:%Y-%m-%d %H:%M}" in excinfo.value.message
        assert "7 days" in excinfo.value.message
    assert list(PayRate.objects.filter(project=project)) == [current_rate]


def test_a_cut_at_or_after_the_notice_period_is_accepted(frozen_now, project, current_rate, admin_user, settings):
    settings.TASKHUB_RATE_CUT_NOTICE = timedelta(days=7)
    at_notice = frozen_now + timedelta(days=7)
    cut = _set(project, admin_user, amount="0.9000", effective_from=at_notice)
    assert rate_in_force(project=project, at=at_notice - timedelta(microseconds=1)) == current_rate
    assert rate_in_force(project=project, at=at_notice) == cut

    later = _set(project, admin_user, amount="0.8000", effective_from=at_notice + timedelta(days=30))
    assert rate_in_force(project=project, at=at_notice + timedelta(days=31)) == later


def test_the_notice_period_is_a_setting(frozen_now, project, current_rate, admin_user, settings):
    settings.TASKHUB_RATE_CUT_NOTICE = timedelta(days=14)
    with pytest.raises(RateError) as excinfo:
        _set(project, admin_user, amount="0.9000", effective_from=frozen_now + timedelta(days=10))
    assert "14 days" in excinfo.value.message
    assert _set(project, admin_user, amount="0.9000", effective_from=frozen_now + timedelta(days=14))


def test_a_cut_is_measured_against_the_rate_in_force_when_it_would_start(
    frozen_now, project, current_rate, admin_user
):
    """An announced future raise is a promise too: undercutting it needs notice from today."""
    raise_at = frozen_now + timedelta(days=2)
    _set(project, admin_user, amount="2.0000", effective_from=raise_at)
    with pytest.raises(RateError) as excinfo:
        _set(project, admin_user, amount="1.5000", effective_from=raise_at + timedelta(days=1))
    assert excinfo.value.code == "rate_cut_notice"


@pytest.mark.parametrize(
    ("change", "value"),
    [("unit", PayRate.Unit.PER_HOUR), ("currency", "EUR")],
)
def test_a_unit_or_currency_change_needs_notice(frozen_now, project, current_rate, admin_user, change, value):
    """Even a bigger number in another unit or currency can pay less, so it is treated as a cut."""
    with pytest.raises(RateError) as excinfo:
        _set(project, admin_user, amount="25.0000", **{change: value})
    assert excinfo.value.code == "rate_cut_notice"
    assert PayRate.objects.filter(project=project).count() == 1
    rate = _set(project, admin_user, amount="25.0000", effective_from=frozen_now + timedelta(days=7), **{change: value})
    assert getattr(rate, change) == value


def test_a_rate_in_the_past_is_refused(project, current_rate, admin_user):
    with pytest.raises(RateError) as excinfo:
        _set(project, admin_user, amount="5.0000", effective_from=timezone.now() - timedelta(hours=1))
    assert excinfo.value.field == "effective_from"
    assert "past" in excinfo.value.message
    assert PayRate.objects.filter(project=project).count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 1.5}, "amount"),
        ({"amount": "one dollar"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "-0.5"}, "amount"),
        ({"amount": "123456789"}, "amount"),
        ({"currency": "US"}, "currency"),
        ({"currency": "ÜSD"}, "currency"),
        ({"unit": "per_word"}, "unit"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"effective_from": datetime(2040, 1, 1)}, "effective_from"),  # naive on purpose
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(project, admin_user, overrides, field):
    with pytest.raises(RateError) as excinfo:
        _set(project, admin_user, **overrides)
    assert excinfo.value.field == field
    assert excinfo.value.message
    assert not PayRate.objects.filter(project=project).exists()


def test_amounts_are_decimal_rounded_to_four_places(project, admin_user):
    rate = _set(project, admin_user, amount="0.123456")
    rate.refresh_from_db()
    assert rate.amount == Decimal("0.1235")
    assert isinstance(rate.amount, Decimal)


def test_the_database_refuses_to_update_or_delete_a_rate(current_rate):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        PayRate.objects.filter(pk=current_rate.pk).update(amount=Decimal("0.01"))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        current_rate.amount = Decimal("0.01")
        current_rate.save()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        PayRate.objects.filter(pk=current_rate.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE projects_payrate SET amount = 0 WHERE id = %s", [current_rate.pk])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM projects_payrate WHERE id = %s", [current_rate.pk])
    stored = PayRate.objects.get(pk=current_rate.pk)
    assert stored.amount == Decimal("1.0000")


def test_admin_shows_past_rates_read_only(client_for, admin_user, current_rate):
    client = client_for(admin_user)
    change_url = reverse("admin:projects_payrate_change", args=[current_rate.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert b'name="_save"' not in page.content
    assert b'name="amount"' not in page.content

    refused = client.post(change_url, {"project": current_rate.project_id, "amount": "0.01", "currency": "USD",
                                       "unit": "per_task", "reason": "sneaky"})
    assert refused.status_code == 403
    assert client.post(reverse("admin:projects_payrate_delete", args=[current_rate.pk]), {"post": "yes"}).status_code \
        == 403
    assert PayRate.objects.get(pk=current_rate.pk).amount == Decimal("1.0000")

    project_page = client.get(reverse("admin:projects_project_change", args=[current_rate.project_id]))
    assert project_page.status_code == 200
    inline = next(f for f in project_page.context["inline_admin_formsets"] if f.opts.model is PayRate)
    assert inline.has_add_permission is False
    assert inline.formset.can_delete is False
    assert b'name="pay_rates-0-DELETE"' not in project_page.content
    assert set(inline.readonly_fields) >= {"amount", "currency", "unit", "effective_from", "reason"}
    assert b'name="pay_rates-0-amount"' not in project_page.content
    assert b"Initial rate" in project_page.content


def test_admin_adds_a_rate_through_the_notice_rules(client_for, admin_user, current_rate):
    client = client_for(admin_user)
    soon = timezone.localtime(timezone.now() + timedelta(days=1))
    response = client.post(
        reverse("admin:projects_payrate_add"),
        {"project": current_rate.project_id, "amount": "0.5000", "currency": "USD", "unit": "per_task",
         "effective_from_0": soon.strftime("%Y-%m-%d"), "effective_from_1": soon.strftime("%H:%M:%S"),
         "reason": "Cheaper"},
        follow=True,
    )
    assert response.status_code == 200
    assert "take effect" in response.content.decode()
    assert PayRate.objects.filter(project=current_rate.project).count() == 1
