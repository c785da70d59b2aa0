"""What the benchmarks share for seeding: `insert_select`, a bulk INSERT ... SELECT that gives every
column it is not told about the model field's default, so that columns added to these tables later
never break a benchmark's seed (a raw INSERT naming its columns does: a new NOT NULL column fails it)."""

from django.db import connection
from django.db.models import NOT_PROVIDED


def insert_select(model, given: dict[str, str], source: str, params: dict | None = None) -> int:
    """INSERT INTO model's table SELECT the `given` column expressions FROM `source`.

    Columns not given get the model field's default (so columns other people add to these
    tables later do not break the benchmark); database defaults and nullable columns are left out.
    """
    columns, exprs, values = [], [], dict(params or {})
    for field in model._meta.concrete_fields:
        column = field.column
        if column in given:
            columns.append(column)
            exprs.append(given[column])
            continue
        if field.primary_key or field.db_default is not NOT_PROVIDED:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            columns.append(column)
            exprs.append("now()")
            continue
        if field.null and not field.has_default():
            continue
        name = f"default_{column}"
        values[name] = field.get_db_prep_save(field.get_default(), connection)
        columns.append(column)
        exprs.append(f"%({name})s")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.rowcount
