-- The audit rules of RULES.md, evaluated for the whole organisation (or the
-- people of p_people) in one set-based pass.  docs/rules.md explains every
-- rule, its UKRI clause and the readings taken where RULES.md is ambiguous.
--
-- The rules are one engine of named stages, each defined once:
-- effort_rule_stages(as_of, params, people) computes them all in one query
-- and returns the rows of the stages its reader names; audit_findings is
-- its stage "finding" (audit_sweep, 40_audit.sql, stores it in findings),
-- and every report (70_reports.sql) reads the stages it shows from the same
-- evaluation as its findings.
--
-- File map: functions, then the engine's CTEs in order (the names quoted
-- in docs/rules.md), with who reads each beyond the rules:
--   effort_rule_defaults   the settings' defaults, from daemon/config.c
--   effort_rule_settings   stage "settings": the rule settings with their
--                          defaults, as_of, last_ended (also effort_today,
--                          violations_list, every report)
--   effort_rule_stages     the engine:
--     settings             effort_rule_settings
--     scope_people         people in scope, their contracted weekly hours
--     latest_timesheets    latest versions, their latest decisions and
--                          teaching hours (timesheet_latest, kept at
--                          ingest: 12_timesheet_latest.sql)
--     months               the months of the data: last day, days,
--                          weekdays, deadline, cap year
--     person_months        per person and month: timesheets (hours, days
--                          covered), teaching hours, the assignments
--                          overlapping it, required (needs a timesheet);
--                          stage person_month (compliance report)
--     person_month_grants  per person, month and grant: hours recorded,
--                          grant hours, charged; stage person_month_grant
--                          (grant report)
--     line_manager_periods their line manager periods
--     timesheet_checks     every latest timesheet: deadline, authorisation
--                          day, on_time, valid (effort_authority_valid,
--                          15_access.sql, as effort_may_authorise), overdue,
--                          due; stage timesheet_check (grant and
--                          compliance reports)
--     cap_years            investigators' cap years, cap, ended months
--     cap_year_grant_hours their grant hours per grant and source; stage
--                          cap_year_grant (investigators report)
--     cap_year_totals      cap years with hours, projection and finding;
--                          stage cap_year (investigators report)
--     teaching_windows     researcher/fellow assignments with the teaching
--                          hours of their ended months and the limit
--     rule_timesheet_missing       timesheet_missing
--     rule_hours_incomplete        hours_incomplete
--     authorisation_failures       the latest timesheets with one of them
--     rule_authorisation           authorisation_overdue / _due / _late /
--                                  _invalid
--     rule_charge_evidence         activity_missing / unevidenced_charge
--     rule_overcharged_month       overcharged_month
--     rule_unassigned_grant_hours  unassigned_grant_hours
--     rule_outside_grant_period    outside_grant_period
--     rule_investigator_cap        investigator_cap_exceeded / _projected
--     rule_teaching_excess         teaching_excess
--     findings             all of them; stage finding
--   audit_findings         stage "finding"
--
-- Speed (docs/performance.md): each big set (timesheets, entries, charges,
-- assignment months) is read once, and the sets are combined by
-- aggregating them together (person_months, person_month_grants: UNION
-- ALL, then GROUP BY) rather than by joining derived sets, for which the
-- planner has no statistics; the calendar helpers run once per month
-- (months), not once per row, and the monthly hours are summed as integer
-- hundredths (exact; a numeric sum keeps a state of its own in each of the
-- 100,000s of groups).  The same query serves the whole organisation (hash
-- joins and aggregates) and a few people (index probes, also as a generic
-- plan: see audit_sweep).  effort_rule_stages and audit_findings are
-- inlined into the query that calls them: the stages a reader does not
-- name are planned away (a constant false branch) and never run.

-- The rule settings' defaults: effortd's option table (rules.* in
-- daemon/config.c) is their one source; effortd --migrate passes them in
-- the transaction setting effortd.rule_defaults while it applies these
-- files, and they are kept here as effort_rule_defaults().
DO $do$
DECLARE
	v_defaults text := current_setting('effortd.rule_defaults', true);
BEGIN
	IF coalesce(v_defaults, '') = '' THEN
		RAISE EXCEPTION 'effortd.rule_defaults is not set: apply sql/functions with effortd --migrate';
	END IF;
	EXECUTE format('CREATE OR REPLACE FUNCTION effort_rule_defaults() RETURNS jsonb '
	               'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
	               format('SELECT %L::jsonb', v_defaults::jsonb));
END
$do$;

-- Stage "settings": the rule settings of p_params (effortd sends them all,
-- config_rules_json), a missing one taking its default, with as_of (NULL:
-- today in the organisation time zone) and last_ended, the last day of the
-- last month that ended before as_of.  Read by audit_findings, audit_sweep,
-- violations_list and every report.
DROP FUNCTION IF EXISTS effort_rule_settings(date, jsonb);
CREATE FUNCTION effort_rule_settings(p_as_of date, p_params jsonb)
RETURNS TABLE (timezone text, standard_weekly_hours numeric, investigator_annual_hours numeric,
	authorisation_months int, cap_year_start_month int, teaching_weekly_hours numeric,
	all_hours_tolerance numeric, charge_tolerance numeric, reminder_days int,
	as_of date, last_ended date)
LANGUAGE sql STABLE AS $$
	SELECT s.timezone, s.standard_weekly_hours, s.investigator_annual_hours,
	       s.authorisation_months, s.cap_year_start_month, s.teaching_weekly_hours,
	       s.all_hours_tolerance, s.charge_tolerance, s.reminder_days,
	       coalesce(p_as_of, (now() AT TIME ZONE s.timezone)::date),
	       effort_month_start(coalesce(p_as_of, (now() AT TIME ZONE s.timezone)::date)) - 1
	  FROM (SELECT coalesce(nullif(p_params->>'timezone', ''), d->>'timezone') AS timezone,
	               coalesce((p_params->>'standard_weekly_hours')::numeric,
	                        (d->>'standard_weekly_hours')::numeric) AS standard_weekly_hours,
	               coalesce((p_params->>'investigator_annual_hours')::numeric,
	                        (d->>'investigator_annual_hours')::numeric) AS investigator_annual_hours,
	               coalesce((p_params->>'authorisation_months')::int,
	                        (d->>'authorisation_months')::int) AS authorisation_months,
	               coalesce((p_params->>'cap_year_start_month')::int,
	                        (d->>'cap_year_start_month')::int) AS cap_year_start_month,
	               coalesce((p_params->>'teaching_weekly_hours')::numeric,
	                        (d->>'teaching_weekly_hours')::numeric) AS teaching_weekly_hours,
	               coalesce((p_params->>'all_hours_tolerance')::numeric,
	                        (d->>'all_hours_tolerance')::numeric) AS all_hours_tolerance,
	               coalesce((p_params->>'charge_tolerance')::numeric,
	                        (d->>'charge_tolerance')::numeric) AS charge_tolerance,
	               coalesce((p_params->>'reminder_days')::int, (d->>'reminder_days')::int) AS reminder_days
	          FROM effort_rule_defaults() d) s
