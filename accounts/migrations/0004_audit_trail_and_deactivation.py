"""The audit trail (append-only, like the ledger) and deactivation as a recorded decision."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from taskhub.sql import run_sql_file


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_api_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='deactivated_at',
            field=models.DateTimeField(blank=True, help_text='When the deactivation in force (or scheduled) takes effect.', null=True),
        ),
        migrations.AddField(
            model_name='user',
            name='deactivated_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='user',
            name='deactivation_reason',
            field=models.TextField(blank=True),
        ),
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor_role', models.CharField(blank=True, max_length=16)),
                ('kind', models.CharField(choices=[('rate_set', 'Pay rate set'), ('grade_policy_set', 'Grade policy set'), ('lineage_set', 'Project continues another'), ('lineage_declined', 'Not a continuation'), ('wage_floor_guarantee', 'Wage-floor guarantee changed'), ('flag_responded', 'Contractor answered a flag'), ('flag_decided', 'Flag decided'), ('pause_appealed', 'Pause appealed'), ('pause_appeal_decided', 'Pause appeal decided'), ('pause_lifted', 'Pause lifted'), ('deactivated', 'Account deactivated'), ('reactivated', 'Account reactivated'), ('qualification_granted', 'Qualification granted'), ('qualification_revoked', 'Qualification revoked'), ('payout_approved', 'Payout approved'), ('ledger_bonus', 'Bonus added'), ('ledger_adjustment', 'Manual adjustment')], max_length=40)),
                ('project_id', models.BigIntegerField(blank=True, null=True)),
                ('project_name', models.CharField(blank=True, max_length=200)),
                ('object_type', models.CharField(blank=True, help_text="The touched row's model, e.g. projects.payrate.", max_length=60)),
                ('object_id', models.BigIntegerField(blank=True, null=True)),
                ('summary', models.CharField(max_length=300)),
                ('reason', models.TextField(blank=True)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('subject', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_entries', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'audit entries',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['-at', '-id'], name='audit_at_idx'), models.Index(fields=['subject', '-at'], name='audit_subject_idx'), models.Index(fields=['project_id', '-at'], name='audit_project_idx'), models.Index(fields=['kind', '-at'], name='audit_kind_idx')],
            },
        ),
        run_sql_file("accounts", "audit_append_only.sql",
                     reverse_sql="DROP TRIGGER IF EXISTS accounts_auditentry_append_only ON accounts_auditentry;"),
    ]
