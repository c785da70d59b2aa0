"""The cycle's hot statements are prepared once per connection (taskhub.sql.Prepared): the claim, the
submit and the submit's pay post. The first use on a connection sends the PREPARE with the EXECUTE,
later uses the EXECUTE alone, and what they write is what the plain statements would."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.services import claim_submit, claims, task_claim_next
from payouts.models import LedgerEntry
from payouts.services import recompute
from projects.models import PayRate
from taskhub.sql import Prepared
from tests import factories

pytestmark = pytest.mark.django_db

ANSWER = {"choice": "A", "strength": "clear", "reason": "A answers the question."}
HOT = (claims._CLAIM, claims._SUBMIT, recompute._SUBMISSION_POST)


def _prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def _forget_everything() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    Prepared.forget(connection.connection)


def test_a_cycle_prepares_each_hot_statement_once_then_sends_execute_alone(contractor):
    project = factories.ProjectFactory(overlap=1, max_active_claims=3)
    factories.PayRateFactory(project=project, amount=Decimal("0.75"), unit=PayRate.Unit.PER_TASK)
    factories.make_tasks(factories.BatchFactory(project=project), 3)
    connection.ensure_connection()
    _forget_everything()

    with CaptureQueriesContext(connection) as first:
        claim = task_claim_next(contractor=contractor, project=project)
        submission = claim_submit(claim=claim, contractor=contractor, answer=ANSWER)
    assert {statement.name for statement in HOT} <= _prepared_names()
    sent = "\n".join(query["sql"] for query in first)
    for statement in HOT:
        assert sent.count(f"PREPARE {statement.name} ") == 1, statement.name

    with CaptureQueriesContext(connection) as second:
        claim = task_claim_next(contractor=contractor, project=project)
        second_submission = claim_submit(claim=claim, contractor=contractor, answer=ANSWER)
    sent = "\n".join(query["sql"] for query in second)
    assert "PREPARE" not in sent
    for statement in HOT:
        assert sent.count(f"EXECUTE {statement.name} ") == 1, statement.name

    # Each submission paid once, by the rule: the per-task rate at full pay while ungraded.
    for paid in (submission, second_submission):
        entries = LedgerEntry.objects.filter(source_type="submission", source_id=paid.pk)
        assert [entry.amount for entry in entries] == [Decimal("0.75")]


def test_a_statement_lost_from_the_connection_is_looked_up_and_prepared_again(contractor):
    project = factories.ProjectFactory(overlap=1, max_active_claims=3)
    factories.make_tasks(factories.BatchFactory(project=project), 2)
    claim = task_claim_next(contractor=contractor, project=project)
    claim_submit(claim=claim, contractor=contractor, answer=ANSWER)
    # As after a query that sent the PREPARE and failed: whether it exists is unknown, and it does not.
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {claims._SUBMIT.name}")
    claims._SUBMIT.prepared_on[connection.connection] = False
    claim = task_claim_next(contractor=contractor, project=project)
    claim_submit(claim=claim, contractor=contractor, answer=ANSWER)
    assert claims._SUBMIT.prepared_on[connection.connection] is True
    assert claims._SUBMIT.name in _prepared_names()


def test_every_placeholder_must_be_declared_with_its_type():
    with pytest.raises(ValueError, match="not declared"):
        Prepared("broken", "SELECT %(a)s, %(b)s", {"a": "bigint"})
    statement = Prepared("fine", "SELECT %(a)s::int + %(b)s, '%%'", {"a": "bigint", "b": "integer"})
    assert statement.prepare_sql.startswith(f"PREPARE {statement.name} (bigint, integer) AS SELECT $1::int + $2")
    assert statement.execute_sql == f"EXECUTE {statement.name} (%(a)s, %(b)s)"
    with connection.cursor() as cursor:
        statement.execute(cursor, {"a": 2, "b": 3})
        assert cursor.fetchone() == (5, "%")
        statement.execute(cursor, {"a": 4, "b": 5})
        assert cursor.fetchone() == (9, "%")


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_the_hot_reads_give_what_the_orm_gives(contractor):
    from annotations.models import Claim
    from annotations.selectors import claim_for_api
    from projects.models import Project
    from projects.selectors import project_for_contractor

    project = factories.ProjectFactory(overlap=1, max_active_claims=3)
    factories.make_tasks(factories.BatchFactory(project=project), 1, gold_answer={"choice": "B"})
    claim = task_claim_next(contractor=contractor, project=project)

    with CaptureQueriesContext(connection) as reads:
        hot = claim_for_api(claim_id=claim.pk, user=contractor)
        hot_project = project_for_contractor(user=contractor, slug=project.slug)
    orm = Claim.objects.select_related("task", "project").get(pk=claim.pk)
    assert len(reads) == 2
    assert _fields(hot) == _fields(orm)
    assert _fields(hot.task) == _fields(orm.task) and isinstance(hot.task.payload, dict)
    assert hot.task.gold_answer == {"choice": "B"}
    assert _fields(hot.project) == _fields(orm.project) == _fields(hot_project)
    assert hot.contractor is contractor and not hot._state.adding
    hot.save(update_fields=["active_seconds"])  # an instance the ORM can write back

    # Not theirs, not there, or no id a row can have: nothing, never an error.
    other = factories.ContractorFactory()
    for claim_id, user in ((claim.pk, other), (claim.pk + 1000, contractor), (2**63, contractor)):
        with pytest.raises(Exception) as refused:
            claim_for_api(claim_id=claim_id, user=user)
        assert refused.value.__class__.__name__ == "NotFound"
    assert project_for_contractor(user=other, slug="no-such-project") is None
    Project.objects.filter(pk=project.pk).update(status=Project.Status.PAUSED)
    assert project_for_contractor(user=contractor, slug=project.slug) is None
