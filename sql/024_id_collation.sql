-- 024: identifiers compare byte for byte (issue 13).
--
-- People, grants, rules and the ids that name them (a line manager, a
-- delegate, who decided) are opaque keys: effortd compares them byte for
-- byte, and the reports already order them with COLLATE "C".  Their
-- columns had the database's collation, so that every sort, merge join
-- and index on them went through the server's locale: strcoll on two
-- copies of each pair compared, and no abbreviated keys in sorts (on
-- this machine's C.UTF-8, sorting 594,000 person_ids took 0.63-0.87 s
-- against 0.52 s as "C").  The rules sort and merge every person-month
-- by person_id, so the full sweep paid for it, more at 50,000 staff than
-- at 10,000 (n log n): a sweep of 10,000 staff about 3 % quicker as "C",
-- of 50,000 about 8 % (docs/performance.md, twenty-first round).
--
-- Now those columns are COLLATE "C".  Equality is unchanged (the old
-- collations were deterministic), so every key and unique constraint
-- holds as before; what changes is order: ids sort by their bytes, as
-- in C.UTF-8 (code point order) and as the C code and the reports do,
-- whatever the locale the cluster was created with (with en_GB.UTF-8,
-- listings by person_id were in that locale's order before).  The tables
-- are not rewritten (the type is the same); the indexes on these
-- columns are rebuilt, under an ACCESS EXCLUSIVE lock on each table for
-- the length of the migration, as any migration's.
--
-- The two views over these columns cannot stay while their columns
-- change: they are dropped and made again as migrations 017 and 023 left
-- them, and the privileges they had are given again.  The two functions
-- of current_timesheets' row type (sql/functions/50_timesheets.sql) go
-- with it: the function files, re-applied after the migrations in the
-- same run, make them again.  Anything else built on the views (a view
-- of the operator's) stops the migration, which then changes nothing.
-- (The grantee as effort_acl_grantee, 61_runtime_role.sql, writes it: a
-- migration runs before the function files, on a new database before
-- that function exists.)
DO $$
DECLARE
	v_grants text[];
	v_grant  text;
	v_alter  text;
BEGIN
	SELECT coalesce(array_agg(format('GRANT %s ON %I TO %s', a.privilege_type, c.relname,
	                                 CASE WHEN a.grantee = 0 THEN 'PUBLIC'
	                                      ELSE a.grantee::regrole::text END)), '{}')
	  INTO v_grants
	  FROM pg_class c
	 CROSS JOIN LATERAL aclexplode(c.relacl) a
	 WHERE c.relnamespace = 'public'::regnamespace
	   AND c.relname IN ('current_timesheets', 'assignments_effective')
	   AND a.grantee <> c.relowner;

	DROP FUNCTION IF EXISTS effort_timesheet_doc(current_timesheets, jsonb);
	DROP FUNCTION IF EXISTS effort_current_of(text[]);
	DROP VIEW current_timesheets;
	DROP VIEW assignments_effective;

	-- one ALTER TABLE a table, so that an index over several of its
	-- columns is rebuilt once
	FOR v_alter IN
		SELECT format('ALTER TABLE %I %s', t.tab,
		              (SELECT string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', c), ', ')
		                 FROM unnest(t.cols) c))
		  FROM (VALUES ('people', '{person_id,line_manager_id}'::text[]),
		               ('grants', '{grant_ref}'),
		               ('assignments', '{person_id,grant_ref}'),
		               ('charges', '{person_id,grant_ref}'),
		               ('delegations', '{manager_id,delegate_id}'),
		               ('line_manager_history', '{person_id,line_manager_id}'),
		               ('timesheets', '{person_id}'),
		               ('timesheet_entries', '{activity}'),
		               ('timesheet_decisions', '{decided_by}'),
		               ('timesheet_latest', '{person_id,decided_by}'),
		               ('timesheet_latest_grant_entries', '{person_id,activity}'),
		               ('findings', '{rule,person_id,grant_ref}'),
		               ('audit_sweep_overtaken', '{person_id}'),
		               ('tokens', '{person_id}'),
		               ('reminder_claims', '{recipient_id}')) AS t(tab, cols)
	LOOP
		EXECUTE v_alter;
	END LOOP;

	-- as migration 023 left it
	CREATE VIEW current_timesheets AS
	SELECT t.*, l.decision, l.decided_by, l.decided_at, l.decision_reason,
	       l.decision_recorded_at
	  FROM timesheet_latest l
	  JOIN timesheets t ON t.timesheet_id = l.timesheet_id;

	-- as migration 017 left it
	CREATE VIEW assignments_effective AS
	SELECT a.person_id, a.grant_ref, a.start_date,
	       coalesce(a.end_date, g.end_date) AS end_date,
	       a.role, a.cost_type, a.fte_share, a.estimated_hours_per_year
	  FROM assignments a
	  LEFT JOIN grants g ON g.grant_ref = a.grant_ref
	 WHERE a.end_date IS NOT NULL OR g.end_date IS NULL OR g.end_date >= a.start_date;

	FOREACH v_grant IN ARRAY v_grants LOOP
		EXECUTE v_grant;
	END LOOP;
END
$$;
