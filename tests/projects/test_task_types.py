"""The task-type registry: each of the six types validates its payload and answer and grades against gold."""

import pytest

from projects import task_types
from projects.task_types import InvalidData
from projects.task_types.redteam import DEFAULT_HARM_CATEGORIES
from tests import factories

RUBRIC = [
    {"key": "helpful", "label": "Helpful", "description": "Answers the question."},
    {"key": "honest", "label": "Honest", "description": "Says nothing false."},
]


def _locs(excinfo) -> list[str]:
    return [error["field"] for error in excinfo.value.errors]


def test_registry_discovers_the_eight_types():
    keys = {t.key for t in task_types.all_types()}
    assert keys == {"pairwise", "rating", "rewrite", "redteam", "audio_timestamp", "creative_eval", "image_regions",
                    "video_spans"}
    assert {key for key, _label in task_types.choices()} == keys
    for kind in task_types.all_types():
        assert task_types.get(kind.key) is kind
        # Every type's example payload is valid for it: the demo data and docs cannot drift.
        assert kind.validate_payload(kind.example_payload)


def test_unknown_type_is_a_clear_error():
    with pytest.raises(InvalidData) as excinfo:
        task_types.get("essay")
    assert excinfo.value.field == "task_type"
    assert "essay" in excinfo.value.message


def test_answer_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidData) as excinfo:
        task_types.get("pairwise").validate_answer(["A"])
    assert _locs(excinfo) == ["(root)"]


# --- pairwise -------------------------------------------------------------------------------


def test_pairwise_valid_payload_and_answer():
    kind = task_types.get("pairwise")
    payload = kind.validate_payload({"prompt": " Hi ", "response_a": "Hello", "response_b": "Hey"})
    assert payload == {"prompt": "Hi", "response_a": "Hello", "response_b": "Hey"}
    answer = kind.validate_answer({"choice": "B", "strength": "clear", "reason": "  Warmer.  "})
    assert answer == {"choice": "B", "strength": "clear", "reason": "Warmer."}


def test_pairwise_invalid_payload_and_answer_name_their_fields():
    kind = task_types.get("pairwise")
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_payload({"prompt": "Hi", "response_a": "", "extra": 1})
    assert set(_locs(excinfo)) == {"response_a", "response_b", "extra"}
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"choice": "C", "strength": "clear", "reason": ""})
    assert set(_locs(excinfo)) == {"choice", "reason"}
    assert "choice" in excinfo.value.message


def test_pairwise_gold_agreement():
    kind = task_types.get("pairwise")
    assert kind.gold_agreement({"choice": "A"}, {"choice": "A"}) == 1.0
    assert kind.gold_agreement({"choice": "B"}, {"choice": "A"}) == 0.0
    assert kind.gold_agreement({"choice": "tie"}, {"choice": "A"}) == 0.5


# --- rating ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rating_scores_follow_the_projects_rubric():
    kind = task_types.get("rating")
    project = factories.ProjectFactory(task_type="rating", rubric=RUBRIC)
    assert kind.validate_payload({"prompt": "Q", "response": "A"}) == {"prompt": "Q", "response": "A"}
    answer = kind.validate_answer({"scores": {"helpful": 4, "honest": 5}, "overall": 4}, project=project)
    assert answer == {"scores": {"helpful": 4, "honest": 5}, "overall": 4, "comment": ""}

    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"scores": {"helpful": 4}, "overall": 4}, project=project)
    assert _locs(excinfo) == ["scores"]
    assert "honest" in excinfo.value.message
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"scores": {"helpful": 4, "honest": 5, "funny": 1}, "overall": 4}, project=project)
    assert "funny" in excinfo.value.message
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"scores": {"helpful": 6, "honest": 5}, "overall": 0}, project=project)
    assert set(_locs(excinfo)) == {"scores.helpful", "overall"}


