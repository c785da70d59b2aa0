"""No back doors (issue 17): project lineage, grade policies as an append-only history paid by the rule
in force at submission (through pay terms), qualifications revoked as decisions that keep their
history, onboarding pass rules and the wage-floor guarantee.

The policies a project had before keep paying all the work submitted until their next change, as they
did: they take effect from 2000-01-01 (before any work)."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from taskhub.sql import run_sql_file

BEFORE_ANY_WORK = "2000-01-01T00:00:00+00:00"
_PERCENT = [django.core.validators.MinValueValidator(Decimal("0")), django.core.validators.MaxValueValidator(Decimal("100"))]


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0011_media_files"),
        ("accounts", "0004_audit_trail_and_deactivation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # --- Projects: lineage, archive time, onboarding pass rules, the wage-floor guarantee ---------
        migrations.AddField(
            model_name="project", name="continues",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="continued_by", to="projects.project",
                                    help_text="The project this one continues (the same work under a new name): its "
                                              "rates, grade policy and notice rules carry over."),
        ),
        migrations.AddField(
            model_name="project", name="archived_at",
            field=models.DateTimeField(blank=True, null=True, help_text="When the project was closed (archived)."),
        ),
        migrations.RunSQL("UPDATE projects_project SET archived_at = updated_at WHERE status = 'archived';",
                          migrations.RunSQL.noop),
        migrations.AddField(
            model_name="project", name="grants_name",
            field=models.CharField(blank=True, max_length=200, help_text="Onboarding: the name of the qualification "
                                                                         "passing grants (blank: the project's name)."),
        ),
        migrations.AddField(
            model_name="project", name="pass_rule",
            field=models.CharField(choices=[("average_grade", "graded submissions averaging at least a grade"),
                                            ("gold_agreement", "gold tasks agreeing with the known answers")],
                                   default="average_grade", max_length=16),
        ),
        migrations.AddField(
            model_name="project", name="pass_min_submissions",
            field=models.PositiveSmallIntegerField(
                default=5, validators=[django.core.validators.MinValueValidator(1),
                                       django.core.validators.MaxValueValidator(1000)],
                help_text="Onboarding: how many graded submissions (or gold tasks) the pass rule counts."),
        ),
        migrations.AddField(
            model_name="project", name="pass_min_average",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("4.00"), max_digits=3,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)],
                help_text="Onboarding, average-grade rule: the lowest average final grade that passes."),
        ),
        migrations.AddField(
            model_name="project", name="pass_min_agreement",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("80.00"), max_digits=5, validators=_PERCENT,
                help_text="Onboarding, gold rule: the lowest average agreement with the known answers that passes (%)."),
        ),
        migrations.AddField(
            model_name="project", name="wage_floor_guarantee_ends_at",
            field=models.DateTimeField(blank=True, null=True, help_text="Empty: the wage floor is guaranteed (top-ups "
                                                                        "on the payout). Else the end of the guarantee."),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.CheckConstraint(condition=models.Q(pass_min_submissions__gte=1),
                                              name="project_pass_min_positive"),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.CheckConstraint(condition=models.Q(pass_min_average__gte=1, pass_min_average__lte=5),
                                              name="project_pass_average_in_range"),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.CheckConstraint(condition=models.Q(pass_min_agreement__gte=0, pass_min_agreement__lte=100),
                                              name="project_pass_agreement_percent"),
        ),
        # --- Qualifications: revoked, never deleted ----------------------------------------------------
        migrations.AlterField(
            model_name="qualification", name="contractor",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="qualifications",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="qualification", name="project",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="qualified",
                                    to="projects.project"),
        ),
        migrations.AlterField(
            model_name="qualification", name="granted_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="qualification", name="revoked_at",
            field=models.DateTimeField(blank=True, null=True, help_text="From when the qualification no longer counts."),
        ),
        migrations.AddField(
            model_name="qualification", name="revoked_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(model_name="qualification", name="revoke_reason", field=models.TextField(blank=True)),
        migrations.AlterModelOptions(name="qualification", options={"ordering": ["-granted_at", "-id"]}),
        migrations.RemoveConstraint(model_name="qualification", name="qualification_unique"),
        migrations.AddConstraint(
            model_name="qualification",
            constraint=models.UniqueConstraint(condition=models.Q(revoked_at__isnull=True),
                                               fields=("contractor", "project"), name="qualification_one_unrevoked"),
        ),
        migrations.AddConstraint(
            model_name="qualification",
            constraint=models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True)
                | (models.Q(revoked_by__isnull=False) & ~models.Q(revoke_reason="")),
                name="qualification_revocation_recorded"),
        ),
        # --- Grade policies: a history ----------------------------------------------------------------
        migrations.AlterField(
            model_name="gradepolicy", name="project",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="grade_policies",
                                    to="projects.project"),
        ),
        migrations.RenameField(model_name="gradepolicy", old_name="updated_by", new_name="set_by"),
        migrations.AlterField(
            model_name="gradepolicy", name="set_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RenameField(model_name="gradepolicy", old_name="updated_at", new_name="created_at"),
        migrations.AlterField(model_name="gradepolicy", name="created_at",
                              field=models.DateTimeField(auto_now_add=True)),
        migrations.AddField(
            model_name="gradepolicy", name="effective_from",
            field=models.DateTimeField(default=BEFORE_ANY_WORK), preserve_default=False,
        ),
        migrations.AddField(
            model_name="gradepolicy", name="reason",
            field=models.CharField(blank=True, max_length=500,
                                   default="Set before grade policies had a history; pays the work submitted until "
                                           "its next change"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="gradepolicy", name="extends",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="projects.gradepolicy"),
        ),
        migrations.AlterModelOptions(
            name="gradepolicy",
            options={"ordering": ["project", "-effective_from", "-id"], "verbose_name_plural": "grade policies"},
        ),
        migrations.AddIndex(
            model_name="gradepolicy",
            index=models.Index(fields=["project", "-effective_from", "-id"], name="gradepolicy_in_force_idx"),
        ),
        # --- Pay terms and lineage decisions ---------------------------------------------------------
        migrations.CreateModel(
            name="PayTerms",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("policy", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                             related_name="+", to="projects.gradepolicy")),
                ("rate", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                           to="projects.payrate")),
            ],
            options={
                "verbose_name_plural": "pay terms",
                "constraints": [models.UniqueConstraint(fields=("rate", "policy"), name="payterms_unique_pair",
                                                        nulls_distinct=False)],
            },
        ),
        migrations.CreateModel(
            name="LineageDecision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("decision", models.CharField(choices=[("continues", "Continues it"),
                                                       ("declined", "Not a continuation")], max_length=16)),
                ("reason", models.TextField(blank=True)),
                ("decided_at", models.DateTimeField()),
                ("candidate", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                to="projects.project")),
                ("decided_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                 to=settings.AUTH_USER_MODEL)),
                ("project", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                              related_name="lineage_decisions", to="projects.project")),
            ],
            options={
                "ordering": ["-decided_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("project", "candidate"), name="lineage_decision_once"),
                    models.CheckConstraint(condition=models.Q(decision="continues") | ~models.Q(reason=""),
                                           name="lineage_decline_has_reason"),
                ],
            },
        ),
        # --- The rules the database applies ----------------------------------------------------------
        run_sql_file("projects", "lineage.sql", reverse_sql="""
            DROP TRIGGER IF EXISTS projects_project_lineage_guard ON projects_project;
            DROP FUNCTION IF EXISTS projects_lineage_guard();"""),
        run_sql_file("projects", "rate_in_force.sql"),
        run_sql_file("projects", "grade_policy.sql", reverse_sql="""
            DROP TRIGGER IF EXISTS projects_gradepolicy_append_only ON projects_gradepolicy;
            DROP FUNCTION IF EXISTS projects_grade_policy_in_force(bigint, timestamptz);"""),
        run_sql_file("projects", "eligibility.sql"),
        run_sql_file("projects", "pay_rule.sql", reverse_sql="DROP FUNCTION IF EXISTS projects_pay_terms_for(bigint, bigint);"),
    ]
