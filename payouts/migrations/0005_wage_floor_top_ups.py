"""The wage floor kept (issue 17): top-up entries added when payouts are drafted, with their computation."""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from taskhub.sql import run_sql_file


class Migration(migrations.Migration):

    dependencies = [
        ('payouts', '0004_grade_policy_to_projects'),
        ('projects', '0012_lineage_policy_history_revocations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('task', 'Task'), ('hourly', 'Hourly'), ('bonus', 'Bonus'), ('onboarding', 'Onboarding'), ('adjustment', 'Adjustment'), ('top_up', 'Wage-floor top-up')], max_length=16),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='source_type',
            field=models.CharField(choices=[('submission', 'Submission'), ('manual', 'Added by an admin'), ('wage_floor', 'Wage floor kept')], max_length=16),
        ),
        migrations.CreateModel(
            name='WageFloorTopUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('jurisdiction', models.CharField(max_length=16)),
                ('currency', models.CharField(max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code such as USD.')])),
                ('active_seconds', models.BigIntegerField()),
                ('submissions', models.PositiveIntegerField()),
                ('earned', models.DecimalField(decimal_places=2, help_text='Paid for that work before the top-up.', max_digits=14)),
                ('floor', models.DecimalField(decimal_places=4, help_text='The hourly floor in force.', max_digits=12)),
                ('required', models.DecimalField(decimal_places=2, help_text='floor × active hours, to the cent.', max_digits=14)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False)),
                ('contractor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='wage_top_ups', to=settings.AUTH_USER_MODEL)),
                ('period', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='wage_top_ups', to='payouts.payoutperiod')),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='wage_top_ups', to='projects.project')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('contractor', 'project', 'period'), name='wage_top_up_once_per_period'), models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='wage_top_up_positive')],
            },
        ),
        run_sql_file("payouts", "wage_floor_top_up.sql",
                     reverse_sql="DROP TRIGGER IF EXISTS payouts_wagefloortopup_append_only ON payouts_wagefloortopup;"),
    ]
