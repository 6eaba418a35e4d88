-- rules_03: authorisation_overdue, _due, _late, _invalid
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
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
