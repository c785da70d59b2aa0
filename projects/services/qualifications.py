"""Qualifications: a contractor passed an onboarding project and may work where it is required."""

from django.db import transaction

from ..errors import QualificationError
from ..models import Project, Qualification


def qualification_grant(*, contractor, project: Project, granted_by=None, note: str = "") -> Qualification:
    """Record that `contractor` passed the onboarding `project` (granting twice is harmless)."""
    if not project.is_onboarding:
        raise QualificationError(f"{project.name} is not an onboarding project.", code="not_onboarding")
    with transaction.atomic():
        qualification, _ = Qualification.objects.get_or_create(
            contractor=contractor, project=project, defaults={"granted_by": granted_by, "note": note}
        )
    return qualification


def qualification_revoke(*, contractor, project: Project) -> int:
    deleted, _ = Qualification.objects.filter(contractor=contractor, project=project).delete()
    return deleted
