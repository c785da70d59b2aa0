"""The pages of grading: what contractors see of their reviews, and the reviewer pages,
each with a query count that does not grow with the data (pinned: the page's own queries plus
session, user and the notification badge)."""

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from freezegun import freeze_time

from annotations import selectors, services
from annotations.models import Review, Submission
from taskhub.formats import local_time
from tests import factories
from tests.annotations.reviewing import _sprint_with_member, make_project, peer_reviewer, reviewer, submit

pytestmark = pytest.mark.django_db

MARKS = {"accuracy": 2, "clarity": 1}
REASON = "The chosen response invents a statistic; check the facts before choosing."


def _graded_work(contractor, project, n, grader=None):
    grader = grader or reviewer()
    for _ in range(n):
        submission = submit(contractor, project)
        review = services.review_create(submission=submission, reviewer=grader, score=2, marks=MARKS, reason=REASON)
        services.appeal_create(review=review, contractor=contractor, reason="I did check; the figure is in the prompt.")
    return grader


def test_a_contractor_sees_every_review_with_the_role_but_never_the_name(client_for):
    contractor = factories.ContractorFactory()
    project = make_project("pairwise")
    grader = reviewer(display_name="Dana Grader")
    submission = submit(contractor, project)
    services.review_create(submission=submission, reviewer=grader, score=2, marks=MARKS, reason=REASON)
    gold = submit(contractor, project, gold={"choice": "A", "strength": "clear", "reason": "A"})
    peer = peer_reviewer()
    services.review_create(submission=gold, reviewer=peer, score=4, marks={"accuracy": 4, "clarity": 4})

    page = client_for(contractor).get(reverse("work:my_work")).content.decode()
    assert "2/5" in page and escape(REASON) in page
    assert "Accuracy: 2/5" in page and "Clarity: 1/5" in page  # marks by the rubric's labels
    assert "Team lead" in page
    assert "Automatic (known answer)" in page and "5/5" in page
    assert "Peer reviewer" in page and "calibration: does not affect your grade or pay" in page
    review = Review.objects.get(submission=submission)
    assert local_time(review.created_at, submission.contractor) in page  # the one date style, their zone
    for secret in (grader.email, "Dana Grader", peer.email, str(peer)):
        assert escape(secret) not in page
    assert "Appeal this grade" in page


def test_a_contractor_sees_only_their_own_reviews(client_for):
    project = make_project("pairwise")
    alice, bob = factories.ContractorFactory(), factories.ContractorFactory()
    _graded_work(alice, project, 1)
    page = client_for(bob).get(reverse("work:my_work")).content.decode()
    assert escape(REASON) not in page
    assert "Nothing submitted yet." in page


def test_my_work_query_count_does_not_grow(client_for, django_assert_max_num_queries):
    contractor = factories.ContractorFactory()
    project = make_project("pairwise")
    _graded_work(contractor, project, 2)
    client = client_for(contractor)
    with django_assert_max_num_queries(10):  # paged, with pay per submission and the projects to filter by
        small = client.get(reverse("work:my_work"))
    _graded_work(contractor, make_project("pairwise"), 8)
    with django_assert_max_num_queries(10):  # paged, with pay per submission and the projects to filter by
        large = client.get(reverse("work:my_work"))
    assert small.status_code == large.status_code == 200
    assert large.content.decode().count("You appealed on") == 10


def test_the_review_queue_query_count_does_not_grow(client_for, django_assert_max_num_queries):
    project = make_project("pairwise")
    lead = reviewer()
    client = client_for(lead)
    for _ in range(2):
        submit(factories.ContractorFactory(), project)
    with django_assert_max_num_queries(8):
        client.get(reverse("review:queue"))
    for _ in range(10):
        submit(factories.ContractorFactory(), make_project("pairwise"))
    with django_assert_max_num_queries(8):
        page = client.get(reverse("review:queue")).content.decode()
    assert page.count(">Grade</a>") == 12


def test_the_queue_filters_by_project_and_contractor(client_for):
    project, other = make_project("pairwise"), make_project("pairwise")
    alice, bob = factories.ContractorFactory(), factories.ContractorFactory()
    submit(alice, project)
    submit(bob, project)
    submit(alice, other)
    client = client_for(reviewer())
    assert client.get(reverse("review:queue"), {"project": project.pk}).content.decode().count(">Grade</a>") == 2
    assert client.get(reverse("review:queue"), {"contractor": alice.pk}).content.decode().count(">Grade</a>") == 2
    both = client.get(reverse("review:queue"), {"project": project.pk, "contractor": alice.pk, "x": "junk"})
    assert both.content.decode().count(">Grade</a>") == 1
    assert client.get(reverse("review:queue"), {"project": "'; DROP"}).status_code == 200


