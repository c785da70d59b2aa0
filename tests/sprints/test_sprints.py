"""Sprints: validation, opening and closing on time exactly once, the summary at close,
announcements, and a lead seeing only their own sprints."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from sprints import services as svc
from sprints.models import Announcement, Sprint, SprintMember
from sprints.tasks import sprints_open_close_due
from tests import factories
from tests.sprints.sprint_helpers import make_sprint, make_work

pytestmark = pytest.mark.django_db

S = Sprint.Status


def _kwargs(**overrides):
    now = timezone.now()
    project = overrides.pop("project", None) or factories.ProjectFactory()
    members = overrides.pop("members", None) or [factories.ContractorFactory(), factories.ContractorFactory()]
    data = {
        "name": "Weekend push", "project_ids": [project.pk], "member_ids": [m.pk for m in members],
        "starts_at": now + timedelta(hours=2), "ends_at": now + timedelta(hours=26),
        "target_submissions": 200, "quality_target": "4.2",
    }
    data.update(overrides)
    return data


# --- validation -------------------------------------------------------------------------------


def test_a_lead_creates_a_planned_sprint_with_its_projects_and_members(lead):
    kwargs = _kwargs()
    sprint = svc.sprint_create(lead=lead, **kwargs)
    assert sprint.status == S.PLANNED
    assert sprint.quality_target == Decimal("4.20")
    assert sorted(sprint.members.values_list("pk", flat=True)) == sorted(kwargs["member_ids"])
    assert list(sprint.projects.values_list("pk", flat=True)) == kwargs["project_ids"]


def test_a_sprint_whose_window_has_started_opens_at_once(lead):
    sprint = svc.sprint_create(lead=lead, **_kwargs(starts_at=timezone.now() - timedelta(minutes=5)))
    assert sprint.status == S.OPEN
    assert sprint.opened_at is not None


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"name": "  "}, "name"),
        ({"project_ids": []}, "projects"),
        ({"member_ids": []}, "members"),
        ({"target_submissions": 0}, "target_submissions"),
        ({"target_submissions": "lots"}, "target_submissions"),
        ({"quality_target": "5.5"}, "quality_target"),
        ({"quality_target": "0.9"}, "quality_target"),
        ({"quality_target": "NaN"}, "quality_target"),
        ({"ends_at": "start"}, "ends_at"),
        ({"ends_at": "eight days"}, "ends_at"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(lead, override, field):
    kwargs = _kwargs()
    if override.get("ends_at") == "start":
        override["ends_at"] = kwargs["starts_at"]
    elif override.get("ends_at") == "eight days":
        override["ends_at"] = kwargs["starts_at"] + timedelta(days=8)
    kwargs.update(override)
    with pytest.raises(svc.SprintError) as caught:
        svc.sprint_create(lead=lead, **kwargs)
    assert field in [e["field"] for e in caught.value.errors]
    assert not Sprint.objects.exists()
    assert not SprintMember.objects.exists()


def test_members_must_be_contractors_and_projects_active(lead):
    other_lead = factories.LeadFactory()
    paused = factories.ProjectFactory(status="paused")
    with pytest.raises(svc.SprintError) as caught:
        svc.sprint_create(lead=lead, **_kwargs(member_ids=[other_lead.pk], project_ids=[paused.pk]))
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"members", "projects"}


def test_a_contractor_cannot_create_a_sprint(contractor):
    with pytest.raises(svc.Forbidden):
        svc.sprint_create(lead=contractor, **_kwargs())


def test_the_database_refuses_a_sprint_ending_before_it_starts_or_longer_than_seven_days(lead):
    now = timezone.now()
    for ends in (now - timedelta(hours=1), now + timedelta(days=7, minutes=1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Sprint.objects.create(lead=lead, name="x", starts_at=now, ends_at=ends, target_submissions=1,
                                  quality_target=Decimal("3"))


def test_an_open_sprint_keeps_its_start_and_a_closed_one_cannot_change(lead):
    sprint = svc.sprint_create(lead=lead, **_kwargs(starts_at=timezone.now() - timedelta(hours=1)))
    kwargs = _kwargs(starts_at=sprint.starts_at + timedelta(minutes=30), ends_at=sprint.ends_at)
    with pytest.raises(svc.SprintError) as caught:
        svc.sprint_update(sprint=sprint, by=lead, **kwargs)
    assert caught.value.field == "starts_at"
    kwargs["starts_at"] = sprint.starts_at
    kwargs["target_submissions"] = 500
    updated = svc.sprint_update(sprint=sprint, by=lead, **kwargs)
    assert updated.target_submissions == 500
    assert sorted(updated.members.values_list("pk", flat=True)) == sorted(kwargs["member_ids"])
    Sprint.objects.filter(pk=sprint.pk).update(status=S.CLOSED, summary={"submitted": 0})
    with pytest.raises(svc.SprintError):
        svc.sprint_update(sprint=sprint, by=lead, **kwargs)


# --- opening and closing on time ----------------------------------------------------------------


def test_beat_opens_due_sprints_and_closes_ended_ones_with_a_summary(lead, django_capture_on_commit_callbacks):
    member = factories.ContractorFactory()
    due = make_sprint(lead=lead, members=[member], status=S.PLANNED, hours_ago=1)
    later = make_sprint(lead=lead, members=[member], status=S.PLANNED, hours_ago=-3)
    ended = make_sprint(lead=lead, members=[member], status=S.OPEN, hours_ago=30, hours=24)
    with django_capture_on_commit_callbacks(execute=True):
        result = sprints_open_close_due()
    assert result == {"opened": [due.pk], "closed": [ended.pk]}
    statuses = dict(Sprint.objects.values_list("pk", "status"))
    assert statuses == {due.pk: S.OPEN, later.pk: S.PLANNED, ended.pk: S.CLOSED}
    ended.refresh_from_db()
    assert ended.summary["submitted"] == 0 and ended.closed_at is not None
    kinds = sorted(Notification.objects.filter(user=member).values_list("kind", flat=True))
    assert kinds == ["sprint_closed", "sprint_open"]
    # Nothing left to do: a second run changes nothing and notifies nobody again.
    with django_capture_on_commit_callbacks(execute=True):
        assert sprints_open_close_due() == {"opened": [], "closed": []}
    assert Notification.objects.filter(user=member).count() == 2


def _race(target, n=2):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_the_same_moment_open_a_sprint_once():
    sprints = [make_sprint(status=S.PLANNED, hours_ago=1, members=[factories.ContractorFactory()])
               for _ in range(5)]
    results = _race(svc.sprints_open_due)
    opened = sorted(pk for r in results for pk in r)
    assert opened == sorted(s.pk for s in sprints)  # each sprint opened by exactly one of the two
    assert Sprint.objects.filter(status=S.OPEN).count() == 5
    # one notification per member and sprint, not two
    assert Notification.objects.filter(kind="sprint_open").count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_the_same_moment_close_a_sprint_once_and_write_its_summary_once():
    member = factories.ContractorFactory()
    sprint = make_sprint(status=S.OPEN, hours_ago=30, hours=24, members=[member])
    project = sprint.projects.get()
    make_work(contractor=member, project=project, count=3, at=sprint.starts_at + timedelta(hours=1), grades=[4, 5])
    results = _race(svc.sprints_close_due, n=4)
    assert sorted(pk for r in results for pk in r) == [sprint.pk]
    sprint.refresh_from_db()
    assert sprint.status == S.CLOSED
    assert sprint.summary["submitted"] == 3
    assert Notification.objects.filter(kind="sprint_closed", user=member).count() == 1


# --- summary figures --------------------------------------------------------------------------


def test_the_summary_counts_only_members_work_on_the_sprint_projects_inside_the_window():
    alice, bob, outsider = (factories.ContractorFactory(display_name=n) for n in ("Alice", "Bob", "Zed"))
    project, other_project = factories.ProjectFactory(), factories.ProjectFactory()
    sprint = make_sprint(members=[alice, bob], projects=[project], hours_ago=10, hours=10, target_submissions=6)
    inside = sprint.starts_at + timedelta(hours=2)
    make_work(contractor=alice, project=project, count=4, at=inside, grades=[5, 4, 2], seconds=300)
    make_work(contractor=bob, project=project, count=2, at=inside, grades=[3])
    make_work(contractor=alice, project=other_project, count=5, at=inside, grades=[1, 1])  # other project
    make_work(contractor=outsider, project=project, count=5, at=inside, grades=[1])  # not a member
    make_work(contractor=bob, project=project, count=7, at=sprint.starts_at - timedelta(minutes=1))  # before

    from sprints.selectors import sprint_summary

    summary = sprint_summary(sprint=sprint, until=sprint.ends_at)
    assert summary["submitted"] == 6
    assert summary["reviewed"] == 4
    assert summary["average_grade"] == "3.50"  # (5 + 4 + 2 + 3) / 4
    assert summary["per_hour"] == "0.60"  # 6 submissions over 10 hours
    assert summary["target_met"] is True
    assert summary["grades"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    by_name = {m["name"]: m for m in summary["members"]}
    assert by_name["Alice"]["submitted"] == 4 and by_name["Alice"]["average_grade"] == "3.67"
    assert by_name["Alice"]["active_seconds"] == 1200
    assert by_name["Bob"]["submitted"] == 2 and by_name["Bob"]["per_hour"] == "0.20"


def test_a_revised_appeal_counts_with_its_revised_grade():
    from annotations.models import Appeal, Review

    member = factories.ContractorFactory()
    sprint = make_sprint(members=[member])
    [sub] = make_work(contractor=member, project=sprint.projects.get(), count=1,
                      at=sprint.starts_at + timedelta(minutes=5), grades=[1])
    review = Review.objects.get(submission=sub)
    Appeal.objects.create(review=review, contractor=member, reason="The choice was right.", status="revised",
                          decided_by=factories.LeadFactory(), decided_at=timezone.now(), revised_score=4,
                          decision_reason="Agreed on second look.", created_at=timezone.now())
    from sprints.selectors import sprint_summary

    assert sprint_summary(sprint=sprint, until=timezone.now())["average_grade"] == "4.00"


# --- announcements ----------------------------------------------------------------------------


def test_an_announcement_to_a_sprint_notifies_its_members_once(lead, django_capture_on_commit_callbacks):
    members = [factories.ContractorFactory(), factories.ContractorFactory()]
    outsider = factories.ContractorFactory()
    sprint = make_sprint(lead=lead, members=members)
    with django_capture_on_commit_callbacks(execute=True):
        announcement = svc.announcement_post(author=lead, sprint=sprint, title="Halfway", body="Great pace, team!")
    notes = Notification.objects.filter(kind="announcement")
    assert sorted(notes.values_list("user_id", flat=True)) == sorted(m.pk for m in members)
    assert not notes.filter(user=outsider).exists()
    assert notes.first().body == "Great pace, team!"
    announcement.refresh_from_db()
    assert announcement.recipients == 2
    assert svc.announcement_notify(announcement_id=announcement.pk) == 0  # a redelivery notifies nobody twice


def test_an_announcement_to_a_project_reaches_its_eligible_contractors(lead, django_capture_on_commit_callbacks):
    sprint = make_sprint(lead=lead, members=[factories.ContractorFactory()])
    project = sprint.projects.get()
    everyone = [factories.ContractorFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        svc.announcement_post(author=lead, project=project, title="New guidelines", body="Read section 2.")
    reached = set(Notification.objects.filter(kind="announcement").values_list("user_id", flat=True))
    assert {u.pk for u in everyone} <= reached


def test_a_lead_cannot_announce_to_someone_elses_sprint_or_project(lead):
    sprint = make_sprint(members=[factories.ContractorFactory()])  # led by another lead
    with pytest.raises(svc.Forbidden):
        svc.announcement_post(author=lead, sprint=sprint, title="Hi", body="Hello")
    with pytest.raises(svc.Forbidden):
        svc.announcement_post(author=lead, project=sprint.projects.get(), title="Hi", body="Hello")
    assert not Announcement.objects.exists()


def test_an_announcement_needs_a_title_and_a_body(lead):
    sprint = make_sprint(lead=lead)
    with pytest.raises(svc.SprintError) as caught:
        svc.announcement_post(author=lead, sprint=sprint, title=" ", body="")
    assert {e["field"] for e in caught.value.errors} == {"title", "body"}


# --- pages: a lead sees only their own sprints -------------------------------------------------


def test_the_list_shows_a_lead_only_their_own_sprints_and_an_admin_all(client_for, lead, admin_user):
    mine = make_sprint(lead=lead, name="Mine")
    theirs = make_sprint(name="Other team")
    body = client_for(lead).get(reverse("lead:sprints")).content.decode()
    assert mine.name in body and theirs.name not in body
    body = client_for(admin_user).get(reverse("lead:sprints")).content.decode()
    assert mine.name in body and theirs.name in body


@pytest.mark.parametrize("name", ["lead:sprint_board", "lead:sprint_board_fragment", "lead:sprint_roster",
                                  "lead:sprint_edit"])
def test_another_leads_sprint_is_not_found(client_for, lead, name):
    theirs = make_sprint(members=[factories.ContractorFactory(display_name="Secret Member")])
    response = client_for(lead).get(reverse(name, args=[theirs.pk]))
    assert response.status_code == 404
    assert b"Secret Member" not in response.content


def test_posting_an_announcement_to_another_leads_sprint_is_not_found(client_for, lead):
    theirs = make_sprint()
    response = client_for(lead).post(reverse("lead:sprint_announce", args=[theirs.pk]),
                                     {"target": "sprint", "title": "x", "body": "y"})
    assert response.status_code == 404
    assert not Announcement.objects.exists()


def test_creating_a_sprint_through_the_page(client_for, lead):
    project = factories.ProjectFactory(name="Pairs")
    member = factories.ContractorFactory()
    now = timezone.localtime()
    response = client_for(lead).post(reverse("lead:sprint_create"), {
        "name": "Friday push", "projects": [project.pk], "members": [member.pk],
        "starts_at": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"),
        "target_submissions": "120", "quality_target": "4.00",
    })
    sprint = Sprint.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("lead:sprint_board", args=[sprint.pk])
    assert sprint.lead == lead and sprint.status == S.OPEN


def test_a_bad_sprint_form_shows_field_errors_and_saves_nothing(client_for, lead):
    now = timezone.localtime()
    response = client_for(lead).post(reverse("lead:sprint_create"), {
        "name": "", "projects": [], "members": [],
        "starts_at": now.strftime("%Y-%m-%dT%H:%M"), "ends_at": (now + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M"),
        "target_submissions": "0", "quality_target": "7",
    })
    assert response.status_code == 400
    body = response.content.decode()
    for field in ("name", "projects", "members", "target_submissions", "quality_target"):
        assert f'data-field="{field}"' in body
    assert not Sprint.objects.exists()


def test_an_announcement_posted_from_the_board(client_for, lead, django_capture_on_commit_callbacks):
    member = factories.ContractorFactory()
    sprint = make_sprint(lead=lead, members=[member])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(reverse("lead:sprint_announce", args=[sprint.pk]),
                                         {"target": "sprint", "title": "Keep going", "body": "Two hours left."})
    assert response.status_code == 302
    assert Notification.objects.get(user=member, kind="announcement").title.endswith("Keep going")


def test_members_see_their_open_and_planned_sprints():
    from sprints.selectors import sprints_for_member

    member = factories.ContractorFactory()
    open_sprint = make_sprint(members=[member], name="Open")
    make_sprint(members=[member], name="Done", status=S.CLOSED, summary={"submitted": 0})
    make_sprint(members=[factories.ContractorFactory()], name="Not mine")
    assert [s.name for s in sprints_for_member(member)] == [open_sprint.name]


def test_members_see_the_sprint_and_its_latest_announcement_on_their_dashboard(client_for):
    member = factories.ContractorFactory()
    sprint = make_sprint(members=[member], name="Ratings push")
    Announcement.objects.create(author=sprint.lead, sprint=sprint, title="Halfway there", body="Keep the quality up.")
    body = client_for(member).get(reverse("work:dashboard")).content.decode()
    assert "Your sprints" in body and "Ratings push" in body and "Halfway there" in body
    other = factories.ContractorFactory()
    assert "Ratings push" not in client_for(other).get(reverse("work:dashboard")).content.decode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_beat_task_that_opens_and_closes_sprints(celery_worker_process):
    from tests.conftest import wait_for

    member = factories.ContractorFactory()
    due = make_sprint(status=S.PLANNED, hours_ago=1, members=[member])
    ended = make_sprint(status=S.OPEN, hours_ago=30, hours=24, members=[member])
    sprints_open_close_due.delay()
    wait_for(lambda: Sprint.objects.filter(pk=ended.pk, status=S.CLOSED).exists(), timeout=60)
    assert Sprint.objects.get(pk=due.pk).status == S.OPEN
    assert Sprint.objects.get(pk=ended.pk).summary["submitted"] == 0
    wait_for(lambda: Notification.objects.filter(user=member).count() == 2, timeout=30)
