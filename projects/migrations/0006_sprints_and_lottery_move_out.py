"""Sprints (with their members and announcements) move to the sprints app and the lottery's
records to the claim engine (annotations); their tables and rows stay, renamed by those apps'
migrations. The rules the database applies for projects now live in projects/sql/, and import
errors take the one error item shape, {line, field, message}."""

from django.db import migrations

from taskhub.sql import run_sql_file


_OLD_TO_NEW = {"loc": "field", "msg": "message"}


def _rename_error_keys(apps, renames: dict[str, str]) -> None:
    task_import = apps.get_model("projects", "TaskImport")
    for row in task_import.objects.exclude(errors=[]).only("pk", "errors").iterator(chunk_size=500):
        errors = [{renames.get(key, key): value for key, value in item.items()} for item in row.errors]
        task_import.objects.filter(pk=row.pk).update(errors=errors)


def forward(apps, schema_editor):
    _rename_error_keys(apps, _OLD_TO_NEW)


def backward(apps, schema_editor):
    _rename_error_keys(apps, {new: old for old, new in _OLD_TO_NEW.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_sprints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(model_name="lotteryallocation", name="batch"),
            migrations.RemoveField(model_name="lotteryentry", name="batch"),
            migrations.RemoveField(model_name="lotteryentry", name="contractor"),
            migrations.RemoveField(model_name="sprint", name="lead"),
            migrations.RemoveField(model_name="sprint", name="members"),
            migrations.RemoveField(model_name="sprint", name="projects"),
            migrations.RemoveField(model_name="sprintmember", name="sprint"),
            migrations.RemoveField(model_name="sprintmember", name="contractor"),
            migrations.DeleteModel(name="Announcement"),
            migrations.DeleteModel(name="LotteryAllocation"),
            migrations.DeleteModel(name="LotteryEntry"),
            migrations.DeleteModel(name="Sprint"),
            migrations.DeleteModel(name="SprintMember"),
        ]),
        run_sql_file("projects", "rate_in_force.sql",
                     reverse_sql="DROP FUNCTION IF EXISTS projects_pay_rate_in_force(bigint, timestamptz);"),
        run_sql_file("projects", "eligibility.sql",
                     reverse_sql="DROP FUNCTION IF EXISTS projects_contractor_is_eligible(bigint, bigint);"),
        migrations.RunPython(forward, backward),
    ]
