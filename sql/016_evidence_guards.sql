-- 016: evidence a compromised effortd cannot bend past the audit trail.
--
-- The runtime role (61_runtime_role.sql) may not UPDATE or DELETE stored
-- timesheet versions, their entries, decisions or the line manager
-- history, nor write audit_pending or audit_log: the staging triggers and
-- the flush run as the owner (60_audit_log.sql).  What remains to guard:
--
-- * audit_pending_arm: at most one arm row per transaction, so that the
--   staging trigger arms the flush by INSERT ... ON CONFLICT DO NOTHING
--   instead of trusting a setting (effortd.audit_armed) that any session
--   may set to skip the flush;
-- * audit_head: one row the flush updates, so that a REPEATABLE READ or
--   SERIALIZABLE transaction, whose snapshot may not see the row another
--   flush committed after it began, fails with a serialization error
--   instead of chaining to a stale hash (a fork verify then reports);
-- * timesheet_entries_guard: entries only for a timesheet version the same
--   transaction created (they are logged with it at commit); a later
--   entry in a stored version would never be logged;
-- * the *_recorded_guard triggers: the time a row says it was recorded is
--   the time it is written (within the writing transaction, from now() to
--   clock_timestamp()), never backdated: a line manager's
--   valid_from, a version's received_at, a decision's recorded_at (and
--   decided_at, for an approval), a delegation's recorded_at.  The rules
--   read them (who managed whom when, an approval on time, a delegation
--   made before the authorisation).
-- The owner of the tables (and a superuser) is exempt from both guards.

CREATE UNIQUE INDEX audit_pending_arm ON audit_pending (xid) WHERE arm;

CREATE TABLE audit_head (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	flushes bigint NOT NULL DEFAULT 0
);
INSERT INTO audit_head DEFAULT VALUES;
REVOKE ALL ON audit_head FROM PUBLIC;

-- Their bodies are (re)defined in 60_audit_log.sql.
CREATE FUNCTION effort_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END
$$;
CREATE FUNCTION effort_recorded_now_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NULL;
END
$$;

CREATE TRIGGER timesheet_entries_guard AFTER INSERT ON timesheet_entries
	REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	EXECUTE FUNCTION effort_entries_guard();
CREATE TRIGGER line_manager_history_recorded_guard AFTER INSERT ON line_manager_history
	REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	EXECUTE FUNCTION effort_recorded_now_guard('valid_from');
CREATE TRIGGER timesheets_recorded_guard AFTER INSERT ON timesheets
	REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	EXECUTE FUNCTION effort_recorded_now_guard('received_at');
CREATE TRIGGER timesheet_decisions_recorded_guard AFTER INSERT ON timesheet_decisions
	REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	EXECUTE FUNCTION effort_recorded_now_guard('recorded_at');
CREATE TRIGGER delegations_recorded_guard AFTER INSERT ON delegations
	REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	EXECUTE FUNCTION effort_recorded_now_guard('recorded_at');
