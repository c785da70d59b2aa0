"""Task imports: an uploaded file becomes a batch's tasks, all of them or none.

`task_import_create` stores the upload and enqueues the run once the row is committed.
`task_import_run` does the work in ONE pass inside ONE transaction:

- the batch is locked (or the upload's new batch created) and its external ids read;
- the file is streamed, every line checked against the task type and against the other
  lines and the batch (duplicate external ids), and each clean row is handed at once to a
  PostgreSQL COPY into projects_task. Python checks the next lines while PostgreSQL writes
  the last ones, so the import takes about as long as the COPY alone;
- once a line is bad nothing more is written, the rest of the file is still checked (so the
  admin sees every error), and the transaction is rolled back: a failure, or a worker killed
  half-way, leaves nothing written; a re-run (Celery redelivers unacknowledged tasks) starts
  over and completes.

Progress is saved every few thousand lines from a connection of its own (autocommitted), so the
admin page can show it while the run's transaction is still open.

A run holds a session-level advisory lock on its import, so two workers never run the
same import; the lock goes with the connection if the worker dies.
"""

from __future__ import annotations

import logging
import secrets
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


class _Progress:
    """Saves a run's progress where other sessions see it while the run's transaction is open: on
    a connection of its own, autocommitted, opened on first use. Saving is best effort (a lost
    progress update only delays what the page shows), and `on_progress` is called either way."""

    def __init__(self, task_import: TaskImport, on_progress: ProgressCallback | None) -> None:
        self.task_import = task_import
        self.on_progress = on_progress
        self._conn: psycopg.Connection | None = None

    def _execute(self, sql: str, params: list) -> None:
        try:
            if self._conn is None:
                params_ = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
                self._conn = psycopg.connect(**params_, autocommit=True)
            self._conn.execute(sql, params)
        except psycopg.Error:
            logger.warning("saving the progress of task import %s failed", self.task_import.pk, exc_info=True)

    def save(self) -> None:
        ti = self.task_import
        self._execute("UPDATE projects_taskimport SET processed_lines = %s, processed_bytes = %s WHERE id = %s",
                      [ti.processed_lines, ti.processed_bytes, ti.pk])
        if self.on_progress:
            self.on_progress(ti)

    def detected(self, **fields) -> None:
        """The detected format and the shuffle's seed, saved before any record is read, so a re-run
        after a crash reads the file the same way and draws the same order."""
        columns = ", ".join(f"{name} = %s" for name in fields)
        self._execute(f"UPDATE projects_taskimport SET {columns} WHERE id = %s",
                      [*fields.values(), self.task_import.pk])

    def writing(self) -> None:
        """Every line is checked; what is left is PostgreSQL finishing the COPY and the commit."""
        ti = self.task_import
        ti.status = ST.WRITING
        self._execute("UPDATE projects_taskimport SET status = %s, processed_lines = %s, processed_bytes = %s "
                      "WHERE id = %s AND status = %s", [ST.WRITING, ti.processed_lines, ti.processed_bytes, ti.pk,
                                                        ST.VALIDATING])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


class _Rows:
    """The COPY's input: clean rows, prefixed with the batch's columns, handed to PostgreSQL in
    chunks of about COPY_CHUNK_BYTES. After the first bad line it only counts."""

    def __init__(self, copy, prefix: bytes) -> None:
        self.copy = copy
        self.prefix = prefix
        self.count = 0
        self._chunk: list[bytes] = []
        self._size = 0
        self.open = True

    def add(self, row: bytes) -> None:
        self.count += 1
        if not self.open:
            return
        self._chunk.append(self.prefix)
        self._chunk.append(row)
        self._size += len(self.prefix) + len(row)
        if self._size >= COPY_CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._chunk and self.open:
            self.copy.write(b"".join(self._chunk))
        self._chunk.clear()
        self._size = 0

    def stop(self) -> None:
        """A line was bad: nothing more goes to PostgreSQL (the transaction will be rolled back)."""
        self._chunk.clear()
        self.open = False


class _Invalid(Exception):
    """The file has bad lines: roll the run's transaction back (check.errors says why)."""


