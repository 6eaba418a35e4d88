-- The owner/runtime role pair.  Migrations (effortd --migrate) run as the
-- owner of the schema; effortd serves as a separate runtime role that may
-- read and write the data but may only SELECT and INSERT the audit trail:
-- PostgreSQL itself refuses it UPDATE, DELETE and TRUNCATE on audit_log.
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
	EXECUTE format('GRANT SELECT, INSERT ON audit_log TO %I', p_role);
	RETURN format('granted the runtime privileges to %s', p_role);
END
$$;
