-- THE pay rule, for the database: what work paid by a rate and a grade policy (its pay terms)
-- earns for each grade, one row per terms and grade cell (cell 0: not graded yet; cells 1 to 5: the
-- final grade). Its Python twin is projects/pay.py (`pay_percent`, `pay_amount`);
-- tests/payouts/test_pay_rule_agrees.py proves the two agree. The nightly recompute
-- (payouts/services/recompute.py) lays this view out as arrays.
--
-- * pay terms: a pair of a rate and a grade policy (empty: the default percents) that some work is
--   paid by, one row per pair any submission needs (table projects_payterms, written only by
--   projects_pay_terms_for below, never changed). A submission keeps its terms' id
--   (annotations/sql/submission_cache.sql), so the recompute reads one cell per row however many
--   rates and policies a project's history holds.
-- * pay_percent: the policy's share for the cell (onboarding work is always paid in full, promise 4;
--   a lineage joins only projects alike in that); without a policy, GradePolicy.DEFAULT_PERCENTS,
--   written here as numbers: 100 when not graded yet, 0 / 50 / 100 / 100 / 100 for grades 1 to 5.
-- * task_cents: per task, the pay in cents, rounded once per cell, half up; -1 marks a per-hour rate,
--   whose pay depends on the active seconds.
-- * hour_whole, hour_part: per hour, the pay in cents for s active seconds is
--   s * whole + (s * part + 1.8e9) div 3.6e9, exact and rounded half up: with the rate counted in
--   0.0001 and the percent in 0.01 (the scales of their columns), the pay is s * F / 3.6e9 cents for
--   the integer F = rate * 10^4 * percent * 10^2 (below 10^16), split as F = whole * 3.6e9 + part.
--   That stays within bigint for any number of seconds the integer column can hold.
-- * percent_bp: the share in hundredths of a percent.

-- The terms of a rate and a policy: found, or written the first time work needs them. Called by the
-- submissions' triggers; two transactions needing a new pair at once write it once (the unique index,
-- ON CONFLICT), and DO UPDATE returns the row the other one wrote.
CREATE OR REPLACE FUNCTION projects_pay_terms_for(rate bigint, policy bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    found bigint;
BEGIN
    IF rate IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT t.id INTO found FROM projects_payterms t
    WHERE t.rate_id = rate AND t.policy_id IS NOT DISTINCT FROM policy;
    IF found IS NULL THEN
        INSERT INTO projects_payterms (rate_id, policy_id) VALUES (rate, policy)
        ON CONFLICT (rate_id, policy_id) DO UPDATE SET rate_id = EXCLUDED.rate_id
        RETURNING id INTO found;
    END IF;
    RETURN found;
END;
$$;

-- Its columns changed when grade policies got a history (terms instead of rates): replaced whole.
DROP VIEW IF EXISTS projects_pay_cell;
CREATE VIEW projects_pay_cell AS
SELECT t.id AS terms_id, t.rate_id, t.policy_id, r.project_id, c.cell, x.pay_percent,
       CASE WHEN r.unit = 'per_hour' THEN -1
            ELSE (round(r.amount * x.pay_percent / 100, 2) * 100)::bigint END AS task_cents,
       CASE WHEN r.unit = 'per_hour' THEN (r.amount * 10000 * x.pay_percent * 100)::bigint / 3600000000
            ELSE 0 END AS hour_whole,
       CASE WHEN r.unit = 'per_hour' THEN mod((r.amount * 10000 * x.pay_percent * 100)::bigint, 3600000000)
            ELSE 0 END AS hour_part,
       (x.pay_percent * 100)::integer AS percent_bp
FROM projects_payterms t
JOIN projects_payrate r ON r.id = t.rate_id
JOIN projects_project p ON p.id = r.project_id
LEFT JOIN projects_gradepolicy gp ON gp.id = t.policy_id
CROSS JOIN generate_series(0, 5) c(cell)
CROSS JOIN LATERAL (
    SELECT (CASE
        WHEN p.is_onboarding THEN 100
        WHEN c.cell = 0 THEN COALESCE(gp.pay_ungraded, 100)
        WHEN c.cell = 5 THEN COALESCE(gp.pay_grade_5, 100)
        WHEN c.cell = 4 THEN COALESCE(gp.pay_grade_4, 100)
        WHEN c.cell = 3 THEN COALESCE(gp.pay_grade_3, 100)
        WHEN c.cell = 2 THEN COALESCE(gp.pay_grade_2, 50)
        ELSE COALESCE(gp.pay_grade_1, 0)
    END)::numeric(5, 2) AS pay_percent
) x;
