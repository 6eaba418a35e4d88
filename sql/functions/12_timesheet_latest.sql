-- The latest version of every timesheet, kept in timesheet_latest and
-- timesheet_latest_grant_entries (migration 023) as versions, entries and
-- decisions are stored: the one definition of "latest" that the view
-- current_timesheets, the rules (30_rules.sql), the ingest
-- (21_ingest_timesheets.sql) and every listing read.
--   latest version   the highest version of a (person, period)
--   latest decision  that version's decision with the highest decision_id
--   taught           its teaching entries' hours, in hundredths (NULL: none)
-- and the version's grant entries with the person, month and period.

-- Rebuild the rows of the (person, period) keys given as three arrays of
-- the same length (repeats allowed).  The keys' people are locked first,
-- in person_id order as the ingest (21_ingest_timesheets.sql) and the
-- approvals (62_approvals.sql) lock them before they write, so that two
-- transactions never rebuild one key from different snapshots; each
-- statement below then reads what the transactions before it committed.
-- (The keys are read from the arrays, not staged in a temporary table: a
-- table of that name the session made could run its own triggers as the
-- owner, whom effort_latest_stmt runs as.)
CREATE OR REPLACE FUNCTION effort_latest_refresh(p_person text[], p_start date[], p_end date[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM people WHERE person_id = ANY (p_person) ORDER BY person_id FOR UPDATE;

	WITH gone AS (
		DELETE FROM timesheet_latest l
		 USING unnest(p_person, p_start, p_end) AS k(person_id, period_start, period_end)
		 WHERE l.person_id = k.person_id AND l.period_start = k.period_start
		   AND l.period_end = k.period_end
		RETURNING l.timesheet_id)
	DELETE FROM timesheet_latest_grant_entries g USING gone
	 WHERE g.timesheet_id = gone.timesheet_id;

	WITH l AS (
		INSERT INTO timesheet_latest
		SELECT t.person_id, t.period_start, t.period_end, t.timesheet_id, t.version,
		       t.submitted_at, t.total_hours,
		       (SELECT sum((e.hours * 100)::int)::int FROM timesheet_entries e
		         WHERE e.timesheet_id = t.timesheet_id AND e.kind = 'teaching'),
		       d.decision_id, d.decision, d.decided_by, d.decided_at, d.reason, d.recorded_at
		  FROM (SELECT DISTINCT * FROM unnest(p_person, p_start, p_end)
		          AS k(person_id, period_start, period_end)) k
		 CROSS JOIN LATERAL (SELECT * FROM timesheets t
		                      WHERE t.person_id = k.person_id
		                        AND t.period_start = k.period_start
		                        AND t.period_end = k.period_end
		                      ORDER BY t.version DESC LIMIT 1) t
		  LEFT JOIN LATERAL (SELECT * FROM timesheet_decisions d
		                      WHERE d.timesheet_id = t.timesheet_id
		                      ORDER BY d.decision_id DESC LIMIT 1) d ON true
		RETURNING timesheet_id, person_id, period_start, period_end)
	INSERT INTO timesheet_latest_grant_entries
	SELECT e.timesheet_id, e.activity, l.person_id, effort_month_start(l.period_start),
	       l.period_start, l.period_end, e.hours
	  FROM l
	  JOIN timesheet_entries e ON e.timesheet_id = l.timesheet_id AND e.kind = 'grant';
END
$$;

-- Rebuild both tables whole from every timesheet stored.  (A writer
-- storing versions meanwhile rebuilds its own keys: the people locks
-- order the two.)
CREATE OR REPLACE FUNCTION effort_latest_rebuild()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM effort_latest_refresh(array_agg(k.person_id), array_agg(k.period_start),
	                              array_agg(k.period_end))
	   FROM (SELECT person_id, period_start, period_end FROM timesheet_latest
	         UNION
	         SELECT person_id, period_start, period_end FROM timesheets) k;
END
$$;

-- The statement trigger of timesheets, timesheet_entries and
-- timesheet_decisions (migration 023): an INSERT rebuilds the keys of the
-- rows it inserted (from the transition table effort_new), anything else
-- (the owner's UPDATE, DELETE or TRUNCATE: the runtime role may only
-- insert) everything.  As the owner (SECURITY DEFINER): the runtime role
-- may only read the two tables (effort_protect_derived, 61_runtime_role.sql).
CREATE OR REPLACE FUNCTION effort_latest_stmt()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		PERFORM effort_latest_rebuild();
	ELSIF TG_TABLE_NAME = 'timesheets' THEN
		PERFORM effort_latest_refresh(array_agg(n.person_id), array_agg(n.period_start),
		                              array_agg(n.period_end))
		   FROM effort_new n;
	ELSE
		PERFORM effort_latest_refresh(array_agg(t.person_id), array_agg(t.period_start),
		                              array_agg(t.period_end))
		   FROM timesheets t
		  WHERE t.timesheet_id IN (SELECT n.timesheet_id FROM effort_new n);
	END IF;
	RETURN NULL;
END
$$;

-- Migration 023 created the tables empty: fill them once.  Writers of
-- versions, entries and decisions wait until these functions commit: an
-- effortd serving during the upgrade still runs the migration's empty
-- trigger function until then, and would store a version the fill did
-- not see.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM timesheet_latest) AND EXISTS (SELECT 1 FROM timesheets) THEN
		LOCK TABLE timesheets, timesheet_entries, timesheet_decisions IN SHARE MODE;
		PERFORM effort_latest_rebuild();
	END IF;
END
$$;
