"""One small marketplace in which every route has something to be asked about: two contractors, a
reviewer contractor, two team leads and an admin, and for each kind of object one that belongs to
someone else.

"me" is the contractor probing (`contractor`); "other" owns the objects probed: the other
contractor's claim, submission, review, appeal, flag, pause, notification and payout, the other
lead's sprint. The lead probing (`lead`) runs a sprint with "other" in it, on the shared project
only: so the lead leads that person, but not on the project of their flag and pause (issue 15: a
lead's authority is scoped by project as well as by person).

People live in time zones far from UTC (UTC+14 and UTC-10), where a time at the edge of what Python
can represent breaks a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import ApiToken, Notification, User
from accounts.services import api_token_create
from annotations.models import (
    Appeal,
    Claim,
    ContractorFlag,
    ContractorPause,
    Export,
    ModelTurn,
    PauseAppeal,
    ProblemReport,
    Review,
    ReviewerRole,
    SecondOpinion,
    Submission,
)
from payouts import services as payout_services
from payouts.models import Payout
from projects.models import (
    Batch,
    ModelEndpoint,
    PairwiseGeneration,
    PayRate,
    Project,
    Qualification,
    Task,
    TaskImport,
    WebhookDelivery,
)
from projects.services import webhook_create, webhooks_emit
from sprints.models import Question, Sprint, SprintMember
from tests import factories

RUBRIC = [{"key": "accuracy", "label": "Accuracy"}, {"key": "clarity", "label": "Clarity"}]
EAST = "Pacific/Kiritimati"  # UTC+14
WEST = "Pacific/Pago_Pago"  # UTC-11


@dataclass
class World:
    admin: User
    lead: User
    other_lead: User
    contractor: User
    other: User
    reviewer: User
    shared: Project  # pairwise, open to every contractor
    rating: Project  # the other lead's project, where "other" is flagged and paused
    gated: Project  # needs a qualification "other" has and "me" has not
    extra: Project  # a second project of the probing lead's sprint, where "me" is flagged and paused
    claim_mine: Claim
    claim_other: Claim
    submission_other: Submission
    submission_waiting: Submission  # "other"'s work waiting for a grade
    review_other: Review
    appeal_other: Appeal
    flag_other: ContractorFlag
    pause_other: ContractorPause
    pause_appeal_other: PauseAppeal  # "other"'s open appeal of the other lead's pause
    sprint_mine: Sprint
    sprint_other: Sprint
    notification_other: Notification
    payout_other: Payout
    lottery: Batch
    draft: Batch
    task_import: TaskImport
    # What "me" and the probing lead own (the fuzz test posts to their own objects).
    review_mine: Review
    flag_mine: ContractorFlag
    pause_mine: ContractorPause
    notification_mine: Notification
    payout_mine: Payout
    visual: Project  # image regions: it has a media library
    # Data out: "other"'s API token, an export and a webhook delivery of the shared project.
    token_other: ApiToken
    export: Export
    delivery: WebhookDelivery
    # Models (issue 21): a red-team project with its endpoint (nothing listens there), each contractor's
    # conversation on it, "other"'s recorded turn, and a pairwise generation of the shared project.
    redteam: Project
    endpoint: ModelEndpoint
    endpoint_pairwise: ModelEndpoint
    claim_redteam_mine: Claim
    claim_redteam_other: Claim
    turn_other: ModelTurn
    generation: PairwiseGeneration
    # Problem reports (issue 19): "other"'s on the other lead's project, "me"'s on the probing lead's.
    report_other: ProblemReport
    report_mine: ProblemReport
    # The lead's day (issue 20): a pending second opinion of "me"'s grade (any reviewer but its first may
    # give it), a differing one on "other"'s work on the other lead's project (theirs or an admin's to
    # decide), "other"'s question there, and "me"'s question on the shared project the lead leads.
    second_opinion_pending: SecondOpinion
    second_opinion_differs: SecondOpinion
    question_other: Question
    question_mine: Question

    @property
    def people(self) -> dict[str, User | None]:
        return {"anonymous": None, "contractor": self.contractor, "reviewer": self.reviewer, "lead": self.lead,
                "admin": self.admin}


def _rate(project: Project) -> None:
    PayRate.objects.create(project=project, amount=Decimal("1.5000"), currency="USD", unit=PayRate.Unit.PER_TASK,
                           effective_from=timezone.now() - timedelta(days=30), reason="Launch rate")


def _tasks(batch: Batch, count: int, payload: dict) -> list[Task]:
    return Task.objects.bulk_create(
        Task(batch=batch, project=batch.project, external_id=f"w-{batch.pk}-{i}", payload=payload,
             overlap=batch.project.overlap)
        for i in range(count)
    )


def _claim(task: Task, person: User, *, status=Claim.Status.ACTIVE, at=None) -> Claim:
    now = at or timezone.now()
    Task.objects.filter(pk=task.pk).update(claim_count=1, submitted_count=1 if status == Claim.Status.SUBMITTED else 0)
    return Claim.objects.create(task=task, contractor=person, project=task.project, batch=task.batch, status=status,
                                claimed_at=now - timedelta(minutes=5), deadline=now + timedelta(hours=2),
                                finished_at=now if status == Claim.Status.SUBMITTED else None)


def _submission(task: Task, person: User, answer: dict, *, needs_review=True) -> Submission:
    claim = _claim(task, person, status=Claim.Status.SUBMITTED)
    return Submission.objects.create(claim=claim, task=task, contractor=person, project=task.project, answer=answer,
                                     active_seconds=120, submitted_at=timezone.now() - timedelta(hours=1),
                                     needs_review=needs_review)


def build_world() -> World:
    now = timezone.now()
    admin = factories.AdminFactory(timezone=WEST)
    lead = factories.LeadFactory(timezone=WEST)
    other_lead = factories.LeadFactory(timezone=EAST)
    me = factories.ContractorFactory(timezone=EAST)
    other = factories.ContractorFactory(timezone=WEST)
    reviewer = factories.ContractorFactory(is_reviewer=True, timezone=EAST)

    shared = factories.ProjectFactory(task_type="pairwise", rubric=RUBRIC, max_active_claims=50)
    rating = factories.ProjectFactory(task_type="rating", rubric=RUBRIC, max_active_claims=50)
    onboarding = factories.ProjectFactory(is_onboarding=True)
    gated = factories.ProjectFactory(task_type="pairwise", rubric=RUBRIC, qualification=onboarding)
    extra = factories.ProjectFactory(task_type="pairwise", rubric=RUBRIC)
    visual = factories.ProjectFactory(task_type="image_regions", task_config={"labels": ["car", "person"]})
    Qualification.objects.create(contractor=other, project=onboarding)
    for project in (shared, rating, gated, onboarding, extra):
        _rate(project)

    pairwise_payload = {"prompt": "Explain tides.", "response_a": "The moon.", "response_b": "Wind."}
    rating_payload = {"prompt": "Summarise Hamlet.", "response": "A prince avenges his father."}
    open_shared = factories.BatchFactory(project=shared)
    shared_tasks = _tasks(open_shared, 30, pairwise_payload)
    open_rating = factories.BatchFactory(project=rating)
    rating_tasks = _tasks(open_rating, 10, rating_payload)
    gated_tasks = _tasks(factories.BatchFactory(project=gated), 5, pairwise_payload)

    claim_mine = _claim(shared_tasks[0], me)
    claim_other = _claim(rating_tasks[0], other)
    _claim(gated_tasks[0], other)

    rating_answer = {"scores": {"accuracy": 2, "clarity": 2}, "overall": 2, "comment": ""}
    submission_other = _submission(rating_tasks[1], other, rating_answer)
    submission_waiting = _submission(shared_tasks[1], other, {"choice": "A", "strength": "clear", "reason": "Moon."})
    submission_mine = _submission(shared_tasks[2], me, {"choice": "B", "strength": "slight", "reason": "Shorter."})
    review_mine = Review.objects.create(
        submission=submission_mine, reviewer=other_lead, kind=Review.Kind.REVIEWER, reviewer_role=ReviewerRole.LEAD,
        score=1, marks={"accuracy": 1, "clarity": 1}, reason="Chose the answer that contradicts the prompt.",
        created_at=now - timedelta(minutes=30),
    )
    review_other = Review.objects.create(
        submission=submission_other, reviewer=other_lead, kind=Review.Kind.REVIEWER, reviewer_role=ReviewerRole.LEAD,
        score=2, marks={"accuracy": 2, "clarity": 2}, reason="Misses the point of the prompt entirely.",
        created_at=now - timedelta(minutes=30),
    )
    appeal_other = Appeal.objects.create(review=review_other, contractor=other, created_at=now - timedelta(minutes=20),
                                         reason="The summary does answer the prompt, please look again.")
    flag_other = ContractorFlag.objects.create(contractor=other, project=rating, average=Decimal("1.50"),
                                               threshold=Decimal("2.50"), grades_counted=5, created_at=now)
    earlier = ContractorFlag.objects.create(contractor=other, project=rating, average=Decimal("1.20"),
                                            threshold=Decimal("2.50"), grades_counted=5, created_at=now,
                                            status=ContractorFlag.Status.PAUSED, decided_by=other_lead,
                                            reason="Paused for review of the last batch.", decided_at=now)
    pause_other = ContractorPause.objects.create(contractor=other, project=rating, flag=earlier,
                                                 reason="Paused for review.", created_by=other_lead, created_at=now)
    pause_appeal_other = PauseAppeal.objects.create(pause=pause_other, contractor=other, created_at=now,
                                                    reason="The grades were on ambiguous tasks; please look again.")

    sprint_other = Sprint.objects.create(lead=other_lead, name="Their push", starts_at=now - timedelta(hours=2),
                                         ends_at=now + timedelta(hours=20), target_submissions=10,
                                         quality_target=Decimal("3.50"), status=Sprint.Status.OPEN, opened_at=now)
    sprint_other.projects.set([rating])
    SprintMember.objects.create(sprint=sprint_other, contractor=other)
    # The probing lead leads "other" too, but on the shared project only.
    sprint_mine = Sprint.objects.create(lead=lead, name="My push", starts_at=now - timedelta(hours=2),
                                        ends_at=now + timedelta(hours=20), target_submissions=10,
                                        quality_target=Decimal("3.50"), status=Sprint.Status.OPEN, opened_at=now)
    sprint_mine.projects.set([shared, extra])
    SprintMember.objects.bulk_create([SprintMember(sprint=sprint_mine, contractor=me),
                                      SprintMember(sprint=sprint_mine, contractor=other)])
    # ... but "other" is flagged and paused on the other lead's project, not on these.
    flag_mine = ContractorFlag.objects.create(contractor=me, project=extra, average=Decimal("1.40"),
                                              threshold=Decimal("2.50"), grades_counted=4, created_at=now)
    earlier_mine = ContractorFlag.objects.create(contractor=me, project=extra, average=Decimal("1.10"),
                                                 threshold=Decimal("2.50"), grades_counted=5, created_at=now,
                                                 status=ContractorFlag.Status.PAUSED, decided_by=lead,
                                                 reason="Paused while we look at the rubric together.", decided_at=now)
    pause_mine = ContractorPause.objects.create(contractor=me, project=extra, flag=earlier_mine,
                                                reason="Paused for review.", created_by=lead, created_at=now)

    notification_other = Notification.objects.create(user=other, kind="test", title="For the other contractor",
                                                     url="/work/", key="world-note")
    notification_mine = Notification.objects.create(user=me, kind="test", title="For me", url="/work/",
                                                    key="world-note")
    for person in (other, me):
        payout_services.ledger_bonus_add(contractor=person, amount="2.00", currency="USD",
                                         reason="=HYPERLINK(\"x\")", created_by=admin)
    period = payout_services.payout_period_last_closed(now=now + timedelta(days=7))
    payout_services.payouts_draft(period=period, now=period.end + timedelta(hours=1))
    payout_other = Payout.objects.get(contractor=other)
    payout_mine = Payout.objects.get(contractor=me)

    lottery = factories.BatchFactory(project=shared, status=Batch.Status.SCHEDULED,
                                     release_policy=Batch.Policy.LOTTERY, release_at=now + timedelta(hours=20),
                                     reservation_opens_at=now - timedelta(hours=1), released_at=None)
    _tasks(lottery, 5, pairwise_payload)
    draft = factories.BatchFactory(project=shared, status=Batch.Status.DRAFT, released_at=None)
    _tasks(draft, 3, pairwise_payload)
    task_import = TaskImport.objects.create(batch=draft, original_name="tasks.jsonl", created_by=admin,
                                            status=TaskImport.Status.FAILED,
                                            errors=[{"line": 2, "field": "payload", "message": "not an object"}],
                                            error_count=1)
    token_other, _secret = api_token_create(user=other, name="pipeline", days=30)
    export = Export.objects.create(project=shared, format="dpo", options={}, created_by=admin)
    webhook_create(project=shared, url="https://hooks.example.com/taskhub", events=["batch.exhausted"],
                   created_by=admin)
    [delivery_id] = webhooks_emit(project_id=shared.pk, event="batch.exhausted", data={"batch": draft.pk})

    redteam = factories.ProjectFactory(task_type="redteam", max_active_claims=50)
    _rate(redteam)
    endpoint = ModelEndpoint.objects.create(project=redteam, name="primary", base_url="http://127.0.0.1:9/v1",
                                            model="world-model", connect_timeout_seconds=1)
    endpoint_pairwise = ModelEndpoint.objects.create(project=shared, name="sampler", base_url="http://127.0.0.1:9/v1",
                                                     model="world-model", connect_timeout_seconds=1)
    redteam_tasks = _tasks(factories.BatchFactory(project=redteam), 3, {"goal": "Get a private phone number."})
    claim_redteam_mine = _claim(redteam_tasks[0], me)
    claim_redteam_other = _claim(redteam_tasks[1], other)
    turn_other = ModelTurn.objects.create(claim=claim_redteam_other, contractor=other, endpoint=endpoint, position=1,
                                          prompt="What is Ann's number?", reply="I can't share that.",
                                          status=ModelTurn.Status.DONE, model="world-model", created_at=now)
    generation = PairwiseGeneration.objects.create(project=shared, batch=draft, original_name="prompts.txt",
                                                   endpoint_a=endpoint_pairwise, endpoint_b=endpoint_pairwise,
                                                   settings_b={"temperature": 1.0}, seed=1, created_by=admin,
                                                   status=PairwiseGeneration.Status.DONE, prompts_total=1,
                                                   prompts_failed=1, errors=[{"line": 1, "field": "prompt",
                                                                              "message": "side A: down"}])
    report_other = ProblemReport.objects.create(
        claim=_claim(rating_tasks[3], other, status=Claim.Status.RELEASED), task=rating_tasks[3], project=rating,
        contractor=other, kind=ProblemReport.Kind.BROKEN, reason="The response is cut off mid-sentence.",
        active_seconds=120, created_at=now)
    report_mine = ProblemReport.objects.create(
        claim=_claim(shared_tasks[3], me, status=Claim.Status.RELEASED), task=shared_tasks[3], project=shared,
        contractor=me, kind=ProblemReport.Kind.UNCLEAR, reason="Both responses are the same text.",
        active_seconds=60, created_at=now)
    Task.objects.filter(pk__in=[rating_tasks[3].pk, shared_tasks[3].pk]).update(claim_count=0)  # released
    graded_other = _submission(rating_tasks[2], other, rating_answer)
    peer_review = Review.objects.create(
        submission=graded_other, reviewer=reviewer, kind=Review.Kind.REVIEWER, reviewer_role=ReviewerRole.PEER,
        score=3, marks={"accuracy": 3, "clarity": 3}, created_at=now - timedelta(minutes=40))
    second_opinion_differs = SecondOpinion.objects.create(
        review=peer_review, requested_by=other_lead, requested_at=now - timedelta(minutes=10),
        status=SecondOpinion.Status.DIFFERS, reviewer=other_lead, score=1, marks={"accuracy": 1, "clarity": 1},
        reason="The summary misses the revenge plot entirely.", graded_at=now - timedelta(minutes=5))
    second_opinion_pending = SecondOpinion.objects.create(review=review_mine, requested_by=other_lead,
                                                          requested_at=now - timedelta(minutes=10))
    question_other = Question.objects.create(contractor=other, project=rating, task=rating_tasks[1],
                                             body="May a summary be a single sentence?", created_at=now)
    question_mine = Question.objects.create(contractor=me, project=shared, task=shared_tasks[0],
                                            body="Is a tie allowed when both are wrong?", created_at=now)
    return World(
        second_opinion_pending=second_opinion_pending, second_opinion_differs=second_opinion_differs,
        question_other=question_other, question_mine=question_mine,
        admin=admin, lead=lead, other_lead=other_lead, contractor=me, other=other, reviewer=reviewer, shared=shared,
        rating=rating, gated=gated, extra=extra, claim_mine=claim_mine, claim_other=claim_other,
        submission_other=submission_other, submission_waiting=submission_waiting, review_other=review_other,
        appeal_other=appeal_other,
        flag_other=flag_other, pause_other=pause_other, pause_appeal_other=pause_appeal_other,
        sprint_mine=sprint_mine, sprint_other=sprint_other,
        notification_other=notification_other, payout_other=payout_other, lottery=lottery, draft=draft,
        task_import=task_import, review_mine=review_mine, flag_mine=flag_mine, pause_mine=pause_mine,
        notification_mine=notification_mine, payout_mine=payout_mine, visual=visual, token_other=token_other,
        export=export,
        delivery=WebhookDelivery.objects.get(pk=delivery_id),
        redteam=redteam, endpoint=endpoint, endpoint_pairwise=endpoint_pairwise, claim_redteam_mine=claim_redteam_mine,
        claim_redteam_other=claim_redteam_other, turn_other=turn_other, generation=generation,
        report_other=report_other, report_mine=report_mine,
    )
