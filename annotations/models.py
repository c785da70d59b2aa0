"""The claim engine's records (claims, lottery entries and draws), the work (submissions) and its
grading (reviews, appeals, flags with the contractor's answer, pauses and their appeals, the grading
trail and agreement figures)."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from projects.models import (
    Batch,
    GradePolicy,
    InstructionVersion,
    ModelEndpoint,
    PayRate,
    PayTerms,
    Project,
    Task,
)


class Claim(models.Model):
    """A contractor's hold on one of a task's slots.

    A claim made through the claim engine is `active` from the start, with a `deadline`. A lottery
    win is `reserved` first: the slot is held for the winner until `reserved_until` with no deadline
    running; opening it makes it `active` (the deadline starts then, `opened_at` records when).
    Active, submitted and reserved claims count in the task's `claim_count`; expired, released
    (given or handed back) and lapsed (a reservation not opened in time) ones gave the slot back.
    """

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        EXPIRED = "expired", "Expired"
        RELEASED = "released", "Released"
        LAPSED = "lapsed", "Lapsed"

    class Source(models.TextChoices):
        CLAIM = "claim", "Claimed by the contractor"
        DRAW = "draw", "Won in a lottery draw"

    # The statuses that hold a slot of the task (claim_count) and one of the contractor's caps.
    HOLDING = (Status.RESERVED, Status.ACTIVE, Status.SUBMITTED)
    HELD_OPEN = (Status.RESERVED, Status.ACTIVE)

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="claims")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims")
    # Copied from the task so caps and dashboards need no joins.
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="claims")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="claims")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CLAIM, db_default=Source.CLAIM)
    claimed_at = models.DateTimeField(help_text="When the slot was taken: by the contractor, or by the draw.")
    # Empty while reserved: the claim time starts only when the winner opens the task.
    deadline = models.DateTimeField(null=True, blank=True)
    reserved_until = models.DateTimeField(null=True, blank=True, help_text="Lottery wins: held for the winner until.")
    opened_at = models.DateTimeField(null=True, blank=True, help_text="Lottery wins: when the winner opened it.")
    finished_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.PositiveIntegerField(default=0)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The unfinished answer as the contractor left it, restored when they come back.
    draft = models.JSONField(null=True, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    # Why the contractor gave the task back (released) or ended it with a problem report.
    release_reason = models.CharField(max_length=500, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [
            # Never the same contractor twice on one task, whatever became of the first claim.
            models.UniqueConstraint(fields=["task", "contractor"], name="claim_one_per_contractor_per_task"),
            # A reservation has its end and no deadline yet; active work always has a deadline.
            models.CheckConstraint(
                condition=~Q(status="reserved") | Q(reserved_until__isnull=False, deadline__isnull=True),
                name="claim_reserved_has_no_deadline",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["active", "submitted", "expired"]) | Q(deadline__isnull=False),
                name="claim_worked_has_deadline",
            ),
        ]
        indexes = [
            # The contractor's open holds on a project (the active-claim cap counts reservations too).
            models.Index(
                fields=["contractor", "project"], condition=Q(status__in=["active", "reserved"]), name="claim_held_idx"
            ),
            # For the expiry sweep (deadline <= now, which implies deadline IS NOT NULL). The extra
            # IS NOT NULL keeps this index out of reach of the claim statement's count of a
            # contractor's active claims: when the statistics show few active claims, the planner
            # would otherwise prefer this smaller index and filter every active claim of every
            # contractor, on each claim, instead of using claim_held_idx.
            models.Index(
                fields=["deadline"], condition=Q(status="active") & Q(deadline__isnull=False),
                name="claim_deadline_idx",
            ),
            # For the lapse sweep (reservations whose end has come).
            models.Index(fields=["reserved_until"], condition=Q(status="reserved"), name="claim_reserved_until_idx"),
            models.Index(fields=["batch", "contractor"], name="claim_batch_contractor_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.pk} on task {self.task_id} by {self.contractor_id}"

    @property
    def taken_at(self):
        """When the contractor took this task themselves: claimed it, or opened their lottery win."""
        return self.opened_at if self.source == self.Source.DRAW else self.claimed_at


class ModelTurn(models.Model):
    """One message of a red-team conversation and the model's reply, recorded by the server as part of
    the claim (services/conversation.py): what was sent, what came back, which model, how long it took
    and what it counted. The answer's transcript is built from these rows, never typed.

    `pending`: recorded, not yet sent; `streaming`: the reply is coming (saved as it grows); `done`;
    `cut_off`: the reply stopped at the token limit or the time bound (kept, and marked so); `failed`:
    no reply came (down, slow, rate-limited, a refused key: `error_code` says which); `interrupted`:
    the reply broke off part-way (the connection or the server went away; what came is kept). Done and
    cut-off turns are the transcript; failed ones do not count against the budgets.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        STREAMING = "streaming", "The model is answering"
        DONE = "done", "Answered"
        CUT_OFF = "cut_off", "Answered, cut off"
        FAILED = "failed", "No reply"
        INTERRUPTED = "interrupted", "Broke off"

    OPEN = (Status.PENDING, Status.STREAMING)
    TRANSCRIPT = (Status.DONE, Status.CUT_OFF)
    # What the per-task and per-hour budgets count: every request the model worked on.
    COUNTED = (Status.PENDING, Status.STREAMING, Status.DONE, Status.CUT_OFF, Status.INTERRUPTED)

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="turns")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="turns")
    position = models.PositiveSmallIntegerField(help_text="Order of the message among the claim's messages.")
    prompt = models.TextField()
    reply = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    model = models.CharField(max_length=200, help_text="The model the server said answered (else the configured one).")
    sampling = models.JSONField(default=dict, blank=True, help_text="What the request sampled with.")
    finish_reason = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="From sending to the whole reply.")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["claim", "position"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "position"], name="model_turn_position_unique"),
            # One message on its way at a time per conversation, whatever the clicks.
            models.UniqueConstraint(fields=["claim"], condition=Q(status__in=["pending", "streaming"]),
                                    name="model_turn_one_open_per_claim"),
        ]
        indexes = [
            # The per-contractor hourly budget of an endpoint.
            models.Index(fields=["contractor", "endpoint", "created_at"], name="model_turn_budget_idx"),
        ]

    def __str__(self) -> str:
        return f"turn {self.position} of claim {self.claim_id} ({self.status})"


