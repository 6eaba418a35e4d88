-- Funding-assurance reports (GET /v1/reports/...; docs/reports.md).  Each
-- report is one jsonb document computed set-based here; effortd formats it
-- as JSON, CSV or HTML.  Refusals are {"error": ..., "http_status": N}.
--
-- Every figure comes from the audit engine's own stages (effort_rule_stages,
-- 30_rules.sql), read in the same evaluation as the report's findings, so
-- that a report cannot disagree with the violations list:
--   report_grant          finding, timesheet_check, person_month_grant
--   report_investigators  cap_year, cap_year_grant
--   report_compliance     finding, timesheet_check, person_month
--   report_grant_evidence the stored versions, decisions and audit trail
-- tests/t/agreement.t checks every figure against the findings on
-- generated organisations.  Every report runs without JIT: its plans are
-- large but cheap, and JIT would compile for seconds.

DROP FUNCTION IF EXISTS effort_report_prm(date, jsonb);
DROP FUNCTION IF EXISTS effort_timesheet_checks(date, jsonb);
DROP FUNCTION IF EXISTS effort_required_months(date, jsonb);
DROP FUNCTION IF EXISTS effort_cap_years(date, jsonb, date);
DROP FUNCTION IF EXISTS effort_cap_grant_hours(date, jsonb, date);
DROP FUNCTION IF EXISTS effort_grant_rows(text, date, jsonb);

