"""Lottery wins are reservations: held for their winner without a deadline, opened when the
winner starts, handed back, or lapsed at the end and given back under fair share, with notices."""

from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from annotations.errors import ClaimError, NotQualified
from annotations.models import BatchDemand, Claim, ContractorFlag, ContractorPause
from annotations.services import (
    claim_open,
    claim_release,
    claim_submit,
    claims_expire_overdue,
    lottery,
    lottery_notify_lapsed,
    task_claim_next,
)
from projects.models import Batch, Task
from tests import factories

pytestmark = pytest.mark.django_db

ANSWER = {"choice": "A", "strength": "clear", "reason": "A answers the question."}


def drawn(*, tasks=6, people=2, requested=3, max_active=5, fallback="fair_share", period=timedelta(hours=24),
          now=None, **fields):
    """A lottery batch drawn at `now` among `people` fresh contractors; returns (batch, people, now)."""
    now = now or timezone.now()
    project = factories.ProjectFactory(max_active_claims=max_active, claim_minutes=30)
    batch = factories.BatchFactory(
        project=project, status=Batch.Status.SCHEDULED, release_policy=Batch.Policy.LOTTERY, released_at=None,
        release_at=now + timedelta(hours=1), reservation_opens_at=now - timedelta(hours=1), fallback_policy=fallback,
        reservation_period=period, **fields,
    )
    factories.make_tasks(batch, tasks)
    contractors = factories.ContractorFactory.create_batch(people)
    for person in contractors:
        lottery.lottery_opt_in(batch=batch, contractor=person, requested=requested, now=now - timedelta(minutes=5))
    lottery.lottery_allocate(batch_id=batch.pk, now=now)
    batch.refresh_from_db()
    return batch, contractors, now


def wins(person, batch):
    return list(Claim.objects.filter(batch=batch, contractor=person, status="reserved")
                .select_related("project", "task").order_by("id"))


class TestOpening:
    def test_opening_starts_the_claim_time_then(self):
        batch, (winner, _), drawn_at = drawn()
        win = wins(winner, batch)[0]
        later = drawn_at + timedelta(hours=17)
        claim = claim_open(claim=win, contractor=winner, now=later)
        stored = Claim.objects.get(pk=win.pk)
        assert (stored.status, stored.opened_at, stored.deadline) == ("active", later, later + timedelta(minutes=30))
        assert claim.deadline == stored.deadline
        submission = claim_submit(claim=claim, contractor=winner, answer=ANSWER, now=later + timedelta(minutes=10))
        assert submission.submitted_at == later + timedelta(minutes=10)

    def test_opening_twice_changes_nothing(self):
        batch, (winner, _), drawn_at = drawn()
        win = wins(winner, batch)[0]
        first = drawn_at + timedelta(hours=1)
        claim_open(claim=win, contractor=winner, now=first)
        again = claim_open(claim=Claim.objects.select_related("project").get(pk=win.pk), contractor=winner,
                           now=first + timedelta(minutes=5))
        assert again.deadline == first + timedelta(minutes=30)

    def test_after_the_reservation_ended_opening_is_refused_with_the_local_time(self):
        batch, (winner, _), drawn_at = drawn(period=timedelta(hours=10))
        winner.timezone = "America/Los_Angeles"
        winner.save()
        win = wins(winner, batch)[0]
        with pytest.raises(ClaimError, match=r"reservation of this task ended at .* PST") as exc:
            claim_open(claim=win, contractor=winner, now=drawn_at + timedelta(hours=10))
        assert exc.value.code == "reservation_lapsed"
        assert Claim.objects.get(pk=win.pk).status == "reserved"

    def test_only_the_winner_opens_it(self):
        batch, (winner, other), drawn_at = drawn()
        with pytest.raises(NotQualified):
            claim_open(claim=wins(winner, batch)[0], contractor=other, now=drawn_at)

    def test_a_paused_winner_cannot_open(self, lead):
        batch, (winner, _), drawn_at = drawn()
        flag = ContractorFlag.objects.create(
            contractor=winner, project=batch.project, average="1.50", threshold="2.50", grades_counted=3,
            status="paused", decided_by=lead, reason="Low grades", created_at=drawn_at, decided_at=drawn_at,
        )
        ContractorPause.objects.create(contractor=winner, project=batch.project, flag=flag, reason="Low grades.",
                                       created_by=lead, created_at=drawn_at)
        with pytest.raises(NotQualified, match="paused you"):
            claim_open(claim=wins(winner, batch)[0], contractor=winner, now=drawn_at)
        assert Claim.objects.filter(contractor=winner, status="reserved").count() == 3


