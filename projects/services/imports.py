"""Task imports: an uploaded file becomes a batch's tasks, all of them or none.

`task_import_create` stores the upload and enqueues the run once the row is committed.
`task_import_run` does the work in two passes:

1. Validation streams the file, checks every line against the task type and against the
   other lines and the batch (duplicate external ids), and writes the cleaned rows to a
   temporary file in COPY format. Progress is saved every few thousand lines in small
   autocommitted updates, so the admin page can show it while the run goes on.
2. If no line was bad, ONE transaction locks the batch, streams the rows into
   projects_task with PostgreSQL COPY and marks the import done. A failure, or a worker
   killed half-way, leaves nothing written; a re-run (Celery redelivers unacknowledged
   tasks) starts over and completes.

A run holds a session-level advisory lock on its import, so two workers never run the
same import; the lock goes with the connection if the worker dies.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from pydantic import ConfigDict, create_model

from taskhub import outbox

from .. import importers, tasks
from ..errors import InvalidData, TaskImportError
from ..models import Batch, Project, Task, TaskImport
from ..task_types.base import TaskType
from .setup import batch_name_clean

logger = logging.getLogger(__name__)

ST = TaskImport.Status
FMT = TaskImport.Format

# How often the validation pass saves its progress (lines).
PROGRESS_EVERY = 2_000
# Rows are handed to COPY in chunks of about this many bytes.
COPY_CHUNK_BYTES = 1 << 20
# Advisory-lock namespace of import runs (the second key is the import's id).
_LOCK_NAMESPACE = 0x7461_736B  # "task"

EXTERNAL_ID_MAX = Task._meta.get_field("external_id").max_length
COPY_COLUMNS = (
    "batch_id, project_id, overlap, claim_count, submitted_count, created_at, "
    "external_id, payload, gold_answer, reference_answer"
)


# What ANALYZE samples after an import: the columns statements filter, join and count on.
ANALYZED_COLUMNS = "id, batch_id, project_id, overlap, claim_count, submitted_count, created_at"

ProgressCallback = Callable[[TaskImport], None]


def _refuse_closed(batch: Batch) -> None:
    if batch.status in (Batch.Status.CLOSED, Batch.Status.EXHAUSTED):
        raise TaskImportError(
            f"The batch {batch.name!r} is {batch.get_status_display().lower()}; tasks cannot be imported into it.",
            code="batch_closed",
            field="batch",
        )


def task_import_create(
    *,
    batch: Batch | None = None,
    project: Project | None = None,
    new_batch_name: str = "",
    uploaded_file: File,
    format: str = FMT.AUTO,
    gold_from_reference: bool = False,
    created_by=None,
    seed: int | None = None,
    enqueue: bool = True,
) -> TaskImport:
    """Store the upload and (unless `enqueue` is False, for synchronous runs) queue the import.

    The tasks go into `batch`, or into a new draft batch of `project` named `new_batch_name`,
    created only when the tasks are written (so a file that fails creates no batch)."""
    if batch is not None:
        _refuse_closed(batch)
        project = batch.project
        new_batch_name = ""
    elif project is None:
        raise TaskImportError("Choose the batch, or the project of a new batch.", field="project")
    else:
        new_batch_name = batch_name_clean(project=project, name=new_batch_name)
    if format not in FMT.values:
        raise TaskImportError(f"Unknown format {format!r}; use one of {', '.join(FMT.values)}.", field="format")
    if format == FMT.HH_RLHF and project.task_type != "pairwise":
        raise TaskImportError(
            f"HH-RLHF preference pairs can only be imported into a pairwise project; {project.name!r} is "
            f"{project.type.label.lower()}.",
            field="format",
        )
    size = getattr(uploaded_file, "size", None) or 0
    if size == 0:
        raise TaskImportError("The file is empty: there are no tasks to import.", code="empty_file", field="file")
    if seed is not None and not (-(2**63) <= seed < 2**63):
        raise TaskImportError("The seed must fit in 64 bits.", field="seed")
    name = Path(getattr(uploaded_file, "name", "") or "upload").name[:255]
    with transaction.atomic():
        task_import = TaskImport(
            batch=batch,
            project=project,
            new_batch_name=new_batch_name,
            original_name=name,
            format=format,
            gold_from_reference=gold_from_reference,
            total_bytes=size,
            seed=seed,
            created_by=created_by,
        )
        task_import.file.save(name, uploaded_file, save=False)
        task_import.save()
        if enqueue:
            outbox.enqueue(tasks.task_import_run, task_import_id=task_import.pk)
    return task_import


# --- the run --------------------------------------------------------------------------------


@dataclass
class _Validation:
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0
    lines: int = 0

    def add(self, error: importers.LineError) -> None:
        self.error_count += 1
        if len(self.errors) < settings.TASKHUB_IMPORT_MAX_ERRORS:
            self.errors.append(error.as_dict())


class _AdvisoryLock:
    def __init__(self, import_id: int) -> None:
        self.import_id = import_id
        self.held = False

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, self.import_id])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def __exit__(self, *exc_info) -> None:
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, self.import_id])


def task_import_run(*, task_import_id: int, on_progress: ProgressCallback | None = None) -> TaskImport:
    """Validate and write one import. Idempotent: a finished import is returned as it is,
    and an import another worker is running right now is left to it."""
    with _AdvisoryLock(task_import_id) as held:
        task_import = TaskImport.objects.select_related("batch", "project").get(pk=task_import_id)
        if not held or task_import.is_finished:
            return task_import
        # Holding the lock, a row still marked validating or writing belongs to a run that
        # died; its transaction never committed, so starting over is safe.
        claimed = TaskImport.objects.filter(
            pk=task_import_id, status__in=[ST.PENDING, ST.VALIDATING, ST.WRITING]
        ).update(
            status=ST.VALIDATING, started_at=timezone.now(), processed_lines=0, processed_bytes=0,
            errors=[], error_count=0, imported_count=0,
        )
        if not claimed:
            task_import.refresh_from_db()
            return task_import
        task_import.refresh_from_db()
        try:
            return _run(task_import, on_progress)
        except Exception as exc:
            # Unexpected (the database went away, the file vanished): record it so the
            # import does not look busy for ever, then let the worker log the traceback.
            logger.exception("task import %s failed", task_import_id)
            _fail(task_import, [importers.LineError(None, f"The import stopped unexpectedly: {exc}").as_dict()], 1)
            raise


def _fail(task_import: TaskImport, errors: list[dict], error_count: int) -> TaskImport:
    task_import.status = ST.FAILED
    task_import.errors = errors
    task_import.error_count = error_count
    task_import.imported_count = 0
    task_import.finished_at = timezone.now()
    TaskImport.objects.filter(pk=task_import.pk).update(
        status=ST.FAILED, errors=errors, error_count=error_count, imported_count=0,
        finished_at=task_import.finished_at, processed_lines=task_import.processed_lines,
        processed_bytes=task_import.processed_bytes,
    )
    return task_import


def _save_progress(task_import: TaskImport, on_progress: ProgressCallback | None) -> None:
    TaskImport.objects.filter(pk=task_import.pk).update(
        processed_lines=task_import.processed_lines, processed_bytes=task_import.processed_bytes,
    )
    if on_progress:
        on_progress(task_import)


def _run(task_import: TaskImport, on_progress: ProgressCallback | None) -> TaskImport:
    batch = task_import.batch
    project = task_import.project
    if batch is not None and batch.status in (Batch.Status.CLOSED, Batch.Status.EXHAUSTED):
        message = f"The batch is {batch.get_status_display().lower()}; tasks cannot be imported into it."
        return _fail(task_import, [importers.LineError(None, message, "batch").as_dict()], 1)
    if not task_import.file:
        gone = importers.LineError(None, "The uploaded file is no longer stored.", "file")
        return _fail(task_import, [gone.as_dict()], 1)

    check = _Validation()
    with task_import.file.open("rb") as raw, tempfile.TemporaryFile() as rows_file:
        reader = importers.LineReader(raw, max_line_bytes=settings.TASKHUB_IMPORT_MAX_LINE_BYTES,
                                      max_bytes=settings.TASKHUB_IMPORT_MAX_BYTES,
                                      max_lines=settings.TASKHUB_IMPORT_MAX_LINES)
        try:
            records = _records(task_import, project, reader)
            if records is None:
                check.add(importers.LineError(None, "The file is empty: there are no tasks to import."))
            else:
                _validate(task_import, project, reader, records, rows_file, check, on_progress)
        except importers.FileError as exc:
            check.add(importers.LineError(exc.line, exc.message))
        except _FormatRefused as exc:
            check.add(exc.error)
        task_import.processed_bytes = reader.position() or task_import.total_bytes
        if check.error_count == 0 and check.rows == 0:
            check.add(importers.LineError(None, "The file has no tasks in it, only blank lines or a header."))
        if check.error_count:
            return _fail(task_import, check.errors, check.error_count)
        _save_progress(task_import, on_progress)
        rows_file.seek(0)
        return _write(task_import, rows_file, check.rows)


class _FormatRefused(Exception):
    def __init__(self, error: importers.LineError) -> None:
        self.error = error


def _records(task_import: TaskImport, project: Project, reader: importers.LineReader):
    """The file's records, in the format asked for or detected; None for an empty file."""
    lines = iter(reader)
    first: importers.Line | None = None
    for line in lines:
        if line.text is None or line.text.strip():
            first = line
            break
    if first is None:
        return None
    fmt = task_import.format
    if fmt == FMT.AUTO:
        fmt = importers.detect_format(first.text or "", task_import.original_name)
    if fmt == FMT.HH_RLHF and project.task_type != "pairwise":
        raise _FormatRefused(importers.LineError(
            first.number,
            f"this is an HH-RLHF preference file, which only a pairwise project can take; the batch's project "
            f"{project.name!r} is {project.type.label.lower()}",
        ))
    updates: dict[str, Any] = {}
    if fmt != task_import.format:
        task_import.format = updates["format"] = fmt
    if fmt == FMT.HH_RLHF and task_import.seed is None:
        # Saved before any pair is read, so a re-run after a crash draws the same order.
        task_import.seed = updates["seed"] = secrets.randbits(63)
    if updates:
        TaskImport.objects.filter(pk=task_import.pk).update(**updates)

    def all_lines() -> Iterator[importers.Line]:
        yield first
        yield from lines

    if fmt == FMT.HH_RLHF:
        return importers.parse_hh_rlhf(all_lines(), seed=task_import.seed,
                                       gold_from_reference=task_import.gold_from_reference)
    if fmt == FMT.CSV:
        return importers.parse_csv(all_lines(), payload_fields=list(project.type.payload_schema.model_fields))
    return importers.parse_jsonl(all_lines(), fast=_fast_line(project.type))


