-- Warnings of a stored feed (docs/api.md, "Warnings"): references to
-- people effortd does not know, which the feed may name before the people
-- feed sends them (a line manager, a delegating manager or their
-- delegate, the person who authorised a timesheet).  effortd calls
-- ingest_warnings(feed) after the feed's ingest function, in the feed's
-- own transaction, so that people the same batch (or an earlier one)
-- stored are known; it reads the staged records (feed_stage, see
-- 22_ingest_stage.sql) and answers at most 1000 warnings
--   [{"index":i | "line":n, "field":"line_manager_id",
--     "message":"unknown person \"E9999\" (not in the people feed yet)"}]
-- in the body's order ("line" for CSV records, which carry "_line").

CREATE OR REPLACE FUNCTION ingest_warning_fields(p_feed text)
RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_feed
		WHEN 'people' THEN '{line_manager_id}'::text[]
		WHEN 'delegations' THEN '{manager_id,delegate_id}'
		WHEN 'timesheets' THEN '{authorised_by}'
		ELSE '{}' END
$$;

-- plpgsql: feed_stage is a temporary table of the feed's transaction.
-- No JIT, as for every ingest function: a large batch against many people
-- costs past jit_above_cost, and compiling took 15-17 ms of its POST.
CREATE OR REPLACE FUNCTION ingest_warnings(p_feed text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	IF cardinality(ingest_warning_fields(p_feed)) = 0 THEN
		RETURN '[]';
	END IF;
	RETURN (
		SELECT coalesce(jsonb_agg(w.warning ORDER BY w.idx, w.ord), '[]')
		  FROM (SELECT s.idx, f.ord,
		               CASE WHEN s.rec ? '_line'
		                    THEN jsonb_build_object('line', (s.rec ->> '_line')::bigint)
		                    ELSE jsonb_build_object('index', s.idx) END
		               || jsonb_build_object('field', f.field, 'message',
		                  format('unknown person "%s" (not in the people feed yet)',
		                         s.rec ->> f.field)) AS warning
		          FROM feed_stage s
		         CROSS JOIN unnest(ingest_warning_fields(p_feed))
		               WITH ORDINALITY f(field, ord)
		         WHERE s.rec ->> f.field IS NOT NULL
		           AND NOT EXISTS (SELECT 1 FROM people p
		                            WHERE p.person_id = s.rec ->> f.field)
		         ORDER BY s.idx, f.ord
		         LIMIT 1000) w);
END
$$;
