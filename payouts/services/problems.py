"""The active time of a task reported broken is paid (issue 19): a contractor who finds a task that
cannot be done should not lose the time they spent finding out.

The rule, once per report, posted in the report's own transaction (`annotations.services.
problem_report_create` says `taskhub.hooks.pay_changed(problem_report_id=...)`):

- only a report of kind "broken" pays; a harmful or unclear report records the active time on the
  report and pays nothing (the task may still be done, or it is the lead's to judge);
- the active seconds are capped at the claim time (`Project.claim_minutes`): heartbeats credit time
  only while a claim is within its deadline, so no claim can measure more;
- the rate is the one in force when the task was reported (`projects.selectors.rate_in_force`, across
  the lineage), paid in full: there is no grade, so no grade policy applies;
- per hour: the seconds at the hourly rate (`projects.pay.pay_amount` at 100 %);
- per task: the per-task rate prorated by the active minutes over the project's estimated minutes per
  task (`Project.estimated_minutes`, the admin's estimate the pay outlook starts from), never more
  than one task's pay;
- nothing is written when that comes to zero (no time measured, or no rate yet).

The entry is `reported_broken`, source `problem_report` (source_id the report), key
`reported_broken:problem_report:<id>`: a repeat writes nothing. The recompute reads submissions
only and writes `submission` entries, so it neither drops nor repeats these; the wage floor's top-up
is computed over submissions and leaves them out as well.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from django.db import connection

from annotations.models import ProblemReport
from projects.models import PayRate, Project
from projects.pay import pay_amount
from projects.selectors import rate_in_force
from taskhub.money import quantize

from ..models import LedgerEntry

_INSERT_SQL = """
INSERT INTO payouts_ledgerentry (contractor_id, project_id, kind, amount, currency, source_type, source_id,
                                 rate_amount, rate_unit, grade, pay_percent, active_seconds, reason, idempotency_key)
VALUES (%(contractor)s, %(project)s, %(kind)s, %(amount)s, %(currency)s, %(source_type)s, %(source_id)s,
        %(rate_amount)s, %(rate_unit)s, NULL, 100, %(seconds)s, %(reason)s, %(key)s)
ON CONFLICT (idempotency_key) DO NOTHING
"""


def problem_report_paid_seconds(*, report: ProblemReport, project: Project) -> int:
    """The active seconds of the report that are paid: those measured, at most the claim time."""
    return max(0, min(int(report.active_seconds), int(project.claim_minutes) * 60))


def problem_report_amount(*, rate: PayRate, seconds: int, estimated_minutes: int) -> Decimal:
    """What `seconds` of active time on a task reported broken earn at `rate`, in full (no grade)."""
    if rate.unit == PayRate.Unit.PER_HOUR:
        return pay_amount(amount=rate.amount, unit=rate.unit, percent=Decimal("100"), active_seconds=seconds)
    estimate = max(int(estimated_minutes), 1) * 60
    with localcontext() as exact:
        exact.prec = 60
        return quantize(rate.amount * Decimal(min(seconds, estimate)) / Decimal(estimate))


def problem_report_key(report_id: int) -> str:
    return f"{LedgerEntry.Kind.REPORTED_BROKEN}:{LedgerEntry.Source.PROBLEM_REPORT}:{report_id}"


def problem_report_pay_post(*, report_id: int) -> int:
    """Post the pay of one report's active time, in the caller's transaction (the report's): at most one
    entry, once (its idempotency key). Returns the entries written (0 for a harmful or unclear report,
    no time, no rate, or a repeat)."""
    report = ProblemReport.objects.select_related("project", "task").filter(pk=report_id).first()
    if report is None or report.kind != ProblemReport.Kind.BROKEN:
        return 0
    project = report.project
    rate = rate_in_force(project=project, at=report.created_at)
    if rate is None:
        return 0
    seconds = problem_report_paid_seconds(report=report, project=project)
    amount = problem_report_amount(rate=rate, seconds=seconds, estimated_minutes=project.estimated_minutes)
    if amount <= 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, {
            "contractor": report.contractor_id, "project": project.pk, "kind": LedgerEntry.Kind.REPORTED_BROKEN,
            "amount": amount, "currency": rate.currency, "source_type": LedgerEntry.Source.PROBLEM_REPORT,
            "source_id": report.pk, "rate_amount": rate.amount, "rate_unit": rate.unit, "seconds": seconds,
            "reason": f"Reported broken: {report.task.external_id}"[:500], "key": problem_report_key(report.pk),
        })
        return max(cursor.rowcount, 0)
