# Timesheet batches lock their (person, period) keys, not their people:
# a batch of a person's timesheets is stored while another transaction
# holds a batch of the same person's other months (a feed in person order
# shares a person with the batch before it); a batch with a period in
# common waits for the other and then stores the next version (none lost,
# none repeated, the audit trail still verifies).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode);

my $db = new_db();
my $pg = $db->cluster;
my $d = start_effortd(db => $db);
my $token = $d->token('feed');

my ($s, $j) = post_feed($d, people => [ { person_id => 'P1', name => 'Ada Byron', fte => 1,
	employment_start => '2020-01-06' } ], token => $token);
is $s, 200, 'people stored' or diag json_encode($j);

sub ts {
	my ($month, $last, $hours, $submitted) = @_;
	return { person_id => 'P1', period_start => "2026-$month-01", period_end => "2026-$month-$last",
		submitted_at => $submitted, entries => [ { kind => 'research', activity => 'research', hours => $hours } ] };
}

# Another transaction stores a batch of P1's timesheets and holds it open
# for $secs seconds; returns once it is holding.
sub hold_batch {
	my ($batch, $secs) = @_;
	my $sql = json_encode($batch) =~ s/'/''/gr;
	my $pid = fork // die;
	if (!$pid) {
		local %ENV = (%ENV, $pg->env, PGDATABASE => $db->name);
		{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN',
			'-c', "SELECT ingest_timesheets('$sql'::jsonb, NULL)", '-c', "SELECT pg_sleep($secs)", '-c', 'COMMIT' };
		_exit(127);
	}
	my $end = time + 10;
	sleep 0.05 until psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%'})
		|| time > $end;
	return $pid;
}
sub holding { psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' AND state = 'active'}) }

# ---- the same person, another month: not held up
my $holder = hold_batch([ ts('08', 31, 100, '2026-09-01T09:00:00Z') ], 5);
ok holding(), 'another transaction holds a batch of P1\'s August';
my $t0 = time;
($s, $j) = post_feed($d, timesheets => [ ts('09', 30, 110, '2026-10-01T09:00:00Z') ], token => $token);
my $took = time - $t0;
is $s, 200, 'P1\'s September is stored' or diag json_encode($j);
is $j->{created}, 1, '… as a new timesheet';
ok holding(), '… while the other transaction still holds P1\'s August';
cmp_ok $took, '<', 4, "… without waiting for it (${\ sprintf '%.2f', $took} s)";
waitpid $holder, 0;
is $?, 0, 'the other transaction committed';
is psql($db, q{SELECT string_agg(period_start || ' v' || version, ',' ORDER BY period_start) FROM timesheets WHERE person_id = 'P1'}),
	'2026-08-01 v1,2026-09-01 v1', 'both months stored, each version 1';

# ---- the same period, first stored by the other transaction: waits, then
# the next version
$holder = hold_batch([ ts('07', 31, 100, '2026-08-01T09:00:00Z') ], 2);
$t0 = time;
($s, $j) = post_feed($d, timesheets => [ ts('07', 31, 120, '2026-08-02T09:00:00Z') ], token => $token);
$took = time - $t0;
is $s, 200, 'a July with other hours is stored' or diag json_encode($j);
is_deeply [ @$j{qw(created updated)} ], [ 0, 1 ], '… as an update of the July the other transaction stored';
cmp_ok $took, '>', 1, "… once that transaction committed (${\ sprintf '%.2f', $took} s)";
waitpid $holder, 0;
is psql($db, q{SELECT string_agg(version || ':' || total_hours, ',' ORDER BY version) FROM timesheets WHERE person_id = 'P1' AND period_start = '2026-07-01'}),
	'1:100.00,2:120.00', 'version 1 the other transaction\'s, version 2 this batch\'s';
is psql($db, q{SELECT string_agg((after ->> 'version') || ':' || (after -> 'entries' -> 0 ->> 'hours'), ',' ORDER BY id) FROM audit_log WHERE entity = 'timesheets' AND after ->> 'period_start' = '2026-07-01'}),
	'1:100.00,2:120.00', 'the audit trail logs each version once';

# ---- the same period, already stored: waits for the other transaction's
# version, then the next
$holder = hold_batch([ ts('07', 31, 130, '2026-08-03T09:00:00Z') ], 2);
$t0 = time;
($s, $j) = post_feed($d, timesheets => [ ts('07', 31, 140, '2026-08-04T09:00:00Z') ], token => $token);
$took = time - $t0;
is $s, 200, 'another July is stored' or diag json_encode($j);
cmp_ok $took, '>', 1, "… once the transaction with version 3 committed (${\ sprintf '%.2f', $took} s)";
waitpid $holder, 0;
is psql($db, q{SELECT string_agg(version || ':' || total_hours, ',' ORDER BY version) FROM timesheets WHERE person_id = 'P1' AND period_start = '2026-07-01'}),
	'1:100.00,2:120.00,3:130.00,4:140.00', 'versions 3 and 4 in the order the batches committed';

($s, $j) = $d->req(GET => '/v1/audit/verify', token => $d->token('admin'));
is $s, 200, 'GET /v1/audit/verify';
ok $j->{ok}, '… the audit trail verifies' or diag json_encode($j);

done_testing;
