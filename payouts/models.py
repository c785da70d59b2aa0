"""Money owed to contractors: the append-only ledger, wage floors and payouts.

The ledger is the single source of truth for earnings. Entries are never changed or
removed (the database refuses it, see migration 0002); a correction is a new `adjustment`
entry, and a balance is a sum. Which payout settled an entry is recorded in `PayoutLine`,
itself append-only, so settling never touches an entry either.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from projects.models import Project, currency_validator

jurisdiction_validator = RegexValidator(
    r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", "Use a country code, optionally with a region: US, US-CA, DE, IN-KA."
)


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TASK = "task", "Task"
        HOURLY = "hourly", "Hourly"
        BONUS = "bonus", "Bonus"
        ONBOARDING = "onboarding", "Onboarding"
        ADJUSTMENT = "adjustment", "Adjustment"
        TOP_UP = "top_up", "Wage-floor top-up"
        REPORTED_BROKEN = "reported_broken", "Reported broken"

    class Source(models.TextChoices):
        SUBMISSION = "submission", "Submission"
        MANUAL = "manual", "Added by an admin"
        WAGE_FLOOR = "wage_floor", "Wage floor kept"
        PROBLEM_REPORT = "problem_report", "Task reported broken"

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    # What the money is for: a submission (source_id = its id), a manual bonus/adjustment, a
    # wage-floor top-up (source_id = its WageFloorTopUp, which holds the computation), or the active
    # time of a task reported broken (source_id = its annotations.ProblemReport; payouts/services/problems.py).
    source_type = models.CharField(max_length=16, choices=Source.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    # How the amount was worked out, so every line of a statement can be explained.
    rate_amount = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    rate_unit = models.CharField(max_length=16, blank=True)
    grade = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Final grade the amount reflects.")
    pay_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    active_seconds = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # One key per source and kind (and per correction), so a repeated write is refused.
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(db_default=models.functions.Now(), editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["contractor", "-created_at"], name="ledger_contractor_idx"),
            # Covers the recompute's per-submission sums (an index-only scan, no heap visits).
            models.Index(fields=["source_type", "source_id"], include=["amount"], name="ledger_source_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source_type="manual") | Q(source_id__isnull=False), name="ledger_submission_has_source"
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus") | Q(amount__gt=0), name="ledger_bonus_positive"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            # The pay of a task reported broken is its own kind of entry, and only it.
            models.CheckConstraint(
                condition=(Q(kind="reported_broken") & Q(source_type="problem_report"))
                | (~Q(kind="reported_broken") & ~Q(source_type="problem_report")),
                name="ledger_reported_broken_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} for {self.contractor_id}"


class WageFloor(models.Model):
    """The minimum hourly pay in a jurisdiction, from a date (a history, never edited in place)."""

    jurisdiction = models.CharField(max_length=16, validators=[jurisdiction_validator])
    amount = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    effective_from = models.DateField()
    note = models.CharField(max_length=300, blank=True, help_text="Where the figure comes from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["jurisdiction", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "effective_from"], name="wage_floor_unique_from"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="wage_floor_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.amount.normalize():f} {self.currency}/h from {self.effective_from}"


class WageFloorTopUp(models.Model):
    """The wage floor kept (promise 5): for one contractor, project and payout period, the pay below
    the floor of the contractor's jurisdiction for the active time measured, added to the ledger as
    a `top_up` entry when the period's payouts are drafted. It holds the computation the statement
    shows; one per contractor, project and period (a repeated draft adds nothing), never changed."""

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wage_top_ups")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="wage_top_ups")
    period = models.ForeignKey("PayoutPeriod", on_delete=models.PROTECT, related_name="wage_top_ups")
    jurisdiction = models.CharField(max_length=16)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    active_seconds = models.BigIntegerField()
    submissions = models.PositiveIntegerField()
    earned = models.DecimalField(max_digits=14, decimal_places=2, help_text="Paid for that work before the top-up.")
    floor = models.DecimalField(max_digits=12, decimal_places=4, help_text="The hourly floor in force.")
    required = models.DecimalField(max_digits=14, decimal_places=2, help_text="floor × active hours, to the cent.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(db_default=models.functions.Now(), editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["contractor", "project", "period"], name="wage_top_up_once_per_period"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="wage_top_up_positive"),
        ]

    def __str__(self) -> str:
        return f"top-up {self.amount} {self.currency} for {self.contractor_id} on {self.project_id}"

    @property
    def active_hours(self) -> Decimal:
        return (Decimal(self.active_seconds) / 3600).quantize(Decimal("0.01"))


class PayoutPeriod(models.Model):
    """A settlement window [start, end). Weekly, Monday 00:00 UTC, unless configured otherwise."""

    start = models.DateTimeField()
    end = models.DateTimeField()
    # What the latest draft of this period did and why nothing more was drafted, as the drafting
    # service counted it (payouts.services.payouts_draft_explained); the payout desk shows it.
    last_draft = models.JSONField(default=dict, blank=True)
    last_drafted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["start", "end"], name="payout_period_unique"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="payout_period_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


class Payout(models.Model):
    """One contractor's settlement of a period's unpaid entries (one per currency they earned in)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    period = models.ForeignKey(PayoutPeriod, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    entry_count = models.PositiveIntegerField()
    external_reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(db_default=models.functions.Now(), editable=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period__start", "contractor_id"]
        constraints = [
            models.UniqueConstraint(fields=["contractor", "period", "currency"], name="payout_one_per_period"),
            models.CheckConstraint(condition=Q(total__gt=0), name="payout_total_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | (Q(paid_at__isnull=False) & ~Q(external_reference="")),
                name="payout_paid_has_reference",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False), name="payout_approved_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk}: {self.total} {self.currency} ({self.get_status_display()})"


class PayoutLine(models.Model):
    """An entry settled by a payout. An entry is in at most one payout, ever."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="lines")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="payout_line")

    def __str__(self) -> str:
        return f"entry {self.entry_id} in payout {self.payout_id}"
