from django.contrib import admin, messages

from projects.admin import BatchAdmin
from projects.models import Batch
from taskhub.admin import ReadOnlyAdmin
from taskhub.errors import DomainError

from . import services
from .models import (
    AgreementFigure,
    Appeal,
    BatchDemand,
    Claim,
    ContractorFlag,
    ContractorPause,
    LotteryAllocation,
    LotteryEntry,
    ModelTurn,
    PauseAppeal,
    Review,
    ReviewEvent,
    Submission,
)


@admin.register(Batch)
class ReleasableBatchAdmin(BatchAdmin):
    """The batch admin of projects, with the claim engine's "Release now" (a lottery is drawn)."""

    actions = ["schedule", "release_now", "close"]

    @admin.action(description="Release now")
    def release_now(self, request, queryset):
        for batch in queryset:
            try:
                opened = services.batch_release(batch=batch)
            except DomainError as exc:
                self.message_user(request, f"{batch}: {exc.message}", level=messages.ERROR)
                continue
            if opened:
                self.message_user(request, f"{batch} is open.")
            else:
                self.message_user(request, f"{batch} was not draft or scheduled.", level=messages.WARNING)


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "contractor", "project", "status", "source", "claimed_at", "reserved_until",
                    "deadline", "active_seconds"]
    list_filter = ["status", "project"]
    list_select_related = ["task", "contractor", "project"]
    readonly_fields = [f.name for f in Claim._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # work done is pay owed: it is never removed here


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "contractor", "project", "submitted_at", "active_seconds"]
    list_filter = ["project"]
    list_select_related = ["task", "contractor", "project"]
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # work done is pay owed: it is never removed here


# --- The lottery, reviews, appeals, flags and figures: read-only records; decisions go through
# the pages.


@admin.register(LotteryEntry)
class LotteryEntryAdmin(ReadOnlyAdmin):
    list_display = ["batch", "contractor", "requested", "quota", "allocated", "created_at"]
    list_select_related = ["batch", "contractor"]


@admin.register(BatchDemand)
class BatchDemandAdmin(ReadOnlyAdmin):
    list_display = ["batch", "contractor", "reason", "recorded_at"]
    list_filter = ["reason"]
    list_select_related = ["batch", "contractor"]


@admin.register(LotteryAllocation)
class LotteryAllocationAdmin(ReadOnlyAdmin):
    list_display = ["batch", "seed", "participants", "claims_created", "slots_total", "allocated_at"]
    list_select_related = ["batch"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "submission", "kind", "reviewer", "reviewer_role", "score", "created_at"]
    list_filter = ["kind", "reviewer_role", "submission__project"]
    list_select_related = ["submission", "reviewer"]


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "contractor", "status", "revised_score", "created_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["review", "contractor"]


@admin.register(ContractorFlag)
class ContractorFlagAdmin(ReadOnlyAdmin):
    list_display = ["id", "contractor", "project", "average", "threshold", "status", "created_at", "decided_at"]
    list_filter = ["status", "project"]
    list_select_related = ["contractor", "project"]


@admin.register(ContractorPause)
class ContractorPauseAdmin(ReadOnlyAdmin):
    list_display = ["id", "contractor", "project", "created_at", "lifted_at"]
    list_select_related = ["contractor", "project"]


@admin.register(PauseAppeal)
class PauseAppealAdmin(ReadOnlyAdmin):
    list_display = ["id", "pause", "contractor", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["pause", "contractor", "decided_by"]


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "actor", "submission", "review", "appeal", "flag", "at"]
    list_filter = ["kind"]
    list_select_related = ["actor"]


@admin.register(AgreementFigure)
class AgreementFigureAdmin(ReadOnlyAdmin):
    list_display = ["project", "kind", "subject", "percent", "alpha", "n", "computed_at"]
    list_filter = ["kind", "project"]
    list_select_related = ["project", "subject"]


@admin.register(ModelTurn)
class ModelTurnAdmin(ReadOnlyAdmin):
    """The recorded messages of red-team conversations (each claim's own), as the server recorded them."""

    list_display = ["id", "claim", "position", "status", "model", "latency_ms", "prompt_tokens", "completion_tokens",
                    "error_code", "created_at"]
    list_filter = ["status", "error_code"]
    raw_id_fields = ["claim"]
