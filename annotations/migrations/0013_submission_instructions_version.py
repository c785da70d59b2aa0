import django.db.models.deletion
from django.db import migrations, models

# Work done before versions began was done under the only version there is: each project's version 1.
BACKFILL = """
UPDATE annotations_submission s SET instructions_version_id = v.id
FROM projects_instructionversion v
WHERE v.project_id = s.project_id
  AND v.number = (SELECT max(number) FROM projects_instructionversion w WHERE w.project_id = s.project_id)
  AND s.instructions_version_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0012_second_opinions"),
        ("projects", "0016_instruction_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission", name="instructions_version",
            field=models.ForeignKey(blank=True, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="projects.instructionversion"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
