"""The check every finishing submit makes, "is any task of the batch unfinished?", reads the batch's
unfinished tasks through task_unfinished_idx, never the finished ones (projects/sql/batch_progress.sql)."""

import json

import pytest
from django.db import connection

from projects.models import Task
from projects.services import batch_mark_exhausted_if_done
from tests import factories

pytestmark = pytest.mark.django_db


def _buffers_read(batch_id: int) -> tuple[bool, int]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT projects_batch_has_unfinished_task(%s)",
                       [batch_id])
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        cursor.execute("SELECT projects_batch_has_unfinished_task(%s)", [batch_id])
        answer = cursor.fetchone()[0]
    top = plan[0]["Plan"]
    return answer, top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)


@pytest.mark.parametrize("finished", [500, 4000])
def test_the_check_reads_the_same_few_pages_however_many_tasks_are_finished_before_it(finished):
    project = factories.ProjectFactory(overlap=1)
    old, current = factories.BatchFactory(project=project), factories.BatchFactory(project=project)
    # An older batch, all done, stored first; then the current batch, its first tasks done too.
    done = {"claim_count": 1, "submitted_count": 1}
    factories.make_tasks(old, finished, **done)
    factories.make_tasks(current, finished, **done)
    Task.objects.bulk_create(Task(batch=current, project=project, external_id=f"open-{i}", payload={"prompt": "p"},
                                  overlap=1) for i in range(3))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_task")
    _buffers_read(current.pk)  # the function's own catalogue lookups, once per session

    has_unfinished, blocks = _buffers_read(current.pk)
    assert has_unfinished is True
    # A scan in physical order would read every page of the finished tasks (hundreds at 4,000 tasks).
    assert blocks <= 8, blocks

    Task.objects.filter(batch=current).update(claim_count=1, submitted_count=1)
    assert _buffers_read(current.pk)[0] is False
    assert batch_mark_exhausted_if_done(batch_id=current.pk) is True
    current.refresh_from_db()
    assert current.status == current.Status.EXHAUSTED