class BatchDemand(models.Model):
    """Someone eligible wanted work from a batch: they opted in to its lottery, or asked for work
    while it was open and got none (nothing left for them, or its fair-share cap reached).

    One row per batch and contractor, the first reason kept; written by the claim engine and the
    lottery with INSERT ... ON CONFLICT DO NOTHING, so races and repeats add nothing. Together with
    the contractors who hold claims, these are the people fairness is measured over.
    """

    class Reason(models.TextChoices):
        OPTED_IN = "opted_in", "Opted in to the lottery"
        FOUND_NONE = "found_none", "Asked and found nothing left"
        CAPPED = "capped", "Asked and was at the fair-share cap"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="demand")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_demand")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["batch", "recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "contractor"], name="batch_demand_once_per_contractor"),
        ]

    def __str__(self) -> str:
        return f"{self.contractor_id} wanted work from {self.batch_id} ({self.reason})"


# --- The lottery (fair release) ------------------------------------------------------------


class LotteryEntry(models.Model):
    """A contractor's opt-in to a lottery batch, asking for up to `requested` tasks."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="lottery_entries")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lottery_entries")
    requested = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    # Filled by the allocation: the share this person could take after caps, and what they got.
    quota = models.PositiveSmallIntegerField(null=True, blank=True)
    allocated = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["batch", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "contractor"], name="lottery_entry_once_per_batch"),
            models.CheckConstraint(condition=Q(requested__gte=1), name="lottery_entry_requested_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.contractor} in {self.batch} (asks {self.requested})"


class LotteryAllocation(models.Model):
    """The audit record of a lottery: one per batch (the schema refuses a second)."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="lottery_allocation")
    seed = models.BigIntegerField()
    participants = models.PositiveIntegerField()
    requested_total = models.PositiveIntegerField()
    slots_total = models.PositiveIntegerField(help_text="Free task slots (tasks x overlap) at allocation.")
    claims_created = models.PositiveIntegerField()
    fair_share_cap = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    allocated_at = models.DateTimeField()

    class Meta:
        ordering = ["-allocated_at"]

    def __str__(self) -> str:
        return f"lottery of {self.batch_id}: {self.claims_created} claims among {self.participants}"


