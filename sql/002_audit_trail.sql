-- 002: the tamper-evident audit trail and the reminder claims.
--
-- audit_log is append-only: every change to the feed tables, timesheet
-- versions, decisions, delegations and tokens, and every configuration
-- reload, is one row with who (actor), what (action, entity, entity_key),
-- when (at) and the record before and after.  Rows are hash-chained:
-- hash = sha256(prev_hash || the row's canonical content), prev_hash being
-- the hash of the row before (NULL for the first).  The functions that
-- append and verify are in sql/functions/60_audit_log.sql; the role effortd
-- serves as gets SELECT and INSERT on it, never UPDATE or DELETE
-- (effort_grant_runtime in sql/functions/61_runtime_role.sql).

CREATE TABLE audit_log (
	id         bigserial PRIMARY KEY,
	at         timestamptz NOT NULL,
	actor      jsonb NOT NULL,       -- {token_id, role, person_id} or {db_user}
	action     text NOT NULL,        -- created, updated, deleted, authorised, …
	entity     text NOT NULL,        -- the table, or "config"
	entity_key jsonb NOT NULL,       -- the row's key columns
	before     jsonb,
	after      jsonb,
	prev_hash  bytea,
	hash       bytea NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, id);
CREATE INDEX audit_log_at ON audit_log (at);
REVOKE ALL ON audit_log FROM PUBLIC;

-- One row per reminder item sent to one recipient on one local day: the
-- unique key is what keeps several effortd instances (or a restart) from
-- sending the same item twice in a day.
CREATE TABLE reminder_claims (
	recipient_id text NOT NULL,
	item         text NOT NULL,      -- "timesheet:17", "missing:2026-09-01"
	day          date NOT NULL,
	claimed_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (recipient_id, item, day)
);

-- The trigger function; its body is (re)defined in 60_audit_log.sql.
CREATE FUNCTION effort_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END
$$;

-- Deferred to commit, so that the advisory lock serialising the chain is
-- held only while committing, and a new timesheet version is logged with
-- the entries inserted after it in the same transaction.
CREATE CONSTRAINT TRIGGER audit_people AFTER INSERT OR UPDATE OR DELETE ON people
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION effort_audit_row('person_id');
CREATE CONSTRAINT TRIGGER audit_grants AFTER INSERT OR UPDATE OR DELETE ON grants
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION effort_audit_row('grant_ref');
CREATE CONSTRAINT TRIGGER audit_assignments AFTER INSERT OR UPDATE OR DELETE ON assignments
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	EXECUTE FUNCTION effort_audit_row('person_id', 'grant_ref', 'start_date');
CREATE CONSTRAINT TRIGGER audit_charges AFTER INSERT OR UPDATE OR DELETE ON charges
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	EXECUTE FUNCTION effort_audit_row('person_id', 'grant_ref', 'month');
CREATE CONSTRAINT TRIGGER audit_delegations AFTER INSERT OR UPDATE OR DELETE ON delegations
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	EXECUTE FUNCTION effort_audit_row('manager_id', 'delegate_id', 'start_date');
CREATE CONSTRAINT TRIGGER audit_timesheets AFTER INSERT OR UPDATE OR DELETE ON timesheets
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	EXECUTE FUNCTION effort_audit_row('timesheet_id', 'person_id', 'period_start', 'version');
CREATE CONSTRAINT TRIGGER audit_timesheet_decisions AFTER INSERT OR UPDATE OR DELETE ON timesheet_decisions
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	EXECUTE FUNCTION effort_audit_row('decision_id', 'timesheet_id');
CREATE CONSTRAINT TRIGGER audit_tokens AFTER INSERT OR UPDATE OR DELETE ON tokens
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	EXECUTE FUNCTION effort_audit_row('token_id', 'role', 'person_id');
