import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def first_versions(apps, schema_editor):
    """Every project's instructions as they are become its version 1."""
    Project = apps.get_model("projects", "Project")
    InstructionVersion = apps.get_model("projects", "InstructionVersion")
    InstructionVersion.objects.bulk_create([
        InstructionVersion(project_id=pk, number=1, text=text or "", change_note="The instructions when versions began.")
        for pk, text in Project.objects.values_list("pk", "instructions")
    ])


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0015_contractor_pay_estimate_idle"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="project", name="instructions_version",
                            field=models.PositiveIntegerField(default=1, editable=False)),
        migrations.CreateModel(
            name="InstructionVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("text", models.TextField(blank=True)),
                ("change_note", models.CharField(blank=True, max_length=500)),
                ("material", models.BooleanField(default=False,
                                                 help_text="Changes how the work is done: contractors are told.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
                ("project", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                              related_name="instruction_versions", to="projects.project")),
            ],
            options={"ordering": ["project", "-number"]},
        ),
        migrations.AddConstraint(
            model_name="instructionversion",
            constraint=models.UniqueConstraint(fields=("project", "number"), name="instruction_version_number_once"),
        ),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
        # Audio clips join the media library (audio time-stamping).
        migrations.AlterField(model_name="mediafile", name="kind",
                              field=models.CharField(choices=[("image", "Image"), ("video", "Video"),
                                                              ("audio", "Audio")], max_length=8)),
    ]
