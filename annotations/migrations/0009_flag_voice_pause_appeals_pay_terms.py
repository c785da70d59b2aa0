"""No back doors (issue 17): the flagged contractor's answer and the response window before a pause,
appeals of pauses, and the grade policy and pay terms in force kept on each submission (the cached
columns of annotations/sql/submission_cache.sql, now loaded again and backfilled)."""

import django.db.models.deletion

import annotations.models
from django.conf import settings
from django.db import migrations, models

from taskhub.sql import run_sql_file

# Flags opened before the window existed get the default window from their opening.
FLAG_WINDOWS = "UPDATE annotations_contractorflag SET respond_until = created_at + interval '48 hours';"
# The guard recomputes the three columns of every row a statement moves (see the SQL file).
BACKFILL = "UPDATE annotations_submission SET grade_policy_id = -1;"


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0008_reservations_and_demand'),
        ('projects', '0012_lineage_policy_history_revocations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PauseAppeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.TextField()),
                ('status', models.CharField(choices=[('open', 'Open'), ('upheld', 'Pause upheld'), ('lifted', 'Pause lifted')], default='open', max_length=16)),
                ('decision_reason', models.TextField(blank=True)),
                ('created_at', models.DateTimeField()),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='contractorflag',
            name='respond_until',
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(FLAG_WINDOWS, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='contractorflag',
            name='respond_until',
            field=models.DateTimeField(default=annotations.models._respond_until_default),
        ),
        migrations.AddField(
            model_name='contractorflag',
            name='responded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='contractorflag',
            name='response',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='contractorflag',
            name='urgent',
            field=models.BooleanField(default=False, help_text='Paused before the response window ended.'),
        ),
        migrations.AddField(
            model_name='contractorflag',
            name='urgent_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='submission',
            name='grade_policy',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, help_text='The grade policy in force when the work was submitted (function projects_grade_policy_in_force); empty: the default percents.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='projects.gradepolicy'),
        ),
        migrations.AddField(
            model_name='submission',
            name='pay_terms',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, help_text='The pair of the two above (function projects_pay_terms_for), whose pay cells the recompute reads.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='projects.payterms'),
        ),
        migrations.AlterField(
            model_name='reviewevent',
            name='kind',
            field=models.CharField(choices=[('created', 'Review created'), ('graded_automatically', 'Graded automatically'), ('calibrated', 'Calibration grade'), ('appealed', 'Appealed'), ('upheld', 'Appeal upheld'), ('revised', 'Appeal revised the grade'), ('flagged', "Flagged for a lead's decision"), ('decided', 'Lead decided on a flag'), ('pause_lifted', 'Pause lifted'), ('responded', 'Contractor answered a flag'), ('pause_appealed', 'Pause appealed'), ('pause_appeal_decided', 'Pause appeal decided')], max_length=32),
        ),
        migrations.AddConstraint(
            model_name='contractorflag',
            constraint=models.CheckConstraint(condition=models.Q(('urgent', False), models.Q(('urgent_reason', ''), _negated=True), _connector='OR'), name='flag_urgent_has_reason'),
        ),
        migrations.AddConstraint(
            model_name='contractorflag',
            constraint=models.CheckConstraint(condition=models.Q(('responded_at__isnull', True), models.Q(('response', ''), _negated=True), _connector='OR'), name='flag_response_has_text'),
        ),
        migrations.AddField(
            model_name='pauseappeal',
            name='contractor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pause_appeals', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='pauseappeal',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='pauseappeal',
            name='pause',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='appeal', to='annotations.contractorpause'),
        ),
        migrations.AddIndex(
            model_name='pauseappeal',
            index=models.Index(condition=models.Q(('status', 'open')), fields=['created_at'], name='pause_appeal_open_idx'),
        ),
        migrations.AddConstraint(
            model_name='pauseappeal',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'open'), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), models.Q(('decision_reason', ''), _negated=True)), _connector='OR'), name='pause_appeal_decision_recorded'),
        ),
            run_sql_file("annotations", "submission_cache.sql"),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
