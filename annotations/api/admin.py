"""Admin endpoints of the claim engine and of data out: release a batch, start an export, follow it
and download it, list submissions (cursor pagination), and a batch's final labels and agreement."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsAdmin
from projects import selectors as project_selectors
from projects.api.views import BatchStatusSerializer
from taskhub.errors import NotFound

from .. import exports, services
from ..exports import ExportOptions
from ..models import Export, Submission, TaskLabel

BIG = 2**63 - 1


@extend_schema_field(ExportOptions)
class ExportOptionsField(serializers.JSONField):
    """The export's options, checked by annotations.exports.parse_options (the typed boundary)."""


class ExportSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    project = serializers.SlugField(source="project.slug", read_only=True)
    batch = serializers.IntegerField(source="batch_id", read_only=True, allow_null=True)
    format = serializers.CharField(read_only=True)
    options = serializers.JSONField(read_only=True)
    status = serializers.ChoiceField(choices=Export.Status.choices, read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    rows_written = serializers.IntegerField(read_only=True)
    rows_total = serializers.IntegerField(read_only=True, allow_null=True)
    size_bytes = serializers.IntegerField(read_only=True)
    error = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ExportRequestSerializer(serializers.Serializer):
    project = serializers.SlugField(max_length=80)
    batch = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIG)
    format = serializers.CharField(max_length=32, help_text="dpo, sft, reward, redteam, audio_spans, creative_eval, "
                                   "labelstudio or csv (the per-type ones for their task type only).")
    options = ExportOptionsField(required=False, default=dict)

    def validate_options(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("The options are a JSON object.")
        return value


class SubmissionFilterSerializer(serializers.Serializer):
    project = serializers.SlugField(max_length=80, required=False)
    batch = serializers.IntegerField(required=False, min_value=1, max_value=BIG)


class AdminSubmissionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    batch = serializers.IntegerField(source="task.batch_id")
    task = serializers.CharField(source="task.external_id")
    contractor = serializers.IntegerField(source="contractor_id")
    answer = serializers.JSONField()
    active_seconds = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    is_gold = serializers.BooleanField()
    final_grade = serializers.IntegerField(allow_null=True)


class TaskLabelSerializer(serializers.Serializer):
    task = serializers.CharField(source="task.external_id")
    answers = serializers.IntegerField()
    label = serializers.JSONField()
    agreement = serializers.FloatField(allow_null=True)


class BatchLabelsSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    rule = serializers.CharField(allow_null=True)
    alpha = serializers.FloatField(allow_null=True)
    level = serializers.CharField()
    tasks = serializers.IntegerField()
    mean_agreement = serializers.FloatField(allow_null=True)
    labels = TaskLabelSerializer(many=True)


class Exports(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=ExportSerializer(many=True))
    def get(self, request):
        recent = Export.objects.select_related("project").order_by("-created_at", "-id")[:100]
        return Response(ExportSerializer(recent, many=True).data)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer})
    def post(self, request):
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        project = project_selectors.project_get(slug=data["project"])
        batch = project_selectors.batch_get(batch_id=data["batch"]) if data.get("batch") else None
        export = exports.export_create(project=project, batch=batch, format=data["format"],
                                       options=data["options"], created_by=request.user)
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


def _export(export_id: int) -> Export:
    export = Export.objects.select_related("project").filter(pk=export_id).first()
    if export is None:
        raise NotFound(f"There is no export {export_id}.", field="export")
    return export


class ExportDetail(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=ExportSerializer)
    def get(self, request, export_id):
        return Response(ExportSerializer(_export(export_id)).data)


class ExportDownload(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 409: None})
    def get(self, request, export_id):
        export = _export(export_id)
        if export.status != Export.Status.DONE or not export.file:
            return Response({"code": "not_ready", "detail": f"The export is {export.get_status_display().lower()}; "
                             "download it once it is ready."}, status=status.HTTP_409_CONFLICT)
        return export_file_response(export)


def export_file_response(export: Export) -> FileResponse:
    fmt = exports.FORMATS[export.format]
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=exports.export_filename(export),
                        content_type=fmt.content_type)


class BatchRelease(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: BatchStatusSerializer})
    def post(self, request, batch_id):
        batch = project_selectors.batch_get(batch_id=batch_id)
        services.batch_release(batch=batch)
        return Response(BatchStatusSerializer(project_selectors.batch_get_with_counts(batch_id=batch_id)).data)


class BatchLabels(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=BatchLabelsSerializer)
    def get(self, request, batch_id):
        batch = project_selectors.batch_get(batch_id=batch_id)
        figures = services.task_labels_compute(batch_id=batch.pk)
        labels = TaskLabel.objects.filter(batch=batch).select_related("task").order_by("task_id")[:1000]
        return Response(BatchLabelsSerializer({
            "batch": batch.pk, "rule": batch.project.type.final_label_rule,
            "alpha": figures.alpha if figures else None, "level": figures.level if figures else "",
            "tasks": figures.tasks if figures else 0,
            "mean_agreement": figures.mean_agreement if figures else None, "labels": labels,
        }).data)


class SubmissionCursor(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class Submissions(generics.ListAPIView):
    """Every submission, newest first, in pages that hold steady while new work arrives."""

    permission_classes = [IsAdmin]
    pagination_class = SubmissionCursor
    serializer_class = AdminSubmissionSerializer
    filter_backends = []

    @extend_schema(parameters=[
        OpenApiParameter("project", str, description="A project's slug."),
        OpenApiParameter("batch", int, description="A batch's id."),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = SubmissionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        qs = Submission.objects.select_related("task")
        if "project" in filters.validated_data:
            qs = qs.filter(project__slug=filters.validated_data["project"])
        if "batch" in filters.validated_data:
            qs = qs.filter(task__batch_id=filters.validated_data["batch"])
        return qs


