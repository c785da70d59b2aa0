"""The lottery's records (entries and draws) move here from projects, to the claim engine that draws
them: the same rows under this app's table names. The submission's cached columns now follow the
rate-in-force rule of projects (projects_pay_rate_in_force), and this app's SQL loads from
annotations/sql/."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from taskhub.migration_ops import move_content_types, rename_tables
from taskhub.sql import run_sql_file, sql_text

# Going back: the rule under its old name, for the functions of annotations 0005 that call it.
_BACK_TO_0005 = (
    """
CREATE OR REPLACE FUNCTION annotations_pay_rate_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT projects_pay_rate_in_force(project, at) $$;
"""
    + sql_text("annotations", "submission_cache.sql").replace("projects_pay_rate_in_force", "annotations_pay_rate_in_force")
)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("annotations", "0005_submission_pay_rate_posted_cents"),
        ("projects", "0006_sprints_and_lottery_move_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='submission',
            name='pay_rate',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, help_text="The project's rate in force when the work was submitted (function projects_pay_rate_in_force); empty before the project's first rate.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='projects.payrate'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LotteryAllocation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seed', models.BigIntegerField()),
                        ('participants', models.PositiveIntegerField()),
                        ('requested_total', models.PositiveIntegerField()),
                        ('slots_total', models.PositiveIntegerField(help_text='Free task slots (tasks x overlap) at allocation.')),
                        ('claims_created', models.PositiveIntegerField()),
                        ('fair_share_cap', models.PositiveIntegerField(blank=True, null=True)),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('allocated_at', models.DateTimeField()),
                        ('batch', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='lottery_allocation', to='projects.batch')),
                    ],
                    options={
                        'ordering': ['-allocated_at'],
                    },
                ),
                migrations.CreateModel(
                    name='LotteryEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('requested', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1)])),
                        ('quota', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('allocated', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lottery_entries', to='projects.batch')),
                        ('contractor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lottery_entries', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['batch', 'created_at'],
                        'constraints': [models.UniqueConstraint(fields=('batch', 'contractor'), name='lottery_entry_once_per_batch'), models.CheckConstraint(condition=models.Q(('requested__gte', 1)), name='lottery_entry_requested_positive')],
                    },
                ),
            ],
            database_operations=[rename_tables([("projects_lotteryentry", "annotations_lotteryentry"),
                                                ("projects_lotteryallocation", "annotations_lotteryallocation")])],
        ),
        move_content_types("projects", "annotations", ["lotteryentry", "lotteryallocation"]),
        run_sql_file("annotations", "final_grade.sql"),
        run_sql_file("annotations", "submission_cache.sql", reverse_sql=_BACK_TO_0005),
        migrations.RunSQL("DROP FUNCTION annotations_pay_rate_in_force(bigint, timestamptz);", migrations.RunSQL.noop),
    ]
