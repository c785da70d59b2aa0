"""Grade policies, moved from payouts: the same rows, now beside the rates they apply to. The pay
rule the database applies (projects/sql/pay_rule.sql) reads them."""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from taskhub.migration_ops import move_content_types, rename_tables
from taskhub.sql import run_sql_file


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
        run_sql_file("projects", "pay_rule.sql", reverse_sql="DROP VIEW IF EXISTS projects_pay_cell;"),
    ]
