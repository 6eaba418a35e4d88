-- Timesheet reads and decisions for GET /v1/timesheets, GET
-- /v1/timesheets/{id}/versions and POST …/approve|reject.  Refusals are
-- answered as {"error": "…", "http_status": N}.

CREATE OR REPLACE FUNCTION effort_today(p_params jsonb)
RETURNS date LANGUAGE sql STABLE AS $$
	SELECT (now() AT TIME ZONE coalesce(p_params ->> 'timezone', 'Europe/London'))::date
$$;

CREATE OR REPLACE FUNCTION effort_refuse(p_status int, p_message text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('error', p_message, 'http_status', p_status)
$$;

CREATE OR REPLACE FUNCTION effort_status(p_decision text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(p_decision, 'submitted')
$$;

CREATE OR REPLACE FUNCTION effort_entries_doc(p_timesheet bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('kind', kind,
		'activity', activity, 'hours', hours) ORDER BY position), '[]')
	  FROM timesheet_entries WHERE timesheet_id = p_timesheet
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
			coalesce((p_params ->> 'authorisation_months')::int, 2)),
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

CREATE OR REPLACE FUNCTION timesheets_list(p_person text, p_month date,
	p_status text, p_manager text, p_params jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(effort_not_their_staff(p_manager, p_person, p_params),
	       (SELECT jsonb_build_object('timesheets', coalesce(jsonb_agg(
		effort_timesheet_doc(c, p_params)
		ORDER BY c.person_id, c.period_start, c.period_end), '[]'))
	  FROM current_timesheets c
	 WHERE (p_person IS NULL OR c.person_id = p_person)
	   AND (p_month IS NULL OR (c.period_start >= p_month
	        AND c.period_start < p_month + interval '1 month'))
	   AND (p_status IS NULL OR effort_status(c.decision) = p_status)
	   AND (p_manager IS NULL OR c.person_id IN
	        (SELECT m.person_id FROM effort_managed_people(p_manager,
	                effort_today(p_params)) m))))
$$;

CREATE OR REPLACE FUNCTION timesheet_versions(p_id bigint, p_manager text,
	p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	t timesheets;
BEGIN
	SELECT * INTO t FROM timesheets WHERE timesheet_id = p_id;
	IF NOT FOUND THEN
		RETURN effort_refuse(404, 'no such timesheet');
	END IF;
	IF p_manager IS NOT NULL AND t.person_id NOT IN
	   (SELECT m.person_id FROM effort_managed_people(p_manager, effort_today(p_params)) m) THEN
		RETURN effort_refuse(403, 'not the timesheet of someone you manage');
	END IF;
	RETURN jsonb_build_object('timesheet_id', p_id, 'person_id', t.person_id,
		'period_start', t.period_start, 'period_end', t.period_end,
		'deadline', effort_deadline(t.period_end,
			coalesce((p_params ->> 'authorisation_months')::int, 2)),
		'versions', (
		SELECT jsonb_agg(jsonb_build_object('id', v.timesheet_id,
			'version', v.version, 'submitted_at', v.submitted_at,
			'received_at', v.received_at, 'total_hours', v.total_hours,
			'amendment_reason', v.amendment_reason,
			'status', effort_status((SELECT d.decision FROM timesheet_decisions d
				WHERE d.timesheet_id = v.timesheet_id
				ORDER BY d.decision_id DESC LIMIT 1)),
			'entries', effort_entries_doc(v.timesheet_id),
			'decisions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
				'decision', d.decision, 'decided_by', d.decided_by,
				'decided_at', d.decided_at, 'reason', d.reason,
				'source', d.source, 'recorded_at', d.recorded_at)
				ORDER BY d.decision_id), '[]')
				FROM timesheet_decisions d WHERE d.timesheet_id = v.timesheet_id))
			ORDER BY v.version)
		  FROM timesheets v
		 WHERE v.person_id = t.person_id AND v.period_start = t.period_start
		   AND v.period_end = t.period_end));
END
$$;

-- A line manager (or active delegate) authorises or rejects the latest
-- version of a timesheet whose period has ended.
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
		RETURN effort_refuse(409, 'rejected; it waits for a new version');
	ELSIF v_today <= t.period_end THEN
		RETURN effort_refuse(409, format('the period ends on %s; it cannot be '
			'%s before then', t.period_end, p_decision));
	END IF;
	INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by,
		decided_at, reason, source, token_id)
	VALUES (p_id, p_decision, p_actor, now(), p_reason, 'approval', p_token);
	SELECT * INTO c FROM current_timesheets WHERE timesheet_id = p_id;
	RETURN jsonb_build_object('timesheet', effort_timesheet_doc(c, p_params),
		'people', jsonb_build_array(t.person_id));
END
$$;
