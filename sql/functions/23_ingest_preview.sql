-- Feed previews: POST /v1/<feed>?preview=true.  effortd stages and merges
-- the batch exactly as for a real feed (the feed's ingest function, same
-- transaction, same checks), then, instead of COMMIT, calls
--   ingest_preview(<the ingest function's answer>, <rules settings>)
-- and rolls the transaction back.  So the batch is stored nowhere: the
-- tables, the findings (this function only reads them), the audit trail
-- (its flush runs at commit, which never comes, so the audit trail's lock
-- is never taken) and audit_pending (the transaction's own rows) are as
-- they were.  What survives the rollback: sequence values the merge drew
-- (timesheet ids, audit_pending's seq), as after any refused feed.
--
-- The answer is the ingest function's counts (accepted, created, updated,
-- unchanged) and the findings the real feed's re-audit would open and
-- resolve for the people the batch touches (its "people"), as audit_sweep
-- (40_audit.sql) would reconcile them right after the commit:
--   opened   = produced now (audit_findings on the merged data, at the
--              sweep's date) and not open in findings;
--   resolved = open in findings and no longer produced;
-- a finding's identity is the sweep's: (rule, person_id,
-- coalesce(grant_ref, ''), period_start, period_end).  Opened findings
-- carry their hours as findings would store them (numeric(10,2)); resolved
-- ones as they are stored.  A finding open before and after (its hours
-- possibly changed) is neither.  Both lists are sorted as GET
-- /v1/violations sorts.  No advisory lock is taken: unlike the re-audit,
-- the preview writes no finding, so it needs no sweep lock.  Speed:
-- audit_sweep's settings (docs/performance.md), but always a plan made for
-- the actual people (a generic plan, which audit_sweep keeps for up to
-- 1,000 people, made this query six times slower at 1,000: measured 2.0 s
-- against 0.33 s for the COMMIT of the same 24,000 charges).  The rows the
-- merge locked stay locked while this runs, where a real feed holds them
-- through its COMMIT (the audit trail's flush): about as long (measured:
-- 2,400 charges of 100 people 29-63 ms against 31-78 ms; 24,000 charges
-- of 1,000 people 0.8-1.4 s against 0.9-1.1 s, on a shared 2-core machine).
--
--   {"as_of": "2026-12-01", "accepted": N, "created": C, "updated": U,
--    "unchanged": X, "opened": [{rule, severity, person_id, grant_ref,
--    period_start, period_end, hours, detail}, ...], "resolved": [...]}

CREATE OR REPLACE FUNCTION ingest_preview(p_result jsonb, p_params jsonb)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
SET jit = off SET work_mem = '128MB' SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
	-- the sweep's date (audit_sweep with p_as_of NULL)
	v_as_of  date := coalesce(nullif(current_setting('effortd.audit_as_of', true), '')::date,
	                          effort_today(p_params));
	v_people text[] := ARRAY(SELECT DISTINCT p
	                           FROM jsonb_array_elements_text(coalesce(p_result -> 'people', '[]')) p
	                          WHERE p IS NOT NULL);
	v_diff   jsonb := jsonb_build_object('opened', '[]'::jsonb, 'resolved', '[]'::jsonb);
BEGIN
	IF cardinality(v_people) > 0 THEN
		WITH cur AS MATERIALIZED (
			SELECT c.rule, c.severity, c.person_id, c.grant_ref, c.period_start,
			       c.period_end, c.hours::numeric(10,2) AS hours, c.detail
			  FROM audit_findings(v_as_of, p_params, v_people) c
		),
		old AS MATERIALIZED (
			SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start,
			       f.period_end, f.hours, f.detail
			  FROM findings f
			 WHERE f.resolved_at IS NULL AND f.person_id = ANY (v_people)
		),
		opened AS (
			SELECT c.* FROM cur c
			 WHERE NOT EXISTS (SELECT 1 FROM old o
			                    WHERE o.rule = c.rule AND o.person_id = c.person_id
			                      AND coalesce(o.grant_ref, '') = coalesce(c.grant_ref, '')
			                      AND o.period_start = c.period_start
			                      AND o.period_end = c.period_end)
		),
		resolved AS (
			SELECT o.* FROM old o
			 WHERE NOT EXISTS (SELECT 1 FROM cur c
			                    WHERE o.rule = c.rule AND o.person_id = c.person_id
			                      AND coalesce(o.grant_ref, '') = coalesce(c.grant_ref, '')
			                      AND o.period_start = c.period_start
			                      AND o.period_end = c.period_end)
		)
		SELECT jsonb_build_object(
			'opened', (SELECT coalesce(jsonb_agg(to_jsonb(s)
			              ORDER BY s.person_id COLLATE "C", s.period_start, s.rule COLLATE "C",
			                       s.grant_ref COLLATE "C" NULLS FIRST, s.period_end), '[]')
			             FROM opened s),
			'resolved', (SELECT coalesce(jsonb_agg(to_jsonb(s)
			              ORDER BY s.person_id COLLATE "C", s.period_start, s.rule COLLATE "C",
			                       s.grant_ref COLLATE "C" NULLS FIRST, s.period_end), '[]')
			             FROM resolved s))
		  INTO v_diff;
	END IF;
	RETURN (p_result - 'people') || jsonb_build_object('as_of', v_as_of) || v_diff;
END
$$;
