-- Funding-assurance reports (GET /v1/reports/...; docs/reports.md).  Each
-- report is one jsonb document computed set-based here; effortd formats it
-- as JSON, CSV or HTML.  Refusals are {"error": ..., "http_status": N}.
--
-- The figures reuse the audit engine: findings come from audit_findings()
-- (30_rules.sql); where a report needs an intermediate figure of a rule that
-- audit_findings does not expose (the investigator cap, the months that
-- need a timesheet, the authorisation checks) the helpers below mirror the
-- rule's CTE exactly, and tests/t/reports.t checks that they agree with the
-- findings on the sample organisation.
--
--   effort_report_prm        the rules settings, with their defaults
--   effort_timesheet_checks  latest timesheets with deadline and the
--                            authorisation checks of r_auth
--   effort_required_months   person-months that need a timesheet (req_month)
--   effort_cap_years         investigators' cap, ended months (capyear1)
--   effort_cap_grant_hours   their grant hours per grant (cap_ts, cap_da)
--   report_grant, report_grant_evidence, report_investigators,
--   report_compliance        the four reports

-- The settings of p_params with the defaults of RULES.md, and as_of
-- (NULL = today in the organisation time zone).
DROP FUNCTION IF EXISTS effort_report_prm(date, jsonb);
CREATE FUNCTION effort_report_prm(p_as_of date, p_params jsonb,
	OUT tz text, OUT swh numeric, OUT iah numeric, OUT am int, OUT csm int,
	OUT cht numeric, OUT as_of date, OUT last_ended date)
LANGUAGE sql STABLE AS $$
	SELECT x.tz, coalesce((p_params->>'standard_weekly_hours')::numeric, 37.5),
	       coalesce((p_params->>'investigator_annual_hours')::numeric, 1650),
	       coalesce((p_params->>'authorisation_months')::int, 2),
	       coalesce((p_params->>'cap_year_start_month')::int, 8),
	       coalesce((p_params->>'charge_tolerance')::numeric, 0.5),
	       coalesce(p_as_of, (now() AT TIME ZONE x.tz)::date),
	       effort_month_start(coalesce(p_as_of, (now() AT TIME ZONE x.tz)::date)) - 1
	  FROM (SELECT coalesce(nullif(p_params->>'timezone', ''), 'Europe/London') AS tz) x
$$;

-- Every latest timesheet version with its deadline and the checks of the
-- authorisation rules (r_auth in 30_rules.sql): authorised, the local date
-- of the authorisation, on time (on or before the deadline), valid (not
-- authorisation_invalid: the line manager of the day or their delegate,
-- not the person, after the period end, not before submission), overdue.
DROP FUNCTION IF EXISTS effort_timesheet_checks(date, jsonb);
CREATE FUNCTION effort_timesheet_checks(p_as_of date, p_params jsonb)
RETURNS TABLE (timesheet_id bigint, person_id text, m date, period_start date,
	period_end date, version int, submitted_at timestamptz, total_hours numeric,
	status text, decided_by text, decided_at timestamptz, decision_reason text,
	deadline date, auth_day date, is_auth boolean, on_time boolean,
	valid boolean, overdue boolean)
LANGUAGE sql STABLE AS $$
	SELECT c.timesheet_id, c.person_id, effort_month_start(c.period_start),
	       c.period_start, c.period_end, c.version, c.submitted_at, c.total_hours,
	       effort_status(c.decision), c.decided_by, c.decided_at, c.decision_reason,
	       x.deadline, x.auth_day, x.is_auth,
	       x.is_auth AND x.auth_day <= x.deadline,
	       x.is_auth AND effort_may_authorise(c.decided_by, c.person_id, c.decided_at, x.auth_day,
	                                          c.decision_recorded_at)
	           AND x.auth_day > c.period_end AND c.decided_at >= c.submitted_at,
	       NOT x.is_auth AND prm.as_of > x.deadline
	  FROM current_timesheets c
	  CROSS JOIN effort_report_prm(p_as_of, p_params) prm
	  CROSS JOIN LATERAL (
	        SELECT effort_deadline(c.period_end, prm.am) AS deadline,
	               c.decision IS NOT DISTINCT FROM 'authorised' AS is_auth,
	               CASE WHEN c.decision = 'authorised'
	                    THEN (c.decided_at AT TIME ZONE prm.tz)::date END AS auth_day) x
$$;

