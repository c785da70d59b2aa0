from django.db import migrations

# What the ledger holds for each submission, kept on the submission by the database
# (annotations_submission.posted_amount / posted_entries, added by annotations 0003), so the
# nightly earnings recompute compares expected pay with a column instead of grouping the ledger.
#
# The ledger is append-only (0002 refuses UPDATE and DELETE), so one statement-level AFTER INSERT
# trigger with a transition table keeps both exact, whoever inserts and however many rows at once.
# It is dynamic SQL on purpose: PL/pgSQL caches a static statement's plan for the session, and a
# plan made for one new entry would be reused for a million (the first posting), or the reverse.
# Only TRUNCATE (which the append-only rule cannot refuse) and sessions with triggers switched off
# (session_replication_role = replica, used by the benchmarks to delete their own rows, with
# their submissions) get past it; payouts.selectors.submission_cache_disagreements finds the result.
FORWARD = """
CREATE FUNCTION payouts_ledgerentry_post_to_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET posted_amount = 0, posted_entries = 0 WHERE posted_entries <> 0;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s
            SET posted_amount = s.posted_amount + n.amount, posted_entries = s.posted_entries + n.entries
            FROM (SELECT source_id, sum(amount) AS amount, count(*) AS entries
                  FROM new_entries WHERE source_type = ''submission'' GROUP BY source_id) n
            WHERE s.id = n.source_id';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER payouts_ledgerentry_posts_to_submission AFTER INSERT ON payouts_ledgerentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_ledgerentry_post_to_submission();
CREATE TRIGGER payouts_ledgerentry_truncate_posted AFTER TRUNCATE ON payouts_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_ledgerentry_post_to_submission();

-- Backfill after the trigger exists: creating it locked out ledger writers until this migration
-- commits, so no entry can slip between the two. The columns refuse direct writes except in a
-- transaction that declares a rebuild (see annotations 0003).
SELECT set_config('taskhub.rebuild_derived', 'on', true);
UPDATE annotations_submission s SET posted_amount = p.amount, posted_entries = p.entries
FROM (SELECT source_id, sum(amount) AS amount, count(*) AS entries
      FROM payouts_ledgerentry WHERE source_type = 'submission' GROUP BY source_id) p
WHERE s.id = p.source_id AND (s.posted_amount, s.posted_entries) IS DISTINCT FROM (p.amount, p.entries);
UPDATE annotations_submission s SET posted_amount = 0, posted_entries = 0
WHERE s.posted_entries <> 0 AND NOT EXISTS (
    SELECT 1 FROM payouts_ledgerentry l WHERE l.source_type = 'submission' AND l.source_id = s.id);
SELECT set_config('taskhub.rebuild_derived', 'off', true);
"""

# Going back leaves the columns to annotations 0003's reversal, which drops them.
BACKWARD = """
DROP TRIGGER IF EXISTS payouts_ledgerentry_truncate_posted ON payouts_ledgerentry;
DROP TRIGGER IF EXISTS payouts_ledgerentry_posts_to_submission ON payouts_ledgerentry;
DROP FUNCTION IF EXISTS payouts_ledgerentry_post_to_submission();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0002_ledger_append_only"),
        ("annotations", "0003_submission_final_grade_posted"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
