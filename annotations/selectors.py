from django.db.models import QuerySet

from taskhub.errors import NotFound

from .models import Claim, Submission


def claims_active_for(*, user) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(contractor=user, status=Claim.Status.ACTIVE)
        .select_related("project", "task")
        .order_by("deadline")
    )


def claim_get_for_user(*, claim_id: int, user) -> Claim:
    """The contractor's own claim, or NotFound (never another person's)."""
    claim = (
        Claim.objects.filter(pk=claim_id, contractor=user)
        .select_related("task", "project", "project__qualification", "batch", "contractor")
        .first()
    )
    if claim is None:
        raise NotFound("No such task claim of yours.")
    return claim


def submissions_for(*, user) -> QuerySet[Submission]:
    return Submission.objects.filter(contractor=user).select_related("project", "task").order_by("-submitted_at")
