"""The data migrations of issue 14 (annotations 0008, projects 0010): existing lottery claims become
reservations, lapses and opened wins; lottery entries become demand; open batches get the end of
their cap; and going back gives the old shapes again."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from annotations.models import BatchDemand, Claim
from tests import factories

BEFORE = [("annotations", "0007_exports_and_final_labels"), ("projects", "0009_taskimport_creates_its_batch")]


def _migrate(targets) -> None:
    MigrationExecutor(connection).migrate(targets)


def _sql(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else None


def _claim(task, person, batch, status, claimed_at, deadline, active_seconds=0, finished_at=None):
    (claim_id,), = _sql(
        """INSERT INTO annotations_claim (task_id, contractor_id, project_id, batch_id, status, claimed_at, deadline,
                                          active_seconds, finished_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        [task.pk, person.pk, batch.project_id, batch.pk, status, claimed_at, deadline, active_seconds, finished_at])
    return claim_id


@pytest.mark.django_db(transaction=True)
def test_existing_lottery_claims_and_batches_migrate_and_go_back():
    latest = MigrationLoader(connection).graph.leaf_nodes()
    project = factories.ProjectFactory(claim_minutes=30)
    drawn_at = timezone.now() - timedelta(hours=2)
    lottery_batch = factories.BatchFactory(project=project, release_policy="lottery", released_at=drawn_at)
    fair = factories.BatchFactory(project=project, release_policy="fair_share", released_at=drawn_at)
    tasks = factories.make_tasks(lottery_batch, 5)
    fair_task = factories.make_tasks(fair, 1)[0]
    a, b, c = factories.ContractorFactory.create_batch(3)
    try:
        _migrate(BEFORE)
        _sql("UPDATE projects_batch SET allocated_at = %s, lottery_seed = 1 WHERE id = %s",
             [drawn_at, lottery_batch.pk])
        waiting = _claim(tasks[0], a, lottery_batch, "active", drawn_at, drawn_at + timedelta(hours=3))
        worked = _claim(tasks[1], a, lottery_batch, "active", drawn_at, drawn_at + timedelta(hours=3),
                        active_seconds=120)
        _sql("UPDATE annotations_claim SET last_heartbeat_at = %s WHERE id = %s",
             [drawn_at + timedelta(hours=1), worked])
        lapsed = _claim(tasks[2], b, lottery_batch, "expired", drawn_at, drawn_at + timedelta(minutes=30),
                        finished_at=drawn_at + timedelta(minutes=31))
        submitted = _claim(tasks[3], b, lottery_batch, "submitted", drawn_at, drawn_at + timedelta(minutes=60),
                           active_seconds=300, finished_at=drawn_at + timedelta(minutes=40))
        claimed = _claim(tasks[4], c, lottery_batch, "active", drawn_at + timedelta(minutes=5),
                         drawn_at + timedelta(minutes=35))
        plain = _claim(fair_task, c, fair, "active", drawn_at, drawn_at + timedelta(minutes=30))
        _sql("""INSERT INTO annotations_lotteryentry (batch_id, contractor_id, requested, quota, allocated,
                                                      created_at, updated_at)
                VALUES (%s, %s, 2, 2, 2, %s, %s), (%s, %s, 2, 2, 2, %s, %s)""",
             [lottery_batch.pk, a.pk, drawn_at - timedelta(hours=5), drawn_at,
              lottery_batch.pk, b.pk, drawn_at - timedelta(hours=4), drawn_at])

        _migrate(latest)
        rows = {c.pk: c for c in Claim.objects.all()}
        assert (rows[waiting].status, rows[waiting].source, rows[waiting].deadline) == ("reserved", "draw", None)
        assert rows[waiting].reserved_until == drawn_at + timedelta(hours=24)  # later than its old deadline
        assert (rows[worked].status, rows[worked].opened_at) == ("active", drawn_at + timedelta(minutes=58))
        assert (rows[lapsed].status, rows[lapsed].opened_at) == ("lapsed", None)
        assert (rows[submitted].status, rows[submitted].opened_at) == ("submitted", drawn_at + timedelta(minutes=35))
        assert (rows[claimed].source, rows[claimed].status) == ("claim", "active")
        assert (rows[plain].source, rows[plain].status) == ("claim", "active")
        assert sorted(BatchDemand.objects.values_list("contractor_id", "reason", "recorded_at")) == sorted([
            (a.pk, "opted_in", drawn_at - timedelta(hours=5)), (b.pk, "opted_in", drawn_at - timedelta(hours=4))])
        ends = dict(_sql("SELECT id, fair_share_ends_at FROM projects_batch WHERE id IN (%s, %s)",
                         [lottery_batch.pk, fair.pk]))
        assert ends == {fair.pk: drawn_at + timedelta(hours=24), lottery_batch.pk: drawn_at + timedelta(hours=28)}

        _migrate(BEFORE)
        back = dict(_sql("SELECT id, status || ' ' || deadline::text FROM annotations_claim "
                         "WHERE id IN (%s, %s)", [waiting, lapsed]))
        assert back[waiting].startswith("active ") and back[lapsed].startswith("expired ")
        assert _sql("SELECT deadline FROM annotations_claim WHERE id = %s", [waiting]) == [
            (drawn_at + timedelta(hours=24),)]
        assert _sql("SELECT count(*) FROM annotations_claim WHERE deadline IS NULL") == [(0,)]
    finally:
        _migrate(latest)
