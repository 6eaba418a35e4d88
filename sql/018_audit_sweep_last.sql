-- 018: the date as of which, and the rule settings with which, the
-- findings were last reconciled for everyone (audit_sweep without a
-- scope, 40_audit.sql).  violations_list answers "today" from the kept
-- findings only when they were swept as of today with the settings it is
-- given: in the minute after local midnight, before the midnight sweep
-- has run (or while a failing sweep is retried), the kept findings are
-- yesterday's, and deadlines that passed at midnight would not show; after
-- a reload that changed rules.*, they are the old settings' until the
-- next sweep.  The rules are then evaluated afresh.  One row, derived data
-- like findings.
CREATE TABLE audit_sweep_last (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	as_of       date NOT NULL,
	params      jsonb NOT NULL,
	finished_at timestamptz NOT NULL
);
