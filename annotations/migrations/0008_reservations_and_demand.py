"""Lottery wins become reservations, and demand is recorded (issue 14).

Claims gain `source` (claimed by the contractor, or won in a draw), `reserved_until` and
`opened_at`; `deadline` is empty while a win is reserved. Existing lottery claims migrate:

- the rows a draw created (a lottery batch's claims made at the moment of its draw) are `draw`;
- those still active and never worked on (no active time, draft or heartbeat) become reservations,
  held until the later of their old deadline and the draw plus the batch's reservation period, so
  nobody loses time they had;
- those worked on are opened, at about when work on them began (their last activity minus their
  active time, never before the draw);
- those that expired without any work had lapsed: they are `lapsed`, so the fairness report
  counts them as the lapsed reservations they were;
- every lottery entry is recorded as demand (`opted_in`, at the time of the entry).

Going back turns reservations into active claims due at their reservation's end and lapsed
ones into expired ones; the new columns and the demand table are dropped.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Foreign keys are checked at once (not at commit), so the ALTER TABLEs that follow in this
# migration's transaction find no pending trigger events on the tables these statements touch.
FORWARDS = """
SET CONSTRAINTS ALL IMMEDIATE;

UPDATE annotations_claim c SET source = 'draw'
FROM projects_batch b
WHERE b.id = c.batch_id AND b.release_policy = 'lottery' AND b.allocated_at IS NOT NULL
  AND c.claimed_at = b.allocated_at;

UPDATE annotations_claim c
SET status = 'reserved', reserved_until = GREATEST(c.deadline, b.allocated_at + b.reservation_period), deadline = NULL
FROM projects_batch b
WHERE b.id = c.batch_id AND c.source = 'draw' AND c.status = 'active'
  AND c.active_seconds = 0 AND c.draft IS NULL AND c.last_heartbeat_at IS NULL;

UPDATE annotations_claim SET status = 'lapsed'
WHERE source = 'draw' AND status = 'expired' AND active_seconds = 0 AND draft IS NULL AND last_heartbeat_at IS NULL;

UPDATE annotations_claim
SET opened_at = GREATEST(claimed_at, COALESCE(finished_at, last_heartbeat_at, draft_saved_at, claimed_at)
                                     - make_interval(secs => active_seconds))
WHERE source = 'draw' AND status IN ('active', 'submitted', 'expired', 'released')
  AND (status = 'submitted' OR active_seconds > 0 OR draft IS NOT NULL OR last_heartbeat_at IS NOT NULL);

INSERT INTO annotations_batchdemand (batch_id, contractor_id, reason, recorded_at)
SELECT batch_id, contractor_id, 'opted_in', created_at FROM annotations_lotteryentry
ON CONFLICT (batch_id, contractor_id) DO NOTHING;

SET CONSTRAINTS ALL DEFERRED;
"""

BACKWARDS = """
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE annotations_claim SET status = 'active', deadline = reserved_until WHERE status = 'reserved';
UPDATE annotations_claim SET status = 'expired' WHERE status = 'lapsed';
UPDATE annotations_claim SET deadline = COALESCE(reserved_until, claimed_at) WHERE deadline IS NULL;
SET CONSTRAINTS ALL DEFERRED;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0007_exports_and_final_labels'),
        ('projects', '0010_release_schedule_and_reservations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BatchDemand',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('opted_in', 'Opted in to the lottery'), ('found_none', 'Asked and found nothing left'), ('capped', 'Asked and was at the fair-share cap')], max_length=16)),
                ('recorded_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['batch', 'recorded_at'],
            },
        ),
        migrations.RemoveIndex(
            model_name='claim',
            name='claim_active_idx',
        ),
        migrations.AddField(
            model_name='claim',
            name='opened_at',
            field=models.DateTimeField(blank=True, help_text='Lottery wins: when the winner opened it.', null=True),
        ),
        migrations.AddField(
            model_name='claim',
            name='reserved_until',
            field=models.DateTimeField(blank=True, help_text='Lottery wins: held for the winner until.', null=True),
        ),
        migrations.AddField(
            model_name='claim',
            name='source',
            field=models.CharField(choices=[('claim', 'Claimed by the contractor'), ('draw', 'Won in a lottery draw')], db_default='claim', default='claim', max_length=8),
        ),
        migrations.AlterField(
            model_name='claim',
            name='claimed_at',
            field=models.DateTimeField(help_text='When the slot was taken: by the contractor, or by the draw.'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='deadline',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='claim',
            name='status',
            field=models.CharField(choices=[('reserved', 'Reserved'), ('active', 'Active'), ('submitted', 'Submitted'), ('expired', 'Expired'), ('released', 'Released'), ('lapsed', 'Lapsed')], default='active', max_length=16),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('status__in', ['active', 'reserved'])), fields=['contractor', 'project'], name='claim_held_idx'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('status', 'reserved')), fields=['reserved_until'], name='claim_reserved_until_idx'),
        ),
        migrations.AddField(
            model_name='batchdemand',
            name='batch',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='demand', to='projects.batch'),
        ),
        migrations.AddField(
            model_name='batchdemand',
            name='contractor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='batch_demand', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='batchdemand',
            constraint=models.UniqueConstraint(fields=('batch', 'contractor'), name='batch_demand_once_per_contractor'),
        ),
        migrations.RunSQL(FORWARDS, BACKWARDS),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'reserved'), _negated=True), models.Q(('deadline__isnull', True), ('reserved_until__isnull', False)), _connector='OR'), name='claim_reserved_has_no_deadline'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['active', 'submitted', 'expired']), _negated=True), ('deadline__isnull', False), _connector='OR'), name='claim_worked_has_deadline'),
        ),
    ]
