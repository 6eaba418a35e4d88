-- Keeping the findings table in step with the rules, and reading violations.

-- Evaluate the rules as of p_as_of (NULL = the database's
-- effortd.audit_as_of setting when one is set, which only the benchmark
-- does so that every run audits the same day; else today in the
-- organisation zone) and reconcile the findings table for the scope
-- (everyone when p_people is NULL, else only the findings of those people):
--   * a finding produced now and not open yet is inserted (opened);
--   * an open finding still produced is updated (every still-produced
--     finding counts), but written only when its severity, hours or detail
--     differ, which sets changed_at (migration 020);
--   * an open finding no longer produced gets resolved_at = now() (resolved);
--     findings are never deleted, so a finding re-detected after being
--     resolved is a new row with a new first_detected_at.
-- Identity of a finding: (rule, person_id, coalesce(grant_ref, ''),
-- period_start, period_end), as in the unique index findings_open.
-- Locks (transaction advisory locks, so several effortd instances share
-- them): scoped sweeps of up to 1,000 people take the sweep lock shared,
-- then one lock per person in one order, so that scoped sweeps of
-- different people run side by side and never deadlock; a larger scope
-- (one lock per person would fill the shared lock table: 17,000 people
-- after a large charges batch) and a full sweep evaluate first, then
-- reconcile, holding the sweep lock exclusively only for the reconcile,
-- so that feeds and their re-audits go on while they evaluate (a full
-- sweep: about 1.3-2.0 s at 10,000 staff, 6.6-7.3 s at 50,000, on two
-- cores; a month's charges of everyone, the same):
--   1. it takes the evaluation lock exclusively (waiting for the scoped
--      sweeps that hold it shared: those that began before it, and for
--      the full sweep or large scope evaluating), notes when, and
--      evaluates (a full sweep: everyone);
--   2. a scoped sweep that cannot take the evaluation lock shared (a full
--      sweep or a large scope holds it, or waits for it) marks its people
--      in audit_sweep_overtaken (migration 019) and goes on: its findings
--      will be newer than that evaluation of those people;
--   3. it takes the sweep lock exclusively, which waits for the scoped
--      sweeps running (at most 60 s, a lock_timeout for that wait alone;
--      then it fails: effortd retries a full sweep, audit.c, and leaves a
--      large scope to the next one, job-reaudit.c), and reconciles its
--      scope but the people marked since step 1, whose marks it deletes.
-- Why that is right: a change to a person committed after the
-- evaluation began is re-audited after its commit, either during step 1
-- (marked, so the full sweep or large scope leaves that person's findings
-- to the re-audit) or after it commits (the re-audit then replaces its
-- findings).  A change committed before is in the
-- evaluation.  Marking more people than needed only leaves their findings
-- to re-audits as of the same day.
-- A full sweep cannot starve: it queues for each lock exclusively, and
-- while it waits PostgreSQL queues every new request for that lock behind
-- it, so it waits only for the sweeps already running.  A full sweep that
-- finds another one queued or running (the sweep-pending lock) skips
-- ({"skipped": true}): that one covers it.
-- Speed (docs/performance.md): no JIT (compiling the rule query costs more
-- than running it), enough work_mem for its sorts and hashes to stay in
-- memory, index probes costed as what they are on tables held in memory
-- (random_page_cost: with the default, a sweep of 170 people hashed every
-- timesheet entry instead of probing for its 2,000 timesheets' own), and
-- one full join of produced against open findings, which are read through
-- findings_person and updated by primary key (findings only ever grows).
-- A scope of fewer than half the people runs one generic plan, kept by
-- the session from its first such sweep on, that probes indexes for each
-- person: planning the rule query (about 11 ms, 5 ms for the generic
-- plan) costs more than running it for a few people, and its cost grows
-- with the scope alone (about 0.35 ms a person at 50,000 staff, whatever
-- the scope's size).  A plan made for a long list of people is no
-- better and can be far worse: at 50,000 staff, 9.7 s for 2,000 people
-- and 127 s for 25,000, against 0.7 s and 8.1 s (docs/performance.md,
-- "Large scopes").  Half the people or more: the plan for everyone (what
-- a full sweep costs) evaluates everyone, and only the scope's findings
-- are kept and reconciled.  A full sweep and a scope of more than 1,000
-- people are evaluated in two halves in parallel workers
-- (audit_findings_halves, 30_rules.sql): everyone's by person_id, a
-- quarter to a third less time on two cores than one pass; a scope's by
-- its list.
DROP FUNCTION IF EXISTS audit_sweep(date, jsonb, text[]);
CREATE FUNCTION audit_sweep(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE
SET jit = off SET work_mem = '128MB' SET random_page_cost = 1.1
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
	v_as_of    date := effort_sweep_date(p_as_of, p_params);
	-- the scope, each person once (NULL: everyone)
	v_people   text[] := CASE WHEN p_people IS NOT NULL
	                          THEN ARRAY(SELECT DISTINCT p FROM unnest(p_people) p WHERE p IS NOT NULL) END;
	v_opened   bigint;
	v_updated  bigint;
	v_resolved bigint;
	v_open     bigint;
	v_lock_timeout text := current_setting('lock_timeout');
	-- whose findings are evaluated: the scope, or everyone (NULL) for a
	-- scope of half the organisation or more
	v_eval     text[] := v_people;
	-- the sweep's evaluation (every sweep's), and when a full sweep's or a
	-- large scope's began (steps 1 and 3 above; NULL for a scoped sweep)
	v_found    rule_finding[];
	v_began    timestamptz;
BEGIN
	IF v_people IS NOT NULL AND cardinality(v_people) <= 1000 THEN
		PERFORM pg_advisory_xact_lock_shared(hashtext('effortd.audit_sweep'));
		PERFORM pg_advisory_xact_lock(k)
		   FROM (SELECT DISTINCT hashtext('effortd.audit_sweep:' || p) AS k
		           FROM unnest(v_people) p) s
		  ORDER BY k;
		PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
		IF NOT pg_try_advisory_xact_lock_shared(hashtext('effortd.audit_sweep.evaluating')) THEN
			INSERT INTO audit_sweep_overtaken (person_id, marked_at)
			SELECT p, clock_timestamp() FROM unnest(v_people) p;
		END IF;
		v_found := ARRAY(SELECT ROW(f.*)::rule_finding FROM audit_findings(v_as_of, p_params, v_people) f);
	ELSE
		-- a full sweep or a large scope: evaluate, then take the sweep lock
		IF v_people IS NULL THEN
			IF NOT pg_try_advisory_xact_lock(hashtext('effortd.audit_sweep.full')) THEN
				RETURN jsonb_build_object('skipped', true);
			END IF;
		ELSIF cardinality(v_people) * 2 >= (SELECT count(*) FROM people) THEN
			v_eval := NULL;
		ELSE
			PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
		END IF;
		PERFORM pg_advisory_xact_lock(hashtext('effortd.audit_sweep.evaluating'));
		v_began := clock_timestamp();
		v_found := ARRAY(SELECT f FROM audit_findings_halves(v_as_of, p_params, v_eval) f);
		PERFORM set_config('lock_timeout', '60s', true);
		PERFORM pg_advisory_xact_lock(hashtext('effortd.audit_sweep'));
		PERFORM set_config('lock_timeout', v_lock_timeout, true);
	END IF;

	-- The reconcile, one statement: every part sees the findings as they
	-- were before it.  It reads the evaluation from v_found and never
	-- holds the rule query: a full sweep's statement is planned anew each
	-- time (custom plan), and planning the rule query in it as well, for a
	-- branch not run, cost 11-34 ms a sweep, about 50 ms a connection's
	-- first (docs/performance.md, twentieth round).
	-- pair: every produced finding beside the open one of the same
	-- identity, and every open finding (in scope) no longer produced.
	-- (old reads everyone's or the scope's open findings, whichever
	-- applies; the other half is not run.)
	-- (cur: the scope's findings; evaluated for everyone, those of the
	-- scope kept.)
	-- (A full sweep's or a large scope's: its evaluation, less the people
	-- a scoped sweep marked since it began, in cur and in old alike.)
	WITH overtaken AS MATERIALIZED (
		SELECT DISTINCT o.person_id FROM audit_sweep_overtaken o
		 WHERE v_began IS NOT NULL AND o.marked_at >= v_began
		   AND (v_people IS NULL OR o.person_id = ANY (v_people))
	),
	cur AS (
		SELECT e.* FROM unnest(v_found) e
		 WHERE NOT EXISTS (SELECT 1 FROM overtaken o WHERE o.person_id = e.person_id)
		   AND (v_eval IS NOT NULL OR v_people IS NULL OR e.person_id = ANY (v_people))
	),
	old AS MATERIALIZED (
		SELECT f.finding_id, f.rule, f.person_id, coalesce(f.grant_ref, '') AS g,
		       f.period_start, f.period_end, f.severity, f.hours, f.detail
		  FROM findings f
		 WHERE f.resolved_at IS NULL AND v_people IS NULL
		   AND NOT EXISTS (SELECT 1 FROM overtaken o WHERE o.person_id = f.person_id)
		UNION ALL
		SELECT f.finding_id, f.rule, f.person_id, coalesce(f.grant_ref, ''),
		       f.period_start, f.period_end, f.severity, f.hours, f.detail
		  FROM findings f
		 WHERE f.resolved_at IS NULL AND f.person_id = ANY (v_people)
		   AND NOT EXISTS (SELECT 1 FROM overtaken o WHERE o.person_id = f.person_id)
	),
	pair AS MATERIALIZED (
		SELECT o.finding_id, c.rule IS NOT NULL AS produced,
		       (o.severity, o.hours, o.detail) IS DISTINCT FROM (c.severity, c.hours, c.detail) AS differs,
		       c.*
		  FROM old o
		  FULL JOIN cur c
		    ON o.rule = c.rule AND o.person_id = c.person_id
		   AND o.g = coalesce(c.grant_ref, '')
		   AND o.period_start = c.period_start AND o.period_end = c.period_end
	),
	upd AS (
		UPDATE findings f
		   SET severity = CASE WHEN p.produced THEN p.severity ELSE f.severity END,
		       hours = CASE WHEN p.produced THEN p.hours ELSE f.hours END,
		       detail = CASE WHEN p.produced THEN p.detail ELSE f.detail END,
		       changed_at = CASE WHEN p.produced THEN now() ELSE f.changed_at END,
		       resolved_at = CASE WHEN p.produced THEN NULL ELSE now() END
		  FROM pair p
		 WHERE f.finding_id = p.finding_id
		   -- (by primary key: otherwise every finding ever kept is hashed;
		   -- only those resolved or produced with other values)
		   AND f.finding_id = ANY (ARRAY(SELECT q.finding_id FROM pair q
		                                  WHERE q.finding_id IS NOT NULL AND q.differs))
		RETURNING p.produced
	),
	ins AS (
		INSERT INTO findings (rule, person_id, grant_ref, period_start, period_end,
		                      severity, hours, detail, first_detected_at, changed_at)
		SELECT p.rule, p.person_id, p.grant_ref, p.period_start, p.period_end,
		       p.severity, p.hours, p.detail, now(), now()
		  FROM pair p
		 WHERE p.finding_id IS NULL
		RETURNING finding_id
	)
	SELECT (SELECT count(*) FROM ins),
	       (SELECT count(*) FROM pair p WHERE p.finding_id IS NOT NULL AND p.produced),
	       (SELECT count(*) FILTER (WHERE NOT produced) FROM upd),
	       (SELECT count(*) FROM old)
	       + (SELECT count(*) FROM findings f
	           WHERE f.resolved_at IS NULL AND f.person_id IN (SELECT person_id FROM overtaken))
	  INTO v_opened, v_updated, v_resolved, v_open;
	-- open now: those open before (the overtaken people's, left as they
	-- are, counted too), less the resolved, plus the opened
	v_open := v_open - v_resolved + v_opened;
	-- everyone's findings are now as of v_as_of with p_params (violations_list)
	IF v_began IS NOT NULL THEN
		-- the marks are read (scoped sweeps wait for the sweep lock, so
		-- none is being written); only the holder of the evaluation lock
		-- reads them, and the next one begins after this commit
		DELETE FROM audit_sweep_overtaken;
	END IF;
	IF v_people IS NULL THEN
		INSERT INTO audit_sweep_last (as_of, params, finished_at)
		VALUES (v_as_of, coalesce(p_params, '{}'), now())
		ON CONFLICT (one) DO UPDATE
		   SET as_of = EXCLUDED.as_of, params = EXCLUDED.params, finished_at = EXCLUDED.finished_at;
	END IF;

	RETURN jsonb_build_object('as_of', v_as_of, 'opened', v_opened, 'updated', v_updated,
	                          'resolved', v_resolved, 'open', v_open);
END
$$;

-- The people a re-audit evaluates (effortd's statement audit_sweep,
-- daemon/db-statements.c, passes them to audit_sweep): its scope, the
-- "people" a store or a decision answered (a JSON array; NULL: everyone),
-- holds person ids and, read here, in the re-audit's own transaction:
--   {"grant": ref}    everyone assigned to the grant or with hours
--                     recorded on it (any version of a timesheet);
--   {"manager": id}   everyone the manager ever line-managed
--                     (line_manager_history).
-- Why here: the write that changed the grant or the delegation has
-- committed before the re-audit begins, so this statement sees it.  A
-- person connected to the grant or the manager by a write committed
-- before this statement began is read here; one connected by a write
-- committed after it is re-audited by that write itself (its own person,
-- after its own COMMIT), which then sees both.  Read by the write itself,
-- before its COMMIT, the connection made by another instance in between
-- was missed by both re-audits (tests/t/races2.t).  The reach is read by
-- index for the grants (assignments_grant, timesheet_entries_grant) and
-- only when the scope names one.
CREATE OR REPLACE FUNCTION effort_reaudit_people(p_scope jsonb)
RETURNS text[] LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
	v_people   text[] := ARRAY(SELECT e #>> '{}' FROM jsonb_array_elements(p_scope) e
	                            WHERE jsonb_typeof(e) = 'string');
	v_grants   text[] := ARRAY(SELECT e ->> 'grant' FROM jsonb_array_elements(p_scope) e
	                            WHERE jsonb_typeof(e) = 'object' AND e ? 'grant');
	v_managers text[] := ARRAY(SELECT e ->> 'manager' FROM jsonb_array_elements(p_scope) e
	                            WHERE jsonb_typeof(e) = 'object' AND e ? 'manager');
BEGIN
	IF cardinality(v_grants) > 0 THEN
		v_people := v_people || ARRAY(
			SELECT a.person_id FROM assignments a WHERE a.grant_ref = ANY (v_grants)
			UNION
			SELECT t.person_id FROM timesheet_entries e
			  JOIN timesheets t USING (timesheet_id)
			 WHERE e.kind = 'grant' AND e.activity = ANY (v_grants));
	END IF;
	IF cardinality(v_managers) > 0 THEN
		v_people := v_people || ARRAY(
			SELECT DISTINCT h.person_id FROM line_manager_history h
			 WHERE h.line_manager_id = ANY (v_managers));
	END IF;
	RETURN v_people;
END
$$;

-- Are the kept findings (the open rows of findings) those of today with
-- the rule settings p_params?  Only once the last full sweep
-- (audit_sweep_last) was as of the day sweeps audit (today, or the
-- benchmark's effortd.audit_as_of) with these settings.  Not in the minute
-- after local midnight before the midnight sweep has run, while a failing
-- sweep is retried, nor after a reload that changed rules.* until the sweep
-- that follows it.  The one test of every reader of the kept findings:
-- violations_list, effort_findings_today (the reminders, the manager's
-- queue, a timesheet's versions).  The feed preview (23_ingest_preview.sql)
-- compares against the kept findings whatever their date, as the feed's own
-- re-audit will; /metrics counts what is kept.
CREATE OR REPLACE FUNCTION effort_kept_findings_current(p_params jsonb)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM audit_sweep_last l
	                WHERE l.as_of = effort_sweep_date(NULL, p_params)
	                  AND l.params = coalesce(p_params, '{}'));
END
$$;

-- The findings as of today of the people p_people (NULL: everyone), of
-- rule p_rule only when it is given: the kept open findings when they are
-- current (effort_kept_findings_current), else the rules evaluated afresh
-- (audit_findings, as violations_list does; the findings table untouched).
-- Separate statements, not one with ORs: each plans for its own case (the
-- kept ones by findings_person or findings_open).
CREATE OR REPLACE FUNCTION effort_findings_today(p_params jsonb, p_people text[],
	p_rule text DEFAULT NULL)
RETURNS SETOF rule_finding LANGUAGE plpgsql STABLE
SET jit = off AS $$
BEGIN
	IF NOT effort_kept_findings_current(p_params) THEN
		RETURN QUERY SELECT a.* FROM audit_findings(effort_today(p_params), p_params, p_people) a
		              WHERE p_rule IS NULL OR a.rule = p_rule;
	ELSIF p_people IS NOT NULL THEN
		RETURN QUERY SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start,
		                    f.period_end, f.hours, f.detail
		               FROM findings f
		              WHERE f.resolved_at IS NULL AND f.person_id = ANY (p_people)
		                AND (p_rule IS NULL OR f.rule = p_rule);
	ELSIF p_rule IS NOT NULL THEN
		RETURN QUERY SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start,
		                    f.period_end, f.hours, f.detail
		               FROM findings f
		              WHERE f.resolved_at IS NULL AND f.rule = p_rule;
	ELSE
		RETURN QUERY SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start,
		                    f.period_end, f.hours, f.detail
		               FROM findings f
		              WHERE f.resolved_at IS NULL;
	END IF;
END
$$;

-- The violations as of p_as_of, filtered (a NULL filter is no filter):
--   {"as_of": "2025-06-01", "violations": [{rule, severity, person_id,
--    grant_ref, period_start, period_end, hours, detail, first_detected_at,
--    resolved_at}, ...]}
-- sorted by person_id, period_start, rule, grant_ref (NULLs first), text
-- compared bytewise (COLLATE "C").  p_as_of NULL or today (organisation zone):
-- the open rows of findings, as kept by audit_sweep, once the last full
-- sweep (audit_sweep_last) was as of the day sweeps audit (today, or the
-- benchmark's effortd.audit_as_of) with these rule settings; any other
-- date, or today before that sweep has run (the minute after local
-- midnight, a failing sweep, a reload that changed rules.*): the rules
-- evaluated on the fly (findings untouched, first_detected_at null).
-- p_manager: only people effort_managed_people(p_manager, today) returns.
DROP FUNCTION IF EXISTS violations_list(date, jsonb, text, text, text, text, text);
CREATE FUNCTION violations_list(p_as_of date, p_params jsonb, p_rule text DEFAULT NULL,
	p_severity text DEFAULT NULL, p_person text DEFAULT NULL, p_grant text DEFAULT NULL,
	p_manager text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET jit = off AS $$
DECLARE
	v_today date := effort_today(p_params);
	v_as_of date := coalesce(p_as_of, v_today);
	v_list  jsonb;
	v_refusal jsonb := effort_not_their_staff(p_manager, p_person, p_params);
	-- p_manager's people (NULL: no such filter)
	v_staff text[] := CASE WHEN p_manager IS NOT NULL
	                       THEN ARRAY(SELECT m.person_id FROM effort_managed_people(p_manager, v_today) m) END;
BEGIN
	IF v_refusal IS NOT NULL THEN
		RETURN v_refusal;
	END IF;
	-- Two statements, not one UNION ALL: each is planned for its own path,
	-- so today's (the common case) never plans the whole rule query.
	-- to_jsonb(s) gives the same object as jsonb_build_object of its columns.
	IF v_as_of = v_today AND effort_kept_findings_current(p_params) THEN
		SELECT coalesce(jsonb_agg(to_jsonb(s)
		           ORDER BY s.person_id COLLATE "C", s.period_start, s.rule COLLATE "C",
		                    s.grant_ref COLLATE "C" NULLS FIRST, s.period_end), '[]'::jsonb)
		  INTO v_list
		  FROM (SELECT f.rule, f.severity, f.person_id, f.grant_ref, f.period_start,
		               f.period_end, f.hours, f.detail, f.first_detected_at, f.resolved_at
		          FROM findings f
		         WHERE f.resolved_at IS NULL
		           AND (p_person IS NULL OR f.person_id = p_person)
		           AND (p_rule IS NULL OR f.rule = p_rule)
		           AND (p_severity IS NULL OR f.severity = p_severity)
		           AND (p_grant IS NULL OR f.grant_ref = p_grant)
		           AND (v_staff IS NULL OR f.person_id = ANY (v_staff))) s;
	ELSE
		SELECT coalesce(jsonb_agg(to_jsonb(s)
		           ORDER BY s.person_id COLLATE "C", s.period_start, s.rule COLLATE "C",
		                    s.grant_ref COLLATE "C" NULLS FIRST, s.period_end), '[]'::jsonb)
		  INTO v_list
		  FROM (SELECT a.rule, a.severity, a.person_id, a.grant_ref, a.period_start,
		               a.period_end, a.hours, a.detail, NULL::timestamptz AS first_detected_at,
		               NULL::timestamptz AS resolved_at
		          FROM audit_findings(v_as_of, p_params,
		                              CASE WHEN p_person IS NOT NULL THEN ARRAY[p_person] END) a
		         WHERE (p_rule IS NULL OR a.rule = p_rule)
		           AND (p_severity IS NULL OR a.severity = p_severity)
		           AND (p_person IS NULL OR a.person_id = p_person)
		           AND (p_grant IS NULL OR a.grant_ref = p_grant)
		           AND (v_staff IS NULL OR a.person_id = ANY (v_staff))) s;
	END IF;

	RETURN jsonb_build_object('as_of', v_as_of, 'violations', v_list);
END
$$;
