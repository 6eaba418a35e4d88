-- rules_07: RULES.md second edition, the figures of the rules: an
-- assignment without end_date runs to its grant's end_date (open when the
-- grant is unknown) for every rule; fractions with 6 decimals count exactly;
-- no line manager means nobody may authorise; a manager's own delegation
-- counts only for authorisations recorded after it.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;

\ir fixtures.psql
SELECT plan(11);

INSERT INTO grants (grant_ref, title, start_date, end_date) VALUES
	('G3', 'Grant three, ended', '2024-01-01', '2025-06-30');
SELECT pg_temp.person(p, 1.0) FROM unnest(ARRAY['A1','A2','A3','A4','A5','C1']) p;
-- A1: DI on G3 without end_date, no timesheets; A2: the same on a grant
-- effortd does not know.
SELECT pg_temp.asg('A1', 'G3', '2025-01-01', NULL, 'researcher', 'DI', 0.5);
SELECT pg_temp.asg('A2', 'G9', '2025-01-01', NULL, 'researcher', 'DI', 0.5);
-- A3: DI on G3 without end_date, and hours on G3 in August 2025.
SELECT pg_temp.asg('A3', 'G3', '2025-01-01', NULL, 'researcher', 'DI', 0.5);
SELECT pg_temp.ts('A3', '2025-08-01', '2025-08-31', '[["grant","G3",80],["research","R",89]]');
-- A4: PI on G3, DA, 2000 h a year estimated, without end_date.
SELECT pg_temp.asg('A4', 'G3', '2024-01-01', NULL, 'pi', 'DA', 0.5, 2000);
-- A5: researcher on G3 without end_date, 50 h teaching in January 2025.
SELECT pg_temp.asg('A5', 'G3', '2025-01-01', NULL, 'researcher', 'EXC', 0.5);
SELECT pg_temp.ts('A5', '2025-01-01', '2025-01-31', '[["teaching","T",50],["research","R",122.5]]');
-- C1: January 2025 (172.50 h contracted) charged 0.500004 + 0.5.
INSERT INTO charges (person_id, grant_ref, month, fte_fraction) VALUES
	('C1', 'G1', '2025-01-01', 0.500004), ('C1', 'G2', '2025-01-01', 0.5);

SELECT results_eq($$SELECT min(period_start), max(period_start), count(*)::int
	FROM pg_temp.f('2025-10-01', 'timesheet_missing', ARRAY['A1'])$$,
	$$VALUES (date '2025-01-01', date '2025-06-01', 6)$$,
	'timesheet_missing: an open-ended assignment ends with its grant (June 2025)');
SELECT results_eq($$SELECT min(period_start), max(period_start), count(*)::int
	FROM pg_temp.f('2025-10-01', 'timesheet_missing', ARRAY['A2'])$$,
	$$VALUES (date '2025-01-01', date '2025-09-01', 9)$$,
	'timesheet_missing: on an unknown grant it stays open (to the last ended month)');
SELECT results_eq($$SELECT grant_ref, period_start, hours
	FROM pg_temp.f('2025-10-01', 'unassigned_grant_hours', ARRAY['A3'])$$,
	$$VALUES ('G3'::text, date '2025-08-01', 80.00)$$,
	'unassigned_grant_hours: hours after the grant''s end are not covered by the open-ended assignment');
SELECT results_eq($$SELECT period_start, period_end, hours
	FROM pg_temp.f('2026-10-01', 'investigator_cap_exceeded', ARRAY['A4'])$$,
	$$VALUES (date '2024-08-01', date '2025-07-31', round(2000 * 334 / 365.0 - 1650, 2))$$,
	'investigator_cap_exceeded: the DA estimate counts to the grant''s end only');
SELECT is_empty($$SELECT * FROM audit_findings('2026-10-01', '{}', ARRAY['A4'])
	WHERE period_start >= '2025-08-01'$$,
	'no cap year after the grant''s end: the PI is no investigator then');
SELECT results_eq($$SELECT severity, period_start, period_end, hours
	FROM pg_temp.f('2025-10-01', 'teaching_excess', ARRAY['A5'])$$,
	$$VALUES ('violation'::text, date '2025-01-01', date '2025-06-30', round(50 - 6 * 31 / 7.0, 2))$$,
	'teaching_excess: the period ends with the grant, a violation once it has ended');
