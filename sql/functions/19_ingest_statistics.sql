-- Fresh planner statistics for the tables a feed grows (docs/performance.md,
-- "Ingest a/b (fifth round)").
--
-- A feed that loads a table from empty (the first timesheet feeds of an
-- organisation, a first charges file) doubles it batch after batch, far
-- faster than autovacuum looks (once a minute): for the whole load the
-- planner knows no statistics of it, or those of a tenth of it.  The scoped
-- re-audit after each batch (audit_sweep) keeps one generic plan per
-- session, made at its first sweep, while the tables were empty or small,
-- and keeps it until a table's statistics change: scans of every timesheet,
-- entry, decision and charge where a few people's index probes would do,
-- and each batch slower than the one before (over the bench's timesheet
-- feed, 97 ms of CPU a sweep at the first batch, 274 ms at the last; with
-- the statistics 76 to 119 ms throughout, about 40 % of it the findings the
-- batch resolves).
--
-- So each feed, once its rows are stored, analyses those of its tables
-- that have at least doubled in pages since their statistics were last
-- taken (and have 16 pages or more): a table loaded in batches is analysed
-- about log2(its pages) times in all, each time for 30,000 sampled rows at
-- most (5-80 ms); a table in steady use (a month's feed adding a few per
-- cent) never.  The new statistics invalidate the plans that read the
-- table, in every session, so the next sweep is planned afresh.
-- A table another batch or autovacuum is analysing (its lock, held until
-- that transaction ends) is left to it, never waited for: the lock ANALYZE
-- takes is tried first, NOWAIT (rather than ANALYZE (SKIP_LOCKED), which
-- warns the client and the server log of every table it skips).
-- SECURITY DEFINER: only the tables' owner may analyse them, and effortd
-- may serve as a runtime role (61_runtime_role.sql); the function analyses
-- only ordinary tables of schema public named in p_tables, and reads the
-- catalogue before any temporary table (pg_temp last).
CREATE OR REPLACE FUNCTION effort_analyze_grown(p_tables text[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_table regclass;
BEGIN
	FOR v_table IN
		SELECT c.oid::regclass
		  FROM pg_class c
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY (p_tables)
		   AND pg_relation_size(c.oid) / current_setting('block_size')::int
		       >= greatest(2 * c.relpages, 16)
		 ORDER BY c.relname
	LOOP
		BEGIN
			EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE NOWAIT', v_table);
		EXCEPTION WHEN lock_not_available THEN
			CONTINUE;
		END;
		EXECUTE format('ANALYZE %s', v_table);
	END LOOP;
END
$$;
