-- Who may see and decide on whose timesheets.

-- Who managed whom when (stage "line manager periods"): every row of
-- line_manager_history of the people of p_people (NULL: everyone) with the
-- time it is in force, [valid_from, valid_to), valid_to being the next
-- row's valid_from (NULL: still in force); the earliest row (is_first) also
-- answers for any time before effortd first heard of the person.  A NULL
-- line_manager_id: no line manager then (RULES.md, "No line manager"; the
-- manager before is not revived).  Read by effort_line_manager_at and by
-- the authorisation stage of the rules (30_rules.sql).
-- (Two branches, not one OR, so that a generic plan probes the index for a
-- few people: see the people in scope of audit_findings.)
CREATE OR REPLACE FUNCTION effort_line_manager_periods(p_people text[])
RETURNS TABLE (person_id text, line_manager_id text, valid_from timestamptz,
	valid_to timestamptz, is_first boolean)
LANGUAGE sql STABLE AS $$
	SELECT h.person_id, h.line_manager_id, h.valid_from,
	       lead(h.valid_from) OVER w, row_number() OVER w = 1
	  FROM (SELECT h.person_id, h.line_manager_id, h.valid_from FROM line_manager_history h
	         WHERE h.person_id = ANY (p_people)
	        UNION ALL
	        SELECT h.person_id, h.line_manager_id, h.valid_from FROM line_manager_history h
	         WHERE p_people IS NULL AND (p_people IS NULL OR h.valid_from < '-infinity')) h
	WINDOW w AS (PARTITION BY h.person_id ORDER BY h.valid_from)
$$;

-- Whether the period of a line_manager_periods row holds time p_at.
CREATE OR REPLACE FUNCTION effort_period_holds(p_valid_from timestamptz, p_valid_to timestamptz,
	p_is_first boolean, p_at timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT (p_valid_from <= p_at OR p_is_first) AND (p_valid_to IS NULL OR p_at < p_valid_to)
$$;

-- The line manager of p_person at time p_at (NULL: none then).
CREATE OR REPLACE FUNCTION effort_line_manager_at(p_person text, p_at timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT h.line_manager_id FROM effort_line_manager_periods(ARRAY[p_person]) h
	 WHERE effort_period_holds(h.valid_from, h.valid_to, h.is_first, p_at)
$$;

-- Whether p_delegate holds a delegation from p_manager covering local day
-- p_day for an authorisation recorded at p_recorded: one from the HR feed
-- by its dates alone, one a manager made (POST /v1/me/delegations) only
-- when recorded before the authorisation.
CREATE OR REPLACE FUNCTION effort_delegation_covers(p_manager text, p_delegate text,
	p_day date, p_recorded timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM delegations d
	                WHERE d.manager_id = p_manager AND d.delegate_id = p_delegate
	                  AND p_day BETWEEN d.start_date AND d.end_date
	                  AND (d.source = 'feed' OR d.recorded_at < p_recorded))
$$;

-- The authorisation rule itself (stage "authorisation validity", one
-- definition for a decision being made, effort_may_authorise, and for the
-- stored ones the audit checks, 30_rules.sql): p_actor may authorise
-- p_person's timesheet when p_actor is not the person, the person had a
-- line manager when the authorisation was recorded (p_unmanaged_when_recorded
-- false), and p_actor is p_manager_then (the line manager in force when it
-- was made; NULL: none) or holds a delegation of theirs covering p_day.
-- (Inlined where it is called, each argument read once except plain
-- columns, so that the delegation lookup runs only when the actor is not
-- the manager.)
CREATE OR REPLACE FUNCTION effort_authority_valid(p_actor text, p_person text,
	p_manager_then text, p_unmanaged_when_recorded boolean, p_day date, p_recorded timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT p_actor <> p_person AND NOT p_unmanaged_when_recorded
	   AND (coalesce(p_manager_then = p_actor, false)
	        OR effort_delegation_covers(p_manager_then, p_actor, p_day, p_recorded))
$$;

-- May p_actor act as line manager of p_person at time p_at (local date
-- p_day) for an authorisation recorded at p_recorded (now() for one being
-- made)?  effort_authority_valid with the manager in force at p_at.
DROP FUNCTION IF EXISTS effort_may_authorise(text, text, timestamptz, date);
CREATE OR REPLACE FUNCTION effort_may_authorise(p_actor text, p_person text,
	p_at timestamptz, p_day date, p_recorded timestamptz DEFAULT now())
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT effort_authority_valid(p_actor, p_person, effort_line_manager_at(p_person, p_at),
	                              effort_line_manager_at(p_person, p_recorded) IS NULL,
	                              p_day, p_recorded)
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
