-- rules_02: timesheet_missing, hours_incomplete
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
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
