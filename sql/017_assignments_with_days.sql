-- 017: an assignment without end_date runs to its grant's end_date
-- (RULES.md); one that starts after that day (the grant ended before it
-- began, or its end was moved earlier) has no day, so it overlaps no month
-- and makes nobody research staff or an investigator.  Before, the rules
-- took the months between its inverted start and end: a teaching_excess
-- whose period ended before it began, a cap year, a timesheet_missing,
-- and no unassigned_grant_hours for the hours on that grant (found by the
-- independent model, tests/t/model.t).
CREATE OR REPLACE VIEW assignments_effective AS
SELECT a.person_id, a.grant_ref, a.start_date,
       coalesce(a.end_date, g.end_date) AS end_date,
       a.role, a.cost_type, a.fte_share, a.estimated_hours_per_year
  FROM assignments a
  LEFT JOIN grants g ON g.grant_ref = a.grant_ref
 WHERE a.end_date IS NOT NULL OR g.end_date IS NULL OR g.end_date >= a.start_date;
