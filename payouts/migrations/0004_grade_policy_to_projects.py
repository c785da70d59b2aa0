"""Grade policies move to projects, beside the rates they apply to (projects 0007 renames the table);
the ledger's trigger now loads from payouts/sql/ (the same definition as before)."""

from django.db import migrations

from taskhub.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0003_ledger_posts_to_submission"),
        ("annotations", "0005_submission_pay_rate_posted_cents"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="GradePolicy")]),
        run_sql_file("payouts", "ledger_posts_to_submission.sql"),
    ]
