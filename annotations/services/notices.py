"""What grading tells people and what it starts: the contractor's notification of a grade or a
decision, and the recompute of their flags."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import User
from accounts.services import notification_create
from taskhub.outbox import enqueue

from .. import tasks


def notify_contractor(*, user_id: int, kind: str, title: str, body: str = "", key: str) -> None:
    """An in-app notification to the contractor, once per event (the key makes repeats harmless)."""
    notification_create(user=User(pk=user_id), kind=kind, title=title, body=body[:2_000],
                        url=reverse("work:my_work"), key=key)


def flags_recompute_enqueue(*, contractor_id: int, project_id: int) -> None:
    """Recompute the contractor's flag on the project once the grading transaction commits."""
    enqueue(tasks.contractor_flags_recompute, contractor_id=contractor_id, project_id=project_id)
