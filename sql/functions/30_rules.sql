-- The audit rules of RULES.md, evaluated for the whole organisation (or the
-- people of p_people) in one set-based pass.  docs/rules.md explains every
-- rule, its UKRI clause and the readings taken where RULES.md is ambiguous.
--
-- audit_findings(as_of, params, people) returns one row per finding; it only
-- reads.  audit_sweep (40_audit.sql) stores the result in findings.
--
-- CTE map (names quoted in docs/rules.md):
--   prm          the rules settings of p_params, with their defaults
--   pp           people in scope, their contracted weekly hours
--   ts           latest version of every timesheet of those people
--   ent          entries of those timesheets
--   tmonth       per person and month: timesheets, total hours, covered weekdays
--   req_month    months in which a person must keep timesheets (RGC 4.6)
--   r_missing    timesheet_missing
--   r_incomplete hours_incomplete
--   r_auth       authorisation_overdue / _due / _late / _invalid
--   chg, rec     charged and recorded grant hours per person, grant, month
--   r_charge     activity_missing / unevidenced_charge
--   r_overcharge overcharged_month
--   r_unassigned unassigned_grant_hours
--   r_outside    outside_grant_period
--   capyear      investigators' cap years, caps, grant hours, projection
--   r_cap        investigator_cap_exceeded / investigator_cap_projected
--   r_teach      teaching_excess

DROP FUNCTION IF EXISTS audit_findings(date, jsonb, text[]);
CREATE FUNCTION audit_findings(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL)
RETURNS TABLE (rule text, severity text, person_id text, grant_ref text,
               period_start date, period_end date, hours numeric, detail text)
