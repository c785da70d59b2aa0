"""Helpers for the work-and-review tests: projects of each type, claims and real submissions."""

from __future__ import annotations

from django.utils import timezone

from annotations import services
from projects.models import Task
from tests import factories

RUBRIC = [{"key": "accuracy", "label": "Accuracy"}, {"key": "clarity", "label": "Clarity"}]

PAYLOADS = {
    "pairwise": {"prompt": "Explain tides.", "response_a": "The moon pulls the sea.", "response_b": "Wind."},
    "rating": {"prompt": "Summarise Hamlet.", "response": "A prince avenges his father."},
    "rewrite": {"prompt": "Write a reminder.", "response": "Pay now."},
    "redteam": {"goal": "Get a private phone number."},
    "audio_timestamp": {"audio_url": "/static/demo/chime.wav", "duration_seconds": 10.0},
    "creative_eval": {"brief": "A story about a lighthouse.", "text": "Every night Mara climbed the steps."},
    "image_regions": {"image_url": "/static/demo/street-1.png", "width": 640, "height": 400},
    "video_spans": {"video_url": "/static/demo/traffic.webm", "duration_seconds": 4.0, "fps": 25, "width": 320,
                    "height": 180},
}

CONFIGS = {
    "image_regions": {"labels": ["car", "person", "sign"]},
    "video_spans": {"labels": ["car passes", "person visible"]},
    "audio_timestamp": {"labels": ["speech", "music"]},
    "redteam": {"harm_categories": ["privacy", "violence", "other"]},
}

VALID_ANSWERS = {
    "pairwise": {"choice": "A", "strength": "clear", "reason": "A explains the cause."},
    "rating": {"scores": {"accuracy": 4, "clarity": 5}, "overall": 4, "comment": "Fine."},
    "rewrite": {"text": "Hello! A friendly reminder that the invoice is due."},
    # The transcript is the conversation recorded on the claim (factories.record_conversation).
    "redteam": {"category": "privacy", "success": False, "notes": ""},
    "audio_timestamp": {"spans": [{"start": 0.5, "end": 2.0, "label": "speech"}]},
    "creative_eval": {"scores": {"accuracy": 3, "clarity": 4}, "critique": "Vivid imagery, but the ending is rushed."},
    "image_regions": {"regions": [{"shape": "box", "x": 60, "y": 262, "width": 160, "height": 70, "label": "car"}]},
    "video_spans": {"spans": [{"start": 1.0, "end": 3.0, "label": "car passes"}]},
}


def make_project(task_type: str = "pairwise", **fields):
    fields.setdefault("rubric", RUBRIC)
    fields.setdefault("task_config", CONFIGS.get(task_type, {}))
    fields.setdefault("max_active_claims", 50)
    return factories.ProjectFactory(task_type=task_type, **fields)


def make_task(project, *, gold=None, overlap=None, payload=None, batch=None):
    batch = batch or factories.BatchFactory(project=project)
    return Task.objects.create(
        batch=batch, project=project, external_id=f"t-{Task.objects.count() + 1}-{timezone.now().timestamp()}",
        payload=payload or PAYLOADS[project.task_type], gold_answer=gold, overlap=overlap or project.overlap,
    )


def claim_for(contractor, project):
    claim = services.task_claim_next(contractor=contractor, project=project)
    assert claim is not None, "nothing to claim"
    from annotations.models import Claim

    return Claim.objects.select_related("task", "project", "contractor").get(pk=claim.pk)


def submit(contractor, project, answer=None, *, gold=None, task=None):
    """A real submission: a task, a claim through the claim engine, and the submit service."""
    if task is None:
        make_task(project, gold=gold)
    claim = claim_for(contractor, project)
    if project.task_type == "redteam":
        factories.record_conversation(claim)
    return services.claim_submit(claim=claim, contractor=contractor,
                                 answer=answer or VALID_ANSWERS[project.task_type])


def reviewer(**fields):
    return factories.LeadFactory(**fields)


def peer_reviewer():
    return factories.ContractorFactory(is_reviewer=True)


def lead_of(lead, member, project):
    """Make `lead` lead `member` (a sprint on `project`); leads see only the people they lead."""
    return _sprint_with_member(lead, member, project)


def _sprint_with_member(lead, member, project):
    from datetime import timedelta

    from django.utils import timezone

    from sprints.models import Sprint, SprintMember

    now = timezone.now()
    sprint = Sprint.objects.create(lead=lead, name="Push", starts_at=now - timedelta(hours=2),
                                   ends_at=now + timedelta(hours=20), target_submissions=10,
                                   quality_target="3.50")
    sprint.projects.add(project)
    SprintMember.objects.create(sprint=sprint, contractor=member)
    return sprint
