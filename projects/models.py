"""Projects and what they pay (rate history, grade-policy history, across a lineage), qualifications
(granted and revoked, with their history), batches with their release settings, tasks and task
imports."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from taskhub.money import money_text

from . import task_types

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as USD.")
_PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
GRADE_POLICY_FIELDS = ("pay_grade_5", "pay_grade_4", "pay_grade_3", "pay_grade_2", "pay_grade_1", "pay_ungraded")


class PassRule(models.TextChoices):
    """How an onboarding project is passed; meeting the rule grants its qualification at once."""

    AVERAGE_GRADE = "average_grade", "graded submissions averaging at least a grade"
    GOLD_AGREEMENT = "gold_agreement", "gold tasks agreeing with the known answers"


class Project(models.Model):
    PassRule = PassRule

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    instructions = models.TextField(blank=True, help_text="Markdown; rendered safely on the project page.")
    # The number of the latest `InstructionVersion` (the text above); kept by the service that writes it.
    instructions_version = models.PositiveIntegerField(default=1, editable=False)
    task_type = models.CharField(max_length=32, choices=task_types.choices)
    rubric = models.JSONField(
        default=list,
        blank=True,
        help_text='Criteria as a list of {"key": "...", "label": "...", "description": "..."}.',
    )
    task_config = models.JSONField(
        default=dict, blank=True, help_text="Type-specific settings, e.g. labels for audio or harm categories."
    )
    overlap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Distinct contractors who must complete each task."
    )
    max_active_claims = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)], help_text="Tasks one contractor may hold at once."
    )
    claim_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="Time to finish a claimed task."
    )
    qualification = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="qualifies_for",
        limit_choices_to={"is_onboarding": True},
        help_text="An onboarding project a contractor must pass first.",
    )
    is_onboarding = models.BooleanField(
        default=False, help_text="Qualification or training work; paid as onboarding."
    )
    # Review and quality settings (work-and-review issue).
    review_sample_rate = models.PositiveSmallIntegerField(
        default=100,
        validators=[MaxValueValidator(100)],
        help_text="Percent of submissions that go to human review (100 = all; gold tasks are graded automatically).",
    )
    flag_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("2.50"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="A contractor whose rolling average grade falls below this is flagged for a lead's decision.",
    )
    flag_window = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1)], help_text="How many latest graded submissions the average spans."
    )
    flag_min_grades = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)], help_text="Grades needed before anyone can be flagged."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Pay next to the work (issue 19): the admin's estimate of a task's active minutes, shown until the
    # project has enough submissions for their median to replace it; and how long the workspace's clock
    # keeps counting without input while the page is visible and focused (reading is work).
    estimated_minutes = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text="The admin's estimate of the active minutes one task takes (shown until enough work is measured).",
    )
    idle_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Minutes without input after which the task page's clock pauses (while visible and focused).",
    )
    # Lineage (fair-work promise 3): the same work under a new name. Rates, grade policies and the
    # notice before a cut carry across it; set once, never undone (projects/sql/lineage.sql).
    continues = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="continued_by",
        help_text="The project this one continues (the same work under a new name): its rates, grade policy and "
                  "notice rules carry over.",
    )
    archived_at = models.DateTimeField(null=True, blank=True, help_text="When the project was closed (archived).")
    # Onboarding that leads somewhere (promise 4): what passing grants, and what it takes.
    grants_name = models.CharField(
        max_length=200, blank=True,
        help_text="Onboarding: the name of the qualification passing grants (blank: the project's name).",
    )
    pass_rule = models.CharField(max_length=16, choices=PassRule.choices, default=PassRule.AVERAGE_GRADE)
    pass_min_submissions = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Onboarding: how many graded submissions (or gold tasks) the pass rule counts.",
    )
    pass_min_average = models.DecimalField(
        max_digits=3, decimal_places=2, default=Decimal("4.00"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Onboarding, average-grade rule: the lowest average final grade that passes.",
    )
    pass_min_agreement = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("80.00"), validators=_PERCENT,
        help_text="Onboarding, gold rule: the lowest average agreement with the known answers that passes (%).",
    )
    # A wage floor that is kept (promise 5): empty while guaranteed; turning it off takes effect
    # only after the rate-cut notice, like any other cut.
    wage_floor_guarantee_ends_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Empty: the wage floor is guaranteed (top-ups on the payout). Else the end of the guarantee.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(pass_min_submissions__gte=1), name="project_pass_min_positive"),
            models.CheckConstraint(
                condition=Q(pass_min_average__gte=1) & Q(pass_min_average__lte=5), name="project_pass_average_in_range"
            ),
            models.CheckConstraint(
                condition=Q(pass_min_agreement__gte=0) & Q(pass_min_agreement__lte=100),
                name="project_pass_agreement_percent",
            ),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(condition=Q(max_active_claims__gte=1), name="project_max_active_positive"),
            models.CheckConstraint(condition=Q(claim_minutes__gte=1), name="project_claim_minutes_positive"),
            models.CheckConstraint(condition=Q(estimated_minutes__gte=1) & Q(estimated_minutes__lte=1440),
                                   name="project_estimated_minutes_range"),
            models.CheckConstraint(condition=Q(idle_minutes__gte=1) & Q(idle_minutes__lte=60),
                                   name="project_idle_minutes_range"),
            models.CheckConstraint(condition=Q(review_sample_rate__lte=100), name="project_review_sample_rate_percent"),
            models.CheckConstraint(
                condition=Q(flag_threshold__gte=1) & Q(flag_threshold__lte=5), name="project_flag_threshold_in_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def type(self) -> task_types.TaskType:
        return task_types.get(self.task_type).configured(self.task_config)

    def media_index(self) -> dict[str, dict]:
        """The project's media library by file name, with each file's stored name and measured facts
        (an import resolves the files its rows name from this, once per import, not once a row)."""
        if not hasattr(self, "_media_index"):
            self._media_index = {
                row["name"]: {**row, "media": row.pop("file")}
                for row in self.media_files.values("name", "file", "kind", "width", "height", "duration_seconds",
                                                   "fps")
            }
        return self._media_index

    @property
    def qualification_name(self) -> str:
        """What passing this onboarding project grants."""
        return self.grants_name or self.name

    @property
    def pass_rule_text(self) -> str:
        """What passing takes, in words a contractor reads before starting."""
        n = self.pass_min_submissions
        if self.pass_rule == PassRule.GOLD_AGREEMENT:
            return (f"{n} task{'s' if n != 1 else ''} with a known answer, agreeing with the answers "
                    f"{self.pass_min_agreement.normalize():f}% or more on average")
        return (f"{n} graded submission{'s' if n != 1 else ''} with an average final grade of "
                f"{self.pass_min_average} or more (your latest {n} count)")

    def wage_floor_guaranteed_at(self, moment) -> bool:
        return self.wage_floor_guarantee_ends_at is None or moment < self.wage_floor_guarantee_ends_at

    def clean(self):
        try:
            kind = task_types.get(self.task_type)
            self.task_config = kind.validate_config(self.task_config or {})
        except task_types.InvalidData as exc:
            raise ValidationError({"task_config": exc.message}) from None
        keys = set()
        if not isinstance(self.rubric, list):
            raise ValidationError({"rubric": "The rubric must be a list of criteria."})
        for index, criterion in enumerate(self.rubric):
            if not isinstance(criterion, dict) or not str(criterion.get("key", "")).strip():
                raise ValidationError({"rubric": f"Criterion {index + 1} needs a non-empty \"key\"."})
            if criterion["key"] in keys:
                raise ValidationError({"rubric": f"Criterion key {criterion['key']!r} is used twice."})
            for anchor in ("low", "high"):
                words = criterion.get(anchor, "")
                if not isinstance(words, str) or len(words) > 80:
                    raise ValidationError({"rubric": f"Criterion {index + 1}: \"{anchor}\" (what "
                                                     f"{'1' if anchor == 'low' else '5'} means) must be text of "
                                                     "at most 80 characters."})
            keys.add(criterion["key"])
        if self.qualification_id and self.qualification_id == self.pk:
            raise ValidationError({"qualification": "A project cannot be its own qualification."})


class InstructionVersion(models.Model):
    """One version of a project's instructions: each edit is a new row with its change note, never
    edited. A material change is told to the project's contractors; each submission records the
    version it was done under (annotations.Submission.instructions_version)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="instruction_versions")
    number = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    change_note = models.CharField(max_length=500, blank=True)
    material = models.BooleanField(default=False, help_text="Changes how the work is done: contractors are told.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="instruction_version_number_once"),
        ]

    def __str__(self) -> str:
        return f"v{self.number} of {self.project}"