LANGUAGE sql STABLE AS $$
WITH prm0 AS (
	SELECT coalesce(nullif(p_params->>'timezone', ''), 'Europe/London')       AS tz,
	       coalesce((p_params->>'standard_weekly_hours')::numeric, 37.5)      AS swh,
	       coalesce((p_params->>'investigator_annual_hours')::numeric, 1650)  AS iah,
	       coalesce((p_params->>'authorisation_months')::int, 2)              AS am,
	       coalesce((p_params->>'cap_year_start_month')::int, 8)              AS csm,
	       coalesce((p_params->>'teaching_weekly_hours')::numeric, 6)         AS twh,
	       coalesce((p_params->>'all_hours_tolerance')::numeric, 0.5)         AS aht,
	       coalesce((p_params->>'charge_tolerance')::numeric, 0.5)            AS cht,
	       coalesce((p_params->>'reminder_days')::int, 14)                    AS rd
),
prm AS (
	SELECT prm0.*,
	       coalesce(p_as_of, (now() AT TIME ZONE prm0.tz)::date)              AS as_of,
	       -- the last day of the last ended month (months ending before as_of)
	       (effort_month_start(coalesce(p_as_of, (now() AT TIME ZONE prm0.tz)::date)) - 1) AS last_ended
	  FROM prm0
),
pp AS (
	SELECT p.person_id, p.fte, p.employment_start AS es, p.employment_end AS ee,
	       p.fte * prm.swh AS weekly
	  FROM people p, prm
	 WHERE p_people IS NULL OR p.person_id = ANY (p_people)
),
-- (current_timesheets written out: the latest version is the one no
-- higher version of the same person and period exists for, which the
-- planner runs as an anti-join for everyone or as index probes for a few.)
ts AS (
	SELECT c.timesheet_id, c.person_id, c.period_start, c.period_end,
	       c.submitted_at, c.total_hours, d.decision, d.decided_by, d.decided_at,
	       effort_month_start(c.period_start) AS m,
	       effort_month_end(c.period_start) AS me
	  FROM timesheets c
	  JOIN pp ON pp.person_id = c.person_id
	  LEFT JOIN LATERAL (SELECT d.decision, d.decided_by, d.decided_at
	                       FROM timesheet_decisions d
	                      WHERE d.timesheet_id = c.timesheet_id
	                      ORDER BY d.decision_id DESC LIMIT 1) d ON true
	 WHERE NOT EXISTS (SELECT 1 FROM timesheets n
	                    WHERE n.person_id = c.person_id AND n.period_start = c.period_start
	                      AND n.period_end = c.period_end AND n.version > c.version)
),
-- Only the grant and teaching entries: no rule reads the others.
ent AS (
	SELECT ts.person_id, ts.m, ts.me, ts.period_start, ts.period_end,
	       e.kind, e.activity, e.hours
	  FROM ts JOIN timesheet_entries e ON e.timesheet_id = ts.timesheet_id
	 WHERE e.kind IN ('grant', 'teaching')
),
-- Merge overlapping timesheet periods of a month into islands so that a day
-- covered twice is counted once.  Most months have one timesheet: tm1 takes
-- those as they are and only the others (tm_multi) go through the windows.
tm1 AS (
	SELECT ts.person_id, ts.m, ts.me, sum(ts.total_hours) AS total, count(*) AS n,
	       min(ts.period_start) AS s, max(ts.period_end) AS e
	  FROM ts GROUP BY ts.person_id, ts.m, ts.me
),
ts_isl AS (
	SELECT x.person_id, x.m, min(x.period_start) AS s, max(x.period_end) AS e
	  FROM (SELECT y.*, sum(CASE WHEN y.prev_end IS NULL OR y.period_start > y.prev_end
	                            THEN 1 ELSE 0 END)
	                       OVER (PARTITION BY y.person_id, y.m ORDER BY y.period_start, y.period_end
	                             ROWS UNBOUNDED PRECEDING) AS grp
	          FROM (SELECT ts.person_id, ts.m, ts.period_start, ts.period_end,
	                       max(ts.period_end) OVER (PARTITION BY ts.person_id, ts.m
	                             ORDER BY ts.period_start, ts.period_end
	                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
	                  FROM ts
	                  JOIN tm1 ON tm1.person_id = ts.person_id AND tm1.m = ts.m AND tm1.n > 1) y) x
	 GROUP BY x.person_id, x.m, x.grp
	UNION ALL
	SELECT tm1.person_id, tm1.m, tm1.s, tm1.e FROM tm1 WHERE tm1.n = 1
),
tmonth AS (
	SELECT t.person_id, t.m, t.me, t.total, coalesce(c.covered_wd, 0) AS covered_wd
	  FROM tm1 t
	  LEFT JOIN (SELECT i.person_id, i.m,
	                    sum(effort_weekdays(greatest(i.s, pp.es), least(i.e, coalesce(pp.ee, i.e)))) AS covered_wd
	               FROM ts_isl i JOIN pp ON pp.person_id = i.person_id
	              GROUP BY i.person_id, i.m) c
	    ON c.person_id = t.person_id AND c.m = t.m
),
asg AS (
	SELECT a.person_id, a.grant_ref, a.start_date, a.end_date, a.role, a.cost_type,
	       a.fte_share, a.estimated_hours_per_year
	  FROM assignments a JOIN pp ON pp.person_id = a.person_id
),
-- ---------------------------------------------------------------- timesheet_missing
-- Ended months (inside the employment) overlapping a DI or EXC assignment.
req_cand AS (
	SELECT DISTINCT a.person_id, g.m::date AS m
	  FROM asg a
	  JOIN pp ON pp.person_id = a.person_id
	  CROSS JOIN prm
	  CROSS JOIN LATERAL generate_series(
	        effort_month_start(greatest(a.start_date, pp.es))::timestamp,
	        effort_month_start(least(coalesce(a.end_date, 'infinity'::date),
	                                 coalesce(pp.ee, 'infinity'::date),
	                                 prm.last_ended))::timestamp,
	        interval '1 month') AS g(m)
	 WHERE a.cost_type IN ('DI', 'EXC')
),
-- ... unless a single assignment of 1.0 FTE covers every employed day of the
-- month and no other assignment overlaps it.
req_month AS (
	SELECT r.person_id, r.m, effort_month_end(r.m) AS me
	  FROM req_cand r
	  JOIN pp ON pp.person_id = r.person_id
	  JOIN asg a ON a.person_id = r.person_id
	            AND a.start_date <= effort_month_end(r.m)
	            AND coalesce(a.end_date, 'infinity'::date) >= r.m
	 GROUP BY r.person_id, r.m, pp.es, pp.ee
	HAVING NOT (count(*) = 1
	            AND bool_and(a.fte_share = 1
	                         AND a.start_date <= greatest(r.m, pp.es)
	                         AND coalesce(a.end_date, 'infinity'::date)
	                             >= least(effort_month_end(r.m), coalesce(pp.ee, 'infinity'::date))))
),
r_missing AS (
	SELECT 'timesheet_missing'::text AS rule,
	       CASE WHEN prm.as_of > effort_deadline(q.me, prm.am) THEN 'violation' ELSE 'warning' END AS severity,
	       q.person_id, NULL::text AS grant_ref, q.m AS period_start, q.me AS period_end,
	       pp.weekly * q.uncovered / 5 AS hours,
	       format('%s: %s of %s weekdays not covered by a timesheet (%s h contracted); authorisation deadline %s',
	              effort_month_label(q.m), q.uncovered, q.wd, effort_fmt_hours(pp.weekly * q.uncovered / 5),
	              effort_deadline(q.me, prm.am)) AS detail
	  FROM (SELECT r.person_id, r.m, r.me, w.wd, w.wd - coalesce(t.covered_wd, 0) AS uncovered
	          FROM req_month r
	          JOIN pp ON pp.person_id = r.person_id
	          CROSS JOIN LATERAL (SELECT effort_weekdays(greatest(r.m, pp.es),
	                                     least(r.me, coalesce(pp.ee, r.me))) AS wd) w
	          LEFT JOIN tmonth t ON t.person_id = r.person_id AND t.m = r.m) q
	  JOIN pp ON pp.person_id = q.person_id
	  CROSS JOIN prm
	 WHERE q.uncovered > 0
),
-- ---------------------------------------------------------------- hours_incomplete
r_incomplete AS (
	SELECT 'hours_incomplete'::text, 'violation'::text, t.person_id, NULL::text, t.m, t.me,
	       pp.weekly * t.covered_wd / 5 - t.total,
	       format('%s: %s h recorded of %s h contracted', effort_month_label(t.m),
	              effort_fmt_hours(t.total), effort_fmt_hours(pp.weekly * t.covered_wd / 5))
	  FROM tmonth t
	  JOIN pp ON pp.person_id = t.person_id
	  CROSS JOIN prm
	 WHERE t.me < prm.as_of
	   AND pp.weekly * t.covered_wd / 5 - t.total > prm.aht
),
-- ---------------------------------------------------------------- authorisation_*
auth AS (
	SELECT ts.*, effort_deadline(ts.period_end, prm.am) AS deadline,
	       ts.decision IS NOT DISTINCT FROM 'authorised' AS is_auth,
	       CASE WHEN ts.decision = 'authorised' THEN (ts.decided_at AT TIME ZONE prm.tz)::date END AS auth_day,
	       prm.as_of, prm.rd
	  FROM ts CROSS JOIN prm
),
r_auth AS (
	SELECT 'authorisation_overdue'::text, 'violation'::text, a.person_id, NULL::text,
	       a.period_start, a.period_end, a.total_hours,
	       format('Timesheet %s to %s (%s h) not authorised; deadline %s has passed',
	              a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.deadline)
	  FROM auth a
	 WHERE NOT a.is_auth AND a.as_of > a.deadline
	UNION ALL
	SELECT 'authorisation_due', 'warning', a.person_id, NULL,
	       a.period_start, a.period_end, a.total_hours,
	       format('Timesheet %s to %s (%s h) not authorised; deadline %s is in %s days',
	              a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.deadline,
	              a.deadline - a.as_of)
	  FROM auth a
	 WHERE NOT a.is_auth AND a.as_of <= a.deadline AND a.deadline - a.as_of <= a.rd
	UNION ALL
	SELECT 'authorisation_late', 'violation', a.person_id, NULL,
	       a.period_start, a.period_end, a.total_hours,
	       format('Timesheet %s to %s (%s h) authorised by %s on %s, after the deadline %s',
	              a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.decided_by,
	              a.auth_day, a.deadline)
	  FROM auth a
	 WHERE a.is_auth AND a.auth_day > a.deadline
	UNION ALL
	SELECT 'authorisation_invalid', 'violation', a.person_id, NULL,
	       a.period_start, a.period_end, a.total_hours,
	       format('Timesheet %s to %s (%s h) authorised by %s on %s: %s',
	              a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.decided_by,
	              a.auth_day,
	              concat_ws('; ',
	                  CASE WHEN a.decided_by = a.person_id THEN 'self-authorised'
	                       WHEN NOT a.may THEN 'not the line manager or an active delegate' END,
	                  CASE WHEN a.auth_day <= a.period_end THEN 'signed on or before the period end' END,
	                  CASE WHEN a.decided_at < a.submitted_at THEN 'before the timesheet was submitted' END))
	  FROM (SELECT x.*,
	               -- effort_may_authorise(decided_by, person_id, decided_at, auth_day)
	               -- (15_access.sql), written out set-based: the line manager in
	               -- force at decided_at (else the earliest known), or a delegate
	               -- of theirs on the local day; never the person themself.
	               x.decided_by <> x.person_id
	               AND (coalesce(x.lm = x.decided_by, false)
	                    OR EXISTS (SELECT 1 FROM delegations d
	                                WHERE d.manager_id = x.lm AND d.delegate_id = x.decided_by
	                                  AND x.auth_day BETWEEN d.start_date AND d.end_date))
	               AS may
	          FROM (SELECT auth.*,
	                       -- coalesce(line manager of the history row in force at
	                       -- decided_at, that of the earliest row): each history row
	                       -- is valid until the next; the earliest also before itself.
	                       coalesce(h.line_manager_id, h.first_lm) AS lm
	                  FROM auth
	                  LEFT JOIN (SELECT h.person_id, h.line_manager_id, h.valid_from,
	                                    lead(h.valid_from) OVER w AS valid_to,
	                                    row_number() OVER w = 1 AS is_first,
	                                    first_value(h.line_manager_id) OVER w AS first_lm
	                               FROM line_manager_history h
	                               JOIN pp ON pp.person_id = h.person_id
	                             WINDOW w AS (PARTITION BY h.person_id ORDER BY h.valid_from)) h
	                    ON h.person_id = auth.person_id
	                   AND (h.valid_from <= auth.decided_at OR h.is_first)
	                   AND (h.valid_to IS NULL OR auth.decided_at < h.valid_to)
	                 WHERE auth.is_auth) x) a
	 WHERE NOT coalesce(a.may, false) OR a.auth_day <= a.period_end OR a.decided_at < a.submitted_at
),
-- ---------------------------------------------------------------- charges
rec AS (
	SELECT ent.person_id, ent.m, ent.activity AS grant_ref, sum(ent.hours) AS recorded
	  FROM ent
	 WHERE ent.kind = 'grant' AND ent.hours > 0
	 GROUP BY ent.person_id, ent.m, ent.activity
),
chg AS (
	SELECT c.person_id, c.grant_ref, c.month AS m, effort_month_end(c.month) AS me,
	       coalesce(c.hours,
	                c.fte_fraction * effort_contracted_hours(pp.fte, prm.swh, c.month,
	                                       effort_month_end(c.month), pp.es, pp.ee)) AS charged
	  FROM charges c
	  JOIN pp ON pp.person_id = c.person_id
	  CROSS JOIN prm
	 WHERE effort_month_end(c.month) < prm.as_of
),
r_charge AS (
	SELECT CASE WHEN r.recorded IS NULL THEN 'activity_missing' ELSE 'unevidenced_charge' END,
	       'violation'::text, c.person_id, c.grant_ref, c.m, c.me,
	       c.charged - coalesce(r.recorded, 0),
	       CASE WHEN r.recorded IS NULL
	            THEN format('%s: %s h charged to %s, no hours recorded on it',
	                        effort_month_label(c.m), effort_fmt_hours(c.charged), c.grant_ref)
	            ELSE format('%s: %s h charged to %s, %s h recorded',
	                        effort_month_label(c.m), effort_fmt_hours(c.charged), c.grant_ref,
	                        effort_fmt_hours(r.recorded)) END
	  FROM chg c
	  LEFT JOIN rec r ON r.person_id = c.person_id AND r.m = c.m AND r.grant_ref = c.grant_ref
	  CROSS JOIN prm
	 WHERE (r.recorded IS NULL AND c.charged > 0)
	    OR (r.recorded IS NOT NULL AND c.charged - r.recorded > prm.cht)
),
r_overcharge AS (
	SELECT 'overcharged_month'::text, 'violation'::text, c.person_id, NULL::text, c.m, c.me,
	       c.charged - c.contracted,
	       format('%s: %s h charged across grants of %s h contracted',
	              effort_month_label(c.m), effort_fmt_hours(c.charged), effort_fmt_hours(c.contracted))
	  FROM (SELECT chg.person_id, chg.m, chg.me, sum(chg.charged) AS charged,
	               effort_contracted_hours(pp.fte, prm.swh, chg.m, chg.me, pp.es, pp.ee) AS contracted
	          FROM chg JOIN pp ON pp.person_id = chg.person_id CROSS JOIN prm
	         GROUP BY chg.person_id, chg.m, chg.me, pp.fte, prm.swh, pp.es, pp.ee) c
	 WHERE c.charged > c.contracted
),
-- ---------------------------------------------------------------- grant hours
r_unassigned AS (
	SELECT 'unassigned_grant_hours'::text, 'violation'::text, r.person_id, r.grant_ref, r.m,
	       effort_month_end(r.m), r.recorded,
	       format('%s: %s h recorded on %s%s without an assignment to it',
	              effort_month_label(r.m), effort_fmt_hours(r.recorded), r.grant_ref,
	              CASE WHEN NOT EXISTS (SELECT 1 FROM grants g WHERE g.grant_ref = r.grant_ref)
	                   THEN ' (unknown grant)' ELSE '' END)
	  FROM rec r CROSS JOIN prm
	 WHERE effort_month_end(r.m) < prm.as_of
	   AND NOT EXISTS (SELECT 1 FROM asg a
	                    WHERE a.person_id = r.person_id AND a.grant_ref = r.grant_ref
	                      AND a.start_date <= effort_month_end(r.m)
	                      AND coalesce(a.end_date, 'infinity'::date) >= r.m)
),
r_outside AS (
	SELECT 'outside_grant_period'::text, 'violation'::text, e.person_id, e.activity, e.m, e.me,
	       sum(e.hours),
	       format('%s: %s h recorded on %s outside its grant period %s to %s',
	              effort_month_label(e.m), effort_fmt_hours(sum(e.hours)), e.activity,
	              g.start_date, g.end_date)
	  FROM ent e
	  JOIN grants g ON g.grant_ref = e.activity
	  CROSS JOIN prm
	 WHERE e.kind = 'grant' AND e.hours > 0 AND e.me < prm.as_of
	   AND (e.period_end < g.start_date OR e.period_start > g.end_date)
	 GROUP BY e.person_id, e.activity, e.m, e.me, g.start_date, g.end_date
),
-- ---------------------------------------------------------------- investigator cap
-- Cap years (started on or before as_of) overlapping a pi / co_i assignment.
capyear0 AS (
	SELECT DISTINCT a.person_id, g.ys::date AS ys
	  FROM asg a CROSS JOIN prm
	  CROSS JOIN LATERAL generate_series(
	        effort_cap_year_start(a.start_date, prm.csm)::timestamp,
	        effort_cap_year_start(least(coalesce(a.end_date, prm.as_of), prm.as_of), prm.csm)::timestamp,
	        interval '1 year') AS g(ys)
	 WHERE a.role IN ('pi', 'co_i')
),
capyear1 AS (
	SELECT c.person_id, c.ys, effort_cap_year_end(c.ys) AS ye,
	       effort_days(c.ys, effort_cap_year_end(c.ys)) AS ndays,
	       -- last day of the ended months of the cap year (< ys when none)
	       least(effort_cap_year_end(c.ys), prm.last_ended) AS pe,
	       prm.iah * pp.fte
	         * effort_days(greatest(c.ys, pp.es), least(effort_cap_year_end(c.ys), coalesce(pp.ee, 'infinity'::date)))
	         / effort_days(c.ys, effort_cap_year_end(c.ys)) AS cap
	  FROM capyear0 c JOIN pp ON pp.person_id = c.person_id CROSS JOIN prm
),
gmonth AS (
	SELECT ent.person_id, ent.m, ent.me, sum(ent.hours) AS gh
	  FROM ent WHERE ent.kind = 'grant'
	 GROUP BY ent.person_id, ent.m, ent.me
),
cap_ts AS (
	SELECT c.person_id, c.ys, sum(g.gh) AS h_all,
	       sum(g.gh) FILTER (WHERE g.me <= c.pe) AS h_ended
	  FROM capyear1 c
	  JOIN gmonth g ON g.person_id = c.person_id AND g.m BETWEEN c.ys AND c.ye
	 GROUP BY c.person_id, c.ys
),
cap_da AS (
	SELECT c.person_id, c.ys,
	       sum(coalesce(a.estimated_hours_per_year, 0)
	           * effort_days(greatest(a.start_date, c.ys),
	                         least(coalesce(a.end_date, 'infinity'::date), c.ye))
	           / c.ndays) AS d_all,
	       sum(coalesce(a.estimated_hours_per_year, 0)
	           * effort_days(greatest(a.start_date, c.ys),
	                         least(coalesce(a.end_date, 'infinity'::date), c.pe))
	           / c.ndays) AS d_ended
	  FROM capyear1 c
	  JOIN asg a ON a.person_id = c.person_id AND a.cost_type = 'DA'
	            AND a.start_date <= c.ye
	            AND coalesce(a.end_date, 'infinity'::date) >= c.ys
	 GROUP BY c.person_id, c.ys
),
capyear AS (
	SELECT c.*, greatest(effort_months_between(c.ys, c.pe + 1), 0) AS n,
	       coalesce(t.h_all, 0) + coalesce(d.d_all, 0) AS h_all,
	       coalesce(t.h_ended, 0) + coalesce(d.d_ended, 0) AS h_ended
	  FROM capyear1 c
	  LEFT JOIN cap_ts t ON t.person_id = c.person_id AND t.ys = c.ys
	  LEFT JOIN cap_da d ON d.person_id = c.person_id AND d.ys = c.ys
),
r_cap AS (
	SELECT 'investigator_cap_exceeded'::text, 'violation'::text, c.person_id, NULL::text,
	       c.ys, c.ye, c.h_all - c.cap,
	       format('Cap year %s to %s: %s grant h against a cap of %s h',
	              c.ys, c.ye, effort_fmt_hours(c.h_all), effort_fmt_hours(c.cap))
	  FROM capyear c
	 WHERE c.h_all > c.cap
	UNION ALL
	SELECT 'investigator_cap_projected', 'warning', c.person_id, NULL,
	       c.ys, c.ye, c.h_ended / c.n * 12 - c.cap,
	       format('Cap year %s to %s: %s grant h in %s ended months project to %s h against a cap of %s h',
	              c.ys, c.ye, effort_fmt_hours(c.h_ended), c.n,
	              effort_fmt_hours(c.h_ended / c.n * 12), effort_fmt_hours(c.cap))
	  FROM capyear c
	 WHERE c.h_all <= c.cap AND c.n BETWEEN 1 AND 11
	   AND c.h_ended / c.n * 12 > c.cap
),
-- ---------------------------------------------------------------- teaching_excess
rs_asg AS (
	SELECT a.person_id, a.grant_ref, a.start_date,
	       coalesce(a.end_date, g.end_date) AS end_eff
	  FROM asg a LEFT JOIN grants g ON g.grant_ref = a.grant_ref
	 WHERE a.role IN ('researcher', 'fellow')
),
teach_month AS (
	SELECT ent.person_id, ent.m, sum(ent.hours) AS taught
	  FROM ent WHERE ent.kind = 'teaching'
	 GROUP BY ent.person_id, ent.m
),
r_teach AS (
	SELECT 'teaching_excess'::text,
	       CASE WHEN x.end_eff < prm.as_of THEN 'violation' ELSE 'warning' END,
	       x.person_id, x.grant_ref, x.start_date, coalesce(x.end_eff, date '9999-12-31'),
	       x.taught - x.lim,
	       format('%s h teaching in %s months with timesheets (%s days) on %s against a limit of %s h',
	              effort_fmt_hours(x.taught), x.nmonths, x.ndays, x.grant_ref, effort_fmt_hours(x.lim))
	  FROM (SELECT a.person_id, a.grant_ref, a.start_date, a.end_eff,
	               count(*) AS nmonths,
	               sum(effort_days(t.m, t.me)) AS ndays,
	               coalesce(sum(tm.taught), 0) AS taught,
	               prm.twh * pp.fte * sum(effort_days(t.m, t.me)) / 7 AS lim
	          FROM rs_asg a
	          JOIN pp ON pp.person_id = a.person_id
	          CROSS JOIN prm
	          JOIN tmonth t ON t.person_id = a.person_id
	                       AND t.me < prm.as_of
	                       AND t.m <= coalesce(a.end_eff, 'infinity'::date)
	                       AND t.me >= a.start_date
	          LEFT JOIN teach_month tm ON tm.person_id = t.person_id AND tm.m = t.m
	         GROUP BY a.person_id, a.grant_ref, a.start_date, a.end_eff, prm.twh, pp.fte) x
	  CROSS JOIN prm
	 WHERE x.taught > x.lim
),
allf AS (
	SELECT * FROM r_missing
	UNION ALL SELECT * FROM r_incomplete
	UNION ALL SELECT * FROM r_auth
	UNION ALL SELECT * FROM r_charge
	UNION ALL SELECT * FROM r_overcharge
	UNION ALL SELECT * FROM r_unassigned
	UNION ALL SELECT * FROM r_outside
	UNION ALL SELECT * FROM r_cap
	UNION ALL SELECT * FROM r_teach
)
SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start, f.period_end,
       round(f.hours, 2), f.detail
  FROM allf f
$$;
