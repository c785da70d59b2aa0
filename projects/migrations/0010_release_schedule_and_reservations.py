"""Release settings of issue 14: a lottery's reservation period, the fair-share horizon and relax
period (each 24 h, 24 h, 4 h by default), the cap schedule's step and end; lottery left-overs now
fall back to fair share unless an admin chooses first come (existing batches keep their choice).

Batches already open get the end of their cap from their release and the default horizon, so a
derived cap that never relaxed stops stranding work (going back, the columns are dropped).
"""

import datetime
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0009_taskimport_creates_its_batch'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='batch',
            name='fair_share_cap_derived',
            field=models.BooleanField(default=False, help_text='The cap is derived (the equal share at release, then the demand share on the published schedule), not fixed by an admin.'),
        ),
        migrations.AddField(
            model_name='batch',
            name='fair_share_ends_at',
            field=models.DateTimeField(blank=True, help_text='Set at release: from then on the fair-share cap no longer applies.', null=True),
        ),
        migrations.AddField(
            model_name='batch',
            name='fair_share_horizon',
            field=models.DurationField(default=datetime.timedelta(days=1), help_text='Fair share: the cap relaxes over this time after release and is gone at its end.'),
        ),
        migrations.AddField(
            model_name='batch',
            name='fair_share_relax_every',
            field=models.DurationField(default=datetime.timedelta(seconds=14400), help_text='Fair share: from half the horizon on, the cap is recomputed (and grows) this often.'),
        ),
        migrations.AddField(
            model_name='batch',
            name='fair_share_step',
            field=models.PositiveSmallIntegerField(default=0, help_text='Index of the last step of the cap schedule applied (0: the cap set at release).'),
        ),
        migrations.AddField(
            model_name='batch',
            name='reservation_period',
            field=models.DurationField(default=datetime.timedelta(days=1), help_text='Lottery batches: how long each win is held for its winner; the claim time starts when they open it.'),
        ),
        migrations.AlterField(
            model_name='batch',
            name='fallback_policy',
            field=models.CharField(choices=[('first_come', 'First come'), ('fair_share', 'Fair share')], default='fair_share', help_text='Lottery batches: how tasks left over after the draw, handed back or not started in time are handed out.', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='batch',
            constraint=models.CheckConstraint(condition=models.Q(('reservation_period__gt', datetime.timedelta(0)), ('fair_share_horizon__gt', datetime.timedelta(0)), ('fair_share_relax_every__gt', datetime.timedelta(0))), name='batch_release_periods_positive'),
        ),
        migrations.RunSQL(
            """
            UPDATE projects_batch
            SET fair_share_ends_at = released_at + CASE WHEN release_policy = 'lottery'
                THEN GREATEST(fair_share_horizon, reservation_period + fair_share_relax_every)
                ELSE fair_share_horizon END
            WHERE released_at IS NOT NULL
            """,
            migrations.RunSQL.noop,
        ),
    ]
