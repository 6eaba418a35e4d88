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
-- the preview writes no finding, so it needs no sweep lock.  Speed: as
-- audit_sweep (docs/performance.md): its settings, one full join of the
-- produced against the open findings, and for up to 1,000 people one
-- generic plan kept by the session (a pooled connection plans the rule
-- query once, not at every preview).  The rows the merge locked stay
-- locked while this runs, where a real feed holds them through its COMMIT
-- (the audit trail's flush); measured on the shared 2-core machine:
-- 2,400 charges of 100 people, one session after its first call, 22-50 ms
-- here against 40-75 ms for the COMMIT of the same batch; 24,000 charges
-- of 1,000 people, a new session each (planning included), 0.42-0.65 s
-- against 0.36-0.66 s.
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
	v_as_of  date := effort_sweep_date(NULL, p_params);
	-- (the grants' and managers' people as the batch leaves them: what
	-- the re-audit would read right after the commit)
	v_people text[] := ARRAY(SELECT DISTINCT p
	                           FROM unnest(effort_reaudit_people(coalesce(p_result -> 'people', '[]'))) p
	                          WHERE p IS NOT NULL);
	v_diff   jsonb := jsonb_build_object('opened', '[]'::jsonb, 'resolved', '[]'::jsonb);
BEGIN
	IF cardinality(v_people) > 0 THEN
		IF cardinality(v_people) <= 1000 THEN
			PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
		END IF;
		-- As audit_sweep pairs them: every produced finding beside the
		-- open one of the same identity, and every open one no longer
		-- produced (one full join, hashed).
		WITH cur AS MATERIALIZED (
			SELECT c.rule, c.severity, c.person_id, c.grant_ref, c.period_start,
			       c.period_end, c.hours::numeric(10,2) AS hours, c.detail,
			       coalesce(c.grant_ref, '') AS g
			  FROM audit_findings(v_as_of, p_params, v_people) c
		),
		old AS MATERIALIZED (
			SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start,
			       f.period_end, f.hours, f.detail, coalesce(f.grant_ref, '') AS g
			  FROM findings f
			 WHERE f.resolved_at IS NULL AND f.person_id = ANY (v_people)
		),
		pair AS (
			SELECT o.rule IS NULL AS opened, c.rule IS NULL AS resolved,
			       CASE WHEN c.rule IS NULL
			            THEN to_jsonb(o) ELSE to_jsonb(c) END - 'g' AS f,
			       coalesce(c.person_id, o.person_id) AS person_id,
			       coalesce(c.period_start, o.period_start) AS period_start,
			       coalesce(c.rule, o.rule) AS rule,
			       coalesce(c.grant_ref, o.grant_ref) AS grant_ref,
			       coalesce(c.period_end, o.period_end) AS period_end
			  FROM old o
			  FULL JOIN cur c
			    ON o.rule = c.rule AND o.person_id = c.person_id AND o.g = c.g
			   AND o.period_start = c.period_start AND o.period_end = c.period_end
		)
		SELECT jsonb_build_object(
			'opened', coalesce(jsonb_agg(p.f ORDER BY p.person_id COLLATE "C", p.period_start,
			              p.rule COLLATE "C", p.grant_ref COLLATE "C" NULLS FIRST, p.period_end)
			              FILTER (WHERE p.opened), '[]'),
			'resolved', coalesce(jsonb_agg(p.f ORDER BY p.person_id COLLATE "C", p.period_start,
			              p.rule COLLATE "C", p.grant_ref COLLATE "C" NULLS FIRST, p.period_end)
			              FILTER (WHERE p.resolved), '[]'))
		  INTO v_diff
		  FROM pair p
		 WHERE p.opened OR p.resolved;
	END IF;
	RETURN (p_result - 'people') || jsonb_build_object('as_of', v_as_of) || v_diff;
END
$$;