-- The grant as the grant reports show it; NULL when there is no such grant.
CREATE OR REPLACE FUNCTION effort_grant_doc(p_ref text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('grant_ref', g.grant_ref, 'title', g.title,
	       'funder', g.funder, 'start_date', g.start_date, 'end_date', g.end_date)
	  FROM grants g WHERE g.grant_ref = p_ref
$$;

-- ------------------------------------------------------------ grant reconciliation
-- Per person and ended month with a charge or recorded hours on the grant
-- (stage person_month_grant of the people on the grant: assigned, charged
-- or recording hours on it):
--   charged     the charges feed: hours, or fte_fraction x contracted hours
--   recorded    grant entries of more than 0 h on it in the month's latest
--               timesheets
--   evidenced   min(charged, recorded) when the month has at least one
--               timesheet and every latest timesheet of the month is
--               authorised on time and validly (stage timesheet_check);
--               else 0
--   unevidenced charged - evidenced
-- Hours are rounded to 2 decimals per row; totals add the rows as shown.
-- Findings: those of the same people that name the grant, plus those that
-- name no grant and whose period overlaps a month of that person's rows.
-- Unconverted charges: fte_fraction charges to people not in the people
-- feed, which no figure can hold.
DROP FUNCTION IF EXISTS report_grant(text, date, jsonb);
CREATE FUNCTION report_grant(p_ref text, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET jit = off AS $$
DECLARE
	v_grant jsonb := effort_grant_doc(p_ref);
	v_as_of date := (SELECT s.as_of FROM effort_rule_settings(p_as_of, p_params) s);
	v_pp    text[];
	v_doc   jsonb;
BEGIN
	IF v_grant IS NULL THEN
		RETURN effort_refuse(404, format('no such grant: %s', p_ref));
	END IF;
	SELECT array_agg(DISTINCT x.person_id) INTO v_pp
	  FROM (SELECT a.person_id FROM assignments a WHERE a.grant_ref = p_ref
	        UNION SELECT c.person_id FROM charges c WHERE c.grant_ref = p_ref
	        UNION SELECT t.person_id FROM current_timesheets t
	                JOIN timesheet_entries e ON e.timesheet_id = t.timesheet_id
	               WHERE e.kind = 'grant' AND e.activity = p_ref) x;

	WITH stages AS MATERIALIZED (
		SELECT s.* FROM effort_rule_stages(v_as_of, p_params, coalesce(v_pp, '{}')) s
		 WHERE s.stage IN ('finding', 'timesheet_check', 'person_month_grant')
	),
	settings AS (SELECT * FROM effort_rule_settings(v_as_of, p_params)),
	grant_months AS (
		SELECT h.person_id, h.month AS m, h.charged, h.recorded
		  FROM (SELECT (s.person_month_grant).* FROM stages s WHERE s.stage = 'person_month_grant') h
		  CROSS JOIN settings
		 WHERE h.grant_ref = p_ref AND h.month <= settings.last_ended
		   AND (h.charged IS NOT NULL OR h.recorded IS NOT NULL)
	),
	checks AS (SELECT (s.timesheet_check).* FROM stages s WHERE s.stage = 'timesheet_check'),
	month_checks AS (
		SELECT k.person_id, k.month AS m, count(*) AS n,
		       bool_and(k.on_time AND k.valid) AS ok,
		       CASE WHEN bool_or(k.decision = 'rejected') THEN 'rejected'
		            WHEN bool_and(k.is_auth) THEN 'authorised'
		            ELSE 'submitted' END AS status,
		       max(k.submitted_at) AS submitted_at,
		       max(k.decided_at) FILTER (WHERE k.is_auth) AS authorised_at,
		       -- the local day the deadline is judged by (the rules' auth_day)
		       max(k.auth_day) AS authorised_on,
		       max(k.deadline) AS deadline,
		       jsonb_agg(jsonb_build_object('id', k.timesheet_id, 'version', k.version,
		           'period_start', k.period_start, 'period_end', k.period_end,
		           'status', effort_status(k.decision), 'submitted_at', k.submitted_at,
		           'authorised_by', CASE WHEN k.is_auth THEN k.decided_by END,
		           'authorised_at', CASE WHEN k.is_auth THEN k.decided_at END,
		           'deadline', k.deadline, 'on_time', k.on_time, 'valid', k.valid)
		           ORDER BY k.period_start) AS ts
		  FROM checks k
		  JOIN grant_months gm ON gm.person_id = k.person_id AND gm.m = k.month
		 GROUP BY k.person_id, k.month
	),
	rows AS (
		SELECT x.*, x.charged - x.evidenced AS unevidenced, p.name
		  FROM (SELECT gm.person_id, gm.m,
		               round(coalesce(gm.charged, 0), 2) AS charged,
		               round(coalesce(gm.recorded, 0), 2) AS recorded,
		               CASE WHEN coalesce(mc.ok, false)
		                    THEN round(least(coalesce(gm.charged, 0), coalesce(gm.recorded, 0)), 2)
		                    ELSE 0 END AS evidenced,
		               coalesce(mc.status, 'missing') AS status, coalesce(mc.ok, false) AS evidence_ok,
		               mc.submitted_at, mc.authorised_at,
		               (mc.submitted_at AT TIME ZONE settings.timezone)::date AS submitted_on,
		               mc.authorised_on,
		               coalesce(mc.deadline, effort_deadline(effort_month_end(gm.m),
		                                                     settings.authorisation_months)) AS deadline,
		               coalesce(mc.ts, '[]'::jsonb) AS timesheets
		          FROM grant_months gm CROSS JOIN settings
		          LEFT JOIN month_checks mc ON mc.person_id = gm.person_id AND mc.m = gm.m) x
		  LEFT JOIN people p ON p.person_id = x.person_id
	),
	fnd AS (
		SELECT f.* FROM (SELECT (s.finding).* FROM stages s WHERE s.stage = 'finding') f
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
		           'submitted_on', r.submitted_on, 'authorised_on', r.authorised_on,
		           'deadline', r.deadline, 'timesheets', r.timesheets) ORDER BY r.m) AS months
		  FROM rows r GROUP BY r.person_id
	)
	SELECT jsonb_build_object(
		'report', 'grant', 'as_of', v_as_of,
		'grant', v_grant,
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
			         f.grant_ref COLLATE "C" NULLS FIRST, f.period_end) FROM fnd f), '[]'),
		-- charges on a salary share of ended months to people the people
		-- feed has not sent: no contracted hours to convert them (30_rules.sql,
		-- person_month_grants), so in no figure above; listed, not lost
		'unconverted_charges', coalesce((SELECT jsonb_agg(jsonb_build_object(
			'person_id', c.person_id, 'month', to_char(c.month, 'YYYY-MM'),
			'fte_fraction', c.fte_fraction) ORDER BY c.person_id COLLATE "C", c.month)
			FROM charges c
			WHERE c.grant_ref = p_ref AND c.fte_fraction IS NOT NULL
			  AND effort_month_end(c.month) < v_as_of
			  AND NOT EXISTS (SELECT 1 FROM people q WHERE q.person_id = c.person_id)), '[]'))
	  INTO v_doc;
	RETURN v_doc;
END
$$;

