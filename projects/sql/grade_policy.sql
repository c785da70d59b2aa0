-- THE rule of the grade policy in force, written like the rate in force (rate_in_force.sql): of a
-- project's append-only grade-policy history, the policy with the latest effective_from at or before
-- the moment, the highest id among equal times; before the project's own first policy, the policy in
-- force of the project it continues, up the lineage; NULL (the default percents of the pay rule) when
-- there was none. Work is paid by the policy in force when it was submitted, so a lowering applies
-- only to later work (and waits for the notice period, projects.services.grade_policy_set). Python
-- reads it through projects.selectors.grade_policy_in_force; the submission's grade_policy_id follows
-- it (annotations/sql/submission_cache.sql). The index gradepolicy_in_force_idx serves it.
CREATE OR REPLACE FUNCTION projects_grade_policy_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    current bigint := project;
    found bigint;
BEGIN
    FOR step IN 1..100 LOOP
        EXIT WHEN current IS NULL;
        SELECT g.id INTO found FROM projects_gradepolicy g
        WHERE g.project_id = current AND g.effective_from <= at
        ORDER BY g.effective_from DESC, g.id DESC
        LIMIT 1;
        IF found IS NOT NULL THEN
            RETURN found;
        END IF;
        SELECT p.continues_id INTO current FROM projects_project p WHERE p.id = current;
    END LOOP;
    RETURN NULL;
END;
$$;

-- The history is append-only (promise 3), like the rate history: the database refuses to change or
-- remove a policy, whatever code or console tries it.
CREATE OR REPLACE TRIGGER projects_gradepolicy_append_only
    BEFORE UPDATE OR DELETE ON projects_gradepolicy
    FOR EACH ROW EXECUTE FUNCTION taskhub_refuse_change();
