"""The hooks through which a lower layer starts an upper layer's work: paying for work, what a
changed role means for the work a person holds, and telling the holders of a closed batch's work.

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

A role changed by `accounts.services.user_role_set` may end what the person held under the old role:
the claims a contractor still works on (annotations), the sprints a lead runs (sprints). Each app
registers a role handler at start-up; `role_changed(...)` calls them inside the decision's
transaction. A handler refuses by raising a DomainError (the role then stays), or carries out its
consequence and returns the sentences that tell the person what became of their work.

A batch closed by `projects.services.batch_close` (with a reason) is announced through
`batch_closed(...)`, in the closing transaction: annotations, which knows the claims, tells the
contractors who still hold its work that they may still submit it, with the reason.

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


@dataclass(frozen=True)
class RoleChange:
    """A person's role changing from `old` to `new`, decided by `by` with `reason`, at `now`."""

    user_id: int
    old: str
    new: str
    by_id: int
    reason: str
    now: datetime


RoleHandler = Callable[[RoleChange], list[str]]
_role_handlers: dict[str, RoleHandler] = {}


def register_role_handler(name: str, handler: RoleHandler) -> RoleHandler:
    """Install an app's handler of `role_changed` under its name (once per app; a repeat replaces it)."""
    _role_handlers[name] = handler
    return handler


def role_changed(*, user_id: int, old: str, new: str, by_id: int, reason: str, now: datetime) -> list[str]:
    """Say, from inside the deciding transaction, that a role changes; returns what the handlers did,
    in sentences for the person (empty when nothing they held was touched)."""
    change = RoleChange(user_id, old, new, by_id, reason, now)
    done: list[str] = []
    for name in sorted(_role_handlers):
        done.extend(_role_handlers[name](change))
    return done


@dataclass(frozen=True)
class BatchClosed:
    """A batch closed by `by` with `reason`, at `now`."""

    batch_id: int
    batch_name: str
    project_name: str
    by_id: int
    reason: str
    now: datetime


BatchClosedHandler = Callable[[BatchClosed], int]
_batch_closed_handlers: dict[str, BatchClosedHandler] = {}


def register_batch_closed_handler(name: str, handler: BatchClosedHandler) -> BatchClosedHandler:
    """Install an app's handler of `batch_closed` under its name (a repeat replaces it)."""
    _batch_closed_handlers[name] = handler
    return handler


def batch_closed(*, batch_id: int, batch_name: str, project_name: str, by_id: int, reason: str,
                 now: datetime) -> int:
    """Say, from inside the closing transaction, that a batch closed; returns how many people were told."""
    event = BatchClosed(batch_id, batch_name, project_name, by_id, reason, now)
    return sum(_batch_closed_handlers[name](event) for name in sorted(_batch_closed_handlers))
