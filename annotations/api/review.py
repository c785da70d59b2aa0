"""REST API for reviewers: the next item to grade and grading it (409 when someone was first)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsReviewer

from .. import selectors, services
from ..forms import queue_filters_from_get
from ..models import Review


class ReviewSerializer(serializers.ModelSerializer):
    final_score = serializers.IntegerField(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "submission_id", "kind", "reviewer_role", "score", "final_score", "marks", "reason",
                  "created_at"]


class GradeSerializer(serializers.Serializer):
    score = serializers.JSONField()
    marks = serializers.JSONField(required=False, default=dict)
    reason = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)


class QueueItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(source="project.slug")
    task_id = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    answer = serializers.JSONField()
    payload = serializers.JSONField(source="task.payload")


class NextItem(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses={200: QueueItemSerializer, 204: None})
    def get(self, request):
        item = selectors.review_next_for(reviewer=request.user, **queue_filters_from_get(request.query_params))
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(QueueItemSerializer(item).data)


class ReviewCreate(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(request=GradeSerializer, responses={201: ReviewSerializer})
    def post(self, request, submission_id):
        submission = selectors.submission_get_for_review(submission_id=submission_id, reviewer=request.user)
        body = GradeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = services.review_create(submission=submission, reviewer=request.user, **body.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

