from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from annotations.models import Claim, Submission
from projects.models import PayRate
from tests import factories


class Work:
    """Builds submitted work quickly, straight into the tables (the claim engine has its own tests)."""

    def __init__(self):
        self.lead = None

    def project(self, *, rate="1.0000", unit=PayRate.Unit.PER_TASK, currency="USD", since=None, **fields):
        project = factories.ProjectFactory(**fields)
        if rate is not None:
            factories.PayRateFactory(project=project, amount=Decimal(rate), unit=unit, currency=currency,
                                     effective_from=since or timezone.now() - timedelta(days=60))
        return project

    def submission(self, *, contractor, project, at=None, active_seconds=600) -> Submission:
        at = at or timezone.now() - timedelta(hours=1)
        task = factories.TaskFactory(batch=factories.BatchFactory(project=project), project=project)
        claim = Claim.objects.create(task=task, contractor=contractor, project=project, batch=task.batch,
                                     status=Claim.Status.SUBMITTED, claimed_at=at - timedelta(minutes=20),
                                     deadline=at + timedelta(minutes=10), finished_at=at,
                                     active_seconds=active_seconds)
        return Submission.objects.create(claim=claim, task=task, contractor=contractor, project=project,
                                         answer={"choice": "a"}, active_seconds=active_seconds, submitted_at=at)

    def review(self, submission, score: int, *, reviewer=None):
        from annotations.models import Review, ReviewerRole

        reviewer = reviewer or self._lead()
        return Review.objects.create(submission=submission, reviewer=reviewer, kind=Review.Kind.REVIEWER,
                                     reviewer_role=ReviewerRole.LEAD, score=score,
                                     reason="" if score > 2 else "Does not follow the instructions.",
                                     created_at=timezone.now())

    def _lead(self):
        if self.lead is None:
            self.lead = factories.LeadFactory()
        return self.lead


@pytest.fixture
def work(db):
    return Work()
