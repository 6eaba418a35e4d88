-- 023: the latest version of every timesheet, kept as versions, entries
-- and decisions are stored (issue 13).
--
-- The rules read every latest version and its latest decision at each full
-- sweep; the view current_timesheets (migration 014) found them by two
-- anti-joins over every version and decision stored, and the rules then
-- joined every entry to them for the teaching and grant hours: about a
-- sixth of a full sweep's half at 10,000 staff (docs/performance.md, "The
-- latest versions kept at ingest").  Now they are a table:
--   timesheet_latest                one row per (person, period): its
--                                   latest version, that version's latest
--                                   decision and its teaching hours;
--   timesheet_latest_grant_entries  that version's grant entries, with the
--                                   person and period, read by person.
-- Statement triggers on timesheets, timesheet_entries and
-- timesheet_decisions rebuild the rows of the (person, period) keys a
-- statement inserted (effort_latest_stmt, sql/functions/
-- 12_timesheet_latest.sql, which holds the one definition of "latest");
-- an UPDATE, DELETE or TRUNCATE of those tables, which only the owner may
-- do (evidence is insert-only for the runtime role), rebuilds them whole.
-- The runtime role may only read them (effort_protect_derived).  Nothing
-- here is evidence: both are rebuilt from the tables above, and are not in
-- the audit trail.  current_timesheets keeps its columns and reads them.
CREATE TABLE timesheet_latest (
	person_id            text NOT NULL,
	period_start         date NOT NULL,
	period_end           date NOT NULL,
	timesheet_id         bigint NOT NULL UNIQUE,
	version              integer NOT NULL,
	submitted_at         timestamptz NOT NULL,
	total_hours          numeric(8,2) NOT NULL,
	-- the version's teaching entries' hours, in hundredths (NULL: none)
	taught               integer,
	-- its latest decision (NULL: none)
	decision_id          bigint,
	decision             text,
	decided_by           text,
	decided_at           timestamptz,
	decision_reason      text,
	decision_recorded_at timestamptz,
	PRIMARY KEY (person_id, period_start, period_end)
);

CREATE TABLE timesheet_latest_grant_entries (
	timesheet_id bigint NOT NULL,
	activity     text NOT NULL,
	person_id    text NOT NULL,
	month        date NOT NULL,
	period_start date NOT NULL,
	period_end   date NOT NULL,
	hours        numeric(6,2) NOT NULL,
	PRIMARY KEY (timesheet_id, activity)
);
CREATE INDEX timesheet_latest_grant_entries_person
	ON timesheet_latest_grant_entries (person_id, month);

-- The trigger function; its body is (re)defined in 12_timesheet_latest.sql,
-- which also fills the tables when they are empty and timesheets are not.
CREATE FUNCTION effort_latest_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END
$$;

CREATE TRIGGER latest_timesheets_insert AFTER INSERT ON timesheets
	REFERENCING NEW TABLE AS effort_new
	FOR EACH STATEMENT EXECUTE FUNCTION effort_latest_stmt();
CREATE TRIGGER latest_entries_insert AFTER INSERT ON timesheet_entries
	REFERENCING NEW TABLE AS effort_new
	FOR EACH STATEMENT EXECUTE FUNCTION effort_latest_stmt();
CREATE TRIGGER latest_decisions_insert AFTER INSERT ON timesheet_decisions
	REFERENCING NEW TABLE AS effort_new
	FOR EACH STATEMENT EXECUTE FUNCTION effort_latest_stmt();
CREATE TRIGGER latest_timesheets_rewrite AFTER UPDATE OR DELETE OR TRUNCATE ON timesheets
	FOR EACH STATEMENT EXECUTE FUNCTION effort_latest_stmt();
CREATE TRIGGER latest_entries_rewrite AFTER UPDATE OR DELETE OR TRUNCATE ON timesheet_entries
	FOR EACH STATEMENT EXECUTE FUNCTION effort_latest_stmt();
CREATE TRIGGER latest_decisions_rewrite AFTER UPDATE OR DELETE OR TRUNCATE ON timesheet_decisions
	FOR EACH STATEMENT EXECUTE FUNCTION effort_latest_stmt();

-- The same columns as before (migration 014), read from the table.
CREATE OR REPLACE VIEW current_timesheets AS
SELECT t.*, l.decision, l.decided_by, l.decided_at, l.decision_reason,
       l.decision_recorded_at
  FROM timesheet_latest l
  JOIN timesheets t ON t.timesheet_id = l.timesheet_id;