def _run(task_import: TaskImport, on_progress: ProgressCallback | None) -> TaskImport:
    if not task_import.file:
        gone = importers.LineError(None, "The uploaded file is no longer stored.", "file")
        return _fail(task_import, [gone.as_dict()], 1)

    check = _Validation()
    progress = _Progress(task_import, on_progress)
    try:
        with task_import.file.open("rb") as raw:
            reader = importers.LineReader(raw, max_line_bytes=settings.TASKHUB_IMPORT_MAX_LINE_BYTES,
                                          max_bytes=settings.TASKHUB_IMPORT_MAX_BYTES,
                                          max_lines=settings.TASKHUB_IMPORT_MAX_LINES)
            with transaction.atomic():
                batch = _batch_for_writing(task_import)
                existing = _existing_ids(batch)
                now = timezone.now()
                prefix = f"{batch.pk}\t{batch.project_id}\t{batch.project.overlap}\t0\t0\t{now.isoformat()}\t"
                # What the checks read from the database is read now: while the COPY runs, its
                # connection takes no other statement (the guard makes a forgotten one fail, not hang).
                task_import.project.media_index()
                with connection.cursor() as cursor, \
                        cursor.copy(f"COPY projects_task ({COPY_COLUMNS}) FROM STDIN") as copy, \
                        connection.execute_wrapper(_no_statement_during_copy):
                    rows = _Rows(copy, prefix.encode())
                    _check_file(task_import, reader, rows, existing, check, progress)
                    if check.error_count:
                        raise _Invalid
                    rows.flush()
                    progress.writing()
                done = TaskImport.objects.filter(pk=task_import.pk, status__in=[ST.VALIDATING, ST.WRITING]).update(
                    status=ST.DONE, imported_count=rows.count, finished_at=now, batch=batch,
                    format=task_import.format, seed=task_import.seed,
                    processed_lines=task_import.processed_lines, processed_bytes=task_import.total_bytes,
                    errors=[], error_count=0,
                )
                if not done:
                    raise _WriteRefused("The import was taken over by another run; nothing was written by this one.")
    except _Invalid:
        return _fail(task_import, check.errors, check.error_count)
    except _WriteRefused as exc:
        return _fail(task_import, [importers.LineError(None, exc.message, "batch").as_dict()], 1)
    except (psycopg.errors.UniqueViolation, DatabaseError) as exc:
        if not _is_unique_violation(exc):
            raise
        detail = getattr(getattr(exc, "diag", None), "message_detail", None) or str(exc)
        message = (f"A task with one of these external ids was added to the batch while the file was being "
                   f"checked ({detail}); nothing was imported.")
        return _fail(task_import, [importers.LineError(None, message, "external_id").as_dict()], 1)
    finally:
        progress.close()
    _refresh_statistics()
    task_import.refresh_from_db()
    return task_import


def _no_statement_during_copy(execute, sql, params, many, context):
    raise RuntimeError(f"A statement was sent on the import's connection while its COPY is open: {sql[:200]}")


def _batch_for_writing(task_import: TaskImport) -> Batch:
    """The batch the rows go into, locked until the run commits; the upload's new batch is created
    here (it exists from the moment its tasks do: a rolled-back run leaves no batch). The import's
    row is not written before the end, so the progress connection never waits on this transaction."""
    if task_import.batch_id is None:
        return Batch.objects.create(project=task_import.project, name=task_import.new_batch_name,
                                    status=Batch.Status.DRAFT, created_by=task_import.created_by)
    batch = Batch.objects.select_for_update().select_related("project").get(pk=task_import.batch_id)
    if batch.status in (Batch.Status.CLOSED, Batch.Status.EXHAUSTED):
        raise _WriteRefused(f"The batch is {batch.get_status_display().lower()}; tasks cannot be imported into it.")
    return batch


def _existing_ids(batch: Batch) -> set[str]:
    """The batch's external ids, read under its lock (a new batch has none)."""
    return set(Task.objects.filter(batch_id=batch.pk).values_list("external_id", flat=True))


def _check_file(task_import, reader, rows: _Rows, existing: set, check: _Validation, progress: _Progress) -> None:
    """Check every line, handing the clean rows to the COPY; record what is wrong in `check`."""
    project = task_import.project
    try:
        records = _records(task_import, project, reader, progress)
        if records is None:
            check.add(importers.LineError(None, "The file is empty: there are no tasks to import."))
        else:
            _validate(task_import, project, reader, records, rows, existing, check, progress)
    except importers.FileError as exc:
        check.add(importers.LineError(exc.line, exc.message))
    except _FormatRefused as exc:
        check.add(exc.error)
    task_import.processed_bytes = reader.position() or task_import.total_bytes
    if check.error_count == 0 and rows.count == 0:
        check.add(importers.LineError(None, "The file has no tasks in it, only blank lines or a header."))
    check.rows = rows.count


class _FormatRefused(Exception):
    def __init__(self, error: importers.LineError) -> None:
        self.error = error


def _records(task_import: TaskImport, project: Project, reader: importers.LineReader, progress: _Progress):
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
        progress.detected(**updates)

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


def _validate(task_import, project, reader, records, rows: _Rows, existing: set, check: _Validation,
              progress: _Progress) -> None:
    kind = project.type
    seen: dict[str, int] = {}
    next_progress = PROGRESS_EVERY
    for record in records:
        if isinstance(record, importers.LineError):
            check.add(record)
            line_number = record.line or 0
        else:
            line_number = record.line
            row = _clean(record, kind, project, existing, seen, check)
            if row is not None:
                rows.add(row)
        if check.error_count and rows.open:
            rows.stop()
        if line_number >= next_progress:
            next_progress = line_number + PROGRESS_EVERY
            task_import.processed_lines = line_number
            task_import.processed_bytes = reader.position()
            progress.save()
        task_import.processed_lines = max(task_import.processed_lines, line_number)


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