def test_the_queue_shows_how_long_each_submission_has_waited_oldest_first(client_for):
    project = make_project("pairwise")
    now = timezone.now()
    ages = {"fresh": timedelta(seconds=20), "minutes": timedelta(minutes=12, seconds=5),
            "hours": timedelta(hours=3, minutes=40), "days": timedelta(days=2, hours=5, minutes=1)}
    waiting = {}
    for label, age in ages.items():
        submission = submit(factories.ContractorFactory(), project)
        Submission.objects.filter(pk=submission.pk).update(submitted_at=now - age)
        waiting[label] = Submission.objects.get(pk=submission.pk)
    viewer = reviewer(timezone="Asia/Tokyo")
    with freeze_time(now):
        page = client_for(viewer).get(reverse("review:queue")).content.decode()
    assert '<th scope="col">Waiting</th>' in page
    rows = page[page.index("<tbody>"):]
    cells = re.findall(r'<td class="wait"><time datetime="([^"]+)" title="([^"]+)">([^<]+)</time></td>', rows)
    # Oldest first, each with its age and the exact time (in the viewer's zone) in its title.
    assert [age for _iso, _title, age in cells] == ["2 d 5 h", "3 h", "12 min", "under 1 min"]
    order = [waiting["days"], waiting["hours"], waiting["minutes"], waiting["fresh"]]
    assert [title for _iso, title, _age in cells] == [local_time(s.submitted_at, viewer) for s in order]
    assert [datetime.fromisoformat(iso) for iso, _t, _a in cells] == [
        s.submitted_at for s in order]
    header = page[page.index('id="oldest-wait"'):]
    assert header.startswith('id="oldest-wait">the oldest has waited <time') and ">2 d 5 h</time>" in header[:300]
    # Filtered, the header speaks of the oldest of what is shown.
    hours_contractor = waiting["hours"].contractor_id
    with freeze_time(now):
        one = client_for(viewer).get(reverse("review:queue"), {"contractor": hours_contractor}).content.decode()
    assert ">3 h</time>" in one[one.index('id="oldest-wait"'):][:300] and "2 d 5 h" not in one


def test_an_empty_queue_says_no_wait(client_for):
    page = client_for(reviewer()).get(reverse("review:queue")).content.decode()
    assert 'id="oldest-wait"' not in page and "Nothing is waiting for review." in page


def test_grading_through_the_page_goes_straight_to_the_next_item(client_for):
    project = make_project("pairwise")
    first = submit(factories.ContractorFactory(), project)
    second = submit(factories.ContractorFactory(), project)
    client = client_for(reviewer())
    start = client.get(reverse("review:next"), {"project": project.pk})
    assert start.status_code == 302 and start["Location"].startswith(reverse("review:grade", args=[first.pk]))
    response = client.post(start["Location"], {"score": "5", "mark__accuracy": "5", "mark__clarity": "4"})
    assert response.status_code == 302
    nxt = client.get(response["Location"])
    assert nxt["Location"].startswith(reverse("review:grade", args=[second.pk]))
    assert f"project={project.pk}" in nxt["Location"]
    page = client.get(nxt["Location"]).content.decode()
    assert 'id="grade-form"' in page and "js/review.js" in page and "<script>" not in page


