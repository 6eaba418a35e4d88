-- Staged feeds.  effortd streams a feed's records, as it checks them, with
-- COPY into a temporary table of the feed's own transaction
--   CREATE TEMP TABLE feed_stage (idx integer, rec jsonb) ON COMMIT DROP
-- (idx: the record's index in the body) and then calls the feed's ingest
-- function once with the staged records in body order,
--   jsonb_agg(rec ORDER BY idx), jsonb_agg(idx ORDER BY idx),
-- so that upsert, versioning, audit trail and re-audit are exactly those of
-- a batch sent whole.  When some records failed effortd's own checks only
-- the others are staged (and checked, p_check_only); the errors the
-- function finds carry the batch's positions, which feed_stage_remap turns
-- back into the body's indices.

CREATE OR REPLACE FUNCTION feed_stage_remap(p_doc jsonb, p_idxs jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_typeof(p_doc -> 'errors') = 'array' THEN
		jsonb_set(p_doc, '{errors}', (
			SELECT coalesce(jsonb_agg(CASE WHEN e ? 'index'
				THEN jsonb_set(e, '{index}',
					coalesce(p_idxs -> (e ->> 'index')::int, e -> 'index'))
				ELSE e END ORDER BY ord), '[]')
			  FROM jsonb_array_elements(p_doc -> 'errors')
			       WITH ORDINALITY a(e, ord)))
	ELSE p_doc END
$$;
