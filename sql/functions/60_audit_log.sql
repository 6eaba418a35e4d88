-- The audit trail (table audit_log, sql/002_audit_trail.sql): appending to
-- the hash chain, the row trigger of the audited tables, verification and
-- reads for GET /v1/audit and GET /v1/audit/verify.

-- Who is acting: what effort_set_actor (05_tokens.sql) put in the
-- transaction-local setting effortd.actor, plus the database role; a
-- change made directly in SQL has only the database role.
CREATE OR REPLACE FUNCTION effort_actor()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(nullif(current_setting('effortd.actor', true), '')::jsonb,
		'{}'::jsonb) || jsonb_build_object('db_user', current_user::text)
$$;

-- A row's canonical content: what its hash covers, as UTF-8 bytes of one
-- JSON array (jsonb text is deterministic; the time is written in UTC so
-- that the session's TimeZone does not matter).
CREATE OR REPLACE FUNCTION audit_canon(a audit_log)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT convert_to(jsonb_build_array(a.id,
		to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		a.actor, a.action, a.entity, a.entity_key, a.before, a.after)::text,
		'UTF8')
$$;

-- hash = sha256(prev_hash || canonical content); the first row has no
-- prev_hash.
CREATE OR REPLACE FUNCTION audit_hash(a audit_log)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT sha256(coalesce(a.prev_hash, '\x'::bytea) || audit_canon(a))
$$;

-- Appends one row.  The advisory lock (held to the end of the transaction)
-- makes appends one at a time, so each row's prev_hash is the hash of the
-- row with the next lower id: the chain stays linear under concurrency.
CREATE OR REPLACE FUNCTION audit_append(p_action text, p_entity text,
	p_key jsonb, p_before jsonb, p_after jsonb, p_actor jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	v audit_log;
BEGIN
	PERFORM pg_advisory_xact_lock(7046372004);
	SELECT a.hash INTO v.prev_hash FROM audit_log a ORDER BY a.id DESC LIMIT 1;
	v.id := nextval(pg_get_serial_sequence('audit_log', 'id'));
	v.at := clock_timestamp();
	v.actor := coalesce(p_actor, effort_actor());
	v.action := p_action;
	v.entity := p_entity;
	v.entity_key := p_key;
	v.before := p_before;
	v.after := p_after;
	v.hash := audit_hash(v);
	INSERT INTO audit_log VALUES (v.*);
	RETURN v.id;
END
$$;

-- The row trigger of every audited table (created in 002_audit_trail.sql,
-- deferred to commit).  TG_ARGV names the key columns.  Updates that change
-- nothing but updated_at/last_used_at are not logged; token hashes never
-- are; a timesheet version is logged with its entries.
CREATE OR REPLACE FUNCTION effort_audit_row()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	v_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'token_hash' END;
	v_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'token_hash' END;
	v_key jsonb;
	v_action text := CASE TG_OP WHEN 'INSERT' THEN 'created'
		WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
BEGIN
	IF TG_OP = 'UPDATE' AND v_old - '{updated_at,last_used_at}'::text[]
	   = v_new - '{updated_at,last_used_at}'::text[] THEN
		RETURN NULL;
	END IF;
	SELECT jsonb_object_agg(k, coalesce(v_new, v_old) -> k) INTO v_key
	  FROM unnest(TG_ARGV) k;
	IF TG_TABLE_NAME = 'timesheets' AND v_new IS NOT NULL THEN
		v_new := v_new || jsonb_build_object('entries',
			effort_entries_doc((v_new ->> 'timesheet_id')::bigint));
	ELSIF TG_TABLE_NAME = 'timesheet_decisions' AND TG_OP = 'INSERT' THEN
		v_action := v_new ->> 'decision';
	ELSIF TG_TABLE_NAME = 'tokens' AND TG_OP = 'UPDATE'
	      AND v_old ->> 'revoked_at' IS NULL AND v_new ->> 'revoked_at' IS NOT NULL THEN
		v_action := 'revoked';
	END IF;
	PERFORM audit_append(v_action, TG_TABLE_NAME, v_key, v_old, v_new);
	RETURN NULL;
END
$$;

-- A configuration reload (the daemon calls this after a successful SIGHUP).
CREATE OR REPLACE FUNCTION audit_config_reload(p_path text, p_before jsonb,
	p_after jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	RETURN jsonb_build_object('id', audit_append('reloaded', 'config',
		jsonb_build_object('path', p_path), p_before, p_after,
		jsonb_build_object('process', 'effortd', 'db_user', current_user::text)));
END
$$;

-- Walks the chain in one ordered pass: the first row whose hash does not
-- match its content, or whose prev_hash is not the hash of the row before
-- it (a row altered, inserted or removed), is named.
CREATE OR REPLACE FUNCTION audit_verify()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH c AS (
		SELECT a.id, a.prev_hash, a.hash, audit_hash(a) AS expect,
		       lag(a.hash) OVER w AS lag_hash, lag(a.id) OVER w AS lag_id
		  FROM audit_log a WINDOW w AS (ORDER BY a.id)),
	bad AS (
		SELECT id, CASE
			WHEN hash IS DISTINCT FROM expect THEN format(
				'row %s does not match its hash: it was altered', id)
			WHEN lag_id IS NULL THEN format('row %s is the first but has a '
				'prev_hash: rows before it were removed', id)
			ELSE format('row %s: prev_hash is not the hash of row %s: a row '
				'between them was removed or row %s was rewritten', id,
				lag_id, lag_id) END AS reason
		  FROM c
		 WHERE hash IS DISTINCT FROM expect OR prev_hash IS DISTINCT FROM lag_hash
		 ORDER BY id LIMIT 1)
	SELECT jsonb_build_object('ok', NOT EXISTS (SELECT 1 FROM bad),
		'rows', (SELECT count(*) FROM audit_log),
		'first_broken_id', (SELECT id FROM bad),
		'reason', (SELECT reason FROM bad),
		'last_id', (SELECT max(id) FROM audit_log),
		'last_hash', (SELECT encode(hash, 'hex') FROM audit_log
		               ORDER BY id DESC LIMIT 1))
$$;

-- GET /v1/audit: the latest p_limit rows (shown oldest first) about a
-- person (their records, timesheets, decisions, delegations, tokens), a
-- timesheet (every version of its person and period, and their
-- decisions), since a local date.
CREATE OR REPLACE FUNCTION audit_list(p_person text, p_timesheet bigint,
	p_since date, p_limit int, p_params jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH ts AS (
		SELECT v.timesheet_id FROM timesheets t
		  JOIN timesheets v USING (person_id, period_start, period_end)
		 WHERE t.timesheet_id = p_timesheet),
	sel AS (
		SELECT a.* FROM audit_log a,
		       LATERAL (SELECT coalesce(a.after, a.before) AS r) x
		 WHERE (p_since IS NULL OR a.at >= (p_since::timestamp AT TIME ZONE
		        coalesce(nullif(p_params ->> 'timezone', ''), 'Europe/London')))
		   AND (p_person IS NULL
		        OR p_person IN (x.r ->> 'person_id', x.r ->> 'manager_id',
		                        x.r ->> 'delegate_id')
		        OR (a.entity = 'timesheet_decisions'
		            AND (x.r ->> 'timesheet_id')::bigint IN
		                (SELECT timesheet_id FROM timesheets WHERE person_id = p_person)))
		   AND (p_timesheet IS NULL
		        OR (a.entity IN ('timesheets', 'timesheet_decisions')
		            AND (x.r ->> 'timesheet_id')::bigint IN (SELECT timesheet_id FROM ts)))
		 ORDER BY a.id DESC LIMIT greatest(coalesce(p_limit, 1000), 1))
	SELECT jsonb_build_object('entries', coalesce(jsonb_agg(jsonb_build_object(
		'id', s.id, 'at', s.at, 'actor', s.actor, 'action', s.action,
		'entity', s.entity, 'key', s.entity_key, 'before', s.before,
		'after', s.after, 'hash', encode(s.hash, 'hex')) ORDER BY s.id), '[]'))
	  FROM sel s
$$;
