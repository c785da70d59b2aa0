"""Batch life cycle: draft → scheduled → open → exhausted → closed, each step once and only from where it may."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from annotations.tasks import batches_release_due as release_due_task
from projects.errors import BatchStateError
from projects.models import Batch
from projects.services import (
    batch_close,
    batch_mark_exhausted_if_done,
    batch_open,
    batch_schedule,
    batch_unschedule,
    batches_exhaust_finished,
    batches_open_due,
)
from tests import factories
from tests.conftest import wait_for

S = Batch.Status
CLOSE_REASON = "The client withdrew these prompts; nothing more is needed."


def _batch(status=S.DRAFT, tasks=2, **fields) -> Batch:
    batch = factories.BatchFactory(status=status, released_at=None, **fields)
    if tasks:
        factories.make_tasks(batch, tasks)
    return batch


def _later(hours: float = 0) -> datetime:
    return timezone.now() + settings.TASKHUB_RELEASE_MIN_NOTICE + timedelta(hours=1 + hours)


def _stored(batch: Batch) -> Batch:
    return Batch.objects.get(pk=batch.pk)


@pytest.mark.django_db
class TestSchedule:
    def test_a_draft_batch_is_scheduled_and_can_be_moved(self, admin_user):
        batch = _batch()
        release_at = _later()
        batch_schedule(batch=batch, release_at=release_at, scheduled_by=admin_user)
        assert (_stored(batch).status, _stored(batch).release_at) == (S.SCHEDULED, release_at)

        moved = _later(hours=5)
        batch_schedule(batch=batch, release_at=moved, scheduled_by=admin_user)
        assert _stored(batch).release_at == moved

    def test_a_release_time_in_the_past_is_refused(self, admin_user):
        batch = _batch()
        with pytest.raises(BatchStateError) as excinfo:
            batch_schedule(batch=batch, release_at=timezone.now() - timedelta(minutes=1), scheduled_by=admin_user)
        assert excinfo.value.field == "release_at"
        assert "future" in excinfo.value.message
        assert (_stored(batch).status, _stored(batch).release_at) == (S.DRAFT, None)

    def test_a_batch_without_tasks_cannot_be_scheduled(self, admin_user):
        batch = _batch(tasks=0)
        with pytest.raises(BatchStateError) as excinfo:
            batch_schedule(batch=batch, release_at=_later(), scheduled_by=admin_user)
        assert "tasks" in excinfo.value.message
        assert _stored(batch).status == S.DRAFT

    def test_a_fair_share_cap_below_one_is_refused(self, admin_user):
        batch = _batch(release_policy=Batch.Policy.FAIR_SHARE)
        batch.fair_share_cap = 0
        with pytest.raises(BatchStateError) as excinfo:
            batch_schedule(batch=batch, release_at=_later(), scheduled_by=admin_user)
        assert excinfo.value.field == "fair_share_cap"
        with pytest.raises(BatchStateError):
            batch_open(batch=batch)
        assert _stored(batch).status == S.DRAFT

    @pytest.mark.parametrize("status", [S.OPEN, S.EXHAUSTED, S.CLOSED])
    def test_only_draft_or_scheduled_batches_can_be_scheduled(self, admin_user, status):
        batch = _batch(status=status)
        with pytest.raises(BatchStateError) as excinfo:
            batch_schedule(batch=batch, release_at=_later(), scheduled_by=admin_user)
        assert status in excinfo.value.message.lower()
        assert (_stored(batch).status, _stored(batch).release_at) == (status, None)

    def test_unschedule_takes_a_scheduled_batch_back_to_draft(self, admin_user):
        batch = _batch()
        batch_schedule(batch=batch, release_at=_later(), scheduled_by=admin_user)
        batch_unschedule(batch=batch)
        assert (_stored(batch).status, _stored(batch).release_at) == (S.DRAFT, None)
        with pytest.raises(BatchStateError):
            batch_unschedule(batch=batch)
        # An unscheduled batch is not released by the due sweep.
        assert batches_open_due(now=timezone.now() + timedelta(days=30)) == []
        assert _stored(batch).status == S.DRAFT

    def test_an_open_batch_cannot_be_unscheduled(self):
        batch = _batch(status=S.OPEN)
        with pytest.raises(BatchStateError):
            batch_unschedule(batch=batch)
        assert _stored(batch).status == S.OPEN


@pytest.mark.django_db
class TestReleaseAndClose:
    @pytest.mark.parametrize("status", [S.DRAFT, S.SCHEDULED])
    def test_release_opens_a_draft_or_scheduled_batch_once(self, status):
        batch = _batch(status=status)
        assert batch_open(batch=batch) is True
        stored = _stored(batch)
        assert stored.status == S.OPEN
        assert stored.released_at is not None
        assert batch_open(batch=_stored(batch)) is False
        assert _stored(batch).released_at == stored.released_at

    def test_a_batch_without_tasks_cannot_be_released(self):
        batch = _batch(tasks=0)
        with pytest.raises(BatchStateError):
            batch_open(batch=batch)
        assert _stored(batch).status == S.DRAFT

    @pytest.mark.parametrize("status", [S.DRAFT, S.SCHEDULED, S.OPEN, S.EXHAUSTED])
    def test_close_from_any_state_and_never_twice(self, status):
        batch = _batch(status=status)
        admin = factories.AdminFactory()
        batch_close(batch=batch, by=admin, reason=CLOSE_REASON)
        stored = _stored(batch)
        assert stored.status == S.CLOSED
        assert stored.closed_at is not None
        with pytest.raises(BatchStateError) as excinfo:
            batch_close(batch=_stored(batch), by=admin, reason=CLOSE_REASON)
        assert "already closed" in excinfo.value.message
        assert _stored(batch).closed_at == stored.closed_at
        assert batch_open(batch=_stored(batch)) is False

    def test_exhausted_only_when_every_task_has_its_submissions(self):
        batch = _batch(status=S.OPEN, tasks=0)
        factories.make_tasks(batch, 2, submitted_count=1, claim_count=1)
        factories.TaskFactory(batch=batch, overlap=1)
        assert batch_mark_exhausted_if_done(batch_id=batch.pk) is False
        batch.tasks.update(claim_count=1, submitted_count=1)
        assert batch_mark_exhausted_if_done(batch_id=batch.pk) is True
        assert _stored(batch).status == S.EXHAUSTED
        assert batch_mark_exhausted_if_done(batch_id=batch.pk) is False

    def test_beat_marks_a_finished_batch_whose_last_submitter_died_before_checking(self):
        finished = _batch(status=S.OPEN, tasks=0)
        factories.make_tasks(finished, 2, submitted_count=1, claim_count=1)
        working = _batch(status=S.OPEN, tasks=0)
        factories.make_tasks(working, 1, submitted_count=1, claim_count=1)
        factories.TaskFactory(batch=working, project=working.project, overlap=1)
        assert batches_exhaust_finished() == [finished.pk]
        assert _stored(finished).status == S.EXHAUSTED and _stored(working).status == S.OPEN
        assert batches_exhaust_finished() == []
        assert settings.CELERY_BEAT_SCHEDULE["exhaust-finished-batches"]["task"] == (
            "projects.tasks.batches_exhaust_finished")

    def test_a_closed_batch_is_never_marked_exhausted(self):
        batch = _batch(status=S.CLOSED, tasks=0)
        factories.make_tasks(batch, 1, submitted_count=1, claim_count=1)
        assert batch_mark_exhausted_if_done(batch_id=batch.pk) is False
        assert _stored(batch).status == S.CLOSED


@pytest.mark.django_db
def test_due_sweep_opens_only_scheduled_batches_whose_time_has_come():
    now = timezone.now()
    due = _batch(status=S.SCHEDULED, release_at=now - timedelta(minutes=2))
    exactly_now = _batch(status=S.SCHEDULED, release_at=now)
    future = _batch(status=S.SCHEDULED, release_at=now + timedelta(microseconds=1))
    draft = _batch(status=S.DRAFT, release_at=now - timedelta(hours=1))
    closed = _batch(status=S.CLOSED, release_at=now - timedelta(hours=1))

    assert sorted(batches_open_due(now=now)) == sorted([due.pk, exactly_now.pk])
    assert _stored(due).status == S.OPEN
    assert _stored(due).released_at == now
    assert _stored(exactly_now).status == S.OPEN
    assert [_stored(b).status for b in (future, draft, closed)] == [S.SCHEDULED, S.DRAFT, S.CLOSED]
    # A repeat (at-least-once delivery) changes nothing.
    assert batches_open_due(now=now) == []
    assert _stored(due).released_at == now


@pytest.mark.worker
def test_the_beat_task_opens_a_due_batch_through_a_real_worker(celery_worker_process):
    due = _batch(status=S.SCHEDULED, release_at=timezone.now() - timedelta(seconds=5))
    later = _batch(status=S.SCHEDULED, release_at=timezone.now() + timedelta(hours=2))

    release_due_task.delay()
    wait_for(lambda: _stored(due).status == S.OPEN, timeout=30)
    # Delivered twice (a second beat tick, a redelivery): still opened once, the other untouched.
    first_release = _stored(due).released_at
    release_due_task.delay()
    release_due_task.delay()
    marker = _batch(status=S.SCHEDULED, release_at=timezone.now() - timedelta(seconds=1))
    release_due_task.delay()
    wait_for(lambda: _stored(marker).status == S.OPEN, timeout=30)
    assert _stored(due).released_at == first_release
    assert _stored(later).status == S.SCHEDULED