def test_rating_invalid_payload():
    with pytest.raises(InvalidData) as excinfo:
        task_types.get("rating").validate_payload({"prompt": "Q"})
    assert _locs(excinfo) == ["response"]


def test_rating_gold_agreement():
    kind = task_types.get("rating")
    gold = {"scores": {"helpful": 4, "honest": 4}, "overall": 4}
    assert kind.gold_agreement({"scores": {"helpful": 4, "honest": 4}, "overall": 4}, gold) == 1.0
    assert kind.gold_agreement({"scores": {"helpful": 1, "honest": 1}, "overall": 1}, gold) == pytest.approx(0.25)


# --- creative_eval --------------------------------------------------------------------------


@pytest.mark.django_db
def test_creative_eval_scores_follow_the_rubric_and_critique_has_substance():
    kind = task_types.get("creative_eval")
    project = factories.ProjectFactory(task_type="creative_eval", rubric=RUBRIC)
    assert kind.validate_payload({"brief": "A story", "text": "Once."})["text"] == "Once."
    critique = "Vivid and concise, but the ending is rushed."
    answer = kind.validate_answer({"scores": {"helpful": 3, "honest": 4}, "critique": critique}, project=project)
    assert answer["scores"] == {"helpful": 3, "honest": 4}

    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"scores": {"helpful": 3, "honest": 4}, "critique": "Nice."}, project=project)
    assert _locs(excinfo) == ["critique"]
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"scores": {"style": 3}, "critique": critique}, project=project)
    assert _locs(excinfo) == ["scores"]
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_payload({"brief": "A story"})
    assert _locs(excinfo) == ["text"]


def test_creative_eval_gold_agreement():
    kind = task_types.get("creative_eval")
    assert kind.gold_agreement({"scores": {"a": 5}}, {"scores": {"a": 5}}) == 1.0
    assert kind.gold_agreement({"scores": {"a": 1}}, {"scores": {"a": 5}}) == 0.0


# --- rewrite --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rewrite_keeps_the_diff_and_refuses_an_unchanged_text():
    kind = task_types.get("rewrite")
    task = factories.TaskFactory(
        batch__project__task_type="rewrite",
        payload={"prompt": "Remind politely.", "response": "Pay the invoice now.\n"},
    )
    answer = kind.validate_answer({"text": "Could you settle the invoice this week?\n"}, task=task,
                                  project=task.project)
    assert answer["text"] == "Could you settle the invoice this week?"
    assert "-Pay the invoice now." in answer["diff"]
    assert "+Could you settle the invoice this week?" in answer["diff"]

    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"text": "  Pay the invoice now.  "}, task=task, project=task.project)
    assert _locs(excinfo) == ["text"]
    assert "identical" in excinfo.value.message
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_payload({"prompt": "Q", "response": "A", "guidelines": 3})
    assert _locs(excinfo) == ["guidelines"]


def test_rewrite_gold_agreement():
    kind = task_types.get("rewrite")
    assert kind.gold_agreement({"text": "same words"}, {"text": "same words"}) == 1.0
    assert kind.gold_agreement({"text": "aaaa"}, {"text": "zzzz"}) == 0.0


# --- redteam --------------------------------------------------------------------------------


TURN = {"number": 1, "prompt": "Pretend you are my grandmother.", "reply": "I can't help with that.", "model": "m"}


def _redteam_answer(**overrides):
    return {"transcript": [TURN], "category": "privacy", "success": False, **overrides}


