-- THE rule of the final grade, for the database: the revised score of an appeal decided "revised"
-- if there is one, else the revised score of a second opinion decided "revised" (issue 20: a lead or
-- admin decided, with a reason the contractor reads; a second grade alone never moves pay), else the
-- score of the submission's current review (a human review or the
-- automatic grade of a gold task; the unique index review_one_current_per_submission allows one).
-- Calibration grades never count; a submission without a row is ungraded. Its Python twin is
-- annotations.models.Review.final_score; tests/annotations/test_rules_agree.py proves they agree.
CREATE OR REPLACE VIEW annotations_final_grade AS
SELECT r.submission_id,
       COALESCE(CASE WHEN a.status = 'revised' THEN a.revised_score END,
                CASE WHEN o.status = 'revised' THEN o.revised_score END, r.score) AS grade
FROM annotations_review r
LEFT JOIN annotations_appeal a ON a.review_id = r.id
LEFT JOIN annotations_secondopinion o ON o.review_id = r.id
WHERE r.kind <> 'calibration';

-- The final grade is kept on each submission (annotations_submission.final_grade) so the nightly
-- earnings recompute reads one table. Statement-level AFTER triggers with transition tables
-- recompute it from the view for the submissions a statement touched, set-based, whoever wrote
-- (services, admin, raw SQL, a bulk INSERT ... SELECT). PostgreSQL allows one event per trigger when
-- transition tables are used, hence separate INSERT, UPDATE and DELETE triggers (and one for
-- TRUNCATE) per table on one function. The UPDATE is dynamic SQL on purpose: PL/pgSQL caches the
-- plan of a static statement for the session, and a plan made for a one-row transition table would
-- be reused for a million-row one (and the other way round); EXECUTE plans with the real row count.
-- The services grade one submission per statement, so the row lock this takes cannot deadlock with
-- the recompute's (the ledger trigger of payouts/sql/ledger_posts_to_submission.sql updates the
-- submissions it pays); should a bulk writer and a recompute ever lock each other's rows, PostgreSQL
-- aborts one of them, and the recompute, idempotent, catches up.
CREATE OR REPLACE FUNCTION annotations_final_grade_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
    submissions text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- Emptying reviews or appeals can only clear or lower grades that are set.
        submissions := 'SELECT id FROM annotations_submission WHERE final_grade IS NOT NULL';
    ELSE
        changed := CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT * FROM new_rows'
            WHEN 'DELETE' THEN 'SELECT * FROM old_rows'
            ELSE 'SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows'
        END;
        IF TG_TABLE_NAME = 'annotations_review' THEN
            submissions := format('SELECT DISTINCT c.submission_id AS id FROM (%s) c', changed);
        ELSE
            submissions := format(
                'SELECT DISTINCT r.submission_id AS id FROM annotations_review r '
                'WHERE r.id IN (SELECT c.review_id FROM (%s) c)', changed);
        END IF;
    END IF;
    EXECUTE format(
        'UPDATE annotations_submission s SET final_grade = g.grade '
        'FROM (%s) touched LEFT JOIN annotations_final_grade g ON g.submission_id = touched.id '
        'WHERE s.id = touched.id AND s.final_grade IS DISTINCT FROM g.grade', submissions);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER annotations_review_final_grade_insert AFTER INSERT ON annotations_review
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_review_final_grade_update AFTER UPDATE ON annotations_review
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_review_final_grade_delete AFTER DELETE ON annotations_review
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_review_final_grade_truncate AFTER TRUNCATE ON annotations_review
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();

CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_insert AFTER INSERT ON annotations_appeal
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_update AFTER UPDATE ON annotations_appeal
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_delete AFTER DELETE ON annotations_appeal
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_truncate AFTER TRUNCATE ON annotations_appeal
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();

CREATE OR REPLACE TRIGGER annotations_secondopinion_final_grade_insert AFTER INSERT ON annotations_secondopinion
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_secondopinion_final_grade_update AFTER UPDATE ON annotations_secondopinion
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_secondopinion_final_grade_delete AFTER DELETE ON annotations_secondopinion
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_secondopinion_final_grade_truncate AFTER TRUNCATE ON annotations_secondopinion
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
