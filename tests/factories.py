from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role, User
from annotations.models import Claim, ModelTurn, Review, ReviewerRole, Submission
from projects.models import Batch, ModelEndpoint, PayRate, Project, Qualification, Task

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"contractor{n}@example.com")
    display_name = factory.Faker("name")
    role = Role.CONTRACTOR
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(user=obj, email=obj.email, defaults={"verified": True, "primary": True})


class ContractorFactory(UserFactory):
    pass


class LeadFactory(UserFactory):
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    role = Role.LEAD


class AdminFactory(UserFactory):
    email = factory.Sequence(lambda n: f"admin{n}@example.com")
    role = Role.ADMIN
    is_superuser = True


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    task_type = "pairwise"
    status = Project.Status.ACTIVE
    overlap = 1
    max_active_claims = 3
    claim_minutes = 30
    instructions = "Pick the better answer."


class PayRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayRate

    project = factory.SubFactory(ProjectFactory)
    amount = Decimal("1.0000")
    currency = "USD"
    unit = PayRate.Unit.PER_TASK
    effective_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    reason = "Initial rate"


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Batch {n}")
    status = Batch.Status.OPEN
    release_policy = Batch.Policy.FIRST_COME
    released_at = factory.LazyFunction(timezone.now)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    batch = factory.SubFactory(BatchFactory)
    project = factory.SelfAttribute("batch.project")
    external_id = factory.Sequence(lambda n: f"task-{n}")
    payload = factory.LazyFunction(lambda: {"prompt": "Which is better?", "response_a": "This.", "response_b": "That."})
    overlap = factory.SelfAttribute("project.overlap")


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qualification

    contractor = factory.SubFactory(ContractorFactory)
    project = factory.SubFactory(ProjectFactory, is_onboarding=True)


def make_tasks(batch: Batch, count: int, **fields) -> list[Task]:
    """Many tasks in one insert."""
    project = batch.project
    return Task.objects.bulk_create(
        Task(batch=batch, project=project, external_id=f"{batch.pk}-{i}",
             payload={"prompt": f"Prompt {i}", "response_a": "A", "response_b": "B"},
             overlap=project.overlap, **fields)
        for i in range(count)
    )


class Work:
    """Builds submitted work quickly, straight into the tables (the claim engine has its own tests)."""

    def __init__(self):
        self.lead = None

    def project(self, *, rate="1.0000", unit=PayRate.Unit.PER_TASK, currency="USD", since=None, **fields):
        project = ProjectFactory(**fields)
        if rate is not None:
            PayRateFactory(project=project, amount=Decimal(rate), unit=unit, currency=currency,
                                     effective_from=since or timezone.now() - timedelta(days=60))
        return project

    def submission(self, *, contractor, project, at=None, active_seconds=600) -> Submission:
        at = at or timezone.now() - timedelta(hours=1)
        task = TaskFactory(batch=BatchFactory(project=project), project=project)
        claim = Claim.objects.create(task=task, contractor=contractor, project=project, batch=task.batch,
                                     status=Claim.Status.SUBMITTED, claimed_at=at - timedelta(minutes=20),
                                     deadline=at + timedelta(minutes=10), finished_at=at,
                                     active_seconds=active_seconds)
        return Submission.objects.create(claim=claim, task=task, contractor=contractor, project=project,
                                         answer={"choice": "a"}, active_seconds=active_seconds, submitted_at=at)

    def review(self, submission, score: int, *, reviewer=None):
        reviewer = reviewer or self._lead()
        return Review.objects.create(submission=submission, reviewer=reviewer, kind=Review.Kind.REVIEWER,
                                     reviewer_role=ReviewerRole.LEAD, score=score,
                                     reason="" if score > 2 else "Does not follow the instructions.",
                                     created_at=timezone.now())

    def _lead(self):
        if self.lead is None:
            self.lead = LeadFactory()
        return self.lead


def record_conversation(claim, turns=(("What is Ann's number?", "I can't share that."),), endpoint=None):
    """Answered turns of a red-team conversation, recorded on the claim as the server records them (the
    streaming itself has its own tests, against a real model server)."""
    endpoint = endpoint or ModelEndpoint.objects.filter(project=claim.project, is_default=True).first() or \
        ModelEndpoint.objects.create(project=claim.project, name="recorded", base_url="http://127.0.0.1:9/v1",
                                     model="recorded-model")
    start = ModelTurn.objects.filter(claim=claim).count()
    for offset, (prompt, reply) in enumerate(turns, start=1):
        ModelTurn.objects.create(claim=claim, contractor_id=claim.contractor_id, endpoint=endpoint,
                                 position=start + offset, prompt=prompt, reply=reply, status=ModelTurn.Status.DONE,
                                 model=endpoint.model, finish_reason="stop", latency_ms=120, prompt_tokens=5,
                                 completion_tokens=len(reply.split()), created_at=timezone.now(),
                                 started_at=timezone.now(), finished_at=timezone.now())
    return endpoint
