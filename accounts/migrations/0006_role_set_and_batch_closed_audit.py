"""Two new audit kinds: a role change (role_set) and a batch closed with a reason (batch_closed)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_email_choices_and_sends'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='kind',
            field=models.CharField(choices=[('rate_set', 'Pay rate set'), ('grade_policy_set', 'Grade policy set'), ('lineage_set', 'Project continues another'), ('lineage_declined', 'Not a continuation'), ('wage_floor_guarantee', 'Wage-floor guarantee changed'), ('flag_responded', 'Contractor answered a flag'), ('flag_decided', 'Flag decided'), ('pause_appealed', 'Pause appealed'), ('pause_appeal_decided', 'Pause appeal decided'), ('pause_lifted', 'Pause lifted'), ('deactivated', 'Account deactivated'), ('reactivated', 'Account reactivated'), ('role_set', 'Role changed'), ('qualification_granted', 'Qualification granted'), ('qualification_revoked', 'Qualification revoked'), ('payout_approved', 'Payout approved'), ('ledger_bonus', 'Bonus added'), ('ledger_adjustment', 'Manual adjustment'), ('batch_closed', 'Batch closed')], max_length=40),
        ),
    ]
