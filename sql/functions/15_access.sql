-- Who may see and decide on whose timesheets.

-- The line manager of p_person at time p_at: the history row in force then,
-- or, for a time before effortd first heard of the person, the earliest one.
-- NULL when that row says the person has no line manager: the manager
-- before is not revived (RULES.md, "No line manager").
CREATE OR REPLACE FUNCTION effort_line_manager_at(p_person text, p_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT line_manager_id FROM line_manager_history
	 WHERE person_id = p_person
	 ORDER BY CASE WHEN valid_from <= p_at THEN 0 ELSE 1 END,
	          CASE WHEN valid_from <= p_at THEN valid_from END DESC, valid_from
	 LIMIT 1
$$;

-- May p_actor act as line manager of p_person at time p_at (local date
-- p_day) for an authorisation recorded at p_recorded?  True for the line
-- manager in force at p_at and for anyone holding a delegation from that
-- manager covering p_day: one from the HR feed by its dates alone, one a
-- manager made (POST /v1/me/delegations) only when recorded before the
-- authorisation (p_recorded: now() for one being made).  Never while the person has no line manager, at p_at or
-- when the authorisation was recorded; nobody manages themself.
DROP FUNCTION IF EXISTS effort_may_authorise(text, text, timestamptz, date);
CREATE OR REPLACE FUNCTION effort_may_authorise(p_actor text, p_person text,
	p_at timestamptz, p_day date, p_recorded timestamptz DEFAULT now())
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT p_actor <> p_person
	   AND effort_line_manager_at(p_person, p_recorded) IS NOT NULL
	   AND EXISTS (
		SELECT 1 FROM (SELECT effort_line_manager_at(p_person, p_at) AS m) lm
		 WHERE lm.m = p_actor
		    OR EXISTS (SELECT 1 FROM delegations d
		                WHERE d.manager_id = lm.m AND d.delegate_id = p_actor
		                  AND p_day BETWEEN d.start_date AND d.end_date
		                  AND (d.source = 'feed' OR d.recorded_at < p_recorded)))
$$;

-- The people p_manager may see today: those they line-manage now and those
-- of managers who delegated to them for a period covering p_day.
CREATE OR REPLACE FUNCTION effort_managed_people(p_manager text, p_day date)
RETURNS TABLE (person_id text) LANGUAGE sql STABLE AS $$
	SELECT p.person_id FROM people p
	 WHERE p.line_manager_id = p_manager AND p.person_id <> p_manager
	UNION
	SELECT p.person_id FROM people p
	  JOIN delegations d ON d.manager_id = p.line_manager_id
	 WHERE d.delegate_id = p_manager AND p.person_id <> p_manager
	   AND p_day BETWEEN d.start_date AND d.end_date
$$;
