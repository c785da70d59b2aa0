"""REST API for contractors: eligible projects, claiming, opening lottery wins, releasing (and
handing back) and submitting."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import selectors as project_selectors

from .. import selectors, services
from ..models import Claim


class ProjectSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    task_type = serializers.CharField()
    available = serializers.IntegerField()
    rate_amount = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    rate_currency = serializers.CharField(allow_null=True)
    rate_unit = serializers.CharField(allow_null=True)


class ClaimSerializer(serializers.Serializer):
    # Declared field by field rather than derived from the model: the claim answer is the
    # hottest response in the API, and this skips the per-request model introspection.
    id = serializers.IntegerField(read_only=True)
    project = serializers.SlugField(source="project.slug", read_only=True)
    task_id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Claim.Status.choices, read_only=True)
    source = serializers.ChoiceField(choices=Claim.Source.choices, read_only=True)
    claimed_at = serializers.DateTimeField(read_only=True)
    deadline = serializers.DateTimeField(read_only=True, allow_null=True,
                                         help_text="Empty while a lottery win is reserved: it starts when opened.")
    reserved_until = serializers.DateTimeField(read_only=True, allow_null=True)
    active_seconds = serializers.IntegerField(read_only=True)
    payload = serializers.JSONField(source="task.payload", read_only=True)


class SubmissionSerializer(serializers.Serializer):
    # Declared field by field, like ClaimSerializer: the submit answer is the other half of the
    # claim-and-submit cycle.
    id = serializers.IntegerField(read_only=True)
    claim_id = serializers.IntegerField(read_only=True)
    task_id = serializers.IntegerField(read_only=True)
    answer = serializers.JSONField(read_only=True)
    active_seconds = serializers.IntegerField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True)


class AnswerSerializer(serializers.Serializer):
    answer = serializers.JSONField()


class ProjectList(APIView):
    @extend_schema(responses=ProjectSerializer(many=True))
    def get(self, request):
        projects = selectors.projects_for_dashboard(user=request.user, now=timezone.now())
        return Response(ProjectSerializer(projects, many=True).data)


class ClaimNext(APIView):
    @extend_schema(request=None, responses={201: ClaimSerializer, 200: None})
    def post(self, request, slug):
        project = project_selectors.project_for_contractor(user=request.user, slug=slug)
        if project is None:
            raise Http404("No such project open to you.")
        claim = services.task_claim_next(contractor=request.user, project=project)
        if claim is None:
            return Response({"code": "nothing_left", "detail": "No task is available right now."},
                            status=status.HTTP_200_OK)
        # The claim carries its task's payload from the claim statement itself.
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


class ClaimList(APIView):
    @extend_schema(responses=ClaimSerializer(many=True))
    def get(self, request):
        """The contractor's lottery wins still reserved for them, then their active claims."""
        return Response(ClaimSerializer(selectors.claims_held_for(user=request.user), many=True).data)


class ClaimOpen(APIView):
    @extend_schema(request=None, responses={200: ClaimSerializer})
    def post(self, request, claim_id):
        """Start a reserved lottery win: its deadline starts now."""
        claim = selectors.claim_for_api(claim_id=claim_id, user=request.user)
        claim = services.claim_open(claim=claim, contractor=request.user)
        return Response(ClaimSerializer(claim).data)


class ClaimRelease(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, claim_id):
        claim = selectors.claim_for_api(claim_id=claim_id, user=request.user)
        services.claim_release(claim=claim, contractor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimSubmit(APIView):
    @extend_schema(request=AnswerSerializer, responses={201: SubmissionSerializer})
    def post(self, request, claim_id):
        # Whose claim it is first: someone else's is not found, whatever the body says.
        claim = selectors.claim_for_api(claim_id=claim_id, user=request.user)
        body = AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        submission = services.claim_submit(claim=claim, contractor=request.user, answer=body.validated_data["answer"])
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)

