import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import Role, User
from taskhub.admin import ReadOnlyAdmin, ServiceAddMixin, decision_action
from taskhub.errors import DomainError

from . import services
from .models import (
    GRADE_POLICY_FIELDS,
    WEBHOOK_EVENTS,
    Batch,
    GeneratedPair,
    GradePolicy,
    LineageDecision,
    MediaFile,
    ModelEndpoint,
    PairwiseGeneration,
    PayRate,
    Project,
    Qualification,
    Task,
    TaskImport,
    Webhook,
    WebhookDelivery,
)
from .services.webhooks import clean_webhook_url


def pretty_json(value) -> str:
    if value is None:
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    return format_html('<pre class="taskhub-json">{}</pre>', text)


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


class GradePolicyInline(admin.TabularInline):
    """The grade-policy history: shown, never edited (add a policy from the grade policies page)."""

    model = GradePolicy
    fk_name = "project"
    extra = 0
    can_delete = False
    fields = ["effective_from", *GRADE_POLICY_FIELDS, "reason", "set_by"]
    readonly_fields = fields
    ordering = ["-effective_from", "-id"]

    def has_add_permission(self, request, obj=None):
        return False


_ADMIN_PROJECT_FIELDS = ["name", "slug", "status", "description", "instructions", "overlap", "max_active_claims",
                         "claim_minutes", "qualification", "review_sample_rate", "flag_threshold", "flag_window",
                         "flag_min_grades", "rubric", "task_config", "grants_name", "pass_rule",
                         "pass_min_submissions", "pass_min_average", "pass_min_agreement"]


class ProjectAdminForm(forms.ModelForm):
    """Saves through `project_update`, so its rules (no change of kind, the lineage proposals answered
    before a project opens, archive times) hold here too; its refusals become form errors. It runs
    once, after every other check, inside the admin's request transaction."""

    updated_by = None  # the signed-in admin, set by ProjectAdmin.get_form
    instructions_change_note = forms.CharField(required=False, max_length=500,
                                               help_text="Needed when the instructions change (a new version).")
    instructions_material = forms.BooleanField(required=False, help_text="A material change: contractors are told.")

    class Meta:
        model = Project
        fields = _ADMIN_PROJECT_FIELDS

    def _post_clean(self):
        super()._post_clean()
        if self.errors or self.instance.pk is None:
            return
        fields = {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}
        fields["instructions_change_note"] = self.cleaned_data.get("instructions_change_note", "")
        fields["instructions_material"] = self.cleaned_data.get("instructions_material", False)
        try:
            self.saved = services.project_update(project=Project.objects.get(pk=self.instance.pk),
                                                 updated_by=self.updated_by, fields=fields)
        except DomainError as exc:
            for item in exc.errors or [{"field": exc.field, "message": exc.message}]:
                self.add_error(item["field"] if item.get("field") in self.fields else None, item["message"])


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    """Projects are created on the set-up page (/manage/projects/new/: the first rate, grade policy and
    lineage come with them). Here a project's settings change through `project_update`; its kind,
    lineage and wage-floor guarantee are shown read-only (the set-up page changes the guarantee,
    with notice)."""

    form = ProjectAdminForm
    list_display = ["name", "task_type", "status", "overlap", "max_active_claims", "claim_minutes", "is_onboarding",
                    "continues"]
    list_filter = ["status", "task_type", "is_onboarding"]
    list_select_related = ["continues"]
    search_fields = ["name", "slug"]
    readonly_fields = ["task_type", "is_onboarding", "continues", "archived_at", "wage_floor_guarantee_ends_at"]
    fields = ["task_type", "is_onboarding", "continues", "archived_at", "wage_floor_guarantee_ends_at",
              *_ADMIN_PROJECT_FIELDS, "instructions_change_note", "instructions_material"]
    inlines = [PayRateInline, GradePolicyInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"updated_by": request.user})

    def save_model(self, request, obj, form, change):
        # The form already saved the project through the service (the inline histories are read-only).
        obj.refresh_from_db()