-- ------------------------------------------------------------ evidence pack
-- Every timesheet version (latest or not) of a person and period of which
-- some version has a grant entry for the grant, with all its entries,
-- amendment reason, submission, decisions and deadline, oldest first per
-- person and period; and the rows of the
-- audit_log table behind them (sql/002_audit_trail.sql: each version's
-- "created" row and each decision's row, keyed by entity_key.timesheet_id).
DROP FUNCTION IF EXISTS effort_audit_log_rows(bigint[]);
CREATE FUNCTION effort_audit_log_rows(p_ids bigint[])
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'at', a.at,
	       'actor', a.actor, 'action', a.action, 'entity', a.entity,
	       'entity_key', a.entity_key, 'before', a.before, 'after', a.after,
	       'hash', encode(a.hash, 'hex')) ORDER BY a.id), '[]'::jsonb)
	  FROM audit_log a
	 WHERE a.entity IN ('timesheets', 'timesheet_decisions')
	   AND a.entity_key->>'timesheet_id' = ANY (p_ids::text[])
$$;

DROP FUNCTION IF EXISTS report_grant_evidence(text, date, jsonb);
-- (plpgsql, one statement: its calls are counted in pg_stat_user_functions,
-- which tests/t/replication.t reads to see where it ran)
CREATE FUNCTION report_grant_evidence(p_ref text, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET jit = off AS $$
BEGIN
	RETURN (
	WITH settings AS (SELECT * FROM effort_rule_settings(p_as_of, p_params)),
	-- every version of each timesheet (person and period) of which some
	-- version has a grant entry for the grant: a later version that took
	-- the grant's hours away is evidence too (its amendment reason says why)
	versions AS (
		SELECT coalesce(array_agg(t.timesheet_id ORDER BY t.timesheet_id), '{}') AS ids
		  FROM timesheets t
		 WHERE (t.person_id, t.period_start, t.period_end) IN (
			SELECT g.person_id, g.period_start, g.period_end
			  FROM timesheet_entries e
			  JOIN timesheets g ON g.timesheet_id = e.timesheet_id
			 WHERE e.kind = 'grant' AND e.activity = p_ref)
	)
	SELECT CASE WHEN effort_grant_doc(p_ref) IS NULL
	            THEN effort_refuse(404, format('no such grant: %s', p_ref))
	            ELSE jsonb_build_object('report', 'evidence', 'as_of', s.as_of,
		'grant', effort_grant_doc(p_ref),
		'audit_log_available', to_regclass('audit_log') IS NOT NULL,
		'versions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
			'id', t.timesheet_id, 'person_id', t.person_id, 'name', p.name,
			'period_start', t.period_start, 'period_end', t.period_end,
			'version', t.version, 'latest', t.timesheet_id = c.timesheet_id,
			'submitted_at', t.submitted_at, 'received_at', t.received_at,
			'total_hours', t.total_hours, 'amendment_reason', t.amendment_reason,
			'grant_hours', coalesce((SELECT e.hours FROM timesheet_entries e
			                 WHERE e.timesheet_id = t.timesheet_id AND e.kind = 'grant'
			                   AND e.activity = p_ref), 0),
			'status', effort_status((SELECT d.decision FROM timesheet_decisions d
				WHERE d.timesheet_id = t.timesheet_id ORDER BY d.decision_id DESC LIMIT 1)),
			'deadline', effort_deadline(t.period_end, s.authorisation_months),
			'entries', effort_entries_doc(t.timesheet_id),
			'decisions', effort_decisions_doc(t.timesheet_id))
			ORDER BY t.person_id COLLATE "C", t.period_start, t.period_end, t.version), '[]')
		  FROM timesheets t
		  JOIN people p ON p.person_id = t.person_id
		  JOIN current_timesheets c ON c.person_id = t.person_id
		   AND c.period_start = t.period_start AND c.period_end = t.period_end
		 WHERE t.timesheet_id = ANY (v.ids)),
		'audit_log', effort_audit_log_rows(v.ids)) END
	  FROM settings s, versions v);
END
$$;

