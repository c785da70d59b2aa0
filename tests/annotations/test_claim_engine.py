"""The claim engine, rule by rule: who may claim what, release, expiry, submission and exhaustion."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.errors import ClaimError, NotQualified, ProjectClosed
from annotations.models import Claim, Submission
from annotations.services import claim_release, claim_submit, claims, claims_expire_overdue, task_claim_next
from projects.models import Batch, Project, Task
from projects.services import qualification_grant
from projects.task_types import InvalidData
from tests import factories

pytestmark = pytest.mark.django_db

ANSWER = {"choice": "A", "strength": "clear", "reason": "A answers the question."}


@pytest.fixture
def project(db):
    return factories.ProjectFactory(overlap=1, max_active_claims=3, claim_minutes=30)


@pytest.fixture
def batch(project):
    return factories.BatchFactory(project=project)


def _claimed(task: Task) -> int:
    """Reserved, active and submitted claims as stored, to compare with the task's counter."""
    return Claim.objects.filter(task=task).filter(Q(status="active") | Q(status="submitted")
                                                  | Q(status="reserved")).count()


def _assert_counters_true():
    for task in Task.objects.all():
        assert task.claim_count == _claimed(task), task
        assert task.submitted_count == Claim.objects.filter(task=task, status="submitted").count(), task


# --- handing out ----------------------------------------------------------------------------


def test_claim_holds_the_first_open_task_with_the_projects_deadline(project, batch, contractor):
    tasks = factories.make_tasks(batch, 3)
    now = timezone.now()
    claim = task_claim_next(contractor=contractor, project=project, now=now)

    assert claim.task_id == tasks[0].pk
    assert claim.deadline == now + timedelta(minutes=30)
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.status, stored.contractor, stored.project, stored.batch) == ("active", contractor, project, batch)
    assert stored.deadline == now + timedelta(minutes=30)
    # The returned claim behaves like a loaded row (later saves update it rather than insert a copy).
    assert claim._state.adding is False
    assert claim.task == tasks[0]
    tasks[0].refresh_from_db()
    assert tasks[0].claim_count == 1

    second = task_claim_next(contractor=contractor, project=project, now=now)
    assert second.task_id == tasks[1].pk
    _assert_counters_true()


def test_tasks_of_other_projects_are_never_handed_out(project, batch, contractor):
    other = factories.BatchFactory()
    factories.make_tasks(other, 2)
    assert task_claim_next(contractor=contractor, project=project) is None
    assert not Claim.objects.exists()


def test_nothing_left_is_none_not_an_error(project, batch, contractor):
    factories.make_tasks(batch, 1)
    first = factories.ContractorFactory()
    assert task_claim_next(contractor=first, project=project) is not None
    assert task_claim_next(contractor=contractor, project=project) is None
    assert Claim.objects.filter(contractor=contractor).count() == 0


@pytest.mark.parametrize("status", [Batch.Status.DRAFT, Batch.Status.SCHEDULED, Batch.Status.EXHAUSTED,
                                    Batch.Status.CLOSED])
def test_only_open_batches_hand_out_tasks(project, contractor, status):
    closed = factories.BatchFactory(project=project, status=status)
    factories.make_tasks(closed, 2)
    assert task_claim_next(contractor=contractor, project=project) is None
    opened = factories.BatchFactory(project=project)
    task = factories.make_tasks(opened, 1)[0]
    assert task_claim_next(contractor=contractor, project=project).task_id == task.pk


@pytest.mark.parametrize("status", [Project.Status.DRAFT, Project.Status.PAUSED, Project.Status.ARCHIVED])
def test_a_project_that_is_not_active_refuses_claims(project, batch, contractor, status):
    factories.make_tasks(batch, 1)
    project.status = status
    project.save(update_fields=["status"])
    with pytest.raises(ProjectClosed) as excinfo:
        task_claim_next(contractor=contractor, project=project)
    assert project.name in excinfo.value.message
    assert excinfo.value.status == 400
    assert not Claim.objects.exists()


def test_only_contractors_claim(project, batch, lead, admin_user):
    factories.make_tasks(batch, 1)
    for person in (lead, admin_user):
        with pytest.raises(NotQualified):
            task_claim_next(contractor=person, project=project)
    assert not Claim.objects.exists()


