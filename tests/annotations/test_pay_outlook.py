"""Pay next to the work (issue 19, item 1): the estimate of a task's minutes (the admin's, then the
median of measured work), the expected hourly pay, the grade-to-pay table with grade 1 at 0 %, and
pending changes, read through the one pay rule."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.selectors.pay import MEDIAN_MIN_SUBMISSIONS, pay_outlook, pay_outlooks
from payouts.services import earnings_recompute
from projects.models import GradePolicy, PayRate
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_admins_estimate_until_enough_work_is_measured_then_the_median():
    work = factories.Work()
    project = work.project(rate="0.5000", estimated_minutes=6)
    person = factories.ContractorFactory()
    for _ in range(MEDIAN_MIN_SUBMISSIONS - 1):
        work.submission(contractor=person, project=project, active_seconds=240)
    outlook = pay_outlook(project=project, now=timezone.now())
    assert (outlook.measured, outlook.minutes) == (False, Decimal(6))
    # 0.50 per task over 6 minutes is 5.00 an hour at full pay.
    assert outlook.expected_hourly == Decimal("5.00")
    work.submission(contractor=person, project=project, active_seconds=240)
    outlook = pay_outlook(project=project, now=timezone.now())
    assert (outlook.measured, outlook.measured_count, outlook.minutes) == (True, MEDIAN_MIN_SUBMISSIONS, Decimal("4.0"))
    assert outlook.expected_hourly == Decimal("7.50")


def test_grade_table_shows_grade_one_pays_nothing_also_on_hourly_work():
    work = factories.Work()
    project = work.project(rate="18.0000", unit=PayRate.Unit.PER_HOUR)
    outlook = pay_outlook(project=project, now=timezone.now())
    table = {row["grade"]: row for row in outlook.grade_table}
    assert table["1"]["percent"] == 0 and table["1"]["pays_nothing"] and table["1"]["amount"] == Decimal("0.00")
    assert table["2"]["amount"] == Decimal("9.00") and table["5"]["amount"] == Decimal("18.00")
    assert outlook.expected_hourly == Decimal("18.00")


def test_pending_rate_and_policy_changes_with_their_dates_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    work = factories.Work()
    now = timezone.now()
    projects = [work.project(rate="1.0000") for _ in range(3)]
    PayRate.objects.create(project=projects[0], amount=Decimal("0.80"), currency="USD", unit="per_task",
                           effective_from=now + timedelta(days=14), reason="Budget")
    GradePolicy.objects.create(project=projects[1], pay_grade_5=100, pay_grade_4=90, pay_grade_3=80, pay_grade_2=40,
                               pay_grade_1=0, pay_ungraded=100, effective_from=now + timedelta(days=14),
                               reason="Sharper")
    with django_assert_max_num_queries(3):
        outlooks = pay_outlooks(projects=projects, now=now)
    assert [r.amount for r in outlooks[projects[0].pk].upcoming_rates] == [Decimal("0.8000")]
    assert outlooks[projects[1].pk].upcoming_policies[0].pay_grade_4 == 90
    assert not outlooks[projects[2].pk].upcoming_rates and not outlooks[projects[2].pk].upcoming_policies


def test_pages_where_work_is_offered_show_the_pay(client):
    work = factories.Work()
    project = work.project(rate="0.5000", estimated_minutes=6, name="Tides")
    PayRate.objects.create(project=project, amount=Decimal("0.40"), currency="USD", unit="per_task",
                           effective_from=timezone.now() + timedelta(days=14), reason="Budget")
    person = factories.ContractorFactory()
    client.force_login(person)
    for url in (reverse("work:dashboard"), reverse("work:project", args=[project.slug])):
        html = client.get(url).content.decode()
        assert "about <strong data-expected-hourly>5.00 USD an hour</strong>" in html, url
        assert "pays nothing" in html and "Rate change from" in html, url


def test_a_project_paying_nothing_per_hour_is_listed_on_its_own_on_the_dashboard(client):
    work = factories.Work()
    person = factories.ContractorFactory()
    good = work.project(rate="100.0000", name="Well paid")
    free = work.project(rate="0.0000", name="Pays nothing")
    work.submission(contractor=person, project=good, active_seconds=900, at=timezone.now() - timedelta(minutes=5))
    work.submission(contractor=person, project=free, active_seconds=3600, at=timezone.now() - timedelta(minutes=5))
    earnings_recompute(contractor_id=person.pk)
    client.force_login(person)
    html = client.get(reverse("work:dashboard")).content.decode()
    assert 'data-project-hourly="Pays nothing"' in html
    row = html.split('data-project-hourly="Pays nothing"')[1].split("</tr>")[0]
    assert "0.00" in row and "pays nothing" in row
    assert "400.00 USD/h" in html.split('data-project-hourly="Well paid"')[1].split("</tr>")[0]


def test_the_set_up_form_takes_the_estimate_the_idle_limit_and_anchor_words():
    from projects.forms import ProjectSetupForm, rubric_formset

    base = {"name": "Nova", "slug": "nova-x", "task_type": "pairwise", "status": "active", "overlap": "1",
            "max_active_claims": "3", "claim_minutes": "30", "review_sample_rate": "100", "flag_threshold": "2.50",
            "flag_window": "10", "flag_min_grades": "3", "task_config_json": "{}"}
    kept = ProjectSetupForm(base)
    assert kept.is_valid(), kept.errors
    assert (kept.cleaned_data["estimated_minutes"], kept.cleaned_data["idle_minutes"]) == (10, 5)
    bad = ProjectSetupForm({**base, "estimated_minutes": "٣", "idle_minutes": "90"})
    assert not bad.is_valid() and {"estimated_minutes", "idle_minutes"} <= set(bad.errors)
    rubric = rubric_formset({"rubric-TOTAL_FORMS": "1", "rubric-INITIAL_FORMS": "0", "rubric-0-key": "honest",
                             "rubric-0-label": "Honesty", "rubric-0-low": "Made up", "rubric-0-high": "Every fact"})
    assert rubric.is_valid() and rubric.rubric() == [
        {"key": "honest", "label": "Honesty", "description": "", "low": "Made up", "high": "Every fact"}]
