"""Qualifications: a contractor passed an onboarding project and may work where it is required.

Granting and revoking are decisions on record (promises 2 and 4): a grant, by an admin or by
TaskHub when the contractor meets the project's pass rule, tells the person what it unlocks; a
revocation is an admin's decision with a written reason, an effective time and a notice, and keeps
the row (revoked at, by, why) instead of deleting it. Nothing revokes automatically.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Func, Q
from django.utils import timezone

from accounts.models import AuditEntry, Role
from accounts.services import audit_record, notification_create
from taskhub.decisions import clean_effective_time, clean_reason
from taskhub.errors import Conflict, Forbidden
from taskhub.formats import local_time
from taskhub.parsing import text

from ..errors import QualificationError
from ..models import Project, Qualification
from ..selectors import projects_unlocked_by

_NOTE_LIMIT = Qualification._meta.get_field("note").max_length
# The time eligibility compares with (projects/sql/eligibility.sql reads now(), the transaction's
# start; Django's Now() is the statement's, a little later).
_TRANSACTION_NOW = Func(function="now", template="now()", output_field=DateTimeField())


def _unlocks_text(project: Project) -> str:
    names = [p.name for p in projects_unlocked_by(project=project)[:20]]
    return f"It unlocks: {', '.join(names)}." if names else "No project requires it at the moment."


def qualification_grant(*, contractor, project: Project, granted_by=None, note: str = "",
                        now: datetime | None = None) -> Qualification:
    """Record that `contractor` passed the onboarding `project` (granting twice is harmless).
    `granted_by` None: TaskHub granted it because the pass rule was met (see
    annotations.services.onboarding). The person is told what it unlocks; the grant is audited."""
    if not project.is_onboarding:
        raise QualificationError(f"{project.name} is not an onboarding project.", code="not_onboarding")
    if getattr(contractor, "role", None) != Role.CONTRACTOR:
        raise QualificationError.at("contractor", f"{contractor} is not a contractor")
    note = text(note, field="note", max_length=_NOTE_LIMIT, error=QualificationError)
    now = now or timezone.now()
    with transaction.atomic():
        held = (Qualification.objects.select_for_update().filter(contractor=contractor, project=project,
                                                                  revoked_at__isnull=True).first())
        if held is not None:
            return held
        pending = (Qualification.objects.filter(contractor=contractor, project=project, revoked_at__gt=now).first())
        if pending is not None:
            if granted_by is None:
                return pending  # it still counts until the revocation an admin set takes effect
            raise Conflict(f"A revocation of this qualification is set for {local_time(pending.revoked_at, granted_by)}"
                           "; grant it again once it has taken effect.", code="revocation_scheduled")
        try:
            with transaction.atomic():
                qualification = Qualification.objects.create(contractor=contractor, project=project,
                                                             granted_by=granted_by, note=note)
        except IntegrityError:  # granted at the same moment elsewhere: that grant is this one
            return Qualification.objects.get(contractor=contractor, project=project, revoked_at__isnull=True)
        how = "by an admin" if granted_by is not None else "because you met its pass rule"
        their = "by an admin" if granted_by is not None else "the pass rule was met"
        notification_create(
            user=contractor, kind="qualification_granted", url="/work/",
            title=f"You passed {project.name}: {project.qualification_name} is yours",
            body=f"Granted {how}. {_unlocks_text(project)}", key=f"qualification:{qualification.pk}:granted",
        )
        audit_record(actor=granted_by, kind=AuditEntry.Kind.QUALIFICATION_GRANTED, subject=contractor,
                     project=project, obj=qualification, reason=note, at=now,
                     summary=f"{project.qualification_name} granted to {contractor.email} ({their})")
    return qualification


def qualification_revoke(*, contractor, project: Project, revoked_by, reason: str,
                         effective_at: datetime | None = None, now: datetime | None = None) -> Qualification:
    """An admin's decision that `contractor` no longer holds the qualification of `project`, from now
    or a later time, with the reason they are told at once. The row is kept, with when, by whom and
    why; eligibility ignores it from `revoked_at` on (projects/sql/eligibility.sql)."""
    if revoked_by is None or getattr(revoked_by, "role", None) != Role.ADMIN or not revoked_by.is_active:
        raise Forbidden("Only an admin revokes a qualification.", code="not_an_admin")
    now = now or timezone.now()
    text = clean_reason(reason, field="reason", what="A revocation",
                        minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=QualificationError)
    effective = clean_effective_time(effective_at, field="effective_at", now=now, error=QualificationError)
    with transaction.atomic():
        held = (Qualification.objects.select_for_update()
                .filter(contractor=contractor, project=project).filter(Q(revoked_at__isnull=True))
                .first())
        if held is None:
            raise Conflict(f"{contractor} holds no qualification from {project.name} to revoke (or its revocation "
                           "is already set).", code="not_held")
        # At once: by the database's clock, so this very transaction already sees it revoked.
        Qualification.objects.filter(pk=held.pk, revoked_at__isnull=True).update(
            revoked_at=effective if effective > now else _TRANSACTION_NOW, revoked_by=revoked_by, revoke_reason=text)
        held.refresh_from_db()
        when = "now" if effective <= now else f"from {local_time(effective, contractor)}"
        notification_create(
            user=contractor, kind="qualification_revoked", url="/work/history/",
            title=f"Your qualification {project.qualification_name} is revoked {when}",
            body=f"Reason: {text} You may ask an admin to look at it again; the decision is on your History page.",
            key=f"qualification:{held.pk}:revoked",
        )
        audit_record(actor=revoked_by, kind=AuditEntry.Kind.QUALIFICATION_REVOKED, subject=contractor,
                     project=project, obj=held, reason=text, at=now,
                     summary=f"{project.qualification_name} of {contractor.email} revoked {when}",
                     data={"effective_at": effective.isoformat()})
    return held
