-- 020: findings.last_seen_at becomes changed_at, the time the finding's
-- severity, hours and detail were last set: when it was opened, or when a
-- sweep or re-audit produced it with other values.  Until now every sweep
-- rewrote every open finding it still produced only to refresh
-- last_seen_at (every open finding, at every full sweep: 0.1-0.2 s at
-- 10,000 staff and 0.8-1.2 s at 50,000, under the sweep lock that feeds'
-- re-audits wait for, and a new row version and its WAL each).  What last_seen_at
-- told is still known without it: an open finding was produced by the
-- last full sweep (audit_sweep_last.finished_at) and by every re-audit of
-- its person since; a resolved one, until resolved_at.  No API reads the
-- column.  Derived data, like the rest of findings.
ALTER TABLE findings RENAME COLUMN last_seen_at TO changed_at;
COMMENT ON COLUMN findings.changed_at IS
	'when severity, hours and detail were last set: at opening, or when a sweep produced other values';