def _fast_line(kind) -> importers.FastLine | None:
    """For task types whose payload rules are their schema alone: one pass of pydantic over the whole
    line (parsed and validated in Rust, the payload written back as JSON), for lines with just an
    external id and a payload. Any line it does not take (another field, a number as id, anything
    invalid) is read the full way, which words the errors; what it takes is what that way would store."""
    if type(kind).validate_payload is not TaskType.validate_payload or type(kind).check_payload is not (
            TaskType.check_payload):
        return None
    line_model = create_model(f"{type(kind).__name__}ImportLine", __config__=ConfigDict(extra="forbid"),
                              external_id=(str, ...), payload=(kind.payload_schema, ...))
    validate = line_model.model_validate_json

    def fast(text: str) -> tuple[str, str] | None:
        try:
            line = validate(text)
        except ValueError:  # pydantic's ValidationError: the full reading says what is wrong
            return None
        return line.external_id, line.payload.model_dump_json(exclude_none=True)

    return fast


def _validate(task_import, project, reader, records, rows_file, check: _Validation, on_progress) -> None:
    kind = project.type
    existing = set()
    if task_import.batch_id is not None:
        existing = set(Task.objects.filter(batch_id=task_import.batch_id).values_list("external_id", flat=True))
    seen: dict[str, int] = {}
    buffer: list[bytes] = []
    buffered = 0
    next_progress = PROGRESS_EVERY
    for record in records:
        if isinstance(record, importers.LineError):
            check.add(record)
            line_number = record.line or 0
        else:
            line_number = record.line
            row = _clean(record, kind, project, existing, seen, check)
            if row is not None:
                buffer.append(row)
                buffered += len(row)
                check.rows += 1
                if buffered >= COPY_CHUNK_BYTES:
                    rows_file.write(b"".join(buffer))
                    buffer.clear()
                    buffered = 0
        if line_number >= next_progress:
            next_progress = line_number + PROGRESS_EVERY
            task_import.processed_lines = line_number
            task_import.processed_bytes = reader.position()
            _save_progress(task_import, on_progress)
        task_import.processed_lines = max(task_import.processed_lines, line_number)
    if buffer:
        rows_file.write(b"".join(buffer))


