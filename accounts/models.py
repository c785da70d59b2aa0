import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone as dj_timezone


class Role(models.TextChoices):
    CONTRACTOR = "contractor", "Contractor"
    LEAD = "lead", "Team lead"
    ADMIN = "admin", "Admin"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (use a name like Europe/Berlin).")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("role", Role.CONTRACTOR)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["role"] = Role.ADMIN
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person on TaskHub, identified by email. Their role decides what they can reach."""

    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CONTRACTOR, db_index=True)
    # Contractors an admin trusts to grade others' work (DOMAIN: reviewers).
    is_reviewer = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    jurisdiction = models.CharField(
        max_length=16, blank=True, help_text="Where the contractor works, e.g. US-CA; decides the wage floor."
    )
    # Changed only by accounts.services.user_deactivate / user_reactivate: a decision with a reason,
    # an effective time, a notice and an audit entry (the Django admin shows it read-only).
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the deactivation in force (or scheduled) takes effect."
    )
    deactivated_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deactivation_reason = models.TextField(blank=True)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def is_staff(self) -> bool:
        # Admins (and only admins) may use the Django admin.
        return self.role == Role.ADMIN and self.is_active

    @property
    def is_contractor(self) -> bool:
        return self.role == Role.CONTRACTOR

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD

    @property
    def can_review(self) -> bool:
        return self.role in (Role.LEAD, Role.ADMIN) or self.is_reviewer

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


class Notification(models.Model):
    """An in-app message to one person (release announcements, lottery results, reviews, ...)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    # Makes a fan-out idempotent: a repeated delivery of the same event inserts nothing.
    key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(
                fields=["user", "-created_at"], condition=models.Q(read_at__isnull=True), name="notification_unread_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], condition=~models.Q(key=""), name="notification_key_once_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class AuditEntry(models.Model):
    """One decision that touched a person or pay: who decided, when, what, about whom, why, and
    the object it touched.

    Append-only: the database refuses UPDATE and DELETE (accounts/sql/audit_append_only.sql). The
    one writer is `accounts.services.audit_record`, which every decision service calls inside its
    own transaction, so an entry exists exactly when its decision was committed. Upper layers are
    named by plain values (a project's id and name, the touched row's model label and id), never by
    foreign keys: accounts is the lowest layer that knows people.
    """

    class Kind(models.TextChoices):
        RATE_SET = "rate_set", "Pay rate set"
        GRADE_POLICY_SET = "grade_policy_set", "Grade policy set"
        LINEAGE_SET = "lineage_set", "Project continues another"
        LINEAGE_DECLINED = "lineage_declined", "Not a continuation"
        WAGE_FLOOR_GUARANTEE = "wage_floor_guarantee", "Wage-floor guarantee changed"
        FLAG_RESPONDED = "flag_responded", "Contractor answered a flag"
        FLAG_DECIDED = "flag_decided", "Flag decided"
        PAUSE_APPEALED = "pause_appealed", "Pause appealed"
        PAUSE_APPEAL_DECIDED = "pause_appeal_decided", "Pause appeal decided"
        PAUSE_LIFTED = "pause_lifted", "Pause lifted"
        DEACTIVATED = "deactivated", "Account deactivated"
        REACTIVATED = "reactivated", "Account reactivated"
        ROLE_SET = "role_set", "Role changed"
        QUALIFICATION_GRANTED = "qualification_granted", "Qualification granted"
        QUALIFICATION_REVOKED = "qualification_revoked", "Qualification revoked"
        PAYOUT_APPROVED = "payout_approved", "Payout approved"
        LEDGER_BONUS = "ledger_bonus", "Bonus added"
        LEDGER_ADJUSTMENT = "ledger_adjustment", "Manual adjustment"
        BATCH_CLOSED = "batch_closed", "Batch closed"

    at = models.DateTimeField(default=dj_timezone.now)
    # Empty when TaskHub itself acted on a rule a person set (an onboarding pass, a scheduled deactivation).
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    # The person the decision is about; empty for a decision about a project's pay (rates, policies).
    subject = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries")
    project_id = models.BigIntegerField(null=True, blank=True)
    project_name = models.CharField(max_length=200, blank=True)
    object_type = models.CharField(max_length=60, blank=True,
                                   help_text="The touched row's model, e.g. projects.payrate.")
    object_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["subject", "-at"], name="audit_subject_idx"),
            models.Index(fields=["project_id", "-at"], name="audit_project_idx"),
            models.Index(fields=["kind", "-at"], name="audit_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A person's named API token, for pipelines. The secret is knox's: random, kept only as its
    SHA-512 digest (knox_authtoken), shown once. This row keeps the name and, after the token is
    revoked or has expired (knox's row is then gone), what became of it, so a pipeline that still
    sends it is told why it is refused."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=128, unique=True)
    # The token's first characters (knox's token_key), shown so a person can tell tokens apart.
    token_key = models.CharField(max_length=25)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…) of {self.user_id}"

    def state(self, now=None) -> str:
        now = now or dj_timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class EmailGroup(models.TextChoices):
    """What a notification is about, for the person's email choice (accounts.mail maps each kind)."""

    RELEASES = "releases", "Releases: announcements and the reminder before one opens"
    LOTTERY = "lottery", "Lottery results"
    GRADES = "grades", "Low grades (1 or 2) and appeal decisions"
    DECISIONS = "decisions", "Flags, pauses and other decisions about you"
    PAY = "pay", "Pay rate and grade policy changes"
    OTHER = "other", "Everything else (sprints, announcements, other grades, qualifications)"


class EmailMode(models.TextChoices):
    NOW = "now", "At once"
    DIGEST = "digest", "In a daily digest"
    OFF = "off", "Off"


class EmailPreference(models.Model):
    """A person's choice of email for one group of notifications (no row: the group's default)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_preferences")
    group = models.CharField(max_length=20, choices=EmailGroup.choices)
    mode = models.CharField(max_length=10, choices=EmailMode.choices)
    updated_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="email_preference_once")]

    def __str__(self) -> str:
        return f"{self.group}={self.mode} for {self.user_id}"


class OutgoingEmail(models.Model):
    """One email to send: a notification's own (`n:<id>`) or a day's digest (`digest:<user>:<day>`).

    The unique `key` is the idempotency key: an event has one row, and the sender sends a row only
    while `sent_at` is empty, under the row's lock, so retries and repeats send one email."""

    class Kind(models.TextChoices):
        NOW = "now", "At once"
        DIGEST = "digest", "Digest"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=dj_timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], condition=models.Q(sent_at__isnull=True),
                                name="outgoing_email_unsent_idx")]

    def __str__(self) -> str:
        return f"email {self.key}"


class DigestItem(models.Model):
    """A notification waiting for its person's daily digest (`email` set once a digest holds it)."""

    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    email = models.ForeignKey(OutgoingEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="items")
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user"], condition=models.Q(email__isnull=True),
                                name="digest_item_waiting_idx")]

    def __str__(self) -> str:
        return f"digest item {self.notification_id}"
