"""Task import outside the request: the management command, and a real Celery worker."""

import gzip

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from projects.models import Task, TaskImport
from projects.services import imports, task_import_create
from tests.conftest import wait_for
from tests.projects.import_helpers import (
    HH_FILE,
    HH_LINES,
    jsonl,
    media_root,  # noqa: F401 - fixture
    pair,
    pairwise_batch,
)

ST = TaskImport.Status


@pytest.mark.django_db
@pytest.mark.usefixtures("media_root")
class TestCommand:
    def test_imports_the_real_hh_file_with_a_seed_and_prints_progress(self, capsys, monkeypatch):
        monkeypatch.setattr(imports, "PROGRESS_EVERY", 200)  # the sample is 501 lines long
        batch = pairwise_batch()
        call_command("import_tasks", str(batch.pk), str(HH_FILE), "--seed", "99", "--gold-from-reference")
        out = capsys.readouterr().out
        assert f"Imported {HH_LINES:,} tasks as HH-RLHF preference pairs" in out
        assert "(A/B order seed 99)" in out
        assert "checked 200 lines" in out and "checked 400 lines" in out
        task_import = TaskImport.objects.get(batch=batch)
        assert task_import.status == ST.DONE and task_import.seed == 99
        assert Task.objects.filter(batch=batch, gold_answer__isnull=False).count() == HH_LINES

    def test_bad_file_exits_non_zero_listing_lines_and_writes_nothing(self, tmp_path, capsys):
        batch = pairwise_batch()
        bad = pair(3)
        del bad["payload"]["prompt"]
        path = tmp_path / "tasks.jsonl"
        path.write_bytes(jsonl(pair(1), "oops", bad, pair(1)))
        with pytest.raises(CommandError, match="Nothing was imported: 3 errors"):
            call_command("import_tasks", str(batch.pk), str(path))
        err = capsys.readouterr().err
        assert "line 2: not valid JSON" in err
        assert "line 3: payload.prompt: Field required" in err
        assert "line 4: the external id 't-1' is also used on line 1" in err
        assert not Task.objects.filter(batch=batch).exists()

    def test_format_can_be_forced(self, tmp_path):
        batch = pairwise_batch()
        path = tmp_path / "data.txt"
        path.write_bytes(b"external_id,prompt,response_a,response_b\nx,p,a,b\n")
        call_command("import_tasks", str(batch.pk), str(path), "--format", "csv")
        assert Task.objects.get(batch=batch).payload == {"prompt": "p", "response_a": "a", "response_b": "b"}

    def test_missing_batch_or_file_or_refused_format(self, tmp_path):
        from tests import factories

        with pytest.raises(CommandError, match="no batch with id 987654"):
            call_command("import_tasks", "987654", str(HH_FILE))
        batch = pairwise_batch()
        with pytest.raises(CommandError, match="is not a readable file"):
            call_command("import_tasks", str(batch.pk), str(tmp_path / "missing.jsonl"))
        rating = pairwise_batch(project=factories.ProjectFactory(task_type="rating"))
        with pytest.raises(CommandError, match="only be imported into a pairwise project"):
            call_command("import_tasks", str(rating.pk), str(HH_FILE), "--format", "hh_rlhf")
        assert not TaskImport.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media_root")  # set up first, so the worker is started with the same MEDIA_ROOT
def test_import_runs_in_a_real_celery_worker_and_reports_progress(celery_worker_process):
    """The upload is committed, the worker picks the job up, progress moves, and it ends done."""
    batch = pairwise_batch()
    lines = 30_000
    content = gzip.compress(jsonl(*[pair(i) for i in range(lines)]))
    task_import = task_import_create(batch=batch, uploaded_file=ContentFile(content, name="big.jsonl.gz"))

    seen = set()

    def finished():
        current = TaskImport.objects.get(pk=task_import.pk)
        seen.add((current.status, current.processed_lines))
        return current if current.is_finished else None

    done = wait_for(finished, timeout=120, interval=0.05)
    assert done.status == ST.DONE, done.errors
    assert done.imported_count == lines
    assert done.progress_percent == 100
    assert Task.objects.filter(batch=batch).count() == lines
    # The worker's intermediate progress was visible from outside while it ran.
    assert any(status == ST.VALIDATING and 0 < processed < lines for status, processed in seen), seen
