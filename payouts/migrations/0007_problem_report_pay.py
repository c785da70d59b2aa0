"""The active time of a task reported broken is paid (issue 19): its own ledger kind and source."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payouts', '0006_period_draft_outcome'),
        ('projects', '0016_instruction_versions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('task', 'Task'), ('hourly', 'Hourly'), ('bonus', 'Bonus'), ('onboarding', 'Onboarding'), ('adjustment', 'Adjustment'), ('top_up', 'Wage-floor top-up'), ('reported_broken', 'Reported broken')], max_length=16),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='source_type',
            field=models.CharField(choices=[('submission', 'Submission'), ('manual', 'Added by an admin'), ('wage_floor', 'Wage floor kept'), ('problem_report', 'Task reported broken')], max_length=16),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'reported_broken'), ('source_type', 'problem_report')), models.Q(models.Q(('kind', 'reported_broken'), _negated=True), models.Q(('source_type', 'problem_report'), _negated=True)), _connector='OR'), name='ledger_reported_broken_source'),
        ),
    ]