SELECT results_eq($$SELECT person_id, period_start FROM pg_temp.f('2025-03-01', 'overcharged_month', ARRAY['C1'])$$,
	$$VALUES ('C1'::text, date '2025-01-01')$$,
	'overcharged_month: 0.500004 + 0.5 of the month is more than all of it (6 decimals count)');
UPDATE charges SET fte_fraction = 0.499996 WHERE person_id = 'C1' AND grant_ref = 'G1';
SELECT is_empty($$SELECT * FROM pg_temp.f('2025-03-01', 'overcharged_month', ARRAY['C1'])$$,
	'overcharged_month: 0.499996 + 0.5 is not');
SELECT is(fte_fraction::text, '0.499996', 'fte_fraction is stored with its 6 decimals')
  FROM charges WHERE person_id = 'C1' AND grant_ref = 'G1';

-- No line manager from 1 March 2025 for N1-N4 (M0 before); authorisations of
-- January by M0 or M0's delegate DL (HR feed, March), made and recorded:
SELECT pg_temp.person(p, 1.0) FROM unnest(ARRAY['N1','N2','N3','N4','DL','D1','D2','D3','DX','DF']) p;
INSERT INTO line_manager_history (person_id, line_manager_id, valid_from)
SELECT p, NULL, '2025-03-01 00:00+00' FROM unnest(ARRAY['N1','N2','N3','N4']) p;
INSERT INTO delegations (manager_id, delegate_id, start_date, end_date) VALUES ('M0', 'DL', '2025-03-01', '2025-03-31');
-- A delegation M0 made (recorded 10 Feb) to DX, and one of the HR feed
-- (recorded 1 Mar) to DF, both for February.
INSERT INTO delegations (manager_id, delegate_id, start_date, end_date, source, recorded_at) VALUES
	('M0', 'DX', '2025-02-01', '2025-02-28', 'manager', '2025-02-10 12:00+00'),
	('M0', 'DF', '2025-02-01', '2025-02-28', 'feed', '2025-03-01 12:00+00');
CREATE FUNCTION pg_temp.auth(p_person text, p_by text, p_at timestamptz, p_recorded timestamptz)
RETURNS void LANGUAGE sql AS $f$
	INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by, decided_at, source, recorded_at)
	VALUES (pg_temp.ts(p_person, '2025-01-01', '2025-01-31', '[["research","R",172.5]]'),
	        'authorised', p_by, p_at, 'feed', p_recorded)
$f$;
SELECT pg_temp.auth('N1', 'M0', '2025-02-05 10:00+00', '2025-02-05 10:00+00');
SELECT pg_temp.auth('N2', 'M0', '2025-02-05 10:00+00', '2025-03-02 10:00+00');
SELECT pg_temp.auth('N3', 'M0', '2025-03-05 10:00+00', '2025-03-05 10:00+00');
SELECT pg_temp.auth('N4', 'DL', '2025-03-05 10:00+00', '2025-03-05 10:00+00');
SELECT pg_temp.auth('D1', 'DX', '2025-02-06 10:00+00', '2025-02-06 10:00+00');
SELECT pg_temp.auth('D2', 'DX', '2025-02-11 10:00+00', '2025-02-11 10:00+00');
SELECT pg_temp.auth('D3', 'DF', '2025-02-06 10:00+00', '2025-02-06 10:00+00');
SELECT results_eq($$SELECT person_id FROM pg_temp.f('2025-04-01', 'authorisation_invalid',
	ARRAY['N1','N2','N3','N4'])$$, $$VALUES ('N2'::text), ('N3'), ('N4')$$,
	'no line manager: authorisations made or recorded then are invalid, also by the former manager''s delegate');
SELECT results_eq($$SELECT person_id FROM pg_temp.f('2025-04-01', 'authorisation_invalid',
	ARRAY['D1','D2','D3'])$$, $$VALUES ('D1'::text)$$,
	'a manager''s delegation counts for authorisations recorded after it; the HR feed''s by its dates');

SELECT * FROM finish();
ROLLBACK;