-- ------------------------------------------------------------ investigators
-- Per investigator for the cap year starting in p_year (month
-- rules.cap_year_start_month), the stages cap_year and cap_year_grant of the
-- people holding pi or co_i: cap with FTE and employment pro rata, grant
-- hours per grant (timesheets and DA estimates), total, headroom = cap -
-- total, projection, and the finding the audit raises for the year.  A
-- cap year that starts after as_of is evaluated as of its start (the same
-- figures: no month of it has ended), without a finding (the audit does
-- not judge it).
DROP FUNCTION IF EXISTS report_investigators(int, date, jsonb);
CREATE FUNCTION report_investigators(p_year int, p_as_of date, p_params jsonb)
RETURNS jsonb LANGUAGE sql STABLE
SET jit = off AS $$
	WITH settings AS (SELECT * FROM effort_rule_settings(p_as_of, p_params)),
	year AS (SELECT make_date(p_year, s.cap_year_start_month, 1) AS ys FROM settings s),
	stages AS MATERIALIZED (
		SELECT st.* FROM settings s
		 CROSS JOIN year
		 CROSS JOIN effort_rule_stages(greatest(s.as_of, year.ys), p_params,
		        ARRAY(SELECT DISTINCT a.person_id FROM assignments a WHERE a.role IN ('pi', 'co_i'))) st
		 WHERE st.stage IN ('cap_year', 'cap_year_grant')
	),
	inv AS (
		SELECT c.*, p.name
		  FROM (SELECT (s.cap_year).* FROM stages s WHERE s.stage = 'cap_year') c
		  JOIN year ON year.ys = c.year_start
		  JOIN people p ON p.person_id = c.person_id
	),
	gh AS (
		SELECT h.* FROM (SELECT (s.cap_year_grant).* FROM stages s WHERE s.stage = 'cap_year_grant') h
		  JOIN year ON year.ys = h.year_start
	)
	SELECT jsonb_build_object('report', 'investigators', 'as_of', s.as_of,
		'year', p_year, 'cap_year_start', year.ys, 'cap_year_end', effort_cap_year_end(year.ys),
		'annual_hours', s.investigator_annual_hours,
		'ended_months', effort_cap_year_ended_months(year.ys, s.last_ended),
		'investigators', coalesce((SELECT jsonb_agg(jsonb_build_object(
			'person_id', i.person_id, 'name', i.name, 'fte', i.fte,
			'employed_days', i.employed_days, 'year_days', i.year_days,
			'cap', round(i.cap, 2),
			'grants', coalesce((SELECT jsonb_agg(jsonb_build_object('grant_ref', g.grant_ref,
				'source', g.source, 'hours', round(g.hours, 2),
				'ended_months_hours', round(g.ended_months_hours, 2))
				ORDER BY g.grant_ref COLLATE "C", g.source)
				FROM gh g WHERE g.person_id = i.person_id), '[]'),
			'grant_hours', round(i.hours, 2),
			'headroom', round(i.cap - i.hours, 2),
			'ended_months', i.ended_months, 'ended_months_hours', round(i.ended_months_hours, 2),
			'projection', round(i.projection, 2),
			'finding', CASE WHEN i.year_start <= s.as_of THEN i.finding END,
			'finding_hours', CASE WHEN i.year_start <= s.as_of AND i.finding IS NOT NULL
			                      THEN i.finding_hours END)
			ORDER BY i.person_id COLLATE "C") FROM inv i), '[]'))
	  FROM settings s, year
$$;

-- ------------------------------------------------------------ compliance
-- For the months overlapping [p_from, p_to]: every person-month that needs
-- a timesheet (an ended month, stage person_month: "required") or has
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
SET jit = off AS $$
DECLARE
	v_as_of date := (SELECT s.as_of FROM effort_rule_settings(p_as_of, p_params) s);
BEGIN
	RETURN (
	WITH prm AS (SELECT * FROM effort_rule_settings(v_as_of, p_params)),
	stages AS MATERIALIZED (
		SELECT s.* FROM effort_rule_stages(v_as_of, p_params, NULL) s
		 WHERE s.stage IN ('finding', 'timesheet_check', 'person_month')
	),
	fnd AS MATERIALIZED (
		SELECT f.* FROM (SELECT (s.finding).* FROM stages s WHERE s.stage = 'finding') f
		 WHERE f.period_start <= p_to AND f.period_end >= p_from
	),
	chk AS MATERIALIZED (
		SELECT k.person_id, k.month AS m, bool_or(k.overdue) AS overdue,
		       bool_or(NOT k.is_auth) AS unauth, bool_or(k.is_auth AND NOT k.on_time) AS late,
		       bool_or(k.is_auth AND NOT k.valid) AS invalid
		  FROM (SELECT (s.timesheet_check).* FROM stages s WHERE s.stage = 'timesheet_check') k
		 WHERE k.month <= p_to AND effort_month_end(k.month) >= p_from
		 GROUP BY k.person_id, k.month
	),
	pm AS MATERIALIZED (
		SELECT r.person_id, r.month AS m, r.required
		  FROM (SELECT (s.person_month).* FROM stages s WHERE s.stage = 'person_month') r
		 WHERE r.month <= p_to AND effort_month_end(r.month) >= p_from
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
