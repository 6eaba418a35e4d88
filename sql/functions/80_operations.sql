-- Operations: the spool folder's ingest (one statement: the records and
-- the ledger row in one transaction) and the database side of /metrics.

-- Stores one spool file's batch through the feed's own ingest function and
-- claims (file, size, sha256) in spool_files in the same transaction.
--   {"duplicate": true, "ingested_at": …}  the file was stored before;
--   otherwise the ingest function's document ({"accepted":…} or
--   {"errors":[…]}, in which case nothing, ledger included, is stored).
-- An advisory lock on the key serialises instances sharing one folder.
DROP FUNCTION IF EXISTS spool_ingest(jsonb, bigint, boolean, text, text, bigint, text);
CREATE FUNCTION spool_ingest(p_batch jsonb, p_token bigint, p_check_only boolean,
	p_feed text, p_file text, p_size bigint, p_sha256 text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_at     timestamptz;
	v_result jsonb;
BEGIN
	IF NOT p_check_only THEN
		PERFORM pg_advisory_xact_lock(hashtext('effortd.spool:' || p_file));
		SELECT ingested_at INTO v_at FROM spool_files
		 WHERE file_name = p_file AND size = p_size AND sha256 = p_sha256;
		IF FOUND THEN
			RETURN jsonb_build_object('duplicate', true, 'ingested_at', v_at);
		END IF;
	END IF;
	v_result := CASE p_feed
		WHEN 'people' THEN ingest_people(p_batch, p_token, p_check_only)
		WHEN 'grants' THEN ingest_grants(p_batch, p_token, p_check_only)
		WHEN 'assignments' THEN ingest_assignments(p_batch, p_token, p_check_only)
		WHEN 'charges' THEN ingest_charges(p_batch, p_token, p_check_only)
		WHEN 'delegations' THEN ingest_delegations(p_batch, p_token, p_check_only)
		WHEN 'timesheets' THEN ingest_timesheets(p_batch, p_token, p_check_only)
	END;
	IF v_result IS NULL THEN
		RAISE EXCEPTION 'spool_ingest: unknown feed %', p_feed;
	END IF;
	IF p_check_only OR v_result ? 'errors' THEN
		RETURN v_result;
	END IF;
	INSERT INTO spool_files (file_name, size, sha256, feed, records)
	VALUES (p_file, p_size, p_sha256, p_feed, (v_result ->> 'accepted')::int);
	RETURN v_result;
END
$$;

-- Open findings by rule and severity, for /metrics:
--   [{"rule": "…", "severity": "…", "open": N}, …]
CREATE OR REPLACE FUNCTION metrics_findings()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('rule', rule,
		'severity', severity, 'open', n) ORDER BY rule, severity), '[]')
	  FROM (SELECT rule, severity, count(*) AS n FROM findings
	         WHERE resolved_at IS NULL GROUP BY rule, severity) s
$$;
