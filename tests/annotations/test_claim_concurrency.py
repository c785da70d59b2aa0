"""The claim engine's invariants under real concurrency: threads, each with its own PostgreSQL connection."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotations.errors import ClaimError
from annotations.models import Claim, Submission
from annotations.services import claim_submit, task_claim_next
from annotations.services.release import batch_release, batches_release_due
from projects.models import Batch, Project, Task
from tests import factories
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = {"choice": "B", "strength": "slight", "reason": "B is a little clearer."}


def _assert_claim_counts_are_true():
    live = Count("claims", filter=Q(claims__status__in=["active", "submitted"]))
    done = Count("claims", filter=Q(claims__status="submitted"))
    for task in Task.objects.annotate(live=live, done=done):
        assert task.claim_count == task.live, task
        assert task.submitted_count == task.done, task
        assert task.live <= task.overlap, task


@pytest.mark.parametrize(
    ("overlap", "submit_as_they_go"),
    [(1, False), (3, False), (1, True), (3, True)],
    ids=["overlap1-hold", "overlap3-hold", "overlap1-submit", "overlap3-submit"],
)
def test_fifty_contractors_drain_two_hundred_tasks(overlap, submit_as_they_go):
    # Holding everything needs a high cap; submitting as they go works under a small one.
    project = factories.ProjectFactory(overlap=overlap, max_active_claims=2 if submit_as_they_go else 1000)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, 200)
    people = [factories.ContractorFactory() for _ in range(50)]

    def work(person):
        taken = []
        while True:
            claim = task_claim_next(contractor=person, project=project)
            if claim is None:
                return taken
            taken.append(claim.task_id)
            if submit_as_they_go:
                claim_submit(claim=claim, contractor=person, answer=ANSWER)

    results = run_together(work, [(p,) for p in people])

    handed_out = Counter(task_id for taken in results for task_id in taken)
    task_ids = set(Task.objects.filter(batch=batch).values_list("pk", flat=True))
    assert set(handed_out) == task_ids, "every task was claimed"
    assert set(handed_out.values()) == {overlap}, "every task exactly overlap times"
    for taken in results:
        assert len(taken) == len(set(taken)), "no contractor twice on a task"
    per_pair = Claim.objects.values("task", "contractor").annotate(n=Count("id")).filter(n__gt=1)
    assert not per_pair.exists()
    assert Claim.objects.filter(batch=batch).count() == 200 * overlap
    _assert_claim_counts_are_true()
    # Work was spread over many people, not grabbed by one.
    assert sum(1 for taken in results if taken) > 10

    batch.refresh_from_db()
    if submit_as_they_go:
        assert Submission.objects.filter(task__batch=batch).count() == 200 * overlap
        # The last submissions land at the same moment; one of them must see the batch finished.
        assert batch.status == Batch.Status.EXHAUSTED
    else:
        assert batch.status == Batch.Status.OPEN


def test_one_contractor_hammering_from_many_threads_never_exceeds_the_cap():
    project = factories.ProjectFactory(overlap=1, max_active_claims=3)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, 100)
    person = factories.ContractorFactory()

    def hammer():
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append(task_claim_next(contractor=person, project=project).task_id)
            except ClaimError as exc:
                outcomes.append(exc.code)
        return outcomes

    results = run_together(hammer, [() for _ in range(20)])
    outcomes = Counter(o for per_thread in results for o in per_thread)
    assert outcomes.pop("active_claim_cap") == 20 * 4 - 3
    assert sum(outcomes.values()) == 3
    assert Claim.objects.filter(contractor=person, status="active").count() == 3
    _assert_claim_counts_are_true()


def test_fair_share_cap_holds_under_concurrency():
    project = factories.ProjectFactory(overlap=2, max_active_claims=1000)
    batch = factories.BatchFactory(project=project, release_policy=Batch.Policy.FAIR_SHARE, fair_share_cap=5)
    factories.make_tasks(batch, 60)
    people = [factories.ContractorFactory() for _ in range(10)]

    def grab(person, submit):
        got = 0
        while (claim := task_claim_next(contractor=person, project=project)) is not None:
            got += 1
            if submit:
                claim_submit(claim=claim, contractor=person, answer=ANSWER)
        return got

    # Three threads per person, half of them submitting what they get: submitted claims use the share too.
    results = run_together(grab, [(p, i % 2 == 0) for p in people for i in range(3)])
    assert sum(results) == 10 * 5
    per_person = Claim.objects.filter(batch=batch).values("contractor").annotate(n=Count("id"))
    assert {row["n"] for row in per_person} == {5}
    assert Claim.objects.filter(batch=batch, status="submitted").exists()
    _assert_claim_counts_are_true()


def test_finishing_the_last_two_tasks_at_once_exhausts_the_batch():
    """Two submissions finishing a batch's last two tasks commit at the same moment: each checks
    for unfinished work, and the batch must still end up exhausted."""
    project = factories.ProjectFactory(overlap=1)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, 2)
    people = [factories.ContractorFactory() for _ in range(2)]
    claims = [task_claim_next(contractor=p, project=project) for p in people]
    first_submitted = threading.Event()
    second_started = threading.Event()

    def first():
        # Hold the transaction open after submitting, so the second submission runs meanwhile.
        with transaction.atomic():
            claim_submit(claim=claims[0], contractor=people[0], answer=ANSWER)
            first_submitted.set()
            second_started.wait(10)
            threading.Event().wait(0.5)

    def second():
        first_submitted.wait(10)
        second_started.set()
        claim_submit(claim=claims[1], contractor=people[1], answer=ANSWER)

    run_together(lambda role: role(), [(first,), (second,)])
    batch.refresh_from_db()
    assert batch.status == Batch.Status.EXHAUSTED
    assert Submission.objects.filter(task__batch=batch).count() == 2


def test_a_submission_never_waits_for_another_one_in_flight_on_the_same_batch():
    """Both submissions finish their task, so both look at the batch: neither holds a lock the other
    waits on (the second one is done while the first one's transaction is still open)."""
    project = factories.ProjectFactory(overlap=1)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, 3)
    people = [factories.ContractorFactory() for _ in range(2)]
    claims = [task_claim_next(contractor=p, project=project) for p in people]
    first_submitted, second_done = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            claim_submit(claim=claims[0], contractor=people[0], answer=ANSWER)
            first_submitted.set()
            return second_done.wait(10)  # still inside the transaction

    def second():
        first_submitted.wait(10)
        claim_submit(claim=claims[1], contractor=people[1], answer=ANSWER)
        second_done.set()

    saw_second_done, _ = run_together(lambda role: role(), [(first,), (second,)])
    assert saw_second_done, "the second submission waited for the first one's commit"
    batch.refresh_from_db()
    assert batch.status == Batch.Status.OPEN  # one task is left


