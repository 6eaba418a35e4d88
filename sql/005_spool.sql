-- 005: the spool folder's ledger.  One row per file ingested from
-- spool.dir, keyed by name, size and content hash, inserted in the same
-- transaction as the file's records (spool_ingest in
-- sql/functions/80_operations.sql), so that a file is stored exactly once
-- however often effortd is restarted or how many instances watch the folder.

CREATE TABLE spool_files (
	file_name   text NOT NULL,
	size        bigint NOT NULL CHECK (size >= 0),
	sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	feed        text NOT NULL,
	records     integer NOT NULL,
	ingested_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (file_name, size, sha256)
);
