-- 021: who line-manages whom enters the audit trail.
--
-- The rules read line_manager_history (who may authorise a timesheet, as of
-- its decision), yet only the people row was logged: a row written to the
-- history directly (by a compromised effortd, as the runtime role may
-- insert there) made someone a manager with no row in the trail, and the
-- approval it allowed looked valid.  Each history row is now logged as the
-- other audited tables' are (effort_audit_stmt), keyed by person and time.
CREATE TRIGGER audit_line_manager_history_insert AFTER INSERT ON line_manager_history
	REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	EXECUTE FUNCTION effort_audit_stmt('person_id', 'valid_from');
CREATE TRIGGER audit_line_manager_history_delete AFTER DELETE ON line_manager_history
	REFERENCING OLD TABLE AS effort_old FOR EACH STATEMENT
	EXECUTE FUNCTION effort_audit_stmt('person_id', 'valid_from');
CREATE TRIGGER audit_line_manager_history_update AFTER UPDATE ON line_manager_history
	REFERENCING OLD TABLE AS effort_old NEW TABLE AS effort_new
	FOR EACH STATEMENT EXECUTE FUNCTION effort_audit_stmt('person_id', 'valid_from');
