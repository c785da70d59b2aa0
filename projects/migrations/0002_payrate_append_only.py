from django.db import migrations

# Pay-rate history is append-only (fair-work promise 3): the database itself refuses to
# change or remove a rate, whatever code or console tries it.
FORWARD = """
CREATE OR REPLACE FUNCTION taskhub_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER projects_payrate_append_only
    BEFORE UPDATE OR DELETE ON projects_payrate
    FOR EACH ROW EXECUTE FUNCTION taskhub_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS projects_payrate_append_only ON projects_payrate;
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
