-- Warnings of a stored feed (docs/api.md, "Warnings"): references to
-- people effortd does not know, which the feed may name before the people
-- feed sends them (a line manager, a delegating manager or their
-- delegate, the person who authorised a timesheet), and, for people,
-- line managers that form a cycle and line managers that a record ends
-- (its line_manager_id null or left out, where the person had one: an
-- upsert replaces the whole record, and a partial HR record would
-- otherwise silently leave nobody who may approve).  effortd calls
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

-- A people batch's records whose person is, once the batch is stored, on
-- a cycle of line managers (A's manager is B, B's is A): (idx, line, the
-- cycle from that person).  They are accepted, as HR systems' partial
-- updates may close a cycle for a while and the next batch open it again,
-- but each is warned of, in the batch that closes the cycle and in every
-- batch that sends one of its people again while it stays closed.  (A
-- person who is their own line manager is refused: feed-specs.c.)
--
-- Linear in the batch and the people above it, whatever their depth (a
-- walk from each record would cost its depth each: minutes for a chain of
-- 20,000), and only from people who manage someone (no one else can be
-- on a cycle): f maps each of them to their manager, then, by doubling, to
-- the one 2, 4, … 2^17 levels above, dropping those whose chain ends
-- sooner; what f maps to in the end is on a cycle (no chain of people is
-- 2^17 long).  Only the batch's records on one are then walked, to name
-- the cycle, up to 100 people (a longer one by its first 100 and '…').
-- plpgsql: feed_stage is a temporary table of the feed's transaction.
CREATE OR REPLACE FUNCTION ingest_manager_cycles()
RETURNS TABLE (idx integer, line bigint, cycle text[])
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	f jsonb;
	on_cycle text[];
BEGIN
	WITH RECURSIVE up (id, manager) AS (
		SELECT p.person_id, p.line_manager_id
		  FROM feed_stage s
		  JOIN people p ON p.person_id = s.rec ->> 'person_id'
		 WHERE p.line_manager_id IS NOT NULL
		   AND EXISTS (SELECT 1 FROM people q
		                WHERE q.line_manager_id = p.person_id)
		UNION
		SELECT p.person_id, p.line_manager_id
		  FROM up
		  JOIN people p ON p.person_id = up.manager
		 WHERE p.line_manager_id IS NOT NULL
	)
	SELECT jsonb_object_agg(up.id, up.manager) INTO f FROM up;
	FOR k IN 1 .. 17 LOOP
		EXIT WHEN f IS NULL;
		SELECT jsonb_object_agg(e.key, f ->> e.value) INTO f
		  FROM jsonb_each_text(f) e
		 WHERE f ? e.value;
	END LOOP;
	IF f IS NULL THEN
		RETURN;
	END IF;
	SELECT array_agg(DISTINCT e.value) INTO on_cycle FROM jsonb_each_text(f) e;
	RETURN QUERY
	WITH RECURSIVE walk (idx, line, start, cur, path) AS (
		SELECT s.idx, (s.rec ->> '_line')::bigint, p.person_id,
		       p.line_manager_id, ARRAY[p.person_id]
		  FROM feed_stage s
		  JOIN people p ON p.person_id = s.rec ->> 'person_id'
		 WHERE p.person_id = ANY (on_cycle)
		UNION ALL
		SELECT w.idx, w.line, w.start, p.line_manager_id,
		       w.path || p.person_id
		  FROM walk w
		  JOIN people p ON p.person_id = w.cur
		 WHERE NOT w.cur = ANY (w.path)
		   AND p.line_manager_id IS NOT NULL
		   AND cardinality(w.path) < 100
	)
	-- (a walk that has named 100 people without closing is on a longer
	-- cycle: its start is on one; named by those 100 and '…')
	SELECT w.idx, w.line,
	       CASE WHEN w.cur = w.start THEN w.path || w.start ELSE w.path || '…'::text END
	  FROM walk w
	 WHERE w.cur = w.start OR cardinality(w.path) = 100;
END
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
		WITH cycle AS (
			SELECT c.idx, c.line, 1 AS ord, 'line_manager_id' AS field,
			       CASE WHEN c.cycle[cardinality(c.cycle)] = c.cycle[1]
			            THEN 'line managers form a cycle: '
			            ELSE 'line managers form a cycle of more than 100 people: ' END
			       || array_to_string(c.cycle, ' → ') AS message
			  FROM ingest_manager_cycles() c
			 WHERE p_feed = 'people'
		), ended AS (
			-- The history row this batch added (ingest_feed noted its
			-- time) has no manager, and the one before it had one.
			SELECT s.idx, (s.rec ->> '_line')::bigint AS line, 1 AS ord,
			       'line_manager_id' AS field,
			       format('no line manager from now on (it was "%s"): nobody '
			              'may approve this person''s timesheets', before.id) AS message
			  FROM feed_stage s
			  JOIN line_manager_history h
			    ON h.person_id = s.rec ->> 'person_id'
			   AND h.valid_from = nullif(current_setting(
			       'effortd.manager_since', true), '')::timestamptz
			   AND h.line_manager_id IS NULL
			  JOIN LATERAL (SELECT b.line_manager_id AS id
			                  FROM line_manager_history b
			                 WHERE b.person_id = h.person_id
			                   AND b.valid_from < h.valid_from
			                 ORDER BY b.valid_from DESC LIMIT 1) before
			    ON before.id IS NOT NULL
			 WHERE p_feed = 'people'
		), unknown AS (
			SELECT s.idx, (s.rec ->> '_line')::bigint AS line, f.ord, f.field,
			       format('unknown person "%s" (not in the people feed yet)',
			              s.rec ->> f.field) AS message
			  FROM feed_stage s
			 CROSS JOIN unnest(ingest_warning_fields(p_feed))
			       WITH ORDINALITY f(field, ord)
			 WHERE s.rec ->> f.field IS NOT NULL
			   AND NOT EXISTS (SELECT 1 FROM people p
			                    WHERE p.person_id = s.rec ->> f.field)
		)
		SELECT coalesce(jsonb_agg(w.warning ORDER BY w.idx, w.ord), '[]')
		  FROM (SELECT u.idx, u.ord,
		               CASE WHEN u.line IS NOT NULL
		                    THEN jsonb_build_object('line', u.line)
		                    ELSE jsonb_build_object('index', u.idx) END
		               || jsonb_build_object('field', u.field, 'message', u.message)
		               AS warning
		          FROM (SELECT * FROM unknown UNION ALL SELECT * FROM cycle
		                UNION ALL SELECT * FROM ended) u
		         ORDER BY u.idx, u.ord
		         LIMIT 1000) w);
END
$$;