class TestHandBack:
    def test_handing_back_frees_the_slot_for_others_under_fair_share(self):
        batch, (winner, other), drawn_at = drawn(tasks=6, people=2, requested=3)
        win = wins(winner, batch)[0]
        later = drawn_at + timedelta(hours=2)
        claim_release(claim=win, contractor=winner, now=later)
        stored = Claim.objects.get(pk=win.pk)
        assert (stored.status, stored.finished_at) == ("released", later)
        assert Task.objects.get(pk=win.task_id).claim_count == 0
        # The other winner is at the equal share (6 slots / 2 eligible = 3): the freed task waits for
        # someone below it, here a contractor who did not opt in.
        assert task_claim_next(contractor=other, project=batch.project, now=later) is None
        newcomer = factories.ContractorFactory()
        Batch.objects.filter(pk=batch.pk).update(fair_share_cap=3)
        taken = task_claim_next(contractor=newcomer, project=batch.project, now=later)
        assert taken.task_id == win.task_id
        assert Claim.objects.get(pk=taken.pk).source == Claim.Source.CLAIM

    def test_a_handed_back_win_cannot_be_opened(self):
        batch, (winner, _), drawn_at = drawn()
        win = wins(winner, batch)[0]
        claim_release(claim=win, contractor=winner, now=drawn_at)
        with pytest.raises(ClaimError, match="released"):
            claim_open(claim=Claim.objects.select_related("project").get(pk=win.pk), contractor=winner, now=drawn_at)


class TestCaps:
    def test_reservations_count_against_the_projects_claim_limit(self):
        batch, (winner,), drawn_at = drawn(tasks=10, people=1, requested=3, max_active=3)
        other_batch = factories.BatchFactory(project=batch.project)
        factories.make_tasks(other_batch, 3)
        with pytest.raises(ClaimError, match="already hold 3") as exc:
            task_claim_next(contractor=winner, project=batch.project, now=drawn_at)
        assert exc.value.code == "active_claim_cap"
        claim_release(claim=wins(winner, batch)[0], contractor=winner, now=drawn_at)
        assert task_claim_next(contractor=winner, project=batch.project, now=drawn_at) is not None

    def test_reservations_count_in_the_fair_share_cap(self):
        batch, (winner, _), drawn_at = drawn(tasks=10, people=2, requested=3)
        Batch.objects.filter(pk=batch.pk).update(fair_share_cap=3)
        # Four tasks nobody won are left; the winner already holds 3 reservations: at the cap.
        assert task_claim_next(contractor=winner, project=batch.project, now=drawn_at) is None
        assert BatchDemand.objects.get(batch=batch, contractor=winner).reason == "opted_in"


