-- Stage "latest versions" in one definition (issue 14): current_timesheets,
-- the latest version of every timesheet (no higher version of the same
-- person and period exists; only versions above 1 can be higher) with its
-- latest decision (no later decision of that version exists), written as
-- anti-joins instead of DISTINCT ON and LATERAL ... LIMIT 1, so that the
-- planner flattens the view into the query that reads it: hash anti-joins
-- for the whole organisation, index probes for a few people.  The audit
-- rules (sql/functions/30_rules.sql) read it instead of a copy of their own.
-- Same columns, same rows.
CREATE OR REPLACE VIEW current_timesheets AS
SELECT t.*, d.decision, d.decided_by, d.decided_at, d.reason AS decision_reason,
       d.recorded_at AS decision_recorded_at
  FROM timesheets t
  LEFT JOIN (SELECT d.* FROM timesheet_decisions d
              WHERE NOT EXISTS (SELECT 1 FROM timesheet_decisions n
                                 WHERE n.timesheet_id = d.timesheet_id
                                   AND n.decision_id > d.decision_id)) d
    ON d.timesheet_id = t.timesheet_id
 WHERE NOT EXISTS (SELECT 1 FROM timesheets n
                    WHERE n.person_id = t.person_id AND n.period_start = t.period_start
                      AND n.period_end = t.period_end AND n.version > t.version
                      AND n.version > 1);
