-- rules_03: authorisation_overdue, _due, _late, _invalid
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
SELECT plan(15);

SELECT pg_temp.person(p, 1.0) FROM unnest(ARRAY['P1','P2','P3','P3b','P4','P5','P6','P7','P8','P9','P10','X','DL']) p;
INSERT INTO delegations (manager_id, delegate_id, start_date, end_date) VALUES ('M0', 'DL', '2025-02-01', '2025-02-28');
-- January 2025 timesheets (deadline 31 Mar 2025), submitted 1 Feb 09:00.
SELECT pg_temp.ts('P1', '2025-01-01', '2025-01-31', '[["research","R",150]]');
-- P2: authorised, then amended: the new version is unauthorised.
SELECT pg_temp.decide(pg_temp.ts('P2', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'M0', '2025-02-05 10:00+00');
SELECT pg_temp.ts('P2', '2025-01-01', '2025-01-31', '[["research","R",170]]', '2025-02-20 10:00+00', 2, 'typo');
-- P3: June 2025 (deadline 31 Aug 2025), authorised 23:30 UTC on 31 Aug = 00:30 BST on 1 Sep.
SELECT pg_temp.decide(pg_temp.ts('P3', '2025-06-01', '2025-06-30', '[["research","R",165]]'), 'M0', '2025-08-31 23:30+00');
-- P3b: 22:30 UTC on 31 Aug = 23:30 BST, still 31 Aug locally.
SELECT pg_temp.decide(pg_temp.ts('P3b', '2025-06-01', '2025-06-30', '[["research","R",165]]'), 'M0', '2025-08-31 22:30+00');
SELECT pg_temp.decide(pg_temp.ts('P4', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'P4', '2025-02-05 10:00+00');
SELECT pg_temp.decide(pg_temp.ts('P5', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'X', '2025-02-05 10:00+00');
SELECT pg_temp.decide(pg_temp.ts('P6', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'DL', '2025-02-10 10:00+00');
SELECT pg_temp.decide(pg_temp.ts('P7', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'DL', '2025-03-05 10:00+00');
SELECT pg_temp.decide(pg_temp.ts('P8', '2025-01-01', '2025-01-31', '[["research","R",172.5]]', '2025-01-30 10:00+00'), 'M0', '2025-01-31 12:00+00');
SELECT pg_temp.decide(pg_temp.ts('P9', '2025-01-01', '2025-01-31', '[["research","R",172.5]]', '2025-02-10 10:00+00'), 'M0', '2025-02-05 10:00+00');
-- P10: authorised then rejected: the latest decision counts.
SELECT pg_temp.decide(pg_temp.ts('P10', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'M0', '2025-02-05 10:00+00');
SELECT pg_temp.decide((SELECT max(timesheet_id) FROM timesheets WHERE person_id = 'P10'), 'M0', '2025-02-06 10:00+00', 'rejected');

SELECT is_empty($$SELECT * FROM pg_temp.f('2025-03-16', 'authorisation_due', ARRAY['P1'])$$,
	'authorisation_due: deadline 15 days away -> nothing');
SELECT results_eq($$SELECT severity, period_start, period_end, hours FROM pg_temp.f('2025-03-17', 'authorisation_due', ARRAY['P1'])$$,
	$$VALUES ('warning'::text, date '2025-01-01', date '2025-01-31', 150.00)$$,
	'authorisation_due: deadline 14 days away (reminder_days) -> warning with total hours');
SELECT results_eq($$SELECT severity FROM pg_temp.f('2025-03-31', 'authorisation_due', ARRAY['P1'])$$,
	$$VALUES ('warning'::text)$$, 'authorisation_due on the deadline day');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-03-31', 'authorisation_overdue', ARRAY['P1'])$$,
	'not overdue on the deadline day');
SELECT results_eq($$SELECT severity, hours FROM pg_temp.f('2025-04-01', 'authorisation_overdue', ARRAY['P1'])$$,
	$$VALUES ('violation'::text, 150.00)$$, 'authorisation_overdue the day after the deadline');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-03-10', 'authorisation_due', ARRAY['P1'], '{"reminder_days": 20}')$$,
	'reminder_days = 20: 21 days away -> nothing');
SELECT results_eq($$SELECT person_id, hours FROM pg_temp.f('2025-04-01', 'authorisation_overdue', ARRAY['P2','P6','P10'])$$,
	$$VALUES ('P10'::text, 172.50), ('P2', 170.00)$$,
	'amended after authorisation (new version 170 h) and rejected -> overdue; delegate-authorised -> not');
SELECT results_eq($$SELECT person_id, hours FROM pg_temp.f('2025-03-20', 'authorisation_due', ARRAY['P2'])$$,
	$$VALUES ('P2'::text, 170.00)$$, 'amended version is due before the deadline');
SELECT results_eq($$SELECT person_id, severity, hours FROM pg_temp.f('2025-10-01', 'authorisation_late', ARRAY['P3','P3b'])$$,
	$$VALUES ('P3'::text, 'violation'::text, 165.00)$$,
	'authorised 23:30 UTC on the deadline day in BST is the next local day -> late; 22:30 UTC is on time');
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-10-01', 'authorisation_late', ARRAY['P3'], '{"timezone": "UTC"}')$$,
	'timezone setting honoured: in UTC the same authorisation is on time');
SELECT results_eq($$SELECT person_id FROM pg_temp.f('2025-10-01', 'authorisation_invalid')$$,
	$$VALUES ('P4'::text), ('P5'), ('P7'), ('P8'), ('P9')$$,
	'authorisation_invalid: self, non-manager, delegate outside dates, signed on period end, before submission');
SELECT results_eq($$SELECT hours FROM pg_temp.f('2025-10-01', 'authorisation_invalid', ARRAY['P4'])$$,
	$$VALUES (172.50)$$, 'authorisation_invalid hours = timesheet total');
SELECT is_empty($$SELECT * FROM audit_findings('2025-10-01', '{}', ARRAY['P6']) WHERE rule LIKE 'authorisation%'$$,
	'delegate inside the delegation dates: valid and on time');
-- Line manager changes: M1 takes over P11 on 1 Feb 2025.
SELECT pg_temp.person('P11', 1.0);
INSERT INTO people (person_id, name, fte, employment_start) VALUES ('M1', 'Manager 1', 1.0, '2000-01-01');
INSERT INTO line_manager_history VALUES ('P11', 'M1', '2025-02-01 00:00+00');
SELECT pg_temp.decide(pg_temp.ts('P11', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'M0', '2025-02-05 10:00+00');
SELECT pg_temp.person('P12', 1.0);
INSERT INTO line_manager_history VALUES ('P12', 'M1', '2025-02-01 00:00+00');
SELECT pg_temp.decide(pg_temp.ts('P12', '2025-01-01', '2025-01-31', '[["research","R",172.5]]'), 'M1', '2025-02-05 10:00+00');
SELECT results_eq($$SELECT person_id FROM pg_temp.f('2025-10-01', 'authorisation_invalid', ARRAY['P11','P12'])$$,
	$$VALUES ('P11'::text)$$, 'the line manager at the time of the authorisation counts');
SELECT is((SELECT count(*)::int FROM audit_findings('2025-10-01', '{}', ARRAY['P7']) WHERE rule IN ('authorisation_late','authorisation_invalid')),
	1, 'invalid but on time: only authorisation_invalid');

SELECT * FROM finish();
ROLLBACK;
