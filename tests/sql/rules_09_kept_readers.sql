-- rules_09: the other readers of the kept findings (the reminders, the
-- manager's queue and a timesheet's versions) read them only when
-- violations_list would: once the last full sweep was as of today with the
-- same rule settings (effort_kept_findings_current).  Otherwise, in the
-- minute after local midnight, while a failing sweep is retried or after a
-- reload that changed rules.*, they evaluate the rules afresh, as
-- rules_08 checks for today's violations.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
SELECT plan(16);

-- S1's January 2025 timesheet, full hours, never authorised: due as of 31
-- March 2025, overdue from 1 April; with a 40-hour week, its hours are
-- incomplete (23 weekdays: 184 h contracted, 172.5 recorded).
SELECT pg_temp.person('S1', 1.0, '2020-01-01', NULL, 'M0');
SELECT pg_temp.asg('S1', 'G1', '2025-01-01', '2025-01-31', 'researcher', 'DI', 0.5);
CREATE TEMP TABLE s1 AS
SELECT pg_temp.ts('S1', '2025-01-01', '2025-01-31', '[["grant","G1",86.25],["research","R",86.25]]') AS id;
-- S2 owes a timesheet for every month of a part share on G1 from February
-- 2025 and has sent February's: as of 31 March nothing is owed, from 1
-- April March is (21 weekdays: 157.5 h at 37.5 a week, 168 h at 40).
SELECT pg_temp.person('S2', 1.0, '2020-01-01', NULL, 'M0');
SELECT pg_temp.asg('S2', 'G1', '2025-02-01', '2025-12-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.ts('S2', '2025-02-01', '2025-02-28', '[["grant","G1",75],["research","R",75]]');

-- S1's timesheet in M0's queue: its findings' rules and whether it is clean.
CREATE FUNCTION pg_temp.queue(p_params jsonb)
RETURNS TABLE (rules text, clean boolean)
LANGUAGE sql AS $f$
	SELECT (SELECT string_agg(f ->> 'rule', ',') FROM jsonb_array_elements(q -> 'findings') f),
	       (q ->> 'clean')::boolean
	  FROM jsonb_array_elements(pending_list('M0', p_params) -> 'pending') q
	 WHERE q ->> 'person_id' = 'S1'
$f$;
-- The same timesheet's findings as GET /v1/timesheets/{id}/versions shows them.
CREATE FUNCTION pg_temp.versions(p_params jsonb)
RETURNS text LANGUAGE sql AS $f$
	SELECT string_agg(f ->> 'rule', ',')
	  FROM jsonb_array_elements(timesheet_versions((SELECT id FROM s1), NULL, p_params) -> 'findings') f
$f$;
-- S2's reminder: the months owed, with their hours.
CREATE FUNCTION pg_temp.owed(p_params jsonb)
RETURNS TABLE (item text, hours numeric)
LANGUAGE sql AS $f$
	SELECT r.item, (r.detail ->> 'hours')::numeric FROM reminder_items(p_params) r
	 WHERE r.recipient_id = 'S2' AND r.kind = 'staff'
$f$;

SELECT set_config('effort.today', '2025-03-31', true);
SELECT is(audit_sweep(NULL, '{}', NULL) ->> 'as_of', '2025-03-31', 'the full sweep of 31 March');
SELECT results_eq($$SELECT * FROM pg_temp.queue('{}')$$,
	$$VALUES ('authorisation_due', true)$$, '31 March: the queue shows it due and clean');
SELECT is(pg_temp.versions('{}'), 'authorisation_due', '... and so do its versions');
SELECT is_empty($$SELECT * FROM pg_temp.owed('{}')$$, '... S2 owes nothing yet');

-- Midnight has passed; the midnight sweep has not run yet (or it fails).
SELECT set_config('effort.today', '2025-04-01', true);
SELECT results_eq($$SELECT * FROM pg_temp.queue('{}')$$,
	$$VALUES ('authorisation_overdue', true)$$,
	'1 April before the midnight sweep: the queue shows it overdue, not yesterday''s due');
SELECT is(pg_temp.versions('{}'), 'authorisation_overdue', '... and so do its versions');
SELECT results_eq($$SELECT * FROM pg_temp.owed('{}')$$,
	$$VALUES ('missing:2025-03-01', 157.50)$$,
	'... and S2 is reminded of March, owed since midnight');
SELECT is((SELECT m ->> 'subject' FROM jsonb_array_elements(reminders('{}', false) -> 'messages') m
	WHERE m ->> 'recipient_id' = 'S2'), 'effortd: 1 month without a timesheet',
	'... in the day''s messages');

-- The midnight sweep: the same answers, from the kept findings.
SELECT is(audit_sweep(NULL, '{}', NULL) ->> 'as_of', '2025-04-01', 'the full sweep of 1 April');
SELECT results_eq($$SELECT * FROM pg_temp.queue('{}')$$,
	$$VALUES ('authorisation_overdue', true)$$, 'after it: the queue from the kept findings');
SELECT results_eq($$SELECT * FROM pg_temp.owed('{}')$$,
	$$VALUES ('missing:2025-03-01', 157.50)$$, '... and the reminder');

-- A reload makes the week 40 hours: until a sweep with that setting has
-- run, S1's January is not clean and S2 owes 168 h for March.
SELECT results_eq($$SELECT * FROM pg_temp.queue('{"standard_weekly_hours": 40}')$$,
	$$VALUES ('authorisation_overdue,hours_incomplete', false)$$,
	'other rule settings than the last sweep''s: the queue shows it not clean');
SELECT is(pg_temp.versions('{"standard_weekly_hours": 40}'), 'authorisation_overdue,hours_incomplete',
	'... and so do its versions');
SELECT results_eq($$SELECT * FROM pg_temp.owed('{"standard_weekly_hours": 40}')$$,
	$$VALUES ('missing:2025-03-01', 168.00)$$, '... and the reminder has the new hours');
SELECT audit_sweep(NULL, '{"standard_weekly_hours": 40}', NULL);
SELECT results_eq($$SELECT * FROM pg_temp.queue('{"standard_weekly_hours": 40}')$$,
	$$VALUES ('authorisation_overdue,hours_incomplete', false)$$,
	'after a sweep with them: the same, from the kept findings');
SELECT results_eq($$SELECT * FROM pg_temp.owed('{"standard_weekly_hours": 40}')$$,
	$$VALUES ('missing:2025-03-01', 168.00)$$, '... and the reminder');

SELECT * FROM finish();
ROLLBACK;
