"""The streaming writer: one `COPY (SELECT ...) TO STDOUT` whose rows PostgreSQL builds (the
format's statement), read row by row into the output file. Memory stays flat whatever the size:
nothing but the current row is held.

The export reads on a connection of its own, in one REPEATABLE READ READ ONLY transaction, so the
count it reports progress against and the rows it writes come from the same snapshot, and its
progress can be saved meanwhile on Django's connection.

JSON rows are copied with the CSV format, a quote and a delimiter that cannot occur in them
(PostgreSQL escapes every control character in JSON text), so the bytes that arrive are the JSON
as it is, one line each; the `csv` format is PostgreSQL's own CSV with a header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import psycopg
from django.db import connection

from ..pseudonyms import PSEUDONYM_SQL, pseudonym_key
from .formats import FORMATS, ExportFormat, Parts, Statement
from .options import ExportOptions

# Progress is reported at most this often (seconds), checked every PROGRESS_ROWS rows.
PROGRESS_SECONDS = 1.0
PROGRESS_ROWS = 5_000
_JSON_COPY = "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
_CSV_COPY = "WITH (FORMAT csv, HEADER true)"

ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class ExportSpec:
    project_id: int
    task_type: str
    format: str
    options: ExportOptions
    batch_id: int | None = None

    @property
    def export_format(self) -> ExportFormat:
        return FORMATS[self.format]


def _filters(spec: ExportSpec) -> tuple[list[str], list[str], dict]:
    """The filters as SQL: all of them, and those the progress count uses (the submission's own
    columns, the batch as a semi-join: an index scan, no join of the payloads)."""
    o = spec.options
    where = ["s.project_id = %(project)s"]
    params: dict = {"project": spec.project_id}
    if spec.batch_id is not None:
        where.append("s.task_id IN (SELECT id FROM projects_task WHERE batch_id = %(batch)s)")
        params["batch"] = spec.batch_id
    if o.min_grade is not None:
        where.append("s.final_grade >= %(min_grade)s")
        params["min_grade"] = o.min_grade
    if o.exclude_gold:
        where.append("NOT s.is_gold")
    if o.reviewed_only:
        where.append("s.final_grade IS NOT NULL")
    if o.submitted_from is not None:
        where.append("s.submitted_at >= %(submitted_from)s")
        params["submitted_from"] = o.submitted_from
    if o.submitted_to is not None:
        where.append("s.submitted_at < %(submitted_to)s")
        params["submitted_to"] = o.submitted_to
    counted = list(where)
    if o.full_overlap_only:
        where.append("t.submitted_count >= t.overlap")
    return where, counted, params


def compose(spec: ExportSpec) -> tuple[str, str, dict]:
    """The export's SELECT, the count its progress is measured against, and their parameters.

    The count is of the submissions in scope, without the task-level and the format's own conditions
    (a tie left out, a span more than one line): an estimate, so a percentage stays below 100 until
    the export is done, bought for a fraction of the export's own time."""
    where, counted, params = _filters(spec)
    if spec.options.contractor_ids:
        contractor = "s.contractor_id"
    else:
        contractor = PSEUDONYM_SQL
        params["pseudonym_key"] = pseudonym_key(spec.project_id)
    statement: Statement = spec.export_format.build(Parts(options=spec.options, task_type=spec.task_type,
                                                          contractor=contractor))
    if statement.where:
        where.append(statement.where)
    body = "FROM annotations_submission s JOIN projects_task t ON t.id = s.task_id"
    if spec.options.final_labels:
        body += " LEFT JOIN annotations_tasklabel fl ON fl.task_id = s.task_id"
    if statement.joins:
        body += " " + statement.joins
    body += " WHERE " + " AND ".join(where)
    group = f" GROUP BY {statement.group_by}" if statement.group_by else ""
    select = f"SELECT {statement.select} {body}{group} ORDER BY {statement.order_by}"
    count = "SELECT count(*) FROM annotations_submission s WHERE " + " AND ".join(counted)
    return select, count, params


@contextmanager
def _reading_cursor():
    """A cursor for the export's reads, and whether progress may be saved meanwhile.

    Normally a connection of its own, in one REPEATABLE READ READ ONLY transaction. Called inside a
    transaction (a test, a caller's atomic block), the export reads in that transaction instead, so it
    sees what the transaction wrote; the connection is then busy with the COPY, so progress is
    reported once, at the end."""
    if connection.in_atomic_block:
        connection.ensure_connection()
        with psycopg.ClientCursor(connection.connection) as cursor:
            yield cursor, False
        return
    params = dict(connection.get_connection_params())
    for option in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(option, None)
    # Client-side binding: COPY takes no server-side parameters.
    with psycopg.connect(**params, cursor_factory=psycopg.ClientCursor) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            yield cursor, True
        conn.rollback()


def export_write(spec: ExportSpec, out: BinaryIO, *, on_progress: ProgressCallback | None = None,
                 count: bool = True) -> int:
    """Stream the export's rows into `out`; returns how many rows were written. `on_progress(rows,
    total)` is called about once a second (total is None when `count` is False)."""
    select, count_sql, params = compose(spec)
    layout = spec.export_format.layout
    rows = 0
    with _reading_cursor() as (cursor, live_progress):
        report = on_progress if live_progress else None
        total = None
        if count:
            cursor.execute(count_sql, params)
            total = cursor.fetchone()[0]
        if report:
            report(0, total)
        options = _CSV_COPY if layout == "csv" else _JSON_COPY
        next_report = time.monotonic() + PROGRESS_SECONDS
        write = out.write
        if layout == "json_array":
            write(b"[")
        with cursor.copy(f"COPY ({select}) TO STDOUT {options}", params) as copy:
            read = copy.read
            separator = b"\n"
            while data := read():
                if layout == "json_array":
                    write(separator)
                    write(bytes(data)[:-1])
                    separator = b",\n"
                else:
                    write(data)
                rows += 1
                if report and rows % PROGRESS_ROWS == 0 and time.monotonic() >= next_report:
                    report(rows, total)
                    next_report = time.monotonic() + PROGRESS_SECONDS
        if layout == "json_array":
            write(b"\n]\n" if rows else b"]\n")
        if layout == "csv":
            rows = max(0, rows - 1)  # the header
    if on_progress:
        on_progress(rows, total)
    return rows
