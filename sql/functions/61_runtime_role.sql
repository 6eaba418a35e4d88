-- The owner/runtime role pair.  Migrations (effortd --migrate) run as the
-- owner of the schema; effortd serves as a separate runtime role that may
-- read and write the data but may only read the audit trail, which its
-- triggers append to as the owner: PostgreSQL itself refuses it INSERT,
-- UPDATE, DELETE and TRUNCATE on audit_log, any write to audit_pending,
-- and UPDATE or DELETE of timesheets, their entries, decisions and the
-- line manager history.
--
--   SELECT effort_grant_runtime('effortd');   -- as the owner; re-runnable
--
-- grants the role what it needs on everything that exists now, and sets
-- the owner's default privileges so that tables later migrations create
-- are granted too (re-run it after a migration adds an append-only table).

CREATE OR REPLACE FUNCTION effort_grant_runtime(p_role name)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_role) THEN
		RAISE EXCEPTION 'no such role: %', p_role;
	END IF;
	EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', p_role);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', p_role);
	EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', p_role);
	EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %I', p_role);
	EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', p_role);
	EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', p_role);
	-- The audit trail is append-only for the runtime role.
	EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM %I', p_role);
	EXECUTE format('REVOKE INSERT ON audit_log FROM %I', p_role);
	EXECUTE format('GRANT SELECT ON audit_log TO %I', p_role);
	-- Only the triggers (which run as the owner) stage and append: the
	-- runtime role may not write the staging table, the chain's head or
	-- the log's ids (audit_append fails for it on these).
	EXECUTE format('REVOKE ALL ON audit_pending, audit_head FROM %I', p_role);
	EXECUTE format('REVOKE ALL ON SEQUENCE audit_log_id_seq, audit_pending_seq_seq FROM %I', p_role);
	-- Evidence is kept, never rewritten: timesheet versions, their
	-- entries, decisions and who line-managed whom are insert-only.
	EXECUTE format('REVOKE UPDATE, DELETE ON timesheets, timesheet_entries, '
		'timesheet_decisions, line_manager_history FROM %I', p_role);
	RETURN format('granted the runtime privileges to %s', p_role);
END
$$;
