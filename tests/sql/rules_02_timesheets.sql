-- rules_02: timesheet_missing, hours_incomplete
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
-- timesheet_missing and hours_incomplete (RULES.md "Who must keep
-- timesheets", the rules table).
SELECT plan(16);

-- A: 100 % on G1 for the whole of 2025: needs no timesheet.
SELECT pg_temp.person('A', 1.0);
SELECT pg_temp.asg('A', 'G1', '2024-01-01', '2026-12-31');
-- B: 100 % on G1 but only from 15 Jan 2025: January needs a timesheet.
SELECT pg_temp.person('B', 1.0);
SELECT pg_temp.asg('B', 'G1', '2025-01-15', '2026-12-31');
-- B2: 100 % on G1 all month, but a second (DA) assignment overlaps February.
SELECT pg_temp.person('B2', 1.0);
SELECT pg_temp.asg('B2', 'G1', '2025-01-01', '2025-02-28');
SELECT pg_temp.asg('B2', 'G2', '2025-02-20', '2025-02-28', 'co_i', 'DA', 0.1, 10);
-- C: two half-time assignments; weekly timesheets for February with a gap
-- (17-21 Feb).
SELECT pg_temp.person('C', 1.0);
SELECT pg_temp.asg('C', 'G1', '2025-02-01', '2025-02-28', 'researcher', 'DI', 0.5);
SELECT pg_temp.asg('C', 'G2', '2025-02-01', '2025-02-28', 'researcher', 'EXC', 0.5);
SELECT pg_temp.ts('C', '2025-02-01', '2025-02-07', '[["grant","G1",37.5]]');
SELECT pg_temp.ts('C', '2025-02-08', '2025-02-14', '[["grant","G2",37.5]]');
SELECT pg_temp.ts('C', '2025-02-24', '2025-02-28', '[["grant","G1",20],["annual_leave","AL",17.5]]');
-- D: DA only (estimates): needs none.
SELECT pg_temp.person('D', 1.0);
SELECT pg_temp.asg('D', 'G1', '2025-01-01', '2025-12-31', 'pi', 'DA', 0.2, 300);
-- F: starts on 20 Jan 2025 (a Monday), 0.5 FTE, half on G1.
SELECT pg_temp.person('F', 0.5, '2025-01-20');
SELECT pg_temp.asg('F', 'G1', '2025-01-01', '2025-01-31', 'researcher', 'DI', 0.5);

SELECT is_empty($$SELECT * FROM pg_temp.f('2025-06-01', 'timesheet_missing', ARRAY['A'])$$,
	'100 % on one grant for the whole month: no timesheet needed');
SELECT results_eq($$SELECT severity, period_start, period_end, hours FROM pg_temp.f('2025-06-01', 'timesheet_missing', ARRAY['B'])$$,
	$$VALUES ('violation'::text, date '2025-01-01', date '2025-01-31', 172.50)$$,
	'partial-month 100 % assignment: January needs a timesheet (172.5 h), later months do not');
SELECT results_eq($$SELECT period_start, hours FROM pg_temp.f('2025-06-01', 'timesheet_missing', ARRAY['B2'])$$,
	$$VALUES (date '2025-02-01', 150.00)$$,
	'another assignment overlapping the month removes the 100 % exemption');
SELECT results_eq($$SELECT severity, period_start, hours FROM pg_temp.f('2025-03-10', 'timesheet_missing', ARRAY['C'])$$,
	$$VALUES ('warning'::text, date '2025-02-01', 37.50)$$,
	'weekly timesheets with a gap: only the 5 uncovered weekdays (37.5 h), warning before the deadline');
SELECT results_eq($$SELECT severity FROM pg_temp.f('2025-04-30', 'timesheet_missing', ARRAY['C'])$$,
	$$VALUES ('warning'::text)$$, 'timesheet_missing still a warning on the deadline day (30 Apr)');
SELECT results_eq($$SELECT severity, hours FROM pg_temp.f('2025-05-01', 'timesheet_missing', ARRAY['C'])$$,
	$$VALUES ('violation'::text, 37.50)$$, 'timesheet_missing becomes a violation once the deadline has passed');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-02-28', 'timesheet_missing', ARRAY['C'])$$,
	'a month that has not ended is not evaluated');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-06-01', 'hours_incomplete', ARRAY['C'])$$,
	'hours of the covered weekdays complete: uncovered ones are not hours_incomplete');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-06-01', 'timesheet_missing', ARRAY['D'])$$,
	'DA-costed staff need no timesheet');
