"""The lottery: opting in and out, and the draw (even, random, capped, reproducible, once)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from annotations.errors import LotteryError
from annotations.models import Claim, LotteryAllocation, LotteryEntry
from annotations.services import lottery, task_claim_next
from projects.models import Batch, Task
from tests import factories


def lottery_batch(*, tasks=10, overlap=1, max_active=50, release_in=timedelta(hours=2), opens=timedelta(hours=-1),
                  **fields):
    now = timezone.now()
    project = factories.ProjectFactory(overlap=overlap, max_active_claims=max_active)
    batch = factories.BatchFactory(
        project=project, status=Batch.Status.SCHEDULED, release_policy=Batch.Policy.LOTTERY, released_at=None,
        release_at=now + release_in, reservation_opens_at=now + opens, **fields,
    )
    factories.make_tasks(batch, tasks)
    return batch


def join(batch, people, requested=None):
    for person in people:
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=requested)


def counts(batch) -> Counter:
    return Counter(Claim.objects.filter(batch=batch).values_list("contractor_id", flat=True))


@pytest.mark.django_db
class TestOptIn:
    def test_opt_in_records_the_request_and_can_be_changed(self, contractor):
        batch = lottery_batch(lottery_max_per_person=5)
        lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=2)
        lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=4)
        entry = LotteryEntry.objects.get(batch=batch, contractor=contractor)
        assert entry.requested == 4

    def test_opt_in_defaults_to_the_most_allowed(self, contractor):
        batch = lottery_batch(max_active=3, lottery_max_per_person=10)
        entry = lottery.lottery_opt_in(batch=batch, contractor=contractor)
        assert entry.requested == 3  # the project's active-claim cap is the tighter one

    def test_asking_for_more_than_the_cap_is_refused(self, contractor):
        batch = lottery_batch(lottery_max_per_person=5)
        with pytest.raises(LotteryError, match="between 1 and 5") as exc:
            lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=6)
        assert exc.value.field == "requested"
        assert not LotteryEntry.objects.exists()

    def test_opting_in_after_the_window_is_refused_with_the_time(self, contractor):
        batch = lottery_batch()
        contractor.timezone = "Asia/Kolkata"
        contractor.save()
        late = batch.release_at + timedelta(seconds=1)
        with pytest.raises(LotteryError, match=r"reservation window .* closed at .*IST") as exc:
            lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1, now=late)
        assert exc.value.code == "lottery_closed"
        assert not LotteryEntry.objects.exists()

    def test_opting_in_after_the_draw_is_refused(self, contractor):
        batch = lottery_batch()
        lottery.lottery_allocate(batch_id=batch.pk)
        with pytest.raises(LotteryError, match="lottery has been drawn"):
            lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1)

    def test_opting_in_before_the_window_opens_is_refused(self, contractor):
        batch = lottery_batch(release_in=timedelta(days=3), opens=timedelta(days=2))
        with pytest.raises(LotteryError, match="opens at") as exc:
            lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1)
        assert exc.value.code == "lottery_not_open"

    def test_opting_in_to_an_ineligible_project_is_refused(self, contractor):
        onboarding = factories.ProjectFactory(is_onboarding=True, name="Basics")
        batch = lottery_batch()
        batch.project.qualification = onboarding
        batch.project.save()
        with pytest.raises(LotteryError, match=r"not eligible for .*needs the qualification Basics") as exc:
            lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1)
        assert exc.value.code == "not_eligible"
        factories.QualificationFactory(contractor=contractor, project=onboarding)
        assert lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1).requested == 1

    def test_a_paused_project_refuses_entries(self, contractor):
        batch = lottery_batch()
        batch.project.status = "paused"
        batch.project.save()
        with pytest.raises(LotteryError, match="not open for work"):
            lottery.lottery_opt_in(batch=batch, contractor=contractor)

    def test_not_a_lottery_batch(self, contractor):
        batch = factories.BatchFactory(status=Batch.Status.SCHEDULED, release_at=timezone.now() + timedelta(days=1))
        with pytest.raises(LotteryError, match="not released by lottery"):
            lottery.lottery_opt_in(batch=batch, contractor=contractor)

    def test_leads_cannot_join(self, lead):
        with pytest.raises(LotteryError, match="Only contractors"):
            lottery.lottery_opt_in(batch=lottery_batch(), contractor=lead)

    def test_opt_out_removes_the_entry_and_twice_says_so(self, contractor):
        batch = lottery_batch()
        lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1)
        lottery.lottery_opt_out(batch=batch, contractor=contractor)
        assert not LotteryEntry.objects.exists()
        with pytest.raises(LotteryError, match="had not opted in"):
            lottery.lottery_opt_out(batch=batch, contractor=contractor)


@pytest.mark.django_db
class TestDraw:
    def test_allocation_is_even_and_respects_overlap_and_distinct_people(self):
        batch = lottery_batch(tasks=23, overlap=3)
        people = factories.ContractorFactory.create_batch(7)
        join(batch, people, requested=20)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        per_person = counts(batch)
        assert allocation.claims_created == 69 == sum(per_person.values())  # 23 tasks x 3
        assert max(per_person.values()) - min(per_person.values()) <= 1
        assert set(per_person) == {p.pk for p in people}
        per_task = Counter(Claim.objects.filter(batch=batch).values_list("task_id", flat=True))
        assert set(per_task.values()) == {3}
        assert not Task.objects.filter(batch=batch).exclude(claim_count=3).exists()
        pairs = list(Claim.objects.filter(batch=batch).values_list("task_id", "contractor_id"))
        assert len(pairs) == len(set(pairs))
        batch.refresh_from_db()
        assert batch.status == Batch.Status.OPEN and batch.allocated_at and batch.lottery_seed == allocation.seed

    def test_small_requests_are_met_and_the_rest_shared_evenly(self):
        batch = lottery_batch(tasks=30)
        modest = factories.ContractorFactory.create_batch(2)
        keen = factories.ContractorFactory.create_batch(4)
        join(batch, modest, requested=2)
        join(batch, keen, requested=20)
        lottery.lottery_allocate(batch_id=batch.pk)
        per_person = counts(batch)
        assert [per_person[p.pk] for p in modest] == [2, 2]
        assert sorted(per_person[p.pk] for p in keen) == [6, 6, 7, 7]  # 26 left for 4
        entries = {e.contractor_id: e for e in LotteryEntry.objects.filter(batch=batch)}
        assert all(entries[pk].allocated == n for pk, n in per_person.items())

    def test_more_people_than_tasks_each_get_at_most_one(self):
        batch = lottery_batch(tasks=5)
        people = factories.ContractorFactory.create_batch(12)
        join(batch, people, requested=3)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        assert allocation.claims_created == 5
        assert set(counts(batch).values()) == {1}
        assert LotteryEntry.objects.filter(batch=batch, allocated=0).count() == 7

    def test_active_claim_cap_counts_work_already_held(self):
        batch = lottery_batch(tasks=20, max_active=4)
        busy, free = factories.ContractorFactory.create_batch(2)
        other = factories.BatchFactory(project=batch.project)
        factories.make_tasks(other, 3)
        join(batch, [busy, free], requested=4)
        for _ in range(3):
            task_claim_next(contractor=busy, project=batch.project)
        lottery.lottery_allocate(batch_id=batch.pk)
        per_person = counts(batch)
        assert per_person[busy.pk] == 1 and per_person[free.pk] == 4
        # Open holds (active claims and reservations) stay within the project's cap.
        held = Claim.objects.filter(contractor=busy, project=batch.project, status__in=["active", "reserved"])
        assert held.count() == 4

    def test_reservations_count_against_the_cap_of_a_second_draw(self):
        first = lottery_batch(tasks=5, max_active=3)
        now = timezone.now()
        second = factories.BatchFactory(
            project=first.project, status=Batch.Status.SCHEDULED, release_policy=Batch.Policy.LOTTERY,
            released_at=None, release_at=now + timedelta(hours=2), reservation_opens_at=now - timedelta(hours=1),
        )
        factories.make_tasks(second, 5)
        person = factories.ContractorFactory()
        join(first, [person], requested=2)
        join(second, [person], requested=3)
        lottery.lottery_allocate(batch_id=first.pk)
        lottery.lottery_allocate(batch_id=second.pk)
        assert counts(second)[person.pk] == 1  # two wins already reserved, cap 3

    def test_fixed_fair_share_cap_limits_the_draw(self):
        batch = lottery_batch(tasks=20, fair_share_cap=3, fallback_policy="fair_share")
        people = factories.ContractorFactory.create_batch(2)
        join(batch, people, requested=3)
        lottery.lottery_allocate(batch_id=batch.pk)
        assert set(counts(batch).values()) == {3}

    def test_no_longer_qualified_participant_gets_nothing(self):
        onboarding = factories.ProjectFactory(is_onboarding=True)
        batch = lottery_batch(tasks=10)
        batch.project.qualification = onboarding
        batch.project.save()
        keep, lose = factories.ContractorFactory.create_batch(2)
        for person in (keep, lose):
            factories.QualificationFactory(contractor=person, project=onboarding)
        join(batch, [keep, lose], requested=5)
        lose.qualifications.all().delete()
        lottery.lottery_allocate(batch_id=batch.pk)
        assert counts(batch) == Counter({keep.pk: 5})
        assert LotteryEntry.objects.get(contractor=lose).quota == 0

    def test_wins_are_reservations_with_no_deadline_running(self):
        batch = lottery_batch(tasks=6, reservation_period=timedelta(hours=20))
        person = factories.ContractorFactory()
        join(batch, [person], requested=3)
        now = timezone.now()
        lottery.lottery_allocate(batch_id=batch.pk, now=now)
        wins = list(Claim.objects.filter(batch=batch))
        assert len(wins) == 3
        assert {(c.status, c.source, c.deadline, c.reserved_until, c.claimed_at) for c in wins} == {
            ("reserved", "draw", None, now + timedelta(hours=20), now)}
        # The slots are held: counted on the tasks, so nobody else can take them.
        assert Task.objects.filter(batch=batch, claim_count=1).count() == 3

    def test_a_derived_cap_does_not_limit_the_draw(self):
        """The equal share over every eligible account is for what is left after the draw: the
        draw itself divides the tasks among the people who opted in."""
        batch = lottery_batch(tasks=12, fallback_policy="fair_share")
        factories.ContractorFactory.create_batch(8)  # eligible, never opted in
        people = factories.ContractorFactory.create_batch(3)
        join(batch, people, requested=10)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        assert allocation.claims_created == 12
        assert set(counts(batch).values()) == {4}
        batch.refresh_from_db()
        assert batch.fair_share_cap_derived and batch.fair_share_cap == 2  # ceil(12 / 11) for the rest

    def test_the_recorded_seed_reproduces_the_allocation(self):
        batch = lottery_batch(tasks=40, overlap=2)
        join(batch, factories.ContractorFactory.create_batch(9), requested=10)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        actual = sorted(Claim.objects.filter(batch=batch).values_list("task_id", "contractor_id"))
        assert lottery.lottery_replay(batch_id=batch.pk) == actual
        assert lottery.lottery_replay(batch_id=batch.pk, seed=allocation.seed) == actual
        assert lottery.lottery_replay(batch_id=batch.pk, seed=allocation.seed + 1) != actual

    def test_same_seed_same_draw_on_an_identical_batch(self):
        people = factories.ContractorFactory.create_batch(6)

        def draw(seed):
            batch = lottery_batch(tasks=9)
            join(batch, people, requested=3)
            lottery.lottery_allocate(batch_id=batch.pk, seed=seed)
            first = Task.objects.filter(batch=batch).order_by("id").first().pk
            return sorted((t - first, c) for t, c in Claim.objects.filter(batch=batch)
                          .values_list("task_id", "contractor_id"))

        assert draw(12345) == draw(12345)
        assert draw(12345) != draw(54321)

    def test_allocation_is_a_fixed_number_of_statements(self, django_assert_max_num_queries):
        small = lottery_batch(tasks=5)
        join(small, factories.ContractorFactory.create_batch(2), requested=2)
        big = lottery_batch(tasks=200, overlap=2)
        join(big, factories.ContractorFactory.create_batch(30), requested=20)
        with django_assert_max_num_queries(12) as small_queries:
            lottery.lottery_allocate(batch_id=small.pk)
        with django_assert_max_num_queries(len(small_queries.captured_queries)):
            lottery.lottery_allocate(batch_id=big.pk)
        assert Claim.objects.filter(batch=big).count() == 400

    def test_second_trigger_does_nothing(self):
        batch = lottery_batch(tasks=10)
        join(batch, factories.ContractorFactory.create_batch(3), requested=5)
        first = lottery.lottery_allocate(batch_id=batch.pk)
        assert lottery.lottery_allocate(batch_id=batch.pk) is None
        assert Claim.objects.filter(batch=batch).count() == first.claims_created == 10
        assert LotteryAllocation.objects.filter(batch=batch).count() == 1

    def test_nobody_opted_in_everything_falls_back(self, contractor):
        batch = lottery_batch(tasks=3)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        assert allocation.claims_created == 0 and allocation.participants == 0
        assert task_claim_next(contractor=contractor, project=batch.project) is not None


@pytest.mark.django_db
class TestFallback:
    def test_a_lottery_batch_hands_out_nothing_before_the_draw(self, contractor):
        batch = lottery_batch(tasks=3)
        # Even if something opened it without a draw, the claim engine refuses its tasks.
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.OPEN)
        assert task_claim_next(contractor=contractor, project=batch.project) is None

    def test_left_over_tasks_go_first_come_after_the_draw(self):
        batch = lottery_batch(tasks=10, fallback_policy="first_come")
        winner, latecomer = factories.ContractorFactory.create_batch(2)
        join(batch, [winner], requested=3)
        lottery.lottery_allocate(batch_id=batch.pk)
        claimed = [task_claim_next(contractor=latecomer, project=batch.project) for _ in range(7)]
        assert all(claimed)
        assert counts(batch) == Counter({winner.pk: 3, latecomer.pk: 7})

    def test_left_over_tasks_follow_a_derived_fair_share_cap(self):
        batch = lottery_batch(tasks=12, fallback_policy="fair_share")
        people = factories.ContractorFactory.create_batch(4)  # every active contractor is eligible
        eligible = factories.ContractorFactory._meta.model.objects.filter(role="contractor", is_active=True).count()
        join(batch, people[:1], requested=2)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        batch.refresh_from_db()
        expected_cap = -(-12 // eligible)
        assert batch.fair_share_cap == expected_cap == allocation.fair_share_cap
        assert batch.fair_share_cap_derived
        late = people[1]
        got = 0
        while task_claim_next(contractor=late, project=batch.project) is not None:
            got += 1
        assert got == expected_cap


@pytest.mark.django_db
class TestNotifications:
    def test_each_participant_is_told_what_they_got_once(self, django_capture_on_commit_callbacks):
        batch = lottery_batch(tasks=3)
        people = factories.ContractorFactory.create_batch(4)
        join(batch, people, requested=1)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            lottery.lottery_allocate(batch_id=batch.pk)
        assert callbacks  # the notice is enqueued only once the draw is committed
        assert lottery.lottery_notify_results(batch_id=batch.pk) == 4
        assert lottery.lottery_notify_results(batch_id=batch.pk) == 0  # a redelivery adds nothing
        notes = Notification.objects.filter(kind="lottery_result")
        got = {n.user_id: n.title for n in notes}
        winners = set(counts(batch))
        assert len(winners) == 3
        for person in people:
            if person.pk in winners:
                assert got[person.pk].startswith("You got 1 task in the")
            else:
                assert got[person.pk].startswith("No tasks for you")

