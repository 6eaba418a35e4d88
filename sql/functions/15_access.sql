-- Who may see and decide on whose timesheets.

-- The line manager of p_person at time p_at: the history row in force then,
-- or, for a time before effortd first heard of the person, the earliest one.
CREATE OR REPLACE FUNCTION effort_line_manager_at(p_person text, p_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce(
		(SELECT line_manager_id FROM line_manager_history
		  WHERE person_id = p_person AND valid_from <= p_at
		  ORDER BY valid_from DESC LIMIT 1),
		(SELECT line_manager_id FROM line_manager_history
		  WHERE person_id = p_person
		  ORDER BY valid_from LIMIT 1))
$$;

-- May p_actor act as line manager of p_person at time p_at (local date
-- p_day)?  True for the line manager in force then and for anyone holding
-- a delegation from that manager covering p_day.  Nobody manages themself.
CREATE OR REPLACE FUNCTION effort_may_authorise(p_actor text, p_person text,
	p_at timestamptz, p_day date)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT p_actor <> p_person AND EXISTS (
		SELECT 1 FROM (SELECT effort_line_manager_at(p_person, p_at) AS m) lm
		 WHERE lm.m = p_actor
		    OR EXISTS (SELECT 1 FROM delegations d
		                WHERE d.manager_id = lm.m AND d.delegate_id = p_actor
		                  AND p_day BETWEEN d.start_date AND d.end_date))
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
