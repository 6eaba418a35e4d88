# The audit trail's flush at commit is never JIT-compiled.  It runs with
# enable_seqscan = off (60_audit_log.sql), which prices any sequential scan
# at 10^10, far past jit_above_cost: the one-row audit_head's UPDATE was
# compiled at every commit that logged anything (22-50 ms of LLVM under the
# chain's lock, which every other writer's commit waits for).  The plans of
# every statement the flush runs are read back with auto_explain (its
# NOTICE level, in the writing session), as a transaction that logs a row
# commits; PostgreSQL's defaults for jit and jit_above_cost apply.  The
# same for a large feed's warnings (24_ingest_warnings.sql).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db psql psql_explained);

my $db = new_db();
plan skip_all => 'this PostgreSQL has no JIT provider' unless psql($db, 'SELECT pg_jit_available()') eq 't';

# The plans auto_explain sent: [query text, compiled?] each.
sub plans {
	my ($notices) = @_;
	my (undef, @blocks) = split /Query Text: /, $notices;
	return map { my ($text, $plan) = /\A([^\n]*)\n?(.*)\z/s; [ $text, $plan =~ /^\s*JIT:/m ? 1 : 0 ] } @blocks;
}
sub compiled { map { $_->[0] } grep { $_->[1] } plans($_[0]) }

# PostgreSQL's defaults for jit and jit_above_cost.
my $defaults = "RESET jit;\nRESET jit_above_cost;\n";

my ($notices, $status) = psql_explained($db, $defaults . <<'SQL');
BEGIN;
INSERT INTO grants (grant_ref, title, start_date, end_date)
VALUES ('EP/J000001/1', 'JIT grant', '2025-01-01', '2027-12-31');
COMMIT;
SQL
is $status, 0, 'a grant inserted and committed as the owner' or diag $notices;
like $notices, qr/Query Text: UPDATE audit_head SET flushes = flushes \+ 1/,
	"auto_explain showed the flush's statements (the UPDATE of audit_head)";
is psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'grants' AND entity_key->>'grant_ref' = 'EP/J000001/1'}), 1,
	'… and the flush logged the row';
is_deeply [ compiled($notices) ], [], 'no statement of the flush was JIT-compiled' or diag $notices;

# A large feed's warnings: ingest_warnings reads the staged records (a
# temporary table without statistics) against the people; at 50,000
# people a batch of 50,000 costs past jit_above_cost (compiled: 15-17 ms of
# each such POST in the benchmark).  Here the threshold is brought down to
# any cost instead of storing 50,000 people: the function's own statement
# must still not be compiled.
($notices, $status) = psql_explained($db, $defaults . <<'SQL');
SET jit_above_cost = 0;
BEGIN;
SELECT feed_stage_open();
INSERT INTO feed_stage (idx, rec)
SELECT g, jsonb_build_object('person_id', 'J' || g, 'line_manager_id', 'M' || g)
  FROM generate_series(0, 999) g;
SELECT jsonb_array_length(ingest_warnings('people'));
ROLLBACK;
SQL
is $status, 0, "a people feed's warnings over 1,000 staged records" or diag $notices;
my @compiled = compiled($notices);
ok scalar(grep { /^SELECT jsonb_array_length/ } @compiled),
	"… with jit_above_cost = 0 the session's own statement was compiled" or diag $notices;
ok scalar(grep { $_->[0] =~ /^\($/ } plans($notices)), "… ingest_warnings' statement was explained" or diag $notices;
is_deeply [ grep { /^\($/ } @compiled ], [], '… and not compiled' or diag $notices;

done_testing;