class Submission(models.Model):
    """A contractor's answer to a claimed task."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="submission")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="submissions")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="submissions")
    answer = models.JSONField()
    active_seconds = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField()
    # Copied from the task at submit time: graded automatically against the known answer.
    is_gold = models.BooleanField(default=False)
    # Whether a human grades it: all submissions, or the project's sampled share.
    needs_review = models.BooleanField(default=True)
    # The project's instructions in force when it was submitted (set by claim_submit); reviewers and
    # appeal deciders see it, and what changed since.
    instructions_version = models.ForeignKey(
        InstructionVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False,
    )
    # Kept by the database itself (triggers, see annotations/sql/ and payouts/sql/), so the nightly
    # earnings recompute reads one table instead of joining rates, policies, reviews, appeals and the
    # ledger. Whatever a writer puts in these columns is ignored; the triggers own
    # them, and `payouts.selectors.submission_cache_disagreements` audits them.
    pay_rate = models.ForeignKey(
        PayRate, null=True, blank=True, editable=False, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="+",
        help_text="The project's rate in force when the work was submitted (function "
                  "projects_pay_rate_in_force); empty before the project's first rate.",
    )
    grade_policy = models.ForeignKey(
        GradePolicy, null=True, blank=True, editable=False, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="+",
        help_text="The grade policy in force when the work was submitted (function projects_grade_policy_in_force); "
                  "empty: the default percents.",
    )
    pay_terms = models.ForeignKey(
        PayTerms, null=True, blank=True, editable=False, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="+",
        help_text="The pair of the two above (function projects_pay_terms_for), whose pay cells the recompute reads.",
    )
    final_grade = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False,
        help_text="The grade pay follows (view annotations_final_grade); empty while ungraded.",
    )
    posted_cents = models.BigIntegerField(
        db_default=0, editable=False,
        help_text="Sum of the ledger entries whose source is this submission, in cents.",
    )
    posted_entries = models.PositiveIntegerField(
        db_default=0, editable=False, help_text="How many ledger entries have this submission as source."
    )

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["contractor", "-submitted_at"], name="submission_contractor_idx"),
            models.Index(fields=["project", "submitted_at"], name="submission_project_idx"),
            models.Index(
                fields=["submitted_at", "id"], condition=Q(needs_review=True), name="submission_review_queue_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"submission {self.pk} on task {self.task_id}"

# --- Reviews, appeals, flags and quality figures (work-and-review issue) ----------------------


class ReviewerRole(models.TextChoices):
    """Who graded, as the contractor sees it: a role, never a name."""

    LEAD = "lead", "Team lead"
    ADMIN = "admin", "Admin"
    PEER = "peer", "Peer reviewer"
    AUTOMATIC = "automatic", "Automatic (known answer)"


class Review(models.Model):
    """A grade of a submission: 1–5 overall, marks per rubric criterion and a reason.

    A submission has at most one *current* review (kind `reviewer` or `automatic`); the
    database refuses a second one, so two reviewers grading at once produce one review.
    Reviewers also grade gold submissions blind to calibrate: those `calibration` reviews
    never count towards pay and are compared with the automatic grade.
    """

    class Kind(models.TextChoices):
        REVIEWER = "reviewer", "Review"
        AUTOMATIC = "automatic", "Automatic gold grade"
        CALIBRATION = "calibration", "Calibration"

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews_given"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REVIEWER)
    # The reviewer's role when they graded, kept so later role changes do not rewrite history.
    reviewer_role = models.CharField(max_length=16, choices=ReviewerRole.choices)
    score = models.PositiveSmallIntegerField()
    marks = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    # Automatic grades keep the type's agreement with the known answer (0.0–1.0).
    gold_agreement = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1) & Q(score__lte=5), name="review_score_1_to_5"),
            models.UniqueConstraint(
                fields=["submission"], condition=~Q(kind="calibration"), name="review_one_current_per_submission"
            ),
            models.UniqueConstraint(
                fields=["submission", "reviewer"], condition=Q(kind="calibration"),
                name="review_one_calibration_per_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(kind="automatic") | Q(reviewer__isnull=False), name="review_human_has_reviewer"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "-created_at"], name="review_reviewer_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score}/5 of submission {self.submission_id}"

    @property
    def is_current(self) -> bool:
        return self.kind != self.Kind.CALIBRATION

    @property
    def appeal_deadline(self):
        return self.created_at + settings.TASKHUB_APPEAL_WINDOW

    def _appeal_or_none(self):
        try:
            return self.appeal
        except Appeal.DoesNotExist:
            return None

    @property
    def final_score(self) -> int:
        """What pay follows: the revised score when an appeal revised it, else the revised score when a
        second opinion's decision revised it, else the score.

        The same rule, for the database, is the view annotations_final_grade (migration 0003),
        which triggers copy into `Submission.final_grade` for the earnings recompute.
        """
        appeal = self._appeal_or_none()
        if appeal is not None and appeal.status == Appeal.Status.REVISED:
            return appeal.revised_score
        opinion = self._second_opinion_or_none()
        if opinion is not None and opinion.status == SecondOpinion.Status.REVISED:
            return opinion.revised_score
        return self.score

    @property
    def appeal_or_none(self):
        return self._appeal_or_none()

    @property
    def second_opinion_or_none(self):
        return self._second_opinion_or_none()

    @property
    def decided_second_opinion(self):
        """The second opinion of this grade once a lead or admin decided it (what the contractor reads);
        before the decision the contractor sees nothing of it: it changes nothing yet."""
        opinion = self._second_opinion_or_none()
        if opinion is not None and opinion.status in (SecondOpinion.Status.STANDS, SecondOpinion.Status.REVISED):
            return opinion
        return None

    def _second_opinion_or_none(self):
        try:
            return self.second_opinion
        except SecondOpinion.DoesNotExist:
            return None

    def can_be_appealed(self, now=None) -> bool:
        now = now or timezone.now()
        return self.is_current and self._appeal_or_none() is None and now <= self.appeal_deadline


class Appeal(models.Model):
    """A contractor contests a review; a different reviewer upholds or revises it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld"
        REVISED = "revised", "Revised"

    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="appeal")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appeals")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="appeals_decided"
    )
    decided_by_role = models.CharField(max_length=16, choices=ReviewerRole.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    revised_score = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="revised", revised_score__gte=1, revised_score__lte=5)
                | (~Q(status="revised") & Q(revised_score__isnull=True)),
                name="appeal_revised_score_only_when_revised",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="appeal_decision_recorded",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], condition=Q(status="open"), name="appeal_open_idx")]

    def __str__(self) -> str:
        return f"appeal {self.pk} of review {self.review_id} ({self.status})"