def _clean(record: importers.Record, kind, project, existing: set, seen: dict, check: _Validation) -> bytes | None:
    """The record as an encoded COPY row (external_id, payload, gold, reference), or None after
    reporting what is wrong with it."""
    line = record.line
    before = check.error_count
    external_id = record.external_id
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        what = "missing" if external_id in (None, "") else f"{importers.describe(external_id)}, not text"
        check.add(importers.LineError(line, f"the external id is {what}; every task needs one", field="external_id"))
        external_id = None
    else:
        external_id = external_id.strip()
        if len(external_id) > EXTERNAL_ID_MAX:
            check.add(importers.LineError(
                line, f"the external id is {len(external_id)} characters long; the limit is {EXTERNAL_ID_MAX}",
                field="external_id",
            ))
        elif external_id in seen:
            check.add(importers.LineError(
                line, f"the external id {external_id!r} is also used on line {seen[external_id]}", field="external_id"
            ))
        elif external_id in existing:
            check.add(importers.LineError(
                line, f"the external id {external_id!r} is already in this batch", field="external_id"
            ))
        else:
            seen[external_id] = line

    payload = gold = reference = None
    if record.payload_text is None:
        try:
            payload = kind.validate_payload(record.payload, project=project, storable=record.storable)
        except InvalidData as exc:
            _report(check, line, "payload", exc)
    if record.gold_answer is not None:
        if record.gold_is_reference:
            gold = record.gold_answer
        else:
            try:
                gold = kind.validate_gold(record.gold_answer, project=project)
            except InvalidData as exc:
                _report(check, line, "gold_answer", exc)
    if record.reference_answer is not None:
        if isinstance(record.reference_answer, dict):
            reference = record.reference_answer
        else:
            check.add(importers.LineError(
                line, f"the reference answer must be a JSON object, not {importers.describe(record.reference_answer)}",
                field="reference_answer",
            ))
    if check.error_count > before:
        return None

    texts = [record.payload_text or importers.json_text(payload), importers.json_text(gold),
             importers.json_text(reference)]
    for text, value, loc in zip(texts, (payload, gold, reference), ("payload", "gold_answer", "reference_answer"),
                                strict=True):
        if text and "\\u0000" in text and importers.contains_nul(value):
            check.add(importers.LineError(line, "contains a NUL character (\\u0000), which cannot be stored",
                                          field=loc))
            return None
    row = "\t".join(importers.copy_text(value) for value in [external_id, *texts]) + "\n"
    try:
        return row.encode("utf-8")
    except UnicodeEncodeError as exc:
        check.add(importers.LineError(
            line, f"contains an unpaired surrogate escape (\\u{ord(exc.object[exc.start]):04x}), which is not text",
        ))
        return None


