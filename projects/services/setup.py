"""Admin set-up of the marketplace: projects with their first rate and grade policy, draft
batches, and rate changes announced to the people they concern.

Each function validates everything before it writes and owns its transaction, so a bad
field changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from taskhub.errors import DomainError

from ..models import Batch, PayRate, Project
from ..selectors import contractors_eligible_for, rate_in_force
from .rates import pay_rate_set

_PROJECT_FIELDS = ("name", "slug", "task_type", "status", "description", "instructions", "overlap",
                   "max_active_claims", "claim_minutes", "is_onboarding", "qualification", "review_sample_rate",
                   "flag_threshold", "flag_window", "flag_min_grades", "rubric", "task_config")


class ProjectSetupError(DomainError):
    code = "invalid_project"


def _errors_from(exc: ValidationError) -> ProjectSetupError:
    errors = [{"field": name, "message": str(message)} for name, messages in exc.message_dict.items()
              for message in messages]
    first = errors[0]
    return ProjectSetupError(f"{first['field']}: {first['message']}", field=first["field"], errors=errors)


def _save_project(project: Project, *, fields: dict) -> Project:
    for name, value in fields.items():
        setattr(project, name, value)
    try:
        project.full_clean()
    except ValidationError as exc:
        raise _errors_from(exc) from None
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise ProjectSetupError("A project with this slug already exists.", field="slug",
                                errors=[{"field": "slug", "message": "A project with this slug already exists."}]
                                ) from None
    return project


def project_create(
    *,
    created_by,
    fields: dict,
    rate_amount: Decimal | str,
    rate_currency: str,
    rate_unit: str,
    grade_policy: dict | None = None,
) -> Project:
    """Create a project with its first pay rate (in force now) and its grade policy, all or nothing."""
    unknown = set(fields) - set(_PROJECT_FIELDS)
    if unknown:
        raise ProjectSetupError(f"Unknown project fields: {sorted(unknown)}.")
    with transaction.atomic():
        project = _save_project(Project(), fields=fields)
        pay_rate_set(project=project, amount=rate_amount, currency=rate_currency, unit=rate_unit,
                     effective_from=None, set_by=created_by, reason="Launch rate")
        if grade_policy is not None:
            from payouts.services import grade_policy_set

            grade_policy_set(project=project, percents=grade_policy, updated_by=created_by)
    return project


def project_update(*, project: Project, updated_by, fields: dict, grade_policy: dict | None = None) -> Project:
    """Change a project's set-up. Its type never changes (its tasks are shaped by it); its rate
    changes through `pay_rate_change`, which keeps the history and the notice period."""
    unknown = set(fields) - set(_PROJECT_FIELDS)
    if unknown:
        raise ProjectSetupError(f"Unknown project fields: {sorted(unknown)}.")
    if "task_type" in fields and fields["task_type"] != project.task_type:
        raise ProjectSetupError("A project's task type cannot change once it exists.", field="task_type")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        _save_project(locked, fields=fields)
        if grade_policy is not None:
            from payouts.models import GRADE_POLICY_FIELDS, GradePolicy
            from payouts.services import grade_policy_set

            current = GradePolicy.objects.filter(project=locked).first()
            unchanged = current is not None and all(
                Decimal(str(grade_policy[name])) == getattr(current, name) for name in GRADE_POLICY_FIELDS
            )
            if current is None and all(
                Decimal(str(grade_policy[name])) == GradePolicy.DEFAULT_PERCENTS[name] for name in GRADE_POLICY_FIELDS
            ):
                unchanged = True
            if not unchanged:  # a change re-prices past work, so only write a real change
                grade_policy_set(project=locked, percents=grade_policy, updated_by=updated_by)
    return locked


def batch_create_draft(*, project: Project, name: str, created_by) -> Batch:
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the batch.", field="batch_name")
    if len(name) > Batch._meta.get_field("name").max_length:
        raise DomainError("Keep the batch name to 200 characters.", field="batch_name")
    if project.status == Project.Status.ARCHIVED:
        raise DomainError("An archived project takes no new batches.", field="project")
    return Batch.objects.create(project=project, name=name, status=Batch.Status.DRAFT, created_by=created_by)


@dataclass(frozen=True)
class RatePreview:
    current: PayRate | None
    amount: Decimal
    currency: str
    unit: str
    is_cut: bool
    effective_from: datetime
    earliest_for_cut: datetime
    allowed: bool
    notified: int

    @property
    def unit_label(self) -> str:
        return PayRate.Unit(self.unit).label


def pay_rate_preview(*, project: Project, amount: Decimal, currency: str, unit: str,
                     effective_from: datetime | None, now: datetime | None = None) -> RatePreview:
    """What `pay_rate_change` would do: the same cut rule as `pay_rate_set` (a lower amount, or
    another unit or currency, is a cut and waits for the notice period), the time the rate takes
    effect and how many eligible contractors will be told."""
    now = now or timezone.now()
    effective = effective_from or now
    current = rate_in_force(project=project, at=max(effective, now))
    currency = (currency or "").upper()
    is_cut = current is not None and (amount < current.amount or unit != current.unit or currency != current.currency)
    earliest = now + settings.TASKHUB_RATE_CUT_NOTICE
    return RatePreview(
        current=current, amount=amount, currency=currency, unit=unit, is_cut=is_cut, effective_from=effective,
        earliest_for_cut=earliest, allowed=not (is_cut and effective < earliest),
        notified=contractors_eligible_for(project=project).count(),
    )


def pay_rate_change(*, project: Project, amount: Decimal | str, currency: str, unit: str,
                    effective_from: datetime | None, set_by, reason: str) -> PayRate:
    """Append a rate (all `pay_rate_set` rules apply); `pay_rate_set` tells eligible contractors once it commits."""
    return pay_rate_set(project=project, amount=amount, currency=currency, unit=unit,
                        effective_from=effective_from, set_by=set_by, reason=reason)


def pay_rate_notify(*, rate_id: int, project_id: int) -> int:
    """One notification per eligible contractor, keyed by the rate so a repeat notifies nobody twice."""
    from accounts.services import AT_PLACEHOLDER, notifications_create_many

    rate = PayRate.objects.select_related("project").filter(pk=rate_id, project_id=project_id).first()
    if rate is None:
        return 0
    project = rate.project
    return notifications_create_many(
        users=contractors_eligible_for(project=project),
        kind="rate_change",
        title=f"New pay rate on {project.name}: {rate}",
        body=f"From {AT_PLACEHOLDER} the rate is {rate}. Reason: {rate.reason}",
        url=f"/work/projects/{project.slug}/",
        key=f"rate-{rate.pk}",
        at=rate.effective_from,
    )
