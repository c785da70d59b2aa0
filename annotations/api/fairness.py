"""REST API of the fairness report (team leads and admins): the figures of the /fairness/ pages,
per batch and per project (see annotations.selectors.release for what each one counts)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsLead
from projects.models import Batch, Project

from .. import selectors


class _Spread(serializers.Serializer):
    wanted = serializers.IntegerField(help_text="Contractors who wanted work: opted in, asked and found none, "
                                                "or hold a claim.")
    got_any = serializers.IntegerField()
    got_any_percent = serializers.FloatField(allow_null=True)
    tasks = serializers.IntegerField(help_text="Reservations, claims held and submissions.")
    mean = serializers.FloatField(allow_null=True)
    min = serializers.IntegerField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)
    gini = serializers.FloatField(allow_null=True, help_text="Over everyone who wanted work, 0 when even.")


class RegionSerializer(_Spread):
    key = serializers.ChoiceField(choices=["americas", "emea", "apac"])
    label = serializers.CharField()
    share_of_tasks_percent = serializers.FloatField()
    opted_in = serializers.IntegerField()
    kept_wins = serializers.IntegerField()


class HourSerializer(serializers.Serializer):
    hour = serializers.IntegerField()
    claims = serializers.IntegerField(help_text="Tasks people took at this local hour (claims, opened wins).")
    night = serializers.BooleanField()


class _Report(_Spread):
    regions = RegionSerializer(many=True)
    opted_in = serializers.IntegerField()
    kept_wins = serializers.IntegerField(help_text="Opted in, won, and none of their wins lapsed.")
    kept_wins_percent = serializers.FloatField(allow_null=True)
    hours = HourSerializer(many=True)
    claims = serializers.IntegerField()
    night_claims = serializers.IntegerField()
    night_percent = serializers.FloatField()


class ReservationsSerializer(serializers.Serializer):
    drawn = serializers.IntegerField()
    opened = serializers.IntegerField()
    handed_back = serializers.IntegerField()
    lapsed = serializers.IntegerField()
    reserved = serializers.IntegerField()


class _Pace(serializers.Serializer):
    slots = serializers.IntegerField()
    hours_to_fully_handed_out = serializers.FloatField(allow_null=True)
    hours_to_handed_out_for_good = serializers.FloatField(allow_null=True)
    hours_to_exhausted = serializers.FloatField(allow_null=True)


class CapStepSerializer(serializers.Serializer):
    offset_hours = serializers.FloatField()
    kind = serializers.ChoiceField(choices=["equal_share", "demand", "returned", "end"])
    at = serializers.DateTimeField(allow_null=True)
    applied = serializers.BooleanField()


class CapSerializer(serializers.Serializer):
    follows_fair_share = serializers.BooleanField()
    current = serializers.IntegerField(allow_null=True)
    derived = serializers.BooleanField()
    ends_at = serializers.DateTimeField(allow_null=True)
    ended = serializers.BooleanField()
    schedule = CapStepSerializer(many=True)


class LotterySerializer(serializers.Serializer):
    participants = serializers.IntegerField()
    winners = serializers.IntegerField(allow_null=True)
    reservation_period_hours = serializers.FloatField()
    seed = serializers.IntegerField(allow_null=True, source="allocation.seed", default=None)
    drawn_at = serializers.DateTimeField(allow_null=True, source="allocation.allocated_at", default=None)


class BatchFairnessSerializer(_Report, _Pace):
    batch = serializers.IntegerField(source="batch_obj.pk")
    project = serializers.SlugField(source="batch_obj.project.slug")
    release_policy = serializers.CharField(source="batch_obj.release_policy")
    released_at = serializers.DateTimeField(source="batch_obj.released_at", allow_null=True)
    reservations = ReservationsSerializer()
    cap = CapSerializer()
    lottery = LotterySerializer(allow_null=True)


class BatchRowSerializer(_Spread, _Pace):
    batch = serializers.IntegerField(source="batch.pk")
    name = serializers.CharField(source="batch.name")
    release_policy = serializers.CharField(source="batch.release_policy")
    released_at = serializers.DateTimeField(source="batch.released_at")
    reservations = ReservationsSerializer()


class ProjectFairnessSerializer(_Report):
    project = serializers.SlugField(source="project_obj.slug")
    lapsed = serializers.IntegerField()
    batches = BatchRowSerializer(many=True)


class BatchFairness(APIView):
    permission_classes = [IsLead]

    @extend_schema(responses=BatchFairnessSerializer)
    def get(self, request, batch_id):
        batch = get_object_or_404(Batch.objects.select_related("project"), pk=batch_id)
        report = selectors.batch_fairness_report(batch=batch)
        return Response(BatchFairnessSerializer({**report, "batch_obj": batch}).data)


class ProjectFairness(APIView):
    permission_classes = [IsLead]

    @extend_schema(responses=ProjectFairnessSerializer)
    def get(self, request, slug):
        project = get_object_or_404(Project, slug=slug)
        report = selectors.project_fairness_report(project=project)
        return Response(ProjectFairnessSerializer({**report, "project_obj": project}).data)
