-- 003: the audit trail's triggers become statement-level.
--
-- 002 logged each changed row with a deferred row trigger that appended it
-- to the chain at commit, one plpgsql call, lock and hash at a time.  Now
-- three statement-level triggers per audited table (INSERT, UPDATE, DELETE:
-- PostgreSQL allows transition tables only on single-event triggers; tokens'
-- UPDATE excepted, below) read
-- the statement's rows from its transition tables and stage them in
-- audit_pending in one INSERT; at commit one deferred flush appends
-- everything the transaction staged in one ordered pass under the advisory
-- lock (effort_audit_stmt and effort_audit_flush in
-- sql/functions/60_audit_log.sql).  What is logged, and the chain, are
-- unchanged.

DROP TRIGGER audit_people ON people;
DROP TRIGGER audit_grants ON grants;
DROP TRIGGER audit_assignments ON assignments;
DROP TRIGGER audit_charges ON charges;
DROP TRIGGER audit_delegations ON delegations;
DROP TRIGGER audit_timesheets ON timesheets;
DROP TRIGGER audit_timesheet_decisions ON timesheet_decisions;
DROP TRIGGER audit_tokens ON tokens;
DROP FUNCTION effort_audit_row();

-- The trigger functions; their bodies are (re)defined in 60_audit_log.sql.
CREATE FUNCTION effort_audit_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END
$$;
CREATE FUNCTION effort_audit_flush() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END
$$;

-- The rows changed by a transaction, waiting for its commit: only ever
-- read and emptied by that transaction (xid), so nothing stays here after
-- it ends; unlogged, since a crash aborts them anyway.  The one row per
-- transaction with arm set queues the deferred flush.
CREATE UNLOGGED TABLE audit_pending (
	xid        bigint NOT NULL DEFAULT txid_current(),
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	action     text NOT NULL,
	entity     text NOT NULL,
	entity_key jsonb NOT NULL,
	before     jsonb,
	after      jsonb,
	arm        boolean NOT NULL DEFAULT false,
	PRIMARY KEY (xid, seq)
);
REVOKE ALL ON audit_pending FROM PUBLIC;
CREATE CONSTRAINT TRIGGER audit_pending_flush AFTER INSERT ON audit_pending
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.arm)
	EXECUTE FUNCTION effort_audit_flush();

-- audit_<table>_insert, _update and _delete; the arguments name the key
-- columns logged as entity_key.
DO $$
DECLARE
	t record;
BEGIN
	FOR t IN SELECT * FROM (VALUES
		('people', '''person_id'''),
		('grants', '''grant_ref'''),
		('assignments', '''person_id'', ''grant_ref'', ''start_date'''),
		('charges', '''person_id'', ''grant_ref'', ''month'''),
		('delegations', '''manager_id'', ''delegate_id'', ''start_date'''),
		('timesheets', '''timesheet_id'', ''person_id'', ''period_start'', ''version'''),
		('timesheet_decisions', '''decision_id'', ''timesheet_id'''),
		('tokens', '''token_id'', ''role'', ''person_id''')) v(tab, keys)
	LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I '
			'REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT '
			'EXECUTE FUNCTION effort_audit_stmt(%s)',
			'audit_' || t.tab || '_insert', t.tab, t.keys);
		EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I '
			'REFERENCING OLD TABLE AS effort_old FOR EACH STATEMENT '
			'EXECUTE FUNCTION effort_audit_stmt(%s)',
			'audit_' || t.tab || '_delete', t.tab, t.keys);
		CONTINUE WHEN t.tab = 'tokens';
		EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I '
			'REFERENCING OLD TABLE AS effort_old NEW TABLE AS effort_new '
			'FOR EACH STATEMENT EXECUTE FUNCTION effort_audit_stmt(%s)',
			'audit_' || t.tab || '_update', t.tab, t.keys);
	END LOOP;
END
$$;

-- Except updates of tokens: effort_auth's UPDATE of last_used_at runs on
-- many requests, mostly changing no row, and a statement trigger would run
-- every time.  This row trigger runs only for a row that changed something
-- else (a revocation, a label), which is rare.
CREATE TRIGGER audit_tokens_update AFTER UPDATE ON tokens FOR EACH ROW
	WHEN ((to_jsonb(OLD) - '{updated_at,last_used_at}'::text[])
	      IS DISTINCT FROM (to_jsonb(NEW) - '{updated_at,last_used_at}'::text[]))
	EXECUTE FUNCTION effort_audit_stmt('token_id', 'role', 'person_id');