def _report(check: _Validation, line: int, prefix: str, exc: InvalidData) -> None:
    what = prefix.replace("_", " ")
    if not exc.errors:
        check.add(importers.LineError(line, f"the {what} is invalid: {exc.message}", field=prefix))
        return
    for error in exc.errors:
        loc = error.get("field") or "(root)"
        full = prefix if loc == "(root)" else f"{prefix}.{loc}"
        message = error.get("message", "invalid")
        if loc == "(root)" and message == "not an object":
            message = "must be a JSON object"
        check.add(importers.LineError(line, f"{full}: {message}", field=full))


def _write(task_import: TaskImport, rows_file, row_count: int) -> TaskImport:
    TaskImport.objects.filter(pk=task_import.pk, status=ST.VALIDATING).update(status=ST.WRITING)
    task_import.status = ST.WRITING
    try:
        with transaction.atomic():
            if task_import.batch_id is None:
                # The upload's new batch: it exists from the moment its tasks do.
                batch = Batch.objects.create(project=task_import.project, name=task_import.new_batch_name,
                                             status=Batch.Status.DRAFT, created_by=task_import.created_by)
                TaskImport.objects.filter(pk=task_import.pk).update(batch=batch)
            else:
                batch = Batch.objects.select_for_update().select_related("project").get(pk=task_import.batch_id)
            if batch.status in (Batch.Status.CLOSED, Batch.Status.EXHAUSTED):
                raise _WriteRefused(f"The batch was {batch.get_status_display().lower()} while the file was being "
                                    "checked; nothing was imported.")
            now = timezone.now()
            prefix = f"{batch.pk}\t{batch.project_id}\t{batch.project.overlap}\t0\t0\t{now.isoformat()}\t".encode()
            with connection.cursor() as cursor, cursor.copy(f"COPY projects_task ({COPY_COLUMNS}) FROM STDIN") as copy:
                _copy_rows(copy, rows_file, prefix)
            done = TaskImport.objects.filter(pk=task_import.pk, status=ST.WRITING).update(
                status=ST.DONE, imported_count=row_count, finished_at=now, processed_bytes=task_import.total_bytes,
                errors=[], error_count=0,
            )
            if not done:
                raise _WriteRefused("The import was taken over by another run; nothing was written by this one.")
    except _WriteRefused as exc:
        return _fail(task_import, [importers.LineError(None, exc.message, "batch").as_dict()], 1)
    except (psycopg.errors.UniqueViolation, DatabaseError) as exc:
        if not _is_unique_violation(exc):
            raise
        detail = getattr(getattr(exc, "diag", None), "message_detail", None) or str(exc)
        message = (f"A task with one of these external ids was added to the batch while the file was being "
                   f"checked ({detail}); nothing was imported.")
        return _fail(task_import, [importers.LineError(None, message, "external_id").as_dict()], 1)
    _refresh_statistics()
    task_import.refresh_from_db()
    return task_import


