-- Timesheet reads and decisions for GET /v1/timesheets, GET
-- /v1/timesheets/{id}/versions and POST …/approve|reject.  Refusals are
-- answered as {"error": "…", "http_status": N}.

-- Today in the organisation's time zone.  The database setting effort.today
-- (ALTER DATABASE … SET effort.today = 'YYYY-MM-DD'; unset in production)
-- fixes it, so that a walkthrough of the sample (tests/t/desk_tty.t, the
-- month end in docs/effortctl.md) reads the same on any day.
-- plpgsql, not sql: a sql function with a sub-select is never inlined, so
-- each statement that called it planned the settings again (about 0.1 ms,
-- as much as a whole GET /v1/violations); plpgsql keeps the plan.
CREATE OR REPLACE FUNCTION effort_today(p_params jsonb)
RETURNS date LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN coalesce(nullif(current_setting('effort.today', true), '')::date,
		(SELECT s.as_of FROM effort_rule_settings(NULL, p_params) s));
END
$$;

-- The date a sweep audits: p_as_of, else the database's
-- effortd.audit_as_of setting when one is set (only the benchmark sets it,
-- so that every run audits the same day), else today in the organisation
-- zone.  Read by audit_sweep (40_audit.sql) and by feed previews
-- (23_ingest_preview.sql).
CREATE OR REPLACE FUNCTION effort_sweep_date(p_as_of date, p_params jsonb)
RETURNS date LANGUAGE sql STABLE AS $$
	SELECT coalesce(p_as_of, nullif(current_setting('effortd.audit_as_of', true), '')::date,
	                effort_today(p_params))
$$;

CREATE OR REPLACE FUNCTION effort_refuse(p_status int, p_message text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('error', p_message, 'http_status', p_status)
$$;

CREATE OR REPLACE FUNCTION effort_status(p_decision text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(p_decision, 'submitted')
$$;

-- The entries of the timesheet versions p_timesheets, as the API shows
-- them and the audit trail hashes them: {"<timesheet_id>": [{kind,
-- activity, hours}, ...], ...} in entry order (a version without entries
-- is absent).  The one definition of an entry's document; the audit
-- trail's flush (60_audit_log.sql) reads a whole batch's at once.
CREATE OR REPLACE FUNCTION effort_entries_docs(p_timesheets bigint[])
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_object_agg(d.timesheet_id, d.doc), '{}')
	  FROM (SELECT e.timesheet_id, jsonb_agg(jsonb_build_object('kind', e.kind,
	               'activity', e.activity, 'hours', e.hours) ORDER BY e.position) AS doc
	          FROM timesheet_entries e
	         WHERE e.timesheet_id = ANY (p_timesheets)
	         GROUP BY e.timesheet_id) d
$$;

-- The entries of one timesheet version ([] when none).
CREATE OR REPLACE FUNCTION effort_entries_doc(p_timesheet bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(effort_entries_docs(ARRAY[p_timesheet]) -> p_timesheet::text, '[]')
$$;

-- Every decision on a timesheet version, oldest first (its history and the
-- evidence pack, 70_reports.sql).
CREATE OR REPLACE FUNCTION effort_decisions_doc(p_timesheet bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('decision', d.decision,
		'decided_by', d.decided_by, 'decided_at', d.decided_at, 'reason', d.reason,
		'source', d.source, 'recorded_at', d.recorded_at) ORDER BY d.decision_id), '[]')
	  FROM timesheet_decisions d WHERE d.timesheet_id = p_timesheet
$$;

-- One timesheet version as GET /v1/timesheets shows it.
CREATE OR REPLACE FUNCTION effort_timesheet_doc(c current_timesheets, p_params jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', c.timesheet_id, 'person_id', c.person_id,
		'period_start', c.period_start, 'period_end', c.period_end,
		'version', c.version, 'submitted_at', c.submitted_at,
		'total_hours', c.total_hours, 'status', effort_status(c.decision),
		'authorised_by', CASE WHEN c.decision = 'authorised' THEN c.decided_by END,
		'authorised_at', CASE WHEN c.decision = 'authorised' THEN c.decided_at END,
		'rejected_reason', CASE WHEN c.decision = 'rejected' THEN c.decision_reason END,
		'amendment_reason', c.amendment_reason,
		'deadline', effort_deadline(c.period_end,
			(SELECT s.authorisation_months FROM effort_rule_settings(NULL, p_params) s)),
		'entries', effort_entries_doc(c.timesheet_id))
$$;

-- A manager who names someone they do not manage is refused (403) rather
-- than shown an empty list; NULL when there is nothing to refuse.  plpgsql,
-- not SQL: it runs on every listing, and a SQL function that cannot be
-- inlined is planned again at each call (a quarter of a violations read).
CREATE OR REPLACE FUNCTION effort_not_their_staff(p_manager text, p_person text,
	p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF p_manager IS NULL OR p_person IS NULL
	   OR p_person IN (SELECT m.person_id FROM effort_managed_people(p_manager,
	                   effort_today(p_params)) m) THEN
		RETURN NULL;
	END IF;
	RETURN effort_refuse(403, format('%s is not someone you manage', p_person));
END
$$;

-- Is a finding of the period [p_from, p_to] on the timesheet of [p_start,
-- p_end]: inside the calendar month of the timesheet and overlapping its
-- period (the monthly rules: hours, charges, grants, authorisation)?
CREATE OR REPLACE FUNCTION effort_finding_on_timesheet(p_from date, p_to date,
	p_start date, p_end date)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT p_from >= effort_month_start(p_start) AND p_to <= effort_month_end(p_start)
	   AND p_from <= p_end AND p_to >= p_start
$$;

-- The findings on a timesheet as GET /v1/timesheets/{id}/versions and GET
-- /v1/pending show them, [{rule, severity, grant_ref, hours, detail}] by
-- rule and grant: p_findings, the owner's findings as of today
-- (effort_findings_today: the kept ones only while they are current) that
-- are on it (effort_finding_on_timesheet).  The manager's queue reads the
-- findings once for all its timesheets (62_approvals.sql).
DROP FUNCTION IF EXISTS effort_timesheet_findings(text, date, date);
CREATE OR REPLACE FUNCTION effort_timesheet_findings(p_findings rule_finding[])
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('rule', f.rule,
		'severity', f.severity, 'grant_ref', f.grant_ref, 'hours', f.hours,
		'detail', f.detail)
		ORDER BY f.rule COLLATE "C", f.grant_ref COLLATE "C" NULLS FIRST), '[]')
	  FROM unnest(p_findings) f
