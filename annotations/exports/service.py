"""Exports: `export_create` checks what was asked and queues the job; `export_run` (the Celery job)
streams the rows into a file with its progress saved as it goes, then tells the project's
`export.ready` webhooks; `exports_purge_files` deletes old files.

A run holds a session-level advisory lock on its export, so two workers never write the same
export; a redelivered job finds it done (or running) and stops. A run that died half-way (the
worker was killed) left nothing but a temporary file; the next delivery starts it over.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from projects.models import Batch, Project
from projects.services import webhooks_emit
from taskhub import outbox

# tasks and services import this package while they load: reach them as modules, at run time.
from .. import services, tasks
from ..errors import ExportError
from ..models import Export, Submission
from .formats import FORMATS, formats_for
from .options import ExportOptions, options_from_stored, parse_options
from .writer import ExportSpec, export_write

logger = logging.getLogger(__name__)

ST = Export.Status
_LOCK_NAMESPACE = 0x6578_7074  # "expt"


def export_check(*, project: Project, batch: Batch | None, format: Any, options: Any) -> tuple[str, ExportOptions]:
    """Refuse an export that cannot be made: an unknown format or one not for this type, a batch of
    another project, options of the wrong type, a project (or batch) with no submissions yet."""
    errors = []
    if not isinstance(format, str) or format not in FORMATS:
        known = ", ".join(f.key for f in formats_for(project.task_type))
        errors.append(ExportError.at("format", f"Unknown format {format!r}; for this project use one of: {known}."))
    elif not FORMATS[format].applies_to(project.task_type):
        known = ", ".join(f.key for f in formats_for(project.task_type))
        errors.append(ExportError.at(
            "format", f"The {format} format is for {FORMATS[format].task_type} projects; {project.name!r} is "
            f"{project.type.label.lower()}, so use one of: {known}."))
    if batch is not None and batch.project_id != project.pk:
        errors.append(ExportError.at("batch", f"Batch {batch.pk} is not a batch of {project.name!r}."))
    try:
        options = parse_options(options)
    except ExportError as exc:
        errors.append(exc)
        options = None
    if errors:
        raise ExportError.combine(errors)
    scope = Submission.objects.filter(project=project)
    if batch is not None:
        scope = scope.filter(task__batch=batch)
    if not scope.exists():
        where = f"batch {batch.name!r}" if batch is not None else f"project {project.name!r}"
        raise ExportError(f"There is nothing to export yet: the {where} has no submissions.", code="no_data",
                          field="batch" if batch is not None else "project")
    return format, options


def export_spec(*, project: Project, batch: Batch | None, format: str, options: ExportOptions) -> ExportSpec:
    return ExportSpec(project_id=project.pk, task_type=project.task_type, format=format, options=options,
                      batch_id=batch.pk if batch is not None else None)


def export_create(*, project: Project, batch: Batch | None = None, format: Any, options: Any = None,
                  created_by=None, enqueue: bool = True) -> Export:
    """Check the export and queue its job once the row is committed."""
    format, options = export_check(project=project, batch=batch, format=format, options=options)
    with transaction.atomic():
        export = Export.objects.create(project=project, batch=batch, format=format, options=options.as_json(),
                                       created_by=created_by)
        if enqueue:
            outbox.enqueue(tasks.export_run, export_id=export.pk)
    return export


def export_labels_refresh(*, project: Project, batch_id: int | None) -> None:
    """Bring the final labels of the export's scope up to date before they are joined in."""
    batches = [batch_id] if batch_id is not None else list(
        Batch.objects.filter(project=project).values_list("id", flat=True))
    for one in batches:
        services.task_labels_compute(batch_id=one)


class _Lock:
    def __init__(self, export_id: int) -> None:
        self.export_id, self.held = export_id, False

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, self.export_id])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def __exit__(self, *exc_info) -> None:
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, self.export_id])


def export_run(*, export_id: int) -> Export:
    """Write one export. Idempotent: a finished export is returned as it is, one that another worker
    is writing right now is left to it."""
    with _Lock(export_id) as held:
        export = Export.objects.select_related("project", "batch").get(pk=export_id)
        if not held or export.is_finished:
            return export
        started = timezone.now()
        Export.objects.filter(pk=export_id).update(status=ST.RUNNING, started_at=started, rows_written=0,
                                                   rows_total=None, error="")
        try:
            return _run(export)
        except Exception as exc:
            logger.exception("export %s failed", export_id)
            Export.objects.filter(pk=export_id).update(status=ST.FAILED, finished_at=timezone.now(),
                                                       error=f"The export stopped unexpectedly: {exc}"[:2000])
            raise


def _run(export: Export) -> Export:
    project = export.project
    options = options_from_stored(export.options)
    if options.final_labels:
        export_labels_refresh(project=project, batch_id=export.batch_id)
    spec = export_spec(project=project, batch=export.batch, format=export.format, options=options)

    def progress(rows: int, total: int | None) -> None:
        Export.objects.filter(pk=export.pk).update(rows_written=rows, rows_total=total)

    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=settings.MEDIA_ROOT) as out:
        rows = export_write(spec, out, on_progress=progress)
        size = out.tell()
        out.seek(0)
        name = export_filename(export)
        if export.file:
            export.file.delete(save=False)
        export.file.save(name, File(out, name=name), save=False)
    now = timezone.now()
    with transaction.atomic():
        Export.objects.filter(pk=export.pk).update(status=ST.DONE, file=export.file.name, size_bytes=size,
                                                   rows_written=rows, rows_total=rows, finished_at=now)
        webhooks_emit(project_id=project.pk, event="export.ready", data={"export": {
            "id": export.pk, "format": export.format, "batch": export.batch_id, "rows": rows, "size_bytes": size,
            "download": reverse("api-admin-export-download", args=[export.pk]),
        }})
    export.refresh_from_db()
    return export


def export_filename(export: Export) -> str:
    scope = f"{export.project.slug}-batch{export.batch_id}" if export.batch_id else export.project.slug
    return f"{scope}-{export.format}-{export.pk}.{FORMATS[export.format].extension}"


def exports_purge_files(*, older_than: timedelta | None = None, now: datetime | None = None) -> int:
    """Delete the files of exports finished longer ago than TASKHUB_EXPORT_KEEP_DAYS; the records
    stay. Returns how many files were removed."""
    older_than = older_than if older_than is not None else timedelta(days=settings.TASKHUB_EXPORT_KEEP_DAYS)
    cutoff = (now or timezone.now()) - older_than
    purged = 0
    for export in Export.objects.filter(finished_at__lt=cutoff).exclude(file="").only("pk", "file").iterator():
        name, storage = export.file.name, export.file.storage
        if Export.objects.filter(pk=export.pk, file=name).update(file=""):
            storage.delete(name)
            purged += 1
    return purged
