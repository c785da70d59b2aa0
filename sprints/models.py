"""Sprints: a team lead's time-boxed push over one or more projects, its members and announcements."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from projects.models import Project

SPRINT_MAX_DAYS = 7


class Sprint(models.Model):
    """A team lead's time-boxed push over one or more projects: members, a window, a target.

    planned → open → closed; each transition is a conditional UPDATE on the status, made by
    beat when the window starts and ends, so it happens once. The summary is written once,
    in the same UPDATE that closes the sprint.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sprints_led")
    name = models.CharField(max_length=200)
    projects = models.ManyToManyField(Project, related_name="sprints")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="SprintMember", through_fields=("sprint", "contractor"),
        related_name="sprints",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    target_submissions = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    quality_target = models.DecimalField(
        max_digits=3, decimal_places=2, validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="The average grade the team aims for (1–5).",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED, db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True, help_text="Figures at close: written once, never edited.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="sprint_ends_after_start"),
            models.CheckConstraint(
                condition=Q(ends_at__lte=F("starts_at") + models.Value(
                    timedelta(days=SPRINT_MAX_DAYS), output_field=models.DurationField()
                )),
                name="sprint_at_most_max_days",
            ),
            models.CheckConstraint(condition=Q(target_submissions__gte=1), name="sprint_target_positive"),
            models.CheckConstraint(
                condition=Q(quality_target__gte=1) & Q(quality_target__lte=5), name="sprint_quality_target_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(status="closed") | Q(summary__isnull=True), name="sprint_summary_only_when_closed"
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at"], condition=Q(status="planned"), name="sprint_due_open_idx"),
            models.Index(fields=["ends_at"], condition=~Q(status="closed"), name="sprint_due_close_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class SprintMember(models.Model):
    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="memberships")
    contractor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sprint_memberships"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sprint", "contractor"]
        constraints = [models.UniqueConstraint(fields=["sprint", "contractor"], name="sprint_member_once")]

    def __str__(self) -> str:
        return f"{self.contractor_id} in sprint {self.sprint_id}"


class Announcement(models.Model):
    """A lead's message to a sprint's members or to a project's contractors (exactly one)."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="announcements")
    sprint = models.ForeignKey(Sprint, null=True, blank=True, on_delete=models.CASCADE, related_name="announcements")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="announcements"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)
    recipients = models.PositiveIntegerField(default=0, help_text="People notified when it was posted.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(sprint__isnull=False) & Q(project__isnull=True))
                | (Q(sprint__isnull=True) & Q(project__isnull=False)),
                name="announcement_sprint_xor_project",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """A contractor's question on a task (asked from the workspace) or on a sprint, answered in place
    by a lead; an answer on a project can be pinned to the project's FAQ (issue 20)."""

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="questions")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="questions")
    task = models.ForeignKey("projects.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sprint = models.ForeignKey(Sprint, null=True, blank=True, on_delete=models.CASCADE, related_name="questions")
    body = models.TextField(max_length=2000)
    answer = models.TextField(max_length=5000, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True, help_text="Shown in the project's FAQ since.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(project__isnull=False) | Q(sprint__isnull=False),
                                   name="question_on_a_project_or_sprint"),
            models.CheckConstraint(condition=Q(answered_at__isnull=True) | ~Q(answer=""),
                                   name="question_answered_has_answer"),
            models.CheckConstraint(condition=Q(pinned_at__isnull=True)
                                   | Q(answered_at__isnull=False, project__isnull=False),
                                   name="question_pinned_is_answered_on_a_project"),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(answered_at__isnull=True), name="question_open_idx"),
            models.Index(fields=["project", "pinned_at"], condition=Q(pinned_at__isnull=False),
                         name="question_faq_idx"),
        ]

    def __str__(self) -> str:
        return self.body[:60]

    @property
    def is_open(self) -> bool:
        return self.answered_at is None