class Qualification(models.Model):
    """A contractor has passed an onboarding project and may work on projects requiring it.

    A revocation keeps the row (when, by whom, why): from `revoked_at` on it no longer counts
    (projects/sql/eligibility.sql); a later grant is a new row. Only
    `projects.services.qualification_revoke` sets these fields, a person's decision.
    """

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qualifications")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="qualified")
    granted_at = models.DateTimeField(auto_now_add=True)
    # Empty when TaskHub granted it because the contractor met the project's pass rule.
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="From when the qualification no longer counts.")
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["contractor", "project"], condition=Q(revoked_at__isnull=True),
                                    name="qualification_one_unrevoked"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | (Q(revoked_by__isnull=False) & ~Q(revoke_reason="")),
                name="qualification_revocation_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contractor} passed {self.project}"


class PayRate(models.Model):
    """One entry of a project's append-only rate history (the database refuses edits)."""

    class Unit(models.TextChoices):
        PER_TASK = "per_task", "per task"
        PER_HOUR = "per_hour", "per hour"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="pay_rates")
    amount = models.DecimalField(max_digits=12, decimal_places=4, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    unit = models.CharField(max_length=16, choices=Unit.choices)
    effective_from = models.DateTimeField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-effective_from", "-id"]
        indexes = [models.Index(fields=["project", "-effective_from", "-id"], name="payrate_in_force_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="payrate_amount_not_negative")]

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.currency} {self.get_unit_display()}"

    @property
    def described(self) -> str:
        """As a contractor reads it: 16.00 USD per hour."""
        return f"{money_text(self.amount)} {self.currency} {self.get_unit_display()}"


# What a project without a grade policy pays (projects/sql/pay_rule.sql writes the same numbers).
_DEFAULT_PAY_PERCENTS = {
    "pay_grade_5": Decimal("100"),
    "pay_grade_4": Decimal("100"),
    "pay_grade_3": Decimal("100"),
    "pay_grade_2": Decimal("50"),
    "pay_grade_1": Decimal("0"),
    "pay_ungraded": Decimal("100"),
}


def _percent_field(label: str, name: str) -> models.DecimalField:
    return models.DecimalField(label, max_digits=5, decimal_places=2, default=_DEFAULT_PAY_PERCENTS[name],
                               validators=_PERCENT)


class GradePolicy(models.Model):
    """One entry of a project's append-only grade-policy history: what share of the pay each final
    grade earns on the work submitted from `effective_from` (the database refuses edits).

    Work is paid by the policy in force when it was submitted (projects/sql/grade_policy.sql,
    across the lineage as rates are); a lowering waits for the rate-cut notice. Work that is not
    graded yet earns `pay_ungraded` (in full by default: people are paid when they submit, and a
    later grade below full pay becomes an adjustment). Onboarding projects always pay in full,
    whatever the grade (fair-work promise 4). A raise applied to past work appends, for each past
    period, a copy of the policy then in force raised cellwise to the new one (`extends`), so past
    pay only ever goes up.
    """

    DEFAULT_PERCENTS = _DEFAULT_PAY_PERCENTS

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="grade_policies")
    pay_grade_5 = _percent_field("grade 5 (% of pay)", "pay_grade_5")
    pay_grade_4 = _percent_field("grade 4 (% of pay)", "pay_grade_4")
    pay_grade_3 = _percent_field("grade 3 (% of pay)", "pay_grade_3")
    pay_grade_2 = _percent_field("grade 2 (% of pay)", "pay_grade_2")
    pay_grade_1 = _percent_field("grade 1 (% of pay)", "pay_grade_1")
    pay_ungraded = _percent_field("not graded yet (% of pay)", "pay_ungraded")
    effective_from = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    # For the rows a raise applied to past work appends: the policy whose raise they carry back.
    extends = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "grade policies"
        ordering = ["project", "-effective_from", "-id"]
        indexes = [models.Index(fields=["project", "-effective_from", "-id"], name="gradepolicy_in_force_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{name}__gte": 0 for name in GRADE_POLICY_FIELDS})
                & Q(**{f"{name}__lte": 100 for name in GRADE_POLICY_FIELDS}),
                name="grade_policy_percent_range",
            )
        ]

    def __str__(self) -> str:
        return f"Grade policy of {self.project} from {self.effective_from:%Y-%m-%d %H:%M}"

    @property
    def percents(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in GRADE_POLICY_FIELDS}


