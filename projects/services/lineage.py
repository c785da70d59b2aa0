"""Lineage: a project that continues another (the same work under a new name), so that closing a
project and opening its work again under a new name at a lower rate is no way around the notice
before a cut (promise 3).

- An admin says so when creating the project (`project_create(continues=...)`), or answers
  TaskHub's proposal: a new project with the same task type, onboarding kind and qualification as
  a project closed in the last TASKHUB_LINEAGE_LOOKBACK, reaching the same people
  (`projects.selectors.lineage_candidates`), cannot open for work until the admin says it continues
  that project or, with a written reason the closed project's contractors are shown, that it does not.
- Across a lineage the rate and grade policy in force are one rule (projects/sql/rate_in_force.sql,
  grade_policy.sql): a continuation pays its predecessor's until its own apply, and its own are cuts,
  with the notice, when lower. Said after the continuation's own rate was set, the same holds: a rate
  (or policy) lower than the predecessor's gives way to the predecessor's for the notice period.
- A lineage is never changed or undone and never goes round in a circle (projects/sql/lineage.sql).
- The predecessor's contractors are told; every answer is in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEntry, Role
from accounts.services import audit_record, notifications_create_many
from taskhub.decisions import clean_reason
from taskhub.errors import Forbidden
from taskhub.formats import local_time
from taskhub.hooks import pay_changed
from taskhub.parsing import text

from ..errors import LineageError
from ..models import GradePolicy, LineageDecision, PayRate, Project, Task
from ..selectors import (
    contractors_qualified_for,
    grade_policy_in_force,
    lineage_candidates,
    lineage_ids,
    percents_of,
    rate_in_force,
)
from .policies import describe_change, policy_append, policy_change_is_cut
from .rates import rate_append, rate_change_is_cut


def _require_admin(by) -> None:
    if by is None or getattr(by, "role", None) != Role.ADMIN or not by.is_active:
        raise Forbidden("Only an admin decides a project's lineage.", code="not_an_admin")


def _check_can_continue(project: Project, predecessor: Project) -> None:
    if predecessor.pk == project.pk:
        raise LineageError.at("continues", "a project cannot continue itself")
    if project.continues_id is not None:
        raise LineageError.at("continues", f"{project.name} already continues another project; a lineage is "
                                           "never changed")
    if project.pk in lineage_ids(project=predecessor):
        raise LineageError.at("continues", f"{predecessor.name} already continues {project.name}: the lineage would "
                                           "go round in a circle")
    if predecessor.task_type != project.task_type:
        raise LineageError.at("continues", f"{predecessor.name} is {predecessor.type.label.lower()} work, not the "
                                           "same work as this project")
    if predecessor.is_onboarding != project.is_onboarding:
        raise LineageError.at("continues", "onboarding and paid project work are not the same work")


def _own_in_force(model, project: Project, at: datetime):
    return (model.objects.filter(project=project, effective_from__lte=at).order_by("-effective_from", "-id")
            .first())


def _carry_over(project: Project, predecessor: Project, by, now: datetime) -> list[str]:
    """When `project` already has its own rate or policy, and one is lower than the predecessor's in
    force now: the predecessor's applies for the notice period (a copy appended to the project's
    history now), then the project's own again. Returns what it did, in words."""
    notice_end = now + settings.TASKHUB_RATE_CUT_NOTICE
    done = []
    theirs = rate_in_force(project=predecessor, at=now)
    if theirs is not None:
        soon = PayRate.objects.filter(project=project, effective_from__gt=now, effective_from__lt=notice_end)
        for rate in soon:
            if rate_change_is_cut(theirs, amount=rate.amount, unit=rate.unit, currency=rate.currency):
                raise LineageError.at("continues", f"{project.name} has a rate set for "
                                                   f"{local_time(rate.effective_from, by)} ({rate}) that is lower than "
                                                   f"{predecessor.name}'s {theirs}, sooner than the notice allows")
        mine = _own_in_force(PayRate, project, now)
        if mine is not None and rate_change_is_cut(theirs, amount=mine.amount, unit=mine.unit,
                                                   currency=mine.currency):
            later = _own_in_force(PayRate, project, notice_end)
            rate_append(project=project, amount=theirs.amount, currency=theirs.currency, unit=theirs.unit,
                        effective_from=now, set_by=by, now=now, was=mine,
                        reason=f"Continues {predecessor.name}: its rate applies until {project.name}'s own may "
                               "start, after notice")
            rate_append(project=project, amount=later.amount, currency=later.currency, unit=later.unit,
                        effective_from=notice_end, set_by=by, now=now, was=theirs,
                        reason=f"{project.name}'s rate, after the notice of its continuing {predecessor.name}")
            done.append(f"{predecessor.name}'s rate {theirs.described} applies until {local_time(notice_end)}, "
                        f"then {later.described}")
    theirs_policy = grade_policy_in_force(project=predecessor, at=now)
    if theirs_policy is not None:
        before = percents_of(theirs_policy)
        soon = GradePolicy.objects.filter(project=project, effective_from__gt=now, effective_from__lt=notice_end)
        if any(policy_change_is_cut(before, p.percents) for p in soon):
            raise LineageError.at("continues", f"{project.name} has a grade policy set for sooner than the notice "
                                               f"allows that pays less than {predecessor.name}'s")
        mine = _own_in_force(GradePolicy, project, now)
        if mine is not None and not project.is_onboarding and policy_change_is_cut(before, mine.percents):
            later = _own_in_force(GradePolicy, project, notice_end)
            policy_append(project=project, percents=before, effective_from=now, set_by=by, now=now,
                          was=mine.percents, reason=f"Continues {predecessor.name}: its grade policy applies until "
                                                    f"{project.name}'s own may start, after notice")
            policy_append(project=project, percents=later.percents, effective_from=notice_end, set_by=by, now=now,
                          was=before, reason=f"{project.name}'s grade policy, after the notice of its continuing "
                                             f"{predecessor.name}")
            done.append(f"{predecessor.name}'s grade policy applies until {local_time(notice_end)}, then "
                        f"{describe_change(before, later.percents)}")
    return done