def test_qualification_required_then_passed(batch, contractor):
    onboarding = factories.ProjectFactory(is_onboarding=True, name="Pairwise basics")
    project = batch.project
    project.qualification = onboarding
    project.save(update_fields=["qualification"])
    factories.make_tasks(batch, 1)

    with pytest.raises(NotQualified) as excinfo:
        task_claim_next(contractor=contractor, project=project)
    assert "Pairwise basics" in excinfo.value.message
    assert excinfo.value.status == 403
    assert not Claim.objects.exists()

    # Passing a different onboarding project does not count.
    qualification_grant(contractor=contractor, project=factories.ProjectFactory(is_onboarding=True))
    with pytest.raises(NotQualified):
        task_claim_next(contractor=contractor, project=project)

    qualification_grant(contractor=contractor, project=onboarding)
    assert task_claim_next(contractor=contractor, project=project) is not None


# --- caps -----------------------------------------------------------------------------------


def test_active_claim_cap_per_project(project, batch, contractor):
    project.max_active_claims = 2
    project.save(update_fields=["max_active_claims"])
    factories.make_tasks(batch, 5)
    other_batch = factories.BatchFactory()
    factories.make_tasks(other_batch, 1)
    # A claim held on another project does not count against this one.
    assert task_claim_next(contractor=contractor, project=other_batch.project) is not None

    first = task_claim_next(contractor=contractor, project=project)
    task_claim_next(contractor=contractor, project=project)
    with pytest.raises(ClaimError) as excinfo:
        task_claim_next(contractor=contractor, project=project)
    assert excinfo.value.code == "active_claim_cap"
    assert "2 task(s)" in excinfo.value.message
    assert Claim.objects.filter(contractor=contractor, project=project).count() == 2

    # Submitted claims are no longer held: the cap frees up.
    claim_submit(claim=Claim.objects.get(pk=first.pk), contractor=contractor, answer=ANSWER)
    assert task_claim_next(contractor=contractor, project=project) is not None
    assert Claim.objects.filter(contractor=contractor, project=project, status="active").count() == 2


def test_fair_share_cap_counts_active_and_submitted_claims(project, contractor):
    fair = factories.BatchFactory(project=project, release_policy=Batch.Policy.FAIR_SHARE, fair_share_cap=2)
    factories.make_tasks(fair, 6)

    first = task_claim_next(contractor=contractor, project=project)
    claim_submit(claim=Claim.objects.get(pk=first.pk), contractor=contractor, answer=ANSWER)
    second = task_claim_next(contractor=contractor, project=project)
    assert second.batch_id == fair.pk
    # One submitted plus one active: the share is used up although four tasks are left.
    assert task_claim_next(contractor=contractor, project=project) is None
    # Someone else still gets their share.
    assert task_claim_next(contractor=factories.ContractorFactory(), project=project) is not None

    # A released claim gives the share back.
    claim_release(claim=Claim.objects.get(pk=second.pk), contractor=contractor)
    third = task_claim_next(contractor=contractor, project=project)
    assert third is not None and third.task_id != second.task_id
    assert task_claim_next(contractor=contractor, project=project) is None

    # The cap is per batch: a first-come batch of the same project still hands out work.
    open_batch = factories.BatchFactory(project=project)
    factories.make_tasks(open_batch, 1)
    assert task_claim_next(contractor=contractor, project=project).batch_id == open_batch.pk


# --- never twice, release -------------------------------------------------------------------


def test_never_the_same_contractor_twice_on_a_task_even_after_releasing(contractor):
    project = factories.ProjectFactory(overlap=3)
    batch = factories.BatchFactory(project=project)
    task = factories.make_tasks(batch, 1)[0]

    claim = task_claim_next(contractor=contractor, project=project)
    claim_release(claim=claim, contractor=contractor)
    assert task_claim_next(contractor=contractor, project=project) is None

    others = [factories.ContractorFactory() for _ in range(3)]
    assert [task_claim_next(contractor=p, project=project).task_id for p in others] == [task.pk] * 3
    task.refresh_from_db()
    assert task.claim_count == 3
    assert Claim.objects.filter(task=task, contractor=contractor).count() == 1


def test_release_returns_the_task_to_the_pool(project, batch, contractor):
    task = factories.make_tasks(batch, 1)[0]
    claim = task_claim_next(contractor=contractor, project=project)
    claim_release(claim=claim, contractor=contractor)

    stored = Claim.objects.get(pk=claim.pk)
    assert stored.status == "released"
    assert stored.finished_at is not None
    task.refresh_from_db()
    assert task.claim_count == 0
    other = factories.ContractorFactory()
    assert task_claim_next(contractor=other, project=project).task_id == task.pk
    _assert_counters_true()


