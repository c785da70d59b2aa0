-- THE rule of the rate in force: of a project's append-only rate history, the rate with the latest
-- effective_from at or before the moment, the highest id among equal times (NULL before the first).
-- Python reads it through projects.selectors.rate_in_force; the submission's pay_rate_id follows it
-- (annotations/sql/submission_cache.sql). The index payrate_in_force_idx serves it.
CREATE OR REPLACE FUNCTION projects_pay_rate_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT r.id FROM projects_payrate r
    WHERE r.project_id = project AND r.effective_from <= at
    ORDER BY r.effective_from DESC, r.id DESC
    LIMIT 1
$$;
