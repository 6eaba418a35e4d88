-- Keeping the findings table in step with the rules, and reading violations.

-- Today in the organisation time zone of p_params (default Europe/London).
CREATE OR REPLACE FUNCTION effort_today(p_params jsonb)
RETURNS date LANGUAGE sql STABLE AS $$
	SELECT (now() AT TIME ZONE coalesce(nullif(p_params->>'timezone', ''), 'Europe/London'))::date
$$;

-- Evaluate the rules as of p_as_of (NULL = today in the organisation zone)
-- and reconcile the findings table for the scope (everyone when p_people is
-- NULL, else only the findings of those people):
--   * a finding produced now and not open yet is inserted (opened);
--   * an open finding still produced gets severity, hours, detail and
--     last_seen_at refreshed (updated: every still-produced finding counts);
--   * an open finding no longer produced gets resolved_at = now() (resolved);
--     findings are never deleted, so a finding re-detected after being
--     resolved is a new row with a new first_detected_at.
-- Identity of a finding: (rule, person_id, coalesce(grant_ref, ''),
-- period_start, period_end), as in the unique index findings_open.
-- A full sweep skips ({"skipped": true}) when another full or scoped sweep
-- holds the lock; a scoped sweep waits for it.
DROP FUNCTION IF EXISTS audit_sweep(date, jsonb, text[]);
CREATE FUNCTION audit_sweep(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_as_of    date := coalesce(p_as_of, effort_today(p_params));
	v_opened   bigint;
	v_updated  bigint;
	v_resolved bigint;
	v_open     bigint;
BEGIN
	IF p_people IS NULL THEN
		IF NOT pg_try_advisory_xact_lock(hashtext('effortd.audit_sweep')) THEN
			RETURN jsonb_build_object('skipped', true);
		END IF;
	ELSE
		PERFORM pg_advisory_xact_lock(hashtext('effortd.audit_sweep'));
	END IF;

	-- One statement: every part sees the findings as they were before it.
	WITH cur AS (
		SELECT * FROM audit_findings(v_as_of, p_params, p_people)
	),
	upd AS (
		UPDATE findings f
		   SET severity = c.severity, hours = c.hours, detail = c.detail,
		       last_seen_at = now()
		  FROM cur c
		 WHERE f.resolved_at IS NULL
		   AND f.rule = c.rule AND f.person_id = c.person_id
		   AND coalesce(f.grant_ref, '') = coalesce(c.grant_ref, '')
		   AND f.period_start = c.period_start AND f.period_end = c.period_end
		RETURNING f.finding_id
	),
	res AS (
		UPDATE findings f
		   SET resolved_at = now()
		 WHERE f.resolved_at IS NULL
		   AND (p_people IS NULL OR f.person_id = ANY (p_people))
		   AND NOT EXISTS (SELECT 1 FROM cur c
		                    WHERE f.rule = c.rule AND f.person_id = c.person_id
		                      AND coalesce(f.grant_ref, '') = coalesce(c.grant_ref, '')
		                      AND f.period_start = c.period_start
		                      AND f.period_end = c.period_end)
		RETURNING f.finding_id
	),
	ins AS (
		INSERT INTO findings (rule, person_id, grant_ref, period_start, period_end,
		                      severity, hours, detail, first_detected_at, last_seen_at)
		SELECT c.rule, c.person_id, c.grant_ref, c.period_start, c.period_end,
		       c.severity, c.hours, c.detail, now(), now()
		  FROM cur c
		 WHERE NOT EXISTS (SELECT 1 FROM findings f
		                    WHERE f.resolved_at IS NULL
		                      AND f.rule = c.rule AND f.person_id = c.person_id
		                      AND coalesce(f.grant_ref, '') = coalesce(c.grant_ref, '')
		                      AND f.period_start = c.period_start
		                      AND f.period_end = c.period_end)
		RETURNING finding_id
	)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd), (SELECT count(*) FROM res)
	  INTO v_opened, v_updated, v_resolved;

	SELECT count(*) INTO v_open
	  FROM findings f
	 WHERE f.resolved_at IS NULL
	   AND (p_people IS NULL OR f.person_id = ANY (p_people));

	RETURN jsonb_build_object('as_of', v_as_of, 'opened', v_opened, 'updated', v_updated,
	                          'resolved', v_resolved, 'open', v_open);
END
$$;

-- The violations as of p_as_of, filtered (a NULL filter is no filter):
--   {"as_of": "2025-06-01", "violations": [{rule, severity, person_id,
--    grant_ref, period_start, period_end, hours, detail, first_detected_at,
--    resolved_at}, ...]}
-- sorted by person_id, period_start, rule, grant_ref (NULLs first), text
-- compared bytewise (COLLATE "C").  p_as_of NULL or today (organisation zone):
-- the open rows of findings, as kept by audit_sweep; any other date: the
-- rules evaluated on the fly (findings untouched, first_detected_at null).
-- p_manager: only people effort_managed_people(p_manager, today) returns.
DROP FUNCTION IF EXISTS violations_list(date, jsonb, text, text, text, text, text);
CREATE FUNCTION violations_list(p_as_of date, p_params jsonb, p_rule text DEFAULT NULL,
	p_severity text DEFAULT NULL, p_person text DEFAULT NULL, p_grant text DEFAULT NULL,
	p_manager text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_today date := effort_today(p_params);
	v_as_of date := coalesce(p_as_of, v_today);
	v_list  jsonb;
BEGIN
	WITH src AS (
		SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start, f.period_end,
		       f.hours, f.detail, f.first_detected_at, f.resolved_at
		  FROM findings f
		 WHERE v_as_of = v_today AND f.resolved_at IS NULL
		   AND (p_person IS NULL OR f.person_id = p_person)
		UNION ALL
		SELECT a.rule, a.severity, a.person_id, a.grant_ref, a.period_start, a.period_end,
		       a.hours, a.detail, NULL::timestamptz, NULL::timestamptz
		  FROM audit_findings(v_as_of, p_params,
		                      CASE WHEN p_person IS NOT NULL THEN ARRAY[p_person] END) a
		 WHERE v_as_of <> v_today
	)
	SELECT coalesce(jsonb_agg(jsonb_build_object(
	               'rule', s.rule, 'severity', s.severity, 'person_id', s.person_id,
	               'grant_ref', s.grant_ref, 'period_start', s.period_start,
	               'period_end', s.period_end, 'hours', s.hours, 'detail', s.detail,
	               'first_detected_at', s.first_detected_at, 'resolved_at', s.resolved_at)
	           ORDER BY s.person_id COLLATE "C", s.period_start, s.rule COLLATE "C",
	                    s.grant_ref COLLATE "C" NULLS FIRST, s.period_end), '[]'::jsonb)
	  INTO v_list
	  FROM src s
	 WHERE (p_rule IS NULL OR s.rule = p_rule)
	   AND (p_severity IS NULL OR s.severity = p_severity)
	   AND (p_person IS NULL OR s.person_id = p_person)
	   AND (p_grant IS NULL OR s.grant_ref = p_grant)
	   AND (p_manager IS NULL
	        OR s.person_id IN (SELECT m.person_id FROM effort_managed_people(p_manager, v_today) m));

	RETURN jsonb_build_object('as_of', v_as_of, 'violations', v_list);
END
$$;