class SecondOpinion(models.Model):
    """A second, blind grade of graded work, sampled by a lead or an admin (issue 20).

    The first grade stands until someone decides otherwise: a second opinion that agrees closes; one
    that differs waits for a decision by a lead or admin who did not give the first grade, with a
    reason the contractor reads (like an appeal). Only a decision "revised" changes the final grade
    (annotations/sql/final_grade.sql, `Review.final_score`), so pay never moves on a second grade alone.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second grade"
        AGREED = "agreed", "Agrees with the first grade"
        DIFFERS = "differs", "Differs: waiting for a decision"
        STANDS = "stands", "Decided: the first grade stands"
        REVISED = "revised", "Decided: the grade was revised"

    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="second_opinion")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="second_opinions_given")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    marks = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_by_role = models.CharField(max_length=16, choices=ReviewerRole.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    revised_score = models.PositiveSmallIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending") | Q(reviewer__isnull=False, score__gte=1, score__lte=5,
                                                  graded_at__isnull=False),
                name="second_opinion_graded_when_not_pending",
            ),
            models.CheckConstraint(
                condition=Q(status="revised", revised_score__gte=1, revised_score__lte=5)
                | (~Q(status="revised") & Q(revised_score__isnull=True)),
                name="second_opinion_revised_score_only_when_revised",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["stands", "revised"]) | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="second_opinion_decision_recorded",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_at"], condition=Q(status="pending"), name="second_opinion_pending_idx"),
            models.Index(fields=["graded_at"], condition=Q(status="differs"), name="second_opinion_differs_idx"),
        ]

    def __str__(self) -> str:
        return f"second opinion {self.pk} of review {self.review_id} ({self.status})"


def _respond_until_default():
    return timezone.now() + settings.TASKHUB_FLAG_RESPONSE_WINDOW


class ContractorFlag(models.Model):
    """A contractor's rolling average grade fell below a project's threshold.

    Nothing happens to the contractor until a lead decides (warn, pause, clear) with a reason. The
    contractor may answer first (`response`), which the lead reads before deciding; a pause waits
    until `respond_until` unless the lead marks it urgent, with a reason.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Awaiting a lead's decision"
        WARNED = "warned", "Warned"
        PAUSED = "paused", "Paused on the project"
        CLEARED = "cleared", "Cleared"

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flags")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="contractor_flags")
    average = models.DecimalField(max_digits=4, decimal_places=2)
    threshold = models.DecimalField(max_digits=3, decimal_places=2)
    grades_counted = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="flags_decided"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    # The contractor's voice: until then a lead may not pause them (TASKHUB_FLAG_RESPONSE_WINDOW).
    respond_until = models.DateTimeField(default=_respond_until_default)
    response = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    urgent = models.BooleanField(default=False, help_text="Paused before the response window ended.")
    urgent_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(urgent=False) | ~Q(urgent_reason=""), name="flag_urgent_has_reason"),
            models.CheckConstraint(condition=Q(responded_at__isnull=True) | ~Q(response=""),
                                   name="flag_response_has_text"),
            models.UniqueConstraint(
                fields=["contractor", "project"], condition=Q(status="open"),
                name="flag_one_open_per_contractor_project",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="flag_decision_recorded",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], condition=Q(status="open"), name="flag_open_idx")]

    def __str__(self) -> str:
        return f"flag {self.pk}: {self.contractor_id} on {self.project_id} ({self.status})"


