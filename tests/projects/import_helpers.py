"""Shared helpers for the task import tests."""

import gzip
import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from projects.models import Batch, TaskImport
from projects.services import task_import_create, task_import_run
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
# A real sample of HH-RLHF kept with the tests (tests/data/README.md says which lines).
HH_FILE = ROOT / "tests" / "data" / "hh-rlhf-harmless-base-sample.jsonl.gz"
HH_LINES = 501
# The sample's line whose two versions part before the last turn (line 1,255 of the source).
HH_EARLY_PARTING_LINE = 501


@pytest.fixture
def media_root(tmp_path, settings, monkeypatch):
    """Uploads go to a private folder, for this process and for workers it starts."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    monkeypatch.setenv("MEDIA_ROOT", str(root))
    return root


def pairwise_batch(**fields) -> Batch:
    fields.setdefault("status", Batch.Status.DRAFT)
    fields.setdefault("released_at", None)
    project = fields.pop("project", None) or factories.ProjectFactory(task_type="pairwise", overlap=2)
    return factories.BatchFactory(project=project, **fields)


def pair(i: int, **extra) -> dict:
    return {
        "external_id": f"t-{i}",
        "payload": {"prompt": f"Question {i}?", "response_a": f"Answer A{i}", "response_b": f"Answer B{i}"},
        **extra,
    }


def jsonl(*rows) -> bytes:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows).encode()


def run_import(batch, content: bytes, name: str = "tasks.jsonl", **options) -> TaskImport:
    task_import = task_import_create(batch=batch, uploaded_file=ContentFile(content, name=name), enqueue=False,
                                     **options)
    return task_import_run(task_import_id=task_import.pk)


def messages(task_import: TaskImport) -> list[str]:
    return [f"line {e['line']}: {e['message']}" for e in task_import.errors]


def hh_bytes() -> bytes:
    return HH_FILE.read_bytes()


def hh_records() -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(hh_bytes()).splitlines() if line.strip()]
