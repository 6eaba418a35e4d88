# The staging tables of a feed (feed_stage, effort_ts_plan:
# sql/functions/22_ingest_stage.sql, 21_ingest_timesheets.sql) belong to
# effortd's database session and are emptied at every commit, not made and
# dropped in each feed's transaction (their catalog rows written and
# deleted at every POST: 4-8 ms of a one-timesheet POST's 15-18):
#   - after a feed is answered, effortd's session still has both tables,
#     empty, and the same ones (same oid) serve every later feed;
#   - nothing of a rejected feed is left in them for the next one;
#   - a batch after single records, in the same session, stores exactly its
#     records (the plans made for one record are made again for it);
#   - a caller in SQL may stage and ingest twice in one transaction, and
#     finds the tables empty in the next.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode);

my $db = new_db();
# One pooled connection: every feed below runs in the same session.
my $d = start_effortd(db => $db, 'db.pool_size' => 1);

my @people = map { sprintf 'S%03d', $_ } 1 .. 50;
my ($s, $j) = post_feed($d, people => [ map { { person_id => $_, name => "Person $_", fte => 1,
	employment_start => '2020-01-01' } } @people ]);
is $s, 200, '50 people stored' or diag json_encode($j);

sub timesheet {
	my ($p, $m, $hours) = @_;
	my $end = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[ $m - 1 ];
	return { person_id => $p, period_start => sprintf('2025-%02d-01', $m),
		period_end => sprintf('2025-%02d-%02d', $m, $end),
		submitted_at => sprintf('2025-%02d-%02dT17:00:00Z', $m, $end),
		entries => [ { kind => 'research', activity => 'r', hours => $hours },
			{ kind => 'admin', activity => 'admin', hours => 10 } ] };
}

# The staging tables of the sessions other than this test's own psql:
# "relname oid" for each, in name order.
sub staging_tables {
	psql_value($db, q{SELECT string_agg(c.relname || ' ' || c.oid, ', ' ORDER BY c.relname)
	                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	                   WHERE n.nspname LIKE 'pg\_temp\_%'
	                     AND c.relname IN ('feed_stage', 'effort_ts_plan')}) // '';
}

# ---- the session keeps its tables ------------------------------------------
($s, $j) = post_feed($d, timesheets => [ timesheet('S001', 1, 150) ]);
is $s, 200, 'one timesheet: 200' or diag json_encode($j);
is $j->{created}, 1, '… created';
my $tables = staging_tables();
like $tables, qr/^effort_ts_plan \d+, feed_stage \d+$/,
	"… effortd's session keeps feed_stage and effort_ts_plan after the commit";

# ---- a rejected feed leaves nothing for the next ------------------------------
($s, $j) = post_feed($d, timesheets => [ timesheet('S002', 1, 150), timesheet('NOBODY', 1, 150) ]);
is $s, 422, 'a batch with an unknown person: 422' or diag json_encode($j);
is_deeply [ map { "$_->{index} $_->{field}" } @{ $j->{errors} // [] } ], ['1 person_id'],
	'… record 1, person_id';
($s, $j) = post_feed($d, timesheets => [ timesheet('S003', 1, 150) ]);
is $s, 200, 'then one timesheet of another person: 200' or diag json_encode($j);
is $j->{created}, 1, '… one created, nothing of the rejected batch with it';
is psql_value($db, q{SELECT string_agg(person_id, ',' ORDER BY person_id) FROM timesheets}), 'S001,S003',
	'… stored: S001 and S003 only';

# ---- a batch after single records, in the same session -------------------------
for my $m (2 .. 6) {
	($s, $j) = post_feed($d, timesheets => [ timesheet('S001', $m, 140 + $m) ]);
	is $s, 200, "S001's month $m alone: 200" or diag json_encode($j);
}
my @batch = map { my $p = $_; map { timesheet($p, $_, 150) } 7 .. 12 } @people;
($s, $j) = post_feed($d, timesheets => \@batch);
is $s, 200, 'then a batch of 300 timesheets: 200' or diag json_encode($j);
is $j->{created}, 300, '… all 300 created';
is psql_value($db, q{SELECT count(*) || ' ' || sum(hours) FROM timesheet_entries}),
	(2 + 5 + 300) * 2 . ' ' . (150 + 10 + 150 + 10 + (142 + 143 + 144 + 145 + 146) + 5 * 10 + 300 * 160) . '.00',
	'… every entry stored once, with its hours';
($s, $j) = post_feed($d, timesheets => [ map { my $t = timesheet($_, 7, 151); $t->{amendment_reason} = 'fix'; $t }
	@people[ 0 .. 9 ] ]);
is $s, 200, 'ten amendments after the batch: 200' or diag json_encode($j);
is $j->{updated}, 10, '… ten updated';
is psql_value($db, q{SELECT count(*) FROM timesheets WHERE period_start = '2025-07-01' AND version = 2}), 10,
	'… as version 2';
is staging_tables(), $tables, 'the same two tables (same oids) served every feed';

# ---- a caller in SQL: twice in one transaction, empty in the next -------------
my @two = map { split /\s+/, $_->[0] } psql($db, <<'SQL');
BEGIN;
SELECT ingest_timesheets('[{"person_id":"S004","period_start":"2025-01-01","period_end":"2025-01-31",
  "submitted_at":"2025-01-31T17:00:00Z","entries":[{"kind":"research","activity":"r","hours":160}]}]', NULL) ->> 'created';
SELECT ingest_timesheets('[{"person_id":"S005","period_start":"2025-01-01","period_end":"2025-01-31",
  "submitted_at":"2025-01-31T17:00:00Z","entries":[{"kind":"research","activity":"r","hours":160}]}]', NULL) ->> 'created';
SELECT count(*) FROM effort_ts_plan;
COMMIT;
SELECT (SELECT count(*) FROM feed_stage) || ' ' || (SELECT count(*) FROM effort_ts_plan);
SQL
is "@two", '1 1 1 0 0', 'in SQL, two ingests in one transaction each store theirs; the tables are empty after COMMIT';
is psql_value($db, q{SELECT count(*) FROM timesheets WHERE person_id IN ('S004', 'S005') AND period_start = '2025-01-01'}), 2, '… both stored';

done_testing;
