"""The lottery, reservations and fair share under real concurrency (threads with their own
connections, and a real Celery worker process): one draw, overlap, one claim per task and person,
the caps, each reservation ended once, each cap step taken once, demand recorded once."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from annotations import tasks as annotation_tasks
from annotations.errors import ClaimError, LotteryError
from annotations.models import BatchDemand, Claim, LotteryAllocation, LotteryEntry
from annotations.services import (
    claim_open,
    claim_release,
    claims_expire_overdue,
    fair_share_caps_relax,
    lottery,
    task_claim_next,
)
from annotations.services.release import batch_release
from projects.models import Batch, Task
from tests import factories
from tests.concurrency import race, run_together
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def lottery_batch(*, tasks, overlap=1, max_active=50, **fields):
    now = timezone.now()
    project = factories.ProjectFactory(overlap=overlap, max_active_claims=max_active)
    batch = factories.BatchFactory(
        project=project, status=Batch.Status.SCHEDULED, release_policy=Batch.Policy.LOTTERY, released_at=None,
        release_at=now + timedelta(hours=1), reservation_opens_at=now - timedelta(hours=1), **fields,
    )
    factories.make_tasks(batch, tasks)
    return batch


def test_two_simultaneous_triggers_allocate_once():
    batch = lottery_batch(tasks=60, overlap=2)
    people = factories.ContractorFactory.create_batch(8)
    for person in people:
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=20)
    results = run_together(lambda: lottery.lottery_allocate(batch_id=batch.pk), [() for _ in range(2)])
    drawn = [r for r in results if r is not None]
    assert len(drawn) == 1
    assert LotteryAllocation.objects.filter(batch=batch).count() == 1
    assert Claim.objects.filter(batch=batch).count() == 120 == drawn[0].claims_created
    per_person = Counter(Claim.objects.filter(batch=batch).values_list("contractor_id", flat=True))
    assert set(per_person.values()) == {15}
    assert not Task.objects.filter(batch=batch).exclude(claim_count=2).exists()


def test_release_and_due_trigger_racing_allocate_once():
    batch = lottery_batch(tasks=30)
    for person in factories.ContractorFactory.create_batch(5):
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=10)
    Batch.objects.filter(pk=batch.pk).update(release_at=timezone.now() - timedelta(seconds=1))

    def by_hand():
        return batch_release(batch=Batch.objects.get(pk=batch.pk))

    def by_beat():
        return [lottery.lottery_allocate(batch_id=i) for i in lottery.lottery_batches_due()]

    run_together(lambda f: f(), [(by_hand,), (by_beat,), (by_beat,)])
    assert LotteryAllocation.objects.filter(batch=batch).count() == 1
    assert Claim.objects.filter(batch=batch).count() == 30


def test_active_claim_cap_holds_while_participants_claim_elsewhere_during_the_draw():
    batch = lottery_batch(tasks=200, max_active=5)
    project = batch.project
    elsewhere = factories.BatchFactory(project=project)
    factories.make_tasks(elsewhere, 200)
    people = factories.ContractorFactory.create_batch(6)
    for person in people:
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=5)

    def claim_some(person):
        for _ in range(5):
            try:
                task_claim_next(contractor=person, project=project)
            except Exception as exc:  # the cap refusal is expected for some
                if getattr(exc, "code", None) != "active_claim_cap":
                    raise

    jobs = [(lambda: lottery.lottery_allocate(batch_id=batch.pk),)] + [
        (lambda p=p: claim_some(p),) for p in people
    ]
    run_together(lambda f: f(), jobs)
    for person in people:
        held = Claim.objects.filter(contractor=person, project=project, status="active").count()
        assert held <= project.max_active_claims, (person, held)
    assert Claim.objects.filter(batch=batch).exists()


def test_opt_ins_racing_the_draw_are_either_drawn_or_refused():
    batch = lottery_batch(tasks=100)
    people = factories.ContractorFactory.create_batch(12)

    def opt_in(person):
        try:
            lottery.lottery_opt_in(batch=Batch.objects.get(pk=batch.pk), contractor=person, requested=3)
            return "in"
        except LotteryError as exc:
            assert exc.code == "lottery_closed"
            return "refused"

    jobs = [(lambda: lottery.lottery_allocate(batch_id=batch.pk),)] + [(lambda p=p: opt_in(p),) for p in people]
    run_together(lambda f: f(), jobs)
    # Nobody is silently left out: every entry that exists took part in the draw.
    assert not LotteryEntry.objects.filter(batch=batch, allocated__isnull=True).exists()
    entries = LotteryEntry.objects.filter(batch=batch)
    assert Claim.objects.filter(batch=batch).count() == 3 * entries.count()


def test_derived_fair_share_cap_holds_under_concurrency():
    project = factories.ProjectFactory(max_active_claims=100)
    batch = factories.BatchFactory(project=project, status=Batch.Status.DRAFT, released_at=None,
                                   release_policy=Batch.Policy.FAIR_SHARE)
    factories.make_tasks(batch, 40)
    people = factories.ContractorFactory.create_batch(4)
    batch_release(batch=batch)
    assert batch.fair_share_cap == 10 and batch.fair_share_cap_derived

    def drain(person):
        while task_claim_next(contractor=person, project=project) is not None:
            pass

    run_together(drain, [(p,) for p in people for _ in range(3)])
    per_person = Counter(Claim.objects.filter(batch=batch).values_list("contractor_id", flat=True))
    assert per_person == Counter({p.pk: 10 for p in people})


@pytest.mark.worker
def test_the_beat_task_draws_through_a_real_worker_and_notifies(celery_worker_process):
    batch = lottery_batch(tasks=12)
    people = factories.ContractorFactory.create_batch(4)
    for person in people:
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=5)
    Batch.objects.filter(pk=batch.pk).update(release_at=timezone.now() - timedelta(seconds=1))
    # Two beats in a row: the draw task is enqueued twice and runs once.
    annotation_tasks.batches_release_due.delay()
    annotation_tasks.batches_release_due.delay()
    wait_for(lambda: Notification.objects.filter(kind="lottery_result").count() == 4, timeout=60)
    assert LotteryAllocation.objects.filter(batch=batch).count() == 1
    assert Counter(Claim.objects.filter(batch=batch).values_list("contractor_id", flat=True)) == Counter(
        {p.pk: 3 for p in people})
    titles = set(Notification.objects.filter(kind="lottery_result").values_list("title", flat=True))
    assert titles == {f"You got 3 tasks in the {batch.project.name} · {batch.name} lottery"}


# --- Reservations, hand-backs, lapses, caps and demand under races (issue 14) ------------------


def _drawn(*, tasks, people, requested, max_active=50, period=timedelta(hours=24), fallback="fair_share"):
    batch = lottery_batch(tasks=tasks, max_active=max_active, reservation_period=period, fallback_policy=fallback)
    contractors = factories.ContractorFactory.create_batch(people)
    for person in contractors:
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=requested)
    now = timezone.now()
    lottery.lottery_allocate(batch_id=batch.pk, now=now)
    return Batch.objects.get(pk=batch.pk), contractors, now


def _counters_exact(batch):
    for task in Task.objects.filter(batch=batch):
        holding = Claim.objects.filter(task=task, status__in=["reserved", "active", "submitted"]).count()
        assert task.claim_count == holding <= task.overlap, task


def test_opening_racing_the_lapse_sweep_ends_one_way_or_the_other():
    batch, (winner,), drawn_at = _drawn(tasks=8, people=1, requested=8, period=timedelta(hours=1))
    end = drawn_at + timedelta(hours=1)
    wins = list(Claim.objects.filter(batch=batch).select_related("project"))

    def open_all():
        opened = 0
        for win in wins:
            try:
                claim_open(claim=win, contractor=winner, now=end - timedelta(microseconds=1))
                opened += 1
            except ClaimError as exc:
                assert exc.code == "reservation_lapsed"
        return opened

    outcomes = race(open_all, lambda: claims_expire_overdue(now=end))
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    opened, lapsed = outcomes[0][1], outcomes[1][1]
    assert opened + lapsed == 8
    statuses = Counter(Claim.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == Counter({k: v for k, v in (("active", opened), ("lapsed", lapsed)) if v})
    _counters_exact(batch)


def test_two_lapse_sweeps_at_once_lapse_each_win_once():
    batch, _people, drawn_at = _drawn(tasks=30, people=3, requested=10, period=timedelta(hours=2))
    results = run_together(lambda: claims_expire_overdue(now=drawn_at + timedelta(hours=2)), [(), (), ()])
    assert sorted(results) == [0, 0, 30]
    _counters_exact(batch)
    assert Claim.objects.filter(batch=batch, status="lapsed").count() == 30


def test_hand_backs_racing_claimers_keep_overlap_and_caps():
    """Winners hand back while others claim the freed tasks: never above overlap, never twice by one
    person, and nobody over the fair-share cap."""
    batch, winners, drawn_at = _drawn(tasks=40, people=4, requested=10)
    others = factories.ContractorFactory.create_batch(4)
    Batch.objects.filter(pk=batch.pk).update(fair_share_cap=6)

    def hand_back(person):
        for win in Claim.objects.filter(batch=batch, contractor=person, status="reserved").select_related("project"):
            claim_release(claim=win, contractor=person, now=drawn_at)

    def claim_all(person):
        got = 0
        for _ in range(12):
            if task_claim_next(contractor=person, project=batch.project, now=drawn_at) is not None:
                got += 1
        return got

    jobs = [(lambda p=p: hand_back(p),) for p in winners] + [(lambda p=p: claim_all(p),) for p in others]
    run_together(lambda f: f(), jobs)
    _counters_exact(batch)
    per_person = Counter(Claim.objects.filter(batch=batch, contractor__in=others,
                                              status__in=["active", "reserved", "submitted"])
                         .values_list("contractor_id", flat=True))
    assert per_person and max(per_person.values()) <= 6
    pairs = list(Claim.objects.filter(batch=batch).values_list("task_id", "contractor_id"))
    assert len(pairs) == len(set(pairs))


def test_reservations_and_claims_together_stay_within_the_projects_limit():
    batch, winners, drawn_at = _drawn(tasks=20, people=3, requested=3, max_active=4)
    elsewhere = factories.BatchFactory(project=batch.project)
    factories.make_tasks(elsewhere, 60)

    def greedy(person):
        for _ in range(6):
            try:
                task_claim_next(contractor=person, project=batch.project, now=drawn_at)
            except ClaimError as exc:
                assert exc.code == "active_claim_cap"

    run_together(greedy, [(p,) for p in winners for _ in range(3)])
    for person in winners:
        held = Claim.objects.filter(contractor=person, project=batch.project, status__in=["active", "reserved"])
        assert held.count() == 4, person


def test_two_relax_sweeps_at_once_take_the_step_once():
    project = factories.ProjectFactory(max_active_claims=50)
    batch = factories.BatchFactory(project=project, status=Batch.Status.DRAFT, released_at=None,
                                   release_policy=Batch.Policy.FAIR_SHARE)
    factories.make_tasks(batch, 12)
    people = factories.ContractorFactory.create_batch(4)
    released = timezone.now()
    batch_release(batch=batch, now=released)
    for person in people[:2]:
        while task_claim_next(contractor=person, project=project, now=released) is not None:
            pass
    results = run_together(lambda: fair_share_caps_relax(now=released + timedelta(hours=12)), [(), (), ()])
    assert sorted(results) == [0, 0, 1]
    batch.refresh_from_db()
    assert (batch.fair_share_step, batch.fair_share_cap) == (1, 6)  # 6 free for the 2 who asked, at 3 each


def test_demand_is_recorded_once_however_many_ask_at_once():
    project = factories.ProjectFactory(max_active_claims=50)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, 1)
    taker = factories.ContractorFactory()
    task_claim_next(contractor=taker, project=project)
    askers = factories.ContractorFactory.create_batch(5)
    results = run_together(lambda p: task_claim_next(contractor=p, project=project),
                           [(p,) for p in askers for _ in range(4)])
    assert results == [None] * 20
    assert sorted(BatchDemand.objects.filter(batch=batch).values_list("contractor_id", flat=True)) == sorted(
        p.pk for p in askers)


@pytest.mark.worker
def test_the_beat_tasks_relax_lapse_and_notify_through_a_real_worker(celery_worker_process):
    batch, (_sleepy, keen), _drawn_at = _drawn(tasks=6, people=2, requested=3, period=timedelta(hours=20))

    def drawn_ago(hours):
        past = timezone.now() - timedelta(hours=hours)
        Batch.objects.filter(pk=batch.pk).update(released_at=past, allocated_at=past,
                                                 fair_share_ends_at=past + timedelta(hours=24))
        Claim.objects.filter(batch=batch).update(claimed_at=past, reserved_until=past + timedelta(hours=20))

    drawn_ago(13)  # the first demand step (12 h) is due
    annotation_tasks.fair_share_caps_relax.delay()
    wait_for(lambda: Batch.objects.get(pk=batch.pk).fair_share_step == 1, timeout=60)

    drawn_ago(21)  # the reservations ended an hour ago; keen started one in time
    Claim.objects.filter(pk=Claim.objects.filter(batch=batch, contractor=keen).first().pk).update(
        status="active", opened_at=timezone.now(), deadline=timezone.now() + timedelta(hours=1))
    annotation_tasks.claims_expire_overdue.delay()
    annotation_tasks.claims_expire_overdue.delay()  # a repeat lapses nothing twice and tells nobody twice
    wait_for(lambda: Notification.objects.filter(kind="lottery_returned").count() == 2, timeout=60)
    assert Claim.objects.filter(batch=batch, status="lapsed").count() == 5
    batch.refresh_from_db()
    assert batch.fair_share_steps()[batch.fair_share_step].kind == "returned"
    _counters_exact(batch)
