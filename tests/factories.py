from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role, User
from projects.models import Batch, PayRate, Project, Qualification, Task

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
