"""Earnings recompute: rules, idempotence, rate boundaries, grades and appeals reaching the ledger."""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from payouts import services
from payouts.models import LedgerEntry
from projects.models import GradePolicy, PayRate
from projects.services import grade_policy_set
from taskhub.money import quantize
from tests import factories


def entries_of(submission):
    return list(LedgerEntry.objects.filter(source_type="submission", source_id=submission.pk).order_by("id"))


def posted(submission) -> Decimal:
    return sum((e.amount for e in entries_of(submission)), Decimal("0"))


def test_per_task_pay_is_written_once_and_a_rerun_writes_nothing(work, contractor):
    project = work.project(rate="0.8000")
    subs = [work.submission(contractor=contractor, project=project) for _ in range(3)]
    assert services.earnings_recompute() == 3
    assert services.earnings_recompute() == 0
    assert services.earnings_recompute(contractor_id=contractor.pk) == 0
    assert services.earnings_recompute(project_id=project.pk) == 0
    assert LedgerEntry.objects.count() == 3
    entry = entries_of(subs[0])[0]
    assert entry.kind == LedgerEntry.Kind.TASK
    assert entry.amount == Decimal("0.80")
    assert entry.rate_amount == Decimal("0.8000") and entry.rate_unit == "per_task"
    assert entry.idempotency_key == f"task:submission:{subs[0].pk}"
    assert entry.currency == "USD" and entry.project == project and entry.contractor == contractor


def test_rate_in_force_at_submission_time_applies_at_the_exact_boundary(work, contractor):
    change = timezone.now() - timedelta(days=3)
    project = work.project(rate="1.0000", since=change - timedelta(days=10))
    factories.PayRateFactory(project=project, amount=Decimal("1.5000"), effective_from=change)
    before = work.submission(contractor=contractor, project=project, at=change - timedelta(microseconds=1))
    exactly = work.submission(contractor=contractor, project=project, at=change)
    after = work.submission(contractor=contractor, project=project, at=change + timedelta(seconds=1))
    services.earnings_recompute()
    assert posted(before) == Decimal("1.00")
    assert posted(exactly) == Decimal("1.50")
    assert posted(after) == Decimal("1.50")
    # A later rate (raise or cut) never reaches work already submitted.
    factories.PayRateFactory(project=project, amount=Decimal("0.2000"), effective_from=timezone.now())
    assert services.earnings_recompute() == 0


def test_same_effective_time_the_later_rate_wins(work, contractor):
    at = timezone.now() - timedelta(days=2)
    project = work.project(rate="1.0000", since=at)
    factories.PayRateFactory(project=project, amount=Decimal("2.0000"), effective_from=at)
    sub = work.submission(contractor=contractor, project=project, at=at + timedelta(hours=1))
    services.earnings_recompute()
    assert posted(sub) == Decimal("2.00")


def test_hourly_pay_rounds_half_up_like_money_quantize(work, contractor):
    project = work.project(rate="18.0000", unit=PayRate.Unit.PER_HOUR)
    # 5 s at 18/h is exactly 0.025: half up gives 0.03 (banker's rounding would give 0.02).
    tie = work.submission(contractor=contractor, project=project, active_seconds=5)
    hour = work.submission(contractor=contractor, project=project, active_seconds=3600)
    services.earnings_recompute()
    assert posted(tie) == quantize(Decimal(5) * Decimal("18") / 3600) == Decimal("0.03")
    assert posted(hour) == Decimal("18.00")
    entry = entries_of(tie)[0]
    assert entry.kind == LedgerEntry.Kind.HOURLY and entry.active_seconds == 5


def test_sql_pay_matches_a_python_reference_on_random_work(work, contractor):
    rng = random.Random(20240601)
    expected = {}
    for unit in (PayRate.Unit.PER_TASK, PayRate.Unit.PER_HOUR):
        project = work.project(rate=None)
        rate = Decimal(rng.randint(1, 400_000)) / 10_000
        factories.PayRateFactory(project=project, amount=rate, unit=unit,
                                 effective_from=timezone.now() - timedelta(days=5))
        policy = GradePolicy.objects.create(project=project, pay_grade_2=Decimal("33.33"), pay_grade_3=Decimal("87.5"),
                                            effective_from=timezone.now() - timedelta(days=5))
        for _ in range(15):
            seconds = rng.randint(0, 20_000)
            sub = work.submission(contractor=contractor, project=project, active_seconds=seconds)
            grade = rng.choice([None, 1, 2, 3, 4, 5])
            if grade:
                work.review(sub, grade)
            share = getattr(policy, "pay_ungraded" if grade is None else f"pay_grade_{grade}")
            raw = Decimal(seconds) * rate * share / 360000 if unit == "per_hour" else rate * share / 100
            expected[sub.pk] = quantize(raw)
    services.earnings_recompute()
    for pk, amount in expected.items():
        got = LedgerEntry.objects.filter(source_type="submission", source_id=pk)
        assert sum((e.amount for e in got), Decimal("0")) == amount


