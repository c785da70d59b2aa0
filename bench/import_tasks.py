"""Benchmark: import 100,000 pairwise tasks from a JSON Lines file.

Measures the whole import service (store the upload, then one pass in one transaction: every
line checked against the task type and for duplicates while the clean rows stream into a COPY)
and, on the same database in the same run,
a bare COPY of the same 100,000 rows into projects_task as the baseline: the floor any
import that writes through PostgreSQL could reach. Prints both times, rows/s and the ratio
(goal: at most 1.5x), then removes everything it created.

Run with `make bench BENCH=import_tasks` (its own database, taskhub_bench).
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")
MEDIA = tempfile.TemporaryDirectory(prefix="taskhub-bench-media-")
os.environ["MEDIA_ROOT"] = MEDIA.name

import django  # noqa: E402

django.setup()

from django.core.files import File  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from projects import importers  # noqa: E402
from projects.models import Batch, Project, Task, TaskImport  # noqa: E402
from projects.services import imports, task_import_create, task_import_run  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))


def payload(i: int) -> dict:
    return {
        "prompt": f"Question {i}: explain how a heat pump moves heat from a cold place to a warm one, briefly.",
        "response_a": f"Answer A{i}. It uses a refrigerant that evaporates cold and condenses warm. " * 3,
        "response_b": f"Answer B{i}. Work from a compressor pumps heat against the gradient. " * 3,
    }


def write_file(path: Path) -> int:
    with path.open("w", encoding="utf-8") as out:
        for i in range(ROWS):
            out.write(json.dumps({"external_id": f"b-{i:06d}", "payload": payload(i)}) + "\n")
    return path.stat().st_size


def copy_baseline(batch: Batch) -> float:
    """The same rows, already encoded, COPYed with nothing checked: the floor."""
    now = timezone.now().isoformat()
    prefix = f"{batch.pk}\t{batch.project_id}\t{batch.project.overlap}\t0\t0\t{now}\t"
    data = "".join(
        prefix + "\t".join([f"b-{i:06d}", importers.copy_text(importers.json_text(payload(i))), "\\N", "\\N"]) + "\n"
        for i in range(ROWS)
    ).encode()
    started = time.perf_counter()
    statement = f"COPY projects_task ({imports.COPY_COLUMNS}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(statement) as copy:
        for offset in range(0, len(data), 1 << 20):
            copy.write(data[offset:offset + (1 << 20)])
    return time.perf_counter() - started


def timed(module, name: str) -> list[float]:
    """Wrap module.name to add up the seconds spent in it."""
    spent = [0.0]
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    setattr(module, name, wrapper)
    return spent


def main() -> int:
    project = Project.objects.create(name="Import benchmark", slug=f"bench-import-{os.getpid()}",
                                     task_type="pairwise", overlap=3)
    service_batch = Batch.objects.create(project=project, name="service import")
    baseline_batch = Batch.objects.create(project=project, name="bare COPY")
    try:
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "tasks.jsonl"
            size = write_file(path)
            print(f"file: {ROWS:,} lines, {size / 1e6:.1f} MB")

            check_phase = timed(imports, "_check_file")
            analyze_phase = timed(imports, "_refresh_statistics")
            started = time.perf_counter()
            with path.open("rb") as handle:
                task_import = task_import_create(batch=service_batch, uploaded_file=File(handle, name=path.name),
                                                 enqueue=False)
            stored = time.perf_counter() - started
            task_import = task_import_run(task_import_id=task_import.pk)
            service = time.perf_counter() - started
            if task_import.status != TaskImport.Status.DONE:
                print(f"import failed: {task_import.errors[:3]}")
                return 1
            assert Task.objects.filter(batch=service_batch).count() == ROWS

            baseline = copy_baseline(baseline_batch)
            assert Task.objects.filter(batch=baseline_batch).count() == ROWS

        checked, analyzed = check_phase[0], analyze_phase[0]
        rest = service - stored - checked - analyzed
        print(f"service import, total:                {service:7.2f}s  {ROWS / service:10,.0f} rows/s")
        print(f"  store upload {stored:.2f}s, check every line while its rows stream into the COPY {checked:.2f}s, "
              f"the COPY's end and the commit {rest:.2f}s, ANALYZE {analyzed:.2f}s")
        print(f"bare COPY of the same rows (baseline): {baseline:7.2f}s  {ROWS / baseline:10,.0f} rows/s")
        ratio = service / baseline
        print(f"ratio service / bare COPY: {ratio:.2f}x")
        print(f"goal: import <= 1.5x a bare COPY: {ratio:.2f}x {'PASS' if ratio <= 1.5 else 'BELOW GOAL'} "
              f"(load average {os.getloadavg()[0]:.2f}; the machine may be shared)")
        return 0
    finally:
        Task.objects.filter(batch__project=project).delete()
        for task_import in TaskImport.objects.filter(batch__project=project):
            task_import.file.delete(save=False)
        TaskImport.objects.filter(batch__project=project).delete()
        Batch.objects.filter(project=project).delete()
        project.delete()
        MEDIA.cleanup()


if __name__ == "__main__":
    sys.exit(main())
