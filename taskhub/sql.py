"""SQL that the database runs for an app (functions, views, triggers) lives in that app's `sql/`
folder, one file per rule, and its migrations load it with `run_sql_file`.

A file holds the current definition of its objects, written so that running it again replaces
them (`CREATE OR REPLACE FUNCTION / VIEW / TRIGGER`): a migration that changes a rule edits the
file and loads it again. On a fresh database every loading migration runs in order, so a file
may only use what exists at the first migration that loads it; should a change need a later
column, copy the old text into that first migration and load the file only from the new one.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from django.db import migrations


def sql_path(app: str, name: str) -> Path:
    package = importlib.import_module(app)
    return Path(package.__file__).resolve().parent / "sql" / name


def sql_text(app: str, name: str) -> str:
    return sql_path(app, name).read_text(encoding="utf-8")


def run_sql_file(app: str, name: str, *, reverse_sql: str | None = None) -> migrations.RunSQL:
    """A migration operation running `<app>/sql/<name>` (read when the migration runs)."""
    return migrations.RunSQL(sql_text(app, name), reverse_sql or migrations.RunSQL.noop)