$$;

-- Is a timesheet with these findings clean: none open but those about its
-- own authorisation being due or overdue, which approving it resolves?
CREATE OR REPLACE FUNCTION effort_findings_clean(p_findings jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_findings) f
	                    WHERE f ->> 'rule' NOT IN ('authorisation_due',
	                                               'authorisation_overdue'))
$$;

-- The contracted hours of p_person over [p_start, p_end] (weekdays inside
-- their employment), two decimals.
CREATE OR REPLACE FUNCTION effort_person_contracted(p_person text,
	p_start date, p_end date, p_params jsonb)
RETURNS numeric LANGUAGE sql STABLE AS $$
	SELECT round(effort_contracted_hours(pe.fte,
		(SELECT s.standard_weekly_hours FROM effort_rule_settings(NULL, p_params) s),
		p_start, p_end, pe.employment_start, pe.employment_end), 2)
	  FROM people pe WHERE pe.person_id = p_person
$$;

-- The spans of local dates in which p_manager was p_person's line manager,
-- from line_manager_history: [from_day, to_day) with to_day NULL while it
-- lasts; the earliest row also covers the time before it
-- (effort_line_manager_periods, as effort_line_manager_at reads it).
CREATE OR REPLACE FUNCTION effort_managed_spans(p_manager text, p_params jsonb)
RETURNS TABLE (person_id text, from_day date, to_day date)
LANGUAGE sql STABLE AS $$
	SELECT h.person_id,
	       CASE WHEN h.is_first THEN '-infinity'::date
	            ELSE (h.valid_from AT TIME ZONE s.timezone)::date END,
	       (h.valid_to AT TIME ZONE s.timezone)::date
	  FROM effort_line_manager_periods(ARRAY(SELECT y.person_id FROM line_manager_history y
	                                          WHERE y.line_manager_id = p_manager)) h
	 CROSS JOIN effort_rule_settings(NULL, p_params) s
	 WHERE h.line_manager_id = p_manager AND h.person_id <> p_manager
$$;

-- May manager p_manager read p_person's timesheet for [p_start, p_end]?
-- Their own; those of the people they manage or hold a delegation for
-- today; and those of the months in which they line-managed the person.
CREATE OR REPLACE FUNCTION effort_may_read(p_manager text, p_person text,
	p_start date, p_end date, p_params jsonb)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT p_manager = p_person
	    OR p_person IN (SELECT m.person_id FROM effort_managed_people(p_manager,
	                    effort_today(p_params)) m)
	    OR EXISTS (SELECT 1 FROM effort_managed_spans(p_manager, p_params) s
	                WHERE s.person_id = p_person AND s.from_day <= p_end
	                  AND (s.to_day IS NULL OR s.to_day > p_start))
$$;

-- current_timesheets for the people of p_people only (a manager's
-- listings): their latest versions read by index.
CREATE OR REPLACE FUNCTION effort_current_of(p_people text[])
RETURNS SETOF current_timesheets LANGUAGE sql STABLE AS $$
	SELECT * FROM current_timesheets c WHERE c.person_id = ANY (p_people)
