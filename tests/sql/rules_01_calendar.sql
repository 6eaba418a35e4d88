-- Calendar helpers: authorisation deadlines (RULES.md "Authorisation
-- deadline"), weekday counting and contracted hours ("Contracted hours").
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(22);

-- The five deadlines of RULES.md.
SELECT is(effort_deadline('2025-01-31', 2), date '2025-03-31', 'deadline: 31 Jan 2025 -> 31 Mar 2025');
SELECT is(effort_deadline('2024-11-30', 2), date '2025-01-31', 'deadline: 30 Nov 2024 -> 31 Jan 2025 (month end)');
SELECT is(effort_deadline('2024-12-31', 2), date '2025-02-28', 'deadline: 31 Dec 2024 -> 28 Feb 2025');
SELECT is(effort_deadline('2024-02-29', 2), date '2024-04-30', 'deadline: 29 Feb 2024 -> 30 Apr 2024 (month end)');
SELECT is(effort_deadline('2025-01-15', 2), date '2025-03-15', 'deadline: mid-month 15 Jan 2025 -> 15 Mar 2025');
-- More edges.
SELECT is(effort_deadline('2025-02-28', 2), date '2025-04-30', 'deadline: 28 Feb 2025 (month end) -> 30 Apr 2025');
SELECT is(effort_deadline('2024-02-28', 2), date '2024-04-28', 'deadline: 28 Feb 2024 is not a month end in a leap year');
SELECT is(effort_deadline('2024-12-30', 2), date '2025-02-28', 'deadline: 30 Dec 2024 clamps to 28 Feb 2025');
SELECT is(effort_deadline('2025-01-31', 1), date '2025-02-28', 'deadline: authorisation_months = 1');
SELECT is(effort_deadline('2025-01-31', 0), date '2025-01-31', 'deadline: authorisation_months = 0');
SELECT is(effort_deadline('2025-01-07', 3), date '2025-04-07', 'deadline: authorisation_months = 3, mid-month');

-- Weekdays and contracted hours.
SELECT is(effort_weekdays('2025-01-01', '2025-01-31'), 23, 'January 2025 has 23 weekdays');
SELECT is(effort_weekdays('2025-02-01', '2025-02-28'), 20, 'February 2025 has 20 weekdays');
SELECT is(effort_weekdays('2025-01-04', '2025-01-05'), 0, 'a weekend has no weekdays');
SELECT is(effort_weekdays('2025-01-31', '2025-01-01'), 0, 'an empty range has no weekdays');
SELECT is(effort_contracted_hours(1.0, 37.5, '2025-01-01', '2025-01-31', '2020-01-01', NULL), 172.5::numeric,
          'contracted hours January 2025 at 1.0 FTE: 172.5');
SELECT is(effort_contracted_hours(1.0, 37.5, '2025-02-01', '2025-02-28', '2020-01-01', NULL), 150::numeric,
          'contracted hours February 2025 at 1.0 FTE: 150');
SELECT is(effort_contracted_hours(0.5, 37.5, '2025-01-01', '2025-01-31', '2025-01-20', NULL), 37.5::numeric,
          'contracted hours for a 0.5 FTE starter on 20 Jan 2025: 10 weekdays -> 37.5');
SELECT is(effort_contracted_hours(1.0, 37.5, '2025-01-01', '2025-01-31', '2020-01-01', '2025-01-10'), 60::numeric,
          'contracted hours for a leaver on 10 Jan 2025: 8 weekdays -> 60');

-- Cap years.
SELECT is(effort_cap_year_start('2025-07-31', 8), date '2024-08-01', 'cap year of 31 Jul 2025 starts 1 Aug 2024');
SELECT is(effort_cap_year_start('2025-08-01', 8), date '2025-08-01', 'cap year of 1 Aug 2025 starts 1 Aug 2025');
SELECT is(effort_cap_year_start('2025-03-15', 1), date '2025-01-01', 'cap year starting in January');

SELECT * FROM finish();
ROLLBACK;
