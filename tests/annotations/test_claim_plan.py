"""The claim's plan cannot go wrong: on a freshly imported batch, before any ANALYZE has seen it (and
with statistics taken when the table was nearly empty, as after a first deployment), the claim
statement reads the batch's free tasks through one ordered index scan that stops at the first one:
no Sort, and as many rows examined for a batch of 2,000 tasks as for one of 100."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotations.services import claims, task_claim_next
from projects.models import Task
from projects.services import imports
from tests import factories

pytestmark = pytest.mark.django_db

SORTS = {"Sort", "Incremental Sort"}


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _fresh_batch(project, size: int):
    """A batch whose tasks were written by COPY just now, as an import writes them, and never analyzed."""
    batch = factories.BatchFactory(project=project)
    now = timezone.now().isoformat()
    rows = "".join(f"{batch.pk}\t{project.pk}\t1\t0\t0\t{now}\tt-{i}\t{{\"prompt\": \"p\"}}\t\\N\t\\N\n"
                   for i in range(size))
    with connection.cursor() as cursor, cursor.copy(f"COPY projects_task ({imports.COPY_COLUMNS}) FROM STDIN") as copy:
        copy.write(rows)
    return batch


def _claim_plan(project, contractor, generic: bool) -> dict:
    """The executed plan of the prepared claim statement, as task_claim_next runs it (same settings)."""
    now = timezone.now()
    params = {"contractor_lock": claims.CLAIM_LOCK_NAMESPACE, "project_lock": claims.PROJECT_CLAIMS_LOCK_NAMESPACE,
              "project": project.pk, "contractor": contractor.pk, "max_active": project.max_active_claims,
              "now": now, "deadline": now + timedelta(hours=1)}
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT plan")
        try:
            cursor.execute(f"SET LOCAL plan_cache_mode = {'force_generic_plan' if generic else 'force_custom_plan'}")
            cursor.execute(claims._LOCKS_SQL, params)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + claims._CLAIM.execute_sql, params)
            (explained,) = cursor.fetchone()
        finally:
            cursor.execute("ROLLBACK TO SAVEPOINT plan")
    return explained[0]["Plan"]


def _examined(plan: dict) -> list[tuple[str, float]]:
    """Per scan of projects_task: (node, rows it looked at per loop: returned plus filtered out)."""
    return [(node["Node Type"] + " " + node.get("Index Name", ""),
             node["Actual Rows"] + node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0))
            for node in _nodes(plan) if node.get("Relation Name") == "projects_task" and "Scan" in node["Node Type"]]


@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
def test_a_fresh_batch_is_claimed_by_one_index_scan_that_stops_at_the_first_free_task(generic):
    project = factories.ProjectFactory(overlap=1, max_active_claims=5)
    contractor = factories.ContractorFactory()
    # Statistics from when the table held next to nothing (the planner then expects a handful of rows).
    factories.make_tasks(factories.BatchFactory(project=factories.ProjectFactory()), 3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_task")
    task_claim_next(contractor=contractor, project=project)  # prepares the statement on this connection

    examined = {}
    for size in (100, 2_000):
        batch = _fresh_batch(project, size)
        plan = _claim_plan(project, contractor, generic)
        found = {node["Node Type"] for node in _nodes(plan)}
        assert not found & SORTS, f"a sort in the claim's plan for {size} tasks: {found}"
        scans = _examined(plan)
        assert any("task_claimable_in_batch_idx" in name for name, _ in scans), scans
        examined[size] = sum(rows for _, rows in scans)
        batch.status = "closed"
        batch.save(update_fields=["status"])
    # One task picked (and the one row the claim updates by its key), however large the batch.
    assert examined[100] == examined[2_000] <= 2, examined


def test_a_claim_from_the_fresh_batch_is_its_first_free_task():
    project = factories.ProjectFactory(overlap=1, max_active_claims=5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_task")
    batch = _fresh_batch(project, 500)
    batch.status = "open"
    batch.save(update_fields=["status"])
    first = Task.objects.filter(batch=batch).order_by("id").values_list("id", flat=True)[:2]
    people = factories.ContractorFactory.create_batch(2)
    assert [task_claim_next(contractor=p, project=project).task_id for p in people] == list(first)


def test_an_import_refreshes_the_statistics_of_what_it_wrote(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    from django.core.files import File

    from projects.services import task_import_create, task_import_run

    project = factories.ProjectFactory(task_type="pairwise")
    batch = factories.BatchFactory(project=project, status="draft")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_task")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'projects_task'")
        (before,) = cursor.fetchone()
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(
        f'{{"external_id": "e-{i}", "payload": {{"prompt": "p{i}", "response_a": "a", "response_b": "b"}}}}\n'
        for i in range(3_000)))
    with path.open("rb") as handle:
        task_import = task_import_create(batch=batch, uploaded_file=File(handle, name="tasks.jsonl"), enqueue=False)
    assert task_import_run(task_import_id=task_import.pk).status == "done"
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'projects_task'")
        (after,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'projects_task' "
                       "AND attname IN ('batch_id', 'claim_count', 'submitted_count', 'overlap')")
        (columns,) = cursor.fetchone()
    assert after >= before + 3_000
    assert columns == 4
