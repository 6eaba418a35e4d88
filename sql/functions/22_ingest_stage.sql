-- Staged feeds.  Every ingest function (20_ingest.sql, 21_ingest_
-- timesheets.sql) reads its batch from the transaction's staging table
--   feed_stage (idx integer, rec jsonb)
-- (idx: the record's index in the body, which the errors quote).  effortd
-- fills it with COPY as it checks a feed's records, in the feed's own
-- transaction, and then calls the ingest function with NULL for the batch;
-- a caller in SQL passes the batch as a jsonb array instead, which is
-- staged first (idx: the position in the array).
--
-- The table is the session's, emptied at every commit (ON COMMIT DELETE
-- ROWS), as is the plan of ingest_timesheets.  Made anew in each
-- transaction (ON COMMIT DROP, until 2026-12), the two tables cost 4-8 ms
-- of a one-timesheet POST (15-18 ms end to end on the benchmark's
-- 10,000-staff organisation, 8-11 ms without them): their catalog rows
-- written at creation and deleted at commit, and every statement that
-- reads them planned again.  Kept by the session, the statements' plans
-- are kept with them; each table is analysed once filled
-- (feed_stage_begin, ingest_timesheets), and an ANALYZE that counts a
-- different number of rows invalidates those plans, so that a batch of
-- 2,000 is never run by the plan made for one record (a first batch into
-- empty tables, planned once for the session, took ten times as long at
-- the next batch).

-- Creates the session's staging table, or empties it (a transaction that
-- stages twice: at commit it is emptied anyway).
CREATE OR REPLACE FUNCTION feed_stage_open()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF to_regclass('pg_temp.feed_stage') IS NULL THEN
		CREATE TEMP TABLE feed_stage (idx integer NOT NULL,
			rec jsonb NOT NULL) ON COMMIT DELETE ROWS;
	ELSE
		DELETE FROM feed_stage;
	END IF;
END
$$;

-- Errors for records whose key repeats an earlier record of the batch.
-- (plpgsql: a function in SQL could not be created before the table.)
CREATE OR REPLACE FUNCTION feed_stage_duplicates(p_keys text[], p_field text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('index', idx,
		'field', p_field, 'message',
		format('duplicates record %s of this batch', first)) ORDER BY idx), '[]')
	  FROM (SELECT idx, min(idx) OVER (PARTITION BY k) AS first
	          FROM (SELECT s.idx, (SELECT array_agg(s.rec ->> key)
	                                 FROM unnest(p_keys) key) AS k
	                  FROM feed_stage s) s) d
	 WHERE idx <> first);
END
$$;

-- What every ingest function does first: stages p_batch when it is given
-- (otherwise effortd has staged the records), records the actor, and
-- answers the errors of records whose key (p_keys) repeats an earlier one
-- ('[]' when there are none; p_field: the field they name).
CREATE OR REPLACE FUNCTION feed_stage_begin(p_batch jsonb, p_token bigint,
	p_keys text[], p_field text)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	IF p_batch IS NOT NULL THEN
		PERFORM feed_stage_open();
		INSERT INTO feed_stage (idx, rec)
		SELECT (ord - 1)::int, e
		  FROM jsonb_array_elements(p_batch) WITH ORDINALITY a(e, ord);
	END IF;
	-- The planner learns how many records were staged.  A temporary table
	-- has no statistics: it guessed 1,270 records whatever the batch, and
	-- for a feed of one person or one timesheet hashed the whole people
	-- table (8-17 ms at 50,000 staff) where one index probe does.  Only
	-- idx: the count is what the plans need; the documents' statistics
	-- would cost more than they tell.
	ANALYZE feed_stage (idx);
	PERFORM effort_set_actor(p_token);
	RETURN feed_stage_duplicates(p_keys, p_field);
END
$$;

-- Before the staged batch, the staging table lived one transaction and the
-- errors were mapped back to the body's indices afterwards.
DROP FUNCTION IF EXISTS feed_stage_remap(jsonb, jsonb);