def test_onboarding_work_pays_onboarding_entries_whatever_the_grade(work, contractor):
    onboarding = work.project(rate="12.0000", unit=PayRate.Unit.PER_HOUR, is_onboarding=True)
    sub = work.submission(contractor=contractor, project=onboarding, active_seconds=1800)
    work.review(sub, 1)
    services.earnings_recompute()
    [entry] = entries_of(sub)
    assert entry.kind == LedgerEntry.Kind.ONBOARDING
    assert entry.amount == Decimal("6.00")
    assert entry.idempotency_key == f"onboarding:submission:{sub.pk}"


def test_grade_policy_defaults_and_configured_factors(work, contractor):
    project = work.project(rate="2.0000")
    subs = {grade: work.submission(contractor=contractor, project=project) for grade in (1, 2, 3, 4, 5)}
    ungraded = work.submission(contractor=contractor, project=project)
    for grade, sub in subs.items():
        work.review(sub, grade)
    services.earnings_recompute()
    assert {g: posted(s) for g, s in subs.items()} == {1: 0, 2: Decimal("1.00"), 3: Decimal("2.00"),
                                                      4: Decimal("2.00"), 5: Decimal("2.00")}
    assert posted(ungraded) == Decimal("2.00")
    assert entries_of(subs[1]) == []  # nothing to pay, nothing written

    # A raise applied to past work: the differences reach the ledger, upward only (a lowering never
    # reaches past work: tests/payouts/test_pay_rules_never_cut_past_work.py).
    admin = factories.AdminFactory()
    grade_policy_set(project=project, set_by=admin, reason="Grade 3 is fine work: full pay", apply_to_past=True,
                     percents={"pay_grade_3": "100", "pay_grade_2": "75", "pay_grade_1": "10"})
    assert services.earnings_recompute(project_id=project.pk) == 2
    assert posted(subs[2]) == Decimal("1.50")
    assert posted(subs[1]) == Decimal("0.20")
    assert entries_of(subs[1])[0].kind == LedgerEntry.Kind.TASK  # first money for it
    last = entries_of(subs[2])[-1]
    assert last.kind == LedgerEntry.Kind.ADJUSTMENT and last.amount == Decimal("0.50")
    assert last.idempotency_key == f"adjustment:submission:{subs[2].pk}:1"
    assert last.grade == 2 and last.pay_percent == Decimal("75.00")
    assert services.earnings_recompute() == 0


def test_review_after_payment_becomes_an_adjustment(work, contractor):
    project = work.project(rate="3.0000")
    sub = work.submission(contractor=contractor, project=project)
    services.earnings_recompute()
    assert posted(sub) == Decimal("3.00")  # paid in full when submitted
    work.review(sub, 2)
    assert services.earnings_recompute(contractor_id=contractor.pk) == 1
    first, adjustment = entries_of(sub)
    assert (first.kind, first.amount) == ("task", Decimal("3.00"))
    assert (adjustment.kind, adjustment.amount, adjustment.grade) == ("adjustment", Decimal("-1.50"), 2)
    assert "final grade 2" in adjustment.reason


def test_appeal_revision_reaches_the_ledger(work, contractor, django_capture_on_commit_callbacks):
    from annotations.models import Appeal
    from annotations.services.appeals import appeal_create, appeal_decide

    project = work.project(rate="4.0000")
    sub = work.submission(contractor=contractor, project=project)
    review = work.review(sub, 1)
    services.earnings_recompute()
    assert posted(sub) == 0
    appeal = appeal_create(review=review, contractor=contractor,
                           reason="I followed the instructions exactly; see the second paragraph.")
    decider = factories.AdminFactory()
    appeal = appeal_decide(appeal=appeal, decider=decider, outcome=Appeal.Status.REVISED, revised_score=4,
                           reason="The answer is right; the first grade misread the prompt.")
    assert appeal.status == "revised"
    assert services.earnings_recompute(contractor_id=contractor.pk) == 1
    assert posted(sub) == Decimal("4.00")
    assert entries_of(sub)[-1].grade == 4
    assert services.earnings_recompute() == 0


