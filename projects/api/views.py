"""Admin endpoints of projects: list projects, a batch's status with its counts, import tasks into a
batch (an upload; the answer is the import job, to poll), schedule a batch's release, and the
project's webhooks. Thin: parse, call one selector or service, answer."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsAdmin
from taskhub.api import MomentField

from .. import selectors, services
from ..models import WEBHOOK_EVENTS, Batch, Project, TaskImport, Webhook, WebhookDelivery

BIG = 2**63 - 1


class AdminProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    task_type = serializers.CharField()
    status = serializers.ChoiceField(choices=Project.Status.choices)
    overlap = serializers.IntegerField()
    batch_count = serializers.IntegerField()
    rate_amount = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    rate_currency = serializers.CharField(allow_null=True)
    rate_unit = serializers.CharField(allow_null=True)


class BatchStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.SlugField(source="project.slug")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Batch.Status.choices)
    release_policy = serializers.ChoiceField(choices=Batch.Policy.choices)
    release_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    tasks = serializers.IntegerField(source="task_total")
    slots = serializers.IntegerField(help_text="Tasks × overlap: the submissions the batch needs.")
    claimed = serializers.IntegerField(help_text="Active plus submitted claims.")
    submitted = serializers.IntegerField()


class TaskImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.IntegerField(source="batch_id")
    original_name = serializers.CharField()
    format = serializers.ChoiceField(choices=TaskImport.Format.choices)
    status = serializers.ChoiceField(choices=TaskImport.Status.choices)
    progress_percent = serializers.IntegerField()
    processed_lines = serializers.IntegerField()
    imported_count = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = serializers.JSONField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JSONL, CSV or HH-RLHF pairs, gzipped or not.")
    format = serializers.ChoiceField(choices=TaskImport.Format.choices, default=TaskImport.Format.AUTO)
    gold_from_reference = serializers.BooleanField(default=False)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=-(2**63), max_value=BIG)


class ScheduleSerializer(serializers.Serializer):
    release_at = MomentField(help_text="ISO 8601 with a time zone.")
    release_policy = serializers.ChoiceField(choices=Batch.Policy.choices)
    fair_share_cap = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=32767)
    fallback_policy = serializers.ChoiceField(
        choices=[Batch.Policy.FIRST_COME, Batch.Policy.FAIR_SHARE], default=Batch.Policy.FIRST_COME)
    lottery_max_per_person = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=32767)
    reservation_opens_at = MomentField(required=False, allow_null=True)
    urgent = serializers.BooleanField(default=False)
    urgent_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.CharField(max_length=1000, help_text="http:// or https://")
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), min_length=1)
    is_active = serializers.BooleanField(read_only=True)
    secret = serializers.CharField(read_only=True, help_text="Signs each delivery: X-TaskHub-Signature: "
                                   "sha256=HMAC-SHA256(secret, body).")
    created_at = serializers.DateTimeField(read_only=True)


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook = serializers.IntegerField(source="webhook_id")
    event = serializers.CharField()
    uuid = serializers.UUIDField()
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class AdminProjects(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=AdminProjectSerializer(many=True))
    def get(self, request):
        return Response(AdminProjectSerializer(selectors.projects_for_admin(now=timezone.now()), many=True).data)


class AdminBatch(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=BatchStatusSerializer)
    def get(self, request, batch_id):
        return Response(BatchStatusSerializer(selectors.batch_get_with_counts(batch_id=batch_id)).data)


class AdminBatchImports(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ImportUploadSerializer, responses={202: TaskImportSerializer})
    def post(self, request, batch_id):
        body = ImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        batch = selectors.batch_get(batch_id=batch_id)
        data = body.validated_data
        task_import = services.task_import_create(
            batch=batch, uploaded_file=data["file"], format=data["format"],
            gold_from_reference=data["gold_from_reference"], seed=data.get("seed"), created_by=request.user,
        )
        return Response(TaskImportSerializer(task_import).data, status=status.HTTP_202_ACCEPTED)


class AdminImport(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=TaskImportSerializer)
    def get(self, request, import_id):
        return Response(TaskImportSerializer(selectors.task_import_get(import_id=import_id)).data)


class AdminBatchSchedule(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=ScheduleSerializer, responses=BatchStatusSerializer)
    def post(self, request, batch_id):
        body = ScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        batch = selectors.batch_get(batch_id=batch_id)
        services.batch_schedule_release(batch=batch, scheduled_by=request.user, **body.validated_data)
        return Response(BatchStatusSerializer(selectors.batch_get_with_counts(batch_id=batch_id)).data)


class AdminWebhooks(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request, slug):
        project = selectors.project_get(slug=slug)
        return Response(WebhookSerializer(Webhook.objects.filter(project=project), many=True).data)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookSerializer})
    def post(self, request, slug):
        project = selectors.project_get(slug=slug)
        body = WebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hook = services.webhook_create(project=project, created_by=request.user, **body.validated_data)
        return Response(WebhookSerializer(hook).data, status=status.HTTP_201_CREATED)


class AdminWebhookDeliveries(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    def get(self, request, slug):
        project = selectors.project_get(slug=slug)
        deliveries = WebhookDelivery.objects.filter(webhook__project=project).order_by("-created_at", "-id")[:200]
        return Response(WebhookDeliverySerializer(deliveries, many=True).data)


class AdminWebhookDeliveryResend(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request, delivery_id):
        delivery = services.webhook_delivery_resend(delivery_id=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
