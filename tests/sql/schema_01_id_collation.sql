-- schema_01: identifiers compare byte for byte (migration 024).  Every
-- column that holds an id (a person, line manager, delegate, recipient,
-- grant, grant entry's activity, who decided, a rule) is COLLATE "C", in
-- the tables and in the views over them, so that their sorts and merge
-- joins never go through the server's locale and list ids in the order
-- the C code and the reports use, whatever locale the cluster has.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
SELECT plan(4);

-- the identifier columns of the schema's tables and views (by name: a
-- new table's person_id is one too)
CREATE TEMP VIEW id_columns AS
SELECT c.relname || '.' || a.attname AS col, c.relkind, k.collname
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_collation k ON k.oid = a.attcollation
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
   AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'text'::regtype
   AND (a.attname LIKE '%\_id' OR a.attname IN ('grant_ref', 'activity', 'decided_by', 'rule'));

SELECT cmp_ok((SELECT count(*) FROM id_columns WHERE relkind = 'r'), '>=', 24::bigint,
	'the tables'' identifier columns are found');
SELECT is_empty($$SELECT col FROM id_columns WHERE relkind = 'r' AND collname <> 'C'$$,
	'every identifier column of a table is COLLATE "C"');
SELECT is_empty($$SELECT col FROM id_columns WHERE relkind = 'v' AND collname <> 'C'$$,
	'... and of the views over them (current_timesheets, assignments_effective)');

-- what it means: ids order by their bytes, as COLLATE "C" does, with no
-- COLLATE in the query (upper case before lower, accented last)
INSERT INTO people (person_id, name, fte, employment_start)
VALUES ('z9', 'z', 1, '2020-01-01'), ('Z1', 'Z', 1, '2020-01-01'),
       ('é1', 'e', 1, '2020-01-01'), ('a1', 'a', 1, '2020-01-01');
SELECT is((SELECT string_agg(person_id, ' ' ORDER BY person_id) FROM people
	    WHERE person_id IN ('z9', 'Z1', 'é1', 'a1')),
	'Z1 a1 z9 é1', 'person_ids sort byte for byte');

SELECT * FROM finish();
ROLLBACK;
