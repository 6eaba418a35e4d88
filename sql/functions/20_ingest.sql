-- Feed ingest: each function stores one whole batch (a jsonb array of
-- records already validated field by field by effortd) in the statement's
-- single transaction, and answers
--   {"accepted":N,"created":C,"updated":U,"unchanged":X,"people":[…]}
-- ("people": whose findings to re-evaluate) or, storing nothing,
--   {"errors":[{"index":i,"field":"…","message":"…"}]}.
-- With p_check_only the batch is only checked: the answer is always
-- {"errors":[…]}, possibly empty (effortd uses it to list the database's
-- objections to the records that passed its own checks when others failed).
-- Fractions (fte, fte_share, fte_fraction) are stored as sent, without
-- trailing zeros (trim_scale: 1.0 from CSV and 1 from JSON are one value).

-- Errors for records whose key repeats an earlier record of the batch.
CREATE OR REPLACE FUNCTION effort_batch_duplicates(p_batch jsonb,
	p_keys text[], p_field text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('index', idx,
		'field', p_field, 'message',
		format('duplicates record %s of this batch', first)) ORDER BY idx), '[]')
	  FROM (SELECT idx, min(idx) OVER (PARTITION BY k) AS first
	          FROM (SELECT (ord - 1)::int AS idx,
	                       (SELECT array_agg(e ->> key) FROM unnest(p_keys) key) AS k
	                  FROM jsonb_array_elements(p_batch) WITH ORDINALITY a(e, ord)) s) d
	 WHERE idx <> first
$$;

CREATE OR REPLACE FUNCTION effort_ingest_result(p_total bigint,
	p_created bigint, p_updated bigint, p_people text[])
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('accepted', p_total, 'created', p_created,
		'updated', p_updated, 'unchanged', p_total - p_created - p_updated,
		'people', to_jsonb(coalesce(p_people, '{}')))
$$;

-- People -----------------------------------------------------------------
DROP FUNCTION IF EXISTS ingest_people(jsonb, bigint);
CREATE OR REPLACE FUNCTION ingest_people(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_errors jsonb := effort_batch_duplicates(p_batch, '{person_id}', 'person_id');
	v_result jsonb;
BEGIN
	PERFORM effort_set_actor(p_token);
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;
	WITH b AS (
		SELECT r.* FROM jsonb_to_recordset(p_batch) AS r(person_id text,
			name text, email text, line_manager_id text, fte numeric,
			employment_start date, employment_end date)),
	old AS (
		SELECT p.person_id, p.line_manager_id FROM people p
		 WHERE p.person_id IN (SELECT person_id FROM b) FOR UPDATE),
	up AS (
		INSERT INTO people AS p (person_id, name, email, line_manager_id,
			fte, employment_start, employment_end)
		SELECT person_id, name, email, line_manager_id, trim_scale(fte),
		       employment_start, employment_end FROM b
		ON CONFLICT (person_id) DO UPDATE SET name = excluded.name,
			email = excluded.email, line_manager_id = excluded.line_manager_id,
			fte = excluded.fte, employment_start = excluded.employment_start,
			employment_end = excluded.employment_end, updated_at = now()
		 WHERE (p.name, p.email, p.line_manager_id, p.fte,
		        p.employment_start, p.employment_end)
		       IS DISTINCT FROM (excluded.name, excluded.email,
		        excluded.line_manager_id, excluded.fte,
		        excluded.employment_start, excluded.employment_end)
		RETURNING p.person_id, (xmax = 0) AS created),
	hist AS (
		INSERT INTO line_manager_history (person_id, line_manager_id, valid_from)
		SELECT b.person_id, b.line_manager_id, now() FROM b
		  LEFT JOIN old USING (person_id)
		 WHERE old.person_id IS NULL
		    OR old.line_manager_id IS DISTINCT FROM b.line_manager_id)
	SELECT effort_ingest_result((SELECT count(*) FROM b),
		count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created),
		array_agg(person_id))
	  INTO v_result FROM up;
	RETURN v_result;
END
$$;

