"""The one hook through which a lower layer starts an upper layer's work: paying for work.

Apps import downwards only: taskhub <- accounts <- projects <- annotations <- {sprints, payouts}
(`.importlinter` holds the contract and `make test` checks it). Some writes below payouts change
what a contractor must be paid: a submission or a grade (annotations), a new pay rate or grade
policy (projects). They call `pay_changed(...)` inside their own transaction, naming the work
whose pay may have changed (a task reported broken names its report: its active time is paid in the
writing transaction too); payouts registers the one handler at start-up
(`payouts.apps.PayoutsConfig.ready`). A new submission names itself (`submission_id`): its pay
is posted in the writing transaction, one row read and one ledger entry written, committed with
the submission. Any wider scope is recomputed once the transaction commits (nothing is sent if it
rolls back), queued through the outbox (`taskhub.outbox`): written in the same transaction, sent
even if Redis is down at the moment of the commit, so the write that changed the pay never fails
for it.

Nothing else crosses a layer upwards. A page of a lower app that shows an upper app's figures
gets them from that app's template tag (the contractor dashboard's earnings card, for one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class PayScope:
    """The work whose pay may have changed: every field narrows it; none at all is everything.
    `submission_id` is one new submission, paid at once; `problem_report_id` one new report of a task
    as broken, whose active time is paid at once (payouts decides what it earns)."""

    contractor_id: int | None = None
    project_id: int | None = None
    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
    submission_id: int | None = None
    problem_report_id: int | None = None


PayHandler = Callable[[PayScope], None]
_pay_handler: PayHandler | None = None


def register_pay_handler(handler: PayHandler) -> PayHandler:
    """Install the handler of `pay_changed` (payouts does, once, when Django starts)."""
    global _pay_handler
    if _pay_handler is not None and _pay_handler is not handler:
        raise ImproperlyConfigured("A pay handler is already registered; there is exactly one.")
    _pay_handler = handler
    return handler


def pay_changed(
    *,
    contractor_id: int | None = None,
    project_id: int | None = None,
    submitted_from: datetime | None = None,
    submitted_before: datetime | None = None,
    submission_id: int | None = None,
    problem_report_id: int | None = None,
) -> None:
    """Say, from inside the writing transaction, that the pay of this work may have changed."""
    if _pay_handler is None:
        raise ImproperlyConfigured("Nothing pays for work: payouts must be in INSTALLED_APPS.")
    _pay_handler(PayScope(contractor_id, project_id, submitted_from, submitted_before, submission_id,
                          problem_report_id))
