-- The facts the database keeps on each submission for the nightly earnings recompute, so that it is
-- one scan of one table with integer arithmetic per row:
--
-- * pay_rate_id: the rate in force when the work was submitted, by the rule projects_pay_rate_in_force
--   (projects/sql/rate_in_force.sql, across the project's lineage).
-- * grade_policy_id: the grade policy in force when the work was submitted, by the rule
--   projects_grade_policy_in_force (projects/sql/grade_policy.sql, across the lineage); empty: the
--   default percents. Work keeps the policy it was submitted under: a later policy pays later work.
-- * pay_terms_id: the pair of the two (projects_pay_terms_for, projects/sql/pay_rule.sql), whose pay
--   cells the recompute reads at one offset per row.
--   A BEFORE trigger sets the three on every insert and whenever a statement moves a submission's
--   project or time; statement-level triggers on the append-only rate and policy histories move the
--   submissions a new rate or policy takes over (only those of its project and of the projects that
--   continue it, from its effective_from on: none, for a change set in the future as the services
--   require; those before it, for a raise applied to past work), and a trigger on projects moves the
--   work of a project that starts continuing another.
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
    NEW.grade_policy_id := projects_grade_policy_in_force(NEW.project_id, NEW.submitted_at);
    NEW.pay_terms_id := projects_pay_terms_for(NEW.pay_rate_id, NEW.grade_policy_id);
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

-- Its column list and condition name the new columns: replaced whole.
DROP TRIGGER IF EXISTS annotations_submission_derived_update ON annotations_submission;
CREATE OR REPLACE TRIGGER annotations_submission_derived_insert BEFORE INSERT ON annotations_submission
    FOR EACH ROW EXECUTE FUNCTION annotations_submission_keep_derived();
CREATE TRIGGER annotations_submission_derived_update
    BEFORE UPDATE OF project_id, submitted_at, pay_rate_id, grade_policy_id, pay_terms_id, final_grade,
                     posted_cents, posted_entries
    ON annotations_submission
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND (NEW.project_id <> OLD.project_id OR NEW.submitted_at <> OLD.submitted_at
          OR NEW.pay_rate_id IS DISTINCT FROM OLD.pay_rate_id
          OR NEW.grade_policy_id IS DISTINCT FROM OLD.grade_policy_id
          OR NEW.pay_terms_id IS DISTINCT FROM OLD.pay_terms_id OR NEW.final_grade IS DISTINCT FROM OLD.final_grade
          OR NEW.posted_cents <> OLD.posted_cents OR NEW.posted_entries <> OLD.posted_entries))
    EXECUTE FUNCTION annotations_submission_keep_derived();

-- The submissions a statement of new rates or policies may move: those of each changed project and
-- of the projects continuing it (down the lineage), submitted from the earliest new effective_from.
-- `changes` is the SQL of (project_id, since) rows. Dynamic SQL for the reason given in
-- final_grade.sql: a plan made for one new rate must not be reused for a bulk load of rates, or the
-- other way round.
CREATE OR REPLACE FUNCTION annotations_submissions_moved_by(changes text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('
        WITH RECURSIVE touched(project_id, since, step) AS (
            SELECT c.project_id, c.since, 0 FROM (%s) c
            UNION ALL
            SELECT p.id, t.since, t.step + 1 FROM projects_project p JOIN touched t ON p.continues_id = t.project_id
            WHERE t.step < 100
        )
        SELECT s.id, s.project_id, s.submitted_at, s.pay_rate_id, s.grade_policy_id
        FROM annotations_submission s
        JOIN (SELECT project_id, min(since) AS since FROM touched GROUP BY project_id) n
          ON s.project_id = n.project_id AND s.submitted_at >= n.since', changes)
$$;

CREATE OR REPLACE FUNCTION annotations_submission_follow_rates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET pay_rate_id = NULL, pay_terms_id = NULL WHERE pay_rate_id IS NOT NULL;
    ELSE
        EXECUTE format('
            UPDATE annotations_submission s
            SET pay_rate_id = f.rate, pay_terms_id = projects_pay_terms_for(f.rate, s.grade_policy_id)
            FROM (SELECT m.id, projects_pay_rate_in_force(m.project_id, m.submitted_at) AS rate, m.pay_rate_id
                  FROM (%s) m) f
            WHERE s.id = f.id AND f.pay_rate_id IS DISTINCT FROM f.rate',
            annotations_submissions_moved_by(
                'SELECT project_id, min(effective_from) AS since FROM new_rates GROUP BY project_id'));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER projects_payrate_moves_submissions AFTER INSERT ON projects_payrate
    REFERENCING NEW TABLE AS new_rates
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();
CREATE OR REPLACE TRIGGER projects_payrate_truncate_moves_submissions AFTER TRUNCATE ON projects_payrate
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();

CREATE OR REPLACE FUNCTION annotations_submission_follow_policies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET grade_policy_id = NULL, pay_terms_id = projects_pay_terms_for(pay_rate_id, NULL)
        WHERE grade_policy_id IS NOT NULL;
    ELSE
        EXECUTE format('
            UPDATE annotations_submission s
            SET grade_policy_id = f.policy, pay_terms_id = projects_pay_terms_for(s.pay_rate_id, f.policy)
            FROM (SELECT m.id, projects_grade_policy_in_force(m.project_id, m.submitted_at) AS policy, m.grade_policy_id
                  FROM (%s) m) f
            WHERE s.id = f.id AND f.grade_policy_id IS DISTINCT FROM f.policy',
            annotations_submissions_moved_by(
                'SELECT project_id, min(effective_from) AS since FROM new_policies GROUP BY project_id'));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER projects_gradepolicy_moves_submissions AFTER INSERT ON projects_gradepolicy
    REFERENCING NEW TABLE AS new_policies
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_policies();
CREATE OR REPLACE TRIGGER projects_gradepolicy_truncate_moves_submissions AFTER TRUNCATE ON projects_gradepolicy
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_policies();

-- A project that starts continuing another: its work (and its continuations') follows the lineage's
-- rules where it has none of its own.
CREATE OR REPLACE FUNCTION annotations_submission_follow_lineage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('
        UPDATE annotations_submission s
        SET pay_rate_id = f.rate, grade_policy_id = f.policy, pay_terms_id = projects_pay_terms_for(f.rate, f.policy)
        FROM (SELECT m.id, projects_pay_rate_in_force(m.project_id, m.submitted_at) AS rate,
                     projects_grade_policy_in_force(m.project_id, m.submitted_at) AS policy,
                     m.pay_rate_id, m.grade_policy_id
              FROM (%s) m) f
        WHERE s.id = f.id AND (f.pay_rate_id IS DISTINCT FROM f.rate OR f.grade_policy_id IS DISTINCT FROM f.policy)',
        annotations_submissions_moved_by(format('SELECT %s::bigint AS project_id, ''-infinity''::timestamptz AS since',
                                                NEW.id)));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER projects_project_lineage_moves_submissions AFTER UPDATE OF continues_id ON projects_project
    FOR EACH ROW WHEN (OLD.continues_id IS DISTINCT FROM NEW.continues_id)
    EXECUTE FUNCTION annotations_submission_follow_lineage();
