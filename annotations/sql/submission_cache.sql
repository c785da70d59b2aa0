-- The facts the database keeps on each submission for the nightly earnings recompute, so that it is
-- one scan of one table with integer arithmetic per row:
--
-- * pay_rate_id: the project's rate in force when the work was submitted, by the rule
--   projects_pay_rate_in_force (projects/sql/rate_in_force.sql). A BEFORE trigger sets it on every
--   insert and whenever a statement moves a submission's project or time; a statement-level trigger
--   on the append-only rate history moves the submissions a new rate takes over (only those of its
--   project from its effective_from on: none, for a rate set in the future as the service requires).
-- * final_grade: kept by the triggers of final_grade.sql.
-- * posted_cents, posted_entries: what the ledger holds for the submission, kept by payouts' ledger
--   trigger (payouts/sql/ledger_posts_to_submission.sql).
--
-- The cached columns belong to those triggers. A statement that writes them directly (raw SQL, or a
-- Django save() of a stale instance, which writes every column) keeps the stored values instead: a
-- new row starts ungraded and unpaid, an updated row keeps what the triggers wrote. Only the
-- triggers' own updates (trigger depth > 0) and a deliberate rebuild, which sets
-- taskhub.rebuild_derived = 'on' for its transaction, get through.
CREATE OR REPLACE FUNCTION annotations_submission_keep_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.pay_rate_id := projects_pay_rate_in_force(NEW.project_id, NEW.submitted_at);
    IF current_setting('taskhub.rebuild_derived', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.final_grade := NULL;
        NEW.posted_cents := 0;
        NEW.posted_entries := 0;
    ELSE
        NEW.final_grade := OLD.final_grade;
        NEW.posted_cents := OLD.posted_cents;
        NEW.posted_entries := OLD.posted_entries;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER annotations_submission_derived_insert BEFORE INSERT ON annotations_submission
    FOR EACH ROW EXECUTE FUNCTION annotations_submission_keep_derived();
CREATE OR REPLACE TRIGGER annotations_submission_derived_update
    BEFORE UPDATE OF project_id, submitted_at, pay_rate_id, final_grade, posted_cents, posted_entries
    ON annotations_submission
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND (NEW.project_id <> OLD.project_id OR NEW.submitted_at <> OLD.submitted_at
          OR NEW.pay_rate_id IS DISTINCT FROM OLD.pay_rate_id OR NEW.final_grade IS DISTINCT FROM OLD.final_grade
          OR NEW.posted_cents <> OLD.posted_cents OR NEW.posted_entries <> OLD.posted_entries))
    EXECUTE FUNCTION annotations_submission_keep_derived();

-- Dynamic SQL for the reason given in final_grade.sql: a plan made for one new rate must not be
-- reused for a bulk load of rates, or the other way round.
CREATE OR REPLACE FUNCTION annotations_submission_follow_rates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET pay_rate_id = NULL WHERE pay_rate_id IS NOT NULL;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s SET pay_rate_id = f.rate
            FROM (SELECT s.id, projects_pay_rate_in_force(s.project_id, s.submitted_at) AS rate
                  FROM annotations_submission s
                  JOIN (SELECT project_id, min(effective_from) AS since FROM new_rates GROUP BY project_id) n
                    ON s.project_id = n.project_id AND s.submitted_at >= n.since) f
            WHERE s.id = f.id AND s.pay_rate_id IS DISTINCT FROM f.rate';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER projects_payrate_moves_submissions AFTER INSERT ON projects_payrate
    REFERENCING NEW TABLE AS new_rates
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();
CREATE OR REPLACE TRIGGER projects_payrate_truncate_moves_submissions AFTER TRUNCATE ON projects_payrate
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();