-- Ended months (before as_of) in which a person must keep a timesheet
-- (RGC 4.6): req_cand and req_month of 30_rules.sql, written out the same.
DROP FUNCTION IF EXISTS effort_required_months(date, jsonb);
CREATE FUNCTION effort_required_months(p_as_of date, p_params jsonb)
RETURNS TABLE (person_id text, m date)
LANGUAGE sql STABLE AS $$
	WITH prm AS (SELECT * FROM effort_report_prm(p_as_of, p_params)),
	pp AS (SELECT p.person_id, p.employment_start AS es, p.employment_end AS ee FROM people p),
	req_cand AS (
		SELECT DISTINCT a.person_id, g.m::date AS m
		  FROM assignments_effective a  -- open-ended: to the grant's end
		  JOIN pp ON pp.person_id = a.person_id
		  CROSS JOIN prm
		  CROSS JOIN LATERAL generate_series(
		        effort_month_start(greatest(a.start_date, pp.es))::timestamp,
		        effort_month_start(least(coalesce(a.end_date, 'infinity'::date),
		                                 coalesce(pp.ee, 'infinity'::date),
		                                 prm.last_ended))::timestamp,
		        interval '1 month') AS g(m)
		 WHERE a.cost_type IN ('DI', 'EXC')
	)
	SELECT r.person_id, r.m
	  FROM req_cand r
	  JOIN pp ON pp.person_id = r.person_id
	  JOIN assignments_effective a ON a.person_id = r.person_id
	            AND a.start_date <= effort_month_end(r.m)
	            AND coalesce(a.end_date, 'infinity'::date) >= r.m
	 GROUP BY r.person_id, r.m, pp.es, pp.ee
	HAVING NOT (count(*) = 1
	            AND bool_and(a.fte_share = 1
	                         AND a.start_date <= greatest(r.m, pp.es)
	                         AND coalesce(a.end_date, 'infinity'::date)
	                             >= least(effort_month_end(r.m), coalesce(pp.ee, 'infinity'::date))))
$$;

-- The investigators of the cap year starting p_ys (people holding pi or
-- co_i on an assignment overlapping it) with their cap and the ended months
-- of the year at as_of: capyear0/capyear1 of 30_rules.sql for one year.
--   cap = investigator_annual_hours x fte x employed_days / ndays
--   pe  = last day of the ended months (< ys when none), n = their number
DROP FUNCTION IF EXISTS effort_cap_years(date, jsonb, date);
CREATE FUNCTION effort_cap_years(p_as_of date, p_params jsonb, p_ys date)
RETURNS TABLE (person_id text, ys date, ye date, ndays int, employed_days int,
	fte numeric, annual numeric, cap numeric, pe date, n int)
LANGUAGE sql STABLE AS $$
	SELECT p.person_id, p_ys, effort_cap_year_end(p_ys),
	       effort_days(p_ys, effort_cap_year_end(p_ys)),
	       effort_days(greatest(p_ys, p.employment_start),
	                   least(effort_cap_year_end(p_ys), coalesce(p.employment_end, 'infinity'::date))),
	       p.fte, prm.iah,
	       prm.iah * p.fte
	         * effort_days(greatest(p_ys, p.employment_start),
	                       least(effort_cap_year_end(p_ys), coalesce(p.employment_end, 'infinity'::date)))
	         / effort_days(p_ys, effort_cap_year_end(p_ys)),
	       least(effort_cap_year_end(p_ys), prm.last_ended),
	       greatest(effort_months_between(p_ys, least(effort_cap_year_end(p_ys), prm.last_ended) + 1), 0)
	  FROM people p
	  CROSS JOIN effort_report_prm(p_as_of, p_params) prm
	 WHERE EXISTS (SELECT 1 FROM assignments_effective a
	                WHERE a.person_id = p.person_id AND a.role IN ('pi', 'co_i')
	                  AND a.start_date <= effort_cap_year_end(p_ys)
	                  AND coalesce(a.end_date, 'infinity'::date) >= p_ys)
$$;