def test_racing_submissions_of_a_batch_s_last_tasks_exhaust_it_exactly_once():
    from projects.models import WebhookDelivery
    from projects.services import webhook_create

    for _round in range(4):
        project = factories.ProjectFactory(overlap=1)
        webhook_create(project=project, url="https://hooks.example.com/exhausted", events=["batch.exhausted"])
        batch = factories.BatchFactory(project=project)
        factories.make_tasks(batch, 6)
        people = [factories.ContractorFactory() for _ in range(6)]
        claims = [task_claim_next(contractor=p, project=project) for p in people]
        run_together(lambda claim, person: claim_submit(claim=claim, contractor=person, answer=ANSWER),
                     list(zip(claims, people, strict=True)))
        batch.refresh_from_db()
        assert batch.status == Batch.Status.EXHAUSTED
        assert WebhookDelivery.objects.filter(webhook__project=project, event="batch.exhausted").count() == 1


def test_two_concurrent_releases_open_the_batch_once():
    for _round in range(5):
        batch = factories.BatchFactory(status=Batch.Status.SCHEDULED, released_at=None,
                                       release_at=timezone.now() + timedelta(hours=1))
        factories.make_tasks(batch, 3)

        def release(batch_id=batch.pk):
            return batch_release(batch=Batch.objects.get(pk=batch_id))

        results = run_together(release, [(), ()])
        assert sorted(results) == [False, True]
        batch.refresh_from_db()
        assert batch.status == Batch.Status.OPEN
        assert batch.released_at is not None


def test_two_concurrent_due_sweeps_open_each_batch_once():
    now = timezone.now()
    project = factories.ProjectFactory(status=Project.Status.ACTIVE)
    due = []
    for minutes in range(8):
        batch = factories.BatchFactory(project=project, status=Batch.Status.SCHEDULED, released_at=None,
                                       release_at=now - timedelta(minutes=minutes))
        factories.make_tasks(batch, 1)
        due.append(batch.pk)
    later = factories.BatchFactory(project=project, status=Batch.Status.SCHEDULED, released_at=None,
                                   release_at=now + timedelta(hours=1))

    results = run_together(lambda: batches_release_due(now=now), [() for _ in range(2)])
    opened = [batch_id for ids in results for batch_id in ids]
    assert sorted(opened) == sorted(due), "each due batch opened by exactly one sweep"
    assert set(Batch.objects.filter(pk__in=due).values_list("status", flat=True)) == {Batch.Status.OPEN}
    later.refresh_from_db()
    assert later.status == Batch.Status.SCHEDULED
    assert batches_release_due(now=now) == []
