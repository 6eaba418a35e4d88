-- 006: evidence stored exactly, and delegations with the time they were
-- recorded (RULES.md, "Clarifications (second edition)").
--
-- Fractions (fte, fte_share, fte_fraction) are kept exactly as sent, with
-- the at most 6 decimals a feed may send (effortd refuses more; the checks
-- here refuse them too), so that 0.6667 FTE stays 0.6667 rather than being
-- rounded to 0.667; fte_share and fte_fraction may be 0.  Hours keep
-- their 2 decimals (charges.hours, timesheet_entries.hours,
-- timesheets.total_hours and estimated_hours_per_year already do).
--
-- A delegation made by a manager through POST /v1/me/delegations counts
-- only for authorisations recorded after it (recorded_at); one from the HR
-- feed counts by its dates alone.  Rows stored before this migration are
-- taken as the feed's (their dates alone, as before; their recorded_at,
-- the time of the migration, is then not read).
--
-- current_timesheets gains the time its latest decision was recorded, for
-- the delegation check of the reports (70_reports.sql).

ALTER TABLE people ALTER COLUMN fte TYPE numeric,
	ADD CONSTRAINT people_fte_scale CHECK (scale(fte) <= 6);

ALTER TABLE assignments ALTER COLUMN fte_share TYPE numeric,
	DROP CONSTRAINT assignments_fte_share_check,
	ADD CONSTRAINT assignments_fte_share_check
		CHECK (fte_share >= 0 AND fte_share <= 1 AND scale(fte_share) <= 6);

ALTER TABLE charges ALTER COLUMN fte_fraction TYPE numeric,
	ADD CONSTRAINT charges_fte_fraction_scale CHECK (scale(fte_fraction) <= 6);

ALTER TABLE delegations
	ADD COLUMN source text NOT NULL DEFAULT 'feed'
		CHECK (source IN ('feed', 'manager')),
	ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();

CREATE OR REPLACE VIEW current_timesheets AS
SELECT t.*, d.decision, d.decided_by, d.decided_at, d.reason AS decision_reason,
       d.recorded_at AS decision_recorded_at
  FROM (SELECT DISTINCT ON (person_id, period_start, period_end) *
          FROM timesheets
         ORDER BY person_id, period_start, period_end, version DESC) t
  LEFT JOIN LATERAL (SELECT * FROM timesheet_decisions d
                      WHERE d.timesheet_id = t.timesheet_id
                      ORDER BY d.decision_id DESC LIMIT 1) d ON true;

-- An assignment as the rules read it: without an end_date it runs to its
-- grant's end_date (open when the grant is unknown).
CREATE VIEW assignments_effective AS
SELECT a.person_id, a.grant_ref, a.start_date,
       coalesce(a.end_date, g.end_date) AS end_date,
       a.role, a.cost_type, a.fte_share, a.estimated_hours_per_year
  FROM assignments a
  LEFT JOIN grants g ON g.grant_ref = a.grant_ref;