class PayRateForm(forms.ModelForm):
    """Sets the rate through `pay_rate_set`, so its rules (notice before a cut, no past
    dates, ...) show as errors on this form instead of losing what was typed.

    The service runs once, after every other check has passed, inside the admin's request
    transaction: if anything later fails the rate is rolled back with the rest."""

    set_by = None  # the signed-in admin, set by PayRateAdmin.get_form
    confirm_unusual = forms.BooleanField(
        required=False, label="Yes, this rate is intended",
        help_text="Needed for a rate far above the highest this project has paid.",
    )

    class Meta:
        model = PayRate
        fields = ["project", "amount", "currency", "unit", "effective_from", "reason"]

    def _post_clean(self):
        super()._post_clean()  # field and model validation first
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.rate = services.pay_rate_set(
                project=data["project"], amount=data["amount"], currency=data["currency"], unit=data["unit"],
                effective_from=data["effective_from"], set_by=self.set_by, reason=data["reason"],
                confirm_unusual=data.get("confirm_unusual", False),
            )
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)


@admin.register(PayRate)
class PayRateAdmin(admin.ModelAdmin):
    """New rates go through `pay_rate_set`, which enforces the notice period for cuts."""

    form = PayRateForm
    list_display = ["project", "amount", "currency", "unit", "effective_from", "reason", "set_by"]
    list_filter = ["project", "unit"]
    list_select_related = ["project", "set_by"]
    fields = ["project", "amount", "currency", "unit", "effective_from", "reason", "confirm_unusual"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"set_by": request.user})

    def save_model(self, request, obj, form, change):
        # The form already appended the rate through the service; show that row.
        obj.pk = form.rate.pk
        obj.set_by = form.rate.set_by

    def save_related(self, request, form, formsets, change):
        """A rate has nothing related to save."""


