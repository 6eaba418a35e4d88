-- rules_08: violations_list answers "today" from the kept findings only
-- once the last full sweep was as of today, with the same rule settings.  In the minute after local
-- midnight, before the midnight sweep, the kept findings are yesterday's:
-- a deadline that passed at midnight must show all the same.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
SELECT plan(11);

-- S1's January 2025 timesheet, never authorised: its deadline is 31 March
-- 2025, so as of that day it is authorisation_due (a warning), and from 1
-- April authorisation_overdue (a violation).
SELECT pg_temp.person('S1', 1.0, '2020-01-01', NULL, 'M0');
SELECT pg_temp.asg('S1', 'G1', '2025-01-01', '2025-12-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.ts('S1', '2025-01-01', '2025-01-31', '[["grant","G1",86.25],["research","R",86.25]]');

-- The rows of today's violations, and whether they came from the kept findings.
CREATE FUNCTION pg_temp.today_list()
RETURNS TABLE (rule text, severity text, kept boolean)
LANGUAGE sql AS $f$
	SELECT v ->> 'rule', v ->> 'severity', v ->> 'first_detected_at' IS NOT NULL
	  FROM jsonb_array_elements(violations_list(NULL, '{}', NULL, NULL, 'S1') -> 'violations') v
	 WHERE v ->> 'rule' LIKE 'authorisation%'
$f$;

SELECT set_config('effort.today', '2025-03-31', true);
SELECT is(audit_sweep(NULL, '{}', NULL) ->> 'as_of', '2025-03-31', 'the full sweep of 31 March');
SELECT is((SELECT as_of FROM audit_sweep_last), '2025-03-31'::date, '... is recorded as the kept findings'' date');
SELECT results_eq($$SELECT * FROM pg_temp.today_list()$$,
	$$VALUES ('authorisation_due', 'warning', true)$$,
	'31 March: due, from the kept findings');

-- Midnight has passed; the midnight sweep has not run yet.
SELECT set_config('effort.today', '2025-04-01', true);
SELECT results_eq($$SELECT * FROM pg_temp.today_list()$$,
	$$VALUES ('authorisation_overdue', 'violation', false)$$,
	'1 April before the midnight sweep: overdue, evaluated afresh (not yesterday''s kept due)');
-- A re-audit of S1 alone does not make everyone's findings today's.
SELECT is(audit_sweep(NULL, '{}', ARRAY['S1']) ->> 'as_of', '2025-04-01', 'a scoped re-audit on 1 April');
SELECT results_eq($$SELECT * FROM pg_temp.today_list()$$,
	$$VALUES ('authorisation_overdue', 'violation', false)$$,
	'... today is still evaluated afresh');
-- The midnight sweep.
SELECT is(audit_sweep(NULL, '{}', NULL) ->> 'as_of', '2025-04-01', 'the full sweep of 1 April');
SELECT results_eq($$SELECT * FROM pg_temp.today_list()$$,
	$$VALUES ('authorisation_overdue', 'violation', true)$$,
	'after it: overdue, from the kept findings');

-- A reload changes the settings (a reminder window of 0 days): until a
-- sweep with them has run, today is evaluated with them.
SELECT results_eq($$SELECT v ->> 'rule', v ->> 'first_detected_at' IS NOT NULL
	FROM jsonb_array_elements(violations_list(NULL, '{"reminder_days": 0}', NULL, NULL, 'S1') -> 'violations') v
	WHERE v ->> 'rule' LIKE 'authorisation%'$$,
	$$VALUES ('authorisation_overdue', false)$$,
	'other rule settings than the last sweep''s: evaluated afresh');
SELECT audit_sweep(NULL, '{"reminder_days": 0}', NULL);
SELECT results_eq($$SELECT v ->> 'rule', v ->> 'first_detected_at' IS NOT NULL
	FROM jsonb_array_elements(violations_list(NULL, '{"reminder_days": 0}', NULL, NULL, 'S1') -> 'violations') v
	WHERE v ->> 'rule' LIKE 'authorisation%'$$,
	$$VALUES ('authorisation_overdue', true)$$,
	'after a sweep with them: the kept findings');
SELECT audit_sweep(NULL, '{}', NULL);

-- The benchmark audits a fixed day (effortd.audit_as_of): findings swept
-- as of that day are the kept ones whatever the date.
SELECT set_config('effortd.audit_as_of', '2025-04-01', true);
SELECT set_config('effort.today', '2025-06-30', true);
SELECT results_eq($$SELECT * FROM pg_temp.today_list()$$,
	$$VALUES ('authorisation_overdue', 'violation', true)$$,
	'swept as of effortd.audit_as_of: the kept findings');

SELECT * FROM finish();
ROLLBACK;
