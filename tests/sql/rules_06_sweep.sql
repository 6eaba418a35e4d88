-- rules_06: audit_sweep history and violations_list
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
SELECT plan(34);

SELECT pg_temp.person('S1', 1.0, '2020-01-01', NULL, 'M0');
SELECT pg_temp.person('S2', 1.0, '2020-01-01', NULL, 'M9');
SELECT pg_temp.asg('S1', 'G1', '2025-01-01', '2025-01-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.asg('S2', 'G1', '2025-01-01', '2025-02-28', 'researcher', 'DI', 0.5);
-- S2 also records hours on two grants without assignment in March.
SELECT pg_temp.ts('S2', '2025-03-01', '2025-03-31', '[["grant","G4",10],["grant","G3",5],["research","R",142.5]]');

SELECT is(audit_sweep('2025-06-01', '{}', NULL) - 'as_of',
	'{"opened": 6, "updated": 0, "resolved": 0, "open": 6}'::jsonb,
	'first sweep opens every finding');
SELECT is(current_setting('lock_timeout'), '0',
	'a full sweep bounds only its own lock wait: lock_timeout is as it was');
-- Pretend the S2 findings were detected long ago.
UPDATE findings SET first_detected_at = '2025-03-01 00:00+00' WHERE person_id = 'S2';
-- S1 sends January: timesheet_missing is resolved, authorisation_overdue opens.
SELECT pg_temp.ts('S1', '2025-01-01', '2025-01-31', '[["grant","G1",86.25],["research","R",86.25]]');
SELECT is(audit_sweep('2025-06-01', '{}', NULL) - 'as_of',
	'{"opened": 1, "updated": 5, "resolved": 1, "open": 6}'::jsonb,
	'second sweep: one opened, five still produced, one resolved');
SELECT ok((SELECT resolved_at IS NOT NULL FROM findings WHERE person_id = 'S1' AND rule = 'timesheet_missing'),
	'the resolved finding is kept with resolved_at set');
SELECT is((SELECT count(*)::int FROM findings WHERE person_id = 'S2' AND first_detected_at = '2025-03-01 00:00+00' AND resolved_at IS NULL),
	5, 'still-produced findings keep their first_detected_at');
-- The January timesheet is withdrawn (fixture only): the finding comes back as a new row.
DELETE FROM timesheet_entries WHERE timesheet_id IN (SELECT timesheet_id FROM timesheets WHERE person_id = 'S1');
DELETE FROM timesheets WHERE person_id = 'S1';
SELECT is(audit_sweep('2025-06-01', '{}', ARRAY['S1']) - 'as_of',
	'{"opened": 1, "updated": 0, "resolved": 1, "open": 1}'::jsonb,
	'scoped sweep of S1: re-detected finding opened, overdue resolved');
SELECT results_eq($$SELECT resolved_at IS NULL FROM findings WHERE person_id = 'S1' AND rule = 'timesheet_missing' ORDER BY finding_id$$,
	$$VALUES (false), (true)$$, 're-detected: a new open row beside the resolved one');
SELECT is((SELECT count(*)::int FROM findings WHERE person_id = 'S2' AND resolved_at IS NULL), 5,
	'a scoped sweep leaves other people alone');
SELECT is(audit_sweep('2025-06-01', '{"all_hours_tolerance": 0.5}', NULL)->'updated', '6'::jsonb,
	'a sweep with nothing new only updates');

-- Only findings produced with other values are written (changed_at,
-- migration 020): a finding whose stored hours are off is rewritten, the
-- other still-produced ones keep their row version (ctid), and all of
-- them count as updated.
CREATE TEMP TABLE kept_rows AS
	SELECT finding_id, ctid AS row_version FROM findings WHERE resolved_at IS NULL;
UPDATE findings SET hours = hours + 1, changed_at = '2025-03-01 00:00+00'
 WHERE person_id = 'S2' AND rule = 'unassigned_grant_hours' AND grant_ref = 'G4';
SELECT is(audit_sweep('2025-06-01', '{"all_hours_tolerance": 0.5}', NULL)->'updated', '6'::jsonb,
	'a sweep that finds one stored finding off: all six still produced count as updated');
SELECT results_eq($$SELECT hours, changed_at = now() FROM findings
                     WHERE person_id = 'S2' AND rule = 'unassigned_grant_hours' AND grant_ref = 'G4' AND resolved_at IS NULL$$,
	$$VALUES (10.00::numeric(10,2), true)$$,
	'… that one is rewritten: its hours as produced, changed_at now');
SELECT is((SELECT count(*)::int FROM findings f JOIN kept_rows k USING (finding_id)
            WHERE f.ctid = k.row_version),
	5, '… the five produced as stored are not written (same row versions)');

-- A scope of more than 1,000 people takes the sweep lock itself, not one
-- advisory lock per person (the shared lock table holds a few thousand).
CREATE TEMP TABLE locks_before AS
	SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT is(audit_sweep('2025-06-01', '{}',
	ARRAY['S2'] || ARRAY(SELECT 'NOBODY' || i FROM generate_series(1, 1000) i)) - 'as_of',
	'{"opened": 0, "updated": 5, "resolved": 0, "open": 5}'::jsonb,
	'a scope of 1,001 people (1,000 unknown): only S2''s findings, updated');
SELECT cmp_ok((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())
	- (SELECT n FROM locks_before), '<=', 1::bigint,
	'… under one lock, not one per person');

-- A scope of half the people or more is evaluated for everyone (the full
-- sweep's plan), and only the scope's findings are reconciled: S2 sends
-- January, but a sweep of S1 and 1,000 unknown people leaves S2's
-- January finding open.
CREATE TEMP TABLE s2_jan AS
	SELECT pg_temp.ts('S2', '2025-01-01', '2025-01-31', '[["grant","G1",86.25],["research","R",86.25]]') AS id;
SELECT is(audit_sweep('2025-06-01', '{}',
	ARRAY['S1'] || ARRAY(SELECT 'NOBODY' || i FROM generate_series(1, 1000) i)) - 'as_of',
	'{"opened": 0, "updated": 1, "resolved": 0, "open": 1}'::jsonb,
	'a scope of half the people or more: only S1''s finding, updated');
SELECT is((SELECT count(*)::int FROM findings
            WHERE person_id = 'S2' AND rule = 'timesheet_missing' AND period_start = '2025-01-01'
              AND resolved_at IS NULL), 1,
	'… the findings of people outside the scope are left as they were');
SELECT is((SELECT count(*)::int FROM findings WHERE person_id = 'S2' AND resolved_at IS NULL), 5,
	'… and none of theirs is opened or resolved');
DELETE FROM timesheet_entries WHERE timesheet_id = (SELECT id FROM s2_jan);
DELETE FROM timesheets WHERE timesheet_id = (SELECT id FROM s2_jan);

-- violations_list evaluated on the fly (as_of not today).
SELECT is(violations_list('2025-06-01', '{}', NULL, NULL, 'S1', NULL, NULL),
	jsonb_build_object('as_of', '2025-06-01', 'violations', jsonb_build_array(jsonb_build_object(
		'rule', 'timesheet_missing', 'severity', 'violation', 'person_id', 'S1', 'grant_ref', NULL,
		'period_start', '2025-01-01', 'period_end', '2025-01-31', 'hours', 172.50,
		'detail', 'January 2025: 23 of 23 weekdays not covered by a timesheet (172.50 h contracted); authorisation deadline 2025-03-31',
		'first_detected_at', NULL, 'resolved_at', NULL))),
	'violations_list: exact JSON shape');
SELECT is(jsonb_typeof(violations_list('2025-06-01', '{}', NULL, NULL, 'S1', NULL, NULL)#>'{violations,0,hours}'),
	'number', 'hours is a JSON number');
SELECT results_eq($$SELECT v->>'person_id', v->>'period_start', v->>'rule', v->>'grant_ref'
                      FROM jsonb_array_elements(violations_list('2025-06-01', '{}', NULL, NULL, NULL, NULL, NULL)->'violations') v$$,
	$$VALUES ('S1', '2025-01-01', 'timesheet_missing', NULL::text),
	         ('S2', '2025-01-01', 'timesheet_missing', NULL),
	         ('S2', '2025-02-01', 'timesheet_missing', NULL),
	         ('S2', '2025-03-01', 'authorisation_overdue', NULL),
	         ('S2', '2025-03-01', 'unassigned_grant_hours', 'G3'),
	         ('S2', '2025-03-01', 'unassigned_grant_hours', 'G4')$$,
	'violations_list sorted by person_id, period_start, rule, grant_ref');
SELECT is(jsonb_array_length(violations_list('2025-06-01', '{}', 'unassigned_grant_hours', NULL, NULL, NULL, NULL)->'violations'),
	2, 'filter by rule');
SELECT is(jsonb_array_length(violations_list('2025-06-01', '{}', NULL, 'violation', NULL, 'G4', NULL)->'violations'),
	1, 'filter by severity and grant');
SELECT is(jsonb_array_length(violations_list('2025-02-15', '{}', NULL, 'warning', NULL, NULL, NULL)->'violations'),
	2, 'filter by severity: as of 15 Feb only January has ended, S1 and S2 warnings before the deadline');
SELECT results_eq($$SELECT DISTINCT v->>'person_id' FROM jsonb_array_elements(violations_list('2025-06-01', '{}', NULL, NULL, NULL, NULL, 'M9')->'violations') v$$,
	$$VALUES ('S2')$$, 'manager scoping: M9 sees only S2');
-- Today's path reads the stored findings (with first_detected_at), once
-- the last full sweep was as of today with the same rule settings
-- (rules_08_kept_today.sql): the last was as of 1 June 2025, so that is
-- today here, with an all_hours_tolerance of 0.5.
SELECT set_config('effort.today', '2025-06-01', true);
SELECT is(jsonb_array_length(violations_list(NULL, '{"all_hours_tolerance": 0.5}', NULL, NULL, 'S2', NULL, NULL)->'violations'), 5,
	'as_of NULL reads the open stored findings');
SELECT ok((SELECT bool_and(v ? 'first_detected_at' AND v->>'first_detected_at' IS NOT NULL)
             FROM jsonb_array_elements(violations_list('2025-06-01', '{"all_hours_tolerance": 0.5}', NULL, NULL, NULL, NULL, 'M9')->'violations') v),
	'as_of = today reads the stored findings with first_detected_at');

-- A scoped sweep runs a generic plan the session keeps; it sees the data
-- as it is.  S1 sends January again.
SELECT set_config('effort.today', '', true);
SELECT is(current_setting('plan_cache_mode'), 'auto',
	'a scoped sweep leaves the session''s plan_cache_mode as it was');
SELECT pg_temp.ts('S1', '2025-01-01', '2025-01-31', '[["grant","G1",86.25],["research","R",86.25]]');
SELECT is(audit_sweep('2025-06-01', '{}', ARRAY['S1']) - 'as_of',
	'{"opened": 1, "updated": 0, "resolved": 1, "open": 1}'::jsonb,
	'scoped sweep on the generic plan: missing resolved, overdue opened');

-- More than 1,000 people but fewer than half the organisation: the
-- generic plan, probing for each person.  2,100 more people (no
-- assignments, no findings); S1's January is withdrawn again.
INSERT INTO people (person_id, name, line_manager_id, fte, employment_start)
	SELECT 'X' || i, 'Person X' || i, 'M0', 1.0, '2020-01-01' FROM generate_series(1, 2100) i;
DELETE FROM timesheet_entries WHERE timesheet_id IN (SELECT timesheet_id FROM timesheets WHERE person_id = 'S1');
DELETE FROM timesheets WHERE person_id = 'S1';
SELECT is(audit_sweep('2025-06-01', '{}',
	ARRAY['S1'] || ARRAY(SELECT 'NOBODY' || i FROM generate_series(1, 1000) i)) - 'as_of',
	'{"opened": 1, "updated": 0, "resolved": 1, "open": 1}'::jsonb,
	'a scope of 1,001 of 2,104 people: S1''s missing January opened, overdue resolved');

-- The full sweep's evaluation of everyone, in two halves by person_id
-- (parallel workers), or in one part with parallel query switched off:
-- the rows of one pass either way.  Two people the people feed has not
-- sent, one sorting before everyone and one after, are charged hours: each
-- half reads the charges of the unknown people of its own range only.
INSERT INTO charges (person_id, grant_ref, month, hours)
VALUES ('A-UNKNOWN', 'G1', '2025-02-01', 10), ('ZZ-UNKNOWN', 'G1', '2025-02-01', 12);
SELECT results_eq($$SELECT person_id, rule, hours FROM audit_findings_halves('2025-06-01', '{}')
                     WHERE person_id LIKE '%-UNKNOWN' ORDER BY person_id$$,
	$$VALUES ('A-UNKNOWN', 'activity_missing', 10.00), ('ZZ-UNKNOWN', 'activity_missing', 12.00)$$,
	'charges to people not in the people feed: one finding each, in the half of their person_id');
SELECT bag_eq($$SELECT * FROM audit_findings_halves('2025-06-01', '{}')$$,
	$$SELECT * FROM audit_findings('2025-06-01', '{}')$$,
	'everyone''s findings in two halves: those of one pass');
SELECT bag_eq($$SELECT * FROM audit_findings_halves('2025-06-01', '{}', ARRAY['S2', 'ZZ-UNKNOWN', 'S1', 'S2', 'A-UNKNOWN'])$$,
	$$SELECT * FROM audit_findings('2025-06-01', '{}', ARRAY['S1', 'S2', 'A-UNKNOWN', 'ZZ-UNKNOWN'])$$,
	'a scope''s findings in two halves of its list (a person listed twice counted once): those of one pass');
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT bag_eq($$SELECT * FROM audit_findings_halves('2025-06-01', '{}')$$,
	$$SELECT * FROM audit_findings('2025-06-01', '{}')$$,
	'… and in one part, parallel query switched off');
SELECT bag_eq($$SELECT * FROM audit_findings_halves('2025-06-01', '{}', ARRAY['S2', 'ZZ-UNKNOWN', 'S1', 'S2', 'A-UNKNOWN'])$$,
	$$SELECT * FROM audit_findings('2025-06-01', '{}', ARRAY['S1', 'S2', 'A-UNKNOWN', 'ZZ-UNKNOWN'])$$,
	'… and a scope''s');

SELECT * FROM finish();
ROLLBACK;
