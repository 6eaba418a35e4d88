-- The audit trail (table audit_log, sql/002_audit_trail.sql): appending to
-- the hash chain, the statement triggers of the audited tables
-- (003_audit_statement_triggers.sql) and their flush at commit,
-- verification and reads for GET /v1/audit and GET /v1/audit/verify.

-- Who is acting: what effort_set_actor (05_tokens.sql) put in the
-- transaction-local setting effortd.actor, plus the database role that
-- signed in (session_user: the flush runs as the owner, below); a change
-- made directly in SQL has only the database role.
CREATE OR REPLACE FUNCTION effort_actor()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(nullif(current_setting('effortd.actor', true), '')::jsonb,
		'{}'::jsonb) || jsonb_build_object('db_user', session_user::text)
$$;

-- A row's canonical content: what its hash covers, as UTF-8 bytes of one
-- JSON array, [id, "at", actor, action, entity, entity_key, before, after],
-- as jsonb writes it (jsonb text is deterministic; the time is written in
-- UTC so that the session's TimeZone does not matter).  Written out as the
-- text of each element joined by ", " (jsonb's separator), not as
-- jsonb_build_array(...)::text, which copies the row's documents into a
-- new array before writing it: the same bytes (tests/sql/audit_01_canon.sql
-- checks them against jsonb_build_array) at about two thirds of the cost.
-- In two parts: the head, "[id, "at", ", known only under the chain's
-- lock, and the tail, the rest, which the flush writes out before it takes
-- the lock (UTF-8 bytes join as the text they encode).
CREATE OR REPLACE FUNCTION audit_canon_head(p_id bigint, p_at timestamptz)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT convert_to('[' || p_id || ', "'
		|| to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
		|| '", ', 'UTF8')
$$;

CREATE OR REPLACE FUNCTION audit_canon_tail(a audit_log)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT convert_to(a.actor::text || ', ' || to_jsonb(a.action)::text || ', '
		|| to_jsonb(a.entity)::text || ', ' || a.entity_key::text || ', '
		|| coalesce(a.before::text, 'null') || ', '
		|| coalesce(a.after::text, 'null') || ']', 'UTF8')
$$;

CREATE OR REPLACE FUNCTION audit_canon(a audit_log)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT audit_canon_head(a.id, a.at) || audit_canon_tail(a)
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
-- Updating audit_head (016_evidence_guards.sql) makes a REPEATABLE READ
-- transaction that began before another append committed fail with a
-- serialization error rather than chain to the hash its snapshot sees.
-- The runtime role cannot (it may not write audit_head or audit_log).
CREATE OR REPLACE FUNCTION audit_append(p_action text, p_entity text,
	p_key jsonb, p_before jsonb, p_after jsonb, p_actor jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	v audit_log;
BEGIN
	PERFORM pg_advisory_xact_lock(7046372004);
	UPDATE audit_head SET flushes = flushes + 1;
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

-- One step of the chain over rows in id order: the hash of a row whose
-- predecessor's hash is p_state (p_first_prev, the last hash already in
-- the log, for the first row): audit_hash, step by step.
CREATE OR REPLACE FUNCTION audit_chain_step(p_state bytea, p_first_prev bytea,
	p_canon bytea)
RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN sha256(coalesce(p_state, p_first_prev, '\x'::bytea) || p_canon);
END
$$;

CREATE OR REPLACE AGGREGATE audit_chain(bytea, bytea) (
	SFUNC = audit_chain_step, STYPE = bytea);

-- The statement trigger of every audited table (003_audit_statement_
-- triggers.sql): stages the statement's changed rows, from its transition
-- tables, in audit_pending in one INSERT, and the first time in the
-- transaction (since its last flush) a row that queues the flush at commit.
-- TG_ARGV names the key columns.  Updates that change nothing but
-- updated_at/last_used_at are not logged; token hashes never are.  An
-- UPDATE's old and new rows are paired by their position in the transition
-- tables (PostgreSQL appends both for each row).  Updates of tokens come
-- from a row trigger (TG_LEVEL ROW), one row at a time.  It runs as the
-- owner (SECURITY DEFINER), since the runtime role may not write
-- audit_pending, with a search_path of its own, so that a temporary table
-- named audit_pending cannot take the rows; the arm row is kept unique by
-- the index audit_pending_arm (016_evidence_guards.sql), not by a setting
-- the session could set.
-- The trail's trigger functions serve effortd's own tables only: one
-- attached to another table (a temporary "timesheets", say, whose rows
-- it would stage as a stored version's) raises.  The runtime role cannot
-- attach them at all: EXECUTE on them is revoked (effort_revoke_triggers,
-- 61_runtime_role.sql), which CREATE TRIGGER needs and firing does not.
CREATE OR REPLACE FUNCTION effort_trail_table(p_rel oid, p_fn text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF (SELECT c.relnamespace FROM pg_class c WHERE c.oid = p_rel)
	   IS DISTINCT FROM 'public'::regnamespace THEN
		RAISE EXCEPTION '%: % is not a table of the trail', p_fn, p_rel::regclass
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION effort_audit_stmt()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	-- entity_key is the row minus every column but the keys: one jsonb
	-- operator per row (an aggregate over the keys per row cost ten times more).
	v_drop text[] := ARRAY(SELECT a.attname::text FROM pg_attribute a
	                        WHERE a.attrelid = TG_RELID AND a.attnum > 0
	                          AND NOT a.attisdropped AND a.attname::text <> ALL (TG_ARGV));
	v_old jsonb[];
	v_new jsonb[];
	v_rows bigint;
BEGIN
	PERFORM effort_trail_table(TG_RELID, 'effort_audit_stmt');
	IF TG_OP = 'INSERT' THEN
		INSERT INTO audit_pending (action, entity, entity_key, after)
		SELECT CASE WHEN TG_TABLE_NAME = 'timesheet_decisions'
		            THEN n.r ->> 'decision' ELSE 'created' END,
		       TG_TABLE_NAME,
		       n.r - v_drop, n.r
		  FROM (SELECT to_jsonb(t) - 'token_hash' AS r FROM effort_new t) n;
	ELSIF TG_OP = 'UPDATE' THEN
		IF TG_LEVEL = 'ROW' THEN
			v_old := ARRAY[to_jsonb(OLD) - 'token_hash'];
			v_new := ARRAY[to_jsonb(NEW) - 'token_hash'];
		ELSE
			v_old := (SELECT array_agg(to_jsonb(t) - 'token_hash') FROM effort_old t);
			v_new := (SELECT array_agg(to_jsonb(t) - 'token_hash') FROM effort_new t);
		END IF;
		INSERT INTO audit_pending (action, entity, entity_key, before, after)
		SELECT CASE WHEN TG_TABLE_NAME = 'tokens' AND u.o ->> 'revoked_at' IS NULL
		             AND u.n ->> 'revoked_at' IS NOT NULL
		            THEN 'revoked' ELSE 'updated' END,
		       TG_TABLE_NAME,
		       u.n - v_drop,
		       u.o, u.n
		  FROM unnest(v_old, v_new) WITH ORDINALITY AS u(o, n, i)
		 WHERE u.o - '{updated_at,last_used_at}'::text[]
		       <> u.n - '{updated_at,last_used_at}'::text[]
		 ORDER BY u.i;
	ELSE
		INSERT INTO audit_pending (action, entity, entity_key, before)
		SELECT 'deleted', TG_TABLE_NAME,
		       o.r - v_drop, o.r
		  FROM (SELECT to_jsonb(t) - 'token_hash' AS r FROM effort_old t) o;
	END IF;
	GET DIAGNOSTICS v_rows = ROW_COUNT;
	IF v_rows > 0 THEN
		INSERT INTO audit_pending (action, entity, entity_key, arm)
		VALUES ('', '', 'null', true)
		ON CONFLICT (xid) WHERE arm DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;

-- The deferred flush at commit: appends what the transaction staged, in
-- order, in one INSERT.  Under the advisory lock (held to the end of the
-- transaction, as audit_append's) ids are taken and the chain computed
-- from the last row's hash in one ordered pass, so the chain stays linear
-- under concurrency.  The actor is the transaction's; a timesheet version
-- is logged with its entries as they are at commit.  The ids' sequence is
-- looked up once (v_seq), not by name for every row, which cost 2.5 us a
-- row under the lock; setval past a block of ids would need UPDATE on the
-- sequence, which the runtime role (61_runtime_role.sql) does not have.
-- As effort_audit_stmt it runs as the owner with its own search_path (a
-- temporary audit_log or timesheet_entries would otherwise be read and
-- written), and updates audit_head as audit_append does.
CREATE OR REPLACE FUNCTION effort_audit_flush()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET enable_seqscan = off SET jit = off SET search_path = public, pg_temp AS $$
DECLARE
	v_prev bytea;
	v_actor jsonb := effort_actor();
	v_entries jsonb;
	v_rows audit_log[];  -- the staged rows in order, without id and time
	v_tails bytea[];     -- their canonical tails (audit_canon_tail)
	v_seq regclass := pg_get_serial_sequence('audit_log', 'id')::regclass;
BEGIN
	PERFORM effort_trail_table(TG_RELID, 'effort_audit_flush');
	-- Everything but the ids, times and hashes is done before the lock,
	-- which every other writer's commit waits for: the logged versions'
	-- entries (effort_entries_docs, read at once by index: one
	-- effort_entries_doc call per version cost more than the rest of the
	-- flush), the rows taken out of audit_pending, and their documents
	-- written out as text (half the time the lock was held for a batch).
	-- No sequential scans (the function's setting): a plan made while
	-- timesheet_entries was small read all of it.  That setting prices
	-- the one-row audit_head's scan at 10^10, past jit_above_cost: without
	-- jit = off every flush compiled its UPDATE (22-50 ms, under the lock).
	v_entries := effort_entries_docs(ARRAY(
	        SELECT (q.after ->> 'timesheet_id')::bigint FROM audit_pending q
	         WHERE q.xid = txid_current() AND q.entity = 'timesheets' AND q.after IS NOT NULL));
	WITH p AS (
		DELETE FROM audit_pending WHERE xid = txid_current() RETURNING *),
	r AS MATERIALIZED (
		SELECT p.seq, ROW(NULL, NULL, v_actor, p.action, p.entity,
		       p.entity_key, p.before,
		       CASE WHEN p.entity = 'timesheets' AND p.after IS NOT NULL
		            THEN p.after || jsonb_build_object('entries',
		                 coalesce(v_entries -> (p.after ->> 'timesheet_id'), '[]'))
		            ELSE p.after END, NULL, NULL)::audit_log AS a
		  FROM p WHERE NOT p.arm)
	SELECT array_agg(r.a ORDER BY r.seq),
	       array_agg(audit_canon_tail(r.a) ORDER BY r.seq)
	  INTO v_rows, v_tails FROM r;

	PERFORM pg_advisory_xact_lock(7046372004);
	UPDATE audit_head SET flushes = flushes + 1;
	SELECT a.hash INTO v_prev FROM audit_log a ORDER BY a.id DESC LIMIT 1;
	WITH r AS (
		SELECT nextval(v_seq) AS id, clock_timestamp() AS at, u.*
		  FROM (SELECT * FROM unnest(v_rows, v_tails) WITH ORDINALITY
		          AS u(no_id, no_at, actor, action, entity, entity_key,
		               before, after, no_prev, no_hash, tail, i)
		         ORDER BY u.i) u),
	h AS (
		SELECT r.*, audit_chain(v_prev, audit_canon_head(r.id, r.at) || r.tail)
		              OVER (ORDER BY r.id) AS hash
		  FROM r)
	INSERT INTO audit_log (id, at, actor, action, entity, entity_key, before,
		after, prev_hash, hash)
	SELECT h.id, h.at, h.actor, h.action, h.entity, h.entity_key, h.before,
	       h.after, coalesce(lag(h.hash) OVER (ORDER BY h.id), v_prev), h.hash
	  FROM h ORDER BY h.id;
	RETURN NULL;
END
$$;

-- A configuration reload (the daemon calls this after a successful SIGHUP);
-- as the owner, since the runtime role may not append directly.
CREATE OR REPLACE FUNCTION audit_config_reload(p_path text, p_before jsonb,
	p_after jsonb)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
	RETURN jsonb_build_object('id', audit_append('reloaded', 'config',
		jsonb_build_object('path', p_path), p_before, p_after,
		jsonb_build_object('process', 'effortd', 'db_user', session_user::text)));
END
$$;

-- Walks the chain in one ordered pass: the first row whose hash does not
-- match its content, or whose prev_hash is not the hash of the row before
-- it (a row altered, inserted or removed), is named.  A chain cut short at
-- its end, or rebuilt with every later hash recomputed, still links up:
-- given the last_id and last_hash of an earlier verify, kept elsewhere
-- (p_last_id, p_last_hash in hex; GET /v1/audit/verify?last_id=&last_hash=),
-- that row must still be there with that hash, or it is named.
DROP FUNCTION IF EXISTS audit_verify();
CREATE OR REPLACE FUNCTION audit_verify(p_last_id bigint DEFAULT NULL,
	p_last_hash text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH c AS (
		SELECT a.id, a.prev_hash, a.hash, audit_hash(a) AS expect,
		       lag(a.hash) OVER w AS lag_hash, lag(a.id) OVER w AS lag_id
		  FROM audit_log a WINDOW w AS (ORDER BY a.id)),
	broken AS (
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
		 ORDER BY id LIMIT 1),
	kept AS (
		SELECT p_last_id AS id, CASE WHEN a.id IS NULL THEN format(
			'row %s, whose hash an earlier verify gave, is gone: the trail '
			'was cut short or rebuilt', p_last_id)
			ELSE format('row %s no longer has the hash an earlier verify '
			'gave (%s): the trail was rebuilt up to it', p_last_id,
			p_last_hash) END AS reason
		  FROM (SELECT 1) one
		  LEFT JOIN audit_log a ON a.id = p_last_id
		 WHERE p_last_id IS NOT NULL
		   AND (a.id IS NULL OR encode(a.hash, 'hex') IS DISTINCT FROM p_last_hash)),
	bad AS (
		SELECT * FROM (SELECT * FROM broken UNION ALL SELECT * FROM kept) b
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
-- decisions), since a local date; "more": older rows match too (one more
-- row than the limit is read to tell).
CREATE OR REPLACE FUNCTION audit_list(p_person text, p_timesheet bigint,
	p_since date, p_limit int, p_params jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH lim AS (SELECT greatest(coalesce(p_limit, 1000), 1) AS n),
	ts AS (
		SELECT v.timesheet_id FROM timesheets t
		  JOIN timesheets v USING (person_id, period_start, period_end)
		 WHERE t.timesheet_id = p_timesheet),
	sel AS (
		SELECT a.* FROM audit_log a,
		       LATERAL (SELECT coalesce(a.after, a.before) AS r) x
		 WHERE (p_since IS NULL OR a.at >= (p_since::timestamp AT TIME ZONE
		        (SELECT timezone FROM effort_rule_settings(NULL, p_params))))
		   AND (p_person IS NULL
		        OR p_person IN (x.r ->> 'person_id', x.r ->> 'manager_id',
		                        x.r ->> 'delegate_id')
		        OR (a.entity = 'timesheet_decisions'
		            AND (x.r ->> 'timesheet_id')::bigint IN
		                (SELECT timesheet_id FROM timesheets WHERE person_id = p_person)))
		   AND (p_timesheet IS NULL
		        OR (a.entity IN ('timesheets', 'timesheet_decisions')
		            AND (x.r ->> 'timesheet_id')::bigint IN (SELECT timesheet_id FROM ts)))
		 ORDER BY a.id DESC LIMIT (SELECT n + 1 FROM lim)),
	kept AS (SELECT * FROM sel ORDER BY id DESC LIMIT (SELECT n FROM lim))
	SELECT jsonb_build_object('entries', coalesce(jsonb_agg(jsonb_build_object(
		'id', s.id, 'at', s.at, 'actor', s.actor, 'action', s.action,
		'entity', s.entity, 'key', s.entity_key, 'before', s.before,
		'after', s.after, 'hash', encode(s.hash, 'hex')) ORDER BY s.id), '[]'),
		'more', (SELECT count(*) FROM sel) > (SELECT n FROM lim))
	  FROM kept s
$$;

-- The guards of 016_evidence_guards.sql.  Whether the role that signed
-- in may bypass them: the owner of the table (or a superuser) may.
CREATE OR REPLACE FUNCTION effort_guard_exempt(p_table regclass)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT pg_has_role(session_user, c.relowner, 'MEMBER')
	  FROM pg_class c WHERE c.oid = p_table
$$;

-- Entries only for a version this transaction created and has not yet
-- flushed (staged in audit_pending): the flush logs a version with the
-- entries it has then, so an entry added to a stored version, or after
-- an early flush (SET CONSTRAINTS ALL IMMEDIATE), would be in no row of
-- the trail.  As the owner, who may read audit_pending.
CREATE OR REPLACE FUNCTION effort_entries_guard()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
	v_bad bigint;
BEGIN
	IF effort_guard_exempt(TG_RELID) THEN
		RETURN NULL;
	END IF;
	-- NOT IN, a hashed subplan: the staged versions are read once.  (As
	-- NOT EXISTS the planner, expecting one staged row, compared every
	-- entry with every staged version: a batch's square, 2.6-3.5 s for
	-- 2,000 timesheets; docs/performance.md, ninth round.)  No NULL
	-- reaches the NOT IN: timesheet_id is NOT NULL on both sides.
	SELECT e.timesheet_id INTO v_bad FROM effort_new e
	 WHERE e.timesheet_id NOT IN (
	       SELECT (q.after ->> 'timesheet_id')::bigint FROM audit_pending q
	        WHERE q.xid = txid_current() AND q.entity = 'timesheets'
	          AND q.action = 'created' AND q.after ->> 'timesheet_id' IS NOT NULL)
	 LIMIT 1;
	IF v_bad IS NOT NULL THEN
		RAISE EXCEPTION 'timesheet %: the entries of a stored version cannot be changed', v_bad
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NULL;
END
$$;

-- The time a row says it was recorded (TG_ARGV[0]: valid_from,
-- received_at, recorded_at) is when it is written, within the writing
-- transaction: effortd never sends one, the column's default (or ingest)
-- writes now(), and the people feed dates a line manager change when it
-- is stored (clock_timestamp()); an approval (source 'approval') is also
-- decided then.
CREATE OR REPLACE FUNCTION effort_recorded_now_guard()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	v_bad text;
BEGIN
	IF effort_guard_exempt(TG_RELID) THEN
		RETURN NULL;
	END IF;
	EXECUTE format('SELECT %1$I::text FROM effort_new '
	               'WHERE %1$I NOT BETWEEN now() AND clock_timestamp() LIMIT 1',
		TG_ARGV[0]) INTO v_bad;
	IF v_bad IS NOT NULL THEN
		RAISE EXCEPTION '%: % must be the time the row is written (%), not %',
			TG_TABLE_NAME, TG_ARGV[0], now(), v_bad
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF TG_TABLE_NAME = 'timesheet_decisions' THEN
		SELECT n.decided_at::text INTO v_bad FROM effort_new n
		 WHERE n.source = 'approval'
		   AND n.decided_at NOT BETWEEN now() AND clock_timestamp() LIMIT 1;
		IF v_bad IS NOT NULL THEN
			RAISE EXCEPTION 'timesheet_decisions: an approval is decided when it is recorded (%), not %',
				now(), v_bad USING ERRCODE = 'insufficient_privilege';
		END IF;
	END IF;
	RETURN NULL;
END
$$;
