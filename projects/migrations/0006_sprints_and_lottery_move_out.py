"""Sprints (with their members and announcements) move to the sprints app and the lottery's
records to the claim engine (annotations); their tables and rows stay, renamed by those apps'
migrations. The rules the database applies for projects now live in projects/sql/, and import
errors take the one error item shape, {line, field, message}."""

from django.db import migrations



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


# The text of projects/sql/rate_in_force.sql as this migration first loaded it (later migrations load the
# file as it is now, see taskhub/sql.py).
RATE_IN_FORCE_SQL = """
-- THE rule of the rate in force: of a project's append-only rate history, the rate with the latest
-- effective_from at or before the moment, the highest id among equal times (NULL before the first).
-- Python reads it through projects.selectors.rate_in_force; the submission's pay_rate_id follows it
-- (annotations/sql/submission_cache.sql). The index payrate_in_force_idx serves it.
CREATE OR REPLACE FUNCTION projects_pay_rate_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT r.id FROM projects_payrate r
    WHERE r.project_id = project AND r.effective_from <= at
    ORDER BY r.effective_from DESC, r.id DESC
    LIMIT 1
$$;
"""

# The text of projects/sql/eligibility.sql as this migration first loaded it (later migrations load the
# file as it is now, see taskhub/sql.py).
ELIGIBILITY_SQL = """
-- THE rule of who may work on a project: an active contractor, on an active project, holding the
-- project's qualification when it needs one. Python reads it through
-- projects.selectors.contractors_eligible_for / contractor_is_eligible; the derived fair-share cap
-- and the lottery's quotas use it in their own statements.
CREATE OR REPLACE FUNCTION projects_contractor_is_eligible(contractor bigint, project bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT COALESCE((
        SELECT u.role = 'contractor' AND u.is_active AND p.status = 'active'
               AND (p.qualification_id IS NULL OR EXISTS (
                   SELECT 1 FROM projects_qualification q
                   WHERE q.contractor_id = u.id AND q.project_id = p.qualification_id))
        FROM accounts_user u, projects_project p
        WHERE u.id = contractor AND p.id = project
    ), false)
$$;
"""

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
        migrations.RunSQL(RATE_IN_FORCE_SQL,
                     reverse_sql="DROP FUNCTION IF EXISTS projects_pay_rate_in_force(bigint, timestamptz);"),
        migrations.RunSQL(ELIGIBILITY_SQL,
                     reverse_sql="DROP FUNCTION IF EXISTS projects_contractor_is_eligible(bigint, bigint);"),
        migrations.RunPython(forward, backward),
    ]
