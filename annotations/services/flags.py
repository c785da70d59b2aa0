"""No automatic off-boarding: low grades flag a contractor for a lead's decision, and the
contractor has a voice before and after it (promise 2).

After each grade (and each appeal that revises one) the contractor's rolling average on
the project is recomputed. Below the project's threshold, a flag opens (one open flag per
contractor and project, by a partial unique constraint). Nothing happens to the person
until a lead decides: warn, pause on the project, or clear, always with a reason that the
contractor sees. A pause is the only thing that stops someone working, on that project only.

The contractor may answer the flag (`flag_respond`); the lead reads the answer on the flags page
before deciding, and a pause waits until the response window (TASKHUB_FLAG_RESPONSE_WINDOW) ends
unless the lead marks it urgent with a reason. A pause can be appealed (`pause_appeal_create`) to an
admin or a lead who did not decide it (`pause_appeal_decide`); each step is decided once, whoever
races, and recorded in the grading trail and the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import AuditEntry, Role
from accounts.services import audit_record
from projects.models import Project
from taskhub.decisions import clean_reason
from taskhub.errors import Conflict, Forbidden, NotFound
from taskhub.formats import local_time

from ..errors import ReviewError
from ..models import ContractorFlag, ContractorPause, PauseAppeal, Review, ReviewEvent
from ..rules import clean_written_reason
from ..selectors import current_reviews_with_final_grade
from .notices import notify_contractor


class Decision:
    WARN = "warn"
    PAUSE = "pause"
    CLEAR = "clear"
    STATUS = {WARN: ContractorFlag.Status.WARNED, PAUSE: ContractorFlag.Status.PAUSED,
              CLEAR: ContractorFlag.Status.CLEARED}
    CHOICES = [(WARN, "Warn"), (PAUSE, "Pause on this project"), (CLEAR, "Clear")]


def rolling_average(*, contractor_id: int, project: Project) -> tuple[Decimal | None, int]:
    """The mean final grade of the contractor's latest `flag_window` graded submissions."""
    latest = (
        current_reviews_with_final_grade()
        .filter(submission__contractor_id=contractor_id, submission__project_id=project.pk)
        .order_by("-created_at", "-id")
        .values_list("final_grade", flat=True)[: project.flag_window]
    )
    grades = list(latest)
    if not grades:
        return None, 0
    average = (Decimal(sum(grades)) / len(grades)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return average, len(grades)


def contractor_flags_recompute(*, contractor_id: int, project_id: int, now: datetime | None = None):
    """Open a flag when the rolling average is below the threshold; safe to repeat.

    No flag opens while one is open or the contractor is paused on the project, nor again
    after a decision until a newer grade arrives.
    """
    project = Project.objects.get(pk=project_id)
    average, counted = rolling_average(contractor_id=contractor_id, project=project)
    now = now or timezone.now()
    open_flag = ContractorFlag.objects.filter(
        contractor_id=contractor_id, project=project, status=ContractorFlag.Status.OPEN
    ).first()
    if open_flag is not None:
        # Keep the figure the lead will see up to date; the decision stays theirs.
        if average is not None and average != open_flag.average:
            ContractorFlag.objects.filter(pk=open_flag.pk, status=ContractorFlag.Status.OPEN).update(
                average=average, grades_counted=counted
            )
        return None
    if average is None or counted < project.flag_min_grades or average >= project.flag_threshold:
        return None
    if ContractorPause.objects.filter(contractor_id=contractor_id, project=project, lifted_at__isnull=True).exists():
        return None
    last_decision = (
        ContractorFlag.objects.filter(contractor_id=contractor_id, project=project)
        .exclude(status=ContractorFlag.Status.OPEN)
        .aggregate(at=Max("decided_at"))["at"]
    )
    if last_decision is not None and not (
        Review.objects.filter(submission__contractor_id=contractor_id, submission__project=project,
                              created_at__gt=last_decision)
        .exclude(kind=Review.Kind.CALIBRATION)
        .exists()
    ):
        return None
    respond_until = now + settings.TASKHUB_FLAG_RESPONSE_WINDOW
    try:
        with transaction.atomic():
            flag = ContractorFlag.objects.create(
                contractor_id=contractor_id, project=project, average=average, threshold=project.flag_threshold,
                grades_counted=counted, created_at=now, respond_until=respond_until,
            )
            ReviewEvent.objects.create(
                kind=ReviewEvent.Kind.FLAGGED, flag=flag, at=now,
                data={"average": str(average), "threshold": str(project.flag_threshold), "grades": counted},
            )
            notify_contractor(
                user_id=contractor_id, kind="grades_flagged",
                title=f"Your recent grades on {project.name} are below the project's threshold",
                body=(f"Your average over your last {counted} graded tasks is {average} (threshold "
                      f"{project.flag_threshold}). A team lead will look at it; nothing changes until they decide. "
                      f"You can answer on My work: the lead reads your answer before deciding, and cannot pause "
                      f"you before {local_time(respond_until)} (UTC) unless it is urgent."),
                key=f"flag:{flag.pk}:opened",
            )
    except IntegrityError:
        return None  # a concurrent recompute opened it
    return flag


def _check_authority(lead, scope: Q | None, what: str) -> None:
    if lead.role not in (Role.LEAD, Role.ADMIN) or not lead.is_active:
        raise Forbidden(f"Only team leads and admins {what}.", code="not_a_lead")
    if lead.role != Role.ADMIN and scope is None:
        # Who a lead leads is the sprints' knowledge: they pass it as `scope` (sprints.services).
        raise Forbidden(f"A team lead may {what} only for the people and projects of their own sprints.",
                        code="not_your_people")


def flag_respond(*, flag: ContractorFlag, contractor, response: Any, now: datetime | None = None) -> ContractorFlag:
    """The flagged contractor's answer, which the lead reads before deciding. One answer per flag,
    while it is open."""
    if contractor.pk != flag.contractor_id:
        raise Forbidden("Only the flagged contractor answers a flag.", code="not_your_flag")
    text = clean_reason(response, field="response", what="An answer", error=ReviewError,
                        minimum=settings.TASKHUB_APPEAL_REASON_MIN_CHARS)
    now = now or timezone.now()
    with transaction.atomic():
        answered = ContractorFlag.objects.filter(
            pk=flag.pk, status=ContractorFlag.Status.OPEN, responded_at__isnull=True
        ).update(response=text, responded_at=now)
        if not answered:
            flag.refresh_from_db()
            if flag.status != ContractorFlag.Status.OPEN:
                raise Conflict(f"A lead already decided this flag ({flag.get_status_display().lower()}); "
                               "a pause can be appealed on My work.", code="flag_already_decided")
            raise Conflict("You already answered this flag.", code="flag_already_answered")
        ReviewEvent.objects.create(kind=ReviewEvent.Kind.RESPONDED, actor=contractor, flag=flag, at=now,
                                   data={"response": text})
        audit_record(actor=contractor, kind=AuditEntry.Kind.FLAG_RESPONDED, subject=contractor, obj=flag,
                     project=flag.project, reason=text, at=now,
                     summary=f"{contractor.email} answered the flag on {flag.project.name}")
    flag.refresh_from_db()
    return flag


def flag_decide(*, flag: ContractorFlag, lead, decision: str, reason: Any, urgent: bool = False,
                urgent_reason: Any = "", now: datetime | None = None, scope: Q | None = None):
    """A lead's decision on a flag, with the reason the contractor will read. A pause waits for the
    end of the contractor's response window unless it is marked urgent, with a reason.

    `scope` narrows the flags this lead may decide (over ContractorFlag rows: the contractor and the
    project); it is required for a team lead, and applied in the same conditional UPDATE that records
    the decision, so authority is checked at the moment the decision is made. Admins decide any flag."""
    _check_authority(lead, scope, "decide on flags")
    if lead.pk == flag.contractor_id:
        raise Forbidden("Nobody decides on their own flag.", code="own_flag")
    if decision not in Decision.STATUS:
        raise ReviewError.at("decision", "choose warn, pause or clear")
    text = clean_written_reason(reason, "reason", settings.TASKHUB_DECISION_REASON_MIN_CHARS,
                                "A decision")
    now = now or timezone.now()
    status = Decision.STATUS[decision]
    flag.refresh_from_db(fields=["respond_until", "status", "responded_at"])
    if scope is not None and not ContractorFlag.objects.filter(pk=flag.pk).filter(scope).exists():
        raise NotFound("No such flag among the people and projects you lead.")
    if flag.status != ContractorFlag.Status.OPEN:
        raise Conflict(f"This flag was already decided ({flag.get_status_display().lower()}).",
                       code="flag_already_decided")
    early = decision == Decision.PAUSE and now < flag.respond_until
    urgent_text = ""
    if early:
        if not urgent:
            raise ReviewError.at(
                "decision",
                f"the contractor may answer until {local_time(flag.respond_until, lead)}; a pause can be decided "
                "from then, or now if it is urgent, with a reason",
            )
        urgent_text = clean_reason(urgent_reason, field="urgent_reason", what="An urgent pause", error=ReviewError,
                                   minimum=settings.TASKHUB_DECISION_REASON_MIN_CHARS)
    with transaction.atomic():
        decided = ContractorFlag.objects.filter(pk=flag.pk, status=ContractorFlag.Status.OPEN).filter(
            scope or Q()).update(status=status, decided_by=lead, reason=text, decided_at=now, urgent=early,
                                 urgent_reason=urgent_text)
        if not decided:
            if scope is not None and not ContractorFlag.objects.filter(pk=flag.pk).filter(scope).exists():
                raise NotFound("No such flag among the people and projects you lead.")
            flag.refresh_from_db()
            raise Conflict(f"This flag was already decided ({flag.get_status_display().lower()}).",
                           code="flag_already_decided")
        if decision == Decision.PAUSE:
            try:
                with transaction.atomic():
                    ContractorPause.objects.create(
                        contractor_id=flag.contractor_id, project_id=flag.project_id, flag=flag, reason=text,
                        created_by=lead, created_at=now,
                    )
            except IntegrityError:
                pass  # already paused on this project: the pause in force stands
        ReviewEvent.objects.create(
            kind=ReviewEvent.Kind.DECIDED, actor=lead, flag=flag, at=now,
            data={"decision": decision, "reason": text, "urgent": early, "urgent_reason": urgent_text},
        )
        audit_record(actor=lead, kind=AuditEntry.Kind.FLAG_DECIDED, subject=flag.contractor, obj=flag,
                     project=flag.project, reason=text, at=now,
                     summary=f"Flag on {flag.project.name}: {status.label.lower()}"
                             + (" (urgent, before the response window ended)" if early else ""),
                     data={"decision": decision, "urgent_reason": urgent_text,
                           "contractor_answered": flag.responded_at is not None})
        body = text
        if decision == Decision.PAUSE:
            body += (f"\n\nUrgent: {urgent_text}" if early else "") + (
                "\n\nYou can appeal the pause on My work: an admin or another lead decides.")
        notify_contractor(
            user_id=flag.contractor_id, kind="flag_decided",
            title=f"A team lead decided on your grades on {flag.project.name}: {status.label}",
            body=body, key=f"flag:{flag.pk}:decided",
        )
    flag.refresh_from_db()
    return flag


def pause_lift(*, pause: ContractorPause, lead, reason: Any, now: datetime | None = None,
               scope: Q | None = None) -> ContractorPause:
    """End a pause: the contractor may claim on the project again. `scope` as for `flag_decide`
    (over ContractorPause rows), required for a team lead."""
    _check_authority(lead, scope, "lift pauses")
    text = clean_written_reason(reason, "reason", settings.TASKHUB_DECISION_REASON_MIN_CHARS,
                                "Lifting a pause")
    now = now or timezone.now()
    with transaction.atomic():
        lifted = ContractorPause.objects.filter(pk=pause.pk, lifted_at__isnull=True).filter(scope or Q()).update(
            lifted_at=now, lifted_by=lead, lift_reason=text
        )
        if not lifted:
            if scope is not None and not ContractorPause.objects.filter(pk=pause.pk).filter(scope).exists():
                raise NotFound("No such pause among the people and projects you lead.")
            raise Conflict("This pause was already lifted.", code="pause_already_lifted")
        ReviewEvent.objects.create(
            kind=ReviewEvent.Kind.PAUSE_LIFTED, actor=lead, flag_id=pause.flag_id, at=now, data={"reason": text}
        )
        # An appeal still open is answered by the lift: what it asked for.
        PauseAppeal.objects.filter(pause=pause, status=PauseAppeal.Status.OPEN).update(
            status=PauseAppeal.Status.LIFTED, decided_by=lead, decision_reason=text, decided_at=now)
        audit_record(actor=lead, kind=AuditEntry.Kind.PAUSE_LIFTED, subject=pause.contractor, obj=pause,
                     project=pause.project, reason=text, at=now, summary=f"Pause on {pause.project.name} lifted")
        notify_contractor(
            user_id=pause.contractor_id, kind="pause_lifted",
            title=f"You may work on {pause.project.name} again", body=text, key=f"pause:{pause.pk}:lifted",
        )
    pause.refresh_from_db()
    return pause


def pause_appeal_create(*, pause: ContractorPause, contractor, reason: Any,
                        now: datetime | None = None) -> PauseAppeal:
    """The paused contractor contests the pause, once; an admin or a lead who did not decide it answers."""
    if contractor.pk != pause.contractor_id:
        raise Forbidden("Only the paused contractor appeals a pause.", code="not_your_pause")
    text = clean_reason(reason, field="reason", what="An appeal", error=ReviewError,
                        minimum=settings.TASKHUB_APPEAL_REASON_MIN_CHARS)
    now = now or timezone.now()
    with transaction.atomic():
        if not ContractorPause.objects.filter(pk=pause.pk, lifted_at__isnull=True).exists():
            raise Conflict("This pause was already lifted.", code="pause_already_lifted")
        try:
            with transaction.atomic():
                appeal = PauseAppeal.objects.create(pause=pause, contractor=contractor, reason=text, created_at=now)
        except IntegrityError:
            raise Conflict("You already appealed this pause; you will see the decision on My work.",
                           code="pause_already_appealed") from None
        ReviewEvent.objects.create(kind=ReviewEvent.Kind.PAUSE_APPEALED, actor=contractor, flag_id=pause.flag_id,
                                   at=now, data={"reason": text, "pause_appeal": appeal.pk})
        audit_record(actor=contractor, kind=AuditEntry.Kind.PAUSE_APPEALED, subject=contractor, obj=appeal,
                     project=pause.project, reason=text, at=now,
                     summary=f"{contractor.email} appealed the pause on {pause.project.name}")
    return appeal


class AppealOutcome:
    UPHOLD = "uphold"
    LIFT = "lift"
    STATUS = {UPHOLD: PauseAppeal.Status.UPHELD, LIFT: PauseAppeal.Status.LIFTED}
    CHOICES = [(UPHOLD, "Uphold the pause"), (LIFT, "Lift the pause")]


def pause_appeal_decide(*, appeal: PauseAppeal, decider, outcome: str, reason: Any, now: datetime | None = None,
                        scope: Q | None = None) -> PauseAppeal:
    """Uphold or lift an appealed pause. The decider is an admin or a lead, neither the one who decided
    the pause nor the contractor; two deciders at once produce one decision (a conditional update).
    `scope` as for `flag_decide`, over the appealed ContractorPause rows, required for a team lead."""
    _check_authority(decider, scope, "decide pause appeals")
    pause = appeal.pause
    if decider.pk == appeal.contractor_id:
        raise Forbidden("Nobody decides their own appeal.", code="own_appeal")
    if decider.pk == pause.created_by_id:
        raise Forbidden("An appeal of a pause goes to an admin or a lead who did not decide it.", code="own_pause")
    if outcome not in AppealOutcome.STATUS:
        raise ReviewError.at("outcome", "choose uphold or lift")
    text = clean_written_reason(reason, "decision_reason", settings.TASKHUB_DECISION_REASON_MIN_CHARS, "A decision")
    now = now or timezone.now()
    status = AppealOutcome.STATUS[outcome]
    in_scope = PauseAppeal.objects.filter(pause__in=ContractorPause.objects.filter(scope or Q()).values("pk"))
    with transaction.atomic():
        decided = in_scope.filter(pk=appeal.pk, status=PauseAppeal.Status.OPEN).update(
            status=status, decided_by=decider, decision_reason=text, decided_at=now)
        if not decided:
            if scope is not None and not in_scope.filter(pk=appeal.pk).exists():
                raise NotFound("No such appeal among the people and projects you lead.")
            appeal.refresh_from_db()
            raise Conflict(f"This appeal was already decided ({appeal.get_status_display().lower()}); your "
                           "decision was not saved.", code="pause_appeal_already_decided")
        if outcome == AppealOutcome.LIFT:
            ContractorPause.objects.filter(pk=pause.pk, lifted_at__isnull=True).update(
                lifted_at=now, lifted_by=decider, lift_reason=text)
        ReviewEvent.objects.create(kind=ReviewEvent.Kind.PAUSE_APPEAL_DECIDED, actor=decider, flag_id=pause.flag_id,
                                   at=now, data={"outcome": outcome, "reason": text, "pause_appeal": appeal.pk})
        audit_record(actor=decider, kind=AuditEntry.Kind.PAUSE_APPEAL_DECIDED, subject=appeal.contractor,
                     obj=appeal, project=pause.project, reason=text, at=now,
                     summary=f"Appeal of the pause on {pause.project.name}: {status.label.lower()}")
        notify_contractor(
            user_id=appeal.contractor_id, kind="pause_appeal_decided",
            title=f"Your appeal of the pause on {pause.project.name} was decided: {status.label.lower()}",
            body=text, key=f"pause-appeal:{appeal.pk}:decided",
        )
    appeal.refresh_from_db()
    return appeal
