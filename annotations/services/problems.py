"""A contractor reports a problem with a task (broken, harmful, unclear) with a reason, and a lead
closes the report with a note (issue 19).

Reporting ends the claim in the same transaction, by the release statement
(`claims.claim_release_in_transaction`): the slot goes back to the pool, and the active time
measured until the report (the same bounded credit as a heartbeat) is kept on the claim and copied
on the report. A task reported broken is paid for that time in the same transaction, through
`taskhub.hooks.pay_changed(problem_report_id=...)` (the rule is payouts': payouts/services/problems.py);
a harmful or unclear report records the time and pays nothing. Leads read the reports of their
people on their projects (sprints.selectors)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from taskhub import parsing
from taskhub.errors import InvalidInput
from taskhub.hooks import pay_changed

from ..errors import ClaimError, NotQualified
from ..models import Claim, ProblemReport
from .claims import claim_release_in_transaction

PROBLEM_REASON_MIN_CHARS = 10
PROBLEM_REASON_MAX_CHARS = 2_000


def _kind(value) -> str:
    if value not in ProblemReport.Kind.values:
        choices = ", ".join(f"{label.split(' (')[0].lower()}" for label in ProblemReport.Kind.labels)
        raise InvalidInput.at("kind", f"Choose what is wrong with the task: {choices}.")
    return value


def problem_report_create(*, claim: Claim, contractor, kind: str, reason: str,
                          now: datetime | None = None) -> ProblemReport:
    """Report the task of an active claim as broken, harmful or unclear; the claim ends (released)."""
    if claim.contractor_id != contractor.pk:
        raise NotQualified("This is not your claim.")
    kind = _kind(kind)
    reason = parsing.text(reason, field="reason", required=True, min_length=PROBLEM_REASON_MIN_CHARS,
                          max_length=PROBLEM_REASON_MAX_CHARS)
    now = now or timezone.now()
    with transaction.atomic():
        if claim.status != Claim.Status.ACTIVE:
            claim.refresh_from_db(fields=["status"])
        released = None
        if claim.status == Claim.Status.ACTIVE:
            released = claim_release_in_transaction(claim=claim, contractor=contractor, now=now,
                                                    reason=f"Reported {kind}: {reason}"[:500])
        if released is None:
            claim.refresh_from_db(fields=["status"])
            raise ClaimError(f"This task is {claim.get_status_display().lower()}, so it cannot be reported from "
                             "here.", code="claim_not_active")
        report = ProblemReport.objects.create(
            claim=claim, task_id=claim.task_id, project_id=claim.project_id, contractor=contractor, kind=kind,
            reason=reason, active_seconds=claim.active_seconds, created_at=now,
        )
        if kind == ProblemReport.Kind.BROKEN:
            # The active time spent on a broken task is paid, once, committed with the report.
            pay_changed(problem_report_id=report.pk)
        return report


def problem_report_resolve(*, report: ProblemReport, by, resolution: str,
                           now: datetime | None = None) -> ProblemReport:
    """Close an open report with a note the contractor reads; once (a conditional update)."""
    resolution = parsing.text(resolution, field="resolution", required=True, max_length=2_000)
    now = now or timezone.now()
    done = ProblemReport.objects.filter(pk=report.pk, status=ProblemReport.Status.OPEN).update(
        status=ProblemReport.Status.RESOLVED, resolved_by=by, resolution=resolution, resolved_at=now)
    if not done:
        raise ClaimError("This report was already closed.", code="report_closed")
    report.status, report.resolved_by, report.resolution, report.resolved_at = (
        ProblemReport.Status.RESOLVED, by, resolution, now)
    return report