def test_release_refusals_change_nothing(project, batch, contractor):
    task = factories.make_tasks(batch, 1)[0]
    claim = task_claim_next(contractor=contractor, project=project)

    with pytest.raises(NotQualified):
        claim_release(claim=claim, contractor=factories.ContractorFactory())
    assert Claim.objects.get(pk=claim.pk).status == "active"

    claim_release(claim=claim, contractor=contractor)
    with pytest.raises(ClaimError) as excinfo:
        claim_release(claim=claim, contractor=contractor)
    assert excinfo.value.code == "claim_not_active"
    assert "released" in excinfo.value.message
    task.refresh_from_db()
    assert task.claim_count == 0


# --- expiry ---------------------------------------------------------------------------------


def test_expiry_sweep_returns_overdue_tasks_and_is_idempotent(project, batch, contractor):
    tasks = factories.make_tasks(batch, 3)
    now = timezone.now()
    overdue = [task_claim_next(contractor=contractor, project=project, now=now - timedelta(minutes=45))
               for _ in range(2)]
    fresh = task_claim_next(contractor=contractor, project=project, now=now)

    assert claims_expire_overdue(now=now) == 2
    assert set(Claim.objects.filter(status="expired").values_list("pk", flat=True)) == {c.pk for c in overdue}
    assert Claim.objects.get(pk=fresh.pk).status == "active"
    assert [t.claim_count for t in Task.objects.order_by("pk")] == [0, 0, 1]

    assert claims_expire_overdue(now=now) == 0
    assert [t.claim_count for t in Task.objects.order_by("pk")] == [0, 0, 1]
    _assert_counters_true()

    # The expired tasks go to someone else, never back to the same person.
    other = factories.ContractorFactory()
    assert task_claim_next(contractor=other, project=project).task_id == tasks[0].pk
    assert task_claim_next(contractor=contractor, project=project) is None


def test_a_claim_expires_exactly_at_its_deadline(project, batch, contractor):
    factories.make_tasks(batch, 1)
    claim = task_claim_next(contractor=contractor, project=project)
    assert claims_expire_overdue(now=claim.deadline - timedelta(microseconds=1)) == 0
    assert claims_expire_overdue(now=claim.deadline) == 1


# --- submitting -----------------------------------------------------------------------------


def test_submit_stores_the_cleaned_answer_and_counts_it(project, batch, contractor):
    task = factories.make_tasks(batch, 2)[0]
    claim = task_claim_next(contractor=contractor, project=project)
    submission = claim_submit(claim=Claim.objects.get(pk=claim.pk), contractor=contractor,
                              answer={**ANSWER, "reason": "  A answers the question.  "})

    stored = Submission.objects.get(pk=submission.pk)
    assert stored.answer == ANSWER
    assert (stored.claim_id, stored.task_id, stored.contractor, stored.project) == (claim.pk, task.pk, contractor,
                                                                                    project)
    assert Claim.objects.get(pk=claim.pk).status == "submitted"
    task.refresh_from_db()
    assert (task.claim_count, task.submitted_count) == (1, 1)
    batch.refresh_from_db()
    assert batch.status == "open"


def _snapshot():
    return (
        list(Claim.objects.order_by("pk").values_list("pk", "status", "finished_at")),
        list(Task.objects.order_by("pk").values_list("pk", "claim_count", "submitted_count")),
        Submission.objects.count(),
    )


def test_an_invalid_answer_is_refused_with_field_errors_and_nothing_saved(project, batch, contractor):
    factories.make_tasks(batch, 1)
    claim = Claim.objects.get(pk=task_claim_next(contractor=contractor, project=project).pk)
    before = _snapshot()
    with pytest.raises(InvalidData) as excinfo:
        claim_submit(claim=claim, contractor=contractor, answer={"choice": "maybe", "strength": "clear"})
    assert {e["field"] for e in excinfo.value.errors} == {"choice", "reason"}
    assert _snapshot() == before


def test_submitting_an_expired_claim_is_refused_clearly_and_changes_nothing(project, batch, contractor):
    factories.make_tasks(batch, 2)
    now = timezone.now()
    swept = task_claim_next(contractor=contractor, project=project, now=now - timedelta(hours=2))
    unswept = task_claim_next(contractor=contractor, project=project, now=now - timedelta(minutes=31))
    claims_expire_overdue(now=now - timedelta(hours=1))
    assert Claim.objects.get(pk=swept.pk).status == "expired"
    assert Claim.objects.get(pk=unswept.pk).status == "active"
    before = _snapshot()

    for claim in (swept, unswept):
        with pytest.raises(ClaimError) as excinfo:
            claim_submit(claim=Claim.objects.get(pk=claim.pk), contractor=contractor, answer=ANSWER, now=now)
        assert excinfo.value.code == "claim_expired"
        assert "ran out" in excinfo.value.message
        assert "not saved" in excinfo.value.message
    assert _snapshot() == before


