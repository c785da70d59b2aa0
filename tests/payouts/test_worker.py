"""Background recompute: through a real Celery worker, and safe when the worker is killed."""

import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from django.db import transaction

from annotations.models import Submission
from annotations.services.reviews import review_create
from payouts import selectors, services
from payouts.models import LedgerEntry
from tests import factories
from tests.conftest import ROOT, child_env, wait_for


def _recomputes_done() -> int:
    log = (ROOT / "tests" / "artifacts" / "celery-worker.log").read_text(errors="replace")
    return sum(1 for line in log.splitlines() if "payouts.tasks.earnings_recompute[" in line and "succeeded" in line)


def _amounts(contractor):
    return sorted(LedgerEntry.objects.filter(contractor=contractor).values_list("amount", flat=True))


@pytest.mark.worker
def test_a_review_recomputes_pay_through_a_real_worker(celery_worker_process, work):
    contractor = factories.ContractorFactory()
    project = work.project(rate="3.0000")
    submission = work.submission(contractor=contractor, project=project)
    services.earnings_recompute()
    assert _amounts(contractor) == [Decimal("3.00")]
    reviewer = factories.LeadFactory()
    with transaction.atomic():
        review_create(submission=submission, reviewer=reviewer, score=2,
                      reason="Chose the weaker answer; the other one is more accurate.")
    wait_for(lambda: LedgerEntry.objects.filter(contractor=contractor).count() == 2, timeout=30)
    adjustment = LedgerEntry.objects.filter(contractor=contractor, kind="adjustment").get()
    assert adjustment.amount == Decimal("-1.50") and adjustment.grade == 2
    # The worker's task is idempotent: delivering it again writes nothing.
    from payouts.tasks import earnings_recompute

    earnings_recompute.delay(contractor_id=contractor.pk)
    earnings_recompute.delay()
    wait_for(lambda: _recomputes_done() == 3, timeout=30)
    assert _amounts(contractor) == [Decimal("-1.50"), Decimal("3.00")]


# Runs a full recompute in another process and stops right after the INSERT, inside the
# still-open transaction, so the test can kill it there.
_CHILD = textwrap.dedent("""
    import sys, time
    import django
    django.setup()
    from django.db import connection
    from payouts import services

    def pause_after_insert(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().startswith("INSERT INTO payouts_ledgerentry"):
            print("INSERTED", context["cursor"].rowcount, flush=True)
            time.sleep(120)
        return result

    with connection.execute_wrapper(pause_after_insert):
        services.earnings_recompute()
    print("DONE", flush=True)
""")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_recompute_leaves_the_ledger_as_it_was(work):
    contractor = factories.ContractorFactory()
    project = work.project(rate="1.1000")
    for _ in range(25):
        work.submission(contractor=contractor, project=project)
    env = child_env(DJANGO_SETTINGS_MODULE="taskhub.settings", PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("INSERTED 25"), line + child.stderr.read()
        # The rows exist only in the child's open transaction.
        assert LedgerEntry.objects.count() == 0
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert LedgerEntry.objects.count() == 0
    # The totals the ledger's trigger wrote on the submissions went with the entries.
    assert not Submission.objects.filter(posted_entries__gt=0).exists()
    assert selectors.submission_cache_disagreements() == []
    # The killed run's lock went with its connection: a re-run completes the job at once.
    assert services.earnings_recompute() == 25
    assert services.earnings_recompute() == 0
    assert sum(LedgerEntry.objects.values_list("amount", flat=True)) == Decimal("27.50")
