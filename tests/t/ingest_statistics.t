# A feed that at least doubles a table analyses it (effort_analyze_grown,
# sql/functions/19_ingest_statistics.sql), so that the scoped re-audit is
# planned for the tables as they are, not as they were before the load:
#   - the first timesheet feed into empty tables: timesheets and
#     timesheet_entries have statistics of all their rows once it is
#     answered (autovacuum is off for them here: only the feed can have
#     taken them), also with effortd serving as the runtime role, which
#     does not own the tables;
#   - a later feed that adds a few per cent leaves them as they were;
#   - a rejected feed stores nothing and analyses nothing;
#   - a table another transaction holds for ANALYZE is skipped without a
#     wait or a warning.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode);

my $db = new_db();
my @tables = qw(people timesheets timesheet_entries timesheet_decisions);
psql($db, join '', map {"ALTER TABLE $_ SET (autovacuum_enabled = off);"} @tables);
my $role = "effortd_stats_$$";
my $rt = $db->runtime_role($role);
my $c = $db->cluster;
my $d = start_effortd(db => $db, 'db.conninfo' => $rt->conninfo($db->name));

# reltuples of a table: -1 until it is first analysed (or vacuumed).
sub reltuples { psql_value($db, "SELECT reltuples::bigint FROM pg_class WHERE oid = '$_[0]'::regclass") }

my @people = map { sprintf 'S%03d', $_ } 1 .. 200;
my ($s, $j) = post_feed($d, people => [ map { { person_id => $_, name => "Person $_", fte => 1,
	employment_start => '2020-01-01' } } @people ]);
is $s, 200, '200 people stored' or diag json_encode($j);

sub timesheet {
	my ($p, $m, $hours, $y) = @_;
	$y //= 2025;
	my $end = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[ $m - 1 ];
	return { person_id => $p, period_start => sprintf('%d-%02d-01', $y, $m),
		period_end => sprintf('%d-%02d-%02d', $y, $m, $end),
		submitted_at => sprintf('%d-%02d-%02dT17:00:00Z', $y, $m, $end),
		entries => [ map { { kind => 'research', activity => "r$_", hours => $hours } } 1 .. 5 ] };
}
is reltuples('timesheet_entries'), -1, 'before the timesheet feed: timesheet_entries never analysed';

# ---- a first feed into the empty tables: analysed ------------------------
($s, $j) = post_feed($d, timesheets => [ map { my $p = $_; map { timesheet($p, $_, 30) } 1 .. 12 } @people ]);
is $s, 200, '2,400 timesheets (12,000 entries) through effortd as the runtime role: 200' or diag json_encode($j);
is $j->{created}, 2400, '… all created';
is reltuples('timesheets'), 2400, '… timesheets analysed: the statistics count all 2,400 rows';
is reltuples('timesheet_entries'), 12000, '… timesheet_entries analysed: 12,000 rows';
ok psql_value($db, q{SELECT count(*) FROM pg_stats WHERE tablename = 'timesheet_entries' AND attname = 'activity'}) == 1,
	'… with column statistics';
unlike $d->log_text, qr/only table or database owner can analyze/, '… no refusal for the runtime role';

# ---- a few per cent more: left alone --------------------------------------
($s, $j) = post_feed($d, timesheets => [ map { timesheet($_, 1, 30, 2026) } @people[ 0 .. 99 ] ]);
is $s, 200, '100 more timesheets: 200' or diag json_encode($j);
is psql_value($db, 'SELECT count(*) FROM timesheets'), 2500, '… stored';
is reltuples('timesheets'), 2400, '… timesheets not analysed again (not doubled)';
is reltuples('timesheet_entries'), 12000, '… nor timesheet_entries';

# ---- a rejected feed: nothing stored, nothing analysed ----------------------
psql($db, 'TRUNCATE timesheet_decisions, timesheets, timesheet_entries CASCADE; VACUUM timesheets, timesheet_entries');
my $before = reltuples('timesheet_entries');
my @bad = map { my $p = $_; map { timesheet($p, $_, 30) } 1 .. 12 } @people;
$bad[-1]{person_id} = 'NOBODY';
($s, $j) = post_feed($d, timesheets => \@bad);
is $s, 422, 'a feed with an unknown person: 422' or diag json_encode($j);
is psql_value($db, 'SELECT count(*) FROM timesheets'), 0, '… nothing stored';
is reltuples('timesheet_entries'), $before, '… and timesheet_entries not analysed';

# ---- a table another transaction is analysing: left to it, not waited for --
{
	my $holder = fork // die "fork: $!";
	if (!$holder) {
		local %ENV = (%ENV, $c->env, PGDATABASE => $db->name);
		{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-c', 'BEGIN', '-c', "SET application_name = 'stats_holder'",
			'-c', 'LOCK TABLE timesheet_entries IN SHARE UPDATE EXCLUSIVE MODE', '-c', 'SELECT pg_sleep(120)' };
		POSIX::_exit(127);
	}
	my $end = time + 20;
	sleep 0.05 until psql_value($db, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND mode = 'ShareUpdateExclusiveLock'
		AND relation = 'timesheet_entries'::regclass AND granted}) || time > $end;
	($s, $j) = post_feed($d, timesheets => [ map { my $p = $_; map { timesheet($p, $_, 30) } 1 .. 12 } @people ]);
	is $s, 200, 'timesheet_entries held by another transaction (its lock for ANALYZE): the feed 200' or diag json_encode($j);
	is psql_value($db, q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'stats_holder' AND state = 'active'}), 1, '… without waiting for it (the holder still holds it)';
	is reltuples('timesheets'), 2400, '… timesheets analysed';
	is reltuples('timesheet_entries'), $before, '… timesheet_entries left alone';
	unlike $d->log_text, qr/skipping analyze|lock not available/, '… and no warning about it';
	psql($db, q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'stats_holder'});
	waitpid $holder, 0;
}

is $d->stop, 0, 'effortd stops';
done_testing();
