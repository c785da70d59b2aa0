from django.db import migrations

# The ledger is append-only (DOMAIN invariant): the database itself refuses to change or
# remove an entry, or the record of which payout settled it, whatever code or console tries.
# A correction is a new adjustment entry. The function is (re)created here so this
# migration does not depend on the order in which the projects one ran.
FORWARD = """
CREATE OR REPLACE FUNCTION taskhub_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payouts_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON payouts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION taskhub_refuse_change();

CREATE TRIGGER payouts_payoutline_append_only
    BEFORE UPDATE OR DELETE ON payouts_payoutline
    FOR EACH ROW EXECUTE FUNCTION taskhub_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payouts_payoutline_append_only ON payouts_payoutline;
DROP TRIGGER IF EXISTS payouts_ledgerentry_append_only ON payouts_ledgerentry;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0001_initial"),
        ("projects", "0002_payrate_append_only"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
