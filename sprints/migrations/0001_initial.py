"""Sprints, their members and announcements, moved from projects: the same rows under this app's
table names."""

import datetime
import django.core.validators
import django.db.models.deletion
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models

from taskhub.migration_ops import move_content_types, rename_tables


class Migration(migrations.Migration):


    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('projects', '0006_sprints_and_lottery_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Sprint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('starts_at', models.DateTimeField()),
                        ('ends_at', models.DateTimeField()),
                        ('target_submissions', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1)])),
                        ('quality_target', models.DecimalField(decimal_places=2, help_text='The average grade the team aims for (1–5).', max_digits=3, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)])),
                        ('status', models.CharField(choices=[('planned', 'Planned'), ('open', 'Open'), ('closed', 'Closed')], db_index=True, default='planned', max_length=16)),
                        ('opened_at', models.DateTimeField(blank=True, null=True)),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('summary', models.JSONField(blank=True, help_text='Figures at close: written once, never edited.', null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('lead', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sprints_led', to=settings.AUTH_USER_MODEL)),
                        ('projects', models.ManyToManyField(related_name='sprints', to='projects.project')),
                    ],
                    options={
                        'ordering': ['-starts_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='SprintMember',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('added_at', models.DateTimeField(auto_now_add=True)),
                        ('contractor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sprint_memberships', to=settings.AUTH_USER_MODEL)),
                        ('sprint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='sprints.sprint')),
                    ],
                    options={
                        'ordering': ['sprint', 'contractor'],
                    },
                ),
                migrations.AddField(
                    model_name='sprint',
                    name='members',
                    field=models.ManyToManyField(related_name='sprints', through='sprints.SprintMember', through_fields=('sprint', 'contractor'), to=settings.AUTH_USER_MODEL),
                ),
                migrations.CreateModel(
                    name='Announcement',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('title', models.CharField(max_length=200)),
                        ('body', models.TextField(max_length=5000)),
                        ('recipients', models.PositiveIntegerField(default=0, help_text='People notified when it was posted.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='announcements', to=settings.AUTH_USER_MODEL)),
                        ('project', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='announcements', to='projects.project')),
                        ('sprint', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='announcements', to='sprints.sprint')),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('sprint__isnull', False), ('project__isnull', True)), models.Q(('sprint__isnull', True), ('project__isnull', False)), _connector='OR'), name='announcement_sprint_xor_project')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='sprintmember',
                    constraint=models.UniqueConstraint(fields=('sprint', 'contractor'), name='sprint_member_once'),
                ),
                migrations.AddIndex(
                    model_name='sprint',
                    index=models.Index(condition=models.Q(('status', 'planned')), fields=['starts_at'], name='sprint_due_open_idx'),
                ),
                migrations.AddIndex(
                    model_name='sprint',
                    index=models.Index(condition=models.Q(('status', 'closed'), _negated=True), fields=['ends_at'], name='sprint_due_close_idx'),
                ),
                migrations.AddConstraint(
                    model_name='sprint',
                    constraint=models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='sprint_ends_after_start'),
                ),
                migrations.AddConstraint(
                    model_name='sprint',
                    constraint=models.CheckConstraint(condition=models.Q(('ends_at__lte', django.db.models.expressions.CombinedExpression(models.F('starts_at'), '+', models.Value(datetime.timedelta(days=7), output_field=models.DurationField())))), name='sprint_at_most_max_days'),
                ),
                migrations.AddConstraint(
                    model_name='sprint',
                    constraint=models.CheckConstraint(condition=models.Q(('target_submissions__gte', 1)), name='sprint_target_positive'),
                ),
                migrations.AddConstraint(
                    model_name='sprint',
                    constraint=models.CheckConstraint(condition=models.Q(('quality_target__gte', 1), ('quality_target__lte', 5)), name='sprint_quality_target_1_to_5'),
                ),
                migrations.AddConstraint(
                    model_name='sprint',
                    constraint=models.CheckConstraint(condition=models.Q(('status', 'closed'), ('summary__isnull', True), _connector='OR'), name='sprint_summary_only_when_closed'),
                ),
            ],
            database_operations=[rename_tables([('projects_sprint', 'sprints_sprint'), ('projects_sprint_projects', 'sprints_sprint_projects'), ('projects_sprintmember', 'sprints_sprintmember'), ('projects_announcement', 'sprints_announcement')])],
        ),
        move_content_types('projects', 'sprints', ['sprint', 'sprintmember', 'announcement']),
    ]