def test_a_low_grade_without_a_reason_is_refused_on_the_page_and_nothing_saved(client_for):
    submission = submit(factories.ContractorFactory(), make_project("pairwise"))
    response = client_for(reviewer()).post(reverse("review:grade", args=[submission.pk]),
                                           {"score": "1", "mark__accuracy": "1", "mark__clarity": "1", "reason": "bad"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "<code>reason</code>" in body and "at least" in body
    assert 'value="1" checked' in body  # what was entered is kept
    assert not Review.objects.exists()


def test_an_out_of_range_grade_on_the_page_is_a_400_not_a_500(client_for):
    submission = submit(factories.ContractorFactory(), make_project("pairwise"))
    response = client_for(reviewer()).post(reverse("review:grade", args=[submission.pk]),
                                           {"score": "9", "mark__accuracy": "x", "mark__clarity": "3"})
    assert response.status_code == 400
    assert "<code>score</code>" in response.content.decode()
    assert not Review.objects.exists()


def test_a_reviewer_cannot_open_their_own_work(client_for):
    person = peer_reviewer()
    own = submit(person, make_project("pairwise"))
    assert client_for(person).get(reverse("review:grade", args=[own.pk])).status_code == 404


def test_the_review_api_grades_and_answers_409_to_the_second_reviewer(client_for):
    submission = submit(factories.ContractorFactory(), make_project("pairwise"))
    url = reverse("api-review-create", args=[submission.pk])
    body = {"score": 4, "marks": {"accuracy": 4, "clarity": 4}}
    first = client_for(reviewer()).post(url, body, content_type="application/json")
    assert first.status_code == 201 and first.json()["final_score"] == 4
    second = client_for(reviewer()).post(url, body, content_type="application/json")
    assert second.status_code == 409 and second.json()["code"] == "already_reviewed"
    assert client_for(factories.ContractorFactory()).post(url, body, content_type="application/json").status_code == 403


@pytest.mark.parametrize("name", ["review:queue", "review:appeals", "review:next"])
def test_plain_contractors_get_403_on_reviewer_pages_and_reviewer_contractors_get_in(client_for, name):
    assert client_for(factories.ContractorFactory()).get(reverse(name)).status_code == 403
    assert client_for(peer_reviewer()).get(reverse(name)).status_code == 200


def test_the_appeals_inbox_query_count_does_not_grow(client_for, django_assert_max_num_queries):
    decider = reviewer()
    client = client_for(decider)
    _graded_work(factories.ContractorFactory(), make_project("pairwise"), 2)
    with django_assert_max_num_queries(4):
        client.get(reverse("review:appeals"))
    _graded_work(factories.ContractorFactory(), make_project("rating"), 6)
    with django_assert_max_num_queries(4):
        page = client.get(reverse("review:appeals")).content.decode()
    assert page.count(">Decide</button>") == 8


def test_the_flags_page_query_count_does_not_grow(client_for, django_assert_max_num_queries):
    lead = reviewer()
    client = client_for(lead)
    sprint = None

    def flag_someone():
        nonlocal sprint
        person = factories.ContractorFactory()
        project = make_project("pairwise", flag_min_grades=1)
        # A lead sees the flags of the people in their sprints, on those sprints' projects.
        if sprint is None:
            sprint = _sprint_with_member(lead, person, project)
        else:
            sprint.memberships.create(contractor=person)
            sprint.projects.add(project)
        _graded_work(person, project, 1)
        services.contractor_flags_recompute(contractor_id=person.pk, project_id=project.pk)

    flag_someone()
    services.agreement_figures_compute()
    with django_assert_max_num_queries(8):
        client.get(reverse("lead:flags"))
    for _ in range(6):
        flag_someone()
    with django_assert_max_num_queries(8):
        page = client.get(reverse("lead:flags")).content.decode()
    assert page.count(">Decide</button>") == 7


def test_skipping_an_item_moves_on_to_the_next_one(client_for):
    project = make_project("pairwise")
    first = submit(factories.ContractorFactory(), project)
    second = submit(factories.ContractorFactory(), project)
    client = client_for(reviewer())
    page = client.get(reverse("review:grade", args=[first.pk])).content.decode()
    assert f"skip={first.pk}" in page
    response = client.get(reverse("review:next"), {"skip": first.pk})
    assert response["Location"].startswith(reverse("review:grade", args=[second.pk]))
    # Skipped items stay in the queue for everyone else.
    assert first in list(selectors.review_queue(reviewer=reviewer()))


# --- scoping by the people a lead leads, and the sprint filter (issue 8) -------------------

def test_a_lead_sees_and_decides_only_flags_of_people_they_lead(client_for, db):
    from django.urls import reverse
    from django.utils import timezone

    from annotations.models import ContractorFlag
    from tests import factories as f

    project = f.ProjectFactory()
    mine, other = f.ContractorFactory(), f.ContractorFactory()
    lead, other_lead = f.LeadFactory(), f.LeadFactory()
    _sprint_with_member(lead, mine, project)
    flag_mine = ContractorFlag.objects.create(contractor=mine, project=project, average="1.50", threshold="2.50",
                                              grades_counted=5, created_at=timezone.now(),
        respond_until=timezone.now())  # the answer window is over
    flag_other = ContractorFlag.objects.create(contractor=other, project=project, average="1.20", threshold="2.50",
                                               grades_counted=5, created_at=timezone.now(),
        respond_until=timezone.now())  # the answer window is over

    page = client_for(lead).get(reverse("lead:flags")).content.decode()
    assert mine.email in page or str(mine) in page
    assert other.email not in page and str(other) not in page

    refused = client_for(lead).post(reverse("lead:flag_decide", args=[flag_other.pk]),
                                     {"decision": "clear", "reason": "Not mine to decide, should be refused."})
    assert refused.status_code == 404
    flag_other.refresh_from_db()
    assert flag_other.status == ContractorFlag.Status.OPEN
    assert client_for(other_lead).get(reverse("lead:flags")).content.decode().count(str(mine)) == 0
    # The lead does decide the flag of someone in their sprint.
    decided = client_for(lead).post(reverse("lead:flag_decide", args=[flag_mine.pk]),
                                    {"decision": "warn", "reason": "Please re-read the rubric before the next batch."})
    assert decided.status_code == 302
    flag_mine.refresh_from_db()
    assert flag_mine.status == ContractorFlag.Status.WARNED
