"""Alerts for leads (issue 20): notifications of new flags and appeals on the people they lead, and of
their sprints' milestones (half the target, the target, two hours left). Beat runs `lead_alerts_send`
every minute; each notification has a key (one per event and person), so a repeated or concurrent run
inserts nothing twice. The counts of the navigation's badges are `taskhub.badges` (see apps.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notifications_create_many
from annotations.models import Appeal, ContractorFlag, Submission

from ..models import Sprint, SprintMember

RECENT = timedelta(days=2)  # events older than this were alerted already (or are past alerting)
ENDING_SOON = timedelta(hours=2)
MILESTONES = ((50, "half"), (100, "target"))


def leads_of(*, contractor_id: int, project_id: int):
    """The active leads who lead this person on this project (members of a sprint of theirs on it)."""
    return User.objects.filter(is_active=True, role__in=[Role.LEAD, Role.ADMIN]).filter(Exists(
        SprintMember.objects.filter(sprint__lead=OuterRef("pk"), contractor_id=contractor_id,
                                    sprint__projects=project_id)))


def _flags(now: datetime) -> int:
    sent = 0
    for flag in ContractorFlag.objects.filter(status=ContractorFlag.Status.OPEN, created_at__gte=now - RECENT) \
            .select_related("contractor", "project"):
        sent += notifications_create_many(
            users=leads_of(contractor_id=flag.contractor_id, project_id=flag.project_id), kind="flag_opened",
            title=f"New flag: {flag.contractor} on {flag.project.name}",
            body=f"Average {flag.average} below {flag.threshold} over {flag.grades_counted} grades.",
            url=reverse("lead:person", args=[flag.contractor_id]), key=f"flag:{flag.pk}:lead")
    return sent


def _appeals(now: datetime) -> int:
    sent = 0
    appeals = (Appeal.objects.filter(status=Appeal.Status.OPEN, created_at__gte=now - RECENT)
               .select_related("review", "review__submission", "review__submission__project", "contractor"))
    for appeal in appeals:
        submission = appeal.review.submission
        leads = leads_of(contractor_id=submission.contractor_id, project_id=submission.project_id)
        if appeal.review.reviewer_id:
            leads = leads.exclude(pk=appeal.review.reviewer_id)  # they do not decide an appeal of their grade
        sent += notifications_create_many(
            users=leads, kind="appeal_opened", title=f"New appeal: {appeal.contractor} on {submission.project.name}",
            body=appeal.reason[:500], url=reverse("review:appeals"), key=f"appeal:{appeal.pk}:lead")
    return sent


def _milestones(now: datetime) -> int:
    sent = 0
    sprints = Sprint.objects.filter(status=Sprint.Status.OPEN).select_related("lead")
    for sprint in sprints:
        completed = Submission.objects.filter(
            contractor__sprint_memberships__sprint=sprint, project__sprints=sprint,
            submitted_at__gte=sprint.starts_at, submitted_at__lt=min(now, sprint.ends_at),
        ).aggregate(n=Count("id", distinct=True))["n"]
        lead = User.objects.filter(pk=sprint.lead_id, is_active=True)
        url = reverse("lead:sprint_board", args=[sprint.pk])
        for percent, name in MILESTONES:
            if completed * 100 >= percent * sprint.target_submissions:
                sent += notifications_create_many(
                    users=lead, kind="sprint_milestone", url=url, key=f"sprint:{sprint.pk}:{name}",
                    title=f"{sprint.name}: {percent}% of the target ({completed} of {sprint.target_submissions})")
        if sprint.ends_at - now <= ENDING_SOON:
            title = f"{sprint.name} ends in less than 2 hours ({completed} of {sprint.target_submissions} done)"
            sent += notifications_create_many(users=lead, kind="sprint_ending", url=url, title=title,
                                              key=f"sprint:{sprint.pk}:ending")
            sent += notifications_create_many(
                users=User.objects.filter(sprint_memberships__sprint=sprint, is_active=True), kind="sprint_ending",
                url=reverse("work:dashboard"), title=title, key=f"sprint:{sprint.pk}:ending")
    return sent


def lead_alerts_send(*, now: datetime | None = None) -> int:
    """Notify leads of what is new since the last run; returns how many notifications were created."""
    now = now or timezone.now()
    return _flags(now) + _appeals(now) + _milestones(now)
