"""Grade policies: what share of the pay each final grade earns on a project, as an append-only
history like the rates (promise 3).

A policy applies to the work submitted from its effective time on; past work keeps the policy it
was submitted under (projects/sql/grade_policy.sql, across the lineage). A lowering of any share
waits for the rate-cut notice, measured against the policy in force of the lineage. A raise may also
be applied to past work: for every earlier period, a copy of the policy then in force, raised
cellwise to the new one, is appended, so past pay can only go up (the recompute writes the upward
adjustments).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.services import AT_PLACEHOLDER, audit_record, notifications_create_many
from taskhub.decisions import clean_effective_time
from taskhub.formats import local_time
from taskhub.hooks import pay_changed
from taskhub.parsing import text

from ..errors import GradePolicyError
from ..models import GRADE_POLICY_FIELDS, GradePolicy, Project, Task
from ..selectors import contractors_eligible_for, grade_policy_in_force, lineage_ids, percents_of

# Where a raise applied to past work starts when no policy had been set: before any work.
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
_REASON_LIMIT = GradePolicy._meta.get_field("reason").max_length
_LABELS = {"pay_grade_5": "grade 5", "pay_grade_4": "grade 4", "pay_grade_3": "grade 3", "pay_grade_2": "grade 2",
           "pay_grade_1": "grade 1", "pay_ungraded": "not graded yet"}


def parse_percents(percents: dict) -> dict[str, Decimal]:
    """The six shares (0–100, two decimals) from decimal strings or Decimals; missing ones default."""
    values = {}
    for name in GRADE_POLICY_FIELDS:
        raw = percents.get(name, GradePolicy.DEFAULT_PERCENTS[name])
        if isinstance(raw, float):
            raise GradePolicyError("Give percentages as decimal strings, not floats.", field=name)
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise GradePolicyError(f"{raw!r} is not a percentage.", field=name) from None
        if not value.is_finite() or not Decimal("0") <= value <= Decimal("100") or value != round(value, 2):
            raise GradePolicyError(f"{name.replace('_', ' ')} must be between 0 and 100 with at most two decimals.",
                                   field=name)
        values[name] = value.quantize(Decimal("0.01"))
    return values


def policy_change_is_cut(current: dict[str, Decimal], wanted: dict[str, Decimal]) -> bool:
    """Lowering any share is a cut (even if others go up)."""
    return any(wanted[name] < current[name] for name in GRADE_POLICY_FIELDS)


def describe_change(current: dict[str, Decimal], wanted: dict[str, Decimal]) -> str:
    changes = [f"{_LABELS[n]} {wanted[n].normalize():f}% (was {current[n].normalize():f}%)"
               for n in GRADE_POLICY_FIELDS if wanted[n] != current[n]]
    return "; ".join(changes) or "no share changes"


def _has_work(project: Project) -> bool:
    """Whether anyone was paid by the project's rules yet (its own work or its lineage's)."""
    chain = [project.pk, *lineage_ids(project=project)]
    return Task.objects.filter(project_id__in=chain, submitted_count__gt=0).exists()


def grade_policy_set(
    *,
    project: Project,
    percents: dict,
    set_by,
    reason: str = "",
    effective_from: datetime | None = None,
    apply_to_past: bool = False,
    launch: bool = False,
    now: datetime | None = None,
) -> GradePolicy:
    """Append a policy to the project's history; it pays the work submitted from `effective_from`.

    A lowering of any share, against the policy in force of the lineage when it would start (the
    default percents when there is none), takes effect only after TASKHUB_RATE_CUT_NOTICE; `launch`
    (the policy a project is created with, `project_create`) is no lowering unless its lineage had one.
    `apply_to_past` carries a raise back to the work already done, upward only. Every
    path (the set-up pages, the Django admin) comes here; eligible contractors are told once it
    commits, and the change is in the audit trail.
    """
    values = parse_percents(percents)
    now = now or timezone.now()
    effective = clean_effective_time(effective_from, field="effective_from", now=now, error=GradePolicyError)
    reason = text(reason, field="reason", max_length=_REASON_LIMIT, error=GradePolicyError)
    with transaction.atomic():
        # Serialise policy changes per project so two admins cannot both pass the checks.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        current = grade_policy_in_force(project=project, at=max(effective, now))
        before = percents_of(current)
        first = launch and current is None and not _has_work(project)
        is_cut = not project.is_onboarding and not first and policy_change_is_cut(before, values)
        earliest = now + settings.TASKHUB_RATE_CUT_NOTICE
        if is_cut and effective < earliest:
            days = settings.TASKHUB_RATE_CUT_NOTICE.days
            of = "" if current is None or current.project_id == project.pk else f" (of {current.project.name})"
            raise GradePolicyError(
                f"This lowers pay ({describe_change(before, values)}) from the policy in force{of}: it can take "
                f"effect {days} days after notice at the earliest ({earliest:%Y-%m-%d %H:%M} UTC), and only for "
                "work submitted from then on.",
                code="policy_cut_notice", field="effective_from",
            )
        if not reason and not first:
            raise GradePolicyError.at("reason", "say why the grade policy changes; contractors read it")
        if apply_to_past:
            if is_cut:
                raise GradePolicyError.at("apply_to_past", "only a raise can apply to past work; a lowering never does")
            if effective > now:
                raise GradePolicyError.at("apply_to_past", "a raise applied to past work takes effect now")
        policy = policy_append(project=project, percents=values, effective_from=effective, set_by=set_by, now=now,
                               reason=reason or "Launch policy", was=before)
        if apply_to_past:
            carried = _carry_raise_back(project=project, raise_=policy, set_by=set_by, now=now)
            audit_record(actor=set_by, kind=AuditEntry.Kind.GRADE_POLICY_SET, project=project, obj=policy, at=now,
                         reason=policy.reason,
                         summary=f"Raise of the grade policy of {project.name} applied to past work "
                                 f"({carried} earlier period{'s' if carried != 1 else ''}, upward only)",
                         data={"applied_to_past": True, "periods_raised": carried})
        if not first:
            policy_id, change = policy.pk, describe_change(before, values)
            transaction.on_commit(lambda: grade_policy_notify(policy_id=policy_id, change=change), robust=True)
    return policy


def policy_append(*, project: Project, percents: dict[str, Decimal], effective_from: datetime, set_by, reason: str,
                  now: datetime, was: dict[str, Decimal]) -> GradePolicy:
    """Write a checked policy into the history, with its audit entry, and recompute the work it may
    pay. For `grade_policy_set` and the lineage's carry-over; call it inside their transaction."""
    policy = GradePolicy.objects.create(project=project, effective_from=effective_from, reason=reason, set_by=set_by,
                                        **percents)
    pay_changed(project_id=None if project.continued_by.exists() else project.pk)
    when = "now" if effective_from <= now else f"from {local_time(effective_from)}"
    audit_record(actor=set_by, kind=AuditEntry.Kind.GRADE_POLICY_SET, project=project, obj=policy, reason=reason,
                 at=now, summary=f"Grade policy of {project.name} {when}: {describe_change(was, percents)}",
                 data={"percents": {k: str(v) for k, v in percents.items()},
                       "was": {k: str(v) for k, v in was.items()}, "effective_from": effective_from.isoformat()})
    return policy


