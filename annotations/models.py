from django.conf import settings
from django.db import models
from django.db.models import Q


class Claim(models.Model):
    """A contractor's hold on a task until `deadline`."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        EXPIRED = "expired", "Expired"
        RELEASED = "released", "Released"

    task = models.ForeignKey("projects.Task", on_delete=models.CASCADE, related_name="claims")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims")
    # Copied from the task so caps and dashboards need no joins.
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="claims")
    batch = models.ForeignKey("projects.Batch", on_delete=models.CASCADE, related_name="claims")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    claimed_at = models.DateTimeField()
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.PositiveIntegerField(default=0)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [
            # Never the same contractor twice on one task, whatever became of the first claim.
            models.UniqueConstraint(fields=["task", "contractor"], name="claim_one_per_contractor_per_task"),
        ]
        indexes = [
            models.Index(fields=["contractor", "project"], condition=Q(status="active"), name="claim_active_idx"),
            models.Index(fields=["deadline"], condition=Q(status="active"), name="claim_deadline_idx"),
            models.Index(fields=["batch", "contractor"], name="claim_batch_contractor_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.pk} on task {self.task_id} by {self.contractor_id}"


class Submission(models.Model):
    """A contractor's answer to a claimed task."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="submission")
    task = models.ForeignKey("projects.Task", on_delete=models.PROTECT, related_name="submissions")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="submissions")
    answer = models.JSONField()
    active_seconds = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["contractor", "-submitted_at"], name="submission_contractor_idx"),
            models.Index(fields=["project", "submitted_at"], name="submission_project_idx"),
        ]

    def __str__(self) -> str:
        return f"submission {self.pk} on task {self.task_id}"