class PayTerms(models.Model):
    """A rate and a grade policy that some work is paid by together (the policy empty: the default
    percents). Rows are written by the database only (projects_pay_terms_for in
    projects/sql/pay_rule.sql), the first time a submission needs the pair, and never change. Each
    submission keeps its terms' id (annotations/sql/submission_cache.sql), so the nightly recompute
    reads the pay of a (terms, grade) cell at one offset, as it read a (rate, grade) cell before
    policies had a history."""

    rate = models.ForeignKey(PayRate, on_delete=models.PROTECT, related_name="+")
    policy = models.ForeignKey(GradePolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name_plural = "pay terms"
        constraints = [
            models.UniqueConstraint(fields=["rate", "policy"], nulls_distinct=False, name="payterms_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"rate {self.rate_id} with policy {self.policy_id or 'default'}"


class LineageDecision(models.Model):
    """An admin's answer to TaskHub's proposal that a new project continues a recently closed one
    (same task type and qualification, the same people): it continues it, or it does not, with a
    written reason that the closed project's contractors are shown."""

    class Decision(models.TextChoices):
        CONTINUES = "continues", "Continues it"
        DECLINED = "declined", "Not a continuation"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="lineage_decisions")
    candidate = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "candidate"], name="lineage_decision_once"),
            models.CheckConstraint(condition=Q(decision="continues") | ~Q(reason=""),
                                   name="lineage_decline_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.decision} {self.candidate_id}"


class CapStep(NamedTuple):
    """One step of a fair-share batch's published cap schedule, `offset` after its release.

    kinds: `equal_share` (at release: the slots over the eligible contractors, or the admin's fixed
    cap), `demand` (the demand share, and at least one more than before), `returned` (a lottery's
    reservations have ended: the demand share for what came back), `end` (no cap from then on).
    """

    offset: timedelta
    kind: str


DEFAULT_RESERVATION_PERIOD = timedelta(hours=24)
DEFAULT_FAIR_SHARE_HORIZON = timedelta(hours=24)
DEFAULT_FAIR_SHARE_RELAX_EVERY = timedelta(hours=4)


class Batch(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        EXHAUSTED = "exhausted", "Exhausted"
        CLOSED = "closed", "Closed"

    class Policy(models.TextChoices):
        FIRST_COME = "first_come", "First come"
        FAIR_SHARE = "fair_share", "Fair share"
        LOTTERY = "lottery", "Lottery"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="batches")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    release_policy = models.CharField(max_length=16, choices=Policy.choices, default=Policy.FIRST_COME)
    fair_share_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most claims one contractor may hold from this batch (fair share)."
    )
    fair_share_cap_derived = models.BooleanField(
        default=False, help_text="The cap is derived (the equal share at release, then the demand share on the "
                                 "published schedule), not fixed by an admin."
    )
    # The cap schedule (see `fair_share_steps`): the step last applied, and when the cap ends.
    fair_share_step = models.PositiveSmallIntegerField(
        default=0, help_text="Index of the last step of the cap schedule applied (0: the cap set at release)."
    )
    fair_share_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Set at release: from then on the fair-share cap no longer applies."
    )
    fair_share_horizon = models.DurationField(
        default=DEFAULT_FAIR_SHARE_HORIZON,
        help_text="Fair share: the cap relaxes over this time after release and is gone at its end.",
    )
    fair_share_relax_every = models.DurationField(
        default=DEFAULT_FAIR_SHARE_RELAX_EVERY,
        help_text="Fair share: from half the horizon on, the cap is recomputed (and grows) this often.",
    )
    # What happens to a lottery batch's tasks that nobody won, were handed back or whose reservation
    # lapsed (fair share unless the admin chose first come).
    fallback_policy = models.CharField(
        max_length=16,
        choices=[(Policy.FIRST_COME, Policy.FIRST_COME.label), (Policy.FAIR_SHARE, Policy.FAIR_SHARE.label)],
        default=Policy.FAIR_SHARE,
        help_text="Lottery batches: how tasks left over after the draw, handed back or not started in time are "
                  "handed out.",
    )
    reservation_period = models.DurationField(
        default=DEFAULT_RESERVATION_PERIOD,
        help_text="Lottery batches: how long each win is held for its winner; the claim time starts when they "
                  "open it.",
    )
    reservation_opens_at = models.DateTimeField(
        null=True, blank=True, help_text="Lottery batches: contractors may opt in from this time until release."
    )
    lottery_max_per_person = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Lottery batches: most tasks one person may ask for (blank: the project cap)."
    )
    is_urgent = models.BooleanField(default=False, help_text="Scheduled with less than the minimum notice.")
    urgent_reason = models.CharField(max_length=500, blank=True)
    urgent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lottery_seed = models.BigIntegerField(null=True, blank=True, help_text="Seed of the lottery allocation.")
    allocated_at = models.DateTimeField(null=True, blank=True)
    release_at = models.DateTimeField(null=True, blank=True, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Closing is a decision (projects.services.batch_close): who closed it and why; the contractors
    # still holding its claims read the reason.
    closed_reason = models.TextField(blank=True, default="", db_default="")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            models.CheckConstraint(
                condition=Q(fair_share_cap__isnull=True) | Q(fair_share_cap__gte=1), name="batch_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(lottery_max_per_person__isnull=True) | Q(lottery_max_per_person__gte=1),
                name="batch_lottery_max_positive",
            ),
            models.CheckConstraint(
                condition=Q(fallback_policy__in=["first_come", "fair_share"]), name="batch_fallback_policy_valid"
            ),
            models.CheckConstraint(
                condition=Q(is_urgent=False) | ~Q(urgent_reason=""), name="batch_urgent_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(reservation_period__gt=timedelta(0)) & Q(fair_share_horizon__gt=timedelta(0))
                & Q(fair_share_relax_every__gt=timedelta(0)),
                name="batch_release_periods_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.name} / {self.name}"

    @property
    def effective_policy(self) -> str:
        """The policy claims follow now: a lottery batch follows its fallback once allocated."""
        if self.release_policy == self.Policy.LOTTERY:
            return self.fallback_policy if self.allocated_at else self.Policy.LOTTERY
        return self.release_policy

    @property
    def lottery_request_limit(self) -> int:
        """Most tasks one person may ask for in this batch's lottery (needs `project` loaded)."""
        caps = [self.project.max_active_claims]
        if self.lottery_max_per_person:
            caps.append(self.lottery_max_per_person)
        if self.fair_share_cap and not self.fair_share_cap_derived:
            caps.append(self.fair_share_cap)
        return min(caps)

    @property
    def follows_fair_share(self) -> bool:
        """Claims from this batch are capped per person (now, or after its lottery draw)."""
        return self.release_policy == self.Policy.FAIR_SHARE or (
            self.release_policy == self.Policy.LOTTERY and self.fallback_policy == self.Policy.FAIR_SHARE
        )

    def fair_share_steps(self) -> list[CapStep]:
        """The published cap schedule, as offsets from the release (the same for every batch with
        these settings; `annotations.services.release.fair_share_caps_relax` applies it).

        A fixed cap holds until the end; a derived one starts at the equal share, stays there for
        the first half of the horizon (every time zone has a morning in it), then is recomputed every
        `fair_share_relax_every`. A lottery's cap also steps when its reservations end, and ends no
        sooner than one relax period after that, so what comes back is shared, never first come.
        """
        if not self.follows_fair_share:
            return []
        horizon, every = self.fair_share_horizon, self.fair_share_relax_every
        end = horizon
        returned = None
        if self.release_policy == self.Policy.LOTTERY:
            returned = self.reservation_period
            end = max(end, returned + every)
        steps = [CapStep(timedelta(0), "equal_share")]
        if self.fair_share_cap_derived or self.fair_share_cap is None:
            offset = horizon / 2
            while offset < end:
                steps.append(CapStep(offset, "demand"))
                offset += every
            if returned is not None and returned < end:
                steps = [s for s in steps if s.offset != returned] + [CapStep(returned, "returned")]
                steps.sort(key=lambda step: step.offset)
        steps.append(CapStep(end, "end"))
        return steps

    def fair_share_step_due(self, now: datetime) -> int:
        """Index of the latest step of the schedule due at `now` (0 before any relaxation)."""
        if self.released_at is None:
            return 0
        elapsed = now - self.released_at
        due = 0
        for index, step in enumerate(self.fair_share_steps()):
            if step.offset <= elapsed:
                due = index
        return due

    def reservation_is_open(self, now) -> bool:
        return (
            self.release_policy == self.Policy.LOTTERY
            and self.status == self.Status.SCHEDULED
            and self.allocated_at is None
            and self.reservation_opens_at is not None
            and self.release_at is not None
            and self.reservation_opens_at <= now < self.release_at
        )


class Task(models.Model):
    """One unit of work. `claim_count` counts active plus submitted claims; the database
    refuses more than `overlap` of them, whatever the concurrency."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="tasks")
    # Copied from the batch so the claim query needs no join to find a project's work.
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="tasks")
    external_id = models.CharField(max_length=200)
    payload = models.JSONField()
    gold_answer = models.JSONField(null=True, blank=True)
    reference_answer = models.JSONField(
        null=True, blank=True, help_text="A known answer carried in from the source data (not used for grading)."
    )
    overlap = models.PositiveSmallIntegerField()
    claim_count = models.PositiveIntegerField(default=0)
    submitted_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "external_id"], name="task_external_id_unique_in_batch"),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="task_overlap_positive"),
            models.CheckConstraint(condition=Q(claim_count__lte=F("overlap")), name="task_claims_within_overlap"),
            models.CheckConstraint(
                condition=Q(submitted_count__lte=F("claim_count")), name="task_submitted_within_claims"
            ),
        ]
        indexes = [
            # The claim statement's one scan: a batch's free tasks in id order (annotations.services.claims).
            models.Index(
                fields=["batch", "id"], condition=Q(claim_count__lt=F("overlap")), name="task_claimable_in_batch_idx"
            ),
            models.Index(
                fields=["batch"], condition=Q(submitted_count__lt=F("overlap")), name="task_unfinished_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.external_id}"

    @property
    def is_gold(self) -> bool:
        return self.gold_answer is not None


class TaskImport(models.Model):
    """An upload of tasks into a batch, validated whole and written in one transaction.

    An upload into a new batch names it (`new_batch_name`); the batch is created in the transaction
    that writes the tasks, so a file that fails leaves no empty batch behind."""

    class Format(models.TextChoices):
        AUTO = "auto", "Detect from the file"
        JSONL = "jsonl", "TaskHub JSON Lines"
        CSV = "csv", "CSV"
        HH_RLHF = "hh_rlhf", "HH-RLHF preference pairs (chosen / rejected)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        VALIDATING = "validating", "Validating"
        WRITING = "writing", "Writing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="imports")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="imports")
    new_batch_name = models.CharField(max_length=200, blank=True,
                                      help_text="For an upload into a new batch: its name, created once the tasks are.")
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.AUTO)
    gold_from_reference = models.BooleanField(
        default=False, help_text="Use the source's known answer as the gold answer (graded automatically)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total_bytes = models.BigIntegerField(default=0)
    processed_bytes = models.BigIntegerField(default=0)
    processed_lines = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    seed = models.BigIntegerField(null=True, blank=True, help_text="Seed of the random A/B order (HH-RLHF).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(batch__isnull=False) | ~Q(new_batch_name=""),
                                   name="taskimport_batch_or_new_batch_name"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} → {self.batch_label}"

    def save(self, *args, **kwargs):
        # An import into an existing batch belongs to that batch's project.
        if self.project_id is None and self.batch_id is not None:
            self.project_id = self.batch.project_id
        super().save(*args, **kwargs)

    @property
    def batch_label(self) -> str:
        """The batch, or the new batch the upload will create once its tasks are written."""
        if self.batch_id:
            return str(self.batch)
        return f"{self.new_batch_name} (new batch)"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_bytes:
            return 0
        return min(99, int(100 * self.processed_bytes / self.total_bytes))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


# --- Webhooks (issue 18) --------------------------------------------------------------------------

WEBHOOK_EVENTS = ("batch.exhausted", "export.ready", "submission.reviewed")


class Webhook(models.Model):
    """An admin's URL that is told about a project's events, each delivery signed with `secret`
    (header X-TaskHub-Signature: sha256=HMAC-SHA256(secret, body))."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000, help_text="Where events are POSTed (http or https).")
    events = models.JSONField(default=list, help_text=f"Any of: {', '.join(WEBHOOK_EVENTS)}.")
    secret = models.CharField(max_length=128, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return f"{self.project} → {self.url}"


class WebhookDelivery(models.Model):
    """One event for one webhook: the exact body that is signed and sent, and how sending went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        RETRYING = "retrying", "Failed, will retry"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    # Sent as the X-TaskHub-Delivery header: receivers drop repeats by it (delivery is at least once).
    uuid = models.UUIDField(unique=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_hook_idx")]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.status})"


def media_upload_to(instance: "MediaFile", filename: str) -> str:
    """Uploads are stored under a name of our making (the person's file name is kept in `name`)."""
    suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "mp4": ".mp4", "webm": ".webm"}
    return f"task-media/{instance.project_id}/{instance.sha256[:32]}{suffix.get(instance.format, '')}"


class MediaFile(models.Model):
    """An image or a video clip uploaded to a project's media library, checked by its content
    (projects.media); import rows name it by `file`."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        AUDIO = "audio", "Audio"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="media_files")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=media_upload_to, max_length=300)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    format = models.CharField(max_length=16)
    content_type = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="media_file_name_unique_per_project"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def served_url(self) -> str:
        return media_url(self.file.name)


def media_url(name: str) -> str:
    """Where a stored task medium is served: TaskHub's own view (byte ranges, signed-in people only) for
    files in MEDIA_ROOT, the storage's URL (a signed one with S3) otherwise."""
    if isinstance(default_storage, FileSystemStorage):
        return reverse("media", args=[name])
    return default_storage.url(name)


# --- Model endpoints and generated pairwise batches (issue 21) ------------------------------------

_ENV_VAR_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
_LOOKS_LIKE_A_KEY = re.compile(r"^(sk-|sk_|hf_|gsk_|xai-|key-)|[a-z].*[0-9]|[0-9].*[a-z]|-")


def base_url_validator(value: str) -> None:
    """An http(s) URL of a server, which may be a bare internal host name (http://vllm:8000/v1)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValidationError("Give the server's http:// or https:// URL, e.g. http://vllm:8000/v1.")
    if parts.username or parts.password:
        raise ValidationError("Put no credentials in the URL; name the environment variable of the API key instead.")
    try:
        parts.port  # noqa: B018 -- reading it checks it
    except ValueError:
        raise ValidationError("The port in this URL is not a number from 1 to 65535.") from None


def env_var_name_validator(value: str) -> None:
    """The name of an environment variable, never the key itself (a pasted key is refused, and says so)."""
    if _LOOKS_LIKE_A_KEY.search(value):
        raise ValidationError("This looks like an API key itself. Give the NAME of the environment variable that "
                              "holds the key (e.g. TASKHUB_MODEL_KEY): TaskHub never stores keys.")
    if not _ENV_VAR_NAME.match(value):
        raise ValidationError("The name of an environment variable: capital letters, digits and _, not starting "
                              "with a digit (e.g. TASKHUB_MODEL_KEY).")


class ModelEndpoint(models.Model):
    """An OpenAI-compatible chat completions endpoint of a project (vLLM, Text Generation Inference, the
    llama.cpp server, Ollama or a hosted API): where it is, which model, and the limits TaskHub keeps.

    The API key is never stored: `api_key_env` names the environment variable of the web and worker
    processes that holds it (blank: the server needs no key). The red-team workspace talks to the
    project's `is_default` endpoint; pairwise generation may use any two of a project's endpoints.
    """

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="model_endpoints")
    name = models.CharField(max_length=80, help_text="How admins tell the project's endpoints apart.")
    base_url = models.CharField(
        max_length=500, validators=[base_url_validator],
        help_text="The API's base URL, up to and including /v1 (e.g. http://vllm:8000/v1).")
    model = models.CharField(max_length=200, help_text="The model name the server expects, e.g. llama-3.1-8b.")
    api_key_env = models.CharField(
        max_length=100, blank=True, validators=[env_var_name_validator],
        help_text="The NAME of the environment variable holding the API key (blank: no key). The key itself "
                  "is never stored in TaskHub's database.",
    )
    system_prompt = models.TextField(blank=True, help_text="Sent first in every conversation (blank: none).")
    temperature = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("2"))],
        help_text="0–2; blank: the server's default.",
    )
    max_tokens = models.PositiveIntegerField(
        default=1024, validators=[MinValueValidator(1), MaxValueValidator(32_000)],
        help_text="The longest reply, in tokens; a longer one is cut off (and marked so).",
    )
    connect_timeout_seconds = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="How long to wait for the server to accept the connection.",
    )
    read_timeout_seconds = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(300)],
        help_text="The longest wait for the first or the next piece of a reply.",
    )
    max_reply_seconds = models.PositiveSmallIntegerField(
        default=120, validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="A reply still streaming after this long is stopped (at most TASKHUB_MODEL_MAX_REPLY_SECONDS).",
    )
    requests_per_task = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Messages one contractor may send the model on one task.",
    )
    requests_per_contractor_hour = models.PositiveSmallIntegerField(
        default=120, validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="Messages one contractor may send this endpoint in any hour.",
    )
    is_default = models.BooleanField(default=True, help_text="The endpoint the red-team workspace talks to.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="model_endpoint_name_unique_per_project"),
            models.UniqueConstraint(fields=["project"], condition=Q(is_default=True),
                                    name="model_endpoint_one_default_per_project"),
            models.CheckConstraint(
                condition=Q(max_tokens__gte=1) & Q(connect_timeout_seconds__gte=1) & Q(read_timeout_seconds__gte=1)
                & Q(max_reply_seconds__gte=1) & Q(requests_per_task__gte=1) & Q(requests_per_contractor_hour__gte=1),
                name="model_endpoint_limits_positive",
            ),
            models.CheckConstraint(
                condition=Q(temperature__isnull=True) | (Q(temperature__gte=0) & Q(temperature__lte=2)),
                name="model_endpoint_temperature_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"


class PairwiseGeneration(models.Model):
    """A pairwise batch made from a file of prompts: for each prompt a Celery job samples one reply from
    side A and one from side B (two endpoints, or two settings of one), in an order drawn at random per
    prompt, and writes the task. Progress is the count of prompts done; a run that dies resumes where
    it stopped (each prompt is written once, `GeneratedPair`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        VALIDATING = "validating", "Reading the prompts"
        RUNNING = "running", "Generating"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="generations")
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="generations")
    new_batch_name = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to="generations/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255)
    endpoint_a = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    endpoint_b = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    # The settings each side samples with (temperature, max_tokens), fixed when the job is made.
    settings_a = models.JSONField(default=dict, blank=True)
    settings_b = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(help_text="Seed of the random A/B order, so a run can be replayed.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    prompts_total = models.PositiveIntegerField(default=0)
    prompts_done = models.PositiveIntegerField(default=0)
    prompts_failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(batch__isnull=False) | ~Q(new_batch_name=""),
                                   name="generation_batch_or_new_batch_name"),
        ]

    def __str__(self) -> str:
        return f"generation {self.pk} of {self.project_id} from {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.prompts_total:
            return 0
        return min(99, int(100 * (self.prompts_done + self.prompts_failed) / self.prompts_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class GeneratedPair(models.Model):
    """One prompt of a generation, done: its task, which side produced which response, and what it cost.
    Unique per generation and line, so a resumed run never writes a prompt twice."""

    generation = models.ForeignKey(PairwiseGeneration, on_delete=models.CASCADE, related_name="pairs")
    line = models.PositiveIntegerField()
    task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="generated_pair")
    # True: response_a came from side B (the order is drawn per prompt so position says nothing).
    swapped = models.BooleanField(default=False)
    model_a = models.CharField(max_length=200, blank=True)
    model_b = models.CharField(max_length=200, blank=True)
    tokens = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="Why this prompt has no task (the model failed after retries).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["generation", "line"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "line"], name="generated_pair_once_per_line"),
        ]

    def __str__(self) -> str:
        return f"line {self.line} of generation {self.generation_id}"
