"""Admin set-up of the marketplace: projects with their first rate and grade policy (and, for a
continuation, its lineage), changes to their set-up, and draft batches.

Each function validates everything before it writes and owns its transaction, so a bad field
changes nothing. What kind of work a project is (its task type, and whether it is onboarding) is
fixed when it is created: changing it would re-price or re-label work already done. A project
resembling one closed recently opens for work only once an admin has said whether it continues it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import audit_record
from taskhub.decisions import clean_reason
from taskhub.formats import local_time
from taskhub.money import quantize_rate
from taskhub.parsing import text

from ..errors import ProjectSetupError
from ..models import GRADE_POLICY_FIELDS, Batch, GradePolicy, Project
from ..selectors import grade_policy_in_force, lineage_candidates, percents_of, rate_in_force
from .instructions import instructions_version_add, instructions_version_first
from .lineage import lineage_answer_pending, lineage_refuse_pending
from .policies import grade_policy_set, parse_percents, policy_change_is_cut
from .rates import pay_rate_set, rate_change_is_cut

_PROJECT_FIELDS = ("name", "slug", "task_type", "status", "description", "instructions", "overlap",
                   "max_active_claims", "claim_minutes", "estimated_minutes", "idle_minutes", "is_onboarding",
                   "qualification", "review_sample_rate", "flag_threshold", "flag_window", "flag_min_grades", "rubric",
                   "task_config", "grants_name",
                   "pass_rule", "pass_min_submissions", "pass_min_average", "pass_min_agreement")
# Not model fields: the set-up form's answers about the lineage, the wage-floor guarantee and an edit
# of the instructions (its change note, and whether contractors must be told).
_DECISION_FIELDS = ("continues", "lineage_reason", "wage_floor_guaranteed", "wage_floor_reason",
                    "instructions_change_note", "instructions_material")


def _errors_from(exc: ValidationError) -> ProjectSetupError:
    errors = [{"field": name, "message": str(message)} for name, messages in exc.message_dict.items()
              for message in messages]
    first = errors[0]
    return ProjectSetupError(f"{first['field']}: {first['message']}", field=first["field"], errors=errors)


def _save_project(project: Project, *, fields: dict, now: datetime) -> Project:
    was_archived = project.status == Project.Status.ARCHIVED
    for name, value in fields.items():
        setattr(project, name, value)
    if project.status == Project.Status.ARCHIVED and not was_archived:
        project.archived_at = now
    elif project.status != Project.Status.ARCHIVED:
        project.archived_at = None
    try:
        project.full_clean(exclude=["continues"])
    except ValidationError as exc:
        raise _errors_from(exc) from None
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise ProjectSetupError.at("slug", "A project with this slug already exists.") from None
    return project


def _split(fields: dict) -> tuple[dict, dict]:
    unknown = set(fields) - set(_PROJECT_FIELDS) - set(_DECISION_FIELDS)
    if unknown:
        raise ProjectSetupError(f"Unknown project fields: {sorted(unknown)}.")
    return ({k: v for k, v in fields.items() if k in _PROJECT_FIELDS},
            {k: v for k, v in fields.items() if k in _DECISION_FIELDS})


def project_create(
    *,
    created_by,
    fields: dict,
    rate_amount: Decimal | str,
    rate_currency: str,
    rate_unit: str,
    grade_policy: dict | None = None,
    now: datetime | None = None,
) -> Project:
    """Create a project with its first pay rate and its grade policy, all or nothing.

    `fields` may say the project `continues` another (its lineage) and, for the recently closed
    projects it resembles that it does not continue, why (`lineage_reason`). A continuation's first
    rate (or policy) lower than its predecessor's in force is a cut: it starts after the notice
    period, and the predecessor's applies until then.
    """
    now = now or timezone.now()
    model_fields, answers = _split(fields)
    continues = answers.get("continues")
    with transaction.atomic():
        status = model_fields.get("status", Project.Status.DRAFT)
        # Created as a draft: it opens (below) once its rate, policy and lineage answers are in.
        project = _save_project(Project(), fields={**model_fields, "status": Project.Status.DRAFT}, now=now)
        instructions_version_first(project=project, by=created_by, now=now)
        pending = lineage_answer_pending(project=project, by=created_by, continues=continues,
                                         decline_reason=answers.get("lineage_reason", ""), now=now)
        earliest = now + settings.TASKHUB_RATE_CUT_NOTICE
        current = rate_in_force(project=project, at=now)
        try:
            cut = current is not None and rate_change_is_cut(current, amount=quantize_rate(rate_amount),
                                                             unit=rate_unit, currency=(rate_currency or "").upper())
        except (ArithmeticError, TypeError, ValueError):
            cut = False  # pay_rate_set words the refusal
        pay_rate_set(project=project, amount=rate_amount, currency=rate_currency, unit=rate_unit,
                     effective_from=earliest if cut else None, set_by=created_by, now=now,
                     reason=f"Launch rate (after notice: lower than {current} of {current.project.name})" if cut
                     else "Launch rate")
        if grade_policy is not None:
            policy_now = grade_policy_in_force(project=project, at=now)
            lower = policy_now is not None and policy_change_is_cut(percents_of(policy_now),
                                                                     parse_percents(grade_policy))
            grade_policy_set(project=project, percents=grade_policy, set_by=created_by, now=now, launch=True,
                             effective_from=earliest if lower and not project.is_onboarding else None,
                             reason="Launch policy" + (f" (after notice: lower than {policy_now.project.name}'s)"
                                                       if lower else ""))
        if status == Project.Status.ACTIVE:
            lineage_refuse_pending(pending, created_by)
        if status != Project.Status.DRAFT:
            project = _save_project(project, fields={"status": status}, now=now)
        if "wage_floor_guaranteed" in answers and not answers["wage_floor_guaranteed"]:
            # Before any work nobody loses a guarantee: it simply never starts.
            Project.objects.filter(pk=project.pk).update(wage_floor_guarantee_ends_at=now)
            project.wage_floor_guarantee_ends_at = now
    return project


def _policy_unchanged(current: GradePolicy | None, wanted: dict) -> bool:
    return all(Decimal(str(wanted[name])) == percents_of(current)[name] for name in GRADE_POLICY_FIELDS)


def _wage_floor_change(project: Project, *, guaranteed: bool, by, reason: str, now: datetime) -> None:
    """Keep or end the project's wage-floor guarantee. Ending it is a cut: it takes effect after the
    rate-cut notice (the payout periods that start before then are still topped up)."""
    ends = project.wage_floor_guarantee_ends_at
    if guaranteed == (ends is None):
        return  # as it is (an end already set stays set)
    if guaranteed:
        Project.objects.filter(pk=project.pk).update(wage_floor_guarantee_ends_at=None)
        project.wage_floor_guarantee_ends_at = None
        summary, why = f"Wage floor guaranteed on {project.name}", (reason or "").strip()
    else:
        why = clean_reason(reason, field="wage_floor_reason", what="Ending the wage-floor guarantee",
                           minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=ProjectSetupError)
        end = now + settings.TASKHUB_RATE_CUT_NOTICE
        Project.objects.filter(pk=project.pk).update(wage_floor_guarantee_ends_at=end)
        project.wage_floor_guarantee_ends_at = end
        summary = f"Wage-floor guarantee of {project.name} ends {local_time(end)} (after notice)"
    audit_record(actor=by, kind=AuditEntry.Kind.WAGE_FLOOR_GUARANTEE, project=project, obj=project, reason=why,
                 at=now, summary=summary,
                 data={"ends_at": project.wage_floor_guarantee_ends_at.isoformat()
                       if project.wage_floor_guarantee_ends_at else None})


def project_update(*, project: Project, updated_by, fields: dict, grade_policy: dict | None = None,
                   policy_effective_from: datetime | None = None, policy_reason: str = "",
                   policy_apply_to_past: bool = False, now: datetime | None = None) -> Project:
    """Change a project's set-up. Its task type and onboarding kind never change; its rate changes
    through `pay_rate_set` and its grade policy through `grade_policy_set` (history, notice before a
    lowering, only later work); opening it for work needs TaskHub's lineage proposals answered."""
    now = now or timezone.now()
    model_fields, answers = _split(fields)
    if "task_type" in model_fields and model_fields["task_type"] != project.task_type:
        raise ProjectSetupError.at("task_type", "A project's task type cannot change once it exists.")
    if "is_onboarding" in model_fields and bool(model_fields["is_onboarding"]) != project.is_onboarding:
        raise ProjectSetupError.at("is_onboarding", "Whether a project is onboarding is fixed when it is created: "
                                                    "changing it would re-price the work done on it.")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        opening = model_fields.get("status") == Project.Status.ACTIVE and locked.status != Project.Status.ACTIVE
        previous = locked.instructions or ""
        edited = "instructions" in model_fields and (model_fields["instructions"] or "") != previous
        _save_project(locked, fields=model_fields, now=now)
        if edited:
            instructions_version_add(project=locked, text_now=locked.instructions, by=updated_by, now=now,
                                     change_note=answers.get("instructions_change_note", ""),
                                     material=bool(answers.get("instructions_material")), previous=previous)
        pending = lineage_answer_pending(project=locked, by=updated_by, continues=answers.get("continues"),
                                         decline_reason=answers.get("lineage_reason", ""), now=now)
        if opening:
            lineage_refuse_pending(pending, updated_by)
        if "wage_floor_guaranteed" in answers:
            _wage_floor_change(locked, guaranteed=bool(answers["wage_floor_guaranteed"]), by=updated_by,
                               reason=answers.get("wage_floor_reason", ""), now=now)
        # A change applies to later work only, so only a real change is written.
        current = grade_policy_in_force(project=locked, at=max(policy_effective_from or now, now))
        if grade_policy is not None and not _policy_unchanged(current, grade_policy):
            grade_policy_set(project=locked, percents=grade_policy, set_by=updated_by, reason=policy_reason,
                             effective_from=policy_effective_from, apply_to_past=policy_apply_to_past, now=now)
    return locked


def project_open_blockers(*, project: Project, now: datetime | None = None) -> list[Project]:
    """The recently closed projects TaskHub proposes `project` continues, not answered yet."""
    return list(lineage_candidates(project=project, now=now or timezone.now()))


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