def test_scopes_touch_only_their_work(work):
    alice, bob = factories.ContractorFactory(), factories.ContractorFactory()
    p1, p2 = work.project(rate="1.0000"), work.project(rate="2.0000")
    old = timezone.now() - timedelta(days=20)
    a1 = work.submission(contractor=alice, project=p1)
    a2 = work.submission(contractor=alice, project=p2, at=old)
    b1 = work.submission(contractor=bob, project=p1)
    assert services.earnings_recompute(contractor_id=bob.pk) == 1
    assert posted(b1) == 1 and posted(a1) == 0
    assert services.earnings_recompute(project_id=p2.pk) == 1
    assert posted(a2) == 2 and posted(a1) == 0
    assert services.earnings_recompute(submitted_from=timezone.now() - timedelta(days=1)) == 1
    assert posted(a1) == 1
    assert services.earnings_recompute() == 0


def test_decimal_end_to_end(work, contractor):
    project = work.project(rate="0.3333", unit=PayRate.Unit.PER_HOUR)
    work.submission(contractor=contractor, project=project, active_seconds=12_345)
    services.earnings_recompute()
    entry = LedgerEntry.objects.get(contractor=contractor)
    for value in (entry.amount, entry.rate_amount, entry.pay_percent):
        assert type(value) is Decimal
    assert entry.amount == quantize(Decimal("12345") * Decimal("0.3333") / 3600)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_typeof(amount)::text, pg_typeof(rate_amount)::text FROM payouts_ledgerentry")
        assert cursor.fetchone() == ("numeric", "numeric")


@pytest.mark.django_db(transaction=True)
def test_concurrent_recomputes_write_each_entry_once(work):
    people = [factories.ContractorFactory() for _ in range(4)]
    project = work.project(rate="1.2500")
    for person in people:
        for _ in range(5):
            work.submission(contractor=person, project=project)
    errors = []
    barrier = threading.Barrier(6)

    def run(**scope):
        try:
            barrier.wait()
            services.earnings_recompute(**scope)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    threads += [threading.Thread(target=run, kwargs={"contractor_id": p.pk}) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert LedgerEntry.objects.count() == 20
    assert sum(e.amount for e in LedgerEntry.objects.all()) == Decimal("25.00")


def test_a_submission_is_paid_in_its_own_transaction_at_the_cost_of_one_row(db, django_assert_max_num_queries):
    """The submit posts the pay itself (no recompute queued, no outbox message), by the pay rule the
    recompute applies, so a recompute afterwards finds nothing to correct."""
    from annotations.services import claim_submit, task_claim_next
    from payouts.models import LedgerEntry
    from taskhub.models import OutboxMessage

    batch = factories.BatchFactory()
    factories.make_tasks(batch, 3)
    factories.PayRateFactory(project=batch.project, amount=Decimal("0.7500"))
    person = factories.ContractorFactory()
    answer = {"choice": "A", "strength": "clear", "reason": "Clearer."}
    earlier = claim_submit(claim=task_claim_next(contractor=person, project=batch.project), contractor=person,
                           answer=answer)
    claim = task_claim_next(contractor=person, project=batch.project)
    with django_assert_max_num_queries(4):  # the submit and the pay (in the test: a savepoint and its release)
        latest = claim_submit(claim=claim, contractor=person, answer=answer)
    paid = {e.source_id: (e.kind, e.amount, e.idempotency_key) for e in LedgerEntry.objects.filter(contractor=person)}
    assert paid == {earlier.pk: ("task", Decimal("0.75"), f"task:submission:{earlier.pk}"),
                    latest.pk: ("task", Decimal("0.75"), f"task:submission:{latest.pk}")}
    assert not OutboxMessage.objects.exists()
    assert services.earnings_recompute() == 0
    assert services.earnings_recompute(contractor_id=person.pk) == 0


def test_a_submission_without_a_rate_is_paid_when_its_project_gets_one(db):
    from annotations.services import claim_submit, task_claim_next
    from payouts.models import LedgerEntry

    batch = factories.BatchFactory()
    factories.make_tasks(batch, 1)
    person = factories.ContractorFactory()
    submission = claim_submit(claim=task_claim_next(contractor=person, project=batch.project), contractor=person,
                              answer={"choice": "A", "strength": "clear", "reason": "Clearer."})
    assert not LedgerEntry.objects.exists()
    factories.PayRateFactory(project=batch.project, amount=Decimal("1.2500"),
                             effective_from=submission.submitted_at - timedelta(minutes=1))
    assert services.earnings_recompute() == 1
    assert LedgerEntry.objects.get().amount == Decimal("1.25")