-- The grant hours of those investigators in the cap year, per grant and
-- source (cap_ts and cap_da of 30_rules.sql): 'timesheets' = grant entries
-- of the latest timesheets of the year's months; 'estimate' = DA
-- assignments' estimated_hours_per_year x days inside the year / ndays.
-- h_all: the whole year; h_ended: the ended months only (projection).
DROP FUNCTION IF EXISTS effort_cap_grant_hours(date, jsonb, date);
CREATE FUNCTION effort_cap_grant_hours(p_as_of date, p_params jsonb, p_ys date)
RETURNS TABLE (person_id text, grant_ref text, source text, h_all numeric, h_ended numeric)
LANGUAGE sql STABLE AS $$
	WITH cy AS (SELECT * FROM effort_cap_years(p_as_of, p_params, p_ys))
	SELECT cy.person_id, e.activity, 'timesheets',
	       sum(e.hours), coalesce(sum(e.hours) FILTER (WHERE effort_month_end(c.period_start) <= cy.pe), 0)
	  FROM cy
	  JOIN current_timesheets c ON c.person_id = cy.person_id
	   AND effort_month_start(c.period_start) BETWEEN cy.ys AND cy.ye
	  JOIN timesheet_entries e ON e.timesheet_id = c.timesheet_id AND e.kind = 'grant'
	 GROUP BY cy.person_id, e.activity
	UNION ALL
	SELECT cy.person_id, a.grant_ref, 'estimate',
	       sum(coalesce(a.estimated_hours_per_year, 0)
	           * effort_days(greatest(a.start_date, cy.ys),
	                         least(coalesce(a.end_date, 'infinity'::date), cy.ye)) / cy.ndays),
	       sum(coalesce(a.estimated_hours_per_year, 0)
	           * effort_days(greatest(a.start_date, cy.ys),
	                         least(coalesce(a.end_date, 'infinity'::date), cy.pe)) / cy.ndays)
	  FROM cy
	  JOIN assignments_effective a ON a.person_id = cy.person_id AND a.cost_type = 'DA'
	   AND a.start_date <= cy.ye AND coalesce(a.end_date, 'infinity'::date) >= cy.ys
	 GROUP BY cy.person_id, a.grant_ref
$$;

-- ------------------------------------------------------------ grant reconciliation
-- Per person and ended month with a charge or recorded hours on the grant:
--   charged     the charges feed: hours, or fte_fraction x contracted hours
--   recorded    grant entries on it in the month's latest timesheets
--   evidenced   min(charged, recorded) when the month has at least one
--               timesheet and every latest timesheet of the month is
--               authorised on time and validly; else 0
--   unevidenced charged - evidenced
-- Hours are rounded to 2 decimals per row; totals add the rows as shown.
-- Findings: audit_findings of the people on the grant (assigned, charged or
-- recording hours on it) that name the grant, plus those that name no grant
-- and whose period overlaps a month of that person's rows.
-- The rows (one per person and month) behind report_grant.
DROP FUNCTION IF EXISTS effort_grant_rows(text, date, jsonb);
CREATE FUNCTION effort_grant_rows(p_ref text, p_as_of date, p_params jsonb)
RETURNS TABLE (person_id text, name text, m date, charged numeric,
	recorded numeric, evidenced numeric, unevidenced numeric, status text,
	evidence_ok boolean, submitted_at timestamptz, authorised_at timestamptz,
	deadline date, timesheets jsonb)
