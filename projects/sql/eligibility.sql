-- THE rule of who may work on a project: an active contractor, on an active project, holding the
-- project's qualification when it needs one. Python reads it through
-- projects.selectors.contractors_eligible_for / contractor_is_eligible; the derived fair-share cap
-- and the lottery's quotas use it in their own statements.
CREATE OR REPLACE FUNCTION projects_contractor_is_eligible(contractor bigint, project bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT COALESCE((
        SELECT u.role = 'contractor' AND u.is_active AND p.status = 'active'
               AND (p.qualification_id IS NULL OR EXISTS (
                   SELECT 1 FROM projects_qualification q
                   WHERE q.contractor_id = u.id AND q.project_id = p.qualification_id))
        FROM accounts_user u, projects_project p
        WHERE u.id = contractor AND p.id = project
    ), false)
$$;