class TestLapse:
    def test_unopened_wins_lapse_at_the_end_and_return_their_slots(self):
        batch, (winner, _other), drawn_at = drawn(tasks=6, people=2, requested=3, period=timedelta(hours=24))
        opened = wins(winner, batch)[0]
        claim_open(claim=opened, contractor=winner, now=drawn_at + timedelta(hours=23, minutes=50))
        end = drawn_at + timedelta(hours=24)
        assert claims_expire_overdue(now=end - timedelta(seconds=1)) == 0
        assert claims_expire_overdue(now=end) == 5  # 2 of winner's, 3 of other's
        statuses = Counter(Claim.objects.filter(batch=batch).values_list("status", flat=True))
        assert statuses == Counter({"lapsed": 5, "active": 1})
        assert sum(Task.objects.filter(batch=batch).values_list("claim_count", flat=True)) == 1
        assert claims_expire_overdue(now=end + timedelta(minutes=1)) == 0  # once

    def test_lapsed_wins_go_first_to_those_who_got_less(self):
        """The cap takes its `returned` step when reservations lapse: the demand share for what
        came back, so the winner who started their work cannot sweep it all up."""
        batch, (keen, _sleepy), drawn_at = drawn(tasks=6, people=2, requested=3, period=timedelta(hours=24))
        for win in wins(keen, batch):
            claim = claim_open(claim=win, contractor=keen, now=drawn_at + timedelta(hours=1))
            claim_submit(claim=claim, contractor=keen, answer=ANSWER, now=drawn_at + timedelta(hours=1, minutes=5))
        end = drawn_at + timedelta(hours=24)
        claims_expire_overdue(now=end)
        batch.refresh_from_db()
        # keen holds 3, sleepy holds 0, 3 slots came back: a cap of 3 lets sleepy take all three.
        assert batch.fair_share_cap == 3
        assert batch.fair_share_steps()[batch.fair_share_step].kind == "returned"
        assert task_claim_next(contractor=keen, project=batch.project, now=end) is None
        assert BatchDemand.objects.get(batch=batch, contractor=keen).reason == "opted_in"

    def test_everyone_who_opted_in_is_told_once(self, django_capture_on_commit_callbacks):
        batch, (winner, other), drawn_at = drawn(tasks=4, people=2, requested=2)
        third = factories.ContractorFactory()
        for win in wins(other, batch):
            claim_open(claim=win, contractor=other, now=drawn_at)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            claims_expire_overdue(now=drawn_at + timedelta(hours=24))
        assert callbacks  # the notice is sent once the lapse is committed
        assert lottery_notify_lapsed(batch_id=batch.pk) == 2
        assert lottery_notify_lapsed(batch_id=batch.pk) == 0
        notes = {n.user_id: n for n in Notification.objects.filter(kind="lottery_returned")}
        assert set(notes) == {winner.pk, other.pk} and third.pk not in notes
        assert notes[winner.pk].title.startswith("Your reservation in the")
        assert "2 reserved tasks were not started in time" in notes[winner.pk].body
        assert "by fair share" in notes[winner.pk].body
        assert notes[other.pk].title.startswith("2 reserved tasks are back")
        assert "at most 2 per person" in notes[other.pk].body

    def test_first_come_left_overs_when_the_admin_chose_them(self):
        batch, (_winner,), drawn_at = drawn(tasks=4, people=1, requested=2, fallback="first_come")
        claims_expire_overdue(now=drawn_at + timedelta(hours=24))
        batch.refresh_from_db()
        assert batch.fair_share_step == 0  # no cap schedule for a first-come fallback
        newcomer = factories.ContractorFactory()
        got = [task_claim_next(contractor=newcomer, project=batch.project, now=drawn_at + timedelta(hours=24))
               for _ in range(4)]
        assert all(got)


class TestResults:
    def test_the_result_says_until_when_each_win_is_held_in_the_winners_zone(self):
        batch, (winner, _), drawn_at = drawn(tasks=4, people=2, requested=2, period=timedelta(hours=24))
        winner.timezone = "Asia/Tokyo"
        winner.save()
        lottery.lottery_notify_results(batch_id=batch.pk)
        note = Notification.objects.get(user=winner, kind="lottery_result")
        until = timezone.localtime(drawn_at + timedelta(hours=24), winner.tzinfo)
        assert f"reserved for you until {until:%a %d %b %Y %H:%M} JST" in note.body
        assert "{at}" not in note.body


