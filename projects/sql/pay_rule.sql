-- THE pay rule, for the database: what work paid at a rate earns for each grade, one row per rate
-- and grade cell (cell 0: not graded yet; cells 1 to 5: the final grade). Its Python twin is
-- projects/pay.py (`pay_percent`, `pay_amount`); tests/projects/test_rules_agree.py proves the two
-- agree. The nightly recompute (payouts/services/recompute.py) lays this view out as arrays.
--
-- * pay_percent: the project's grade policy share for the cell (onboarding work is always paid in
--   full, promise 4); a project without a policy pays GradePolicy.DEFAULT_PERCENTS, written here as
--   numbers: 100 when not graded yet, 0 / 50 / 100 / 100 / 100 for grades 1 to 5.
-- * task_cents: per task, the pay in cents, rounded once per cell, half up; -1 marks a per-hour rate,
--   whose pay depends on the active seconds.
-- * hour_whole, hour_part: per hour, the pay in cents for s active seconds is
--   s * whole + (s * part + 1.8e9) div 3.6e9, exact and rounded half up: with the rate counted in
--   0.0001 and the percent in 0.01 (the scales of their columns), the pay is s * F / 3.6e9 cents for
--   the integer F = rate * 10^4 * percent * 10^2 (below 10^16), split as F = whole * 3.6e9 + part.
--   That stays within bigint for any number of seconds the integer column can hold.
-- * percent_bp: the share in hundredths of a percent.
CREATE OR REPLACE VIEW projects_pay_cell AS
SELECT r.id AS rate_id, r.project_id, c.cell, x.pay_percent,
       CASE WHEN r.unit = 'per_hour' THEN -1
            ELSE (round(r.amount * x.pay_percent / 100, 2) * 100)::bigint END AS task_cents,
       CASE WHEN r.unit = 'per_hour' THEN (r.amount * 10000 * x.pay_percent * 100)::bigint / 3600000000
            ELSE 0 END AS hour_whole,
       CASE WHEN r.unit = 'per_hour' THEN mod((r.amount * 10000 * x.pay_percent * 100)::bigint, 3600000000)
            ELSE 0 END AS hour_part,
       (x.pay_percent * 100)::integer AS percent_bp
FROM projects_payrate r
JOIN projects_project p ON p.id = r.project_id
LEFT JOIN projects_gradepolicy gp ON gp.project_id = r.project_id
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
