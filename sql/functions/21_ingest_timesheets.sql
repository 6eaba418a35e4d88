-- Timesheet ingest, with versions (RULES.md, "Timesheet shape" and the
-- second edition's "An authorisation belongs to one version, and versions
-- only move forward").  Per record, against the stored versions of its
-- (person, period):
--   * same entries and submitted_at as a stored version (any, current or
--     not), no authorisation or one recorded for that version
--                                                   -> nothing     (unchanged)
--   * no version yet                                -> version 1   (created)
--   * entries equal to the current version's (whatever submitted_at)
--       carrying an authorisation the current version lacks
--                                                   -> authorisation recorded (updated)
--       otherwise                                   -> nothing     (unchanged)
--   * entries differ from the current version's     -> version N+1 (updated);
--     when the current version is authorised, only with amendment_reason
-- and refused (422, nothing stored):
--   * other entries with a submitted_at earlier than the current version's
--     (stale; a later submitted_at with an earlier version's entries is an
--     ordinary amendment, a revert)                  -> submitted_at
--   * an authorisation equal to one recorded for a version other than the
--     one it would now be recorded for (it belongs to that version)
--                                                   -> authorised_at
--   * an authorisation of a version a manager rejected -> authorised_by
--   * submitted_at or authorised_at more than a day after receipt
--                                                   -> that field
-- Entries are compared as a set of (activity, kind, hours).  Versions are
-- never updated or deleted; the people of the batch are locked first so
-- that concurrent batches for one person cannot both create version N+1.

-- A timesheet's entries in a canonical form for comparison.
CREATE OR REPLACE FUNCTION effort_entries_canon(p_entries jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_array(e ->> 'activity', e ->> 'kind',
		round((e ->> 'hours')::numeric, 2)) ORDER BY e ->> 'activity'), '[]')
	  FROM jsonb_array_elements(p_entries) e
$$;

CREATE OR REPLACE FUNCTION effort_version_canon(p_timesheet bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_array(activity, kind, hours)
		ORDER BY activity), '[]')
	  FROM timesheet_entries WHERE timesheet_id = p_timesheet
$$;

