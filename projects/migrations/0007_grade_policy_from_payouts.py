"""Grade policies, moved from payouts: the same rows, now beside the rates they apply to. The pay
rule the database applies (projects/sql/pay_rule.sql) reads them."""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from taskhub.migration_ops import move_content_types, rename_tables


# The text of projects/sql/pay_rule.sql as this migration first loaded it (later migrations load the
# file as it is now, see taskhub/sql.py).
PAY_RULE_SQL = """
-- THE pay rule, for the database: what work paid at a rate earns for each grade, one row per rate
-- and grade cell (cell 0: not graded yet; cells 1 to 5: the final grade). Its Python twin is
-- projects/pay.py (`pay_percent`, `pay_amount`); tests/projects/test_rules_agree.py proves the two
-- agree. The nightly recompute (payouts/services/recompute.py) lays this view out as arrays.
--
-- * pay_percent: the project's grade policy share for the cell (onboarding work is always paid in
--   full, promise 4); a project without a policy pays GradePolicy.DEFAULT_PERCENTS, written here as
--   numbers: 100 when not graded yet, 0 / 50 / 100 / 100 / 100 for grades 1 to 5.
-- * task_cents: per task, the pay in cents, rounded once per cell, half up; -1 marks a per-hour rate,
--   whose pay depends on the active seconds.
-- * hour_whole, hour_part: per hour, the pay in cents for s active seconds is
--   s * whole + (s * part + 1.8e9) div 3.6e9, exact and rounded half up: with the rate counted in
--   0.0001 and the percent in 0.01 (the scales of their columns), the pay is s * F / 3.6e9 cents for
--   the integer F = rate * 10^4 * percent * 10^2 (below 10^16), split as F = whole * 3.6e9 + part.
--   That stays within bigint for any number of seconds the integer column can hold.
-- * percent_bp: the share in hundredths of a percent.
CREATE OR REPLACE VIEW projects_pay_cell AS
SELECT r.id AS rate_id, r.project_id, c.cell, x.pay_percent,
       CASE WHEN r.unit = 'per_hour' THEN -1
            ELSE (round(r.amount * x.pay_percent / 100, 2) * 100)::bigint END AS task_cents,
       CASE WHEN r.unit = 'per_hour' THEN (r.amount * 10000 * x.pay_percent * 100)::bigint / 3600000000
            ELSE 0 END AS hour_whole,
       CASE WHEN r.unit = 'per_hour' THEN mod((r.amount * 10000 * x.pay_percent * 100)::bigint, 3600000000)
            ELSE 0 END AS hour_part,
       (x.pay_percent * 100)::integer AS percent_bp
FROM projects_payrate r
JOIN projects_project p ON p.id = r.project_id
LEFT JOIN projects_gradepolicy gp ON gp.project_id = r.project_id
CROSS JOIN generate_series(0, 5) c(cell)
CROSS JOIN LATERAL (
    SELECT (CASE
        WHEN p.is_onboarding THEN 100
        WHEN c.cell = 0 THEN COALESCE(gp.pay_ungraded, 100)
        WHEN c.cell = 5 THEN COALESCE(gp.pay_grade_5, 100)
        WHEN c.cell = 4 THEN COALESCE(gp.pay_grade_4, 100)
        WHEN c.cell = 3 THEN COALESCE(gp.pay_grade_3, 100)
        WHEN c.cell = 2 THEN COALESCE(gp.pay_grade_2, 50)
        ELSE COALESCE(gp.pay_grade_1, 0)
    END)::numeric(5, 2) AS pay_percent
) x;
"""

class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("projects", "0006_sprints_and_lottery_move_out"),
        ("payouts", "0004_grade_policy_to_projects"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='GradePolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('pay_grade_5', models.DecimalField(decimal_places=2, default=Decimal('100'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='grade 5 (% of pay)')),
                        ('pay_grade_4', models.DecimalField(decimal_places=2, default=Decimal('100'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='grade 4 (% of pay)')),
                        ('pay_grade_3', models.DecimalField(decimal_places=2, default=Decimal('100'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='grade 3 (% of pay)')),
                        ('pay_grade_2', models.DecimalField(decimal_places=2, default=Decimal('50'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='grade 2 (% of pay)')),
                        ('pay_grade_1', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='grade 1 (% of pay)')),
                        ('pay_ungraded', models.DecimalField(decimal_places=2, default=Decimal('100'), max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))], verbose_name='not graded yet (% of pay)')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('project', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='grade_policy', to='projects.project')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name_plural': 'grade policies',
                        'constraints': [models.CheckConstraint(condition=models.Q(('pay_grade_1__gte', 0), ('pay_grade_2__gte', 0), ('pay_grade_3__gte', 0), ('pay_grade_4__gte', 0), ('pay_grade_5__gte', 0), ('pay_ungraded__gte', 0), ('pay_grade_1__lte', 100), ('pay_grade_2__lte', 100), ('pay_grade_3__lte', 100), ('pay_grade_4__lte', 100), ('pay_grade_5__lte', 100), ('pay_ungraded__lte', 100)), name='grade_policy_percent_range')],
                    },
                ),
            ],
            database_operations=[rename_tables([("payouts_gradepolicy", "projects_gradepolicy")])],
        ),
        move_content_types("payouts", "projects", ["gradepolicy"]),
        migrations.RunSQL(PAY_RULE_SQL, reverse_sql="DROP VIEW IF EXISTS projects_pay_cell;"),
    ]
