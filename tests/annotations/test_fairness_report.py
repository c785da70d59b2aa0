"""The per-batch fairness report: who got work, how evenly (min/median/max/Gini) and at what
local hour people claimed it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Claim
from annotations.selectors import batch_fairness_report
from annotations.services import lottery
from projects.models import Batch
from tests import factories

pytestmark = pytest.mark.django_db


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