def project_lineage_set(*, project: Project, predecessor: Project, by, reason: str = "",
                        now: datetime | None = None) -> Project:
    """Record that `project` continues `predecessor`: rates, grade policies and the notice before a
    cut carry across from now, the predecessor's contractors are told, and it is in the audit trail.
    Only before the project has work (its people were paid by the predecessor's rules until now)."""
    _require_admin(by)
    now = now or timezone.now()
    reason = text(reason, field="lineage_reason", max_length=5_000, error=LineageError)
    with transaction.atomic():
        locked = {p.pk: p for p in Project.objects.select_for_update().filter(pk__in=[project.pk, predecessor.pk])
                  .order_by("pk")}
        project, predecessor = locked[project.pk], locked[predecessor.pk]
        _check_can_continue(project, predecessor)
        if Task.objects.filter(project=project, submitted_count__gt=0).exists():
            raise LineageError.at("continues", f"{project.name} already has work; only a project without any can "
                                               "start continuing another")
        carried = _carry_over(project, predecessor, by, now)
        Project.objects.filter(pk=project.pk, continues__isnull=True).update(continues=predecessor)
        project.continues = predecessor
        LineageDecision.objects.update_or_create(
            project=project, candidate=predecessor,
            defaults={"decision": LineageDecision.Decision.CONTINUES, "reason": reason, "decided_by": by,
                      "decided_at": now},
        )
        pay_changed(project_id=project.pk)
        audit_record(actor=by, kind=AuditEntry.Kind.LINEAGE_SET, project=project, obj=project, reason=reason, at=now,
                     summary=f"{project.name} continues {predecessor.name}: rates, grade policy and notice carry over",
                     data={"predecessor": predecessor.pk, "predecessor_name": predecessor.name, "carried": carried})
        project_id, predecessor_id = project.pk, predecessor.pk
        transaction.on_commit(lambda: lineage_notify(project_id=project_id, predecessor_id=predecessor_id,
                                                     carried=carried), robust=True)
    return project


