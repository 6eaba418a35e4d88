-- Feed ingest: each function stores one whole batch (records already
-- validated field by field by effortd, staged in feed_stage: see
-- 22_ingest_stage.sql; p_batch NULL, or a jsonb array of them) in the
-- statement's single transaction, and answers
--   {"accepted":N,"created":C,"updated":U,"unchanged":X,"people":[…]}
-- ("people": whose findings to re-evaluate, the re-audit's scope as
-- effort_reaudit_people, 40_audit.sql, reads it) or, storing nothing,
--   {"errors":[{"index":i,"field":"…","message":"…"}]}.
-- With p_check_only the batch is only checked: the answer is always
-- {"errors":[…]}, possibly empty (effortd uses it to list the database's
-- objections to the records that passed its own checks when others failed).
-- Fractions (fte, fte_share, fte_fraction) are stored as sent, without
-- trailing zeros (trim_scale: 1.0 from CSV and 1 from JSON are one value).
--
-- The five simple feeds (people, grants, assignments, charges,
-- delegations) are one upsert of one shape (effort_feed_shape says what
-- differs); timesheets, with versions, are 21_ingest_timesheets.sql.

DROP FUNCTION IF EXISTS effort_ingest_result(bigint, bigint, bigint, text[]);
CREATE OR REPLACE FUNCTION effort_ingest_result(p_total bigint,
	p_created bigint, p_updated bigint, p_people jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('accepted', p_total, 'created', p_created,
		'updated', p_updated, 'unchanged', p_total - p_created - p_updated,
		'people', coalesce(p_people, '[]'))
$$;

-- A simple feed's table, its key columns (the last one is the field a
-- repeated key is reported on), its other columns, the record as sent
-- (jsonb_to_record's column list, as r) and the stored value of each
-- column, keys first, read from r.
DROP FUNCTION IF EXISTS effort_feed_shape(text);
CREATE FUNCTION effort_feed_shape(p_feed text, OUT tab text, OUT keys text[],
	OUT vals text[], OUT rec text, OUT reads text)
RETURNS record LANGUAGE sql IMMUTABLE AS $$
	SELECT s.tab, s.keys, s.vals, s.rec, s.reads FROM (VALUES
		('people', 'people', '{person_id}'::text[],
		 '{name,email,line_manager_id,fte,employment_start,employment_end}'::text[],
		 'person_id text, name text, email text, line_manager_id text, '
		 'fte numeric, employment_start date, employment_end date',
		 'r.person_id, r.name, r.email, r.line_manager_id, trim_scale(r.fte), '
		 'r.employment_start, r.employment_end'),
		('grants', 'grants', '{grant_ref}',
		 '{title,funder,start_date,end_date}',
		 'grant_ref text, title text, funder text, start_date date, end_date date',
		 'r.grant_ref, r.title, r.funder, r.start_date, r.end_date'),
		('assignments', 'assignments', '{person_id,grant_ref,start_date}',
		 '{role,cost_type,end_date,fte_share,estimated_hours_per_year}',
		 'person_id text, grant_ref text, role text, cost_type text, '
		 'start_date date, end_date date, fte_share numeric, '
		 'estimated_hours_per_year numeric',
		 'r.person_id, r.grant_ref, r.start_date, r.role, r.cost_type, '
		 'r.end_date, trim_scale(r.fte_share), r.estimated_hours_per_year'),
		('charges', 'charges', '{person_id,grant_ref,month}',
		 '{fte_fraction,hours}',
		 'person_id text, grant_ref text, month text, fte_fraction numeric, '
		 'hours numeric',
		 'r.person_id, r.grant_ref, (r.month || ''-01'')::date, '
		 'trim_scale(r.fte_fraction), r.hours'),
		-- The HR feed's delegations are the organisation's own record: they
		-- count by their dates alone (source 'feed'), also one a manager
		-- made first.
		('delegations', 'delegations', '{manager_id,delegate_id,start_date}',
		 '{end_date,source}',
		 'manager_id text, delegate_id text, start_date date, end_date date',
		 'r.manager_id, r.delegate_id, r.start_date, r.end_date, ''feed''')
	) s(feed, tab, keys, vals, rec, reads)
	 WHERE s.feed = p_feed
$$;

-- The upsert: the staged records, in key order, into the feed's table; a
-- row whose columns all equal the record's is left alone (not updated,
-- not logged).  Returns the first key column of every row created or
-- updated, and whether it was created.  Key order, not body order: each
-- row is locked as it is reached (also one left alone), so that two
-- batches of the same keys in different orders, on two instances, wait
-- for each other instead of deadlocking (tests/t/races.t).
CREATE OR REPLACE FUNCTION effort_feed_upsert(p_feed text)
RETURNS TABLE (key text, created boolean) LANGUAGE plpgsql AS $$
DECLARE
	v_shape record := effort_feed_shape(p_feed);
BEGIN
	RETURN QUERY EXECUTE format(
		'INSERT INTO %1$I AS t (%2$s, %3$s) '
		'SELECT %4$s FROM feed_stage s, jsonb_to_record(s.rec) AS r(%5$s) '
		' ORDER BY %9$s '
		'ON CONFLICT (%2$s) DO UPDATE SET (%3$s, updated_at) = (%6$s, now()) '
		' WHERE (%7$s) IS DISTINCT FROM (%6$s) '
		'RETURNING t.%8$I::text, (t.xmax = 0)',
		v_shape.tab, array_to_string(v_shape.keys, ', '), array_to_string(v_shape.vals, ', '),
		v_shape.reads, v_shape.rec,
		(SELECT string_agg('excluded.' || quote_ident(v), ', ') FROM unnest(v_shape.vals) v),
		(SELECT string_agg('t.' || quote_ident(v), ', ') FROM unnest(v_shape.vals) v),
		v_shape.keys[1],
		(SELECT string_agg(i::text, ', ') FROM generate_series(1, cardinality(v_shape.keys)) i));
