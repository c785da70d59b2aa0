"""Helpers for the sprint tests: sprints and finished work (claims, submissions, grades) in bulk."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from annotations.models import Claim, Review, Submission
from sprints.models import Sprint, SprintMember
from tests import factories


def make_sprint(*, lead=None, members=(), projects=(), hours_ago: float = 2, hours: float = 24, **fields) -> Sprint:
    now = timezone.now()
    lead = lead or factories.LeadFactory()
    fields.setdefault("status", Sprint.Status.OPEN)
    sprint = Sprint.objects.create(
        lead=lead, name=fields.pop("name", "Sprint"), starts_at=now - timedelta(hours=hours_ago),
        ends_at=now - timedelta(hours=hours_ago) + timedelta(hours=hours),
        target_submissions=fields.pop("target_submissions", 20), quality_target=Decimal("4.00"),
        opened_at=now if fields["status"] != Sprint.Status.PLANNED else None, **fields,
    )
    projects = list(projects) or [factories.ProjectFactory()]
    sprint.projects.set(projects)
    SprintMember.objects.bulk_create(SprintMember(sprint=sprint, contractor=m) for m in members)
    return sprint


def make_work(*, contractor, project, count: int, at, grades=(), seconds: int = 120, reviewer=None,
              needs_review: bool = True, gold_agreement: float | None = None) -> list[Submission]:
    """`count` submitted tasks at time `at`; the first len(grades) get a reviewer's grade."""
    batch = factories.BatchFactory(project=project)
    tasks = factories.make_tasks(batch, count)
    claims = Claim.objects.bulk_create(
        Claim(task=t, contractor=contractor, project=project, batch=batch, status=Claim.Status.SUBMITTED,
              claimed_at=at - timedelta(seconds=seconds), deadline=at + timedelta(hours=1), finished_at=at,
              active_seconds=seconds)
        for t in tasks
    )
    subs = Submission.objects.bulk_create(
        Submission(claim=c, task=c.task, contractor=contractor, project=project, answer={"choice": "A"},
                   active_seconds=seconds, submitted_at=at, is_gold=gold_agreement is not None,
                   needs_review=needs_review and gold_agreement is None)
        for c in claims
    )
    if gold_agreement is not None:
        Review.objects.bulk_create(
            Review(submission=s, kind=Review.Kind.AUTOMATIC, reviewer_role="automatic",
                   score=5 if gold_agreement >= 0.5 else 1, gold_agreement=gold_agreement, created_at=at)
            for s in subs
        )
    elif grades:
        reviewer = reviewer or factories.LeadFactory()
        Review.objects.bulk_create(
            Review(submission=s, reviewer=reviewer, kind=Review.Kind.REVIEWER, reviewer_role="lead", score=g,
                   reason="" if g >= 3 else "Wrong choice; the other answer was correct.", created_at=at)
            for s, g in zip(subs, grades, strict=False)
        )
    return subs
