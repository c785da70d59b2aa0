from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("payouts", "0005_wage_floor_top_ups")]

    operations = [
        migrations.AddField(model_name="payoutperiod", name="last_draft",
                            field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="payoutperiod", name="last_drafted_at",
                            field=models.DateTimeField(blank=True, null=True)),
    ]
