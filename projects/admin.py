from django.contrib import admin, messages
from django.utils import timezone

from taskhub.errors import DomainError

from . import services
from .models import Batch, PayRate, Project, Qualification, Task, TaskImport


class PayRateInline(admin.TabularInline):
    """The rate history: past rates are shown, never edited (set new ones with the form below)."""

    model = PayRate
    extra = 0
    can_delete = False
    fields = ["effective_from", "amount", "currency", "unit", "reason", "set_by", "created_at"]
    readonly_fields = fields
    ordering = ["-effective_from", "-id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "task_type", "status", "overlap", "max_active_claims", "claim_minutes", "is_onboarding"]
    list_filter = ["status", "task_type", "is_onboarding"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PayRateInline]


@admin.register(PayRate)
class PayRateAdmin(admin.ModelAdmin):
    """New rates go through `pay_rate_set`, which enforces the notice period for cuts."""

    list_display = ["project", "amount", "currency", "unit", "effective_from", "reason", "set_by"]
    list_filter = ["project", "unit"]
    fields = ["project", "amount", "currency", "unit", "effective_from", "reason"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = services.pay_rate_set(
            project=obj.project,
            amount=obj.amount,
            currency=obj.currency,
            unit=obj.unit,
            effective_from=obj.effective_from,
            set_by=request.user,
            reason=obj.reason,
        ).pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.get_full_path())


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "status", "release_policy", "release_at", "released_at"]
    list_filter = ["status", "release_policy", "project"]
    readonly_fields = ["status", "released_at", "closed_at", "created_at"]
    actions = ["release_now", "close"]

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

    @admin.action(description="Close")
    def close(self, request, queryset):
        for batch in queryset:
            try:
                services.batch_close(batch=batch)
                self.message_user(request, f"{batch} closed at {timezone.now():%H:%M}.")
            except DomainError as exc:
                self.message_user(request, f"{batch}: {exc.message}", level=messages.ERROR)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["external_id", "batch", "project", "claim_count", "submitted_count", "overlap"]
    list_filter = ["project"]
    search_fields = ["external_id"]
    readonly_fields = ["batch", "project", "external_id", "payload", "gold_answer", "reference_answer",
                       "overlap", "claim_count", "submitted_count", "created_at"]
    list_select_related = ["batch", "project"]

    def has_add_permission(self, request):
        return False


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ["contractor", "project", "granted_at", "granted_by"]
    list_select_related = ["contractor", "project", "granted_by"]
    autocomplete_fields = []


@admin.register(TaskImport)
class TaskImportAdmin(admin.ModelAdmin):
    list_display = ["original_name", "batch", "format", "status", "progress_percent", "imported_count", "error_count",
                    "created_at"]
    list_filter = ["status", "format"]
    readonly_fields = [f.name for f in TaskImport._meta.fields]

    def has_add_permission(self, request):
        return False