def _carry_raise_back(*, project: Project, raise_: GradePolicy, set_by, now: datetime) -> int:
    """Append, for every period before `raise_` in which a policy of the lineage paid the project's
    work, that policy raised cellwise to `raise_`; returns how many were appended. Each copy has the
    period's start as its effective time and a higher id, so it pays that period (the rule: the latest
    effective time, the highest id among equal times), and `raise_` itself pays from now on."""
    chain = [project.pk, *lineage_ids(project=project)]
    starts = sorted({HISTORY_START, *GradePolicy.objects.filter(
        project_id__in=chain, effective_from__lt=raise_.effective_from, effective_from__gt=HISTORY_START,
    ).exclude(pk=raise_.pk).values_list("effective_from", flat=True)})
    wanted = raise_.percents
    periods = [(start, percents_of(grade_policy_in_force(project=project, at=start))) for start in starts]
    copies = [
        GradePolicy(project=project, effective_from=start, extends=raise_, set_by=set_by,
                    reason=f"The raise of {now:%Y-%m-%d} applied to work submitted from {start:%Y-%m-%d}",
                    **{name: max(wanted[name], old[name]) for name in GRADE_POLICY_FIELDS})
        for start, old in periods
    ]
    GradePolicy.objects.bulk_create(copies)
    return len(copies)


def grade_policy_notify(*, policy_id: int, change: str) -> int:
    """Tell the project's eligible contractors, keyed by the policy so a repeat notifies nobody twice."""
    policy = GradePolicy.objects.select_related("project").filter(pk=policy_id).first()
    if policy is None:
        return 0
    project = policy.project
    return notifications_create_many(
        users=contractors_eligible_for(project=project), kind="grade_policy_change",
        title=f"Grade policy of {project.name} changes",
        body=f"For work submitted from {AT_PLACEHOLDER}: {change}. Reason: {policy.reason}",
        url=f"/work/projects/{project.slug}/", key=f"grade-policy-{policy.pk}", at=policy.effective_from,
    )
