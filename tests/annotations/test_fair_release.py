"""Announced releases: minimum notice, urgent releases, announcements, derived fair-share caps,
the admin's schedule page and the contractor's dashboard."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from annotations.models import LotteryEntry
from annotations.services import lottery, task_claim_next
from annotations.services.release import batch_release, batches_release_due
from projects import services as project_services
from projects.errors import BatchStateError
from projects.models import Batch
from projects.services import batch_schedule
from tests import factories

pytestmark = pytest.mark.django_db


def draft_batch(tasks=4, **fields):
    """A draft batch with `tasks` tasks."""
    batch = factories.BatchFactory(status=Batch.Status.DRAFT, released_at=None, **fields)
    factories.make_tasks(batch, tasks)
    return batch


class TestNotice:
    def test_less_than_the_minimum_notice_is_refused_with_the_earliest_time(self, admin_user, settings):
        settings.TASKHUB_RELEASE_MIN_NOTICE = timedelta(hours=12)
        admin_user.timezone = "Asia/Tokyo"
        batch = draft_batch()
        with pytest.raises(BatchStateError, match=r"at least 12 hours ahead.*JST.*urgent") as exc:
            batch_schedule(batch=batch, release_at=timezone.now() + timedelta(hours=11), scheduled_by=admin_user)
        assert exc.value.field == "release_at"
        batch.refresh_from_db()
        assert batch.status == Batch.Status.DRAFT and batch.release_at is None

    def test_enough_notice_schedules_and_records_who(self, admin_user):
        batch = draft_batch()
        when = timezone.now() + timedelta(hours=13)
        batch_schedule(batch=batch, release_at=when, scheduled_by=admin_user)
        batch.refresh_from_db()
        assert (batch.status, batch.release_at, batch.scheduled_by, batch.is_urgent) == (
            Batch.Status.SCHEDULED, when, admin_user, False)

    def test_the_notice_is_a_setting(self, admin_user, settings):
        settings.TASKHUB_RELEASE_MIN_NOTICE = timedelta(hours=1)
        batch = draft_batch()
        batch_schedule(batch=batch, release_at=timezone.now() + timedelta(hours=2), scheduled_by=admin_user)
        assert batch.status == Batch.Status.SCHEDULED

    def test_urgent_needs_a_reason(self, admin_user):
        batch = draft_batch()
        with pytest.raises(BatchStateError, match="Say why") as exc:
            batch_schedule(batch=batch, release_at=timezone.now() + timedelta(hours=1), scheduled_by=admin_user,
                           urgent=True, urgent_reason="   ")
        assert exc.value.field == "urgent_reason"
        assert Batch.objects.get(pk=batch.pk).status == Batch.Status.DRAFT

    def test_urgent_with_a_reason_is_recorded(self, admin_user):
        batch = draft_batch()
        batch_schedule(batch=batch, release_at=timezone.now() + timedelta(hours=1), scheduled_by=admin_user,
                       urgent=True, urgent_reason="Customer deadline moved up")
        batch.refresh_from_db()
        assert batch.is_urgent and batch.urgent_by == admin_user
        assert batch.urgent_reason == "Customer deadline moved up"

    def test_only_admins_mark_urgent(self, lead):
        batch = draft_batch()
        with pytest.raises(BatchStateError, match="Only an admin"):
            batch_schedule(batch=batch, release_at=timezone.now() + timedelta(hours=1), scheduled_by=lead,
                           urgent=True, urgent_reason="Because")

    def test_urgent_flag_is_not_kept_when_the_notice_was_enough(self, admin_user):
        batch = draft_batch()
        batch_schedule(batch=batch, release_at=timezone.now() + timedelta(days=2), scheduled_by=admin_user,
                       urgent=True, urgent_reason="Not needed")
        batch.refresh_from_db()
        assert not batch.is_urgent and batch.urgent_reason == ""

    def test_past_and_naive_times_are_refused(self, admin_user):
        batch = draft_batch()
        with pytest.raises(BatchStateError, match="future"):
            batch_schedule(batch=batch, release_at=timezone.now() - timedelta(minutes=1), scheduled_by=admin_user)
        with pytest.raises(BatchStateError, match="time zone"):
            batch_schedule(batch=batch, release_at=(timezone.now() + timedelta(days=1)).replace(tzinfo=None))


class TestLotteryScheduling:
    def test_reservation_window_defaults_before_release(self, admin_user, settings):
        settings.TASKHUB_LOTTERY_WINDOW = timedelta(hours=24)
        batch = draft_batch(release_policy=Batch.Policy.LOTTERY)
        when = timezone.now() + timedelta(days=3)
        batch_schedule(batch=batch, release_at=when, scheduled_by=admin_user)
        assert batch.reservation_opens_at == when - timedelta(hours=24)

    def test_window_never_opens_in_the_past(self, admin_user, settings):
        settings.TASKHUB_LOTTERY_WINDOW = timedelta(hours=24)
        batch = draft_batch(release_policy=Batch.Policy.LOTTERY)
        now = timezone.now()
        batch_schedule(batch=batch, release_at=now + timedelta(hours=13), scheduled_by=admin_user, now=now)
        assert batch.reservation_opens_at == now

    def test_window_opening_at_or_after_release_is_refused(self, admin_user):
        batch = draft_batch(release_policy=Batch.Policy.LOTTERY)
        when = timezone.now() + timedelta(days=1)
        with pytest.raises(BatchStateError, match="must open before the release") as exc:
            batch_schedule(batch=batch, release_at=when, scheduled_by=admin_user, reservation_opens_at=when)
        assert exc.value.field == "reservation_opens_at"

    def test_schedule_release_sets_policy_and_schedules_in_one_go(self, admin_user):
        batch = draft_batch()
        when = timezone.now() + timedelta(days=2)
        project_services.batch_schedule_release(batch=batch, scheduled_by=admin_user, release_at=when,
                                       release_policy="lottery", fallback_policy="fair_share",
                                       lottery_max_per_person=4)
        batch.refresh_from_db()
        assert (batch.release_policy, batch.fallback_policy, batch.lottery_max_per_person, batch.status) == (
            "lottery", "fair_share", 4, "scheduled")

    def test_schedule_release_refusal_changes_nothing(self, admin_user):
        batch = draft_batch()
        with pytest.raises(BatchStateError):
            project_services.batch_schedule_release(batch=batch, scheduled_by=admin_user,
                                           release_at=timezone.now() + timedelta(hours=1), release_policy="lottery")
        batch.refresh_from_db()
        assert batch.release_policy == "first_come" and batch.status == "draft"


class TestAnnouncement:
    def test_scheduling_notifies_eligible_contractors_in_their_own_zone(
        self, admin_user, django_capture_on_commit_callbacks, settings
    ):
        settings.CELERY_TASK_ALWAYS_EAGER = True
        from taskhub.celery import app

        app.conf.task_always_eager = True
        try:
            onboarding = factories.ProjectFactory(is_onboarding=True)
            project = factories.ProjectFactory(qualification=onboarding, name="Essays")
            batch = draft_batch(project=project, name="Week 9")
            qualified = factories.ContractorFactory(timezone="Asia/Kolkata")
            factories.QualificationFactory(contractor=qualified, project=onboarding)
            unqualified = factories.ContractorFactory()
            factories.ContractorFactory(is_active=False)
            when = datetime(2031, 1, 5, 18, 0, tzinfo=UTC)
            with django_capture_on_commit_callbacks(execute=True):
                batch_schedule(batch=batch, release_at=when, scheduled_by=admin_user)
            notes = list(Notification.objects.filter(kind="release_announced"))
            assert [n.user_id for n in notes] == [qualified.pk]
            assert notes[0].title == "Essays · Week 9 opens Sun 05 Jan 2031 23:30 Asia/Kolkata"
            assert not Notification.objects.filter(user=unqualified).exists()
            # A redelivered announcement notifies nobody twice.
            assert project_services.batch_announce_release(batch_id=batch.pk, release_at=when.isoformat()) == 0
            assert Notification.objects.count() == 1
        finally:
            app.conf.task_always_eager = False

    def test_announcement_is_one_insert_whatever_the_audience(self, django_assert_max_num_queries):
        batch = draft_batch()
        Batch.objects.filter(pk=batch.pk).update(status="scheduled", release_at=timezone.now() + timedelta(days=1))
        batch.refresh_from_db()
        factories.ContractorFactory.create_batch(40)
        # + the email plan (one statement) and its one outbox row (issue 19)
        with django_assert_max_num_queries(6):
            created = project_services.batch_announce_release(batch_id=batch.pk,
                                                              release_at=batch.release_at.isoformat())
        assert created == 40

    def test_a_moved_release_is_not_announced_at_the_old_time(self):
        batch = draft_batch()
        Batch.objects.filter(pk=batch.pk).update(status="scheduled", release_at=timezone.now() + timedelta(days=1))
        factories.ContractorFactory()
        stale = (timezone.now() + timedelta(days=2)).isoformat()
        assert project_services.batch_announce_release(batch_id=batch.pk, release_at=stale) == 0


class TestDerivedCap:
    def test_fair_share_without_cap_derives_it_at_release(self):
        project = factories.ProjectFactory(overlap=2, max_active_claims=50)
        batch = draft_batch(tasks=10, project=project, release_policy=Batch.Policy.FAIR_SHARE)
        people = factories.ContractorFactory.create_batch(3)
        factories.LeadFactory()  # not a contractor: not counted
        assert batch_release(batch=batch)
        assert (batch.fair_share_cap, batch.fair_share_cap_derived) == (7, True)  # ceil(20 / 3)
        got = 0
        while task_claim_next(contractor=people[0], project=project):
            got += 1
        assert got == 7

    def test_due_sweep_derives_caps_in_the_same_transaction(self):
        batch = draft_batch(tasks=9, release_policy=Batch.Policy.FAIR_SHARE)
        factories.ContractorFactory.create_batch(2)
        Batch.objects.filter(pk=batch.pk).update(status="scheduled", release_at=timezone.now() - timedelta(seconds=1))
        assert batches_release_due() == [batch.pk]
        batch.refresh_from_db()
        assert (batch.status, batch.fair_share_cap, batch.fair_share_cap_derived) == ("open", 5, True)

    def test_a_fixed_cap_is_kept(self):
        batch = draft_batch(tasks=9, release_policy=Batch.Policy.FAIR_SHARE, fair_share_cap=2)
        factories.ContractorFactory()
        batch_release(batch=batch)
        assert (batch.fair_share_cap, batch.fair_share_cap_derived) == (2, False)

    def test_due_sweep_leaves_lottery_batches_to_their_draw(self):
        batch = draft_batch(release_policy=Batch.Policy.LOTTERY)
        Batch.objects.filter(pk=batch.pk).update(status="scheduled", release_at=timezone.now() - timedelta(seconds=1))
        assert batches_release_due() == []
        assert lottery.lottery_batches_due() == [batch.pk]

    def test_releasing_a_lottery_by_hand_draws_it(self, contractor):
        batch = draft_batch(tasks=3, release_policy=Batch.Policy.LOTTERY)
        Batch.objects.filter(pk=batch.pk).update(status="scheduled", release_at=timezone.now() + timedelta(hours=1),
                                                 reservation_opens_at=timezone.now() - timedelta(hours=1))
        lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=2)
        assert batch_release(batch=batch)
        assert batch.status == "open" and batch.lottery_allocation.claims_created == 2
        assert batch_release(batch=batch) is False  # drawn once only

    def test_a_draft_lottery_cannot_be_drawn(self):
        batch = draft_batch(release_policy=Batch.Policy.LOTTERY)
        with pytest.raises(BatchStateError, match="Schedule a lottery batch"):
            batch_release(batch=batch)


class TestSchedulePage:
    def test_admin_schedules_a_lottery_from_the_page(self, client_for, admin_user):
        admin_user.timezone = "Europe/Berlin"
        admin_user.save()
        batch = draft_batch()
        response = client_for(admin_user).post(reverse("manage:batch_schedule", args=[batch.pk]), {
            "release_at": "2031-03-01T09:00", "release_policy": "lottery", "fallback_policy": "fair_share",
            "lottery_max_per_person": "5", "fair_share_cap": "", "reservation_opens_at": "", "urgent_reason": "",
        })
        assert response.status_code == 302
        batch.refresh_from_db()
        assert batch.status == "scheduled" and batch.release_policy == "lottery"
        assert batch.release_at.isoformat() == "2031-03-01T08:00:00+00:00"  # 09:00 in Berlin (CET)

    def test_domain_errors_show_as_form_errors(self, client_for, admin_user):
        batch = draft_batch()
        soon = timezone.localtime(timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        response = client_for(admin_user).post(reverse("manage:batch_schedule", args=[batch.pk]), {
            "release_at": soon, "release_policy": "first_come", "fallback_policy": "first_come",
        })
        assert response.status_code == 400
        assert "at least 12 hours ahead" in response.content.decode()
        assert Batch.objects.get(pk=batch.pk).status == "draft"

    def test_malformed_input_is_a_form_error_not_a_500(self, client_for, admin_user):
        batch = draft_batch()
        response = client_for(admin_user).post(reverse("manage:batch_schedule", args=[batch.pk]), {
            "release_at": "tomorrow-ish", "release_policy": "raffle", "fair_share_cap": "-3",
        })
        assert response.status_code == 400
        page = response.content.decode()
        assert "Enter a valid date/time" in page and "Select a valid choice" in page

    def test_contractors_and_leads_cannot_schedule(self, client_for, contractor, lead):
        batch = draft_batch()
        assert client_for(contractor).get(reverse("manage:batch_schedule", args=[batch.pk])).status_code == 403
        assert client_for(lead).get(reverse("manage:batch_schedule", args=[batch.pk])).status_code == 403


class TestDashboard:
    def _releases(self, count, project, opens=timedelta(hours=-1)):
        now = timezone.now()
        for i in range(count):
            batch = factories.BatchFactory(
                project=project, status="scheduled", released_at=None, release_policy="lottery",
                release_at=now + timedelta(hours=5 + i), reservation_opens_at=now + opens,
            )
            factories.make_tasks(batch, 2)

    def test_lottery_release_shows_countdown_and_opt_in(self, client_for, contractor):
        project = factories.ProjectFactory(name="Poems", max_active_claims=4)
        self._releases(1, project)
        page = client_for(contractor).get(reverse("work:dashboard")).content.decode()
        assert "data-countdown" in page and "js/countdown.js" in page
        assert "Opt in" in page and 'max="4"' in page

    def test_opt_in_and_out_through_the_page(self, client_for, contractor):
        project = factories.ProjectFactory()
        self._releases(1, project)
        batch = Batch.objects.get(project=project)
        client = client_for(contractor)
        response = client.post(reverse("work:lottery_join", args=[batch.pk]), {"requested": "2"}, follow=True)
        assert "You&#x27;re in the" in response.content.decode()
        assert LotteryEntry.objects.get(batch=batch, contractor=contractor).requested == 2
        page = client.get(reverse("work:dashboard")).content.decode()
        assert "asking for up to 2 tasks" in page and "Opt out" in page
        client.post(reverse("work:lottery_leave", args=[batch.pk]))
        assert not LotteryEntry.objects.exists()

    def test_bad_requests_get_a_clear_message(self, client_for, contractor):
        project = factories.ProjectFactory(max_active_claims=3)
        self._releases(1, project)
        batch = Batch.objects.get(project=project)
        client = client_for(contractor)
        for value, message in (("9", "between 1 and 3"), ("two", "is not a number of tasks")):
            response = client.post(reverse("work:lottery_join", args=[batch.pk]), {"requested": value}, follow=True)
            assert message in response.content.decode()
        assert not LotteryEntry.objects.exists()

    def test_ineligible_project_is_refused_with_a_message(self, client_for, contractor):
        onboarding = factories.ProjectFactory(is_onboarding=True, name="Starter course")
        project = factories.ProjectFactory(qualification=onboarding)
        self._releases(1, project)
        batch = Batch.objects.get(project=project)
        response = client_for(contractor).post(reverse("work:lottery_join", args=[batch.pk]), {"requested": "1"},
                                               follow=True)
        assert "needs the qualification Starter course" in response.content.decode()
        assert not LotteryEntry.objects.exists()

    def test_query_count_stays_fixed_as_data_grows(self, client_for, contractor, django_assert_max_num_queries):
        client = client_for(contractor)
        project = factories.ProjectFactory()
        self._releases(1, project)
        client.get(reverse("work:dashboard"))
        cache.clear()  # both measured pages count unread notifications afresh
        with django_assert_max_num_queries(50) as baseline:
            client.get(reverse("work:dashboard"))
        fixed = len(baseline.captured_queries)
        for _ in range(4):
            extra = factories.ProjectFactory()
            self._releases(3, extra)
            open_batch = factories.BatchFactory(project=extra)
            factories.make_tasks(open_batch, 3)
            task_claim_next(contractor=contractor, project=extra)
        for batch in Batch.objects.filter(status="scheduled").order_by("release_at", "id")[:3]:
            lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1)
        from accounts.services import notification_create

        for i in range(8):
            notification_create(user=contractor, kind="test", title=f"Note {i}")
        cache.clear()
        with django_assert_max_num_queries(fixed):
            page = client.get(reverse("work:dashboard")).content.decode()
        assert "Note 7" in page and page.count("Opt out") == 3


# --- The release settings of issue 14: reservation period, horizon, relax period ------------------


class TestReleasePeriods:
    def test_the_periods_are_saved_with_the_schedule(self, admin_user):
        batch = draft_batch()
        project_services.batch_schedule_release(
            batch=batch, scheduled_by=admin_user, release_at=timezone.now() + timedelta(days=2),
            release_policy="lottery", reservation_period=timedelta(hours=30), fair_share_horizon=timedelta(hours=36),
            fair_share_relax_every=timedelta(hours=2),
        )
        batch.refresh_from_db()
        assert (batch.reservation_period, batch.fair_share_horizon, batch.fair_share_relax_every) == (
            timedelta(hours=30), timedelta(hours=36), timedelta(hours=2))
        assert batch.fallback_policy == "fair_share"  # the default: never plain first come unless chosen

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("reservation_period", timedelta(hours=-3), "reservation period must be longer than zero"),
        ("reservation_period", timedelta(0), "reservation period must be longer than zero"),
        ("fair_share_relax_every", timedelta(minutes=-1), "relax period must be longer than zero"),
        ("fair_share_horizon", timedelta(hours=-24), "horizon must be longer than zero"),
        ("fair_share_horizon", timedelta(hours=11), "at least the release notice \\(12 hours\\)"),
        ("fair_share_horizon", timedelta(days=31), "at most 30 days"),
    ])
    def test_bad_periods_are_refused_at_their_field_and_change_nothing(self, admin_user, settings, field, value,
                                                                         message):
        settings.TASKHUB_RELEASE_MIN_NOTICE = timedelta(hours=12)
        batch = draft_batch()
        with pytest.raises(BatchStateError, match=message) as exc:
            project_services.batch_schedule_release(
                batch=batch, scheduled_by=admin_user, release_at=timezone.now() + timedelta(days=2),
                release_policy="fair_share", **{field: value},
            )
        assert exc.value.field == field
        stored = Batch.objects.get(pk=batch.pk)
        assert (stored.status, stored.release_policy, getattr(stored, field)) == (
            "draft", "first_come", getattr(draft_batch(), field))

    def test_several_bad_periods_are_reported_together(self, admin_user):
        batch = draft_batch()
        with pytest.raises(BatchStateError) as exc:
            project_services.batch_schedule_release(
                batch=batch, scheduled_by=admin_user, release_at=timezone.now() + timedelta(days=2),
                release_policy="lottery", reservation_period=timedelta(hours=-1),
                fair_share_relax_every=timedelta(0),
            )
        assert [e["field"] for e in exc.value.errors] == ["reservation_period", "fair_share_relax_every"]

    def test_the_schedule_is_driven_by_the_now_it_is_given(self, admin_user):
        """No frozen clock: the notice is measured from `now`."""
        batch = draft_batch()
        simulated = datetime(2031, 1, 12, 20, tzinfo=UTC)
        release = datetime(2031, 1, 14, 8, tzinfo=UTC)
        project_services.batch_schedule_release(batch=batch, scheduled_by=admin_user, release_at=release,
                                                release_policy="lottery", now=simulated)
        batch.refresh_from_db()
        assert (batch.scheduled_at, batch.reservation_opens_at) == (simulated, release - timedelta(hours=24))
        with pytest.raises(BatchStateError, match="at least 12 hours ahead"):
            project_services.batch_schedule_release(batch=batch, scheduled_by=admin_user, release_at=release,
                                                    release_policy="lottery", now=release - timedelta(hours=2))

    def test_releasing_on_a_given_clock_starts_the_cap_schedule_then(self):
        batch = draft_batch(tasks=6, release_policy=Batch.Policy.FAIR_SHARE)
        factories.ContractorFactory.create_batch(2)
        simulated = datetime(2031, 1, 14, 8, tzinfo=UTC)
        assert batch_release(batch=batch, now=simulated)
        assert (batch.released_at, batch.fair_share_ends_at) == (simulated, simulated + timedelta(hours=24))


class TestSchedulePagePeriods:
    def _post(self, client, batch, **fields):
        data = {"release_at": "2031-03-01T09:00", "release_policy": "fair_share", "fallback_policy": "fair_share",
                "fair_share_cap": "", "lottery_max_per_person": "", "reservation_opens_at": "", "urgent_reason": "",
                "reservation_period": "24", "fair_share_horizon": "24", "fair_share_relax_every": "4"}
        data.update(fields)
        return client.post(reverse("manage:batch_schedule", args=[batch.pk]), data)

    def test_hours_typed_on_the_page_are_saved(self, client_for, admin_user):
        batch = draft_batch()
        response = self._post(client_for(admin_user), batch, fair_share_horizon="36", fair_share_relax_every="1.5",
                              reservation_period="20")
        assert response.status_code == 302
        batch.refresh_from_db()
        assert (batch.fair_share_horizon, batch.fair_share_relax_every, batch.reservation_period) == (
            timedelta(hours=36), timedelta(hours=1.5), timedelta(hours=20))

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("reservation_period", "-5", "The reservation period must be longer than zero."),
        ("fair_share_horizon", "6", "at least the release notice"),
        ("fair_share_relax_every", "٣", "digits 0–9"),
        ("fair_share_horizon", "lots", "Enter a number."),
        ("fair_share_horizon", "1e9", "no more than 6 digits"),
        ("reservation_period", "NaN", "Enter a number."),
    ])
    def test_bad_hours_are_errors_at_their_field_not_a_500(self, client_for, admin_user, field, value, message):
        batch = draft_batch()
        response = self._post(client_for(admin_user), batch, **{field: value})
        assert response.status_code == 400
        page = response.content.decode()
        assert message in page
        assert Batch.objects.get(pk=batch.pk).status == "draft"

    def test_the_page_publishes_the_cap_schedule_of_the_settings(self, client_for, admin_user):
        admin_user.timezone = "UTC"
        admin_user.save()
        batch = draft_batch(tasks=9, release_policy=Batch.Policy.FAIR_SHARE, release_at=datetime(2031, 3, 1, 9,
                                                                                                  tzinfo=UTC))
        factories.ContractorFactory.create_batch(2)
        page = client_for(admin_user).get(reverse("manage:batch_schedule", args=[batch.pk])).content.decode()
        assert "Fair-share cap schedule" in page
        assert "5 per person today: 9 task slots ÷ 2 eligible contractors" in page
        for when in ("Sat 01 Mar 2031 09:00", "Sat 01 Mar 2031 21:00",
                     "Sun 02 Mar 2031 01:00", "Sun 02 Mar 2031 09:00"):
            assert when in page
        assert "no cap any more" in page

    def test_after_a_refusal_the_page_shows_the_schedule_of_what_was_typed(self, client_for, admin_user):
        batch = draft_batch()
        response = self._post(client_for(admin_user), batch, release_policy="lottery", reservation_period="30",
                              fair_share_horizon="24", fair_share_relax_every="6", release_at="2020-01-01T00:00")
        assert response.status_code == 400
        page = response.content.decode()
        assert "release + 30 h" in page and "reservations end" in page and "release + 36 h" in page
