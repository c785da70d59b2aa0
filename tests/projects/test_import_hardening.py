"""Imports refuse what cannot be stored with line errors, stop reading a file that would hold a
worker for minutes, and a failed upload into a new batch leaves no empty batch (issue 15, item 3)."""

import gzip
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Batch, Task, TaskImport
from projects.services import task_import_run
from tests import factories
from tests.projects.import_helpers import (
    jsonl,
    media_root,  # noqa: F401 - fixture
    pair,
    pairwise_batch,
    run_import,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
ST = TaskImport.Status


def _line(external_id: str, prompt_json: str) -> str:
    return f'{{"external_id": "{external_id}", "payload": {{"prompt": {prompt_json}, "response_a": "A", ' \
           '"response_b": "B"}}'


def test_a_number_too_large_for_a_float_and_deep_nesting_are_line_errors():
    batch = pairwise_batch()
    deep = "[" * 100_000 + "]" * 100_000
    task_import = run_import(batch, jsonl(pair(1), _line("big", "1e999"), _line("deep", deep),
                                          '{"external_id": "nan", "payload": NaN}'))
    assert task_import.status == ST.FAILED and not Task.objects.filter(batch=batch).exists()
    by_line = {e["line"]: e["message"] for e in task_import.errors}
    assert by_line[2] == "JSON that cannot be stored: the number 1e999 is too large"
    assert by_line[3] == "JSON that cannot be stored: it nests deeper than 32 levels"
    assert "NaN is not allowed" in by_line[4]


def test_a_gzip_bomb_stops_with_a_clear_error(settings):
    settings.TASKHUB_IMPORT_MAX_BYTES = 5_000_000
    settings.TASKHUB_IMPORT_MAX_LINES = 10**9  # the byte bound alone
    bomb = gzip.compress(b"\n" * 200_000_000)  # 200 MB of newlines in about 200 KB
    assert len(bomb) < 300_000
    started = time.monotonic()
    task_import = run_import(pairwise_batch(), bomb, name="bomb.jsonl.gz")
    assert time.monotonic() - started < 20  # the 200 MB are never read
    assert task_import.status == ST.FAILED
    [error] = task_import.errors
    assert "more than 5,000,000 bytes once decompressed" in error["message"] and error["line"] > 1


def test_a_file_of_too_many_lines_stops_with_a_clear_error(settings):
    settings.TASKHUB_IMPORT_MAX_LINES = 3
    task_import = run_import(pairwise_batch(), jsonl(*(pair(i) for i in range(1, 6))))
    assert task_import.status == ST.FAILED
    assert task_import.errors[-1] == {"line": 4, "field": "", "message":
                                      "The file has more than 3 lines; split it into smaller files."}


def test_a_failed_upload_into_a_new_batch_leaves_no_batch_and_its_page_lists_the_lines(client_for, admin_user):
    project = factories.ProjectFactory(task_type="pairwise")
    client = client_for(admin_user)
    content = jsonl(pair(1), _line("big", "1e999"), "not json")
    response = client.post(reverse("manage:imports"), {
        "project": project.pk, "batch_name": "March", "format": "jsonl",
        "file": SimpleUploadedFile("tasks.jsonl", content)})
    assert response.status_code == 302
    task_import = TaskImport.objects.get()
    assert task_import_run(task_import_id=task_import.pk).status == ST.FAILED
    assert not Batch.objects.exists()  # no empty draft batch left behind
    for url in (reverse("manage:import_progress", args=[task_import.pk]),
                reverse("manage:import_detail", args=[task_import.pk]), reverse("manage:imports")):
        page = client.get(url)
        assert page.status_code == 200, url
    progress = client.get(reverse("manage:import_progress", args=[task_import.pk])).content.decode()
    assert "Line 2" in progress and "1e999 is too large" in progress and "Line 3" in progress
    assert "no batch was created" in progress


def test_a_good_upload_into_a_new_batch_creates_it_with_its_tasks(client_for, admin_user):
    project = factories.ProjectFactory(task_type="pairwise")
    response = client_for(admin_user).post(reverse("manage:imports"), {
        "project": project.pk, "batch_name": "April", "format": "auto",
        "file": SimpleUploadedFile("tasks.jsonl", jsonl(pair(1), pair(2)))})
    assert response.status_code == 302
    done = task_import_run(task_import_id=TaskImport.objects.get().pk)
    assert done.status == ST.DONE and done.batch.name == "April" and done.batch.status == Batch.Status.DRAFT
    assert Task.objects.filter(batch=done.batch).count() == 2


def test_the_new_batch_name_is_checked_when_the_file_is_uploaded(client_for, admin_user):
    project = factories.ProjectFactory(task_type="pairwise")
    response = client_for(admin_user).post(reverse("manage:imports"), {
        "project": project.pk, "batch_name": "Mar\x00ch", "format": "auto",
        "file": SimpleUploadedFile("tasks.jsonl", jsonl(pair(1)))})
    assert response.status_code == 400 and not TaskImport.objects.exists() and not Batch.objects.exists()
    assert json.dumps(pair(1))  # the file itself was fine
