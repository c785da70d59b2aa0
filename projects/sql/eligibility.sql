-- THE rule of who may work on a project: an active contractor, on an active project, holding the
-- project's qualification when it needs one. A qualification counts from its grant until it is revoked
-- (revoked_at, which may be set ahead: it stops counting from then); a revoked row is kept as history.
-- Python reads it through projects.selectors (contractors_eligible_for, contractor_is_eligible,
-- contractor_is_qualified, contractors_qualified_for); the derived fair-share cap and the lottery's
-- quotas use it in their own statements.
CREATE OR REPLACE FUNCTION projects_contractor_holds_qualification(contractor bigint, qualification bigint)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM projects_qualification q
        WHERE q.contractor_id = contractor AND q.project_id = qualification
          AND (q.revoked_at IS NULL OR q.revoked_at > now())
    )
$$;

-- Everything but the project's own status: who could work on it were it open (the people a
-- continuation reaches, the contractors of a closed project).
CREATE OR REPLACE FUNCTION projects_contractor_is_qualified(contractor bigint, project bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT COALESCE((
        SELECT u.role = 'contractor' AND u.is_active
               AND (p.qualification_id IS NULL
                    OR projects_contractor_holds_qualification(u.id, p.qualification_id))
        FROM accounts_user u, projects_project p
        WHERE u.id = contractor AND p.id = project
    ), false)
$$;

CREATE OR REPLACE FUNCTION projects_contractor_is_eligible(contractor bigint, project bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT COALESCE((SELECT p.status = 'active' FROM projects_project p WHERE p.id = project), false)
           AND projects_contractor_is_qualified(contractor, project)
$$;
