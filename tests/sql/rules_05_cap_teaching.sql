-- rules_05: investigator_cap_exceeded, investigator_cap_projected, teaching_excess
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
SELECT plan(14);

-- Monthly timesheets with the given grant hours for each month of a range.
CREATE FUNCTION pg_temp.months(p_person text, p_from date, p_to date, p_entries jsonb)
RETURNS void LANGUAGE sql AS $f$
	SELECT pg_temp.ts(p_person, m::date, effort_month_end(m::date), p_entries)
	  FROM generate_series(p_from::timestamp, p_to::timestamp, interval '1 month') m
$f$;

-- I1: 1.0 FTE co-investigator, 150 grant h a month for Aug 2024 - Jul 2025.
SELECT pg_temp.person('I1', 1.0);
SELECT pg_temp.asg('I1', 'G1', '2024-08-01', '2025-07-31', 'co_i', 'DI', 0.5);
SELECT pg_temp.months('I1', '2024-08-01', '2025-07-01', '[["grant","G1",150],["research","R",15]]');
-- I2: 0.5 FTE, 70 h a month.
SELECT pg_temp.person('I2', 0.5);
SELECT pg_temp.asg('I2', 'G1', '2024-08-01', '2025-07-31', 'pi', 'DI', 0.5);
SELECT pg_temp.months('I2', '2024-08-01', '2025-07-01', '[["grant","G1",70],["research","R",10]]');
-- I3: 150 h a month, recorded for Aug - Nov 2024 only.
SELECT pg_temp.person('I3', 1.0);
SELECT pg_temp.asg('I3', 'G1', '2024-08-01', '2025-07-31', 'pi', 'DI', 0.5);
SELECT pg_temp.months('I3', '2024-08-01', '2024-11-01', '[["grant","G1",150],["research","R",15]]');
-- I4: starts 1 Feb 2025 (181 of 365 days), 150 h a month Feb - Jul 2025.
SELECT pg_temp.person('I4', 1.0, '2025-02-01');
SELECT pg_temp.asg('I4', 'G1', '2025-02-01', '2025-07-31', 'pi', 'DI', 0.5);
SELECT pg_temp.months('I4', '2025-02-01', '2025-07-01', '[["grant","G1",150]]');
-- I5: DA investigator on G1 (1000 h a year estimated) + 60 h a month on G2.
SELECT pg_temp.person('I5', 1.0);
SELECT pg_temp.asg('I5', 'G1', '2024-08-01', '2025-07-31', 'pi', 'DA', 0.5, 1000);
SELECT pg_temp.asg('I5', 'G2', '2024-08-01', '2025-07-31', 'co_i', 'DI', 0.4);
SELECT pg_temp.months('I5', '2024-08-01', '2025-07-01', '[["grant","G2",60]]');
-- R1: researcher (not an investigator) with 1800 h.
SELECT pg_temp.person('R1', 1.0);
SELECT pg_temp.asg('R1', 'G1', '2024-08-01', '2025-07-31', 'researcher', 'DI', 0.9);
SELECT pg_temp.months('R1', '2024-08-01', '2025-07-01', '[["grant","G1",150]]');

SELECT results_eq($$SELECT person_id, severity, period_start, period_end, hours FROM pg_temp.f('2025-09-01', 'investigator_cap_exceeded', ARRAY['I1','I2'])$$,
	$$VALUES ('I1'::text, 'violation'::text, date '2024-08-01', date '2025-07-31', 150.00),
	         ('I2', 'violation', date '2024-08-01', date '2025-07-31', 15.00)$$,
	'cap examples: 1.0 FTE 1800 h vs 1650 -> 150; 0.5 FTE 840 h vs 825 -> 15');
SELECT results_eq($$SELECT person_id, hours FROM pg_temp.f('2025-09-01', 'investigator_cap_exceeded', ARRAY['I4'])$$,
	$$VALUES ('I4'::text, 81.78)$$,
	'mid-year starter: cap 1650 x 181/365 = 818.22, 900 h -> 81.78');
SELECT results_eq($$SELECT person_id, hours FROM pg_temp.f('2025-09-01', 'investigator_cap_exceeded', ARRAY['I5'])$$,
	$$VALUES ('I5'::text, 70.00)$$,
	'DA estimated hours count: 1000 + 720 against 1650 -> 70');
