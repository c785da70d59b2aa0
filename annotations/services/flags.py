"""No automatic off-boarding: low grades flag a contractor for a lead's decision.

After each grade (and each appeal that revises one) the contractor's rolling average on
the project is recomputed. Below the project's threshold, a flag opens (one open flag per
contractor and project, by a partial unique constraint). Nothing happens to the person
until a lead decides: warn, pause on the project, or clear, always with a reason that the
contractor sees. A pause is the only thing that stops someone working, on that project only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Role
from projects.models import Project
from taskhub.errors import Conflict, Forbidden, NotFound

from ..errors import ReviewError
from ..models import ContractorFlag, ContractorPause, Review, ReviewEvent
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
    try:
        with transaction.atomic():
            flag = ContractorFlag.objects.create(
                contractor_id=contractor_id, project=project, average=average, threshold=project.flag_threshold,
                grades_counted=counted, created_at=now,
            )
            ReviewEvent.objects.create(
                kind=ReviewEvent.Kind.FLAGGED, flag=flag, at=now,
                data={"average": str(average), "threshold": str(project.flag_threshold), "grades": counted},
            )
            notify_contractor(
                user_id=contractor_id, kind="grades_flagged",
                title=f"Your recent grades on {project.name} are below the project's threshold",
                body=(f"Your average over your last {counted} graded tasks is {average} (threshold "
                      f"{project.flag_threshold}). A team lead will look at it; nothing changes until they decide."),
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


def flag_decide(*, flag: ContractorFlag, lead, decision: str, reason: Any, now: datetime | None = None,
                scope: Q | None = None):
    """A lead's decision on a flag, with the reason the contractor will read.

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
    with transaction.atomic():
        decided = ContractorFlag.objects.filter(pk=flag.pk, status=ContractorFlag.Status.OPEN).filter(
            scope or Q()).update(status=status, decided_by=lead, reason=text, decided_at=now)
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
            kind=ReviewEvent.Kind.DECIDED, actor=lead, flag=flag, at=now, data={"decision": decision, "reason": text}
        )
        notify_contractor(
            user_id=flag.contractor_id, kind="flag_decided",
            title=f"A team lead decided on your grades on {flag.project.name}: {status.label}",
            body=text, key=f"flag:{flag.pk}:decided",
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
        notify_contractor(
            user_id=pause.contractor_id, kind="pause_lifted",
            title=f"You may work on {pause.project.name} again", body=text, key=f"pause:{pause.pk}:lifted",
        )
    pause.refresh_from_db()
    return pause
