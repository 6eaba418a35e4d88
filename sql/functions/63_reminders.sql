-- Reminders (daemon/reminders.c sends them once a day): each manager gets
-- a digest of the timesheets of their staff (and of managers who delegated
-- to them) that await authorisation and are due within
-- rules.reminder_days or overdue; each member of staff a note of the
-- months they still owe (their timesheet_missing findings as of today:
-- the kept ones while they are current, else evaluated afresh,
-- effort_findings_today in 40_audit.sql; the run at notify.hour may come
-- before the midnight sweep, or while sweeps fail).

-- "1 day", "2 days", "0 days": a count of days in words.
CREATE OR REPLACE FUNCTION effort_days_text(p_days int)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT p_days || CASE WHEN abs(p_days) = 1 THEN ' day' ELSE ' days' END
$$;

-- The items due today, one row per (recipient, item).
CREATE OR REPLACE FUNCTION reminder_items(p_params jsonb)
RETURNS TABLE (recipient_id text, kind text, item text, sort_key text,
	detail jsonb)
LANGUAGE sql STABLE AS $$
	WITH p AS (
		SELECT effort_today(p_params) AS today, s.authorisation_months AS months,
		       s.reminder_days AS days
		  FROM effort_rule_settings(NULL, p_params) s),
	due AS (
		SELECT c.timesheet_id, c.person_id, pe.name, pe.line_manager_id,
		       c.period_start, c.period_end, c.total_hours, p.today,
		       effort_deadline(c.period_end, p.months) AS deadline
		  FROM current_timesheets c
		  JOIN people pe ON pe.person_id = c.person_id
		 CROSS JOIN p
		 WHERE c.decision IS NULL AND c.period_end < p.today
		   AND effort_deadline(c.period_end, p.months) <= p.today + p.days),
	mgr AS (
		SELECT r.recipient_id, due.* FROM due
		 CROSS JOIN LATERAL (
			SELECT due.line_manager_id AS recipient_id
			UNION
			SELECT dl.delegate_id FROM delegations dl
			 WHERE dl.manager_id = due.line_manager_id
			   AND due.today BETWEEN dl.start_date AND dl.end_date) r
		 WHERE r.recipient_id IS NOT NULL AND r.recipient_id <> due.person_id)
	SELECT m.recipient_id, 'manager', 'timesheet:' || m.timesheet_id,
	       to_char(m.deadline, 'YYYY-MM-DD') || m.person_id,
	       jsonb_build_object('timesheet_id', m.timesheet_id,
		'person_id', m.person_id, 'name', m.name,
		'period_start', m.period_start, 'period_end', m.period_end,
		'total_hours', m.total_hours, 'deadline', m.deadline,
		'days_left', m.deadline - m.today, 'overdue', m.deadline < m.today,
		'text', format('timesheet %s: %s %s, %s to %s, %s h; deadline %s (%s)',
			m.timesheet_id, m.person_id, m.name, m.period_start, m.period_end,
			m.total_hours, m.deadline,
			CASE WHEN m.deadline < m.today
			     THEN format('OVERDUE by %s', effort_days_text(m.today - m.deadline))
			     ELSE format('%s left', effort_days_text(m.deadline - m.today)) END))
	  FROM mgr m
	UNION ALL
	SELECT f.person_id, 'staff', 'missing:' || f.period_start,
	       to_char(f.period_start, 'YYYY-MM-DD'),
	       jsonb_build_object('period_start', f.period_start,
		'period_end', f.period_end, 'hours', f.hours,
		'severity', f.severity,
		'deadline', effort_deadline(f.period_end, p.months),
		'text', format('%s to %s: no timesheet for %s contracted hours; '
			'deadline %s%s', f.period_start, f.period_end, f.hours,
			effort_deadline(f.period_end, p.months),
			CASE WHEN f.severity = 'violation' THEN ' (OVERDUE)' ELSE '' END))
	  FROM effort_findings_today(p_params, NULL, 'timesheet_missing') f CROSS JOIN p
