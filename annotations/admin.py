from django.contrib import admin

from .models import Claim, Submission


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
