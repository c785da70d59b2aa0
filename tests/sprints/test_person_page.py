"""A page per contractor for leads (issue 20): their own people only, and of them only the work on the
lead's projects; admins see everyone. Grades with reasons, appeals and second opinions, gold
agreement, active time and effective rate, flags and decisions, a trend; flags and roster link to it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import Appeal, ContractorFlag, Review, ReviewerRole
from sprints.models import Sprint, SprintMember
from sprints.selectors.people import TrendPoint, grade_trend, person_page
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(work):
    lead, other_lead = factories.LeadFactory(), factories.LeadFactory()
    person = factories.ContractorFactory(display_name="Ada Person")
    mine, theirs = work.project(name="Mine"), work.project(name="Theirs")
    now = timezone.now()
    for sprint_lead, project in ((lead, mine), (other_lead, theirs)):
        sprint = Sprint.objects.create(lead=sprint_lead, name=f"Push {project.name}", starts_at=now - timedelta(days=1),
                                       ends_at=now + timedelta(days=1), target_submissions=5,
                                       quality_target=Decimal("3.5"), status=Sprint.Status.OPEN)
        sprint.projects.set([project])
        SprintMember.objects.create(sprint=sprint, contractor=person)
    graded = work.submission(contractor=person, project=mine, active_seconds=1800)
    low = work.review(graded, 2)
    Appeal.objects.create(review=low, contractor=person, reason="I followed the rubric's second rule.",
                          created_at=now)
    gold = work.submission(contractor=person, project=mine, active_seconds=600)
    Review.objects.create(submission=gold, kind=Review.Kind.AUTOMATIC, reviewer_role=ReviewerRole.AUTOMATIC, score=5,
                          gold_agreement=0.75, created_at=now)
    elsewhere = work.submission(contractor=person, project=theirs)
    work.review(elsewhere, 1)
    ContractorFlag.objects.create(contractor=person, project=mine, average=Decimal("2.00"), threshold=Decimal("2.50"),
                                  grades_counted=3, created_at=now, status=ContractorFlag.Status.WARNED,
                                  decided_by=lead, decided_at=now, reason="Please reread the rubric's examples.")
    return {"lead": lead, "other_lead": other_lead, "person": person, "mine": mine, "theirs": theirs}


def test_a_lead_sees_their_person_on_their_projects_only(team, client_for):
    page = client_for(team["lead"]).get(reverse("lead:person", args=[team["person"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Does not follow the instructions." in html  # the reason of the 2
    assert "I followed the rubric&#x27;s second rule." in html  # the appeal
    assert "Please reread the rubric&#x27;s examples." in html  # the decision on the flag
    assert "75.0%" in html  # gold agreement
    assert "Theirs" not in html  # the other lead's project is not this lead's to see
    figures = person_page(lead=team["lead"], contractor=team["person"])
    assert (figures["submitted"], figures["graded"], figures["active_seconds"]) == (2, 2, 2400)


def test_admins_see_all_of_it_and_strangers_nothing(team, client_for):
    figures = person_page(lead=factories.AdminFactory(), contractor=team["person"])
    assert figures["submitted"] == 3 and figures["projects"] is None
    stranger = factories.LeadFactory()
    assert client_for(stranger).get(reverse("lead:person", args=[team["person"].pk])).status_code == 404
    contractor = factories.ContractorFactory()
    assert client_for(contractor).get(reverse("lead:person", args=[team["person"].pk])).status_code == 403


def test_the_page_has_a_fixed_number_of_queries(team, client_for, work, django_assert_max_num_queries):
    client = client_for(team["lead"])
    url = reverse("lead:person", args=[team["person"].pk])
    client.get(url)
    with django_assert_max_num_queries(14) as few:
        client.get(url)
    for _ in range(6):
        work.review(work.submission(contractor=team["person"], project=team["mine"]), 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_the_trend_is_placed_on_the_chart():
    day = timezone.now().date()
    trend = grade_trend([TrendPoint(day - timedelta(days=2), Decimal("1"), 1), TrendPoint(day, Decimal("5"), 2)])
    assert trend["polyline"] == "0,100 300,0"
    assert grade_trend([])["points"] == []


def test_roster_rows_and_flags_link_to_the_page(team, client_for):
    ContractorFlag.objects.create(contractor=team["person"], project=team["mine"], average=Decimal("2.00"),
                                  threshold=Decimal("2.50"), grades_counted=3, created_at=timezone.now())
    client = client_for(team["lead"])
    url = reverse("lead:person", args=[team["person"].pk])
    sprint = Sprint.objects.get(lead=team["lead"])
    assert f'href="{url}"' in client.get(reverse("lead:sprint_roster", args=[sprint.pk])).content.decode()
    flags = client.get(reverse("lead:flags")).content.decode()
    assert f'href="{url}"' in flags
    # Deciding a flag, the lead sees the graded work with its reasons and appeals, not just an average.
    assert "Does not follow the instructions." in flags and "I followed the rubric&#x27;s second rule." in flags