class GradePolicyForm(forms.ModelForm):
    """Sets a policy through `grade_policy_set`: a lowering waits for the notice and applies to later
    work only; a raise may be applied to past work (upward only). Refusals are form errors."""

    set_by = None  # the signed-in admin, set by GradePolicyAdmin.get_form
    apply_to_past = forms.BooleanField(required=False, help_text="A raise only: pay past work by it too.")

    class Meta:
        model = GradePolicy
        fields = ["project", *GRADE_POLICY_FIELDS, "effective_from", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "effective_from" in self.fields:  # absent when a past policy is only viewed
            self.fields["effective_from"].required = False
            self.fields["effective_from"].help_text = "Blank: now. A lowering can start only after the notice period."

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.policy = services.grade_policy_set(
                project=data["project"], percents={f: data[f] for f in GRADE_POLICY_FIELDS}, set_by=self.set_by,
                reason=data["reason"], effective_from=data["effective_from"], apply_to_past=data["apply_to_past"],
            )
        except DomainError as exc:
            for item in exc.errors or [{"field": exc.field, "message": exc.message}]:
                self.add_error(item["field"] if item.get("field") in self.fields else None, item["message"])


@admin.register(GradePolicy)
class GradePolicyAdmin(admin.ModelAdmin):
    """The grade-policy history: new policies go through `grade_policy_set`; none is ever edited or
    deleted (the database refuses it too)."""

    form = GradePolicyForm
    list_display = ["project", "effective_from", *GRADE_POLICY_FIELDS, "reason", "set_by"]
    list_filter = ["project"]
    list_select_related = ["project", "set_by"]
    fields = ["project", *GRADE_POLICY_FIELDS, "effective_from", "reason", "apply_to_past"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"set_by": request.user})

    def save_model(self, request, obj, form, change):
        # The form already appended the policy through the service; show that row.
        obj.__dict__.update({k: v for k, v in form.policy.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """A policy has nothing related to save."""


@admin.register(LineageDecision)
class LineageDecisionAdmin(ReadOnlyAdmin):
    """Answers to TaskHub's lineage proposals (given on the set-up pages)."""

    list_display = ["project", "decision", "candidate", "reason", "decided_by", "decided_at"]
    list_select_related = ["project", "candidate", "decided_by"]


# --- batches ----------------------------------------------------------------------------------


class TaskImportUploadForm(forms.Form):
    file = forms.FileField(help_text="JSON Lines, CSV or HH-RLHF pairs; may be gzipped.")
    format = forms.ChoiceField(choices=TaskImport.Format.choices, initial=TaskImport.Format.AUTO)
    gold_from_reference = forms.BooleanField(
        required=False, label="Gold from reference",
        help_text="Use the source's known answer (HH-RLHF: the chosen reply) as the gold answer.",
    )
    seed = forms.IntegerField(
        required=False, min_value=-(2**63), max_value=2**63 - 1,
        help_text="HH-RLHF: seed of the random A/B order (blank: drawn and recorded).",
    )


class BatchCloseForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        help_text=f"Why the batch closes (at least {settings.TASKHUB_DECISION_REASON_MIN_CHARS} characters): the "
                  "contractors holding its claims read it.",
    )


class ScheduleForm(forms.Form):
    release_at = forms.SplitDateTimeField(widget=widgets.AdminSplitDateTime, label="Release at")
    reservation_opens_at = forms.SplitDateTimeField(
        widget=widgets.AdminSplitDateTime, required=False, label="Lottery reservation opens",
        help_text="Lottery batches only; blank opens the default window before release.",
    )
    urgent = forms.BooleanField(required=False, help_text="Release with less than the minimum notice.")
    urgent_reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class TaskImportInline(admin.TabularInline):
    model = TaskImport
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["original_name", "format", "status", "imported_count", "error_count", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]
    verbose_name_plural = "imports"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BatchAdmin(admin.ModelAdmin):
    """Batches: imports, scheduling and closing. Registered by annotations.admin, which adds
    "Release now": releasing a batch is the claim engine's work (a lottery opens with its draw)."""

    list_display = ["name", "project", "status", "release_policy", "task_count", "release_at", "released_at"]
    list_filter = ["status", "release_policy", "project"]
    list_select_related = ["project"]
    readonly_fields = ["status", "released_at", "closed_at", "created_at", "fair_share_step", "fair_share_ends_at"]
    actions = ["schedule", "close"]
    inlines = [TaskImportInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(task_total=Count("tasks"))

    @admin.display(description="tasks", ordering="task_total")
    def task_count(self, obj):
        return obj.task_total

    def get_urls(self):
        return [
            path("<int:object_id>/import/", self.admin_site.admin_view(self.import_view),
                 name="projects_batch_import"),
            *super().get_urls(),
        ]

    def import_view(self, request, object_id):
        batch = get_object_or_404(Batch.objects.select_related("project"), pk=object_id)
        if not self.has_change_permission(request, batch):
            raise PermissionDenied
        form = TaskImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                task_import = services.task_import_create(
                    batch=batch, uploaded_file=data["file"], format=data["format"],
                    gold_from_reference=data["gold_from_reference"], seed=data["seed"], created_by=request.user,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.message_user(request, f"{task_import.original_name} is being checked and imported.")
                return HttpResponseRedirect(reverse("admin:projects_taskimport_change", args=[task_import.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import tasks into {batch.name}",
            "opts": self.opts,
            "original": batch,
            "form": form,
            "task_type": batch.project.type,
            "example_payload": pretty_json(batch.project.type.example_payload),
            "payload_fields": list(batch.project.type.payload_schema.model_fields),
            "max_line_bytes": settings.TASKHUB_IMPORT_MAX_LINE_BYTES,
        }
        return TemplateResponse(request, "admin/projects/batch/import.html", context)

    @admin.action(description="Schedule the release…")
    def schedule(self, request, queryset):
        batches = list(queryset.select_related("project"))
        form = ScheduleForm(request.POST if "apply" in request.POST else None)
        failures: list[tuple[Batch, str]] = []
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            for batch in batches:
                try:
                    services.batch_schedule(
                        batch=batch, release_at=data["release_at"], scheduled_by=request.user,
                        urgent=data["urgent"], urgent_reason=data["urgent_reason"],
                        reservation_opens_at=data["reservation_opens_at"],
                    )
                except DomainError as exc:
                    failures.append((batch, exc.message))
                else:
                    when = timezone.localtime(batch.release_at)
                    self.message_user(request, f"{batch} is scheduled for {when:%Y-%m-%d %H:%M %Z}.")
            if not failures:
                return None
            batches = [batch for batch, _ in failures]
        context = {
            **self.admin_site.each_context(request),
            "title": "Schedule the release",
            "opts": self.opts,
            "batches": batches,
            "failures": failures,
            "form": form,
            "media": self.media + form.media,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/projects/batch/schedule.html", context)

    @admin.action(description="Close…")
    def close(self, request, queryset):
        return decision_action(
            self, request, queryset.select_related("project"), form_class=BatchCloseForm, action="close",
            title="Close batches",
            explanation="No more of their tasks are handed out; claims already held may still be submitted. The "
                        "contractors holding them are told, with your reason, which is kept on the batch and in the "
                        "audit trail.",
            submit_label="Close",
            decide=lambda batch, data: services.batch_close(batch=batch, by=request.user, reason=data["reason"]),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# --- tasks ------------------------------------------------------------------------------------


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["external_id", "batch", "project", "is_gold", "claim_count", "submitted_count", "overlap"]
    list_filter = ["project", "batch"]
    search_fields = ["external_id"]
    list_select_related = ["batch__project", "project"]
    fields = ["batch", "project", "external_id", "payload_pretty", "gold_answer_pretty", "reference_answer_pretty",
              "overlap", "claim_count", "submitted_count", "created_at"]
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_pretty(self, obj):
        return pretty_json(obj.payload)

    @admin.display(description="gold answer")
    def gold_answer_pretty(self, obj):
        return pretty_json(obj.gold_answer)

    @admin.display(description="reference answer")
    def reference_answer_pretty(self, obj):
        return pretty_json(obj.reference_answer)

    @admin.display(description="gold", boolean=True)
    def is_gold(self, obj):
        return obj.gold_answer is not None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class QualificationGrantForm(forms.ModelForm):
    """Grants through `qualification_grant` (the person is told what it unlocks; it is audited)."""

    granted_by = None  # the signed-in admin, set by QualificationAdmin.get_form

    class Meta:
        model = Qualification
        fields = ["contractor", "project", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "contractor" in self.fields:  # absent when a qualification is only viewed
            self.fields["contractor"].queryset = User.objects.filter(role=Role.CONTRACTOR).order_by("email")
            self.fields["project"].queryset = Project.objects.filter(is_onboarding=True).order_by("name")

    def validate_unique(self):
        """The service decides what a second grant means."""

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.qualification = services.qualification_grant(contractor=data["contractor"], project=data["project"],
                                                              granted_by=self.granted_by, note=data["note"])
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class RevokeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        help_text=f"The contractor reads it (at least {settings.TASKHUB_DECISION_REASON_MIN_CHARS} characters); it "
                  "is kept with the qualification and in the audit trail.",
    )
    effective_at = forms.SplitDateTimeField(widget=widgets.AdminSplitDateTime, required=False, label="Takes effect",
                                            help_text="Blank: now. The contractor is told at once.")


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    """Qualifications are granted through the service (here or by passing onboarding) and revoked only
    by the "Revoke…" action: a reason, an effective time and a notice; the row is kept as history.
    Nothing is edited or deleted here."""

    form = QualificationGrantForm
    list_display = ["contractor", "project", "granted_at", "granted_by", "revoked_at", "revoked_by", "revoke_reason"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "project"]
    list_select_related = ["contractor", "project", "granted_by", "revoked_by"]
    search_fields = ["contractor__email"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"granted_by": request.user})

    def save_model(self, request, obj, form, change):
        obj.__dict__.update({k: v for k, v in form.qualification.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Nothing related."""

    @admin.action(description="Revoke… (with a reason and a notice)")
    def revoke(self, request, queryset):
        return decision_action(
            self, request, queryset.select_related("contractor", "project"), form_class=RevokeForm, action="revoke",
            title="Revoke qualifications",
            explanation="Each contractor is told at once, with your reason, from when the qualification no longer "
                        "counts. The qualification is kept as history, with when, by whom and why.",
            submit_label="Revoke",
            decide=lambda q, data: services.qualification_revoke(
                contractor=q.contractor, project=q.project, revoked_by=request.user, reason=data["reason"],
                effective_at=data["effective_at"]),
        )


# --- imports ----------------------------------------------------------------------------------


@admin.register(MediaFile)
class MediaFileAdmin(ReadOnlyAdmin):
    """Uploaded on the project's media library page, where each file is checked by its content."""

    list_display = ["name", "project", "kind", "format", "width", "height", "duration_seconds", "size_bytes",
                    "created_at"]
    list_filter = ["kind", "format"]
    list_select_related = ["project"]
    search_fields = ["name", "project__name"]
    fields = ["project", "name", "file", "kind", "format", "content_type", "size_bytes", "sha256", "width", "height",
              "duration_seconds", "fps", "uploaded_by", "created_at"]
    readonly_fields = fields


@admin.register(TaskImport)
class TaskImportAdmin(ReadOnlyAdmin):
    """Imports are started from a batch ("Import tasks"); this page follows one while it runs."""

    list_display = ["original_name", "batch", "format", "status", "progress", "imported_count", "error_count",
                    "created_at"]
    list_filter = ["status", "format"]
    list_select_related = ["batch__project"]
    search_fields = ["original_name", "batch__name"]
    fields = ["project", "batch", "new_batch_name", "original_name", "format", "gold_from_reference", "seed", "status",
              "processed_lines",
              "imported_count", "error_count", "total_bytes", "created_by", "created_at", "started_at",
              "finished_at"]
    readonly_fields = fields

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.progress_percent}%"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("batch__project", "created_by")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        task_import = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if task_import is not None:
            extra["import_errors"] = format_html_join(
                "\n", "<li><strong>{}</strong>{} {}</li>",
                (
                    (f"Line {e['line']}" if e.get("line") else "File",
                     f" ({e['field']})" if e.get("field") else "", e.get("message", ""))
                    for e in task_import.errors
                ),
            )
            extra["more_errors"] = max(0, task_import.error_count - len(task_import.errors))
            extra["refresh_seconds"] = 0 if task_import.is_finished else 2
        return super().change_view(request, object_id, form_url, extra)


# --- Webhooks ---------------------------------------------------------------------------------


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=[(e, e) for e in WEBHOOK_EVENTS], widget=forms.CheckboxSelectMultiple)
    # A URL typed without a scheme is taken as https (the scheme Django 6 assumes).
    url = forms.URLField(max_length=1000, assume_scheme="https",
                         help_text=Webhook._meta.get_field("url").help_text)

    class Meta:
        model = Webhook
        fields = ["project", "url", "events", "is_active"]

    def clean_url(self):
        try:
            return clean_webhook_url(self.cleaned_data.get("url"))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ["event", "status", "attempts", "last_status_code", "last_error", "created_at", "delivered_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(ServiceAddMixin, admin.ModelAdmin):
    """Register a URL for a project's events; the secret that signs each delivery is made here and
    shown on the webhook's page."""

    form = WebhookForm
    list_display = ["project", "url", "events", "is_active", "created_at"]
    list_filter = ["is_active", "project"]
    readonly_fields = ["secret", "created_at"]
    inlines = [WebhookDeliveryInline]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.webhook_update(webhook=obj, url=data["url"], events=data["events"], is_active=data["is_active"])
        else:
            created = services.webhook_create(project=data["project"], url=data["url"], events=data["events"],
                                              created_by=request.user)
            obj.pk, obj.secret = created.pk, created.secret


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "webhook", "status", "attempts", "last_status_code", "created_at", "delivered_at"]
    list_filter = ["status", "event"]
    readonly_fields = ["webhook", "event", "uuid", "body", "status", "attempts", "last_status_code", "last_error",
                       "created_at", "last_attempt_at", "next_attempt_at", "delivered_at"]
    actions = ["send_again"]

    @admin.action(description="Send the selected deliveries again")
    def send_again(self, request, queryset):
        for delivery in queryset:
            services.webhook_delivery_resend(delivery_id=delivery.pk)
        self.message_user(request, f"Sending {queryset.count()} deliveries again.", messages.SUCCESS)


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(ReadOnlyAdmin):
    """A project's model endpoints. They are set up, checked and changed on /manage/projects/<id>/models/,
    where the service refuses a key typed in place of its variable's name."""

    list_display = ["name", "project", "model", "base_url", "api_key_env", "is_default", "is_active",
                    "requests_per_task", "requests_per_contractor_hour"]
    list_filter = ["is_active", "project"]
    search_fields = ["name", "model", "base_url"]


class GeneratedPairInline(admin.TabularInline):
    model = GeneratedPair
    extra = 0
    can_delete = False
    fields = ["line", "task", "swapped", "model_a", "model_b", "tokens", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PairwiseGeneration)
class PairwiseGenerationAdmin(ReadOnlyAdmin):
    """Generated pairwise batches, with which side wrote which response of each task."""

    list_display = ["id", "original_name", "project", "batch", "endpoint_a", "endpoint_b", "status", "prompts_total",
                    "prompts_done", "prompts_failed", "created_at"]
    list_filter = ["status"]
    inlines = [GeneratedPairInline]
