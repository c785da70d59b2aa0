"""Fair share that never strands work: the published cap schedule, the demand share it relaxes
to, the horizon where it ends (checked by the claim statement itself), and the demand records."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.errors import ClaimError
from annotations.models import BatchDemand, Claim
from annotations.services import (
    claim_submit,
    claims,
    demand_share,
    fair_share_caps_relax,
    lottery,
    task_claim_next,
)
from annotations.services.release import batch_release
from projects.models import Batch, CapStep
from projects.services import batch_open
from tests import factories

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
ANSWER = {"choice": "A", "strength": "clear", "reason": "A answers the question."}
RELEASE = datetime(2031, 1, 14, 8, tzinfo=UTC)


def fair_batch(*, tasks=12, eligible=4, max_active=50, **fields):
    """A fair-share batch released at RELEASE with `eligible` contractors; returns (batch, people)."""
    project = factories.ProjectFactory(max_active_claims=max_active)
    batch = factories.BatchFactory(project=project, status=Batch.Status.DRAFT, released_at=None,
                                   release_policy=Batch.Policy.FAIR_SHARE, **fields)
    factories.make_tasks(batch, tasks)
    people = factories.ContractorFactory.create_batch(eligible)
    assert batch_release(batch=batch, now=RELEASE)
    batch.refresh_from_db()
    return batch, people


def take(person, batch, now, n=1):
    got = []
    for _ in range(n):
        claim = task_claim_next(contractor=person, project=batch.project, now=now)
        if claim is None:
            break
        got.append(claim)
    return got


class TestSchedule:
    def test_a_derived_cap_holds_half_the_horizon_then_relaxes_every_period_and_ends(self):
        batch = Batch(release_policy="fair_share", fair_share_horizon=24 * H, fair_share_relax_every=4 * H)
        assert batch.fair_share_steps() == [
            CapStep(0 * H, "equal_share"), CapStep(12 * H, "demand"), CapStep(16 * H, "demand"),
            CapStep(20 * H, "demand"), CapStep(24 * H, "end"),
        ]

    def test_a_fixed_cap_holds_until_the_horizon(self):
        batch = Batch(release_policy="fair_share", fair_share_cap=5, fair_share_horizon=30 * H)
        assert batch.fair_share_steps() == [CapStep(0 * H, "equal_share"), CapStep(30 * H, "end")]

    def test_a_lottery_steps_when_its_reservations_end_and_ends_one_period_after(self):
        batch = Batch(release_policy="lottery", fallback_policy="fair_share", fair_share_horizon=24 * H,
                      fair_share_relax_every=4 * H, reservation_period=24 * H)
        assert [(s.offset / H, s.kind) for s in batch.fair_share_steps()] == [
            (0, "equal_share"), (12, "demand"), (16, "demand"), (20, "demand"), (24, "returned"), (28, "end")]

    def test_first_come_has_no_schedule(self):
        assert Batch(release_policy="first_come").fair_share_steps() == []
        assert Batch(release_policy="lottery", fallback_policy="first_come").fair_share_steps() == []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(policy=st.sampled_from(["fair_share", "lottery"]), horizon=st.integers(1, 24 * 30),
           relax=st.integers(1, 24 * 30), reservation=st.integers(1, 24 * 30))
    def test_the_end_the_database_sets_at_release_is_the_schedules_end(self, policy, horizon, relax, reservation):
        """fair_share_ends_at is set in SQL when the batch opens; Batch.fair_share_steps is its twin."""
        batch = factories.BatchFactory(status="draft", released_at=None, release_policy=policy,
                                       fallback_policy="fair_share", fair_share_horizon=horizon * H,
                                       fair_share_relax_every=relax * H, reservation_period=reservation * H)
        factories.make_tasks(batch, 1)
        if policy == "lottery":
            Batch.objects.filter(pk=batch.pk).update(status="scheduled", release_at=RELEASE)
            assert lottery.lottery_allocate(batch_id=batch.pk, now=RELEASE) is not None
        else:
            batch_open(batch=batch, now=RELEASE)
        batch.refresh_from_db()
        assert batch.fair_share_ends_at == RELEASE + batch.fair_share_steps()[-1].offset


class TestDemandShare:
    def test_water_filling(self):
        assert demand_share({3: 800}, 600) == 4  # 800 people at 3, 600 free: a 4th for 600 of them
        assert demand_share({3: 200, 4: 600}, 60) == 4
        assert demand_share({0: 2, 3: 1}, 3) == 2
        assert demand_share({5: 10}, 0) == 1
        assert demand_share({}, 10) is None

    @settings(max_examples=200, deadline=None)
    @given(held=st.dictionaries(st.integers(0, 40), st.integers(1, 50), min_size=1, max_size=8),
           free=st.integers(0, 3000))
    def test_it_is_the_lowest_cap_that_could_take_every_free_slot(self, held, free):
        def room(cap):
            return sum(people * max(0, cap - n) for n, people in held.items())

        cap = demand_share(held, free)
        assert cap >= 1 and room(cap) >= free
        assert cap == 1 or room(cap - 1) < free


class TestRelaxing:
    def test_the_equal_share_is_kept_for_half_the_horizon(self):
        batch, people = fair_batch(tasks=12, eligible=4)  # 3 each
        assert (batch.fair_share_cap, batch.fair_share_step) == (3, 0)
        assert batch.fair_share_ends_at == RELEASE + 24 * H
        assert fair_share_caps_relax(now=RELEASE + 11 * H) == 0
        assert len(take(people[0], batch, RELEASE + H, n=5)) == 3

    def test_a_dormant_account_takes_no_share_once_the_cap_follows_demand(self):
        """Of 4 eligible, 3 ask: the 3 work left by the dormant one go to them, one each."""
        batch, (a, b, c, _dormant) = fair_batch(tasks=12, eligible=4)
        for person in (a, b, c):
            assert len(take(person, batch, RELEASE + H, n=5)) == 3
        assert fair_share_caps_relax(now=RELEASE + 12 * H) == 1
        batch.refresh_from_db()
        assert (batch.fair_share_cap, batch.fair_share_step) == (4, 1)
        for person in (a, b, c):
            assert len(take(person, batch, RELEASE + 13 * H, n=5)) == 1
        assert not Claim.objects.filter(batch=batch).values("contractor").order_by().exclude(
            contractor__in=[a, b, c]).exists()

    def test_those_below_the_share_go_first(self):
        batch, (early, late, _c, _d) = fair_batch(tasks=12, eligible=4)
        take(early, batch, RELEASE, n=3)
        take(late, batch, RELEASE + 11 * H, n=1)
        fair_share_caps_relax(now=RELEASE + 12 * H)
        batch.refresh_from_db()
        # early holds 3, late 1: 8 free -> late could take up to the cap, early too: level 6.
        assert batch.fair_share_cap == 6

    def test_the_cap_grows_at_least_one_each_period(self):
        batch, (_a, *_rest) = fair_batch(tasks=12, eligible=4)
        fair_share_caps_relax(now=RELEASE + 12 * H)
        batch.refresh_from_db()
        first = batch.fair_share_cap
        fair_share_caps_relax(now=RELEASE + 16 * H)
        batch.refresh_from_db()
        assert batch.fair_share_cap == first + 1 and batch.fair_share_step == 2

    def test_a_late_sweep_takes_the_latest_step_once(self):
        batch, _people = fair_batch(tasks=12, eligible=4)
        assert fair_share_caps_relax(now=RELEASE + 21 * H) == 1
        batch.refresh_from_db()
        assert batch.fair_share_step == 3
        assert fair_share_caps_relax(now=RELEASE + 21 * H) == 0

    def test_a_fixed_cap_does_not_relax(self):
        batch, (a, *_rest) = fair_batch(tasks=12, eligible=4, fair_share_cap=2)
        assert fair_share_caps_relax(now=RELEASE + 20 * H) == 0
        batch.refresh_from_db()
        assert (batch.fair_share_cap, batch.fair_share_cap_derived) == (2, False)
        assert len(take(a, batch, RELEASE + 20 * H, n=5)) == 2

    def test_at_the_horizon_the_claim_statement_applies_no_cap(self):
        batch, (a, *_rest) = fair_batch(tasks=12, eligible=4)
        assert len(take(a, batch, RELEASE + 23 * H, n=12)) == 3
        # No sweep needed: the statement compares now with fair_share_ends_at itself.
        assert len(take(a, batch, RELEASE + 24 * H, n=12)) == 9

    def test_the_cap_counts_submitted_work(self):
        batch, (a, *_rest) = fair_batch(tasks=12, eligible=4)
        for claim in take(a, batch, RELEASE, n=3):
            claim_submit(claim=claim, contractor=a, answer=ANSWER, now=RELEASE + timedelta(minutes=10))
        assert take(a, batch, RELEASE + 2 * H) == []


class TestDemand:
    def test_finding_nothing_records_demand_once_per_batch(self):
        batch, (a, b, *_rest) = fair_batch(tasks=3, eligible=4)
        take(a, batch, RELEASE, n=3)  # a: at the cap (1 each for 4)? no: cap 1 -> 1 task
        assert BatchDemand.objects.get(batch=batch, contractor=a).reason == "capped"
        take(b, batch, RELEASE, n=1)
        assert not BatchDemand.objects.filter(contractor=b).exists()  # got work: nothing to record
        late = factories.ContractorFactory()
        Batch.objects.filter(pk=batch.pk).update(fair_share_cap=5)
        take(late, batch, RELEASE + H, n=2)
        take(late, batch, RELEASE + 2 * H, n=2)
        assert list(BatchDemand.objects.filter(contractor=late).values_list("reason", "recorded_at")) == [
            ("found_none", RELEASE + H)]

    def test_every_open_batch_of_the_project_records_it(self):
        batch, (a, *_rest) = fair_batch(tasks=1, eligible=1)
        other = factories.BatchFactory(project=batch.project)
        factories.make_tasks(other, 1)
        factories.BatchFactory(project=batch.project, status="draft", released_at=None)
        take(a, batch, RELEASE, n=3)
        assert set(BatchDemand.objects.filter(contractor=a).values_list("batch_id", flat=True)) == {batch.pk, other.pk}

    def test_a_batch_that_ran_out_records_demand_until_its_horizon(self, django_capture_on_commit_callbacks):
        batch, (a, b, *_rest) = fair_batch(tasks=1, eligible=2)
        claim = take(a, batch, RELEASE)[0]
        with django_capture_on_commit_callbacks(execute=True):  # the batch is marked after the commit
            claim_submit(claim=claim, contractor=a, answer=ANSWER, now=RELEASE + timedelta(minutes=10))
        batch.refresh_from_db()
        assert batch.status == "exhausted"
        assert take(b, batch, RELEASE + 2 * H) == []
        assert BatchDemand.objects.get(batch=batch, contractor=b).reason == "found_none"
        late = factories.ContractorFactory()
        assert take(late, batch, RELEASE + 25 * H) == []
        assert not BatchDemand.objects.filter(contractor=late).exists()

    def test_no_demand_from_someone_at_the_projects_limit(self):
        batch, (a, *_rest) = fair_batch(tasks=5, eligible=1, max_active=1)
        take(a, batch, RELEASE)
        with pytest.raises(ClaimError):
            take(a, batch, RELEASE)
        assert not BatchDemand.objects.filter(contractor=a).exists()

    def test_no_demand_for_a_lottery_not_drawn_yet(self):
        batch, (a, b) = fair_batch(tasks=1, eligible=2)
        scheduled = factories.BatchFactory(project=batch.project, status="scheduled", released_at=None,
                                           release_policy="lottery", release_at=RELEASE + 5 * H)
        factories.make_tasks(scheduled, 2)
        take(a, batch, RELEASE)
        assert take(b, batch, RELEASE) == []
        assert list(BatchDemand.objects.values_list("batch_id", "contractor_id")) == [(batch.pk, b.pk)]

    def test_the_claiming_path_adds_no_statement(self, django_assert_num_queries):
        batch, (a, *_rest) = fair_batch(tasks=3, eligible=1)
        take(a, batch, RELEASE)  # prepares the statement on this connection
        with django_assert_num_queries(1):
            assert task_claim_next(contractor=a, project=batch.project, now=RELEASE) is not None
        take(a, batch, RELEASE, n=5)
        with django_assert_num_queries(1):  # finding nothing records the demand in the same statement
            assert task_claim_next(contractor=a, project=batch.project, now=RELEASE) is None

    def test_opting_in_is_demand_and_opting_out_takes_it_back(self, contractor):
        now = RELEASE - 2 * H
        batch = factories.BatchFactory(status="scheduled", released_at=None, release_policy="lottery",
                                       release_at=RELEASE, reservation_opens_at=RELEASE - 24 * H)
        factories.make_tasks(batch, 3)
        lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=1, now=now)
        lottery.lottery_opt_in(batch=batch, contractor=contractor, requested=2, now=now + H)
        assert list(BatchDemand.objects.values_list("reason", "recorded_at")) == [("opted_in", now)]
        lottery.lottery_opt_out(batch=batch, contractor=contractor, now=now + H)
        assert not BatchDemand.objects.exists()


def test_the_cap_check_and_demand_record_stay_on_indexes(db):
    """The statement's extra checks read the batch row and the contractor's claims through
    indexes, and the demand insert sits behind a one-time filter: skipped whenever a task was
    claimed."""
    batch, (a, *_rest) = fair_batch(tasks=50, eligible=2)
    take(a, batch, RELEASE, n=30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_claim")
        cursor.execute("ANALYZE annotations_batchdemand")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {claims._CLAIM_STATEMENT} (%s, %s, %s, %s, %s)",
                       [batch.project_id, a.pk, 50, RELEASE, RELEASE + H])
        plan = cursor.fetchone()[0][0]["Plan"]

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    assert not [n for n in nodes(plan) if n["Node Type"] == "Seq Scan"]
    demand = next(n for n in nodes(plan) if n.get("Operation") == "Insert"
                  and n.get("Relation Name") == "annotations_batchdemand")
    assert any("One-Time Filter" in n for n in nodes(demand))
