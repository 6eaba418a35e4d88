-- The owner/runtime role pair.  Migrations (effortd --migrate) run as the
-- owner of the schema; effortd serves as a separate runtime role that may
-- read and write the data but may only read the audit trail, which its
-- triggers append to as the owner: PostgreSQL itself refuses it INSERT,
-- UPDATE, DELETE and TRUNCATE on audit_log, any write to audit_pending,
-- and UPDATE or DELETE of timesheets, their entries, decisions and the
-- line manager history, and any write to the latest versions kept from
-- them (timesheet_latest, timesheet_latest_grant_entries).
--
--   SELECT effort_grant_runtime('effortd');   -- as the owner; re-runnable
--
-- grants the role what it needs on everything that exists now, and sets
-- the owner's default privileges so that tables later migrations create
-- are granted too (re-run it after a migration adds an append-only table).

-- The role an ACL item (aclexplode) names, as GRANT and REVOKE take it:
-- PUBLIC for grantee 0.
CREATE OR REPLACE FUNCTION effort_acl_grantee(p_grantee oid)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_grantee = 0 THEN 'PUBLIC' ELSE p_grantee::regrole::text END
$$;

-- Trigger functions are attached by the owner's migrations only: EXECUTE
-- on them, which CREATE TRIGGER needs (firing does not), is revoked from
-- everyone but the owner, PUBLIC included.  The trail's run as the owner
-- (60_audit_log.sql): attached to a table of the runtime role's own they
-- would stage its rows in the trail.  Run at every migration, and by
-- effort_grant_runtime after it grants EXECUTE on all functions.
CREATE OR REPLACE FUNCTION effort_revoke_triggers()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT p.oid::regprocedure AS fn, effort_acl_grantee(a.grantee) AS who
	           FROM pg_proc p
	           CROSS JOIN LATERAL aclexplode(coalesce(p.proacl,
	                acldefault('f', p.proowner))) a
	          WHERE p.pronamespace = 'public'::regnamespace
	            AND p.prorettype = 'trigger'::regtype
	            AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM %s', r.fn, r.who);
	END LOOP;
END
$$;

-- A token's hash is never changed (the trail leaves hashes out, so a new
-- one would go unseen): whoever but the owner may update tokens may update
-- every column but token_hash.  Run at every migration, so that upgrading
-- takes it from a runtime role granted by an older effort_grant_runtime,
-- and by effort_grant_runtime after its GRANT on all tables.
CREATE OR REPLACE FUNCTION effort_protect_token_hash()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_cols text := (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
	                  FROM pg_attribute a
	                 WHERE a.attrelid = 'tokens'::regclass AND a.attnum > 0
	                   AND NOT a.attisdropped AND a.attname <> 'token_hash');
	r record;
BEGIN
	FOR r IN SELECT DISTINCT effort_acl_grantee(a.grantee) AS who
	           FROM pg_class c
	           CROSS JOIN LATERAL aclexplode(c.relacl) a
	          WHERE c.oid = 'tokens'::regclass AND a.privilege_type = 'UPDATE'
	            AND a.grantee <> c.relowner LOOP
		EXECUTE format('REVOKE UPDATE ON tokens FROM %s', r.who);
		EXECUTE format('GRANT UPDATE (%s) ON tokens TO %s', v_cols, r.who);
	END LOOP;
END
$$;

-- The latest versions (timesheet_latest and its grant entries, migration
-- 023) are written by their triggers alone, as the owner: whoever else
-- holds INSERT, UPDATE, DELETE or TRUNCATE on them (the runtime role, by
-- the owner's default privileges when the migration created them) loses
-- it and keeps SELECT.  Run at every migration and by effort_grant_runtime.
CREATE OR REPLACE FUNCTION effort_protect_derived()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT DISTINCT c.oid::regclass AS tbl, effort_acl_grantee(a.grantee) AS who
	           FROM pg_class c
	           CROSS JOIN LATERAL aclexplode(c.relacl) a
	          WHERE c.oid IN ('timesheet_latest'::regclass, 'timesheet_latest_grant_entries'::regclass)
	            AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
	            AND a.grantee <> c.relowner LOOP
		EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM %s', r.tbl, r.who);
	END LOOP;
END
$$;

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
	-- but the trigger functions: CREATE TRIGGER needs EXECUTE (firing does
	-- not), and the trail's run as the owner (60_audit_log.sql).
	PERFORM effort_revoke_triggers();
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
	-- A token's hash is never changed: every column of tokens but it.
	PERFORM effort_protect_token_hash();
	-- The latest versions are their triggers' to write.
	PERFORM effort_protect_derived();
	RETURN format('granted the runtime privileges to %s', p_role);
END
$$;

SELECT effort_revoke_triggers();
SELECT effort_protect_token_hash();
SELECT effort_protect_derived();