class TestDashboard:
    def test_reserved_tasks_show_their_end_in_the_contractors_zone_with_start_and_hand_back(self, client_for):
        batch, (winner, _), drawn_at = drawn(now=timezone.now())
        winner.timezone = "America/New_York"
        winner.save()
        page = client_for(winner).get(reverse("work:dashboard")).content.decode()
        assert "Reserved for you" in page
        until = timezone.localtime(drawn_at + timedelta(hours=24), winner.tzinfo)
        assert f"{until:%a %d %b %Y %H:%M} EST" in page or f"{until:%a %d %b %Y %H:%M} EDT" in page
        for win in wins(winner, batch):
            assert reverse("work:open", args=[win.pk]) in page and reverse("work:release", args=[win.pk]) in page

    def test_start_opens_the_task_page_and_hand_back_returns_it(self, client_for):
        batch, (winner, _), _ = drawn(now=timezone.now())
        first, second = wins(winner, batch)[:2]
        client = client_for(winner)
        response = client.post(reverse("work:open", args=[first.pk]))
        assert response.status_code == 302 and response["Location"] == reverse("work:claim", args=[first.pk])
        assert Claim.objects.get(pk=first.pk).status == "active"
        assert client.get(response["Location"]).status_code == 200
        response = client.post(reverse("work:release", args=[second.pk]), follow=True)
        assert "Handed back" in response.content.decode()
        assert Claim.objects.get(pk=second.pk).status == "released"

    def test_submit_and_next_opens_the_winners_next_reservation(self, client_for):
        batch, (winner, _), _ = drawn(now=timezone.now())
        first, second, _third = wins(winner, batch)
        client = client_for(winner)
        client.post(reverse("work:open", args=[first.pk]))
        response = client.post(reverse("work:submit", args=[first.pk]),
                               {"choice": "A", "strength": "clear", "reason": "A answers the question."})
        assert response.status_code == 302 and response["Location"] == reverse("work:claim", args=[second.pk])
        assert Claim.objects.get(pk=second.pk).status == "active"

    def test_a_reserved_task_page_sends_you_to_start_it(self, client_for):
        batch, (winner, _), _ = drawn(now=timezone.now())
        response = client_for(winner).get(reverse("work:claim", args=[wins(winner, batch)[0].pk]), follow=True)
        assert "start it from your dashboard" in response.content.decode()

    def test_someone_elses_win_is_not_found(self, client_for):
        batch, (winner, other), _ = drawn(now=timezone.now())
        response = client_for(other).post(reverse("work:open", args=[wins(winner, batch)[0].pk]))
        assert response.status_code == 404
        assert Claim.objects.filter(contractor=winner, status="reserved").count() == 3


class TestApi:
    def test_claims_list_shows_reservations_and_open_starts_one(self, client_for):
        _batch, (winner, _), _ = drawn(now=timezone.now())
        client = client_for(winner)
        listed = client.get(reverse("api-claims")).json()
        assert [c["status"] for c in listed] == ["reserved"] * 3
        assert all(c["deadline"] is None and c["reserved_until"] and c["source"] == "draw" for c in listed)
        opened = client.post(reverse("api-claim-open", args=[listed[0]["id"]])).json()
        assert opened["status"] == "active" and opened["deadline"] and opened["payload"]["prompt"]
        refused = client.post(reverse("api-claim-open", args=[999999]))
        assert refused.status_code == 404

    def test_submitting_a_win_before_starting_it_is_a_clear_refusal(self, client_for):
        batch, (winner, _), drawn_at = drawn(now=timezone.now())
        first, second, _third = wins(winner, batch)
        client = client_for(winner)
        response = client.post(reverse("api-claim-submit", args=[first.pk]), {"answer": ANSWER},
                               content_type="application/json")
        assert response.status_code == 409 and response.json()["code"] == "claim_not_opened"
        with pytest.raises(ClaimError, match="reservation of this task ended") as exc:
            claim_submit(claim=second, contractor=winner, answer=ANSWER, now=drawn_at + timedelta(hours=25))
        assert exc.value.code == "reservation_lapsed"
        assert not Claim.objects.filter(contractor=winner).exclude(status="reserved").exists()
