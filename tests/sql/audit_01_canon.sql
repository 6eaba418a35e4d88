-- audit_01: the audit trail's canonical content.  Every row since the
-- first was hashed over the bytes of one JSON array, [id, "at", actor,
-- action, entity, entity_key, before, after] as jsonb writes it
-- (audit_canon, sql/functions/60_audit_log.sql); this file writes the
-- formula out, so that a change of audit_canon or of the flush that
-- would break the chain of rows already kept fails here.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
SELECT plan(6);

-- The formula the chain was defined with, written out.
CREATE FUNCTION pg_temp.canon_formula(a audit_log) RETURNS bytea LANGUAGE sql AS $f$
	SELECT convert_to(jsonb_build_array(a.id,
		to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		a.actor, a.action, a.entity, a.entity_key, a.before, a.after)::text, 'UTF8')
$f$;

CREATE TEMP TABLE awkward AS
SELECT ROW(v.id, v.at, v.actor, v.action, v.entity, v.entity_key, v.before, v.after, NULL, NULL)::audit_log AS a
  FROM (VALUES
	(1::bigint, '2025-01-01 00:00:00+00'::timestamptz, '{"db_user": "effortd"}'::jsonb, 'created', 'grants',
	 '{"grant_ref": "G1"}'::jsonb, NULL::jsonb, '{"title": "Grant one", "hours": 1.50}'::jsonb),
	(9223372036854775807, '2026-12-01 23:59:59.999999+01', '{}', 'updated', 'people',
	 '{"person_id": "Ä \"q\" \\ ]"}', '{"name": "Zoë ]", "fte": 0.1}',
	 '{"name": "Zoë", "nested": {"a": [1, null, "]"], "b": {}}, "empty": []}'),
	(42, '2024-02-29 12:00:00-05', '{"token": "t", "person_id": null}', 'deleted', 'delegations',
	 '{"manager_id": "M", "delegate_id": "D", "start_date": "2025-07-01"}',
	 '{"x": "日本語"}', NULL),
	(7, '2026-06-30 23:59:59.5+00', '{"person_id": "tab\there", "role": "line\nbreak"}',
	 E'ctl\u0001 "act"', E'ent\\ity', '{"k": "\u0007 😀"}', 'null'::jsonb,
	 '[1.10, -0.0, 1e2, {"a": null}, [], "\\\""]')) AS v(id, at, actor, action, entity, entity_key, before, after);
SELECT results_eq($$SELECT audit_canon(w.a) FROM awkward w ORDER BY (w.a).id$$,
	$$SELECT pg_temp.canon_formula(w.a) FROM awkward w ORDER BY (w.a).id$$,
	'audit_canon = the JSON array as jsonb writes it (unicode, quotes, brackets, NULLs, JSON null, control characters, numbers, nesting, extreme ids)');

-- A real flush: a grant and a person changed, the deferred flush run now.
CREATE TEMP TABLE last_before AS SELECT coalesce(max(id), 0) AS id FROM audit_log;
INSERT INTO grants (grant_ref, title, funder, start_date, end_date)
	VALUES ('CANON/1', 'Grant "quoted" ] ünïcode', 'EPSRC', '2025-01-01', '2027-12-31');
INSERT INTO people (person_id, name, line_manager_id, fte, employment_start)
	VALUES ('CANON-P', 'Zoë ]', 'M0', 0.5, '2025-01-01');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT cmp_ok((SELECT count(*) FROM audit_log WHERE id > (SELECT id FROM last_before)), '>=', 2::bigint,
	'the flush appended the changes');
SELECT is((SELECT count(*) FROM audit_log a
            WHERE a.id > (SELECT id FROM last_before)
              AND a.hash <> sha256(coalesce(a.prev_hash, '\x'::bytea) || pg_temp.canon_formula(a))),
	0::bigint, 'each appended row''s hash is sha256(prev_hash || the JSON array)');
SELECT is((SELECT count(*) FROM audit_log a
            WHERE a.id > (SELECT id FROM last_before)
              AND a.prev_hash IS DISTINCT FROM (SELECT b.hash FROM audit_log b WHERE b.id < a.id
                                                 ORDER BY b.id DESC LIMIT 1)),
	0::bigint, 'each appended row''s prev_hash is the hash of the row before it');
SELECT is((SELECT max(id) - min(id) + 1 FROM audit_log WHERE id > (SELECT id FROM last_before)),
	(SELECT count(*) FROM audit_log WHERE id > (SELECT id FROM last_before)),
	'the flush''s ids are consecutive');
SELECT is(audit_verify()->>'ok', 'true', 'audit_verify: the chain verifies');

SELECT * FROM finish();
ROLLBACK;
