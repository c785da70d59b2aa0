from django.contrib import admin

from .models import AgreementFigure, Appeal, Claim, ContractorFlag, ContractorPause, Review, ReviewEvent, Submission


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "contractor", "project", "status", "claimed_at", "deadline", "active_seconds"]
    list_filter = ["status", "project"]
    list_select_related = ["task", "contractor", "project"]
    readonly_fields = [f.name for f in Claim._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "contractor", "project", "submitted_at", "active_seconds"]
    list_filter = ["project"]
    list_select_related = ["task", "contractor", "project"]
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request):
        return False


# --- Reviews, appeals, flags and figures: read-only records; decisions go through the pages ---

class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(_ReadOnly):
    list_display = ["id", "submission", "kind", "reviewer", "reviewer_role", "score", "created_at"]
    list_filter = ["kind", "reviewer_role", "submission__project"]
    list_select_related = ["submission", "reviewer"]


@admin.register(Appeal)
class AppealAdmin(_ReadOnly):
    list_display = ["id", "review", "contractor", "status", "revised_score", "created_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["review", "contractor"]


@admin.register(ContractorFlag)
class ContractorFlagAdmin(_ReadOnly):
    list_display = ["id", "contractor", "project", "average", "threshold", "status", "created_at", "decided_at"]
    list_filter = ["status", "project"]
    list_select_related = ["contractor", "project"]


@admin.register(ContractorPause)
class ContractorPauseAdmin(_ReadOnly):
    list_display = ["id", "contractor", "project", "created_at", "lifted_at"]
    list_select_related = ["contractor", "project"]


@admin.register(ReviewEvent)
class ReviewEventAdmin(_ReadOnly):
    list_display = ["id", "kind", "actor", "submission", "review", "appeal", "flag", "at"]
    list_filter = ["kind"]
    list_select_related = ["actor"]


@admin.register(AgreementFigure)
class AgreementFigureAdmin(_ReadOnly):
    list_display = ["project", "kind", "subject", "percent", "alpha", "n", "computed_at"]
    list_filter = ["kind", "project"]
    list_select_related = ["project", "subject"]
