"""Admin pages of data out, under /manage/: the exports (start one, follow its progress, download
it) and a batch's final labels with their agreement and Krippendorff's alpha."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import admin_required
from projects.models import Batch, Project
from taskhub.errors import DomainError, apply_to_forms

from .. import exports, services
from ..api.admin import export_file_response
from ..models import Export, TaskLabel

EXPORTS_SHOWN = 50
LABELS_SHOWN = 500


class ExportForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.order_by("name"), to_field_name="slug")
    batch = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, label="Batch id (blank: every batch)")
    format = forms.ChoiceField(choices=[(f.key, f.label) for f in exports.FORMATS.values()])
    min_grade = forms.IntegerField(required=False, min_value=1, max_value=5, label="Minimum final grade")
    exclude_gold = forms.BooleanField(required=False, label="Without gold tasks")
    reviewed_only = forms.BooleanField(required=False, label="Reviewed only")
    full_overlap_only = forms.BooleanField(required=False, label="Tasks with their full overlap only")
    submitted_from = forms.DateField(required=False, label="Submitted from (UTC day)",
                                     widget=forms.DateInput(attrs={"type": "date"}))
    submitted_to = forms.DateField(required=False, label="Submitted up to (UTC day, included)",
                                   widget=forms.DateInput(attrs={"type": "date"}))
    ties = forms.ChoiceField(choices=[("drop", "Leave ties out"), ("keep", "Keep ties, flagged")], initial="drop",
                             label="dpo: ties")
    final_labels = forms.BooleanField(required=False, label="Add each task's final label and agreement")
    contractor_ids = forms.BooleanField(required=False, label="Contractor ids instead of pseudonyms")

    def options(self) -> dict:
        data = self.cleaned_data
        options = {key: data[key] for key in ("min_grade", "exclude_gold", "reviewed_only", "full_overlap_only",
                                              "ties", "final_labels", "contractor_ids")}
        if data.get("submitted_from"):
            options["submitted_from"] = datetime.combine(data["submitted_from"], time(), tzinfo=UTC)
        if data.get("submitted_to"):
            options["submitted_to"] = datetime.combine(data["submitted_to"] + timedelta(days=1), time(), tzinfo=UTC)
        return options


@admin_required
def export_list(request):
    form = ExportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            batch = None
            try:
                if form.cleaned_data.get("batch"):
                    batch = Batch.objects.filter(pk=form.cleaned_data["batch"]).first()
                    if batch is None:
                        raise DomainError.at("batch", f"There is no batch {form.cleaned_data['batch']}.")
                export = exports.export_create(project=form.cleaned_data["project"], batch=batch,
                                               format=form.cleaned_data["format"], options=form.options(),
                                               created_by=request.user)
                return redirect("manage_data:export_detail", export.pk)
            except DomainError as exc:
                apply_to_forms([form], exc, aliases={"submitted_to": "submitted_to", "project": "project"})
        status = 400
    recent = Export.objects.select_related("project", "batch", "created_by").order_by("-created_at", "-id")
    return render(request, "manage/exports.html", {"form": form, "exports": recent[:EXPORTS_SHOWN]}, status=status)


@admin_required
def export_detail(request, export_id):
    export = get_object_or_404(Export.objects.select_related("project", "batch"), pk=export_id)
    return render(request, "manage/export_detail.html", {"export": export})


@admin_required
def export_progress(request, export_id):
    """The progress fragment; it polls itself (htmx) until the export is finished."""
    export = get_object_or_404(Export.objects.select_related("project", "batch"), pk=export_id)
    return render(request, "manage/_export_progress.html", {"export": export})


@admin_required
def export_download(request, export_id):
    export = get_object_or_404(Export.objects.select_related("project"), pk=export_id)
    if export.status != Export.Status.DONE or not export.file:
        raise DomainError(f"The export is {export.get_status_display().lower()}; download it once it is ready.",
                          code="not_ready")
    return export_file_response(export)


@admin_required
def batch_labels(request, batch_id):
    batch = get_object_or_404(Batch.objects.select_related("project", "agreement"), pk=batch_id)
    figures = getattr(batch, "agreement", None)
    labels = TaskLabel.objects.filter(batch=batch).select_related("task").order_by("task_id")[:LABELS_SHOWN]
    return render(request, "manage/batch_labels.html", {
        "batch": batch, "figures": figures, "labels": labels, "rule": batch.project.type.final_label_rule,
        "formats": exports.formats_for(batch.project.task_type),
    })


@require_POST
@admin_required
def batch_labels_compute(request, batch_id):
    batch = get_object_or_404(Batch, pk=batch_id)
    services.task_labels_compute(batch_id=batch.pk)
    return redirect("manage_data:batch_labels", batch.pk)
