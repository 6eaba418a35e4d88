-- rules_06: audit_sweep history and violations_list
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

-- Fixture helpers (temporary, gone at ROLLBACK).
-- ts(person, start, end, entries [[kind, activity, hours], ...], submitted_at, version, reason)
CREATE FUNCTION pg_temp.ts(p_person text, p_start date, p_end date, p_entries jsonb,
	p_submitted timestamptz DEFAULT NULL, p_version int DEFAULT 1, p_reason text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE v_id bigint;
BEGIN
	INSERT INTO timesheets (person_id, period_start, period_end, version, submitted_at,
	                        amendment_reason, total_hours)
	VALUES (p_person, p_start, p_end, p_version,
	        coalesce(p_submitted, ((p_end + 1)::timestamp + interval '9 hours') AT TIME ZONE 'Europe/London'),
	        p_reason,
	        (SELECT coalesce(sum((e->>2)::numeric), 0) FROM jsonb_array_elements(p_entries) e))
	RETURNING timesheet_id INTO v_id;
	INSERT INTO timesheet_entries (timesheet_id, position, kind, activity, hours)
	SELECT v_id, x.o, x.e->>0, x.e->>1, (x.e->>2)::numeric
	  FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS x(e, o);
	RETURN v_id;
END $f$;
-- decide(timesheet, by, at, decision)
CREATE FUNCTION pg_temp.decide(p_ts bigint, p_by text, p_at timestamptz,
	p_decision text DEFAULT 'authorised')
RETURNS void LANGUAGE sql AS $f$
	INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by, decided_at, source)
	VALUES (p_ts, p_decision, p_by, p_at, 'feed')
$f$;
-- person(id, fte, start, end, manager)
CREATE FUNCTION pg_temp.person(p_id text, p_fte numeric, p_start date DEFAULT '2020-01-01',
	p_end date DEFAULT NULL, p_manager text DEFAULT 'M0')
RETURNS void LANGUAGE sql AS $f$
	INSERT INTO people (person_id, name, line_manager_id, fte, employment_start, employment_end)
	VALUES (p_id, 'Person ' || p_id, p_manager, p_fte, p_start, p_end);
	INSERT INTO line_manager_history (person_id, line_manager_id, valid_from)
	VALUES (p_id, p_manager, '2000-01-01');
$f$;
-- asg(person, grant, start, end, role, cost_type, fte_share, estimated_hours_per_year)
CREATE FUNCTION pg_temp.asg(p_person text, p_grant text, p_start date, p_end date,
	p_role text DEFAULT 'researcher', p_cost text DEFAULT 'DI', p_share numeric DEFAULT 1.0,
	p_est numeric DEFAULT NULL)
RETURNS void LANGUAGE sql AS $f$
	INSERT INTO assignments (person_id, grant_ref, start_date, end_date, role, cost_type,
	                         fte_share, estimated_hours_per_year)
	VALUES (p_person, p_grant, p_start, p_end, p_role, p_cost, p_share, p_est)
$f$;
-- The findings of one rule for some people as of a date (default settings).
CREATE FUNCTION pg_temp.f(p_as_of date, p_rule text, p_people text[] DEFAULT NULL,
	p_params jsonb DEFAULT '{}')
RETURNS TABLE (person_id text, severity text, grant_ref text, period_start date,
               period_end date, hours numeric)
LANGUAGE sql AS $f$
	SELECT a.person_id, a.severity, a.grant_ref, a.period_start, a.period_end, a.hours
	  FROM audit_findings(p_as_of, p_params, p_people) a
	 WHERE a.rule = p_rule
	 ORDER BY 1, 4, 3
$f$;

INSERT INTO grants (grant_ref, title, funder, start_date, end_date) VALUES
	('G1', 'Grant one', 'EPSRC', '2020-01-01', '2030-12-31'),
	('G2', 'Grant two', 'BBSRC', '2020-01-01', '2030-12-31');
INSERT INTO people (person_id, name, fte, employment_start) VALUES ('M0', 'Manager', 1.0, '2000-01-01');
SELECT plan(17);

SELECT pg_temp.person('S1', 1.0, '2020-01-01', NULL, 'M0');
SELECT pg_temp.person('S2', 1.0, '2020-01-01', NULL, 'M9');
SELECT pg_temp.asg('S1', 'G1', '2025-01-01', '2025-01-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.asg('S2', 'G1', '2025-01-01', '2025-02-28', 'researcher', 'DI', 0.5);
-- S2 also records hours on two grants without assignment in March.
SELECT pg_temp.ts('S2', '2025-03-01', '2025-03-31', '[["grant","G4",10],["grant","G3",5],["research","R",142.5]]');

SELECT is(audit_sweep('2025-06-01', '{}', NULL) - 'as_of',
	'{"opened": 6, "updated": 0, "resolved": 0, "open": 6}'::jsonb,
	'first sweep opens every finding');
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
-- Today's path reads the stored findings (with first_detected_at).
SELECT is(jsonb_array_length(violations_list(NULL, '{}', NULL, NULL, 'S2', NULL, NULL)->'violations'), 5,
	'as_of NULL reads the open stored findings');
SELECT ok((SELECT bool_and(v ? 'first_detected_at' AND v->>'first_detected_at' IS NOT NULL)
             FROM jsonb_array_elements(violations_list((now() AT TIME ZONE 'Europe/London')::date, '{}', NULL, NULL, NULL, NULL, 'M9')->'violations') v),
	'as_of = today reads the stored findings with first_detected_at');

SELECT * FROM finish();
ROLLBACK;
