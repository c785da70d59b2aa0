"""The unfinished-task check after a submit, as a function whose plan stays on task_unfinished_idx
(projects/sql/batch_progress.sql)."""

from django.db import migrations

from taskhub.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("projects", "0017_batch_closed_reason")]

    operations = [
        run_sql_file("projects", "batch_progress.sql",
                     reverse_sql="DROP FUNCTION IF EXISTS projects_batch_has_unfinished_task(bigint)"),
    ]
