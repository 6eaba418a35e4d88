-- rules_04: activity_missing, unevidenced_charge, overcharged_month, unassigned_grant_hours, outside_grant_period
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
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
