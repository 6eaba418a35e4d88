-- 019: the people whose findings a re-audit (audit_sweep with a scope,
-- sql/functions/40_audit.sql) reconciled while a full sweep was evaluating
-- everyone, and when.  The full sweep evaluates without the sweep lock, so
-- that feeds are not held up for the length of its evaluation; then,
-- holding the lock, it reconciles everyone but the people marked here
-- since its evaluation began: their findings are newer than what it
-- evaluated.  A re-audit marks its people only while a full sweep
-- evaluates; the full sweep deletes the marks once it has read them.
-- Derived data, like findings.
CREATE TABLE audit_sweep_overtaken (
	person_id text NOT NULL,
	marked_at timestamptz NOT NULL
);
