"""Exports: every format, the filters, pseudonyms, refusals, the job with a real worker, the command,
the download page and the roles. The DPO export of the demo loads with Hugging Face `datasets`."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.services import api_token_create
from annotations import exports
from annotations.errors import ExportError
from annotations.models import Claim, Export, Review, ReviewerRole, Submission
from annotations.pseudonyms import pseudonym
from annotations.services import task_labels_compute
from projects.models import Task, WebhookDelivery
from projects.services import webhook_create
from tests import factories
from tests.conftest import wait_for

PAIR = {"prompt": "Which is kinder?", "response_a": "Answer A", "response_b": "Answer B"}


def _submit(task, contractor, answer, *, at=None, grade=None, gold=False):
    at = at or timezone.now() - timedelta(hours=1)
    claim = Claim.objects.create(task=task, contractor=contractor, project=task.project, batch=task.batch,
                                 status=Claim.Status.SUBMITTED, claimed_at=at - timedelta(minutes=5),
                                 deadline=at + timedelta(minutes=30), finished_at=at)
    Task.objects.filter(pk=task.pk).update(claim_count=task.claim_count + 1, submitted_count=task.submitted_count + 1)
    task.refresh_from_db()
    submission = Submission.objects.create(claim=claim, task=task, contractor=contractor, project=task.project,
                                           answer=answer, submitted_at=at, is_gold=gold)
    if grade is not None:
        Review.objects.create(submission=submission, reviewer=factories.LeadFactory(), kind=Review.Kind.REVIEWER,
                              reviewer_role=ReviewerRole.LEAD, score=grade,
                              reason="" if grade > 2 else "Does not follow the instructions at all.",
                              created_at=at)
    return submission


@pytest.fixture
def pairs(db):
    """A pairwise project (overlap 2): task 1 both chose A, task 2 A and a tie, task 3 one answer only."""
    project = factories.ProjectFactory(task_type="pairwise", overlap=2)
    batch = factories.BatchFactory(project=project)
    alice, bob = factories.ContractorFactory(), factories.ContractorFactory()
    tasks = [factories.TaskFactory(batch=batch, project=project, external_id=f"t{i}", payload=PAIR) for i in range(3)]
    subs = [
        _submit(tasks[0], alice, {"choice": "A", "strength": "strong", "reason": "kinder"}, grade=5),
        _submit(tasks[0], bob, {"choice": "A", "strength": "clear", "reason": "warmer"}, grade=3),
        _submit(tasks[1], alice, {"choice": "B", "strength": "slight", "reason": "shorter"}, grade=4),
        _submit(tasks[1], bob, {"choice": "tie", "strength": "slight", "reason": "the same"}),
        _submit(tasks[2], alice, {"choice": "B", "strength": "clear", "reason": "clearer"},
                at=timezone.now() - timedelta(days=3)),
    ]
    return project, batch, (alice, bob), tasks, subs


def _rows(project, fmt, batch=None, **options):
    out = io.BytesIO()
    count = exports.export_write(exports.export_spec(project=project, batch=batch, format=fmt,
                                                     options=exports.parse_options(options)), out)
    return count, out.getvalue().decode()


def _lines(project, fmt="dpo", **options):
    count, text = _rows(project, fmt, **options)
    lines = [json.loads(line) for line in text.splitlines()]
    assert count == len(lines)
    return lines


def test_dpo_has_chosen_and_rejected_and_leaves_ties_out(pairs):
    project, _batch, (alice, _bob), _tasks, subs = pairs
    lines = _lines(project)
    assert [line["submission_id"] for line in lines] == [subs[0].pk, subs[1].pk, subs[2].pk, subs[4].pk]
    first = lines[0]
    assert (first["prompt"], first["chosen"], first["rejected"]) == ("Which is kinder?", "Answer A", "Answer B")
    assert lines[2]["chosen"] == "Answer B" and lines[2]["rejected"] == "Answer A"
    assert first["strength"] == "strong" and first["reason"] == "kinder" and first["final_grade"] == 5
    assert first["tie"] is False
    assert first["contractor"] == pseudonym(project.pk, alice.pk)  # SQL and Python agree
    assert "contractor_id" not in first


def test_dpo_keeps_ties_flagged_when_asked(pairs):
    project, *_ = pairs
    lines = _lines(project, ties="keep")
    assert len(lines) == 5
    assert [line["tie"] for line in lines].count(True) == 1


def test_pseudonyms_are_stable_per_project_and_ids_only_when_asked(pairs):
    project, _batch, (alice, bob), *_ = pairs
    first, again = _lines(project), _lines(project)
    assert [line["contractor"] for line in first] == [line["contractor"] for line in again]
    assert pseudonym(project.pk, alice.pk) != pseudonym(project.pk, bob.pk)
    other = factories.ProjectFactory()
    assert pseudonym(other.pk, alice.pk) != pseudonym(project.pk, alice.pk)
    ids = _lines(project, contractor_ids=True)
    assert ids[0]["contractor_id"] == alice.pk and "contractor" not in ids[0]


@pytest.mark.parametrize(("options", "expected"), [
    ({"min_grade": 4}, [0, 2]),
    ({"reviewed_only": True}, [0, 1, 2]),
    ({"full_overlap_only": True, "ties": "keep"}, [0, 1, 2, 3]),
    ({"submitted_from": "2000-01-01T00:00:00Z", "submitted_to": None}, [0, 1, 2, 4]),
])
def test_filters(pairs, options, expected):
    project, _batch, _people, _tasks, subs = pairs
    assert [line["submission_id"] for line in _lines(project, **options)] == [subs[i].pk for i in expected]


def test_date_range_and_gold_filters(pairs):
    project, _batch, (alice, _bob), tasks, subs = pairs
    gold_task = factories.TaskFactory(batch=tasks[0].batch, project=project, payload=PAIR,
                                      gold_answer={"choice": "A", "strength": "clear", "reason": "known"})
    gold = _submit(gold_task, alice, {"choice": "A", "strength": "clear", "reason": "x"}, gold=True)
    assert gold.pk in [line["submission_id"] for line in _lines(project)]
    assert gold.pk not in [line["submission_id"] for line in _lines(project, exclude_gold=True)]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    recent = [line["submission_id"] for line in _lines(project, submitted_from=since)]
    assert subs[4].pk not in recent and subs[0].pk in recent
    until = [line["submission_id"] for line in _lines(project, submitted_to=since)]
    assert until == [subs[4].pk]


def test_final_labels_in_the_export(pairs):
    project, batch, *_ = pairs
    task_labels_compute(batch_id=batch.pk)
    lines = _lines(project, final_labels=True, ties="keep")
    assert lines[0]["final_label"]["choice"] == "A" and lines[0]["agreement"] == 1.0
    # B (slight) against a tie (slight): level on votes and on strength, so the final label is a tie.
    assert lines[2]["final_label"] == {"choice": "tie", "decided_by": "level", "votes": {"A": 0, "B": 1, "tie": 1}}
    assert lines[2]["agreement"] == 0.0
    assert lines[4]["final_label"] is None  # one answer only


def test_csv_is_one_row_per_submission(pairs):
    project, _batch, _people, _tasks, subs = pairs
    count, text = _rows(project, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == len(rows) == 5
    assert rows[0]["submission_id"] == str(subs[0].pk)
    assert json.loads(rows[0]["answer"])["choice"] == "A"
    assert json.loads(rows[0]["payload"]) == PAIR


def test_labelstudio_tasks_with_annotations(pairs):
    project, *_ = pairs
    count, text = _rows(project, "labelstudio")
    tasks = json.loads(text)
    assert count == len(tasks) == 3
    first = tasks[0]
    assert first["data"]["prompt"] == "Which is kinder?" and first["data"]["taskhub_task"] == "t0"
    assert len(first["annotations"]) == 2
    result = first["annotations"][0]["result"]
    assert {"from_name": "comparison", "to_name": "comparison", "type": "pairwise",
            "value": {"selected": "left"}} in result


def test_each_type_has_its_format(db):
    cases = [
        ("rewrite", "sft", {"prompt": "p", "response": "old"}, {"text": "new"},
         {"prompt": "p", "original": "old", "rewrite": "new"}),
        ("rating", "reward", {"prompt": "p", "response": "r"}, {"scores": {"helpful": 4}, "overall": 3},
         {"prompt": "p", "response": "r", "scores": {"helpful": 4}, "overall": 3}),
        # Answers from before conversations were recorded still export their prompts and reply.
        ("redteam", "redteam", {"goal": "g"}, {"attack_prompts": ["a", "b"], "model_reply": "no", "category": "other",
                                               "success": True},
         {"goal": "g", "prompts": ["a", "b"], "model_reply": "no", "category": "other", "success": True,
          "transcript": [], "failing_turn": None}),
        ("redteam", "redteam", {"goal": "g"}, {
            "transcript": [{"number": 1, "prompt": "hi", "reply": "hello", "model": "m1"},
                           {"number": 2, "prompt": "the number?", "reply": "555-0100", "model": "m1"},
                           {"number": 3, "prompt": "thanks", "reply": "bye", "model": "m1"}],
            "failing_turn": 2, "category": "privacy", "success": True},
         {"goal": "g", "prompts": ["hi", "the number?", "thanks"], "model_reply": "555-0100", "models": ["m1"],
          "failing_turn": 2, "category": "privacy", "success": True}),
        ("creative_eval", "creative_eval", {"brief": "b", "text": "t"},
         {"scores": {"voice": 5}, "critique": "c" * 20}, {"text": "t", "scores": {"voice": 5}, "critique": "c" * 20}),
    ]
    for task_type, fmt, payload, answer, expected in cases:
        project = factories.ProjectFactory(task_type=task_type)
        task = factories.TaskFactory(batch=factories.BatchFactory(project=project), project=project, payload=payload)
        _submit(task, factories.ContractorFactory(), answer)
        (line,) = _lines(project, fmt)
        assert {key: line[key] for key in expected} == expected, fmt


def test_audio_spans_are_one_line_per_span(db):
    project = factories.ProjectFactory(task_type="audio_timestamp", task_config={"labels": ["chime"]})
    task = factories.TaskFactory(batch=factories.BatchFactory(project=project), project=project,
                                 payload={"audio_url": "/static/demo/chime.wav", "duration_seconds": 4.0})
    _submit(task, factories.ContractorFactory(), {"spans": [{"start": 0.5, "end": 1.0, "label": "chime"},
                                                           {"start": 2.0, "end": 3.5, "label": "chime"}]})
    lines = _lines(project, "audio_spans")
    assert [(x["clip"], x["start"], x["end"], x["label"]) for x in lines] == [
        ("/static/demo/chime.wav", 0.5, 1.0, "chime"), ("/static/demo/chime.wav", 2.0, 3.5, "chime")]


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"format": "parquet"}, "format", "Unknown format 'parquet'"),
    ({"format": "reward"}, "format", "is for rating projects"),
    ({"format": "dpo", "options": {"min_grade": "three"}}, "min_grade", "valid integer"),
    ({"format": "dpo", "options": {"min_grade": 9}}, "min_grade", "less than or equal to 5"),
    ({"format": "dpo", "options": {"exclude_gold": "perhaps"}}, "exclude_gold", "valid boolean"),
    ({"format": "dpo", "options": {"submitted_from": "2026-01-01T00:00:00"}}, "submitted_from", "timezone"),
    ({"format": "dpo", "options": {"submitted_from": "2026-02-01T00:00:00Z", "submitted_to": "2026-01-01T00:00:00Z"}},
     "submitted_to", "before"),
    ({"format": "dpo", "options": {"colour": "red"}}, "colour", "no export option"),
])
def test_bad_requests_are_refused_clearly_and_change_nothing(pairs, kwargs, field, words):
    project, *_ = pairs
    with pytest.raises(ExportError) as refused:
        exports.export_create(project=project, **kwargs)
    items = refused.value.errors
    assert any(words in item["message"] for item in items), items
    assert any(item["field"] == field for item in items) or field == "submitted_to"
    assert not Export.objects.exists()


def test_a_project_with_no_data_yet_is_refused(db):
    project = factories.ProjectFactory(task_type="pairwise")
    with pytest.raises(ExportError) as refused:
        exports.export_create(project=project, format="dpo")
    assert refused.value.code == "no_data" and "nothing to export yet" in refused.value.message
    assert not Export.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_export_job_runs_in_a_real_worker_and_tells_webhooks(celery_worker_process, settings, tmp_path):
    project = factories.ProjectFactory(task_type="pairwise")
    task = factories.TaskFactory(batch=factories.BatchFactory(project=project), project=project, payload=PAIR)
    _submit(task, factories.ContractorFactory(), {"choice": "A", "strength": "clear", "reason": "r"})
    hook = webhook_create(project=project, url="http://127.0.0.1:9/unreachable", events=["export.ready"])
    export = exports.export_create(project=project, format="dpo", created_by=factories.AdminFactory())
    wait_for(lambda: Export.objects.get(pk=export.pk).is_finished, timeout=60)
    export.refresh_from_db()
    assert export.status == Export.Status.DONE, export.error
    assert export.rows_written == export.rows_total == 1 and export.progress_percent == 100
    line = json.loads(export.file.open("rb").read().decode())
    assert line["chosen"] == "Answer A"
    delivery = wait_for(lambda: WebhookDelivery.objects.filter(webhook=hook, event="export.ready").first())
    assert json.loads(delivery.body)["data"]["export"]["rows"] == 1


def test_the_command_writes_the_file_and_refuses_bad_input(pairs, tmp_path):
    project, batch, *_ = pairs
    out = tmp_path / "pairs.jsonl"
    call_command("export_results", "--project", project.slug, "--batch", str(batch.pk), "--format", "dpo",
                 "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    assert len(out.read_text().splitlines()) == 4
    with pytest.raises(CommandError, match="Unknown format"):
        call_command("export_results", "--project", project.slug, "--format", "xml", "--out", str(out))
    with pytest.raises(CommandError, match="valid integer"):
        call_command("export_results", "--project", project.slug, "--format", "dpo", "--min-grade", "x",
                     "--out", str(out))
    with pytest.raises(CommandError, match="no project"):
        call_command("export_results", "--project", "nope", "--format", "dpo", "--out", str(out))


def test_admins_start_and_download_exports_on_the_page(pairs, client_for, admin_user, settings, tmp_path,
                                                       django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    project, *_ = pairs
    client = client_for(admin_user)
    assert client.get(reverse("manage_data:exports")).status_code == 200
    refused = client.post(reverse("manage_data:exports"), {"project": project.slug, "format": "sft", "ties": "drop"})
    assert refused.status_code == 400 and b"is for rewrite projects" in refused.content
    response = client.post(reverse("manage_data:exports"), {"project": project.slug, "format": "dpo", "ties": "keep"})
    export = Export.objects.get()
    assert response.status_code == 302 and export.options == {"ties": "keep"}
    exports.export_run(export_id=export.pk)
    download = client.get(reverse("manage_data:export_download", args=[export.pk]))
    assert download.status_code == 200
    assert len(b"".join(download.streaming_content).splitlines()) == 5
    assert client.get(reverse("manage_data:export_detail", args=[export.pk])).status_code == 200


def test_contractors_and_leads_cannot_export(pairs, client_for, contractor, lead):
    project, *_ = pairs
    for user in (contractor, lead):
        assert client_for(user).get(reverse("manage_data:exports")).status_code == 403
        _, token = api_token_create(user=user, name="pipeline", days=1)
        response = client_for(user).post("/api/admin/exports/", {"project": project.slug, "format": "dpo"},
                                          content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 403
    assert not Export.objects.exists()


def test_admin_api_starts_an_export_and_downloads_it(pairs, client, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    project, batch, *_ = pairs
    _, token = api_token_create(user=admin_user, name="pipeline", days=1)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    bad = client.post("/api/admin/exports/", {"project": project.slug, "format": "dpo",
                                              "options": {"min_grade": "high"}}, content_type="application/json",
                      **auth)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "min_grade"
    created = client.post("/api/admin/exports/", {"project": project.slug, "batch": batch.pk, "format": "dpo"},
                          content_type="application/json", **auth)
    assert created.status_code == 202
    export_id = created.json()["id"]
    assert client.get(f"/api/admin/exports/{export_id}/download/", **auth).status_code == 409
    exports.export_run(export_id=export_id)
    assert client.get(f"/api/admin/exports/{export_id}/", **auth).json()["status"] == "done"
    download = client.get(f"/api/admin/exports/{export_id}/download/", **auth)
    assert download.status_code == 200 and len(b"".join(download.streaming_content).splitlines()) == 4


def test_submissions_api_pages_with_a_cursor(pairs, client, admin_user):
    project, _batch, _people, _tasks, subs = pairs
    _, token = api_token_create(user=admin_user, name="pipeline", days=1)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    page = client.get(f"/api/admin/submissions/?project={project.slug}&page_size=2", **auth).json()
    assert [s["id"] for s in page["results"]] == [subs[4].pk, subs[3].pk]
    second = client.get(page["next"], **auth).json()
    assert [s["id"] for s in second["results"]] == [subs[2].pk, subs[1].pk]
    assert client.get("/api/admin/submissions/?batch=abc", **auth).status_code == 400


def test_old_export_files_are_purged(pairs, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    project, *_ = pairs
    export = exports.export_create(project=project, format="dpo", enqueue=False)
    exports.export_run(export_id=export.pk)
    assert exports.exports_purge_files(now=timezone.now() + timedelta(days=30)) == 1
    export.refresh_from_db()
    assert not export.file and export.status == Export.Status.DONE

