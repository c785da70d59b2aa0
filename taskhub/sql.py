"""SQL that the database runs for an app (functions, views, triggers) lives in that app's `sql/`
folder, one file per rule, and its migrations load it with `run_sql_file`.

A file holds the current definition of its objects, written so that running it again replaces
them (`CREATE OR REPLACE FUNCTION / VIEW / TRIGGER`): a migration that changes a rule edits the
file and loads it again. On a fresh database every loading migration runs in order, so a file
may only use what exists at the first migration that loads it; should a change need a later
column, copy the old text into that first migration and load the file only from the new one.

`Prepared` runs the hot statements of the claim-and-submit cycle as prepared statements.
"""

from __future__ import annotations

import hashlib
import importlib
import weakref
from pathlib import Path

import psycopg
from django.db import migrations


def sql_path(app: str, name: str) -> Path:
    package = importlib.import_module(app)
    return Path(package.__file__).resolve().parent / "sql" / name


def sql_text(app: str, name: str) -> str:
    return sql_path(app, name).read_text(encoding="utf-8")


def run_sql_file(app: str, name: str, *, reverse_sql: str | None = None) -> migrations.RunSQL:
    """A migration operation running `<app>/sql/<name>` (read when the migration runs)."""
    return migrations.RunSQL(sql_text(app, name), reverse_sql or migrations.RunSQL.noop)


class Prepared:
    """A hot statement prepared once per database connection and then executed by name, so the
    planner's work is done once per connection, not once per request (for the submit's pay post it
    is ten times the execution). Prepared statements live in the session and survive rollbacks; the
    name carries a hash of the text, so a changed statement is never confused with an old one.

    Written with named placeholders (`%(claim)s`), each declared with its SQL type in `params`, in
    order. With Django's default client-side binding, a connection that does not have the statement
    yet gets the PREPARE in the same query string as its first EXECUTE (one round trip); after a
    query that sent the PREPARE and failed, whether it exists is asked once (`prefix`).
    """

    def __init__(self, name: str, sql: str, params: dict[str, str]) -> None:
        positional = sql
        for position, param in enumerate(params, 1):
            positional = positional.replace(f"%({param})s", f"${position}")
        if "%(" in positional:
            raise ValueError(f"{name}: a placeholder is not declared in params")
        digest = hashlib.sha256(positional.encode()).hexdigest()[:12]
        self.name = f"taskhub_{name}_{digest}"
        self.sql = sql  # as written, for server-side binding (psycopg prepares it itself)
        self.prepare_sql = f"PREPARE {self.name} ({', '.join(params.values())}) AS {positional};"
        self.execute_sql = f"EXECUTE {self.name} ({', '.join(f'%({param})s' for param in params)})"
        # What this process knows of each psycopg connection (one Django closes and reopens is a new
        # object): absent, never prepared on it; True, it is; False, a query that sent the PREPARE
        # failed, so whether it exists must be asked.
        self.prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        Prepared._all.append(self)

    # Every statement made, so that what this process knows of a connection can be forgotten at once.
    _all: list[Prepared] = []

    @classmethod
    def forget(cls, pg_connection) -> None:
        """After the session's statements were dropped (`DEALLOCATE ALL`, `DISCARD ALL`): prepare anew."""
        for statement in cls._all:
            statement.prepared_on.pop(pg_connection, None)

    @staticmethod
    def client_side(cursor) -> bool:
        return isinstance(cursor.cursor, psycopg.ClientCursor)

    def prefix(self, cursor) -> str:
        """What to send ahead of the EXECUTE on `cursor` so that the statement exists: usually nothing."""
        pg_connection = cursor.cursor.connection
        known = self.prepared_on.get(pg_connection)
        if known:
            return ""
        if known is False:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = %s)", [self.name])
            if cursor.fetchone()[0]:
                self.prepared_on[pg_connection] = True
                return ""
        self.prepared_on[pg_connection] = False
        return self.prepare_sql

    def sent(self, cursor) -> None:
        """The query holding the PREPARE (if any) succeeded."""
        self.prepared_on[cursor.cursor.connection] = True

    def execute(self, cursor, params: dict) -> None:
        """Run the statement alone; the cursor is left on its result (rows, rowcount)."""
        if not self.client_side(cursor):
            cursor.execute(self.sql, params)
            return
        prefix = self.prefix(cursor)
        cursor.execute(prefix + self.execute_sql, params)
        self.sent(cursor)
        if prefix:
            cursor.nextset()  # past the PREPARE's own result


class HotRead:
    """One row of `model` with the rows of some of its (non-null) foreign keys, read by a prepared
    statement written once from the models' fields, for the reads of the claim-and-submit cycle: the
    ORM compiles a query on every call, and for these reads that costs more than running them.

    `where` is SQL over the aliases `m` (the model) and the foreign keys' names, with named
    placeholders declared in `params`. Values go through the same converters the ORM applies, and the
    instances are the ORM's own (`Model.from_db`), the related ones cached on the model's instance."""

    def __init__(self, name: str, model, *, related: tuple[str, ...] = (), where: str,
                 params: dict[str, str]) -> None:
        self.model = model
        self.related = [(fk, model._meta.get_field(fk)) for fk in related]
        parts = [(model, "m")] + [(field.related_model, fk) for fk, field in self.related]
        self._parts = []
        columns: list[str] = []
        for part_model, alias in parts:
            fields = list(part_model._meta.concrete_fields)
            self._parts.append((part_model, [f.attname for f in fields], len(fields), fields, alias))
            columns += [f'{alias}."{f.column}"' for f in fields]
        joins = "".join(
            f' JOIN "{field.related_model._meta.db_table}" {fk}'
            f' ON {fk}."{field.target_field.column}" = m."{field.column}"'
            for fk, field in self.related
        )
        self.statement = Prepared(
            name, f'SELECT {", ".join(columns)} FROM "{model._meta.db_table}" m{joins} WHERE {where} LIMIT 1', params)
        self._converters = None

    def _converters_for(self, connection) -> list:
        if self._converters is None:
            converters = []
            for _model, _names, _count, fields, alias in self._parts:
                for field in fields:
                    col = field.get_col(alias)
                    converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
            self._converters = converters
        return self._converters

    def get(self, params: dict):
        from django.db import connection

        with connection.cursor() as cursor:
            self.statement.execute(cursor, params)
            row = cursor.fetchone()
        if row is None:
            return None
        converters = self._converters_for(connection)
        values = list(row)
        for index, (col, chain) in enumerate(converters):
            for converter in chain:
                values[index] = converter(values[index], col, connection)
        instances, start = [], 0
        for part_model, names, count, _fields, _alias in self._parts:
            instances.append(part_model.from_db(connection.alias, names, values[start:start + count]))
            start += count
        instance = instances[0]
        for (fk, _field), related in zip(self.related, instances[1:], strict=True):
            setattr(instance, fk, related)
        return instance