SELECT is_empty($$SELECT * FROM audit_findings('2025-09-01', '{}', ARRAY['R1']) WHERE rule LIKE 'investigator%'$$,
	'researchers are not capped');
SELECT results_eq($$SELECT person_id, severity, period_start, hours FROM pg_temp.f('2024-12-01', 'investigator_cap_projected', ARRAY['I3'])$$,
	$$VALUES ('I3'::text, 'warning'::text, date '2024-08-01', 150.00)$$,
	'investigator_cap_projected: 600 h in 4 ended months -> 1800 projected, 150 over');
SELECT is_empty($$SELECT * FROM pg_temp.f('2024-12-01', 'investigator_cap_projected', ARRAY['I1'])$$,
	'no projection once exceeded (hours recorded after as_of still count)');
SELECT results_eq($$SELECT hours FROM pg_temp.f('2024-12-01', 'investigator_cap_exceeded', ARRAY['I1'])$$,
	$$VALUES (150.00)$$, 'as_of does not rewind the data: exceeded already as of 1 Dec 2024');
SELECT is_empty($$SELECT * FROM audit_findings('2025-09-01', '{}', ARRAY['I3']) WHERE rule LIKE 'investigator%'$$,
	'complete cap year under the cap: no projection');
SELECT is_empty($$SELECT * FROM audit_findings('2024-08-15', '{}', ARRAY['I3']) WHERE rule LIKE 'investigator%'$$,
	'no ended month yet (n = 0): no projection, 600 h under the cap');
SELECT results_eq($$SELECT hours FROM pg_temp.f('2025-09-01', 'investigator_cap_exceeded', ARRAY['I1'], '{"investigator_annual_hours": 1700}')$$,
	$$VALUES (100.00)$$, 'investigator_annual_hours setting honoured');
SELECT results_eq($$SELECT period_start, period_end, hours FROM pg_temp.f('2025-03-01', 'investigator_cap_projected', ARRAY['I1'], '{"cap_year_start_month": 1}')$$,
	$$VALUES (date '2025-01-01', date '2025-12-31', 150.00)$$,
	'cap_year_start_month = 1: calendar-year cap; 2025 has 1050 h, 300 h in 2 ended months project to 1800');

-- Teaching: a fellow teaching 40 h in each of Jan - Mar 2025.
SELECT pg_temp.person('T1', 1.0);
SELECT pg_temp.asg('T1', 'G1', '2025-01-01', '2025-03-31', 'fellow', 'DI', 0.8);
SELECT pg_temp.months('T1', '2025-01-01', '2025-03-01', '[["grant","G1",100],["teaching","TCH",40]]');
SELECT pg_temp.person('T2', 0.5);
SELECT pg_temp.asg('T2', 'G1', '2025-01-01', '2025-03-31', 'researcher', 'DI', 0.8);
SELECT pg_temp.months('T2', '2025-01-01', '2025-03-01', '[["grant","G1",50],["teaching","TCH",20]]');
SELECT results_eq($$SELECT person_id, severity, grant_ref, period_start, period_end, hours FROM pg_temp.f('2025-04-01', 'teaching_excess', ARRAY['T1','T2'])$$,
	$$VALUES ('T1'::text, 'violation'::text, 'G1'::text, date '2025-01-01', date '2025-03-31', 42.86),
	         ('T2', 'violation', 'G1', date '2025-01-01', date '2025-03-31', 21.43)$$,
	'teaching_excess: 120 h against 77.14 -> 42.86; 0.5 FTE 60 h against 38.57 -> 21.43; violation once ended');
SELECT results_eq($$SELECT severity, hours FROM pg_temp.f('2025-03-15', 'teaching_excess', ARRAY['T1'])$$,
	$$VALUES ('warning'::text, 29.43)$$,
	'teaching_excess while the assignment runs: warning over the ended months (Jan-Feb: 80 h vs 50.57)');
SELECT results_eq($$SELECT hours FROM pg_temp.f('2025-04-01', 'teaching_excess', ARRAY['T1'], '{"teaching_weekly_hours": 8}')$$,
	$$VALUES (17.14)$$, 'teaching_weekly_hours setting honoured (limit 102.86)');

SELECT * FROM finish();
ROLLBACK;
