"""The fairness report, per batch and per project (pages and API): over everyone who wanted work,
who got any, how evenly (min/median/max/Gini), by region, at what local hour people took tasks,
what lapsed, and how fast it went round."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import BatchDemand, Claim
from annotations.selectors import batch_fairness_report, project_fairness_report
from annotations.services import (
    claim_open,
    claim_release,
    claim_submit,
    claims_expire_overdue,
    lottery,
    task_claim_next,
)
from projects.models import Batch
from tests import factories

pytestmark = pytest.mark.django_db

ANSWER = {"choice": "A", "strength": "clear", "reason": "A answers the question."}


def claims_for(batch, spec):
    """spec: [(person, count, claimed_at)] -> claims on fresh tasks of `batch`."""
    start = batch.tasks.count()
    total = sum(n for _, n, _ in spec)
    from projects.models import Task

    Task.objects.bulk_create(
        Task(batch=batch, project=batch.project, external_id=f"f-{start + i}", payload={}, overlap=1)
        for i in range(total)
    )
    tasks = list(batch.tasks.order_by("id")[start:])
    rows = []
    for person, n, at in spec:
        for _ in range(n):
            task = tasks.pop(0)
            rows.append(Claim(task=task, contractor=person, project=batch.project, batch=batch, status="submitted",
                              claimed_at=at, deadline=at + timedelta(hours=1)))
    Claim.objects.bulk_create(rows)


def test_even_split_has_gini_zero():
    batch = factories.BatchFactory()
    at = timezone.now()
    people = factories.ContractorFactory.create_batch(3)
    claims_for(batch, [(p, 4, at) for p in people])
    report = batch_fairness_report(batch=batch)
    assert (report["contractors"], report["tasks_total"], report["min"], report["median"], report["max"]) == (
        3, 12, 4, 4, 4)
    assert report["gini"] == 0


def test_uneven_split_figures():
    batch = factories.BatchFactory()
    at = timezone.now()
    a, b, c, d = factories.ContractorFactory.create_batch(4)
    claims_for(batch, [(a, 1, at), (b, 1, at), (c, 2, at), (d, 6, at)])
    report = batch_fairness_report(batch=batch)
    assert (report["min"], report["median"], report["max"], report["tasks_total"]) == (1, 1.5, 6, 10)
    # Gini of (1, 1, 2, 6): sum over ordered pairs of |xi - xj| / (2 n^2 mean) = 32 / 80
    assert report["gini"] == pytest.approx(0.4, abs=0.001)


def test_released_and_expired_claims_do_not_count_as_work_but_count_as_claim_times():
    batch = factories.BatchFactory()
    person = factories.ContractorFactory()
    at = datetime(2031, 1, 1, 12, tzinfo=UTC)
    claims_for(batch, [(person, 3, at)])
    Claim.objects.filter(batch=batch).filter(pk=Claim.objects.filter(batch=batch).first().pk).update(
        status="released")
    report = batch_fairness_report(batch=batch)
    assert report["tasks_total"] == 2 and report["claims"] == 3


def test_hours_are_each_claimers_local_time():
    batch = factories.BatchFactory()
    at = datetime(2031, 1, 1, 20, 30, tzinfo=UTC)  # 20:30 UTC
    berlin = factories.ContractorFactory(timezone="Europe/Berlin")  # 21:30
    kolkata = factories.ContractorFactory(timezone="Asia/Kolkata")  # 02:00 next day
    claims_for(batch, [(berlin, 1, at), (kolkata, 3, at)])
    report = batch_fairness_report(batch=batch)
    by_hour = {h["hour"]: h["claims"] for h in report["hours"] if h["claims"]}
    assert by_hour == {21: 1, 2: 3}
    assert report["night_claims"] == 3 and report["night_percent"] == 75.0
    assert len(report["hours"]) == 24


def test_lottery_section_reports_participants_and_seed(client_for, admin_user):
    now = timezone.now()
    project = factories.ProjectFactory(max_active_claims=10)
    batch = factories.BatchFactory(project=project, status="scheduled", released_at=None, release_policy="lottery",
                                   release_at=now + timedelta(hours=1), reservation_opens_at=now - timedelta(hours=1))
    factories.make_tasks(batch, 5)
    for person in factories.ContractorFactory.create_batch(7):
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=1)
    allocation = lottery.lottery_allocate(batch_id=batch.pk)
    report = batch_fairness_report(batch=Batch.objects.get(pk=batch.pk))
    assert report["lottery"]["participants"] == 7 and report["lottery"]["winners"] == 5
    page = client_for(admin_user).get(reverse("fairness:batch", args=[batch.pk])).content.decode()
    assert str(allocation.seed) in page and "7 opted in" in page


def test_page_for_admins_and_leads_only(client_for, admin_user, lead, contractor):
    batch = factories.BatchFactory()
    claims_for(batch, [(contractor, 2, timezone.now())])
    for user in (admin_user, lead):
        response = client_for(user).get(reverse("fairness:batch", args=[batch.pk]))
        assert response.status_code == 200
        assert "Gini coefficient" in response.content.decode()
    assert client_for(contractor).get(reverse("fairness:batch", args=[batch.pk])).status_code == 403
    assert client_for(lead).get(reverse("fairness:batch", args=[999999])).status_code == 404


def test_page_query_count_does_not_grow(client_for, lead, django_assert_max_num_queries):
    batch = factories.BatchFactory()
    claims_for(batch, [(factories.ContractorFactory(), 1, timezone.now())])
    client = client_for(lead)
    with django_assert_max_num_queries(50) as small:
        client.get(reverse("fairness:batch", args=[batch.pk]))
    claims_for(batch, [(factories.ContractorFactory(timezone="Asia/Tokyo"), 5, timezone.now()) for _ in range(20)])
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("fairness:batch", args=[batch.pk]))


def test_index_lists_released_batches(client_for, lead, django_assert_max_num_queries):
    released = factories.BatchFactory(name="Shipped")
    factories.BatchFactory(name="Not yet", status="draft", released_at=None)
    client = client_for(lead)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("fairness:index")).content.decode()
    assert "Shipped" in page and "Not yet" not in page
    assert reverse("fairness:batch", args=[released.pk]) in page


# --- Counting everyone who wanted work (issue 14) ---------------------------------------------


def _demand(batch, people, reason="found_none", at=None):
    BatchDemand.objects.bulk_create(BatchDemand(batch=batch, contractor=p, reason=reason,
                                                recorded_at=at or timezone.now()) for p in people)


def test_people_who_wanted_work_and_got_none_count_as_zero():
    """First come: 2 people took everything, 8 asked and found none."""
    batch = factories.BatchFactory()
    at = timezone.now()
    lucky = factories.ContractorFactory.create_batch(2)
    unlucky = factories.ContractorFactory.create_batch(8)
    claims_for(batch, [(p, 10, at) for p in lucky])
    _demand(batch, unlucky)
    report = batch_fairness_report(batch=batch)
    assert (report["wanted"], report["got_any"], report["got_any_percent"]) == (10, 2, 20.0)
    assert (report["min"], report["median"], report["max"]) == (0, 0, 10)
    assert report["gini"] == pytest.approx(0.8, abs=0.001)  # 8 zeros, 2 tens


def test_an_even_split_prints_a_positive_zero_and_whole_tasks():
    batch = factories.BatchFactory()
    claims_for(batch, [(p, 3, timezone.now()) for p in factories.ContractorFactory.create_batch(3)])
    report = batch_fairness_report(batch=batch)
    assert report["gini"] == 0 and math.copysign(1, report["gini"]) == 1.0
    assert type(report["tasks_total"]) is int and type(report["tasks"]) is int
    assert str(report["gini"]) == "0.0"


def test_night_counts_what_people_did_not_the_draw(client_for, admin_user):
    """Drawn at 02:00 in Kolkata; opened at 14:00 there: a day-time task, not a night one."""
    kolkata = factories.ContractorFactory(timezone="Asia/Kolkata")
    night_owl = factories.ContractorFactory(timezone="Asia/Kolkata")
    drawn_at = datetime(2031, 1, 13, 20, 30, tzinfo=UTC)  # 02:00 in Kolkata
    batch = factories.BatchFactory(project=factories.ProjectFactory(max_active_claims=10), status="scheduled",
                                   released_at=None, release_policy="lottery", release_at=drawn_at,
                                   reservation_opens_at=drawn_at - timedelta(days=1))
    factories.make_tasks(batch, 4)
    lottery.lottery_opt_in(batch=batch, contractor=kolkata, requested=3, now=drawn_at - timedelta(hours=3))
    lottery.lottery_allocate(batch_id=batch.pk, now=drawn_at)
    first, second, third = Claim.objects.filter(batch=batch).select_related("project").order_by("id")
    claim_open(claim=first, contractor=kolkata, now=drawn_at + timedelta(hours=12))  # 14:00 local
    claim_release(claim=second, contractor=kolkata, now=drawn_at + timedelta(hours=12))  # handed back
    task_claim_next(contractor=night_owl, project=batch.project, now=drawn_at + timedelta(hours=1))  # 03:00 local
    report = batch_fairness_report(batch=Batch.objects.get(pk=batch.pk))
    assert report["claims"] == 2 and report["night_claims"] == 1 and report["night_percent"] == 50.0
    assert {h["hour"]: h["claims"] for h in report["hours"] if h["claims"]} == {14: 1, 3: 1}
    assert report["reservations"] == {"drawn": 3, "opened": 1, "handed_back": 1, "lapsed": 0, "reserved": 1}
    assert third.pk  # still reserved


def test_regions_are_bands_of_the_utc_offset_at_the_release():
    batch = factories.BatchFactory(released_at=datetime(2031, 1, 14, 8, tzinfo=UTC))
    at = batch.released_at
    americas = [factories.ContractorFactory(timezone=z) for z in ("America/Los_Angeles", "America/Sao_Paulo")]
    emea = [factories.ContractorFactory(timezone=z) for z in ("Europe/London", "Africa/Nairobi")]
    apac = [factories.ContractorFactory(timezone=z) for z in ("Asia/Kolkata", "Pacific/Auckland")]
    claims_for(batch, [(americas[0], 2, at), (emea[0], 1, at), (emea[1], 1, at), (apac[0], 4, at)])
    _demand(batch, [americas[1], apac[1]])
    regions = {r["key"]: r for r in batch_fairness_report(batch=batch)["regions"]}
    figures = [(k, regions[k]["wanted"], regions[k]["got_any"], regions[k]["tasks"])
               for k in ("americas", "emea", "apac")]
    assert figures == [("americas", 2, 1, 2), ("emea", 2, 2, 2), ("apac", 2, 1, 4)]
    assert regions["americas"]["got_any_percent"] == 50.0 and regions["apac"]["share_of_tasks_percent"] == 50.0


def test_lapsed_reservations_and_the_pace_of_a_lottery():
    released = datetime(2031, 1, 14, 8, tzinfo=UTC)
    project = factories.ProjectFactory(max_active_claims=10, claim_minutes=30)
    batch = factories.BatchFactory(project=project, status="scheduled", released_at=None, release_policy="lottery",
                                   release_at=released, reservation_opens_at=released - timedelta(days=1),
                                   reservation_period=timedelta(hours=24), fallback_policy="first_come")
    factories.make_tasks(batch, 4)
    sleepy, keen, latecomer = factories.ContractorFactory.create_batch(3)
    for person in (sleepy, keen):
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=2, now=released - timedelta(hours=2))
    lottery.lottery_allocate(batch_id=batch.pk, now=released)
    for win in Claim.objects.filter(batch=batch, contractor=keen).select_related("project", "task"):
        claim = claim_open(claim=win, contractor=keen, now=released + timedelta(hours=3))
        claim_submit(claim=claim, contractor=keen, answer=ANSWER, now=released + timedelta(hours=3, minutes=10))
    claims_expire_overdue(now=released + timedelta(hours=24))
    for _ in range(2):
        claim = task_claim_next(contractor=latecomer, project=project, now=released + timedelta(hours=25))
        claim_submit(claim=claim, contractor=latecomer, answer=ANSWER, now=released + timedelta(hours=25, minutes=6))
    report = batch_fairness_report(batch=Batch.objects.get(pk=batch.pk))
    assert report["reservations"]["lapsed"] == 2
    assert (report["opted_in"], report["kept_wins"], report["kept_wins_percent"]) == (2, 1, 50.0)
    assert report["hours_to_fully_handed_out"] == 0.0  # every slot held at the draw
    assert report["hours_to_handed_out_for_good"] == 25.0
    assert report["hours_to_exhausted"] == 25.1
    assert (report["wanted"], report["got_any"]) == (3, 2)  # sleepy opted in and got nothing in the end


def test_project_report_sums_each_persons_tasks_over_its_batches(client_for, lead, django_assert_max_num_queries):
    project = factories.ProjectFactory(name="Essays")
    first = factories.BatchFactory(project=project, name="Week 1")
    second = factories.BatchFactory(project=project, name="Week 2")
    factories.BatchFactory(project=project, name="Not yet", status="draft", released_at=None)
    a, b, c = factories.ContractorFactory.create_batch(3)
    claims_for(first, [(a, 2, timezone.now()), (b, 2, timezone.now())])
    claims_for(second, [(a, 1, timezone.now())])
    _demand(second, [c])
    report = project_fairness_report(project=project)
    assert (report["wanted"], report["got_any"], report["tasks"], report["max"]) == (3, 2, 5, 3)
    rows = {row["batch"].name: row for row in report["batches"]}
    assert set(rows) == {"Week 1", "Week 2"}
    assert (rows["Week 1"]["wanted"], rows["Week 1"]["gini"]) == (2, 0.0)
    assert (rows["Week 2"]["wanted"], rows["Week 2"]["got_any"]) == (2, 1)
    client = client_for(lead)
    with django_assert_max_num_queries(12) as small:
        page = client.get(reverse("fairness:project", args=[project.slug])).content.decode()
    assert "Week 1" in page and "Week 2" in page and "Not yet" not in page
    for _ in range(3):
        extra = factories.BatchFactory(project=project)
        claims_for(extra, [(factories.ContractorFactory(), 2, timezone.now())])
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("fairness:project", args=[project.slug]))
    assert client.get(reverse("fairness:project", args=["no-such-project"])).status_code == 404


def test_batch_page_shows_everyone_and_the_cap_schedule(client_for, admin_user):
    batch = factories.BatchFactory(release_policy="fair_share", fair_share_cap=3, fair_share_cap_derived=True,
                                   released_at=datetime(2031, 1, 14, 8, tzinfo=UTC))
    _demand(batch, factories.ContractorFactory.create_batch(2))
    page = client_for(admin_user).get(reverse("fairness:batch", args=[batch.pk])).content.decode()
    assert "Wanted work" in page and "Europe and Africa" in page
    assert "Fair-share cap schedule" in page and "the demand share" in page and "no cap any more" in page


class TestApi:
    def test_batch_figures_for_leads_and_admins_only(self, client_for, lead, admin_user, contractor):
        batch = factories.BatchFactory()
        claims_for(batch, [(contractor, 2, timezone.now())])
        _demand(batch, [factories.ContractorFactory()])
        url = reverse("api-fairness-batch", args=[batch.pk])
        for user in (lead, admin_user):
            body = client_for(user).get(url).json()
            assert (body["batch"], body["wanted"], body["got_any"], body["got_any_percent"], body["gini"]) == (
                batch.pk, 2, 1, 50.0, 0.5)
            assert [r["key"] for r in body["regions"]] == ["americas", "emea", "apac"]
            assert len(body["hours"]) == 24 and body["reservations"]["lapsed"] == 0
            assert body["lottery"] is None and body["cap"]["follows_fair_share"] is False
        assert client_for(contractor).get(url).status_code == 403
        assert client_for(lead).get(reverse("api-fairness-batch", args=[999999])).status_code == 404

    def test_lottery_and_project_figures(self, client_for, lead):
        now = timezone.now()
        batch = factories.BatchFactory(status="scheduled", released_at=None, release_policy="lottery",
                                       release_at=now + timedelta(hours=1),
                                       reservation_opens_at=now - timedelta(hours=1))
        factories.make_tasks(batch, 2)
        person = factories.ContractorFactory()
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=1)
        allocation = lottery.lottery_allocate(batch_id=batch.pk)
        client = client_for(lead)
        body = client.get(reverse("api-fairness-batch", args=[batch.pk])).json()
        assert body["lottery"]["seed"] == allocation.seed and body["lottery"]["participants"] == 1
        assert body["reservations"]["drawn"] == 1 and body["kept_wins"] == 1
        assert [s["kind"] for s in body["cap"]["schedule"]][-1] == "end"
        project = client.get(reverse("api-fairness-project", args=[batch.project.slug])).json()
        assert project["project"] == batch.project.slug and [b["batch"] for b in project["batches"]] == [batch.pk]
        assert client.get(reverse("api-fairness-project", args=["nope"])).status_code == 404