class ContractorPause(models.Model):
    """A lead paused a contractor on one project: the claim engine refuses them there."""

    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pauses")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="contractor_pauses")
    flag = models.OneToOneField(ContractorFlag, on_delete=models.PROTECT, related_name="pause")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contractor", "project"], condition=Q(lifted_at__isnull=True),
                name="pause_one_in_force_per_contractor_project",
            ),
        ]

    def __str__(self) -> str:
        return f"pause of {self.contractor_id} on {self.project_id}"


class PauseAppeal(models.Model):
    """A paused contractor contests the pause; an admin, or a lead who did not decide it, upholds it
    or lifts it, once (a conditional update decides it, however many decide at the same moment)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Pause upheld"
        LIFTED = "lifted", "Pause lifted"

    pause = models.OneToOneField(ContractorPause, on_delete=models.PROTECT, related_name="appeal")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pause_appeals")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | (Q(decided_by__isnull=False, decided_at__isnull=False)
                                              & ~Q(decision_reason="")),
                name="pause_appeal_decision_recorded",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], condition=Q(status="open"), name="pause_appeal_open_idx")]

    def __str__(self) -> str:
        return f"appeal {self.pk} of pause {self.pause_id} ({self.status})"


class ReviewEvent(models.Model):
    """The append-only audit trail of grading: reviews, appeals, flags and decisions.

    The database refuses updates and deletes of these rows (see migration 0002).
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Review created"
        GRADED_AUTOMATICALLY = "graded_automatically", "Graded automatically"
        CALIBRATED = "calibrated", "Calibration grade"
        APPEALED = "appealed", "Appealed"
        UPHELD = "upheld", "Appeal upheld"
        REVISED = "revised", "Appeal revised the grade"
        FLAGGED = "flagged", "Flagged for a lead's decision"
        DECIDED = "decided", "Lead decided on a flag"
        PAUSE_LIFTED = "pause_lifted", "Pause lifted"
        RESPONDED = "responded", "Contractor answered a flag"
        PAUSE_APPEALED = "pause_appealed", "Pause appealed"
        PAUSE_APPEAL_DECIDED = "pause_appeal_decided", "Pause appeal decided"
        SECOND_OPINION = "second_opinion", "Second opinion given"
        SECOND_OPINION_DECIDED = "second_opinion_decided", "Second opinion decided"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    review = models.ForeignKey(Review, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    appeal = models.ForeignKey(Appeal, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    flag = models.ForeignKey(ContractorFlag, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class AgreementFigure(models.Model):
    """A quality figure from the nightly computation; a recompute replaces the row."""

    class Kind(models.TextChoices):
        REVIEWER_VS_GOLD = "reviewer_vs_gold", "Reviewer against gold"
        CONTRACTOR_AGREEMENT = "contractor_agreement", "Agreement between contractors"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement_figures")
    # The reviewer or contractor the figure is about; empty for a project-wide figure.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="agreement_figures"
    )
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    alpha = models.FloatField(null=True, blank=True, help_text="Krippendorff's alpha; empty when undefined.")
    n = models.PositiveIntegerField(help_text="Items (or item pairs) the figure is computed from.")
    level = models.CharField(max_length=16, blank=True, help_text="Level of measurement used for alpha.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["project", "kind", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "project", "subject"], nulls_distinct=False, name="agreement_figure_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.project_id} for {self.subject_id or 'all'}"


# --- Data out: final labels and exports (issue 18) -------------------------------------------------


class TaskLabel(models.Model):
    """The final label of a task done by more than one contractor, by its type's rule
    (`TaskType.final_label`), with the agreement of its answers. Recomputed per batch
    (`annotations.services.labels`); a recompute replaces the rows."""

    task = models.OneToOneField(Task, primary_key=True, on_delete=models.CASCADE, related_name="final_label")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="task_labels")
    answers = models.PositiveSmallIntegerField(help_text="Submissions the label is made from.")
    label = models.JSONField()
    agreement = models.FloatField(null=True, blank=True,
                                  help_text="Share of agreeing pairs of answers (the type's compared value).")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["batch"], name="task_label_batch_idx")]

    def __str__(self) -> str:
        return f"final label of task {self.task_id}"


