-- The audit rules of RULES.md, evaluated for the whole organisation (or the
-- people of p_people) in one set-based pass.  docs/rules.md explains every
-- rule, its UKRI clause and the readings taken where RULES.md is ambiguous.
--
-- audit_findings(as_of, params, people) returns one row per finding; it only
-- reads.  audit_sweep (40_audit.sql) stores the result in findings.
--
-- CTE map (names quoted in docs/rules.md; the older names it also quotes
-- are given in brackets):
--   prm          the rules settings of p_params, with their defaults
--   pp           people in scope, their contracted weekly hours
--   ts           latest version of every timesheet of those people, its
--                latest decision
--   cal          the months of the data: last day, days, weekdays,
--                deadline, cap year
--   pm           per person and month: the timesheets (total hours, days
--                covered), teaching hours, the assignments overlapping it
--                [tmonth, ts_isl, req_cand, teach_month]
--   pmg          per person, month and grant: hours recorded, charged
--                [rec, chg, gmonth]
--   r_missing    timesheet_missing [req_month]
--   r_incomplete hours_incomplete
--   auth, r_auth authorisation_overdue / _due / _late / _invalid
--   r_charge     activity_missing / unevidenced_charge
--   r_overcharge overcharged_month
--   r_unassigned unassigned_grant_hours
--   r_outside    outside_grant_period
--   capyear      investigators' cap years, caps, grant hours, projection
--                (capyear0, capyear1, cap_ts, cap_da)
--   r_cap        investigator_cap_exceeded / investigator_cap_projected
--   r_teach      teaching_excess (rs_asg)
--
-- Speed (docs/performance.md): each big set (timesheets, entries, charges,
-- assignment months) is read once, and the sets are combined by
-- aggregating them together (pm, pmg: UNION ALL, then GROUP BY) rather than
-- by joining derived sets, for which the planner has no statistics; the
-- calendar helpers run once per month (cal), not once per row, and the
-- monthly hours are summed as integer hundredths (exact; a numeric sum
-- keeps a state of its own in each of the 100,000s of groups).  The same
-- query serves the whole organisation (hash joins and aggregates) and a
-- few people (index probes, also as a generic plan: see audit_sweep).

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
-- (Two branches, not one OR: a generic plan (audit_sweep) cannot probe
-- the index for "everyone or these", and would read every person.  The
-- second branch's ORs are always true when it runs; they only make a
-- generic plan estimate it at next to no rows (a full sweep's plan, made
-- for p_people NULL, folds them away).  Their columns' conditions are
-- ones the statistics say no row meets (fte > 0 is only a CHECK), not
-- IS NULL of a NOT NULL column, which a planner may fold to false.)
pp AS (
	SELECT p.person_id, p.fte, p.employment_start AS es, p.employment_end AS ee,
	       p.fte * prm.swh AS weekly
	  FROM people p, prm
	 WHERE p.person_id = ANY (p_people)
	UNION ALL
	SELECT p.person_id, p.fte, p.employment_start AS es, p.employment_end AS ee,
	       p.fte * prm.swh AS weekly
	  FROM people p, prm
	 WHERE p_people IS NULL
	   AND (p_people IS NULL OR p.fte < 0) AND (p_people IS NULL OR p.employment_start < DATE '0001-01-01')
),
-- (current_timesheets written out: the latest version is the one no
-- higher version of the same person and period exists for (only versions
-- above 1 can be higher), its decision the one no later decision of the
-- version exists for; the planner runs both as hash anti-joins for
-- everyone or as index probes for a few.)  With the person's employment
-- and weekly hours.
ts AS (
	SELECT c.timesheet_id, c.person_id, c.period_start, c.period_end,
	       c.submitted_at, c.total_hours, d.decision, d.decided_by, d.decided_at,
	       d.recorded_at AS decision_recorded_at,
	       effort_month_start(c.period_start) AS m, pp.es, pp.ee, pp.weekly
	  FROM timesheets c
	  JOIN pp ON pp.person_id = c.person_id
	  LEFT JOIN (SELECT d.timesheet_id, d.decision, d.decided_by, d.decided_at, d.recorded_at
	               FROM timesheet_decisions d
	              WHERE NOT EXISTS (SELECT 1 FROM timesheet_decisions n
	                                 WHERE n.timesheet_id = d.timesheet_id
	                                   AND n.decision_id > d.decision_id)) d
	    ON d.timesheet_id = c.timesheet_id
	 WHERE NOT EXISTS (SELECT 1 FROM timesheets n
	                    WHERE n.person_id = c.person_id AND n.period_start = c.period_start
	                      AND n.period_end = c.period_end AND n.version > c.version
	                      AND n.version > 1)
),
-- Every month from the first month of a timesheet or of an assignment
-- (inside the employment) in scope to the last month of a timesheet or
-- last_ended: every month of a timesheet and every month someone may have
-- to keep timesheets for; charges may fall outside it (their months'
-- values are then computed by the helpers).  Per month m: its last day me,
-- days nd, weekdays wd (wdmask: bit i set when day m + i is a weekday,
-- Mon-Fri as in effort_weekdays), dl = effort_deadline(me, am) and ys,
-- the start of its cap year.  (The months are unnested from an array so
-- that the planner takes cal for the handful of rows it is; the joins to
-- it are LEFT JOINs so that they keep the other side's row count.)
cal AS (
	SELECT g.m, x.me, effort_days(g.m, x.me) AS nd, effort_weekdays(g.m, x.me) AS wd,
	       (SELECT bit_or(1::bigint << (d.d::date - g.m))
	          FROM generate_series(g.m::timestamp, x.me::timestamp, interval '1 day') AS d(d)
	         WHERE extract(isodow FROM d.d) < 6) AS wdmask,
	       effort_deadline(x.me, prm.am) AS dl, effort_cap_year_start(g.m, prm.csm) AS ys
	  FROM prm
	 CROSS JOIN LATERAL (SELECT min(ts.m) AS lo, max(ts.m) AS hi FROM ts) t
	 CROSS JOIN LATERAL unnest(ARRAY(
	        SELECT s.m::date
	          FROM generate_series(
	                least(t.lo, (SELECT effort_month_start(min(greatest(a.start_date, pp.es)))
	                               FROM assignments a JOIN pp ON pp.person_id = a.person_id))::timestamp,
	                greatest(t.hi, prm.last_ended)::timestamp,
	                interval '1 month') AS s(m))) AS g(m)
	 CROSS JOIN LATERAL (SELECT effort_month_end(g.m) AS me) x
),
-- Per person and month, from three kinds of rows:
--   the month's timesheets: n_ts, total (their total hours) and mask, the
--     days they cover inside the employment (bit i: day m + i), a day
--     covered twice counted once;
--   its teaching entries: taught;
--   the assignments overlapping the month, for the ended months inside the
--     employment (timesheet_missing, RGC 4.6): n_asg, di (one of them is
--     DI or EXC), one_full (each is of 1.0 FTE and covers every employed
--     day of the month).  Each assignment's months are those of
--     [greatest(start, employment start), least(end, employment end,
--     last_ended)]: within those bounds an assignment counts for a month
--     exactly when it overlaps the calendar month, whatever its cost type.
pm AS (
	SELECT x.person_id, x.m, x.es, x.ee, x.weekly,
	       count(x.total) AS n_ts, sum(x.total) * 0.01 AS total, bit_or(x.mask) AS mask,
	       sum(x.taught) * 0.01 AS taught,
	       count(x.di) AS n_asg, bool_or(x.di) AS di, bool_and(x.one_full) AS one_full
	  FROM (SELECT ts.person_id, ts.m, ts.es, ts.ee, ts.weekly, (ts.total_hours * 100)::int AS total,
	               CASE WHEN least(ts.period_end, coalesce(ts.ee, ts.period_end))
	                         < greatest(ts.period_start, ts.es) THEN 0
	                    ELSE (1::bigint << (least(ts.period_end, coalesce(ts.ee, ts.period_end)) - ts.m + 1))
	                       - (1::bigint << (greatest(ts.period_start, ts.es) - ts.m)) END AS mask,
	               NULL::int AS taught, NULL::boolean AS di, NULL::boolean AS one_full
	          FROM ts
	        UNION ALL
	        SELECT ts.person_id, ts.m, ts.es, ts.ee, ts.weekly, NULL, NULL, (e.hours * 100)::int, NULL, NULL
	          FROM ts
	          JOIN timesheet_entries e ON e.timesheet_id = ts.timesheet_id AND e.kind = 'teaching'
	        UNION ALL
	        SELECT a.person_id, g.m, pp.es, pp.ee, pp.weekly, NULL, NULL, NULL,
	               a.cost_type IN ('DI', 'EXC'),
	               a.fte_share = 1
	               AND a.start_date <= greatest(g.m, pp.es)
	               AND coalesce(a.end_date, 'infinity'::date)
	                   >= least(effort_month_end(g.m), coalesce(pp.ee, 'infinity'::date))
	          FROM assignments_effective a  -- open-ended: to the grant's end
	          JOIN pp ON pp.person_id = a.person_id
	          CROSS JOIN prm
	          CROSS JOIN LATERAL unnest(ARRAY(
	                SELECT generate_series(
	                        effort_month_start(greatest(a.start_date, pp.es))::timestamp,
	                        effort_month_start(least(coalesce(a.end_date, 'infinity'::date),
	                                                 coalesce(pp.ee, 'infinity'::date),
	                                                 prm.last_ended))::timestamp,
	                        interval '1 month')::date)) AS g(m)) x
	 GROUP BY x.person_id, x.m, x.es, x.ee, x.weekly
),
-- Per person, month and grant, from the grant entries of the month's
-- timesheets and the charges of ended months (one at most):
--   recorded  the hours of entries of more than 0 h (NULL: none)
--   gh        all of them (the cap), outside: those of timesheets whose
--             period lies wholly outside the grant's (NULL: none)
--   charged   the charged hours (NULL: no charge), an fte_fraction of the
--             month's contracted hours (effort_contracted_hours: from cal
--             when the employment covers the whole month); ch and cf its
--             hours or fte_fraction as integers (for r_overcharge's sums)
pmg AS (
	SELECT x.person_id, x.m, x.grant_ref,
	       sum(x.hours) FILTER (WHERE x.hours > 0) * 0.01 AS recorded,
	       sum(x.hours) * 0.01 AS gh,
	       sum(x.hours) FILTER (WHERE x.hours > 0 AND x.outside) * 0.01 AS outside,
	       min(x.charged) AS charged, min(x.ch) AS ch, min(x.cf) AS cf, min(x.contracted) AS contracted
	  FROM (SELECT ts.person_id, ts.m, e.activity AS grant_ref, (e.hours * 100)::int AS hours,
	               ts.period_end < g.start_date OR ts.period_start > g.end_date AS outside,
	               NULL::numeric AS charged, NULL::int AS ch, NULL::int AS cf, NULL::numeric AS contracted
	          FROM ts
	          JOIN timesheet_entries e ON e.timesheet_id = ts.timesheet_id AND e.kind = 'grant'
	          LEFT JOIN grants g ON g.grant_ref = e.activity
	        UNION ALL
	        SELECT c.person_id, c.month, c.grant_ref, NULL, NULL,
	               coalesce(c.hours, c.fte_fraction * k.contracted),
	               (c.hours * 100)::int, (c.fte_fraction * 1000000)::int, k.contracted
	          FROM charges c
	          JOIN pp ON pp.person_id = c.person_id
	          CROSS JOIN prm
	          LEFT JOIN cal ON cal.m = c.month
	          CROSS JOIN LATERAL (
	                SELECT coalesce(cal.me, effort_month_end(c.month)) AS me,
	                       CASE WHEN pp.es <= cal.m AND coalesce(pp.ee, cal.me) >= cal.me
	                            THEN pp.weekly * cal.wd / 5
	                            ELSE effort_contracted_hours(pp.fte, prm.swh, c.month,
	                                                         effort_month_end(c.month), pp.es, pp.ee) END
	                       AS contracted) k
	         WHERE k.me < prm.as_of) x
	 GROUP BY x.person_id, x.m, x.grant_ref
),
-- ---------------------------------------------------------------- timesheet_missing
-- The months that need timesheets (req_month): those overlapping a DI or
-- EXC assignment, unless a single assignment of 1.0 FTE covers every
-- employed day of the month and no other assignment overlaps it.  wd: the
-- weekdays of the month inside the employment.
r_missing AS (
	SELECT 'timesheet_missing'::text AS rule,
	       CASE WHEN prm.as_of > q.dl THEN 'violation' ELSE 'warning' END AS severity,
	       q.person_id, NULL::text AS grant_ref, q.m AS period_start, q.me AS period_end,
	       q.weekly * q.uncovered / 5 AS hours,
	       format('%s: %s of %s weekdays not covered by a timesheet (%s h contracted); authorisation deadline %s',
	              effort_month_label(q.m), q.uncovered, q.wd, effort_fmt_hours(q.weekly * q.uncovered / 5),
	              q.dl) AS detail
	  FROM (SELECT r.person_id, r.m, c.me, c.dl, r.weekly, w.wd,
	               w.wd - coalesce(bit_count((r.mask & c.wdmask)::bit(64)), 0) AS uncovered
	          FROM pm r
	          LEFT JOIN cal c ON c.m = r.m
	          CROSS JOIN LATERAL (SELECT CASE WHEN r.es <= c.m AND coalesce(r.ee, c.me) >= c.me THEN c.wd
	                                          ELSE effort_weekdays(greatest(c.m, r.es),
	                                                               least(c.me, coalesce(r.ee, c.me))) END AS wd) w
	         WHERE r.di AND NOT (r.n_asg = 1 AND r.one_full)) q
	  CROSS JOIN prm
	 WHERE q.uncovered > 0
),
-- ---------------------------------------------------------------- hours_incomplete
-- covered_wd: the weekdays covered by the month's timesheets inside the
-- employment.
r_incomplete AS (
	SELECT 'hours_incomplete'::text, 'violation'::text, t.person_id, NULL::text, t.m, c.me,
	       t.weekly * w.covered_wd / 5 - t.total,
	       format('%s: %s h recorded of %s h contracted', effort_month_label(t.m),
	              effort_fmt_hours(t.total), effort_fmt_hours(t.weekly * w.covered_wd / 5))
	  FROM pm t
	  LEFT JOIN cal c ON c.m = t.m
	  CROSS JOIN LATERAL (SELECT bit_count((t.mask & c.wdmask)::bit(64)) AS covered_wd) w
	  CROSS JOIN prm
	 WHERE t.n_ts > 0 AND c.me < prm.as_of
	   AND t.weekly * w.covered_wd / 5 - t.total > prm.aht
),
-- ---------------------------------------------------------------- authorisation_*
-- The timesheets with a finding (the others are dropped here), with their
-- deadline (effort_deadline(period_end, am): cal's dl for a period ending
-- on a month's last day), the local day of the authorisation, whether the
-- authoriser may (lm: the line manager), and the findings:
--   status   authorisation_overdue, _due or _late (one at most)
--   invalid  authorisation_invalid
-- (OFFSET 0 keeps w a subquery of its own: each of its values is computed
-- once, not once for every place it is used.)
auth AS (
	SELECT y.*
	  FROM (SELECT x.*,
	               CASE WHEN NOT x.is_auth AND x.as_of > x.deadline THEN 'authorisation_overdue'
	                    WHEN NOT x.is_auth AND x.as_of <= x.deadline AND x.deadline - x.as_of <= x.rd
	                         THEN 'authorisation_due'
	                    WHEN x.is_auth AND x.auth_day > x.deadline THEN 'authorisation_late' END AS status,
	               x.is_auth
	               AND (NOT coalesce(x.may, false) OR x.auth_day <= x.period_end
	                    OR x.decided_at < x.submitted_at) AS invalid
	          FROM (SELECT w.*,
	                       -- effort_may_authorise(decided_by, person_id, decided_at, auth_day,
	                       -- decision_recorded_at) (15_access.sql), written out set-based:
	                       -- the line manager in force at decided_at (else the earliest
	                       -- known), or a delegate of theirs on the local day (a manager's
	                       -- own delegation only when recorded before the authorisation);
	                       -- never the person themself, nobody while they have no line
	                       -- manager (at decided_at: lm NULL; when it was recorded).
	                       CASE WHEN w.is_auth THEN
	                            w.decided_by <> w.person_id
	                            AND NOT w.unmanaged_when_recorded
	                            AND (coalesce(w.lm = w.decided_by, false)
	                                 OR EXISTS (SELECT 1 FROM delegations d
	                                             WHERE d.manager_id = w.lm AND d.delegate_id = w.decided_by
	                                               AND w.auth_day BETWEEN d.start_date AND d.end_date
	                                               AND (d.source = 'feed'
	                                                    OR d.recorded_at < w.decision_recorded_at))) END
	                       AS may
	                  FROM (SELECT t.person_id, t.period_start, t.period_end, t.total_hours,
	                               t.submitted_at, t.decided_by, t.decided_at, t.decision_recorded_at,
	                               prm.as_of, prm.rd,
	                               CASE WHEN t.period_end = k.me THEN k.dl
	                                    ELSE effort_deadline(t.period_end, prm.am) END AS deadline,
	                               t.decision IS NOT DISTINCT FROM 'authorised' AS is_auth,
	                               CASE WHEN t.decision = 'authorised'
	                                    THEN (t.decided_at AT TIME ZONE prm.tz)::date END AS auth_day,
	                               -- the line manager of the history row in force at
	                               -- decided_at (each row is valid until the next; the
	                               -- earliest also before itself); NULL: none then.
	                               h.line_manager_id AS lm,
	                               -- no line manager when the authorisation was recorded
	                               -- (hn: the history row then, if it names none)
	                               hn.person_id IS NOT NULL AS unmanaged_when_recorded
	                          FROM ts t
	                          CROSS JOIN prm
	                          LEFT JOIN cal k ON k.m = t.m
	                          LEFT JOIN (SELECT h.person_id, h.line_manager_id, h.valid_from,
	                                            lead(h.valid_from) OVER w AS valid_to,
	                                            row_number() OVER w = 1 AS is_first
	                                       FROM line_manager_history h
	                                       JOIN pp ON pp.person_id = h.person_id
	                                     WINDOW w AS (PARTITION BY h.person_id ORDER BY h.valid_from)) h
	                            ON h.person_id = t.person_id
	                           AND t.decision = 'authorised'
	                           AND (h.valid_from <= t.decided_at OR h.is_first)
	                           AND (h.valid_to IS NULL OR t.decided_at < h.valid_to)
	                          LEFT JOIN (SELECT h.person_id, h.line_manager_id, h.valid_from,
	                                            lead(h.valid_from) OVER w AS valid_to,
	                                            row_number() OVER w = 1 AS is_first
	                                       FROM line_manager_history h
	                                       JOIN pp ON pp.person_id = h.person_id
	                                     WINDOW w AS (PARTITION BY h.person_id ORDER BY h.valid_from)) hn
	                            ON hn.person_id = t.person_id
	                           AND t.decision = 'authorised' AND hn.line_manager_id IS NULL
	                           AND (hn.valid_from <= t.decision_recorded_at OR hn.is_first)
	                           AND (hn.valid_to IS NULL OR t.decision_recorded_at < hn.valid_to)
	                        OFFSET 0) w) x) y
	 WHERE y.status IS NOT NULL OR y.invalid
),
r_auth AS (
	SELECT a.status, CASE WHEN a.status = 'authorisation_due' THEN 'warning' ELSE 'violation' END,
	       a.person_id, NULL::text, a.period_start, a.period_end, a.total_hours,
	       CASE a.status
	            WHEN 'authorisation_overdue'
	            THEN format('Timesheet %s to %s (%s h) not authorised; deadline %s has passed',
	                        a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.deadline)
	            WHEN 'authorisation_due'
	            THEN format('Timesheet %s to %s (%s h) not authorised; deadline %s %s',
	                        a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.deadline,
	                        CASE a.deadline - a.as_of WHEN 0 THEN 'is today' WHEN 1 THEN 'is in 1 day'
	                             ELSE format('is in %s days', a.deadline - a.as_of) END)
	            ELSE format('Timesheet %s to %s (%s h) authorised by %s on %s, after the deadline %s',
	                        a.period_start, a.period_end, effort_fmt_hours(a.total_hours), a.decided_by,
	                        a.auth_day, a.deadline) END
	  FROM auth a
	 WHERE a.status IS NOT NULL
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
	  FROM auth a
	 WHERE a.invalid
),
-- ---------------------------------------------------------------- charges
r_charge AS (
	SELECT CASE WHEN r.recorded IS NULL THEN 'activity_missing' ELSE 'unevidenced_charge' END,
	       'violation'::text, r.person_id, r.grant_ref, r.m, effort_month_end(r.m),
	       r.charged - coalesce(r.recorded, 0),
	       CASE WHEN r.recorded IS NULL
	            THEN format('%s: %s h charged to %s, no hours recorded on it',
	                        effort_month_label(r.m), effort_fmt_hours(r.charged), r.grant_ref)
	            ELSE format('%s: %s h charged to %s, %s h recorded',
	                        effort_month_label(r.m), effort_fmt_hours(r.charged), r.grant_ref,
	                        effort_fmt_hours(r.recorded)) END
	  FROM pmg r
	  CROSS JOIN prm
	 WHERE r.charged IS NOT NULL
	   AND ((r.recorded IS NULL AND r.charged > 0)
	        OR (r.recorded IS NOT NULL AND r.charged - r.recorded > prm.cht))
),
-- (The sum of the month's charges, exactly: the hours charges' hundredths
-- plus the fte_fractions' millionths of the contracted hours.)
r_overcharge AS (
	SELECT 'overcharged_month'::text, 'violation'::text, c.person_id, NULL::text, c.m,
	       effort_month_end(c.m), c.charged - c.contracted,
	       format('%s: %s h charged across grants of %s h contracted',
	              effort_month_label(c.m), effort_fmt_hours(c.charged), effort_fmt_hours(c.contracted))
	  FROM (SELECT r.person_id, r.m, r.contracted,
	               coalesce(sum(r.ch), 0) * 0.01 + r.contracted * coalesce(sum(r.cf), 0) * 0.000001 AS charged
	          FROM pmg r
	         WHERE r.charged IS NOT NULL
	         GROUP BY r.person_id, r.m, r.contracted) c
	 WHERE c.charged > c.contracted
),
-- ---------------------------------------------------------------- grant hours
-- (m is a month's first day: the month ended before as_of when m is on or
-- before last_ended.)
r_unassigned AS (
	SELECT 'unassigned_grant_hours'::text, 'violation'::text, r.person_id, r.grant_ref, r.m,
	       effort_month_end(r.m), r.recorded,
	       format('%s: %s h recorded on %s%s without an assignment to it',
	              effort_month_label(r.m), effort_fmt_hours(r.recorded), r.grant_ref,
	              CASE WHEN NOT EXISTS (SELECT 1 FROM grants g WHERE g.grant_ref = r.grant_ref)
	                   THEN ' (unknown grant)' ELSE '' END)
	  FROM pmg r CROSS JOIN prm
	 WHERE r.recorded IS NOT NULL AND r.m <= prm.last_ended
	   AND NOT EXISTS (SELECT 1 FROM assignments_effective a
	                    WHERE a.person_id = r.person_id AND a.grant_ref = r.grant_ref
	                      AND a.start_date <= effort_month_end(r.m)
	                      AND coalesce(a.end_date, 'infinity'::date) >= r.m)
),
r_outside AS (
	SELECT 'outside_grant_period'::text, 'violation'::text, r.person_id, r.grant_ref, r.m,
	       effort_month_end(r.m), r.outside,
	       format('%s: %s h recorded on %s outside its grant period %s to %s',
	              effort_month_label(r.m), effort_fmt_hours(r.outside), r.grant_ref,
	              g.start_date, g.end_date)
	  FROM pmg r
	  JOIN grants g ON g.grant_ref = r.grant_ref
	  CROSS JOIN prm
	 WHERE r.outside IS NOT NULL AND r.m <= prm.last_ended
),
-- ---------------------------------------------------------------- investigator cap
-- Cap years (started on or before as_of) overlapping a pi / co_i assignment.
capyear0 AS (
	SELECT DISTINCT a.person_id, g.ys::date AS ys
	  FROM assignments_effective a
	  JOIN pp ON pp.person_id = a.person_id
	  CROSS JOIN prm
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
-- Grant hours per person and cap year (cal's ys of the month), h_ended: of
-- the months that ended before as_of (those of a cap year ending by pe).
cap_ts AS (
	SELECT r.person_id, c.ys, sum(r.gh) AS h_all,
	       sum(r.gh) FILTER (WHERE r.m <= prm.last_ended) AS h_ended
	  FROM pmg r
	  LEFT JOIN cal c ON c.m = r.m
	  CROSS JOIN prm
	 WHERE r.gh IS NOT NULL
	   AND EXISTS (SELECT 1 FROM assignments a
	                WHERE a.person_id = r.person_id AND a.role IN ('pi', 'co_i'))
	 GROUP BY r.person_id, c.ys
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
	  JOIN assignments_effective a ON a.person_id = c.person_id AND a.cost_type = 'DA'
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
	SELECT a.person_id, a.grant_ref, a.start_date, coalesce(a.end_date, g.end_date) AS end_eff
	  FROM assignments a
	  LEFT JOIN grants g ON g.grant_ref = a.grant_ref
	 WHERE a.role IN ('researcher', 'fellow')
),
-- The ended months with timesheets overlapping the assignment (m is a
-- month's first day: the month ends before as_of when m <= last_ended, on
-- or after the assignment's start when m >= the first day of its month);
-- pm holds only people in scope, and their FTE comes from people.
r_teach AS (
	SELECT 'teaching_excess'::text,
	       CASE WHEN x.end_eff < prm.as_of THEN 'violation' ELSE 'warning' END,
	       x.person_id, x.grant_ref, x.start_date, coalesce(x.end_eff, date '9999-12-31'),
	       x.taught - x.lim,
	       format('%s h teaching in %s with timesheets (%s days) on %s against a limit of %s h',
	              effort_fmt_hours(x.taught),
	              x.nmonths || CASE WHEN x.nmonths = 1 THEN ' month' ELSE ' months' END,
	              x.ndays, x.grant_ref, effort_fmt_hours(x.lim))
	  FROM (SELECT y.*, prm.twh * p.fte * y.ndays / 7 AS lim
	          FROM (SELECT a.person_id, a.grant_ref, a.start_date, a.end_eff,
	                       count(*) AS nmonths,
	                       sum(c.nd) AS ndays,
	                       coalesce(sum(t.taught), 0) AS taught
	                  FROM rs_asg a
	                  CROSS JOIN prm
	                  JOIN pm t ON t.person_id = a.person_id AND t.n_ts > 0
	                           AND t.m <= prm.last_ended
	                           AND t.m <= coalesce(a.end_eff, 'infinity'::date)
	                           AND t.m >= effort_month_start(a.start_date)
	                  LEFT JOIN cal c ON c.m = t.m
	                 GROUP BY a.person_id, a.grant_ref, a.start_date, a.end_eff) y
	          JOIN people p ON p.person_id = y.person_id
	          CROSS JOIN prm) x
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