LANGUAGE sql STABLE AS $$
	WITH prm AS (SELECT * FROM effort_report_prm(p_as_of, p_params)),
	chg AS (
		SELECT c.person_id, c.month AS m,
		       coalesce(c.hours, c.fte_fraction * effort_contracted_hours(p.fte, prm.swh,
		                c.month, effort_month_end(c.month), p.employment_start,
		                p.employment_end)) AS charged
		  FROM charges c JOIN people p ON p.person_id = c.person_id CROSS JOIN prm
		 WHERE c.grant_ref = p_ref AND effort_month_end(c.month) < prm.as_of
	),
	chk AS (SELECT * FROM effort_timesheet_checks(p_as_of, p_params)),
	rec AS (
		SELECT k.person_id, k.m, sum(e.hours) AS recorded
		  FROM chk k JOIN timesheet_entries e ON e.timesheet_id = k.timesheet_id
		  CROSS JOIN prm
		 WHERE e.kind = 'grant' AND e.activity = p_ref AND e.hours > 0
		   AND effort_month_end(k.m) < prm.as_of
		 GROUP BY k.person_id, k.m
	),
	keys AS (SELECT chg.person_id, chg.m FROM chg UNION SELECT rec.person_id, rec.m FROM rec),
	tsm AS (
		SELECT k.person_id, k.m, count(*) AS n,
		       bool_and(k.on_time AND k.valid) AS ok,
		       CASE WHEN bool_or(k.status = 'rejected') THEN 'rejected'
		            WHEN bool_and(k.is_auth) THEN 'authorised'
		            ELSE 'submitted' END AS status,
		       max(k.submitted_at) AS submitted_at,
		       max(k.decided_at) FILTER (WHERE k.is_auth) AS authorised_at,
		       max(k.deadline) AS deadline,
		       jsonb_agg(jsonb_build_object('id', k.timesheet_id, 'version', k.version,
		           'period_start', k.period_start, 'period_end', k.period_end,
		           'status', k.status, 'submitted_at', k.submitted_at,
		           'authorised_by', CASE WHEN k.is_auth THEN k.decided_by END,
		           'authorised_at', CASE WHEN k.is_auth THEN k.decided_at END,
		           'deadline', k.deadline, 'on_time', k.on_time, 'valid', k.valid)
		           ORDER BY k.period_start) AS ts
		  FROM chk k JOIN keys USING (person_id, m)
		 GROUP BY k.person_id, k.m
	),
	r AS (
		SELECT keys.person_id, keys.m,
		       round(coalesce(chg.charged, 0), 2) AS charged,
		       round(coalesce(rec.recorded, 0), 2) AS recorded,
		       CASE WHEN coalesce(tsm.ok, false)
		            THEN round(least(coalesce(chg.charged, 0), coalesce(rec.recorded, 0)), 2)
		            ELSE 0 END AS evidenced,
		       coalesce(tsm.status, 'missing') AS status, coalesce(tsm.ok, false) AS ok,
		       tsm.submitted_at, tsm.authorised_at,
		       coalesce(tsm.deadline, effort_deadline(effort_month_end(keys.m), prm.am)) AS deadline,
		       coalesce(tsm.ts, '[]'::jsonb) AS ts
		  FROM keys CROSS JOIN prm
		  LEFT JOIN chg ON chg.person_id = keys.person_id AND chg.m = keys.m
		  LEFT JOIN rec ON rec.person_id = keys.person_id AND rec.m = keys.m
		  LEFT JOIN tsm ON tsm.person_id = keys.person_id AND tsm.m = keys.m
	)
	SELECT r.person_id, p.name, r.m, r.charged, r.recorded, r.evidenced,
	       r.charged - r.evidenced, r.status, r.ok, r.submitted_at, r.authorised_at,
	       r.deadline, r.ts
	  FROM r LEFT JOIN people p ON p.person_id = r.person_id
$$;