def test_submitting_a_released_or_submitted_claim_is_refused(project, batch, contractor):
    factories.make_tasks(batch, 2)
    released = task_claim_next(contractor=contractor, project=project)
    claim_release(claim=released, contractor=contractor)
    done = task_claim_next(contractor=contractor, project=project)
    claim_submit(claim=Claim.objects.get(pk=done.pk), contractor=contractor, answer=ANSWER)
    before = _snapshot()

    with pytest.raises(ClaimError) as excinfo:
        claim_submit(claim=Claim.objects.get(pk=released.pk), contractor=contractor, answer=ANSWER)
    assert excinfo.value.code == "claim_released"
    assert "released" in excinfo.value.message
    with pytest.raises(ClaimError) as excinfo:
        claim_submit(claim=Claim.objects.get(pk=done.pk), contractor=contractor, answer=ANSWER)
    assert excinfo.value.code == "already_submitted"
    assert _snapshot() == before


def test_submitting_someone_elses_claim_is_refused(project, batch, contractor):
    factories.make_tasks(batch, 1)
    claim = Claim.objects.get(pk=task_claim_next(contractor=contractor, project=project).pk)
    before = _snapshot()
    with pytest.raises(NotQualified):
        claim_submit(claim=claim, contractor=factories.ContractorFactory(), answer=ANSWER)
    assert _snapshot() == before


# --- exhaustion -----------------------------------------------------------------------------


def test_batch_is_exhausted_once_every_task_has_its_overlap_of_submissions(django_capture_on_commit_callbacks):
    """Right after the commit of the submission that finishes the last task (the test's transaction
    never commits, so its after-commit work is run as a commit would)."""
    project = factories.ProjectFactory(overlap=2)
    batch = factories.BatchFactory(project=project)
    factories.make_tasks(batch, 2)
    people = [factories.ContractorFactory() for _ in range(2)]
    claims = [task_claim_next(contractor=p, project=project) for p in people for _ in range(2)]
    assert all(claims)

    for index, claim in enumerate(claims):
        batch.refresh_from_db()
        # Claimed but not yet submitted is not enough.
        assert batch.status == "open", index
        with django_capture_on_commit_callbacks(execute=True) as after_commit:
            claim_submit(claim=Claim.objects.get(pk=claim.pk), contractor=claim.contractor, answer=ANSWER)
        # Only a submission that finishes its task looks at the batch (each person claimed both).
        assert len(after_commit) == (index >= 2)
    batch.refresh_from_db()
    assert batch.status == "exhausted"
    _assert_counters_true()
    assert task_claim_next(contractor=factories.ContractorFactory(), project=project) is None


def test_a_closed_batch_stays_closed_when_its_last_claims_are_submitted(project, batch, contractor):
    factories.make_tasks(batch, 1)
    claim = task_claim_next(contractor=contractor, project=project)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.CLOSED)
    claim_submit(claim=Claim.objects.get(pk=claim.pk), contractor=contractor, answer=ANSWER)
    batch.refresh_from_db()
    assert batch.status == "closed"
    assert Submission.objects.filter(claim_id=claim.pk).exists()


# --- a lead's pause -------------------------------------------------------------------------


def test_a_pause_on_the_project_refuses_claims_there_only_until_lifted(project, batch, contractor, admin_user):
    from decimal import Decimal

    from annotations.models import ContractorFlag
    from annotations.services.flags import flag_decide, pause_lift

    factories.make_tasks(batch, 2)
    other_batch = factories.BatchFactory()
    factories.make_tasks(other_batch, 1)
    flag = ContractorFlag.objects.create(contractor=contractor, project=project, average=Decimal("1.50"),
                                         threshold=Decimal("2.50"), grades_counted=5, created_at=timezone.now(),
        respond_until=timezone.now())  # the answer window is over
    reason = "Several answers ignored the rubric; please reread the instructions."
    flag_decide(flag=flag, lead=admin_user, decision="pause", reason=reason)

    with pytest.raises(NotQualified) as excinfo:
        task_claim_next(contractor=contractor, project=project)
    assert excinfo.value.code == "paused_on_project"
    assert reason in excinfo.value.message
    assert not Claim.objects.filter(contractor=contractor, project=project).exists()
    assert Task.objects.filter(batch=batch, claim_count=0).count() == 2
    # Other projects are unaffected.
    assert task_claim_next(contractor=contractor, project=other_batch.project) is not None

    pause_lift(pause=contractor.pauses.get(), lead=admin_user, reason="Reread the guide and passed the quiz again.")
    assert task_claim_next(contractor=contractor, project=project) is not None