END
$$;

-- A simple feed's ingest.  The people whose findings it touches: the
-- people stored (people, assignments, charges); those assigned to, or
-- with hours on, a grant stored (grants: {"grant": ref}); those whose
-- line manager ever was a manager of a delegation stored (delegations:
-- {"manager": id}).  Whom a grant or a manager reaches is read by the
-- re-audit, after this transaction commits (effort_reaudit_people), not
-- here: a person connected meanwhile by another instance (an assignment,
-- a timesheet, a line manager change), whose own re-audit ran before this
-- commit, would otherwise be re-audited by neither with both seen
-- (tests/t/races2.t).
-- No JIT, as ingest_timesheets (21_ingest_timesheets.sql).
CREATE OR REPLACE FUNCTION ingest_feed(p_feed text, p_batch jsonb,
	p_token bigint, p_check_only boolean)
RETURNS jsonb LANGUAGE plpgsql SET jit = off AS $$
DECLARE
	v_shape record := effort_feed_shape(p_feed);
	v_errors jsonb := feed_stage_begin(p_batch, p_token, v_shape.keys,
		v_shape.keys[cardinality(v_shape.keys)]);
	v_created bigint;
	v_keys text[];
	v_people jsonb;
	v_since timestamptz; -- a line manager change is in force from then
BEGIN
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;
	IF p_feed = 'people' THEN
		-- The batch's people are locked first, in key order, as the
		-- timesheets feed and approvals lock them (the upsert then
		-- creates the new ones in key order).
		PERFORM 1 FROM people p
		 WHERE p.person_id IN (SELECT rec ->> 'person_id' FROM feed_stage)
		 ORDER BY p.person_id FOR UPDATE;
	END IF;
	SELECT count(*) FILTER (WHERE u.created), array_agg(u.key)
	  INTO v_created, v_keys FROM effort_feed_upsert(p_feed) u;
	IF p_feed = 'people' THEN
		-- A person's line manager from now on, when first seen or when
		-- the people table now says another than the history's last:
		-- recorded after the upsert, every person of the batch locked,
		-- so that the history ends where the table does whichever of
		-- two batches for one person (even a new one) is stored last.
		-- "Now" is this moment, not the transaction's start (when the
		-- body began to arrive): a decision on the person recorded
		-- meanwhile was checked against the manager before the change
		-- and stays valid (tests/t/races.t).
		v_since := clock_timestamp();
		-- (for ingest_warnings: the rows this batch added, by their time)
		PERFORM set_config('effortd.manager_since', v_since::text, true);
		INSERT INTO line_manager_history (person_id, line_manager_id, valid_from)
		SELECT p.person_id, p.line_manager_id, v_since
		  FROM people p
		  LEFT JOIN LATERAL (SELECT h.line_manager_id, true AS seen
		                       FROM line_manager_history h
		                      WHERE h.person_id = p.person_id
		                      ORDER BY h.valid_from DESC LIMIT 1) last ON true
		 WHERE p.person_id IN (SELECT rec ->> 'person_id' FROM feed_stage)
		   AND (last.seen IS NULL OR last.line_manager_id IS DISTINCT FROM p.line_manager_id);
	END IF;
	-- statistics for the re-audit when the feed doubled its table
	-- (19_ingest_statistics.sql)
	PERFORM effort_analyze_grown(ARRAY[v_shape.tab]
		|| CASE WHEN p_feed = 'people' THEN '{line_manager_history}'::text[] END);
	v_people := (SELECT jsonb_agg(CASE p_feed
			WHEN 'grants' THEN jsonb_build_object('grant', k)
			WHEN 'delegations' THEN jsonb_build_object('manager', k)
			ELSE to_jsonb(k) END ORDER BY k)
		  FROM (SELECT DISTINCT k FROM unnest(v_keys) k) u);
	RETURN effort_ingest_result((SELECT count(*) FROM feed_stage), v_created,
		coalesce(cardinality(v_keys), 0) - v_created, v_people);
END
$$;

-- ingest_people, ingest_grants, ingest_assignments, ingest_charges and
-- ingest_delegations (p_batch jsonb, p_token bigint, p_check_only boolean):
-- the statements effortd prepares (daemon/statements.c) and spool_ingest
-- call them by name.
DO $$
DECLARE
	v_feed text;
BEGIN
	FOREACH v_feed IN ARRAY '{people,grants,assignments,charges,delegations}'::text[] LOOP
		EXECUTE format('DROP FUNCTION IF EXISTS %I(jsonb, bigint)', 'ingest_' || v_feed);
		EXECUTE format('CREATE OR REPLACE FUNCTION %I(p_batch jsonb, '
			'p_token bigint, p_check_only boolean DEFAULT false) '
			'RETURNS jsonb LANGUAGE sql AS '
			'$f$ SELECT ingest_feed(%L, p_batch, p_token, p_check_only) $f$',
			'ingest_' || v_feed, v_feed);
	END LOOP;
END
$$;

-- The functions the staged batch replaced.
DROP FUNCTION IF EXISTS effort_batch_duplicates(jsonb, text[], text);