class BatchAgreement(models.Model):
    """Agreement over a batch's tasks with more than one answer: Krippendorff's alpha at the type's
    level of measurement, the mean agreement per task, and how many tasks it is made from."""

    batch = models.OneToOneField(Batch, primary_key=True, on_delete=models.CASCADE, related_name="agreement")
    alpha = models.FloatField(null=True, blank=True, help_text="Krippendorff's alpha; empty when undefined.")
    level = models.CharField(max_length=16, blank=True)
    tasks = models.PositiveIntegerField()
    mean_agreement = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"agreement of batch {self.batch_id}"


class Export(models.Model):
    """One export of a project's (or batch's) submissions in one format, made by a Celery job
    (annotations.exports) that streams the rows into a file and reports its progress."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Writing"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=32)
    # The validated options (annotations.exports.options.ExportOptions), as JSON.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_written = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True, max_length=300)
    size_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.project_id} as {self.format}"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_written / self.rows_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ProblemReport(models.Model):
    """A contractor's report that a task cannot be done as it stands (issue 19): broken, harmful or
    unclear, with a reason. Reporting ends the claim (its slot goes back only for an unclear task; a
    broken or harmful one stays out of the pool); the active time measured on it is kept here. Leads
    of the project's sprints and admins read the reports and close them with a note."""

    class Kind(models.TextChoices):
        BROKEN = "broken", "Broken (cannot be done)"
        HARMFUL = "harmful", "Harmful content"
        UNCLEAR = "unclear", "Unclear instructions"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="problem_report")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="problem_reports")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="problem_reports")
    contractor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="problem_reports")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    active_seconds = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolution = models.TextField(blank=True)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="problem_report_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} report on task {self.task_id}"