SELECT results_eq($$SELECT period_start, hours FROM pg_temp.f('2025-06-01', 'timesheet_missing', ARRAY['F'])$$,
	$$VALUES (date '2025-01-01', 37.50)$$,
	'mid-month starter: only the 10 weekdays inside the employment at 0.5 FTE (37.5 h)');

-- E: hours_incomplete, the API example and the tolerance bound.
SELECT pg_temp.person('E', 1.0);
SELECT pg_temp.asg('E', 'G1', '2025-01-01', '2025-12-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.ts('E', '2025-01-01', '2025-01-31', '[["grant","G1",100],["teaching","T1",20],["annual_leave","AL",30]]');
SELECT pg_temp.ts('E', '2025-02-01', '2025-02-28', '[["grant","G1",149.5]]');   -- 150 - 0.5: at the bound
SELECT pg_temp.ts('E', '2025-03-01', '2025-03-31', '[["grant","G1",156.99]]');  -- 157.5 - 0.51: above
SELECT pg_temp.ts('E', '2025-04-01', '2025-04-30', '[["grant","G1",200]]');     -- more than contracted
SELECT results_eq($$SELECT period_start, hours FROM pg_temp.f('2025-06-01', 'hours_incomplete', ARRAY['E'])$$,
	$$VALUES (date '2025-01-01', 22.50), (date '2025-03-01', 0.51)$$,
	'hours_incomplete: Jan 150 of 172.5 -> 22.5; Feb exactly 0.5 short -> none; Mar 0.51 short -> 0.51');
SELECT is((SELECT detail FROM audit_findings('2025-06-01', '{}', ARRAY['E']) WHERE rule = 'hours_incomplete' AND period_start = '2025-01-01'),
	'January 2025: 150.00 h recorded of 172.50 h contracted', 'hours_incomplete detail');
SELECT results_eq($$SELECT period_start, hours FROM pg_temp.f('2025-06-01', 'hours_incomplete', ARRAY['E'], '{"all_hours_tolerance": 0}')$$,
	$$VALUES (date '2025-01-01', 22.50), (date '2025-02-01', 0.50), (date '2025-03-01', 0.51)$$,
	'all_hours_tolerance setting honoured');
SELECT results_eq($$SELECT period_start, hours FROM pg_temp.f('2025-06-01', 'timesheet_missing', ARRAY['E'])$$,
	$$VALUES (date '2025-05-01', 165.00)$$,
	'E: only May (no timesheet, 22 weekdays) is missing as of 1 Jun');
SELECT results_eq($$SELECT period_start, hours FROM pg_temp.f('2025-06-01', 'hours_incomplete', ARRAY['E'], '{"standard_weekly_hours": 40}')$$,
	$$VALUES (date '2025-01-01', 34.00), (date '2025-02-01', 10.50), (date '2025-03-01', 11.01)$$,
	'standard_weekly_hours setting honoured (Jan: 184 - 150 = 34)');
-- Unknown people get no findings (charges/assignments for them are ignored).
INSERT INTO assignments (person_id, grant_ref, start_date, end_date, role, cost_type, fte_share)
VALUES ('NOBODY', 'G1', '2025-01-01', '2025-12-31', 'researcher', 'DI', 0.5);
SELECT is_empty($$SELECT * FROM audit_findings('2025-06-01', '{}', ARRAY['NOBODY'])$$,
	'a person not in people gets no findings');

SELECT * FROM finish();
ROLLBACK;
