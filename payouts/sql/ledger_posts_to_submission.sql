-- What the ledger holds for each submission, kept on the submission by the database
-- (annotations_submission.posted_cents / posted_entries), so the nightly earnings recompute compares
-- expected pay with a column instead of grouping the ledger. posted_cents is in integer cents,
-- exact because ledger amounts have two decimals.
--
-- The ledger is append-only (the database refuses UPDATE and DELETE), so one statement-level AFTER
-- INSERT trigger with a transition table keeps both exact, whoever inserts and however many rows at
-- once. It is dynamic SQL on purpose: PL/pgSQL caches a static statement's plan for the session, and
-- a plan made for one new entry would be reused for a million (the first posting), or the reverse.
-- Only TRUNCATE (which the append-only rule cannot refuse) and sessions with triggers switched off
-- (session_replication_role = replica, used by the benchmarks to delete their own rows, with their
-- submissions) get past it; payouts.selectors.submission_cache_disagreements finds the result.
CREATE OR REPLACE FUNCTION payouts_ledgerentry_post_to_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET posted_cents = 0, posted_entries = 0 WHERE posted_entries <> 0;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s
            SET posted_cents = s.posted_cents + n.cents, posted_entries = s.posted_entries + n.entries
            FROM (SELECT source_id, (sum(amount) * 100)::bigint AS cents, count(*) AS entries
                  FROM new_entries WHERE source_type = ''submission'' GROUP BY source_id) n
            WHERE s.id = n.source_id';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER payouts_ledgerentry_posts_to_submission AFTER INSERT ON payouts_ledgerentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_ledgerentry_post_to_submission();
CREATE OR REPLACE TRIGGER payouts_ledgerentry_truncate_posted AFTER TRUNCATE ON payouts_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_ledgerentry_post_to_submission();