def _refresh_statistics() -> None:
    """Bring the planner's statistics of the tasks table up to date with the rows just written.

    A release storm follows an import, and autovacuum may not have looked at the new rows yet: the
    claim's plan does not depend on statistics (annotations.services.claims), but every other
    statement over tasks does. Only the columns that queries filter and join on are sampled (not
    the payloads), after the commit, so the lock ANALYZE takes is held for its own run only.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ANALYZE projects_task ({ANALYZED_COLUMNS})")
    except DatabaseError:  # statistics are an optimisation: the import itself is done
        logger.warning("ANALYZE after an import failed", exc_info=True)


class _WriteRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is_unique_violation(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return True
        exc = exc.__cause__
    return False


def _copy_rows(copy, rows_file, prefix: bytes) -> None:
    chunk: list[bytes] = []
    size = 0
    for line in rows_file:
        chunk.append(prefix)
        chunk.append(line)
        size += len(line) + len(prefix)
        if size >= COPY_CHUNK_BYTES:
            copy.write(b"".join(chunk))
            chunk.clear()
            size = 0
    if chunk:
        copy.write(b"".join(chunk))


# --- housekeeping -----------------------------------------------------------------------------


def task_import_files_purge(*, older_than: timedelta = timedelta(days=7), now: datetime | None = None) -> int:
    """Delete the stored uploads of imports finished more than `older_than` ago; the import
    records, with their counts and errors, are kept. Returns how many files were removed."""
    cutoff = (now or timezone.now()) - older_than
    purged = 0
    stale = TaskImport.objects.filter(finished_at__lt=cutoff).exclude(file="").only("pk", "file")
    for task_import in stale.iterator(chunk_size=500):
        name = task_import.file.name
        storage = task_import.file.storage
        # Clear the reference first: a file left behind is harmless, a record pointing
        # at a missing file is not.
        if TaskImport.objects.filter(pk=task_import.pk, file=name).update(file=""):
            storage.delete(name)
            purged += 1
    return purged
