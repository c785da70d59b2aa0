"""The lottery and fair share under real concurrency (threads with their own connections, and a
real Celery worker process)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from annotations import tasks as annotation_tasks
from annotations.errors import LotteryError
from annotations.models import Claim, LotteryAllocation, LotteryEntry
from annotations.services import lottery, task_claim_next
from annotations.services.release import batch_release
from projects.models import Batch, Task
from tests import factories
from tests.concurrency import run_together
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
