-- THE rule of the rate in force: of a project's append-only rate history, the rate with the latest
-- effective_from at or before the moment, the highest id among equal times; before the project's own
-- first rate takes effect, the rate in force of the project it continues (its lineage,
-- projects/sql/lineage.sql), and so on up the lineage; NULL when nobody had a rate then. So a
-- continuation pays its predecessor's rate until its own applies, and its own first rate is a cut
-- (which waits for the notice period) when it is lower than that: one rule across a lineage, no copy.
-- Python reads it through projects.selectors.rate_in_force; the submission's pay_rate_id follows it
-- (annotations/sql/submission_cache.sql). The index payrate_in_force_idx serves it.
CREATE OR REPLACE FUNCTION projects_pay_rate_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    current bigint := project;
    found bigint;
BEGIN
    -- The lineage guard refuses cycles; the bound only keeps a damaged table from looping.
    FOR step IN 1..100 LOOP
        EXIT WHEN current IS NULL;
        SELECT r.id INTO found FROM projects_payrate r
        WHERE r.project_id = current AND r.effective_from <= at
        ORDER BY r.effective_from DESC, r.id DESC
        LIMIT 1;
        IF found IS NOT NULL THEN
            RETURN found;
        END IF;
        SELECT p.continues_id INTO current FROM projects_project p WHERE p.id = current;
    END LOOP;
    RETURN NULL;
END;
$$;