$$;

-- GET /v1/timesheets.  A manager (p_manager) sees the timesheets
-- effort_may_read lets them read: their own and their staff's (v_current),
-- and the months in which they line-managed someone else (v_others).
CREATE OR REPLACE FUNCTION timesheets_list(p_person text, p_month date,
	p_status text, p_manager text, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_current text[];
	v_others text[];
BEGIN
	IF p_manager IS NULL THEN
		RETURN (SELECT jsonb_build_object('timesheets', coalesce(jsonb_agg(
			effort_timesheet_doc(c, p_params)
			ORDER BY c.person_id, c.period_start, c.period_end), '[]'))
		  FROM current_timesheets c
		 WHERE (p_person IS NULL OR c.person_id = p_person)
		   AND (p_month IS NULL OR (c.period_start >= p_month
		        AND c.period_start < p_month + interval '1 month'))
		   AND (p_status IS NULL OR effort_status(c.decision) = p_status));
	END IF;
	v_current := ARRAY(SELECT p_manager UNION SELECT m.person_id
	                     FROM effort_managed_people(p_manager, effort_today(p_params)) m);
	v_others := ARRAY(SELECT DISTINCT s.person_id
	                    FROM effort_managed_spans(p_manager, p_params) s
	                   WHERE s.person_id <> ALL (v_current));
	IF p_person IS NOT NULL AND NOT (p_person = ANY (v_current)
	                                 OR p_person = ANY (v_others)) THEN
		RETURN effort_not_their_staff(p_manager, p_person, p_params);
	END IF;
	RETURN (SELECT jsonb_build_object('timesheets', coalesce(jsonb_agg(
		effort_timesheet_doc(c, p_params)
		ORDER BY c.person_id, c.period_start, c.period_end), '[]'))
	  FROM effort_current_of(CASE WHEN p_person IS NULL THEN v_current || v_others
	                              ELSE ARRAY[p_person] END) c
	 WHERE (p_month IS NULL OR (c.period_start >= p_month
	        AND c.period_start < p_month + interval '1 month'))
	   AND (p_status IS NULL OR effort_status(c.decision) = p_status)
	   AND (c.person_id = ANY (v_current)
	        OR EXISTS (SELECT 1 FROM effort_managed_spans(p_manager, p_params) s
	                    WHERE s.person_id = c.person_id AND s.from_day <= c.period_end
	                      AND (s.to_day IS NULL OR s.to_day > c.period_start))));
END
$$;

-- What version p_id changed from the version before it (p_prev; NULL for
-- a first version): entries added, removed and whose hours (or kind)
-- changed, matched by activity.
CREATE OR REPLACE FUNCTION effort_version_changes(p_prev bigint, p_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_prev IS NULL THEN NULL ELSE jsonb_build_object(
		'from_version', (SELECT version FROM timesheets WHERE timesheet_id = p_prev),
		'added', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', n.kind,
			'activity', n.activity, 'hours', n.hours) ORDER BY n.position), '[]')
			FROM timesheet_entries n WHERE n.timesheet_id = p_id
			 AND NOT EXISTS (SELECT 1 FROM timesheet_entries o
			                  WHERE o.timesheet_id = p_prev AND o.activity = n.activity)),
		'removed', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', o.kind,
			'activity', o.activity, 'hours', o.hours) ORDER BY o.position), '[]')
			FROM timesheet_entries o WHERE o.timesheet_id = p_prev
			 AND NOT EXISTS (SELECT 1 FROM timesheet_entries n
			                  WHERE n.timesheet_id = p_id AND n.activity = o.activity)),
		'changed', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', n.kind,
			'activity', n.activity, 'hours_before', o.hours, 'hours', n.hours,
			'kind_before', o.kind) ORDER BY n.position), '[]')
			FROM timesheet_entries n JOIN timesheet_entries o
			  ON o.timesheet_id = p_prev AND o.activity = n.activity
			 WHERE n.timesheet_id = p_id
			   AND (o.hours <> n.hours OR o.kind <> n.kind))) END
$$;