-- A time as the errors quote it: UTC, to the second.
CREATE OR REPLACE FUNCTION effort_utc_text(p_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

DROP FUNCTION IF EXISTS ingest_timesheets(jsonb, bigint);
-- No JIT: the planner does not know how many records are staged (it
-- guesses from the table's size, ten times too many), and compiling the
-- plan's expressions for that guess cost more than the whole batch.
CREATE OR REPLACE FUNCTION ingest_timesheets(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql SET jit = off AS $$
DECLARE
	v_errors jsonb := feed_stage_begin(p_batch, p_token,
		'{person_id,period_start,period_end}', 'period_start');
	v_result jsonb;
BEGIN
	IF jsonb_array_length(v_errors) > 0 THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;

	PERFORM 1 FROM people
	 WHERE person_id IN (SELECT rec ->> 'person_id' FROM feed_stage)
	 ORDER BY person_id FOR UPDATE;

	-- The plan: one row per record, in a table of the session emptied at
	-- commit (as feed_stage: see 22_ingest_stage.sql).
	IF to_regclass('pg_temp.effort_ts_plan') IS NULL THEN
		CREATE TEMP TABLE effort_ts_plan (
			idx int, person_id text, period_start date, period_end date,
			submitted_at timestamptz, authorised_by text, authorised_at timestamptz,
			amendment_reason text, entries jsonb, total numeric,
			cur_id bigint, cur_version int, cur_submitted timestamptz,
			cur_decision text, cur_by text, cur_at timestamptz,
			same boolean, known boolean, exact boolean, auth_version int,
			action text, target_version int
		) ON COMMIT DELETE ROWS;
	ELSE
		DELETE FROM effort_ts_plan;
	END IF;

	-- same: entries equal to the current version's; exact: entries and
	-- submitted_at equal to a stored version's and the authorisation, if
	-- any, recorded for it; auth_version: the latest version the record's
	-- authorisation is recorded for.
	INSERT INTO effort_ts_plan
	SELECT b.idx, b.person_id, b.period_start, b.period_end, b.submitted_at,
	       b.authorised_by, b.authorised_at, b.amendment_reason, b.entries,
	       (SELECT coalesce(sum((e ->> 'hours')::numeric), 0)
	          FROM jsonb_array_elements(b.entries) e),
	       c.timesheet_id, c.version, c.submitted_at, c.decision, c.decided_by,
	       c.decided_at,
	       c.timesheet_id IS NOT NULL AND
	         effort_entries_canon(b.entries) = effort_version_canon(c.timesheet_id),
	       EXISTS (SELECT 1 FROM people p WHERE p.person_id = b.person_id),
	       EXISTS (SELECT 1 FROM timesheets v
	                WHERE v.person_id = b.person_id AND v.period_start = b.period_start
	                  AND v.period_end = b.period_end AND v.submitted_at = b.submitted_at
	                  AND effort_version_canon(v.timesheet_id) = effort_entries_canon(b.entries)
	                  AND (b.authorised_by IS NULL OR EXISTS (
	                       SELECT 1 FROM timesheet_decisions d
	                        WHERE d.timesheet_id = v.timesheet_id AND d.decision = 'authorised'
	                          AND d.decided_by = b.authorised_by
	                          AND d.decided_at = b.authorised_at))),
	       (SELECT max(v.version) FROM timesheets v
	          JOIN timesheet_decisions d ON d.timesheet_id = v.timesheet_id
	         WHERE v.person_id = b.person_id AND v.period_start = b.period_start
	           AND v.period_end = b.period_end AND d.decision = 'authorised'
	           AND d.decided_by = b.authorised_by AND d.decided_at = b.authorised_at),
	       NULL, NULL
	  FROM (SELECT s.idx, r.*
	          FROM feed_stage s,
	               jsonb_to_record(s.rec) AS r(person_id text, period_start date,
	                 period_end date, submitted_at timestamptz,
	                 authorised_by text, authorised_at timestamptz,
	                 amendment_reason text, entries jsonb)) b
	  -- the current version of the key (12_timesheet_latest.sql)
	  LEFT JOIN timesheet_latest c
	    ON c.person_id = b.person_id AND c.period_start = b.period_start
	   AND c.period_end = b.period_end;
	-- (the planner learns the batch's size: see 22_ingest_stage.sql)
	ANALYZE effort_ts_plan (idx);

	SELECT coalesce(jsonb_agg(err ORDER BY (err ->> 'index')::int), '[]')
	  INTO v_errors
	  FROM (SELECT jsonb_build_object('index', idx, 'field', 'person_id',
	               'message', format('unknown person "%s": send it in the people feed first', person_id)) AS err
	          FROM effort_ts_plan WHERE NOT known
	        UNION ALL
	        SELECT jsonb_build_object('index', idx, 'field', x.field,
	               'message', format('%s is more than one day after effortd received '
	                 'it (%s)', effort_utc_text(x.at), effort_utc_text(now())))
	          FROM effort_ts_plan
	         CROSS JOIN LATERAL (VALUES ('submitted_at', submitted_at),
	                                    ('authorised_at', authorised_at)) x(field, at)
	         WHERE known AND x.at > now() + interval '1 day'
	        UNION ALL
	        SELECT jsonb_build_object('index', idx, 'field', 'submitted_at',
	               'message', format('version %s, submitted %s, is newer', cur_version,
	                 effort_utc_text(cur_submitted)))
	          FROM effort_ts_plan
	         WHERE known AND NOT exact AND NOT same AND submitted_at < cur_submitted
	        UNION ALL
	        SELECT jsonb_build_object('index', idx, 'field', 'authorised_at',
	               'message', format('this authorisation is recorded for version %s; '
	                 'an amendment must be authorised afresh', auth_version))
	          FROM effort_ts_plan
	         WHERE known AND NOT exact AND auth_version IS NOT NULL
	           AND NOT (same AND auth_version = cur_version)
	        UNION ALL
	        SELECT jsonb_build_object('index', idx, 'field', 'authorised_by',
	               'message', format('version %s of this timesheet was rejected by %s '
	                 'at %s; a feed may not authorise it: send a new version with '
	                 'different entries', cur_version, cur_by, effort_utc_text(cur_at)))
	          FROM effort_ts_plan
	         WHERE known AND NOT exact AND same AND cur_decision = 'rejected'
	           AND authorised_by IS NOT NULL
	        UNION ALL
	        SELECT jsonb_build_object('index', idx, 'field', 'amendment_reason',
	               'message', format('version %s of this timesheet is authorised; '
	                 'an amendment needs an amendment_reason', cur_version))
	          FROM effort_ts_plan
	         WHERE known AND NOT exact AND NOT same AND cur_decision = 'authorised'
	           -- (blank: spaces, tabs, CR and LF alone, as a reject's reason)
	           AND coalesce(btrim(amendment_reason, E' \t\r\n'), '') = ''
	        UNION ALL
	        SELECT jsonb_build_object('index', idx, 'field', 'authorised_by',
	               'message', format('version %s of this timesheet is already '
	                 'authorised by %s at %s', cur_version, cur_by,
	                 effort_utc_text(cur_at)))
	          FROM effort_ts_plan
	         WHERE known AND NOT exact AND same AND cur_decision = 'authorised'
	           AND authorised_by IS NOT NULL
	           AND (authorised_by, authorised_at) IS DISTINCT FROM (cur_by, cur_at)) e;
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;

	UPDATE effort_ts_plan SET
		action = CASE
			WHEN exact THEN 'none'
			WHEN cur_id IS NULL THEN 'create'
			WHEN NOT same THEN 'amend'
			WHEN authorised_by IS NOT NULL AND cur_decision IS NULL THEN 'authorise'
			ELSE 'none' END,
		target_version = CASE WHEN cur_id IS NULL THEN 1
			WHEN NOT same AND NOT exact THEN cur_version + 1 ELSE cur_version END;

	WITH ins AS (
		INSERT INTO timesheets (person_id, period_start, period_end, version,
			submitted_at, amendment_reason, total_hours, token_id)
		SELECT person_id, period_start, period_end, target_version,
		       submitted_at, amendment_reason, total, p_token
		  FROM effort_ts_plan WHERE action IN ('create', 'amend')
		RETURNING timesheet_id, person_id, period_start, period_end)
	INSERT INTO timesheet_entries (timesheet_id, position, kind, activity, hours)
	SELECT ins.timesheet_id, (x.ord - 1)::int, x.e ->> 'kind', x.e ->> 'activity',
	       (x.e ->> 'hours')::numeric
	  FROM ins JOIN effort_ts_plan p USING (person_id, period_start, period_end),
	       jsonb_array_elements(p.entries) WITH ORDINALITY x(e, ord);

	INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by,
		decided_at, source, token_id)
	SELECT t.timesheet_id, 'authorised', p.authorised_by, p.authorised_at,
	       'feed', p_token
	  FROM effort_ts_plan p
	  -- the version by its key: an index probe each, not a scan of every
	  -- timesheet stored (LIMIT keeps the planner from making it a join)
	  CROSS JOIN LATERAL (SELECT t.timesheet_id FROM timesheets t
	                       WHERE t.person_id = p.person_id
	                         AND t.period_start = p.period_start
	                         AND t.period_end = p.period_end
	                         AND t.version = p.target_version LIMIT 1) t
	 WHERE p.action <> 'none' AND p.authorised_by IS NOT NULL;

	-- statistics for the re-audit when the feed doubled a table
	-- (19_ingest_statistics.sql)
	PERFORM effort_analyze_grown('{timesheets,timesheet_entries,timesheet_decisions}');

	SELECT effort_ingest_result(count(*),
		count(*) FILTER (WHERE action = 'create'),
		count(*) FILTER (WHERE action IN ('amend', 'authorise')),
		jsonb_agg(DISTINCT person_id) FILTER (WHERE action <> 'none'))
	  INTO v_result FROM effort_ts_plan;
	RETURN v_result;
END
$$;
