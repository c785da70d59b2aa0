"""Task imports name their project, and an upload into a new batch creates it only when its tasks are
written (a failed import no longer leaves an empty draft batch behind)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0008_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskimport",
            name="project",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="imports",
                                    to="projects.project"),
        ),
        migrations.RunSQL(
            "UPDATE projects_taskimport i SET project_id = b.project_id FROM projects_batch b WHERE b.id = i.batch_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="taskimport",
            name="project",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="imports",
                                    to="projects.project"),
        ),
        migrations.AddField(
            model_name="taskimport",
            name="new_batch_name",
            field=models.CharField(blank=True, help_text="For an upload into a new batch: its name, created once the "
                                   "tasks are.", max_length=200),
        ),
        migrations.AlterField(
            model_name="taskimport",
            name="batch",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="imports", to="projects.batch"),
        ),
        migrations.AddConstraint(
            model_name="taskimport",
            constraint=models.CheckConstraint(condition=models.Q(("batch__isnull", False),
                                                                 models.Q(("new_batch_name", ""), _negated=True),
                                                                 _connector="OR"),
                                              name="taskimport_batch_or_new_batch_name"),
        ),
    ]