$$;

-- The stages' row types: what effort_rule_stages returns for each stage
-- (re-created with the functions; nothing stores them).
DROP FUNCTION IF EXISTS audit_findings_everyone(date, jsonb);
DROP FUNCTION IF EXISTS audit_findings_halves(date, jsonb, text[]);
DROP FUNCTION IF EXISTS audit_findings_part(date, jsonb, text, text);
DROP FUNCTION IF EXISTS audit_findings_part(date, jsonb, text[], text, text);
DROP FUNCTION IF EXISTS audit_findings(date, jsonb, text[]);
DROP FUNCTION IF EXISTS audit_findings(date, jsonb, text[], text, text);
DROP FUNCTION IF EXISTS effort_rule_stages(date, jsonb, text[]);
DROP FUNCTION IF EXISTS effort_rule_stages(date, jsonb, text[], text, text);
DROP TYPE IF EXISTS rule_finding, rule_timesheet_check, rule_person_month,
	rule_person_month_grant, rule_cap_year, rule_cap_year_grant CASCADE;
CREATE TYPE rule_finding AS (rule text, severity text, person_id text, grant_ref text,
	period_start date, period_end date, hours numeric, detail text);
CREATE TYPE rule_timesheet_check AS (timesheet_id bigint, person_id text, month date,
	period_start date, period_end date, version int, submitted_at timestamptz,
	total_hours numeric, decision text, decided_by text, decided_at timestamptz,
	deadline date, auth_day date, is_auth boolean, on_time boolean, valid boolean,
	overdue boolean, due boolean);
CREATE TYPE rule_person_month AS (person_id text, month date, timesheets bigint,
	required boolean);
CREATE TYPE rule_person_month_grant AS (person_id text, month date, grant_ref text,
	recorded numeric, charged numeric);
CREATE TYPE rule_cap_year AS (person_id text, year_start date, year_end date,
	year_days int, employed_days int, fte numeric, cap numeric, ended_months int,
	hours numeric, ended_months_hours numeric, projection numeric, finding text,
	finding_hours numeric);
CREATE TYPE rule_cap_year_grant AS (person_id text, year_start date, grant_ref text,
	source text, hours numeric, ended_months_hours numeric);

-- The rule engine: every stage of the rules for the people of p_people
-- (NULL: everyone; or, with p_from or p_to, everyone whose person_id is
-- in [p_from, p_to)) as of p_as_of, one row per stage row, the stage named in
-- "stage" and its row in the column of that name (the others NULL):
--   finding               every finding (audit_findings)
--   timesheet_check       every latest timesheet and its authorisation checks
--   person_month          every person-month with a timesheet or that needs one
--   person_month_grant    hours recorded and charged per person, month, grant
--   cap_year              investigators' cap years: cap, hours, projection
--   cap_year_grant        their grant hours per grant and source
-- A reader names the stages it wants (WHERE stage = ... or IN (...)): the
-- function is inlined into its query, the other stages' branches are
-- planned away and the stages they alone read never run.  p_from and p_to
-- are for a half of everyone, planned for its values: a generic plan for a
-- scope must have them NULL as constants (audit_findings_part).
CREATE FUNCTION effort_rule_stages(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL,
	p_from text DEFAULT NULL, p_to text DEFAULT NULL)
RETURNS TABLE (stage text, finding rule_finding, timesheet_check rule_timesheet_check,
	person_month rule_person_month, person_month_grant rule_person_month_grant,
	cap_year rule_cap_year, cap_year_grant rule_cap_year_grant)
