-- A project's lineage: `continues_id` names the project it continues (the same work under a new
-- name), so rates, grade policies and the notice before a cut carry across (rate_in_force.sql,
-- grade_policy.sql). The database keeps it a line back in time: once set it is never changed or
-- cleared (undoing it would reopen the way around the notice), and it never goes round in a circle.
CREATE OR REPLACE FUNCTION projects_lineage_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.continues_id IS NOT NULL
       AND NEW.continues_id IS DISTINCT FROM OLD.continues_id THEN
        RAISE EXCEPTION 'project % continues project %: a lineage is never changed or undone',
            OLD.id, OLD.continues_id USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.continues_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE earlier(id, step) AS (
            SELECT NEW.continues_id, 1
            UNION ALL
            SELECT p.continues_id, e.step + 1 FROM projects_project p JOIN earlier e ON p.id = e.id
            WHERE p.continues_id IS NOT NULL AND e.step < 1000
        )
        SELECT 1 FROM earlier WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'project % cannot continue project %: the lineage would go round in a circle',
            NEW.id, NEW.continues_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER projects_project_lineage_guard
    BEFORE INSERT OR UPDATE OF continues_id ON projects_project
    FOR EACH ROW EXECUTE FUNCTION projects_lineage_guard();