-- Grants -----------------------------------------------------------------
DROP FUNCTION IF EXISTS ingest_grants(jsonb, bigint);
CREATE OR REPLACE FUNCTION ingest_grants(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_errors jsonb := effort_batch_duplicates(p_batch, '{grant_ref}', 'grant_ref');
	v_result jsonb;
BEGIN
	PERFORM effort_set_actor(p_token);
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;
	WITH b AS (
		SELECT r.* FROM jsonb_to_recordset(p_batch) AS r(grant_ref text,
			title text, funder text, start_date date, end_date date)),
	up AS (
		INSERT INTO grants AS g (grant_ref, title, funder, start_date, end_date)
		SELECT grant_ref, title, funder, start_date, end_date FROM b
		ON CONFLICT (grant_ref) DO UPDATE SET title = excluded.title,
			funder = excluded.funder, start_date = excluded.start_date,
			end_date = excluded.end_date, updated_at = now()
		 WHERE (g.title, g.funder, g.start_date, g.end_date) IS DISTINCT FROM
		       (excluded.title, excluded.funder, excluded.start_date,
		        excluded.end_date)
		RETURNING g.grant_ref, (xmax = 0) AS created),
	touched AS (
		SELECT a.person_id FROM assignments a
		 WHERE a.grant_ref IN (SELECT grant_ref FROM up)
		UNION
		SELECT t.person_id FROM timesheet_entries e
		  JOIN timesheets t USING (timesheet_id)
		 WHERE e.kind = 'grant' AND e.activity IN (SELECT grant_ref FROM up))
	SELECT effort_ingest_result((SELECT count(*) FROM b),
		(SELECT count(*) FROM up WHERE created),
		(SELECT count(*) FROM up WHERE NOT created),
		(SELECT array_agg(person_id) FROM touched))
	  INTO v_result;
	RETURN v_result;
END
$$;

-- Assignments ------------------------------------------------------------
DROP FUNCTION IF EXISTS ingest_assignments(jsonb, bigint);
CREATE OR REPLACE FUNCTION ingest_assignments(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_errors jsonb := effort_batch_duplicates(p_batch,
		'{person_id,grant_ref,start_date}', 'start_date');
	v_result jsonb;
BEGIN
	PERFORM effort_set_actor(p_token);
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;
	WITH b AS (
		SELECT r.* FROM jsonb_to_recordset(p_batch) AS r(person_id text,
			grant_ref text, role text, cost_type text, start_date date,
			end_date date, fte_share numeric, estimated_hours_per_year numeric)),
	up AS (
		INSERT INTO assignments AS a (person_id, grant_ref, role, cost_type,
			start_date, end_date, fte_share, estimated_hours_per_year)
		SELECT person_id, grant_ref, role, cost_type, start_date, end_date,
		       trim_scale(fte_share), estimated_hours_per_year FROM b
		ON CONFLICT (person_id, grant_ref, start_date) DO UPDATE SET
			role = excluded.role, cost_type = excluded.cost_type,
			end_date = excluded.end_date, fte_share = excluded.fte_share,
			estimated_hours_per_year = excluded.estimated_hours_per_year,
			updated_at = now()
		 WHERE (a.role, a.cost_type, a.end_date, a.fte_share,
		        a.estimated_hours_per_year) IS DISTINCT FROM
		       (excluded.role, excluded.cost_type, excluded.end_date,
		        excluded.fte_share, excluded.estimated_hours_per_year)
		RETURNING a.person_id, (xmax = 0) AS created)
	SELECT effort_ingest_result((SELECT count(*) FROM b),
		count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created),
		array_agg(DISTINCT person_id))
	  INTO v_result FROM up;
	RETURN v_result;
END
$$;

-- Charges ----------------------------------------------------------------
DROP FUNCTION IF EXISTS ingest_charges(jsonb, bigint);
CREATE OR REPLACE FUNCTION ingest_charges(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_errors jsonb := effort_batch_duplicates(p_batch,
		'{person_id,grant_ref,month}', 'month');
	v_result jsonb;
BEGIN
	PERFORM effort_set_actor(p_token);
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;
	WITH b AS (
		SELECT r.person_id, r.grant_ref, (r.month || '-01')::date AS month,
		       r.fte_fraction, r.hours
		  FROM jsonb_to_recordset(p_batch) AS r(person_id text,
			grant_ref text, month text, fte_fraction numeric, hours numeric)),
	up AS (
		INSERT INTO charges AS c (person_id, grant_ref, month, fte_fraction, hours)
		SELECT person_id, grant_ref, month, trim_scale(fte_fraction), hours FROM b
		ON CONFLICT (person_id, grant_ref, month) DO UPDATE SET
			fte_fraction = excluded.fte_fraction, hours = excluded.hours,
			updated_at = now()
		 WHERE (c.fte_fraction, c.hours) IS DISTINCT FROM
		       (excluded.fte_fraction, excluded.hours)
		RETURNING c.person_id, (xmax = 0) AS created)
	SELECT effort_ingest_result((SELECT count(*) FROM b),
		count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created),
		array_agg(DISTINCT person_id))
	  INTO v_result FROM up;
	RETURN v_result;
END
$$;

-- Delegations ------------------------------------------------------------
-- The HR feed's delegations are the organisation's own record: they count
-- by their dates alone (source 'feed'), also one a manager made first.
DROP FUNCTION IF EXISTS ingest_delegations(jsonb, bigint);
CREATE OR REPLACE FUNCTION ingest_delegations(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_errors jsonb := effort_batch_duplicates(p_batch,
		'{manager_id,delegate_id,start_date}', 'start_date');
	v_result jsonb;
BEGIN
	PERFORM effort_set_actor(p_token);
	IF jsonb_array_length(v_errors) > 0 OR p_check_only THEN
		RETURN jsonb_build_object('errors', v_errors);
	END IF;
	WITH b AS (
		SELECT r.* FROM jsonb_to_recordset(p_batch) AS r(manager_id text,
			delegate_id text, start_date date, end_date date)),
	up AS (
		INSERT INTO delegations AS d (manager_id, delegate_id, start_date, end_date)
		SELECT manager_id, delegate_id, start_date, end_date FROM b
		ON CONFLICT (manager_id, delegate_id, start_date) DO UPDATE SET
			end_date = excluded.end_date, source = 'feed', updated_at = now()
		 WHERE (d.end_date, d.source) IS DISTINCT FROM (excluded.end_date, 'feed')
		RETURNING d.manager_id, (xmax = 0) AS created),
	touched AS (
		SELECT DISTINCT h.person_id FROM line_manager_history h
		 WHERE h.line_manager_id IN (SELECT manager_id FROM up))
	SELECT effort_ingest_result((SELECT count(*) FROM b),
		(SELECT count(*) FROM up WHERE created),
		(SELECT count(*) FROM up WHERE NOT created),
		(SELECT array_agg(person_id) FROM touched))
	  INTO v_result;
	RETURN v_result;
END
$$;