DROP FUNCTION IF EXISTS report_grant(text, date, jsonb);
CREATE FUNCTION report_grant(p_ref text, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE
-- (the plans are large but cheap: JIT would compile for seconds)
SET jit = off AS $$
DECLARE
	g       grants;
	v_as_of date := (effort_report_prm(p_as_of, p_params)).as_of;
	v_pp    text[];
	v_doc   jsonb;
BEGIN
	SELECT * INTO g FROM grants WHERE grant_ref = p_ref;
	IF NOT FOUND THEN
		RETURN effort_refuse(404, format('no such grant: %s', p_ref));
	END IF;
	SELECT array_agg(DISTINCT x.person_id) INTO v_pp
	  FROM (SELECT a.person_id FROM assignments a WHERE a.grant_ref = p_ref
	        UNION SELECT c.person_id FROM charges c WHERE c.grant_ref = p_ref
	        UNION SELECT t.person_id FROM current_timesheets t
	                JOIN timesheet_entries e ON e.timesheet_id = t.timesheet_id
	               WHERE e.kind = 'grant' AND e.activity = p_ref) x;

	WITH rows AS (SELECT * FROM effort_grant_rows(p_ref, v_as_of, p_params)),
	fnd AS (
		SELECT f.* FROM audit_findings(v_as_of, p_params, coalesce(v_pp, '{}')) f
		 WHERE f.grant_ref = p_ref
		    OR (f.grant_ref IS NULL AND EXISTS (SELECT 1 FROM rows r
		         WHERE r.person_id = f.person_id
		           AND r.m <= f.period_end AND effort_month_end(r.m) >= f.period_start))
	),
	people_tot AS (
		SELECT r.person_id, min(r.name) AS name,
		       sum(r.charged) AS charged, sum(r.recorded) AS recorded,
		       sum(r.evidenced) AS evidenced, sum(r.unevidenced) AS unevidenced,
		       jsonb_agg(jsonb_build_object('month', to_char(r.m, 'YYYY-MM'),
		           'charged', r.charged, 'recorded', r.recorded, 'evidenced', r.evidenced,
		           'unevidenced', r.unevidenced, 'status', r.status, 'evidence_ok', r.evidence_ok,
		           'submitted_at', r.submitted_at, 'authorised_at', r.authorised_at,
		           'deadline', r.deadline, 'timesheets', r.timesheets) ORDER BY r.m) AS months
		  FROM rows r GROUP BY r.person_id
	)
	SELECT jsonb_build_object(
		'report', 'grant', 'as_of', v_as_of,
		'grant', jsonb_build_object('grant_ref', g.grant_ref, 'title', g.title,
			'funder', g.funder, 'start_date', g.start_date, 'end_date', g.end_date),
		'totals', (SELECT jsonb_build_object('charged', coalesce(sum(r.charged), 0),
			'recorded', coalesce(sum(r.recorded), 0), 'evidenced', coalesce(sum(r.evidenced), 0),
			'unevidenced', coalesce(sum(r.unevidenced), 0)) FROM rows r),
		'people', coalesce((SELECT jsonb_agg(jsonb_build_object('person_id', t.person_id,
			'name', t.name, 'charged', t.charged, 'recorded', t.recorded,
			'evidenced', t.evidenced, 'unevidenced', t.unevidenced, 'months', t.months)
			ORDER BY t.person_id COLLATE "C") FROM people_tot t), '[]'),
		'months', coalesce((SELECT jsonb_agg(jsonb_build_object('month', to_char(x.m, 'YYYY-MM'),
			'charged', x.charged, 'recorded', x.recorded, 'evidenced', x.evidenced,
			'unevidenced', x.unevidenced) ORDER BY x.m)
			FROM (SELECT r.m, sum(r.charged) AS charged, sum(r.recorded) AS recorded,
			             sum(r.evidenced) AS evidenced, sum(r.unevidenced) AS unevidenced
			        FROM rows r GROUP BY r.m) x), '[]'),
		'findings', coalesce((SELECT jsonb_agg(jsonb_build_object('rule', f.rule,
			'severity', f.severity, 'person_id', f.person_id, 'grant_ref', f.grant_ref,
			'period_start', f.period_start, 'period_end', f.period_end,
			'hours', f.hours, 'detail', f.detail)
			ORDER BY f.person_id COLLATE "C", f.period_start, f.rule COLLATE "C",
			         f.grant_ref COLLATE "C" NULLS FIRST, f.period_end) FROM fnd f), '[]'))
	  INTO v_doc;
	RETURN v_doc;
END
$$;

-- ------------------------------------------------------------ evidence pack
-- Every timesheet version (latest or not) with a grant entry for the grant,
-- with all its entries, amendment reason, submission, decisions and
-- deadline, oldest first per person and period; and the rows of the
-- audit_log table behind them (sql/002_audit_trail.sql: each version's
-- "created" row and each decision's row, keyed by entity_key.timesheet_id).
-- Written to work with and without the audit trail: NULL when there is no
-- audit_log table; when it exists without an entity_key column, the rows
-- that name one of the versions by a "timesheet_id" member at any depth.
DROP FUNCTION IF EXISTS effort_audit_log_rows(bigint[]);
CREATE FUNCTION effort_audit_log_rows(p_ids bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	v jsonb;
BEGIN
	IF to_regclass('audit_log') IS NULL THEN
		RETURN NULL;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('audit_log')
	            AND attname = 'entity_key' AND NOT attisdropped) THEN
		EXECUTE $q$
			SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'at', a.at,
			       'actor', a.actor, 'action', a.action, 'entity', a.entity,
			       'entity_key', a.entity_key, 'before', a.before, 'after', a.after,
			       'hash', encode(a.hash, 'hex')) ORDER BY a.id), '[]'::jsonb)
			  FROM audit_log a
			 WHERE a.entity IN ('timesheets', 'timesheet_decisions')
			   AND a.entity_key->>'timesheet_id' = ANY ($1::text[])
		$q$ INTO v USING p_ids::text[];
		RETURN v;
	END IF;
	EXECUTE $q$
		SELECT coalesce(jsonb_agg(y.j ORDER BY y.ord), '[]'::jsonb)
		  FROM (SELECT to_jsonb(a) AS j, row_number() OVER () AS ord FROM audit_log a) y
		 WHERE EXISTS (SELECT 1 FROM jsonb_path_query(y.j, 'lax $.**.timesheet_id') t
		                WHERE t #>> '{}' = ANY ($1::text[]))
	$q$ INTO v USING p_ids::text[];
	RETURN v;
END
$$;

DROP FUNCTION IF EXISTS report_grant_evidence(text, date, jsonb);
CREATE FUNCTION report_grant_evidence(p_ref text, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE
-- (the plans are large but cheap: JIT would compile for seconds)
SET jit = off AS $$
DECLARE
	g     grants;
	prm   record;
	v_ids bigint[];
	v_doc jsonb;
BEGIN
	SELECT * INTO g FROM grants WHERE grant_ref = p_ref;
	IF NOT FOUND THEN
		RETURN effort_refuse(404, format('no such grant: %s', p_ref));
	END IF;
	SELECT * INTO prm FROM effort_report_prm(p_as_of, p_params);
	SELECT array_agg(DISTINCT e.timesheet_id ORDER BY e.timesheet_id) INTO v_ids
	  FROM timesheet_entries e WHERE e.kind = 'grant' AND e.activity = p_ref;

	SELECT jsonb_build_object('report', 'evidence', 'as_of', prm.as_of,
		'grant', jsonb_build_object('grant_ref', g.grant_ref, 'title', g.title,
			'funder', g.funder, 'start_date', g.start_date, 'end_date', g.end_date),
		'audit_log_available', to_regclass('audit_log') IS NOT NULL,
		'versions', coalesce(jsonb_agg(jsonb_build_object(
			'id', t.timesheet_id, 'person_id', t.person_id, 'name', p.name,
			'period_start', t.period_start, 'period_end', t.period_end,
			'version', t.version, 'latest', t.timesheet_id = c.timesheet_id,
			'submitted_at', t.submitted_at, 'received_at', t.received_at,
			'total_hours', t.total_hours, 'amendment_reason', t.amendment_reason,
			'grant_hours', (SELECT e.hours FROM timesheet_entries e
			                 WHERE e.timesheet_id = t.timesheet_id AND e.kind = 'grant'
			                   AND e.activity = p_ref),
			'status', effort_status((SELECT d.decision FROM timesheet_decisions d
				WHERE d.timesheet_id = t.timesheet_id ORDER BY d.decision_id DESC LIMIT 1)),
			'deadline', effort_deadline(t.period_end, prm.am),
			'entries', effort_entries_doc(t.timesheet_id),
			'decisions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
				'decision', d.decision, 'decided_by', d.decided_by,
				'decided_at', d.decided_at, 'reason', d.reason,
				'source', d.source, 'recorded_at', d.recorded_at)
				ORDER BY d.decision_id), '[]')
				FROM timesheet_decisions d WHERE d.timesheet_id = t.timesheet_id))
			ORDER BY t.person_id COLLATE "C", t.period_start, t.period_end, t.version), '[]'),
		'audit_log', effort_audit_log_rows(coalesce(v_ids, '{}')))
	  INTO v_doc
	  FROM timesheets t
	  JOIN people p ON p.person_id = t.person_id
	  JOIN current_timesheets c ON c.person_id = t.person_id
	   AND c.period_start = t.period_start AND c.period_end = t.period_end
	 WHERE t.timesheet_id = ANY (coalesce(v_ids, '{}'));
	RETURN v_doc;
