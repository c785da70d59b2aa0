"""Drafts are kept and restored; active time is measured by the server from bounded heartbeats."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations import services
from annotations.models import Claim
from taskhub.errors import DomainError
from tests import factories
from tests.annotations.reviewing import VALID_ANSWERS, claim_for, make_project, make_task

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _claim(task_type="pairwise"):
    contractor = factories.ContractorFactory()
    project = make_project(task_type)
    make_task(project)
    return contractor, claim_for(contractor, project)


# --- drafts -------------------------------------------------------------------------------------


def test_a_draft_is_saved_and_restored_when_the_contractor_comes_back(client_for):
    contractor, claim = _claim("pairwise")
    client = client_for(contractor)
    response = client.post(reverse("work:draft", args=[claim.pk]), {"choice": "B", "reason": "B is half do"}, **JSON)
    assert response.status_code == 200
    assert "saved_at" in response.json()
    claim.refresh_from_db()
    assert claim.draft == {"choice": "B", "strength": "", "reason": "B is half do"}

    page = client.get(reverse("work:claim", args=[claim.pk])).content.decode()
    assert 'value="B" checked' in page
    assert ">B is half do</textarea>" in page
    assert "Your draft was restored." in page


@pytest.mark.parametrize(
    ("task_type", "fields", "expected"),
    [
        ("redteam", {"message": "one\r\ntwo", "category": "privacy", "success": "yes"},
         ["one\ntwo</textarea>", 'value="privacy" selected', 'value="yes" checked']),
        ("audio_timestamp", {"span_start": ["1.5"], "span_end": ["3"], "span_label": ["music"]},
         ['name="span_start" value="1.5"', 'name="span_end" value="3"', 'value="music" selected']),
        ("rating", {"score__accuracy": "2", "overall": "3"},
         ['name="score__accuracy" value="2" checked', 'name="overall" value="3" checked']),
        ("creative_eval", {"score__clarity": "5", "critique": "half a thought"},
         ['name="score__clarity" value="5" checked', "half a thought</textarea>"]),
        ("rewrite", {"text": "A better reply, in progress"}, ["A better reply, in progress</textarea>"]),
        ("image_regions", {"regions": '[{"shape": "box", "x": 5, "y": 6, "width": 30, "height": 40, "label": "car"}]'},
         # The draft is JSONB, which orders an object's keys its own way.
         ['id="regions-initial"', '"x": 5, "y": 6, "label": "car", "shape": "box", "width": 30, "height": 40}]']),
        ("video_spans", {"spans": '[{"start": 1, "end": 2.5, "label": "car passes"}]', "nothing_to_mark": ""},
         ['id="spans-initial"', '[{"end": 2.5, "label": "car passes", "start": 1}]', 'id="nothing-to-mark">']),
    ],
)
def test_each_answer_form_restores_its_draft(client_for, task_type, fields, expected):
    contractor, claim = _claim(task_type)
    client = client_for(contractor)
    assert client.post(reverse("work:draft", args=[claim.pk]), fields, **JSON).status_code == 200
    page = client.get(reverse("work:claim", args=[claim.pk])).content.decode()
    for fragment in expected:
        assert fragment in page


def test_a_draft_of_someone_elses_claim_is_not_found(client_for):
    _, claim = _claim()
    other = factories.ContractorFactory()
    response = client_for(other).post(reverse("work:draft", args=[claim.pk]), {"choice": "A"}, **JSON)
    assert response.status_code == 404
    claim.refresh_from_db()
    assert claim.draft is None


def test_a_draft_cannot_be_saved_once_the_claim_is_submitted(client_for):
    contractor, claim = _claim()
    services.claim_submit(claim=claim, contractor=contractor, answer=VALID_ANSWERS["pairwise"])
    response = client_for(contractor).post(reverse("work:draft", args=[claim.pk]), {"choice": "A"}, **JSON)
    assert response.status_code == 409
    assert response.json()["code"] == "claim_not_active"


def test_an_oversized_draft_is_refused_and_the_old_one_kept(client_for, settings):
    settings.TASKHUB_DRAFT_MAX_BYTES = 1_000
    contractor, claim = _claim()
    client = client_for(contractor)
    client.post(reverse("work:draft", args=[claim.pk]), {"reason": "short"}, **JSON)
    response = client.post(reverse("work:draft", args=[claim.pk]), {"reason": "x" * 2_000}, **JSON)
    assert response.status_code == 400
    assert response.json()["code"] == "draft_too_large"
    claim.refresh_from_db()
    assert claim.draft["reason"] == "short"


# --- heartbeats ---------------------------------------------------------------------------------


def test_heartbeats_add_bounded_intervals_and_ignore_a_first_beat(settings):
    settings.TASKHUB_HEARTBEAT_SECONDS = 30
    contractor, claim = _claim()
    t0 = timezone.now()

    def beat(after):
        return services.claim_heartbeat(claim=claim, contractor=contractor, now=t0 + timedelta(seconds=after))

    assert beat(0) == 0          # the first beat only starts the clock
    assert beat(10) == 10        # a normal gap counts in full
    assert beat(39) == 39        # 29 s: still within one interval
    assert beat(84) == 69        # 45 s: capped at one interval (30)
    assert beat(84) == 69        # a duplicate beat adds nothing
    assert beat(384) == 69       # 5 min of silence: a break, not work; the clock restarts
    assert beat(404) == 89       # and counts again from there


def test_a_beat_from_the_past_adds_nothing_and_does_not_move_the_clock_back():
    contractor, claim = _claim()
    t0 = timezone.now()
    services.claim_heartbeat(claim=claim, contractor=contractor, now=t0)
    services.claim_heartbeat(claim=claim, contractor=contractor, now=t0 + timedelta(seconds=20))
    assert services.claim_heartbeat(claim=claim, contractor=contractor, now=t0 + timedelta(seconds=5)) == 20
    claim.refresh_from_db()
    assert claim.last_heartbeat_at == t0 + timedelta(seconds=20)


def test_the_heartbeat_endpoint_never_trusts_a_client_duration(client_for):
    contractor, claim = _claim()
    client = client_for(contractor)
    url = reverse("work:heartbeat", args=[claim.pk])
    first = client.post(url, {"active_seconds": "99999", "seconds": "3600", "elapsed": "500"}, **JSON)
    assert first.status_code == 200
    assert first.json()["active_seconds"] == 0
    second = client.post(url, {"active_seconds": "99999", "seconds": "3600"}, **JSON)
    # Two beats a moment apart: at most the real gap (well under a second here).
    assert second.json()["active_seconds"] <= 1
    claim.refresh_from_db()
    assert claim.active_seconds <= 1


def test_heartbeats_stop_counting_after_the_deadline_and_after_submit():
    contractor, claim = _claim()
    t0 = timezone.now()
    services.claim_heartbeat(claim=claim, contractor=contractor, now=t0)
    with pytest.raises(DomainError) as expired:
        services.claim_heartbeat(claim=claim, contractor=contractor, now=claim.deadline + timedelta(seconds=1))
    assert expired.value.code == "claim_expired"
    services.claim_submit(claim=claim, contractor=contractor, answer=VALID_ANSWERS["pairwise"],
                          now=t0 + timedelta(seconds=20))
    with pytest.raises(DomainError) as submitted:
        services.claim_heartbeat(claim=claim, contractor=contractor, now=t0 + timedelta(seconds=40))
    assert submitted.value.code == "claim_not_active"


def test_someone_elses_heartbeat_adds_nothing_to_my_claim(client_for):
    contractor, claim = _claim()
    t0 = timezone.now()
    services.claim_heartbeat(claim=claim, contractor=contractor, now=t0)
    other = factories.ContractorFactory()
    assert client_for(other).post(reverse("work:heartbeat", args=[claim.pk]), **JSON).status_code == 404
    with pytest.raises(DomainError):
        services.claim_heartbeat(claim=claim, contractor=other, now=t0 + timedelta(seconds=20))
    claim.refresh_from_db()
    assert claim.active_seconds == 0


def test_the_total_active_time_is_stored_on_the_submission_including_the_last_stretch(settings):
    settings.TASKHUB_HEARTBEAT_SECONDS = 30
    contractor, claim = _claim()
    t0 = timezone.now()
    for seconds in (0, 30, 60, 90):
        services.claim_heartbeat(claim=claim, contractor=contractor, now=t0 + timedelta(seconds=seconds))
    # Submitted 12 s after the last beat: the submit counts as a last (bounded) heartbeat.
    submission = services.claim_submit(claim=claim, contractor=contractor, answer=VALID_ANSWERS["pairwise"],
                                       now=t0 + timedelta(seconds=102))
    assert submission.active_seconds == 102
    assert Claim.objects.get(pk=claim.pk).active_seconds == 102


def test_a_submission_after_a_long_idle_stretch_does_not_count_it(settings):
    settings.TASKHUB_HEARTBEAT_SECONDS = 30
    contractor, claim = _claim()
    t0 = timezone.now()
    services.claim_heartbeat(claim=claim, contractor=contractor, now=t0)
    services.claim_heartbeat(claim=claim, contractor=contractor, now=t0 + timedelta(seconds=30))
    submission = services.claim_submit(claim=claim, contractor=contractor, answer=VALID_ANSWERS["pairwise"],
                                       now=t0 + timedelta(minutes=10))
    assert submission.active_seconds == 30


def test_the_workspace_page_carries_the_clock_deadline_and_endpoints(client_for):
    contractor, claim = _claim()
    page = client_for(contractor).get(reverse("work:claim", args=[claim.pk])).content.decode()
    assert f'data-heartbeat-url="{reverse("work:heartbeat", args=[claim.pk])}"' in page
    assert f'data-draft-url="{reverse("work:draft", args=[claim.pk])}"' in page
    assert 'id="active-clock"' in page and 'data-deadline="' in page
    assert "js/workspace.js" in page
    assert "<script>" not in page and "onclick" not in page
