"""Admin set-up of the marketplace: projects with their first rate and grade policy, and draft
batches.

Each function validates everything before it writes and owns its transaction, so a bad
field changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from taskhub.parsing import text

from ..errors import ProjectSetupError
from ..models import GRADE_POLICY_FIELDS, Batch, GradePolicy, Project
from .policies import grade_policy_set
from .rates import pay_rate_set

_PROJECT_FIELDS = ("name", "slug", "task_type", "status", "description", "instructions", "overlap",
                   "max_active_claims", "claim_minutes", "is_onboarding", "qualification", "review_sample_rate",
                   "flag_threshold", "flag_window", "flag_min_grades", "rubric", "task_config")


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
        raise ProjectSetupError.at("slug", "A project with this slug already exists.") from None
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
            grade_policy_set(project=project, percents=grade_policy, updated_by=created_by)
    return project


def _policy_unchanged(current: GradePolicy | None, wanted: dict) -> bool:
    percents = ({name: getattr(current, name) for name in GRADE_POLICY_FIELDS} if current is not None
                else GradePolicy.DEFAULT_PERCENTS)
    return all(Decimal(str(wanted[name])) == percents[name] for name in GRADE_POLICY_FIELDS)


def project_update(*, project: Project, updated_by, fields: dict, grade_policy: dict | None = None) -> Project:
    """Change a project's set-up. Its type never changes (its tasks are shaped by it); its rate
    changes through `pay_rate_set`, which keeps the history and the notice period."""
    unknown = set(fields) - set(_PROJECT_FIELDS)
    if unknown:
        raise ProjectSetupError(f"Unknown project fields: {sorted(unknown)}.")
    if "task_type" in fields and fields["task_type"] != project.task_type:
        raise ProjectSetupError("A project's task type cannot change once it exists.", field="task_type")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        _save_project(locked, fields=fields)
        # A change re-prices past work, so only a real change is written.
        if grade_policy is not None and not _policy_unchanged(GradePolicy.objects.filter(project=locked).first(),
                                                              grade_policy):
            grade_policy_set(project=locked, percents=grade_policy, updated_by=updated_by)
    return locked


def batch_name_clean(*, project: Project, name: str) -> str:
    """The name of a new batch of `project`, or the refusal naming `batch_name` (or `project`)."""
    name = text(name, field="batch_name", max_length=Batch._meta.get_field("name").max_length,
                error=ProjectSetupError)
    if not name:
        raise ProjectSetupError.at("batch_name", "Name the batch.")
    if project.status == Project.Status.ARCHIVED:
        raise ProjectSetupError.at("project", "An archived project takes no new batches.")
    return name


def batch_create_draft(*, project: Project, name: str, created_by) -> Batch:
    name = batch_name_clean(project=project, name=name)
    return Batch.objects.create(project=project, name=name, status=Batch.Status.DRAFT, created_by=created_by)
