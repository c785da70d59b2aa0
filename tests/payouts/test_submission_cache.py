"""The columns the database keeps on each submission for the earnings recompute: pay_rate (the
rate in force when it was submitted), final_grade (from reviews and appeals) and posted_cents /
posted_entries (from the ledger). Triggers keep them exact whoever writes, however many rows at
once; the audit finds any drift; the recompute reads nothing else."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from annotations.models import Appeal, Claim, Review, ReviewerRole, Submission
from payouts import selectors, services
from payouts.models import LedgerEntry
from payouts.services.recompute import RecomputeScope, differing_earnings_sql, expected_earnings_sql
from projects.models import GradePolicy, PayRate
from taskhub.money import quantize
from tests import factories


def cached(submission: Submission) -> tuple:
    submission.refresh_from_db(fields=["final_grade", "posted_cents", "posted_entries"])
    return submission.final_grade, Decimal(submission.posted_cents).scaleb(-2), submission.posted_entries


def grade_of(submission: Submission):
    return cached(submission)[0]


def rate_of(submission: Submission) -> int | None:
    submission.refresh_from_db(fields=["pay_rate"])
    return submission.pay_rate_id


def sql(statement: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


def entry(submission: Submission, amount: str, key: str, **fields) -> LedgerEntry:
    return LedgerEntry.objects.create(
        contractor_id=submission.contractor_id, project_id=submission.project_id, kind=fields.pop("kind", "task"),
        amount=Decimal(amount), currency="USD", source_type="submission", source_id=submission.pk,
        idempotency_key=key, **fields,
    )


def appeal_on(review: Review, *, status: str = Appeal.Status.OPEN, revised_score=None) -> Appeal:
    decided = status != Appeal.Status.OPEN
    return Appeal.objects.create(
        review=review, contractor_id=review.submission.contractor_id, reason="I followed the instructions exactly.",
        status=status, revised_score=revised_score, created_at=timezone.now(),
        decided_by=factories.AdminFactory() if decided else None, decided_at=timezone.now() if decided else None,
    )


# --- final_grade follows reviews and appeals ------------------------------------------------


def test_final_grade_follows_a_review_and_an_appeal_revision(work, contractor):
    from annotations.services.appeals import appeal_create, appeal_decide

    sub = work.submission(contractor=contractor, project=work.project())
    assert grade_of(sub) is None  # ungraded
    review = work.review(sub, 1)
    assert grade_of(sub) == 1
    appeal = appeal_create(review=review, contractor=contractor,
                           reason="I followed the instructions exactly; see the second paragraph.")
    assert grade_of(sub) == 1  # an open appeal changes nothing
    appeal_decide(appeal=appeal, decider=factories.AdminFactory(), outcome=Appeal.Status.REVISED,
                  revised_score=4, reason="The answer is right; the first grade misread the prompt.")
    assert grade_of(sub) == 4


def test_an_upheld_appeal_keeps_the_grade_and_calibration_grades_never_count(work, contractor):
    gold = work.submission(contractor=contractor, project=work.project())
    Review.objects.create(submission=gold, reviewer=factories.LeadFactory(), kind=Review.Kind.CALIBRATION,
                          reviewer_role=ReviewerRole.LEAD, score=2, reason="Calibration grade, blind.",
                          created_at=timezone.now())
    assert grade_of(gold) is None
    automatic = Review.objects.create(submission=gold, kind=Review.Kind.AUTOMATIC,
                                      reviewer_role=ReviewerRole.AUTOMATIC, score=5, gold_agreement=1.0,
                                      created_at=timezone.now())
    assert grade_of(gold) == 5
    appeal_on(automatic, status=Appeal.Status.UPHELD)
    assert grade_of(gold) == 5


def test_final_grade_follows_raw_sql_writes_of_reviews_and_appeals(work, contractor):
    sub = work.submission(contractor=contractor, project=work.project())
    review = work.review(sub, 3)
    sql("UPDATE annotations_review SET score = 5 WHERE id = %s", [review.pk])
    assert grade_of(sub) == 5
    appeal = appeal_on(review)
    sql("UPDATE annotations_appeal SET status = 'revised', revised_score = 2, decided_by_id = %s, "
        "decided_at = now() WHERE id = %s", [factories.AdminFactory().pk, appeal.pk])
    assert grade_of(sub) == 2
    sql("DELETE FROM annotations_appeal WHERE id = %s", [appeal.pk])
    assert grade_of(sub) == 5
    # A review moved to another submission takes its grade along.
    other = work.submission(contractor=contractor, project=sub.project)
    sql("UPDATE annotations_review SET submission_id = %s WHERE id = %s", [other.pk, review.pk])
    assert (grade_of(sub), grade_of(other)) == (None, 5)
    sql("UPDATE annotations_review SET kind = 'calibration' WHERE id = %s", [review.pk])
    assert grade_of(other) is None
    sql("DELETE FROM annotations_review WHERE id = %s", [review.pk])
    assert grade_of(other) is None


def test_one_bulk_insert_select_of_reviews_and_appeals_grades_every_submission(work, contractor):
    project = work.project()
    subs = [work.submission(contractor=contractor, project=project) for _ in range(40)]
    lead = factories.LeadFactory()
    ids = [s.pk for s in subs]
    inserted = sql("""
        INSERT INTO annotations_review (submission_id, reviewer_id, kind, reviewer_role, score, marks, reason,
                                        created_at)
        SELECT s.id, %s, 'reviewer', 'lead', 1 + s.id %% 5, '{}', 'Does not follow the instructions.', now()
        FROM annotations_submission s WHERE s.id = ANY(%s)""", [lead.pk, ids])
    assert inserted == 40
    sql("""
        INSERT INTO annotations_appeal (review_id, contractor_id, reason, status, decided_by_id, decided_by_role,
                                        decision_reason, revised_score, created_at, decided_at)
        SELECT r.id, %s, 'I followed the instructions.', 'revised', %s, 'lead', 'Right after all.', 5, now(), now()
        FROM annotations_review r WHERE r.submission_id = ANY(%s) AND r.submission_id %% 2 = 0""",
        [contractor.pk, lead.pk, ids])
    for sub in subs:
        assert grade_of(sub) == (5 if sub.pk % 2 == 0 else 1 + sub.pk % 5)
    assert selectors.submission_cache_disagreements(contractor_id=contractor.pk) == []


# --- posted_cents / posted_entries follow the ledger ---------------------------------------


def test_posted_amount_follows_each_ledger_insert_and_ignores_manual_entries(work, contractor, admin_user):
    sub = work.submission(contractor=contractor, project=work.project())
    assert cached(sub) == (None, Decimal("0.00"), 0)
    entry(sub, "3.00", f"task:submission:{sub.pk}")
    assert cached(sub)[1:] == (Decimal("3.00"), 1)
    entry(sub, "-1.50", f"adjustment:submission:{sub.pk}:1", kind="adjustment")
    assert cached(sub)[1:] == (Decimal("1.50"), 2)
    services.ledger_bonus_add(contractor=contractor, amount="10.00", currency="USD", reason="A careful week",
                              created_by=admin_user)
    assert cached(sub)[1:] == (Decimal("1.50"), 2)


def test_posted_amount_follows_bulk_inserts(work, contractor):
    project = work.project()
    subs = [work.submission(contractor=contractor, project=project) for _ in range(30)]
    LedgerEntry.objects.bulk_create([
        LedgerEntry(contractor=contractor, project=project, kind="task", amount=Decimal("0.75"), currency="USD",
                    source_type="submission", source_id=s.pk, idempotency_key=f"task:submission:{s.pk}")
        for s in subs
    ])
    # One statement, several entries per submission: 1 to 3 adjustments of 0.10 each.
    sql("""
        INSERT INTO payouts_ledgerentry (contractor_id, project_id, kind, amount, currency, source_type, source_id,
                                         rate_unit, reason, idempotency_key)
        SELECT s.contractor_id, s.project_id, 'adjustment', 0.10, 'USD', 'submission', s.id, '', 'bulk',
               'adjustment:submission:' || s.id || ':' || n
        FROM annotations_submission s CROSS JOIN generate_series(1, 3) n
        WHERE s.id = ANY(%s) AND n <= 1 + s.id %% 3""", [[s.pk for s in subs]])
    for sub in subs:
        extra = 1 + sub.pk % 3
        assert cached(sub)[1:] == (Decimal("0.75") + extra * Decimal("0.10"), 1 + extra)
    assert selectors.submission_cache_disagreements(contractor_id=contractor.pk) == []


def test_an_insert_that_conflicts_adds_nothing(work, contractor):
    sub = work.submission(contractor=contractor, project=work.project())
    entry(sub, "2.00", f"task:submission:{sub.pk}")
    sql("""
        INSERT INTO payouts_ledgerentry (contractor_id, project_id, kind, amount, currency, source_type, source_id,
                                         rate_unit, reason, idempotency_key)
        VALUES (%s, %s, 'task', 2.00, 'USD', 'submission', %s, '', '', %s)
        ON CONFLICT (idempotency_key) DO NOTHING""",
        [contractor.pk, sub.project_id, sub.pk, f"task:submission:{sub.pk}"])
    assert cached(sub)[1:] == (Decimal("2.00"), 1)


def test_emptying_the_ledger_with_truncate_empties_the_posted_columns(work, contractor):
    sub = work.submission(contractor=contractor, project=work.project())
    entry(sub, "2.00", f"task:submission:{sub.pk}")
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction holds the entry's deferred checks
    sql("TRUNCATE payouts_ledgerentry CASCADE")
    assert cached(sub)[1:] == (Decimal("0.00"), 0)


# --- pay_rate follows the rate history -------------------------------------------------------


def test_pay_rate_is_the_rate_in_force_when_the_work_was_submitted(work, contractor):
    from projects.selectors import rate_in_force

    now = timezone.now()
    project = work.project(rate="1.0000", since=now - timedelta(days=10))
    first = project.pay_rates.get()
    early = work.submission(contractor=contractor, project=project, at=now - timedelta(days=11))
    old, recent = (work.submission(contractor=contractor, project=project, at=now - timedelta(days=d))
                   for d in (5, 1))
    assert (rate_of(early), rate_of(old), rate_of(recent)) == (None, first.pk, first.pk)
    # A rate for later (what the service allows) takes over nothing yet.
    later = factories.PayRateFactory(project=project, amount=Decimal("2.0000"), effective_from=now + timedelta(days=3))
    assert (rate_of(old), rate_of(recent)) == (first.pk, first.pk)
    # A rate slipped into the past (raw, bulk) takes over the work from its start on, in its project only.
    other = work.project(rate="1.0000", since=now - timedelta(days=10))
    elsewhere = work.submission(contractor=contractor, project=other, at=now - timedelta(days=1))
    sql("""INSERT INTO projects_payrate (project_id, amount, currency, unit, effective_from, reason, created_at)
           SELECT %s, a, 'USD', 'per_task', %s, 'backdated', now() FROM unnest(ARRAY[3, 4]) a""",
        [project.pk, now - timedelta(days=3)])
    backdated = PayRate.objects.filter(project=project, reason="backdated").order_by("-id").first()  # equal
    assert (rate_of(early), rate_of(old), rate_of(recent)) == (None, first.pk, backdated.pk)  # times: last id
    assert rate_of(elsewhere) == other.pay_rates.get().pk
    # Moving a submission in time moves it between rates; the rule is the selector's everywhere.
    sql("UPDATE annotations_submission SET submitted_at = %s WHERE id = %s", [now + timedelta(days=4), old.pk])
    assert rate_of(old) == later.pk
    for sub in (early, old, recent, elsewhere):
        sub.refresh_from_db()
        expected = rate_in_force(project=sub.project, at=sub.submitted_at)
        assert rate_of(sub) == (expected.pk if expected else None)
    assert selectors.submission_cache_disagreements() == []


def test_a_backdated_rate_reaches_the_ledger_on_the_next_recompute(work, contractor):
    now = timezone.now()
    project = work.project(rate="1.0000", since=now - timedelta(days=10))
    before, after = (work.submission(contractor=contractor, project=project, at=now - timedelta(days=d))
                     for d in (5, 1))
    assert services.earnings_recompute() == 2
    sql("""INSERT INTO projects_payrate (project_id, amount, currency, unit, effective_from, reason, created_at)
           VALUES (%s, 1.5, 'USD', 'per_task', %s, 'correction', now())""", [project.pk, now - timedelta(days=3)])
    assert services.earnings_recompute() == 1
    assert (cached(before)[1], cached(after)[1]) == (Decimal("1.00"), Decimal("1.50"))
    correction = LedgerEntry.objects.get(source_id=after.pk, kind="adjustment")
    assert (correction.amount, correction.rate_amount) == (Decimal("0.50"), Decimal("1.5000"))
    assert services.earnings_recompute() == 0


def test_emptying_the_rate_history_with_truncate_empties_pay_rate(work, contractor):
    sub = work.submission(contractor=contractor, project=work.project())
    assert rate_of(sub) is not None
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql("TRUNCATE projects_payrate CASCADE")
    assert rate_of(sub) is None


# --- nobody writes the cached columns but the triggers ---------------------------------------


def test_direct_writes_and_stale_saves_cannot_change_the_cached_columns(work, contractor):
    sub = work.submission(contractor=contractor, project=work.project())
    stale = Submission.objects.get(pk=sub.pk)
    work.review(sub, 2)
    entry(sub, "0.50", f"task:submission:{sub.pk}")
    # A full save() of an instance read before the review and the entry writes every column.
    stale.needs_review = False
    stale.save()
    assert cached(sub) == (2, Decimal("0.50"), 1)
    assert Submission.objects.get(pk=sub.pk).needs_review is False  # the rest of the save went through
    sql("UPDATE annotations_submission SET final_grade = 5, posted_cents = 10000, posted_entries = 0, "
        "pay_rate_id = NULL WHERE id = %s", [sub.pk])
    assert cached(sub) == (2, Decimal("0.50"), 1)
    assert rate_of(sub) == sub.project.pay_rates.get().pk
    task = factories.TaskFactory(batch=factories.BatchFactory(project=sub.project), project=sub.project)
    claim = Claim.objects.create(task=task, contractor=contractor, project=sub.project, batch=task.batch,
                                 status="submitted", claimed_at=timezone.now(), deadline=timezone.now())
    forged = Submission.objects.create(
        claim=claim, task=task, contractor=contractor, project=sub.project, answer={}, submitted_at=timezone.now(),
        final_grade=5, posted_cents=999, posted_entries=3, pay_rate_id=None,
    )
    assert cached(forged) == (None, Decimal("0.00"), 0)
    assert rate_of(forged) == sub.project.pay_rates.get().pk


# --- the audit ------------------------------------------------------------------------------


def test_audit_finds_drift_made_with_triggers_off_and_the_rebuild_repairs_it(work, contractor):
    project = work.project()
    graded, paid, clean = (work.submission(contractor=contractor, project=project) for _ in range(3))
    review = work.review(graded, 4)
    work.review(clean, 5)
    entry(clean, "1.00", f"task:submission:{clean.pk}")
    other = work.project()
    moved = work.submission(contractor=contractor, project=other)
    assert selectors.submission_cache_disagreements() == []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        cursor.execute("UPDATE annotations_review SET score = 1 WHERE id = %s", [review.pk])
        cursor.execute("""
            INSERT INTO projects_payrate (project_id, amount, currency, unit, effective_from, reason, created_at)
            VALUES (%s, 9, 'USD', 'per_task', now() - interval '1 day', 'restored', now()) RETURNING id""",
                       [other.pk])
        (restored,) = cursor.fetchone()
        cursor.execute("""
            INSERT INTO payouts_ledgerentry (contractor_id, project_id, kind, amount, currency, source_type,
                                             source_id, rate_unit, reason, idempotency_key)
            VALUES (%s, %s, 'task', 2.50, 'USD', 'submission', %s, '', '', %s)""",
                       [contractor.pk, project.pk, paid.pk, f"task:submission:{paid.pk}"])
        # SET LOCAL outlives a released savepoint: switch the triggers back on for the rest of the test.
        cursor.execute("SET LOCAL session_replication_role = origin")
    found = {d.submission_id: d for d in selectors.submission_cache_disagreements()}
    assert set(found) == {graded.pk, paid.pk, moved.pk}
    assert (found[moved.pk].pay_rate_id, found[moved.pk].rate_in_force) == (other.pay_rates.earliest("id").pk,
                                                                            restored)
    assert found[graded.pk].pay_rate_id == found[graded.pk].rate_in_force
    assert (found[graded.pk].final_grade, found[graded.pk].grade) == (4, 1)
    assert (found[paid.pk].posted_amount, found[paid.pk].ledger_amount) == (Decimal("0.00"), Decimal("2.50"))
    assert (found[paid.pk].posted_entries, found[paid.pk].ledger_entries) == (0, 1)
    assert [d.submission_id for d in selectors.submission_cache_disagreements(contractor_id=contractor.pk,
                                                                              limit=1)] == [min(found)]
    assert selectors.submission_cache_disagreements(contractor_id=factories.ContractorFactory().pk) == []

    assert services.submission_cache_rebuild() == 3
    assert selectors.submission_cache_disagreements() == []
    assert cached(graded)[0] == 1 and cached(paid)[1:] == (Decimal("2.50"), 1) and rate_of(moved) == restored
    # Outside a rebuild the columns are the triggers' again.
    sql("UPDATE annotations_submission SET posted_cents = 0 WHERE id = %s", [paid.pk])
    assert cached(paid)[1] == Decimal("2.50")


# --- the recompute reads the columns ----------------------------------------------------------


def test_recompute_pays_from_the_columns_and_leaves_them_in_agreement(work):
    rng = random.Random(20261128)
    people = [factories.ContractorFactory() for _ in range(3)]
    change = timezone.now() - timedelta(days=4)
    projects = []
    for unit, onboarding in ((PayRate.Unit.PER_TASK, False), (PayRate.Unit.PER_HOUR, False),
                             (PayRate.Unit.PER_HOUR, True)):
        project = work.project(rate=None, is_onboarding=onboarding)
        for amount, since in ((rng.randint(1, 900_000), change - timedelta(days=10)),
                              (rng.randint(1, 900_000), change)):
            factories.PayRateFactory(project=project, amount=Decimal(amount) / 10_000, unit=unit,
                                     effective_from=since)
        # A policy history too: the work on each side of the change is paid by the policy then in force.
        GradePolicy.objects.create(project=project, effective_from=change - timedelta(days=10),
                                   pay_grade_4=Decimal("87.5"), pay_grade_2=Decimal("12.34"))
        GradePolicy.objects.create(project=project, effective_from=change, pay_grade_3=Decimal("61.5"),
                                   pay_grade_1=Decimal("5"))
        projects.append(project)
    subs = []
    for _ in range(60):
        sub = work.submission(contractor=rng.choice(people), project=rng.choice(projects),
                              active_seconds=rng.randint(0, 50_000),
                              at=change + timedelta(hours=rng.choice([-30, -1, 1, 30])))
        if rng.random() < 0.8:
            review = work.review(sub, rng.randint(1, 5))
            if rng.random() < 0.3:
                appeal_on(review, status=Appeal.Status.REVISED, revised_score=rng.randint(1, 5))
        subs.append(sub)
    services.earnings_recompute()
    assert selectors.submission_cache_disagreements() == []
    # The ledger holds, per submission, what the report query (and a Python reference) says it earns.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT submission_id, amount, posted_amount FROM ({expected_earnings_sql()}) e")
        expected = {pk: (amount, posted) for pk, amount, posted in cursor.fetchall()}
    for sub in subs:
        final = Review.objects.filter(submission=sub).exclude(kind="calibration").first()
        rate = PayRate.objects.filter(project=sub.project, effective_from__lte=sub.submitted_at) \
            .order_by("-effective_from", "-id").first()
        policy = GradePolicy.objects.filter(project=sub.project, effective_from__lte=sub.submitted_at) \
            .order_by("-effective_from", "-id").first()
        grade = final and final.final_score
        percent = Decimal(100) if sub.project.is_onboarding else getattr(
            policy, "pay_ungraded" if grade is None else f"pay_grade_{grade}")
        raw = rate.amount * percent / 100
        if rate.unit == PayRate.Unit.PER_HOUR:
            raw = Decimal(sub.active_seconds) * rate.amount * percent / 360000
        assert expected[sub.pk] == (quantize(raw), quantize(raw)), sub.pk
    assert services.earnings_recompute() == 0

    # Grades move: the adjustments follow, and the columns with them.
    revised = [s for s in subs if grade_of(s) is not None][:10]
    for sub in revised:
        sql("UPDATE annotations_review SET score = CASE WHEN score = 5 THEN 1 ELSE score + 1 END "
            "WHERE submission_id = %s AND kind <> 'calibration'", [sub.pk])
    assert services.earnings_recompute() > 0
    assert services.earnings_recompute() == 0
    assert selectors.submission_cache_disagreements() == []
    adjustment = LedgerEntry.objects.filter(source_id=revised[0].pk, kind="adjustment").order_by("-id").first()
    if adjustment is not None:
        assert adjustment.idempotency_key.startswith(f"adjustment:submission:{revised[0].pk}:")


@pytest.mark.parametrize(("rate", "seconds"), [
    ("99999999.9999", 36_000),  # the largest rate: 10¹⁶ per-second units, 3.6 × 10²⁰ before dividing
    ("100.0000", 2_147_483_647),  # the most seconds an integer column holds, at a plausible rate
    ("18.0000", 5),  # a tie: 0.025 rounds half up to 0.03
])
def test_hourly_pay_is_exact_at_the_limits_of_rates_and_times(work, contractor, rate, seconds):
    project = work.project(rate=rate, unit=PayRate.Unit.PER_HOUR)
    sub = work.submission(contractor=contractor, project=project, active_seconds=seconds)
    assert services.earnings_recompute() == 1
    assert cached(sub)[1] == quantize(Decimal(seconds) * Decimal(rate) / 3600)


def test_a_project_whose_rate_changed_unit_pays_each_version_its_own_way(work, contractor):
    change = timezone.now() - timedelta(days=2)
    project = work.project(rate="1.2500", unit=PayRate.Unit.PER_TASK, since=change - timedelta(days=5))
    factories.PayRateFactory(project=project, amount=Decimal("20.0000"), unit=PayRate.Unit.PER_HOUR,
                             effective_from=change)
    before = work.submission(contractor=contractor, project=project, at=change - timedelta(hours=1),
                             active_seconds=900)
    after = work.submission(contractor=contractor, project=project, at=change + timedelta(hours=1),
                            active_seconds=900)
    work.review(after, 2)  # half pay by default
    assert services.earnings_recompute() == 2
    assert (cached(before)[1], cached(after)[1]) == (Decimal("1.25"), Decimal("2.50"))
    kinds = dict(LedgerEntry.objects.filter(contractor=contractor).values_list("source_id", "kind"))
    assert kinds == {before.pk: "task", after.pk: "hourly"}


@pytest.mark.parametrize(("scope", "index_column"), [
    ({"contractor_id": 1}, "contractor_id"),
    ({"contractor_id": 1, "submitted_from": timezone.now()}, "contractor_id"),
    ({"project_id": 1}, "project_id"),
])
def test_scoped_recomputes_read_through_an_index(db, scope, index_column):
    where, rates, params = RecomputeScope(**scope).where()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a near-empty test table would be scanned anyway
        cursor.execute("EXPLAIN " + differing_earnings_sql(where, rates), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on annotations_submission" not in plan, plan
    assert any("Index Cond:" in line and f"{index_column} = " in line for line in plan.splitlines()), plan


def test_the_nightly_recompute_decides_in_the_scan_of_submissions_alone(work, contractor):
    """The difference is found while scanning annotations_submission, with the pay rule read from
    arrays computed once; rates and projects are joined only to describe the rows that differ."""
    sub = work.submission(contractor=contractor, project=work.project())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_submission")
        cursor.execute("EXPLAIN (FORMAT JSON) " + differing_earnings_sql())
        (plan,) = cursor.fetchone()
        plan = plan[0] if isinstance(plan, list) else plan

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    scans = [n for n in nodes(plan["Plan"]) if n.get("Relation Name") == "annotations_submission"]
    assert len(scans) == 1 and "posted_cents" in scans[0].get("Filter", ""), scans
    others = [n for n in nodes(plan["Plan"]) if n is not scans[0]]
    assert not any("posted_cents" in n.get("Filter", "") + n.get("Join Filter", "") for n in others)
    assert services.earnings_recompute() == 1 and cached(sub)[1] == Decimal("1.00")


# --- the migrations -----------------------------------------------------------------------------

_BEFORE = [("annotations", "0002_reviews_appeals_flags"), ("payouts", "0002_ledger_append_only")]


def _migrate(targets) -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migrations_fill_the_columns_from_existing_data_and_reverse_cleanly(work):
    from django.db.migrations.loader import MigrationLoader

    latest = MigrationLoader(connection).graph.leaf_nodes()
    contractor = factories.ContractorFactory()
    project = work.project(rate="2.0000")
    graded, appealed, paid, untouched = (work.submission(contractor=contractor, project=project) for _ in range(4))
    try:
        _migrate(_BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                           "'annotations_submission' AND column_name IN "
                           "('final_grade', 'posted_amount', 'posted_cents', 'pay_rate_id')")
            assert cursor.fetchone() == (0,)
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%final_grade%%' "
                           "OR tgname LIKE '%%posts_to_submission%%'")
            assert cursor.fetchone() == (0,)
        # Data written while the columns did not exist.
        lead = factories.LeadFactory()
        for sub, score in ((graded, 2), (appealed, 1)):
            sql("INSERT INTO annotations_review (submission_id, reviewer_id, kind, reviewer_role, score, marks, "
                "reason, created_at) VALUES (%s, %s, 'reviewer', 'lead', %s, '{}', 'Too short.', now())",
                [sub.pk, lead.pk, score])
        sql("""INSERT INTO annotations_appeal (review_id, contractor_id, reason, status, decided_by_id, decided_by_role,
                                               decision_reason, revised_score, created_at, decided_at)
               SELECT id, %s, 'Please look again.', 'revised', %s, 'lead', 'Right after all.', 4, now(), now()
               FROM annotations_review WHERE submission_id = %s""", [contractor.pk, lead.pk, appealed.pk])
        for n, amount in enumerate(("2.00", "-1.25")):
            sql("""INSERT INTO payouts_ledgerentry (contractor_id, project_id, kind, amount, currency, source_type,
                                                    source_id, rate_unit, reason, idempotency_key)
                   VALUES (%s, %s, 'task', %s, 'USD', 'submission', %s, '', '', %s)""",
                [contractor.pk, project.pk, amount, paid.pk, f"k{n}:{paid.pk}"])
        _migrate(latest)
        assert cached(graded) == (2, Decimal("0.00"), 0)
        assert cached(appealed) == (4, Decimal("0.00"), 0)
        assert cached(paid) == (None, Decimal("0.75"), 2)
        assert cached(untouched) == (None, Decimal("0.00"), 0)
        rate = project.pay_rates.get().pk
        assert [rate_of(s) for s in (graded, appealed, paid, untouched)] == [rate] * 4
        assert selectors.submission_cache_disagreements() == []
        # Undoing only the change to cents gives the amount back, exactly.
        _migrate([("annotations", "0004_claim_deadline_idx_not_for_caps")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT posted_amount FROM annotations_submission WHERE id = %s", [paid.pk])
            assert cursor.fetchone() == (Decimal("0.75"),)
        _migrate(latest)
        assert cached(paid) == (None, Decimal("0.75"), 2)
        # Down and up again gives the same, and the triggers work after it.
        _migrate(_BEFORE)
        _migrate(latest)
        assert selectors.submission_cache_disagreements() == []
        work.review(untouched, 5)
        assert grade_of(untouched) == 5
    finally:
        _migrate(latest)