$$;

-- The messages of today: {"day": …, "messages": [{recipient_id, name,
-- email, kind, subject, body, items: [...]}]}; each item's "item" is its
-- key in reminder_claims ("timesheet:17", "missing:2026-09-01").  With
-- p_claim, each item is first claimed for (recipient, item, today) in
-- reminder_claims, and only items this call claimed are answered: what
-- another instance (or an earlier run today) sent is never sent again.
CREATE OR REPLACE FUNCTION reminders(p_params jsonb, p_claim boolean)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_today date := effort_today(p_params);
	v_result jsonb;
BEGIN
	WITH items AS (SELECT * FROM reminder_items(p_params)),
	claimed AS (
		INSERT INTO reminder_claims (recipient_id, item, day)
		SELECT i.recipient_id, i.item, v_today FROM items i WHERE p_claim
		ON CONFLICT DO NOTHING
		RETURNING reminder_claims.recipient_id, reminder_claims.item),
	chosen AS (
		SELECT i.* FROM items i
		 WHERE NOT p_claim OR (i.recipient_id, i.item) IN
		       (SELECT c.recipient_id, c.item FROM claimed c)),
	msg AS (
		SELECT ch.recipient_id, ch.kind, pe.name, pe.email,
		       jsonb_agg(ch.detail || jsonb_build_object('item', ch.item)
		                 ORDER BY ch.sort_key, ch.item) AS items,
		       string_agg('  - ' || (ch.detail ->> 'text'), E'\n'
		                  ORDER BY ch.sort_key, ch.item) AS lines,
		       count(*) AS n
		  FROM chosen ch LEFT JOIN people pe ON pe.person_id = ch.recipient_id
		 GROUP BY ch.recipient_id, ch.kind, pe.name, pe.email)
	SELECT jsonb_build_object('day', v_today, 'messages', coalesce(jsonb_agg(
		jsonb_build_object('recipient_id', m.recipient_id, 'name', m.name,
			'email', m.email, 'kind', m.kind,
			'subject', CASE m.kind
				WHEN 'manager' THEN format('effortd: %s timesheet%s await%s your authorisation',
					m.n, CASE WHEN m.n = 1 THEN '' ELSE 's' END,
					CASE WHEN m.n = 1 THEN 's' ELSE '' END)
				ELSE format('effortd: %s month%s without a timesheet', m.n,
					CASE WHEN m.n = 1 THEN '' ELSE 's' END) END,
			'body', format(E'Dear %s,\n\n%s\n\n%s\n\n%s\n',
				coalesce(m.name, m.recipient_id),
				CASE m.kind
					WHEN 'manager' THEN 'These timesheets await your authorisation (soonest deadline first):'
					ELSE 'You still owe timesheets for these months:' END,
				m.lines,
				CASE m.kind
					WHEN 'manager' THEN 'See them with "effortctl pending"; approve with "effortctl approve ID".'
					ELSE 'Please submit them through your timesheet system.' END),
			'items', m.items)
		ORDER BY m.recipient_id, m.kind), '[]'))
	  INTO v_result FROM msg m;
	RETURN v_result;
END
$$;

-- A message that could not be delivered gives its items back: the claims
-- of exactly those items (p_items, a JSON array of their "item" keys) for
-- p_recipient on p_day are deleted, so that the next run (the daily
-- timer's retry, job-reminders.c) claims and sends them again; claims of
-- other items, or those another instance holds for other messages, stay.
-- Answers how many were released.
CREATE OR REPLACE FUNCTION reminders_release(p_recipient text, p_items jsonb,
	p_day date)
RETURNS integer LANGUAGE sql VOLATILE AS $$
	WITH released AS (
		DELETE FROM reminder_claims c
		 WHERE c.recipient_id = p_recipient AND c.day = p_day
		   AND c.item IN (SELECT jsonb_array_elements_text(p_items))
		RETURNING 1)
	SELECT count(*)::int FROM released
$$;