LANGUAGE sql STABLE AS $$
WITH settings AS (SELECT * FROM effort_rule_settings(p_as_of, p_params)),
-- (Two branches, not one OR: a generic plan (audit_sweep) cannot probe
-- the index for "everyone or these", and would read every person.  The
-- second branch's ORs are always true when it runs; they only make a
-- generic plan estimate it at next to no rows (a full sweep's plan, made
-- for p_people NULL, folds them away).  Their columns' conditions are
-- ones the statistics say no row meets (fte > 0 is only a CHECK), not
-- IS NULL of a NOT NULL column, which a planner may fold to false.)
scope_people AS (
	SELECT p.person_id, p.fte, p.employment_start AS es, p.employment_end AS ee,
	       p.fte * s.standard_weekly_hours AS weekly
	  FROM people p, settings s
	 WHERE p.person_id = ANY (p_people)
	UNION ALL
	SELECT p.person_id, p.fte, p.employment_start AS es, p.employment_end AS ee,
	       p.fte * s.standard_weekly_hours AS weekly
	  FROM people p, settings s
	 WHERE p_people IS NULL
	   AND (p_from IS NULL OR p.person_id >= p_from) AND (p_to IS NULL OR p.person_id < p_to)
	   AND (p_people IS NULL OR p.fte < 0) AND (p_people IS NULL OR p.employment_start < DATE '0001-01-01')
),
-- The latest version of every timesheet of those people, its latest
-- decision and its teaching hours in hundredths (timesheet_latest,
-- 12_timesheet_latest.sql), with the person's employment and weekly
-- hours; m: the month of its period_start.
latest_timesheets AS (
	SELECT c.timesheet_id, c.person_id, c.period_start, c.period_end, c.version,
	       c.submitted_at, c.total_hours, c.decision, c.decided_by, c.decided_at,
	       c.decision_recorded_at, c.taught, effort_month_start(c.period_start) AS m,
	       p.es, p.ee, p.weekly
	  FROM timesheet_latest c
	  JOIN scope_people p ON p.person_id = c.person_id
	   AND (p_from IS NULL OR c.person_id >= p_from) AND (p_to IS NULL OR c.person_id < p_to)
),
-- Every month from the first month of a timesheet or of an assignment
-- (inside the employment) in scope to the last month of a timesheet or
-- last_ended: every month of a timesheet and every month someone may have
-- to keep timesheets for; charges may fall outside it (their months'
-- values are then computed by the helpers).  Per month m: its last day me,
-- days nd, weekdays wd (wdmask: bit i set when day m + i is a weekday,
-- Mon-Fri as in effort_weekdays), dl = effort_deadline(me, ...) and ys,
-- the start of its cap year.  (The months are unnested from an array so
-- that the planner takes months for the handful of rows it is; the joins
-- to it are LEFT JOINs so that they keep the other side's row count.)
months AS (
	SELECT g.m, x.me, effort_days(g.m, x.me) AS nd, effort_weekdays(g.m, x.me) AS wd,
	       (SELECT bit_or(1::bigint << (d.d::date - g.m))
	          FROM generate_series(g.m::timestamp, x.me::timestamp, interval '1 day') AS d(d)
	         WHERE extract(isodow FROM d.d) < 6) AS wdmask,
	       effort_deadline(x.me, s.authorisation_months) AS dl,
	       effort_cap_year_start(g.m, s.cap_year_start_month) AS ys
	  FROM settings s
	 CROSS JOIN LATERAL (SELECT min(t.m) AS lo, max(t.m) AS hi FROM latest_timesheets t) t
	 CROSS JOIN LATERAL unnest(ARRAY(
	        SELECT g.m::date
	          FROM generate_series(
	                least(t.lo, (SELECT effort_month_start(min(greatest(a.start_date, p.es)))
	                               FROM assignments a JOIN scope_people p ON p.person_id = a.person_id))::timestamp,
	                greatest(t.hi, s.last_ended)::timestamp,
	                interval '1 month') AS g(m))) AS g(m)
	 CROSS JOIN LATERAL (SELECT effort_month_end(g.m) AS me) x
),
-- Per person and month, from three kinds of rows:
--   the month's timesheets: n_ts, total (their total hours) and mask, the
--     days they cover inside the employment (bit i: day m + i), a day
--     covered twice counted once, and taught, their teaching hours;
--   the assignments overlapping the month, for the ended months inside the
--     employment (timesheet_missing, RGC 4.6): n_asg, di (one of them is
--     DI or EXC), one_full (each is of 1.0 FTE and covers every employed
--     day of the month).  Each assignment's months are those of
--     [greatest(start, employment start), least(end, employment end,
--     last_ended)]: within those bounds an assignment counts for a month
--     exactly when it overlaps the calendar month, whatever its cost type.
-- required: the month needs a timesheet (req_month): it overlaps a DI or
-- EXC assignment, unless a single assignment of 1.0 FTE covers every
-- employed day of the month and no other assignment overlaps it.
-- (Grouped by person and month alone, the person's employment and weekly
-- hours joined after: the aggregate's hash table of 300,000 groups per
-- half at 50,000 staff is narrower, the full sweep about 8 % quicker.)
person_months AS (
	SELECT y.*, p.es, p.ee, p.weekly, coalesce(y.di AND NOT (y.n_asg = 1 AND y.one_full), false) AS required
	  FROM (SELECT x.person_id, x.m,
	               count(x.total) AS n_ts, sum(x.total) * 0.01 AS total, bit_or(x.mask) AS mask,
	               sum(x.taught) * 0.01 AS taught,
	               count(x.di) AS n_asg, bool_or(x.di) AS di, bool_and(x.one_full) AS one_full
	          FROM (SELECT t.person_id, t.m, (t.total_hours * 100)::int AS total,
	                       CASE WHEN least(t.period_end, coalesce(t.ee, t.period_end))
	                                 < greatest(t.period_start, t.es) THEN 0
	                            ELSE (1::bigint << (least(t.period_end, coalesce(t.ee, t.period_end)) - t.m + 1))
	                               - (1::bigint << (greatest(t.period_start, t.es) - t.m)) END AS mask,
	                       t.taught, NULL::boolean AS di, NULL::boolean AS one_full
	                  FROM latest_timesheets t
	                UNION ALL
	                SELECT a.person_id, g.m, NULL, NULL, NULL,
	                       a.cost_type IN ('DI', 'EXC'),
	                       a.fte_share = 1
	                       AND a.start_date <= greatest(g.m, p.es)
	                       AND coalesce(a.end_date, 'infinity'::date)
	                           >= least(effort_month_end(g.m), coalesce(p.ee, 'infinity'::date))
	                  FROM assignments_effective a  -- open-ended: to the grant's end
	                  JOIN scope_people p ON p.person_id = a.person_id
	                  CROSS JOIN settings s
	                  CROSS JOIN LATERAL unnest(ARRAY(
	                        SELECT generate_series(
	                                effort_month_start(greatest(a.start_date, p.es))::timestamp,
	                                effort_month_start(least(coalesce(a.end_date, 'infinity'::date),
	                                                         coalesce(p.ee, 'infinity'::date),
	                                                         s.last_ended))::timestamp,
	                                interval '1 month')::date)) AS g(m)) x
	         GROUP BY x.person_id, x.m) y
	  JOIN scope_people p ON p.person_id = y.person_id
),
-- Per person, month and grant, from the grant entries of the month's
-- latest timesheets (timesheet_latest_grant_entries, kept at ingest) and
-- the charges of ended months (one at most):
--   recorded  the hours of entries of more than 0 h (NULL: none)
--   grant_hours  all of them (the cap); outside: those of timesheets whose
--             period lies wholly outside the grant's (NULL: none)
--   charged   the charged hours (NULL: no charge), an fte_fraction of the
--             month's contracted hours (effort_contracted_hours: from months
--             when the employment covers the whole month); ch and cf its
--             hours or fte_fraction as integers (for overcharged_month's sums)
person_month_grants AS (
	SELECT x.person_id, x.m, x.grant_ref,
	       sum(x.hours) FILTER (WHERE x.hours > 0) * 0.01 AS recorded,
	       sum(x.hours) * 0.01 AS grant_hours,
	       sum(x.hours) FILTER (WHERE x.hours > 0 AND x.outside) * 0.01 AS outside,
	       min(x.charged) AS charged, min(x.ch) AS ch, min(x.cf) AS cf, min(x.contracted) AS contracted
	  FROM (SELECT e.person_id, e.month AS m, e.activity AS grant_ref, (e.hours * 100)::int AS hours,
	               e.period_end < g.start_date OR e.period_start > g.end_date AS outside,
	               NULL::numeric AS charged, NULL::int AS ch, NULL::int AS cf, NULL::numeric AS contracted
	          FROM timesheet_latest_grant_entries e
	          JOIN scope_people p ON p.person_id = e.person_id
	           AND (p_from IS NULL OR e.person_id >= p_from) AND (p_to IS NULL OR e.person_id < p_to)
	          LEFT JOIN grants g ON g.grant_ref = e.activity
	        UNION ALL
	        SELECT c.person_id, c.month, c.grant_ref, NULL, NULL,
	               coalesce(c.hours, c.fte_fraction * k.contracted),
	               (c.hours * 100)::int, (c.fte_fraction * 1000000)::int, k.contracted
	          FROM charges c
	          JOIN scope_people p ON p.person_id = c.person_id
	           AND (p_from IS NULL OR c.person_id >= p_from) AND (p_to IS NULL OR c.person_id < p_to)
	          CROSS JOIN settings s
	          LEFT JOIN months mo ON mo.m = c.month
	          CROSS JOIN LATERAL (
	                SELECT coalesce(mo.me, effort_month_end(c.month)) AS me,
	                       CASE WHEN p.es <= mo.m AND coalesce(p.ee, mo.me) >= mo.me
	                            THEN p.weekly * mo.wd / 5
	                            ELSE effort_contracted_hours(p.fte, s.standard_weekly_hours, c.month,
	                                                         effort_month_end(c.month), p.es, p.ee) END
	                       AS contracted) k
	         WHERE k.me < s.as_of
	        UNION ALL
	        -- Charges in hours of ended months to a person not (yet) in the
	        -- people feed: charged, nothing recorded (activity_missing); an
	        -- fte_fraction has no contracted hours to be read in, and no
	        -- month's contracted hours to be compared with (no row).
	        -- (the scope's charges by index, or everyone's: as scope_people;
	        -- the unknown people looked for in each branch, so that a
	        -- scope's generic plan probes people_pkey for its charges
	        -- instead of hashing every person, 8 ms at 50,000 staff)
	        SELECT c.person_id, c.month, c.grant_ref, NULL, NULL, c.hours,
	               (c.hours * 100)::int, NULL, NULL
	          FROM (SELECT c.* FROM charges c
	                 WHERE c.person_id = ANY (p_people) AND c.hours IS NOT NULL
	                   AND NOT EXISTS (SELECT 1 FROM people q WHERE q.person_id = c.person_id)
	                UNION ALL
	                SELECT c.* FROM charges c
	                 WHERE p_people IS NULL AND c.hours IS NOT NULL
	                   AND (p_from IS NULL OR c.person_id >= p_from) AND (p_to IS NULL OR c.person_id < p_to)
	                   AND NOT EXISTS (SELECT 1 FROM people q WHERE q.person_id = c.person_id)) c
	          CROSS JOIN settings s
	         WHERE effort_month_end(c.month) < s.as_of) x
	 GROUP BY x.person_id, x.m, x.grant_ref
),
-- The line manager periods (effort_line_manager_periods, 15_access.sql) of
-- those people, for timesheet_checks' two joins.  (person_id is read from
-- people: its statistics let the planner see a few periods per
-- timesheet's person and hash them; the function's UNION ALL hides those
-- of line_manager_history, and with none, or scope_people's, it guesses
-- hundreds and sorts every timesheet for merge joins, about 3 % of the
-- full sweep.  NOT MATERIALIZED: written into each join, where those
-- statistics are seen.)
line_manager_periods AS NOT MATERIALIZED (
	SELECT p.person_id, h.line_manager_id, h.valid_from, h.valid_to, h.is_first
	  FROM effort_line_manager_periods(p_people) h
	  JOIN people p ON p.person_id = h.person_id
),
-- Every latest timesheet with its deadline (effort_deadline(period_end,
-- authorisation_months): months' dl for a period ending on a month's last
-- day), the local day of an authorisation, and the checks of the
-- authorisation rules:
--   on_time  authorised on or before the deadline
--   valid    authorised by someone who may (effort_authority_valid,
--            15_access.sql: the line manager in force when it was made or
--            their delegate, never the person, nobody while they have no
--            line manager), after the period end, not before submission
--   overdue  not authorised, the deadline passed
--   due      not authorised, the deadline within reminder_days
-- (OFFSET 0 keeps w a subquery of its own: each of its values is computed
-- once, not once for every place it is used.  NOT MATERIALIZED: the rules
-- read it once, and a reader of the findings alone thus never stores it.)
timesheet_checks AS NOT MATERIALIZED (
	SELECT w.*,
	       w.is_auth AND w.auth_day <= w.deadline AS on_time,
	       w.is_auth
	       AND coalesce(effort_authority_valid(w.decided_by, w.person_id, w.manager_then,
	                                           w.unmanaged_when_recorded, w.auth_day,
	                                           w.decision_recorded_at), false)
	       AND w.auth_day > w.period_end AND w.decided_at >= w.submitted_at AS valid,
	       NOT w.is_auth AND w.as_of > w.deadline AS overdue,
	       NOT w.is_auth AND w.as_of <= w.deadline AND w.deadline - w.as_of <= w.reminder_days AS due
	  FROM (SELECT t.timesheet_id, t.person_id, t.m, t.period_start, t.period_end, t.version,
	               t.submitted_at, t.total_hours, t.decision, t.decided_by, t.decided_at,
	               t.decision_recorded_at, s.as_of, s.reminder_days,
	               CASE WHEN t.period_end = k.me THEN k.dl
	                    ELSE effort_deadline(t.period_end, s.authorisation_months) END AS deadline,
	               t.decision IS NOT DISTINCT FROM 'authorised' AS is_auth,
	               CASE WHEN t.decision = 'authorised'
	                    THEN (t.decided_at AT TIME ZONE s.timezone)::date END AS auth_day,
	               -- the line manager in force at decided_at (NULL: none)
	               made.line_manager_id AS manager_then,
	               -- none in force when the authorisation was recorded (a period
	               -- without a line manager holds then)
	               unmanaged.person_id IS NOT NULL AS unmanaged_when_recorded
	          FROM latest_timesheets t
	          CROSS JOIN settings s
	          LEFT JOIN months k ON k.m = t.m
	          LEFT JOIN line_manager_periods made
	            ON made.person_id = t.person_id AND t.decision = 'authorised'
	           AND effort_period_holds(made.valid_from, made.valid_to, made.is_first, t.decided_at)
	          LEFT JOIN line_manager_periods unmanaged
	            ON unmanaged.person_id = t.person_id AND t.decision = 'authorised'
	           AND unmanaged.line_manager_id IS NULL
	           AND effort_period_holds(unmanaged.valid_from, unmanaged.valid_to, unmanaged.is_first,
	                                   t.decision_recorded_at)
	        OFFSET 0) w
),
-- Investigators' cap years: those started by as_of that overlap a pi /
-- co_i assignment (report_investigators asks for a later year as of its
-- start),
-- with the cap (investigator_annual_hours x fte x employed days / days of
-- the year; cap_days: the cap x days of the year, exactly), pe (the last
-- day of its ended months; < ys when none) and n (their number).
cap_years AS (
	SELECT c.person_id, c.ys, c.ye, c.ndays, c.employed_days, c.fte,
	       least(c.ye, s.last_ended) AS pe,
	       effort_cap_year_ended_months(c.ys, s.last_ended) AS n,
	       s.investigator_annual_hours * c.fte * c.employed_days / c.ndays AS cap,
	       s.investigator_annual_hours * c.fte * c.employed_days AS cap_days
	  FROM (SELECT y.person_id, y.ys, x.ye, effort_days(y.ys, x.ye) AS ndays, p.fte,
	               effort_days(greatest(y.ys, p.es), least(x.ye, coalesce(p.ee, 'infinity'::date)))
	               AS employed_days
	          FROM (SELECT DISTINCT a.person_id, g.ys::date AS ys
	                  FROM assignments_effective a
	                  JOIN scope_people p ON p.person_id = a.person_id
	                  CROSS JOIN settings s
	                  CROSS JOIN LATERAL generate_series(
	                        effort_cap_year_start(a.start_date, s.cap_year_start_month)::timestamp,
	                        effort_cap_year_start(least(coalesce(a.end_date, s.as_of), s.as_of),
	                                              s.cap_year_start_month)::timestamp,
	                        interval '1 year') AS g(ys)
	                 WHERE a.role IN ('pi', 'co_i')) y
	          JOIN scope_people p ON p.person_id = y.person_id
	          CROSS JOIN LATERAL (SELECT effort_cap_year_end(y.ys) AS ye) x) c
	  CROSS JOIN settings s
),
-- Their grant hours per cap year, grant and source: 'timesheets', the
-- grant hours of the months of the year (months' ys); 'estimate', DA
-- assignments' estimated_hours_per_year x their days in the year / its
-- days.  ended: of the months that ended before as_of (those up to pe).
-- d_all, d_ended: the same hours x the days of the year, exact (an
-- estimate's share of a year is rarely a finite decimal: the totals and
-- the findings divide their sum once, so that a figure ending in exactly
-- half a hundredth is not rounded on the way).
cap_year_grant_hours AS (
	SELECT r.person_id, mo.ys, r.grant_ref, 'timesheets'::text AS source,
	       sum(r.grant_hours) AS h_all,
	       coalesce(sum(r.grant_hours) FILTER (WHERE r.m <= s.last_ended), 0) AS h_ended,
	       sum(r.grant_hours) * effort_days(mo.ys, effort_cap_year_end(mo.ys)) AS d_all,
	       coalesce(sum(r.grant_hours) FILTER (WHERE r.m <= s.last_ended), 0)
	       * effort_days(mo.ys, effort_cap_year_end(mo.ys)) AS d_ended
	  FROM person_month_grants r
	  LEFT JOIN months mo ON mo.m = r.m
	  CROSS JOIN settings s
	 WHERE r.grant_hours IS NOT NULL
	   AND EXISTS (SELECT 1 FROM assignments a
	                WHERE a.person_id = r.person_id AND a.role IN ('pi', 'co_i'))
	 GROUP BY r.person_id, mo.ys, r.grant_ref
	UNION ALL
	SELECT e.person_id, e.ys, e.grant_ref, 'estimate', e.d_all / e.ndays, e.d_ended / e.ndays,
	       e.d_all, e.d_ended
	  FROM (SELECT c.person_id, c.ys, c.ndays, a.grant_ref,
	       sum(coalesce(a.estimated_hours_per_year, 0)
	           * effort_days(greatest(a.start_date, c.ys),
	                         least(coalesce(a.end_date, 'infinity'::date), c.ye))) AS d_all,
	       sum(coalesce(a.estimated_hours_per_year, 0)
	           * effort_days(greatest(a.start_date, c.ys),
	                         least(coalesce(a.end_date, 'infinity'::date), c.pe))) AS d_ended
	  FROM cap_years c
	  JOIN assignments_effective a ON a.person_id = c.person_id AND a.cost_type = 'DA'
	                    AND a.start_date <= c.ye
	                    AND coalesce(a.end_date, 'infinity'::date) >= c.ys
	 GROUP BY c.person_id, c.ys, c.ndays, a.grant_ref) e
),
-- Each cap year with its grant hours (h_all; h_ended of the ended months),
-- the projection h_ended / n x 12 (ended months 1 to 11), the finding:
-- investigator_cap_exceeded over the cap, else investigator_cap_projected
-- when the projection is, and its hours, excess.  The comparisons and the
-- excess are worked from the exact hour-days (d_all, d_ended, cap_days)
-- with one division at the end: 300.01 h in 3 months against a cap of
-- 825.165 h project 374.875 h over (374.88), where 300.01 / 3 x 12 rounds
-- 300.01 / 3 first and gives 1200.0399...96 (374.87).
cap_year_totals AS (
	SELECT y.*,
	       CASE WHEN y.d_all > y.cap_days THEN 'investigator_cap_exceeded'
	            WHEN y.n BETWEEN 1 AND 11 AND y.d_ended * 12 > y.cap_days * y.n
	            THEN 'investigator_cap_projected' END AS finding,
	       CASE WHEN y.d_all > y.cap_days THEN (y.d_all - y.cap_days) / y.ndays
	            WHEN y.n >= 1 THEN (y.d_ended * 12 - y.cap_days * y.n) / (y.ndays * y.n) END AS excess
	  FROM (SELECT c.*, coalesce(h.d_all, 0) / c.ndays AS h_all, coalesce(h.d_ended, 0) / c.ndays AS h_ended,
	               CASE WHEN c.n >= 1 THEN coalesce(h.d_ended, 0) * 12 / (c.ndays * c.n) END AS projection,
	               coalesce(h.d_all, 0) AS d_all, coalesce(h.d_ended, 0) AS d_ended
	          FROM cap_years c
	          LEFT JOIN (SELECT h.person_id, h.ys, sum(h.d_all) AS d_all, sum(h.d_ended) AS d_ended
	                       FROM cap_year_grant_hours h GROUP BY h.person_id, h.ys) h
	            ON h.person_id = c.person_id AND h.ys = c.ys) y
),
-- Teaching windows: each researcher or fellow assignment (to its end, the
-- grant's end when open) with the ended months with timesheets overlapping
-- it (m is a month's first day: the month ended before as_of when m <=
-- last_ended, on or after the assignment's start when m >= the first day of
-- its month), their days, the teaching hours in them and the limit
-- teaching_weekly_hours x fte x days / 7.
teaching_windows AS (
	SELECT y.*, s.teaching_weekly_hours * p.fte * y.ndays / 7 AS lim
	  FROM (SELECT a.person_id, a.grant_ref, a.start_date, a.end_eff,
	               count(*) AS nmonths, sum(mo.nd) AS ndays, coalesce(sum(t.taught), 0) AS taught
	          FROM (SELECT a.person_id, a.grant_ref, a.start_date, a.end_date AS end_eff
	                  FROM assignments_effective a  -- open-ended: to the grant's end
	                 WHERE a.role IN ('researcher', 'fellow')) a
	          CROSS JOIN settings s
	          JOIN person_months t ON t.person_id = a.person_id AND t.n_ts > 0
	                   AND t.m <= s.last_ended
	                   AND t.m <= coalesce(a.end_eff, 'infinity'::date)
	                   AND t.m >= effort_month_start(a.start_date)
	          LEFT JOIN months mo ON mo.m = t.m
	         GROUP BY a.person_id, a.grant_ref, a.start_date, a.end_eff) y
	  JOIN people p ON p.person_id = y.person_id
	  CROSS JOIN settings s
),
-- ================================================================ the rules
-- ---------------------------------------------------------------- timesheet_missing
-- wd: the weekdays of the month inside the employment.
rule_timesheet_missing AS (
	SELECT 'timesheet_missing'::text AS rule,
	       CASE WHEN s.as_of > q.dl THEN 'violation' ELSE 'warning' END AS severity,
	       q.person_id, NULL::text AS grant_ref, q.m AS period_start, q.me AS period_end,
	       q.weekly * q.uncovered / 5 AS hours,
	       format('%s: %s of %s weekdays not covered by a timesheet (%s h contracted); authorisation deadline %s',
	              effort_month_label(q.m), q.uncovered, q.wd, effort_fmt_hours(q.weekly * q.uncovered / 5),
	              q.dl) AS detail
	  FROM (SELECT r.person_id, r.m, mo.me, mo.dl, r.weekly, w.wd,
	               w.wd - coalesce(bit_count((r.mask & mo.wdmask)::bit(64)), 0) AS uncovered
	          FROM person_months r
	          LEFT JOIN months mo ON mo.m = r.m
	          CROSS JOIN LATERAL (SELECT CASE WHEN r.es <= mo.m AND coalesce(r.ee, mo.me) >= mo.me THEN mo.wd
	                                          ELSE effort_weekdays(greatest(mo.m, r.es),
	                                                               least(mo.me, coalesce(r.ee, mo.me))) END AS wd) w
	         WHERE r.required) q
	  CROSS JOIN settings s
	 WHERE q.uncovered > 0
),
-- ---------------------------------------------------------------- hours_incomplete
-- covered_wd: the weekdays covered by the month's timesheets inside the
-- employment.
rule_hours_incomplete AS (
	SELECT 'hours_incomplete'::text, 'violation'::text, t.person_id, NULL::text, t.m, mo.me,
	       t.weekly * w.covered_wd / 5 - t.total,
	       format('%s: %s h recorded of %s h contracted', effort_month_label(t.m),
	              effort_fmt_hours(t.total), effort_fmt_hours(t.weekly * w.covered_wd / 5))
	  FROM person_months t
	  LEFT JOIN months mo ON mo.m = t.m
	  CROSS JOIN LATERAL (SELECT bit_count((t.mask & mo.wdmask)::bit(64)) AS covered_wd) w
	  CROSS JOIN settings s
	 WHERE t.n_ts > 0 AND mo.me < s.as_of
	   AND t.weekly * w.covered_wd / 5 - t.total > s.all_hours_tolerance
),
-- ---------------------------------------------------------------- authorisation_*
-- The latest timesheets with an authorisation finding, kept for the two
-- kinds of finding below (MATERIALIZED: a few per cent of the timesheets,
-- instead of a lateral sub-select run for each of them).
authorisation_failures AS MATERIALIZED (
	SELECT a.* FROM timesheet_checks a
	 WHERE a.overdue OR a.due OR (a.is_auth AND NOT (a.on_time AND a.valid))
),
rule_authorisation AS (
	SELECT CASE WHEN a.overdue THEN 'authorisation_overdue' WHEN a.due THEN 'authorisation_due'
	            ELSE 'authorisation_late' END AS rule,
	       CASE WHEN a.due THEN 'warning' ELSE 'violation' END AS severity,
	       a.person_id, NULL::text, a.period_start, a.period_end, a.total_hours,
	       CASE WHEN a.overdue
	            THEN format('Timesheet %s to %s (%s h) not authorised; deadline %s has passed',
	                        a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.deadline)
	            WHEN a.due
	            THEN format('Timesheet %s to %s (%s h) not authorised; deadline %s %s',
	                        a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.deadline,
	                        CASE a.deadline - a.as_of WHEN 0 THEN 'is today' WHEN 1 THEN 'is in 1 day'
	                             ELSE format('is in %s days', a.deadline - a.as_of) END)
	            ELSE format('Timesheet %s to %s (%s h) authorised by %s on %s, after the deadline %s',
	                        a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.decided_by,
	                        a.auth_day, a.deadline) END AS detail
	  FROM authorisation_failures a
	 WHERE a.overdue OR a.due OR (a.is_auth AND NOT a.on_time)
	UNION ALL
	SELECT 'authorisation_invalid', 'violation', a.person_id, NULL::text, a.period_start, a.period_end,
	       a.total_hours,
	       format('Timesheet %s to %s (%s h) authorised by %s on %s: %s',
	              a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.decided_by,
	              a.auth_day,
	              concat_ws('; ',
	                  CASE WHEN a.decided_by = a.person_id THEN 'self-authorised'
	                       WHEN NOT coalesce(effort_authority_valid(a.decided_by, a.person_id,
	                                a.manager_then, a.unmanaged_when_recorded, a.auth_day,
	                                a.decision_recorded_at), false)
	                       THEN 'not the line manager or an active delegate' END,
	                  CASE WHEN a.auth_day <= a.period_end THEN 'signed on or before the period end' END,
	                  CASE WHEN a.decided_at < a.submitted_at THEN 'before the timesheet was submitted' END))
	  FROM authorisation_failures a
	 WHERE a.is_auth AND NOT a.valid
),
-- ---------------------------------------------------------------- charges
rule_charge_evidence AS (
	SELECT CASE WHEN r.recorded IS NULL THEN 'activity_missing' ELSE 'unevidenced_charge' END,
	       'violation'::text, r.person_id, r.grant_ref, r.m, effort_month_end(r.m),
	       r.charged - coalesce(r.recorded, 0),
	       CASE WHEN r.recorded IS NULL
	            THEN format('%s: %s h charged to %s, no hours recorded on it',
	                        effort_month_label(r.m), effort_fmt_hours(r.charged), r.grant_ref)
	            ELSE format('%s: %s h charged to %s, %s h recorded',
	                        effort_month_label(r.m), effort_fmt_hours(r.charged), r.grant_ref,
	                        effort_fmt_hours(r.recorded)) END
	  FROM person_month_grants r
	  CROSS JOIN settings s
	 WHERE r.charged IS NOT NULL
	   AND ((r.recorded IS NULL AND r.charged > 0)
	        OR (r.recorded IS NOT NULL AND r.charged - r.recorded > s.charge_tolerance))
),
-- (The sum of the month's charges, exactly: the hours charges' hundredths
-- plus the fte_fractions' millionths of the contracted hours.)
rule_overcharged_month AS (
	SELECT 'overcharged_month'::text, 'violation'::text, c.person_id, NULL::text, c.m,
	       effort_month_end(c.m), c.charged - c.contracted,
	       format('%s: %s h charged across grants of %s h contracted',
	              effort_month_label(c.m), effort_fmt_hours(c.charged), effort_fmt_hours(c.contracted))
	  FROM (SELECT r.person_id, r.m, r.contracted,
	               coalesce(sum(r.ch), 0) * 0.01 + r.contracted * coalesce(sum(r.cf), 0) * 0.000001 AS charged
	          FROM person_month_grants r
	         WHERE r.charged IS NOT NULL
	         GROUP BY r.person_id, r.m, r.contracted) c
	 WHERE c.charged > c.contracted
),
-- ---------------------------------------------------------------- grant hours
-- (m is a month's first day: the month ended before as_of when m is on or
-- before last_ended.)
rule_unassigned_grant_hours AS (
	SELECT 'unassigned_grant_hours'::text, 'violation'::text, r.person_id, r.grant_ref, r.m,
	       effort_month_end(r.m), r.recorded,
	       format('%s: %s h recorded on %s%s without an assignment to it',
	              effort_month_label(r.m), effort_fmt_hours(r.recorded), r.grant_ref,
	              CASE WHEN NOT EXISTS (SELECT 1 FROM grants g WHERE g.grant_ref = r.grant_ref)
	                   THEN ' (unknown grant)' ELSE '' END)
	  FROM person_month_grants r CROSS JOIN settings s
	 WHERE r.recorded IS NOT NULL AND r.m <= s.last_ended
	   AND NOT EXISTS (SELECT 1 FROM assignments_effective a
	                    WHERE a.person_id = r.person_id AND a.grant_ref = r.grant_ref
	                      AND a.start_date <= effort_month_end(r.m)
	                      AND coalesce(a.end_date, 'infinity'::date) >= r.m)
),
rule_outside_grant_period AS (
	SELECT 'outside_grant_period'::text, 'violation'::text, r.person_id, r.grant_ref, r.m,
	       effort_month_end(r.m), r.outside,
	       format('%s: %s h recorded on %s outside its grant period %s',
	              effort_month_label(r.m), effort_fmt_hours(r.outside), r.grant_ref,
	              CASE WHEN g.end_date IS NULL THEN format('from %s (no end date)', g.start_date)
	                   ELSE format('%s to %s', g.start_date, g.end_date) END)
	  FROM person_month_grants r
	  JOIN grants g ON g.grant_ref = r.grant_ref
	  CROSS JOIN settings s
	 WHERE r.outside IS NOT NULL AND r.m <= s.last_ended
),
-- ---------------------------------------------------------------- investigator cap
rule_investigator_cap AS (
	SELECT c.finding, CASE WHEN c.finding = 'investigator_cap_exceeded' THEN 'violation' ELSE 'warning' END,
	       c.person_id, NULL::text, c.ys, c.ye, c.excess,
	       CASE WHEN c.finding = 'investigator_cap_exceeded'
	            THEN format('Cap year %s to %s: %s grant h against a cap of %s h',
	                        c.ys, c.ye, effort_fmt_hours(c.h_all), effort_fmt_hours(c.cap))
	            ELSE format('Cap year %s to %s: %s grant h in %s ended months project to %s h against a cap of %s h',
	                        c.ys, c.ye, effort_fmt_hours(c.h_ended), c.n,
	                        effort_fmt_hours(c.projection), effort_fmt_hours(c.cap)) END
	  FROM cap_year_totals c
	 WHERE c.finding IS NOT NULL
),
-- ---------------------------------------------------------------- teaching_excess
rule_teaching_excess AS (
	SELECT 'teaching_excess'::text,
	       CASE WHEN x.end_eff < s.as_of THEN 'violation' ELSE 'warning' END,
	       x.person_id, x.grant_ref, x.start_date, coalesce(x.end_eff, date '9999-12-31'),
	       x.taught - x.lim,
	       format('%s h teaching in %s with timesheets (%s days) on %s against a limit of %s h',
	              effort_fmt_hours(x.taught),
	              x.nmonths || CASE WHEN x.nmonths = 1 THEN ' month' ELSE ' months' END,
	              x.ndays, x.grant_ref, effort_fmt_hours(x.lim))
	  FROM teaching_windows x
	  CROSS JOIN settings s
	 WHERE x.taught > x.lim
),
findings AS (
	SELECT * FROM rule_timesheet_missing
	UNION ALL SELECT * FROM rule_hours_incomplete
	UNION ALL SELECT * FROM rule_authorisation
	UNION ALL SELECT * FROM rule_charge_evidence
	UNION ALL SELECT * FROM rule_overcharged_month
	UNION ALL SELECT * FROM rule_unassigned_grant_hours
	UNION ALL SELECT * FROM rule_outside_grant_period
	UNION ALL SELECT * FROM rule_investigator_cap
	UNION ALL SELECT * FROM rule_teaching_excess
)
SELECT 'finding', ROW(f.rule, f.severity, f.person_id, f.grant_ref, f.period_start, f.period_end,
                      round(f.hours, 2), f.detail)::rule_finding,
       NULL::rule_timesheet_check, NULL::rule_person_month, NULL::rule_person_month_grant,
       NULL::rule_cap_year, NULL::rule_cap_year_grant
  FROM findings f
UNION ALL
SELECT 'timesheet_check', NULL,
       ROW(t.timesheet_id, t.person_id, t.m, t.period_start, t.period_end, t.version, t.submitted_at,
           t.total_hours, t.decision, t.decided_by, t.decided_at, t.deadline, t.auth_day, t.is_auth,
           t.on_time, t.valid, t.overdue, t.due)::rule_timesheet_check,
       NULL, NULL, NULL, NULL
  FROM timesheet_checks t
UNION ALL
SELECT 'person_month', NULL, NULL, ROW(r.person_id, r.m, r.n_ts, r.required)::rule_person_month,
       NULL, NULL, NULL
  FROM person_months r
 WHERE r.n_ts > 0 OR r.required
UNION ALL
SELECT 'person_month_grant', NULL, NULL, NULL,
       ROW(r.person_id, r.m, r.grant_ref, r.recorded, r.charged)::rule_person_month_grant, NULL, NULL
  FROM person_month_grants r
UNION ALL
SELECT 'cap_year', NULL, NULL, NULL, NULL,
       ROW(c.person_id, c.ys, c.ye, c.ndays, c.employed_days, c.fte, c.cap, c.n, c.h_all, c.h_ended,
           c.projection, c.finding,
           round(c.excess, 2))::rule_cap_year,
       NULL
  FROM cap_year_totals c
UNION ALL
SELECT 'cap_year_grant', NULL, NULL, NULL, NULL, NULL,
       ROW(h.person_id, h.ys, h.grant_ref, h.source, h.h_all, h.h_ended)::rule_cap_year_grant
  FROM cap_year_grant_hours h
$$;

-- Every finding as of p_as_of (NULL: today) for the people of p_people
-- (NULL: everyone, or those whose person_id is in [p_from, p_to), either
-- bound NULL for none): the stage "finding" of effort_rule_stages.
CREATE FUNCTION audit_findings(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL,
	p_from text DEFAULT NULL, p_to text DEFAULT NULL)
RETURNS TABLE (rule text, severity text, person_id text, grant_ref text,
               period_start date, period_end date, hours numeric, detail text)
LANGUAGE sql STABLE AS $$
	SELECT (s.finding).* FROM effort_rule_stages(p_as_of, p_params, p_people, p_from, p_to) s
	 WHERE s.stage = 'finding'
$$;

-- The findings of p_people, or of everyone in [p_from, p_to) (p_people
-- NULL), as a part of an evaluation that PostgreSQL may run in a parallel
-- worker (audit_findings_halves: two parts, one per core; the rules of
-- one person read no other person's rows).  Not inlined: each part is
-- planned in its worker, everyone's as the evaluation of an organisation
-- of its size, a scope's with the plan_cache_mode audit_sweep set (a
-- worker starts with its leader's settings).  (The cost tells the planner
-- that a part is worth a worker; it must set no setting, which a worker
-- may not.)
CREATE FUNCTION audit_findings_part(p_as_of date, p_params jsonb, p_people text[],
	p_from text, p_to text)
RETURNS SETOF rule_finding LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 10000 COST 100000000 AS $$
BEGIN
	-- (A scope's part passes no range: planned generic, as a large
	-- re-audit's is, p_from and p_to would be parameters, and the range
	-- conditions on the latest versions, grant entries and charges that a
	-- half of everyone reads by then planned as if a range might come:
	-- 33 s for 1,000 people instead of 0.5 s.  As constants they fold.)
	IF p_people IS NOT NULL THEN
		RETURN QUERY SELECT * FROM audit_findings(p_as_of, p_params, p_people);
	ELSE
		RETURN QUERY SELECT * FROM audit_findings(p_as_of, p_params, NULL, p_from, p_to);
	END IF;
END
$$;

-- The findings of p_people (NULL: everyone), evaluated in two halves side
-- by side (two parallel workers, or this backend and one, or this backend
-- alone when no worker is free): everyone's split by person_id at the
-- median person, a scope's into its first and second half; in one part
-- when parallel query is switched off (max_parallel_workers_per_gather =
-- 0), since two halves of everyone in one process cost about a fifth more
-- than one pass.  (RETURN QUERY: a query that plpgsql runs for a value or
-- INTO stops after its first rows and is never run in parallel.)
CREATE FUNCTION audit_findings_halves(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL)
RETURNS SETOF rule_finding LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_two boolean := current_setting('max_parallel_workers_per_gather')::int > 0;
	-- everyone: the first person of the second half (NULL: nobody, one part)
	v_split text := CASE WHEN v_two AND p_people IS NULL THEN
	                   (SELECT p.person_id FROM people p ORDER BY p.person_id
	                     OFFSET (SELECT count(*) / 2 FROM people) LIMIT 1) END;
	-- a scope: each person once, and the size of its second half (0: one part)
	v_scope text[] := ARRAY(SELECT DISTINCT p FROM unnest(p_people) p WHERE p IS NOT NULL);
	v_second int := CASE WHEN v_two THEN cardinality(v_scope) / 2 ELSE 0 END;
	v_first int := cardinality(v_scope) - v_second;
BEGIN
	IF p_people IS NULL THEN
		RETURN QUERY
			SELECT * FROM audit_findings_part(p_as_of, p_params, NULL, NULL, v_split)
			UNION ALL
			SELECT * FROM audit_findings_part(p_as_of, p_params, NULL, v_split, NULL)
			 WHERE v_split IS NOT NULL;
	ELSE
		RETURN QUERY
			SELECT * FROM audit_findings_part(p_as_of, p_params, v_scope[1:v_first], NULL, NULL)
			UNION ALL
			SELECT * FROM audit_findings_part(p_as_of, p_params, v_scope[v_first + 1:], NULL, NULL)
			 WHERE v_second > 0;
	END IF;
END
$$;