END
$$;

-- ------------------------------------------------------------ investigators
-- Per investigator for the cap year starting in p_year (month
-- rules.cap_year_start_month): cap with FTE and employment pro rata, grant
-- hours per grant (timesheets and DA estimates), total, headroom = cap -
-- total, projection = ended-months hours / n x 12, and the finding the
-- audit raises for the year (investigator_cap_exceeded or _projected, the
-- same formulas; none for a cap year that starts after as_of).
DROP FUNCTION IF EXISTS report_investigators(int, date, jsonb);
CREATE FUNCTION report_investigators(p_year int, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE sql STABLE
-- (the plans are large but cheap: JIT would compile for seconds)
SET jit = off AS $$
	WITH prm AS (SELECT * FROM effort_report_prm(p_as_of, p_params)),
	ys AS (SELECT make_date(p_year, prm.csm, 1) AS ys FROM prm),
	cy AS (SELECT c.* FROM ys, effort_cap_years(p_as_of, p_params, ys.ys) c),
	gh AS (SELECT h.* FROM ys, effort_cap_grant_hours(p_as_of, p_params, ys.ys) h),
	tot AS (
		SELECT cy.*, coalesce(x.h_all, 0) AS h_all, coalesce(x.h_ended, 0) AS h_ended
		  FROM cy LEFT JOIN (SELECT gh.person_id, sum(gh.h_all) AS h_all, sum(gh.h_ended) AS h_ended
		                       FROM gh GROUP BY gh.person_id) x ON x.person_id = cy.person_id
	),
	inv AS (
		SELECT t.*, p.name,
		       CASE WHEN t.n >= 1 THEN t.h_ended / t.n * 12 END AS projection,
		       CASE WHEN t.ys > prm.as_of THEN NULL
		            WHEN t.h_all > t.cap THEN 'investigator_cap_exceeded'
		            WHEN t.n BETWEEN 1 AND 11 AND t.h_ended / t.n * 12 > t.cap
		            THEN 'investigator_cap_projected' END AS finding
		  FROM tot t JOIN people p ON p.person_id = t.person_id CROSS JOIN prm
	)
	SELECT jsonb_build_object('report', 'investigators', 'as_of', prm.as_of,
		'year', p_year, 'cap_year_start', ys.ys, 'cap_year_end', effort_cap_year_end(ys.ys),
		'annual_hours', prm.iah,
		'ended_months', greatest(effort_months_between(ys.ys,
			least(effort_cap_year_end(ys.ys), prm.last_ended) + 1), 0),
		'investigators', coalesce((SELECT jsonb_agg(jsonb_build_object(
			'person_id', i.person_id, 'name', i.name, 'fte', i.fte,
			'employed_days', i.employed_days, 'year_days', i.ndays,
			'cap', round(i.cap, 2),
			'grants', coalesce((SELECT jsonb_agg(jsonb_build_object('grant_ref', g.grant_ref,
				'source', g.source, 'hours', round(g.h_all, 2),
				'ended_months_hours', round(g.h_ended, 2))
				ORDER BY g.grant_ref COLLATE "C", g.source)
				FROM gh g WHERE g.person_id = i.person_id), '[]'),
			'grant_hours', round(i.h_all, 2),
			'headroom', round(i.cap - i.h_all, 2),
			'ended_months', i.n, 'ended_months_hours', round(i.h_ended, 2),
			'projection', round(i.projection, 2),
			'finding', i.finding,
			'finding_hours', CASE i.finding
				WHEN 'investigator_cap_exceeded' THEN round(i.h_all - i.cap, 2)
				WHEN 'investigator_cap_projected' THEN round(i.projection - i.cap, 2) END)
			ORDER BY i.person_id COLLATE "C") FROM inv i), '[]'))
	  FROM prm, ys
$$;

-- ------------------------------------------------------------ compliance
-- For the months overlapping [p_from, p_to]: every person-month that needs
-- a timesheet (an ended month, effort_required_months: "required") or has
-- one ("submitted": at least one latest timesheet, needed or not, e.g. of
-- someone 100 % on one grant), classified once, first match:
--   missing            a timesheet_missing finding (weekdays not covered)
--   overdue            a timesheet not authorised, its deadline passed
--   awaiting           a timesheet not authorised, deadline not passed
--   late               all authorised, one after its deadline
--   invalid            all authorised on time, one authorisation invalid
--   authorised_on_time all authorised on time and validly
-- Per organisation and per current line
-- manager, with the findings whose period overlaps [p_from, p_to] per rule.
DROP FUNCTION IF EXISTS report_compliance(date, date, date, jsonb);
CREATE FUNCTION report_compliance(p_from date, p_to date, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE
-- (the plans are large but cheap: JIT would compile for seconds)
SET jit = off AS $$
DECLARE
	v_as_of date := (effort_report_prm(p_as_of, p_params)).as_of;
BEGIN
	RETURN (
	WITH prm AS (SELECT * FROM effort_report_prm(v_as_of, p_params)),
	fnd AS MATERIALIZED (
		SELECT f.* FROM audit_findings(v_as_of, p_params, NULL) f
		 WHERE f.period_start <= p_to AND f.period_end >= p_from
	),
	req AS MATERIALIZED (
		SELECT r.* FROM effort_required_months(v_as_of, p_params) r
		 WHERE r.m <= p_to AND effort_month_end(r.m) >= p_from
	),
	chk AS MATERIALIZED (
		SELECT k.person_id, k.m, bool_or(k.overdue) AS overdue,
		       bool_or(NOT k.is_auth) AS unauth, bool_or(k.is_auth AND NOT k.on_time) AS late,
		       bool_or(k.is_auth AND NOT k.valid) AS invalid
		  FROM effort_timesheet_checks(v_as_of, p_params) k
		 WHERE k.m <= p_to AND effort_month_end(k.m) >= p_from
		 GROUP BY k.person_id, k.m
	),
	pm AS MATERIALIZED (
		SELECT req.person_id, req.m, true AS required FROM req
		UNION ALL
		SELECT c.person_id, c.m, false FROM chk c
		 WHERE NOT EXISTS (SELECT 1 FROM req WHERE req.person_id = c.person_id AND req.m = c.m)
	),
	cls AS MATERIALIZED (
		SELECT r.person_id, r.required, p.line_manager_id AS manager,
		       CASE WHEN EXISTS (SELECT 1 FROM fnd f WHERE f.rule = 'timesheet_missing'
		                          AND f.person_id = r.person_id AND f.period_start = r.m)
		                 OR c.person_id IS NULL THEN 'missing'
		            WHEN c.overdue THEN 'overdue'
		            WHEN c.unauth THEN 'awaiting'
		            WHEN c.late THEN 'late'
		            WHEN c.invalid THEN 'invalid'
		            ELSE 'authorised_on_time' END AS cls,
		       c.person_id IS NOT NULL AS has_ts
		  FROM pm r
		  JOIN people p ON p.person_id = r.person_id
		  LEFT JOIN chk c ON c.person_id = r.person_id AND c.m = r.m
	),
	scopes AS (
		SELECT NULL::text AS manager, true AS org
		UNION ALL
		SELECT DISTINCT x.manager, false FROM
			(SELECT cls.manager FROM cls
			 UNION SELECT p.line_manager_id FROM fnd JOIN people p ON p.person_id = fnd.person_id) x
	),
	counts AS (
		SELECT s.manager, s.org,
		       count(c.cls) FILTER (WHERE c.required) AS required,
		       count(c.cls) FILTER (WHERE c.has_ts) AS submitted,
		       count(c.cls) FILTER (WHERE c.cls = 'authorised_on_time') AS authorised_on_time,
		       count(c.cls) FILTER (WHERE c.cls = 'late') AS late,
		       count(c.cls) FILTER (WHERE c.cls = 'invalid') AS invalid,
		       count(c.cls) FILTER (WHERE c.cls = 'overdue') AS overdue,
		       count(c.cls) FILTER (WHERE c.cls = 'awaiting') AS awaiting,
		       count(c.cls) FILTER (WHERE c.cls = 'missing') AS missing
		  FROM scopes s
		  LEFT JOIN cls c ON s.org OR c.manager IS NOT DISTINCT FROM s.manager
		 GROUP BY s.manager, s.org
	),
	fby AS (
		SELECT s.manager, s.org, f.rule, f.severity, count(*) AS n, sum(f.hours) AS hours
		  FROM scopes s
		  JOIN fnd f ON s.org OR (SELECT p.line_manager_id FROM people p
		                           WHERE p.person_id = f.person_id) IS NOT DISTINCT FROM s.manager
		 GROUP BY s.manager, s.org, f.rule, f.severity
	),
	doc AS (
		SELECT c.*, jsonb_build_object('required', c.required, 'submitted', c.submitted,
		         'authorised_on_time', c.authorised_on_time, 'late', c.late,
		         'invalid', c.invalid, 'overdue', c.overdue, 'awaiting', c.awaiting,
		         'missing', c.missing,
		         'findings', coalesce((SELECT jsonb_agg(jsonb_build_object('rule', f.rule,
		             'severity', f.severity, 'count', f.n, 'hours', f.hours)
		             ORDER BY f.rule COLLATE "C", f.severity COLLATE "C")
		             FROM fby f WHERE f.org = c.org
		              AND f.manager IS NOT DISTINCT FROM c.manager), '[]')) AS d
		  FROM counts c
	)
	SELECT jsonb_build_object('report', 'compliance', 'as_of', prm.as_of,
		'from', p_from, 'to', p_to,
		'organisation', (SELECT d.d FROM doc d WHERE d.org),
		'line_managers', coalesce((SELECT jsonb_agg(jsonb_build_object(
			'line_manager_id', d.manager,
			'name', (SELECT p.name FROM people p WHERE p.person_id = d.manager)) || d.d
			ORDER BY d.manager COLLATE "C" NULLS LAST) FROM doc d WHERE NOT d.org), '[]'))
	  FROM prm);
END
$$;