def lineage_notify(*, project_id: int, predecessor_id: int, carried: list[str] | None = None) -> int:
    """Tell the predecessor's contractors (everyone who could work on it) that its work goes on under
    a new name, with what it pays. Keyed, so a repeat tells nobody twice."""
    project = Project.objects.filter(pk=project_id).first()
    predecessor = Project.objects.filter(pk=predecessor_id).first()
    if project is None or predecessor is None:
        return 0
    now = timezone.now()
    rate = rate_in_force(project=project, at=now)
    pays = f"It pays {rate.described} now" if rate is not None else "Its rate is not set yet"
    upcoming = PayRate.objects.filter(project=project, effective_from__gt=now).order_by("effective_from").first()
    if upcoming is not None:
        pays += f", {upcoming.described} from {local_time(upcoming.effective_from)}"
    body = (f"The work of {predecessor.name} continues as {project.name}. Its rates, grade policy and the notice "
            f"before any cut carry over. {pays}.")
    if carried:
        body += " " + "; ".join(carried) + "."
    return notifications_create_many(
        users=contractors_qualified_for(project=predecessor), kind="lineage", url=f"/work/projects/{project.slug}/",
        title=f"{predecessor.name} continues as {project.name}", body=body, key=f"lineage:{project.pk}",
    )


def project_lineage_decline(*, project: Project, candidate: Project, by, reason: str,
                            now: datetime | None = None) -> LineageDecision:
    """Say that `project` does not continue `candidate`, a recently closed project it resembles, with
    a reason the candidate's contractors are shown (and read on their History page)."""
    _require_admin(by)
    now = now or timezone.now()
    text = clean_reason(reason, field="lineage_reason", what="Saying a project is not a continuation",
                        minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS, error=LineageError)
    with transaction.atomic():
        decision, created = LineageDecision.objects.get_or_create(
            project=project, candidate=candidate,
            defaults={"decision": LineageDecision.Decision.DECLINED, "reason": text, "decided_by": by,
                      "decided_at": now},
        )
        if not created:
            raise LineageError(f"Whether {project.name} continues {candidate.name} was already answered.",
                               code="lineage_already_answered", field="lineage_reason")
        audit_record(actor=by, kind=AuditEntry.Kind.LINEAGE_DECLINED, project=candidate, obj=decision, reason=text,
                     at=now, summary=f"{project.name} is not a continuation of {candidate.name}",
                     data={"new_project": project.pk, "new_project_name": project.name})
        decision_id = decision.pk
        transaction.on_commit(lambda: lineage_decline_notify(decision_id=decision_id), robust=True)
    return decision


def lineage_decline_notify(*, decision_id: int) -> int:
    decision = LineageDecision.objects.select_related("project", "candidate").filter(pk=decision_id).first()
    if decision is None:
        return 0
    project, candidate = decision.project, decision.candidate
    return notifications_create_many(
        users=contractors_qualified_for(project=candidate), kind="lineage_declined",
        title=f"{project.name} is a new project, not {candidate.name} under a new name",
        body=f"An admin says why: {decision.reason}", url=f"/work/projects/{project.slug}/",
        key=f"lineage-declined:{decision.pk}",
    )


def lineage_answer_pending(*, project: Project, by, continues: Project | None, decline_reason: str,
                           now: datetime) -> list[Project]:
    """Answer TaskHub's proposals for `project`: `continues` (if given) is the one it continues; every
    other candidate is declined with `decline_reason` when one is given. Returns the candidates left
    unanswered."""
    if continues is not None:
        project_lineage_set(project=project, predecessor=continues, by=by, now=now)
        project.refresh_from_db(fields=["continues"])
    pending = list(lineage_candidates(project=project, now=now))
    if pending and (decline_reason or "").strip():
        for candidate in pending:
            project_lineage_decline(project=project, candidate=candidate, by=by, reason=decline_reason, now=now)
        pending = []
    return pending


def lineage_refuse_pending(pending: list[Project], by) -> None:
    """The refusal to open a project for work while TaskHub's proposals are unanswered."""
    if not pending:
        return
    names = "; ".join(f"{c.name} (closed {local_time(c.archived_at, by)})" for c in pending)
    raise LineageError.at(
        "continues",
        f"This project looks like the same work as a project closed recently: {names}. Say it continues one of "
        "them, or give a reason why it is new work (the closed project's contractors are shown it), before it "
        "opens for work.",
        code="lineage_unanswered",
    )
