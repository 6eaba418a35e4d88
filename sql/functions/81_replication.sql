-- Streaming replication: what effortd asks a hot standby before it reads
-- from it (read-your-writes) and what /healthz shows about it.  Both run on
-- a standby (read-only, no writes) as well as on a primary.

-- Waits until this server has replayed the WAL up to p_lsn (a position the
-- primary had reached when a read arrived, so every commit acknowledged
-- before it), at most p_wait_ms milliseconds.  True at once on a primary
-- (nothing to replay: a promoted standby, or the report pool pointing at
-- the primary); false when the time is up, and the caller reads from the
-- primary instead.
CREATE OR REPLACE FUNCTION replica_wait_replay(p_lsn pg_lsn, p_wait_ms int)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	v_deadline timestamptz := clock_timestamp() + p_wait_ms * interval '1 millisecond';
BEGIN
	LOOP
		IF NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= p_lsn THEN
			RETURN true;
		END IF;
		IF clock_timestamp() >= v_deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.002);
	END LOOP;
END $$;

-- This server's replication state for /healthz: on a standby the WAL
-- received but not yet replayed (bytes) and how long ago the last replayed
-- transaction was committed on the primary; on a primary only
-- {"in_recovery": false}.
CREATE OR REPLACE FUNCTION replica_status()
RETURNS jsonb LANGUAGE sql AS $$
	SELECT CASE WHEN NOT pg_is_in_recovery() THEN
		jsonb_build_object('in_recovery', false)
	ELSE jsonb_build_object(
		'in_recovery', true,
		'replay_paused', pg_get_wal_replay_pause_state() <> 'not paused',
		'receive_lsn', pg_last_wal_receive_lsn()::text,
		'replay_lsn', pg_last_wal_replay_lsn()::text,
		'replay_lag_bytes', COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(),
			pg_last_wal_replay_lsn()), 0)::bigint,
		'last_replayed_commit_age_seconds', round(extract(epoch FROM
			clock_timestamp() - pg_last_xact_replay_timestamp())::numeric, 3))
	END
$$;