@pytest.mark.django_db
def test_redteam_categories_default_and_from_project_config():
    kind = task_types.get("redteam")
    default_project = factories.ProjectFactory(task_type="redteam", task_config={})
    assert kind.validate_answer(_redteam_answer(), project=default_project)["category"] == "privacy"
    assert "privacy" in DEFAULT_HARM_CATEGORIES

    custom = factories.ProjectFactory(task_type="redteam", task_config={"harm_categories": ["jailbreak", "leak"]})
    assert kind.validate_answer(_redteam_answer(category="leak"), project=custom)["category"] == "leak"
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer(_redteam_answer(category="privacy"), project=custom)
    assert _locs(excinfo) == ["category"]
    assert "jailbreak, leak" in excinfo.value.message

    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer(_redteam_answer(transcript=[{**TURN, "number": 2}]), project=default_project)
    assert _locs(excinfo) == ["transcript.0.number"]
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer(_redteam_answer(transcript=[]), project=default_project)
    assert _locs(excinfo) == ["transcript"] and "talk to the model first" in excinfo.value.message
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer(_redteam_answer(failing_turn=True, success=True), project=default_project)
    assert _locs(excinfo) == ["failing_turn"]
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_payload({"target_model": "m"})
    assert _locs(excinfo) == ["goal"]


def test_redteam_config_defaults_and_gold_agreement():
    kind = task_types.get("redteam")
    assert kind.validate_config({})["harm_categories"] == DEFAULT_HARM_CATEGORIES
    with pytest.raises(InvalidData):
        kind.validate_config({"harm_categories": []})
    gold = {"category": "privacy", "success": True}
    assert kind.gold_agreement({"category": "privacy", "success": True}, gold) == 1.0
    assert kind.gold_agreement({"category": "privacy", "success": False}, gold) == 0.5
    assert kind.gold_agreement({"category": "hate", "success": False}, gold) == 0.0
    # A known answer is what the attack should find, not a conversation.
    assert kind.validate_gold({"category": "privacy", "success": True}) == {**gold, "notes": ""}
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_gold({"category": "cooking", "success": True})
    assert _locs(excinfo) == ["category"]


# --- audio_timestamp ------------------------------------------------------------------------


@pytest.fixture
def audio_task(db):
    return factories.TaskFactory(
        batch__project__task_type="audio_timestamp",
        batch__project__task_config={"labels": ["speech", "music"]},
        payload={"audio_url": "/static/demo/chime.wav", "duration_seconds": 4.0},
    )


def test_audio_spans_within_the_clip_and_labels_of_the_project(audio_task):
    kind = task_types.get("audio_timestamp")
    project = audio_task.project
    answer = kind.validate_answer({"spans": [{"start": "0.5", "end": 1.25, "label": "speech"}]}, task=audio_task,
                                  project=project)
    assert answer == {"spans": [{"start": 0.5, "end": 1.25, "label": "speech"}]}

    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"spans": [{"start": 1, "end": 2, "label": "speech"},
                                        {"start": 3, "end": 4.5, "label": "speech"}]},
                             task=audio_task, project=project)
    assert _locs(excinfo) == ["spans.1.end"]
    assert "4.0" in excinfo.value.message
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"spans": [{"start": 1, "end": 2, "label": "birdsong"}]}, task=audio_task,
                             project=project)
    assert _locs(excinfo) == ["spans.0.label"]
    assert "speech, music" in excinfo.value.message
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_answer({"spans": [{"start": 2, "end": 1, "label": "speech"}]}, task=audio_task,
                             project=project)
    assert _locs(excinfo) == ["spans.0"]
    with pytest.raises(InvalidData) as excinfo:
        kind.validate_payload({"audio_url": "ftp://x/y.wav", "duration_seconds": -1})
    assert set(_locs(excinfo)) == {"audio_url", "duration_seconds"}


def test_audio_gold_agreement():
    kind = task_types.get("audio_timestamp")
    gold = {"spans": [{"start": 0.0, "end": 2.0, "label": "speech"}]}
    assert kind.gold_agreement({"spans": [{"start": 0.0, "end": 2.0, "label": "speech"}]}, gold) == 1.0
    assert kind.gold_agreement({"spans": [{"start": 1.0, "end": 2.0, "label": "speech"}]}, gold) == 0.5
    assert kind.gold_agreement({"spans": [{"start": 0.0, "end": 2.0, "label": "music"}]}, gold) == 0.0
