-- rules_04: activity_missing, unevidenced_charge, overcharged_month, unassigned_grant_hours, outside_grant_period
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
SELECT plan(10);

INSERT INTO grants (grant_ref, title, start_date, end_date) VALUES
	('G4', 'Grant four', '2020-01-01', '2030-12-31'),
	('G5', 'Grant five', '2025-04-07', '2025-12-31');
SELECT pg_temp.person('Q', 1.0);
SELECT pg_temp.asg('Q', 'G1', '2025-01-01', '2025-12-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.asg('Q', 'G2', '2025-01-01', '2025-12-31', 'researcher', 'DI', 0.5);
SELECT pg_temp.asg('Q', 'G5', '2025-04-01', '2025-12-31', 'researcher', 'DI', 0.1);
-- January (172.5 h contracted): both charges within the 0.5 tolerance.
SELECT pg_temp.ts('Q', '2025-01-01', '2025-01-31', '[["grant","G1",85.75],["grant","G2",85.75],["admin","A",1]]');
INSERT INTO charges (person_id, grant_ref, month, fte_fraction, hours) VALUES
	('Q', 'G1', '2025-01-01', 0.5, NULL),     -- 86.25 h charged, 85.75 recorded: 0.5 exactly
	('Q', 'G2', '2025-01-01', NULL, 86.25),   -- 86.25 charged, 85.75 recorded: 0.5 exactly
-- February (150 h): G1 0.51 short, G2 charged with a 0-hour entry.
	('Q', 'G1', '2025-02-01', 0.5, NULL),     -- 75 charged, 74.49 recorded
	('Q', 'G2', '2025-02-01', NULL, 75),      -- 75 charged, entry of 0 h = no hours
-- March (157.5 h): 0.6 + 0.5 of salary = 173.25 h charged.
	('Q', 'G1', '2025-03-01', 0.6, NULL),
	('Q', 'G2', '2025-03-01', 0.5, NULL),
-- A month not ended as of 2025-06-01 is not evaluated.
	('Q', 'G1', '2025-06-01', NULL, 500);
SELECT pg_temp.ts('Q', '2025-02-01', '2025-02-28', '[["grant","G1",74.49],["grant","G2",0],["research","R",75.51]]');
SELECT pg_temp.ts('Q', '2025-03-01', '2025-03-31', '[["grant","G1",94.5],["grant","G2",78.75]]');
-- April: hours on an unknown grant (G3), a known grant without assignment
-- (G4), and G5 before its start (7 Apr) in the week 1-4 April.
SELECT pg_temp.ts('Q', '2025-04-01', '2025-04-04', '[["grant","G3",10],["grant","G4",5],["grant","G5",8],["grant","G1",7]]');
SELECT pg_temp.ts('Q', '2025-04-05', '2025-04-30', '[["grant","G5",8],["grant","G1",130],["grant","G3",2]]');

SELECT results_eq($$SELECT grant_ref, period_start, hours FROM pg_temp.f('2025-06-01', 'unevidenced_charge', ARRAY['Q'])$$,
	$$VALUES ('G1'::text, date '2025-02-01', 0.51)$$,
	'unevidenced_charge: exactly 0.5 over -> none (Jan), 0.51 over -> 0.51 (Feb)');
SELECT results_eq($$SELECT grant_ref, period_start, hours FROM pg_temp.f('2025-06-01', 'activity_missing', ARRAY['Q'])$$,
	$$VALUES ('G2'::text, date '2025-02-01', 75.00)$$,
	'activity_missing: charged 75 h, only a 0-hour entry recorded');
SELECT is((SELECT count(*)::int FROM audit_findings('2025-06-01', '{}', ARRAY['Q'])
            WHERE grant_ref = 'G2' AND period_start = '2025-02-01' AND rule IN ('activity_missing', 'unevidenced_charge')),
	1, 'activity_missing and unevidenced_charge are not both raised');
SELECT results_eq($$SELECT grant_ref, period_start, hours FROM pg_temp.f('2025-06-01', 'unevidenced_charge', ARRAY['Q'], '{"charge_tolerance": 0.4}')$$,
	$$VALUES ('G1'::text, date '2025-01-01', 0.50), ('G2', date '2025-01-01', 0.50), ('G1', date '2025-02-01', 0.51)$$,
	'charge_tolerance setting honoured');
SELECT results_eq($$SELECT grant_ref, period_start, hours FROM pg_temp.f('2025-06-01', 'overcharged_month', ARRAY['Q'])$$,
	$$VALUES (NULL::text, date '2025-03-01', 15.75)$$,
	'overcharged_month: 173.25 h charged of 157.5 h contracted -> 15.75');
SELECT results_eq($$SELECT grant_ref, period_start, hours FROM pg_temp.f('2025-06-01', 'unassigned_grant_hours', ARRAY['Q'])$$,
	$$VALUES ('G3'::text, date '2025-04-01', 12.00), ('G4', date '2025-04-01', 5.00)$$,
	'unassigned_grant_hours: unknown grant G3 (12 h over the month) and unassigned G4 (5 h)');
SELECT results_eq($$SELECT grant_ref, period_start, period_end, hours FROM pg_temp.f('2025-06-01', 'outside_grant_period', ARRAY['Q'])$$,
	$$VALUES ('G5'::text, date '2025-04-01', date '2025-04-30', 8.00)$$,
	'outside_grant_period: only the timesheet lying wholly before the grant start; period is the month');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-06-01', 'outside_grant_period', ARRAY['Q']) WHERE grant_ref = 'G3'$$,
	'unknown grants are not outside_grant_period');
SELECT is_empty($$SELECT * FROM audit_findings('2025-06-01', '{}', ARRAY['Q']) WHERE period_start = '2025-06-01'$$,
	'months not ended are not evaluated');
SELECT is((SELECT detail FROM audit_findings('2025-06-01', '{}', ARRAY['Q']) WHERE rule = 'overcharged_month'),
	'March 2025: 173.25 h charged across grants of 157.50 h contracted', 'overcharged_month detail');

SELECT * FROM finish();
ROLLBACK;
