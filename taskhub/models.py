"""What the frame itself stores: the outbox of Celery tasks (see taskhub.outbox)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task to send, written in the transaction that decided it, sent once that commits.

    Sent right after the commit when the broker answers, otherwise by beat's drain; a message may
    be delivered more than once (every TaskHub task is idempotent), never lost."""

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # While a sender holds the message: another sender leaves it alone until this time.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["id"], condition=Q(sent_at__isnull=True), name="outbox_unsent_idx")]

    def __str__(self) -> str:
        return f"{self.task}({self.kwargs}) {'sent' if self.sent_at else 'waiting'}"