# --- the claim statement itself ---------------------------------------------------------------


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        return json.dumps(cursor.fetchone()[0])


def test_the_claim_statement_is_prepared_once_per_connection_and_then_sent_alone(project, batch, contractor):
    factories.make_tasks(batch, 3)
    with CaptureQueriesContext(connection) as first:
        task_claim_next(contractor=contractor, project=project)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [claims._CLAIM_STATEMENT])
        assert cursor.fetchone()[0] == 1
    assert len(first) == 1  # prepared, locked and claimed in one round trip (or already prepared)

    with CaptureQueriesContext(connection) as second:
        assert task_claim_next(contractor=contractor, project=project) is not None
    assert len(second) == 1
    assert "PREPARE" not in second[0]["sql"]
    assert second[0]["sql"].count("EXECUTE " + claims._CLAIM_STATEMENT) == 1


def test_after_a_failed_first_claim_the_statement_is_looked_up_not_prepared_twice(project, batch, contractor):
    factories.make_tasks(batch, 2)
    pg_connection = connection.connection
    # As after a first claim that sent the PREPARE and then failed: whether it exists is unknown.
    claims._CLAIM.prepared_on[pg_connection] = False
    assert task_claim_next(contractor=contractor, project=project) is not None  # exists: no second PREPARE

    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE " + claims._CLAIM_STATEMENT)
    claims._CLAIM.prepared_on[pg_connection] = False
    assert task_claim_next(contractor=contractor, project=project) is not None  # gone: prepared again
    assert claims._CLAIM.prepared_on[pg_connection] is True
    assert Claim.objects.filter(contractor=contractor, status="active").count() == 2


def test_counting_active_claims_never_scans_the_expiry_index(project, batch, contractor):
    """With statistics taken when no claim was active, the cap check must still use the
    contractor's own index of open holds (active and reserved), not filter every active claim
    through the smaller expiry index or every reservation through the lapse index."""
    tasks = factories.make_tasks(batch, 400)
    others = factories.ContractorFactory.create_batch(40)
    Claim.objects.bulk_create(
        Claim(task=task, contractor=others[i % 40], project=project, batch=batch, status="submitted",
              claimed_at=timezone.now(), deadline=timezone.now(), finished_at=timezone.now())
        for i, task in enumerate(tasks)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_claim")
        cursor.execute("SET LOCAL enable_seqscan = off")
    task_claim_next(contractor=contractor, project=project)  # prepares the statement on this connection
    args = [project.pk, contractor.pk, 3, timezone.now(), timezone.now()]
    execute = f"EXECUTE {claims._CLAIM_STATEMENT} (%s, %s, %s, %s, %s)"
    for mode in ("force_custom_plan", "force_generic_plan"):
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
        plan = _plan(execute, args)
        assert "claim_held_idx" in plan, mode
        assert "claim_deadline_idx" not in plan, mode
        assert "claim_reserved_until_idx" not in plan, mode
    # The sweep still finds overdue claims through it.
    assert "claim_deadline_idx" in _plan(
        "SELECT id FROM annotations_claim WHERE status = 'active' AND deadline <= %s", [timezone.now()]
    )


def test_claiming_also_works_with_server_side_binding(project, batch, contractor):
    """A deployment may set OPTIONS server_side_binding: the claim then runs as two statements."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    tasks = factories.make_tasks(batch, 2)
    connection.ensure_connection()
    pg_connection = connection.connection
    default_factory = pg_connection.cursor_factory
    pg_connection.cursor_factory = ServerBindingCursor
    try:
        first = task_claim_next(contractor=contractor, project=project)
        second = task_claim_next(contractor=contractor, project=project)
    finally:
        pg_connection.cursor_factory = default_factory
    assert (first.task_id, second.task_id) == (tasks[0].pk, tasks[1].pk)
    assert first.task.payload == tasks[0].payload
    assert task_claim_next(contractor=contractor, project=project) is None
    _assert_counters_true()