CREATE OR REPLACE FUNCTION timesheet_versions(p_id bigint, p_manager text,
	p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	t timesheets;
	v_deadline date;
	v_today date := effort_today(p_params);
BEGIN
	SELECT * INTO t FROM timesheets WHERE timesheet_id = p_id;
	IF NOT FOUND THEN
		RETURN effort_refuse(404, 'no such timesheet');
	END IF;
	IF p_manager IS NOT NULL AND NOT effort_may_read(p_manager, t.person_id,
	   t.period_start, t.period_end, p_params) THEN
		RETURN effort_refuse(403, 'not the timesheet of someone you manage');
	END IF;
	v_deadline := effort_deadline(t.period_end,
		(SELECT s.authorisation_months FROM effort_rule_settings(NULL, p_params) s));
	RETURN jsonb_build_object('timesheet_id', p_id, 'person_id', t.person_id,
		'name', (SELECT name FROM people WHERE person_id = t.person_id),
		'period_start', t.period_start, 'period_end', t.period_end,
		'contracted_hours', effort_person_contracted(t.person_id,
			t.period_start, t.period_end, p_params),
		'deadline', v_deadline, 'days_left', v_deadline - v_today,
		'findings', effort_timesheet_findings(ARRAY(SELECT f
			FROM effort_findings_today(p_params, ARRAY[t.person_id]) f
			WHERE effort_finding_on_timesheet(f.period_start, f.period_end,
			                                  t.period_start, t.period_end))),
		'versions', (
		SELECT jsonb_agg(jsonb_build_object('id', v.timesheet_id,
			'version', v.version, 'submitted_at', v.submitted_at,
			'received_at', v.received_at, 'total_hours', v.total_hours,
			'amendment_reason', v.amendment_reason,
			'status', effort_status((SELECT d.decision FROM timesheet_decisions d
				WHERE d.timesheet_id = v.timesheet_id
				ORDER BY d.decision_id DESC LIMIT 1)),
			'entries', effort_entries_doc(v.timesheet_id),
			'changes', effort_version_changes(v.prev_id, v.timesheet_id),
			'decisions', effort_decisions_doc(v.timesheet_id))
			ORDER BY v.version)
		  FROM (SELECT x.*, lag(x.timesheet_id) OVER (ORDER BY x.version) AS prev_id
		          FROM timesheets x
		         WHERE x.person_id = t.person_id AND x.period_start = t.period_start
		           AND x.period_end = t.period_end) v));
END
$$;

-- A line manager (or active delegate) authorises or rejects the latest
-- version of a timesheet whose period has ended (authorises: once it has
-- been submitted, by its submitted_at).
CREATE OR REPLACE FUNCTION timesheet_decide(p_id bigint, p_decision text,
	p_actor text, p_reason text, p_token bigint, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	t timesheets;
	c current_timesheets;
	v_today date := effort_today(p_params);
BEGIN
	PERFORM effort_set_actor(p_token);
	SELECT * INTO t FROM timesheets WHERE timesheet_id = p_id;
	IF NOT FOUND THEN
		RETURN effort_refuse(404, 'no such timesheet');
	END IF;
	PERFORM 1 FROM people WHERE person_id = t.person_id FOR UPDATE;
	IF t.person_id = p_actor THEN
		RETURN effort_refuse(403, 'you cannot decide on your own timesheet');
	END IF;
	IF NOT effort_may_authorise(p_actor, t.person_id, now(), v_today) THEN
		-- Names nobody: ids must not be mappable to people this way.
		RETURN effort_refuse(403, 'you are not the line manager of this '
			'timesheet''s owner, nor an active delegate of their manager');
	END IF;
	SELECT * INTO c FROM current_timesheets
	 WHERE person_id = t.person_id AND period_start = t.period_start
	   AND period_end = t.period_end;
	IF c.timesheet_id <> p_id THEN
		RETURN effort_refuse(409, format('version %s is superseded by version %s '
			'(timesheet %s)', t.version, c.version, c.timesheet_id));
	ELSIF c.decision = 'authorised' THEN
		RETURN effort_refuse(409, format('already authorised by %s', c.decided_by));
	ELSIF c.decision = 'rejected' THEN
		RETURN effort_refuse(409, format('rejected by %s; it waits for a new version',
			c.decided_by));
	ELSIF v_today <= t.period_end THEN
		RETURN effort_refuse(409, format('the period ends on %s; it cannot be '
			'%s before then', t.period_end, p_decision));
	ELSIF p_decision = 'authorised' AND now() < t.submitted_at THEN
		-- A submitted_at up to a day ahead of this clock is accepted
		-- (clock skew); authorised now, the audit would find it
		-- authorisation_invalid (timestamped before submission).
		RETURN effort_refuse(409, format('it was submitted at %s, after this '
			'moment; it cannot be authorised before then',
			effort_utc_text(t.submitted_at)));
	END IF;
	INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by,
		decided_at, reason, source, token_id)
	VALUES (p_id, p_decision, p_actor, now(), p_reason, 'approval', p_token);
	-- By the view's DISTINCT ON keys, so that only this timesheet's
	-- versions are read (by timesheet_id it would be every one's).
	SELECT * INTO c FROM current_timesheets
	 WHERE person_id = t.person_id AND period_start = t.period_start
	   AND period_end = t.period_end;
	RETURN jsonb_build_object('timesheet', effort_timesheet_doc(c, p_params),
		'people', jsonb_build_array(t.person_id));
END
$$;
