# Two effortd instances against one database: both serve; concurrent
# versions of one person's timesheet through both are all kept (no lost
# update, no duplicate version number); a full audit sweep never runs in
# two places at once (one queues for the advisory lock, the other skips).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode slurp spew);

my $db = new_db();
my $pg = $db->cluster;

# Hold the sweep lock before the instances start: the first full sweep (a
# second after start-up) queues for it and runs once it is free; the other
# instance's sweeps skip meanwhile (one is already queued).
my $holder = fork // die;
if (!$holder) {
	local %ENV = (%ENV, $pg->env, PGDATABASE => $db->name);
	{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-c',
		q{SELECT pg_advisory_lock(hashtext('effortd.audit_sweep')), pg_sleep(4)} };
	_exit(127);
}
my $end = time + 5;
sleep 0.05 until psql($db, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND locktype = 'advisory' AND granted}) || time > $end;
my $held_until = time + 3.5;    # the holder keeps it 4 s

my $a = start_effortd(db => $db, 'audit.sweep_interval' => 2);
my $b = start_effortd(db => $db, 'audit.sweep_interval' => 2);
ok $a->port != $b->port, 'two instances on two ports, one database';
for ([ A => $a ], [ B => $b ]) {
	my ($s) = $_->[1]->req(GET => '/healthz');
	is $s, 200, "instance $_->[0] serves";
}
my $ran_while_held = 0;
while (time < $held_until) {
	$ran_while_held ||= ($a->log_text . $b->log_text) =~ /audit sweep: \{"open"/;
	sleep 0.1;
}
ok !$ran_while_held, 'no sweep ran while the lock was held';
like $a->log_text . $b->log_text, qr/audit sweep: \{"skipped": true\}/,
	'an instance skipped its sweep while the other one was queued for the lock';
waitpid $holder, 0;
$end = time + 5;
sleep 0.1 until ($a->log_text . $b->log_text) =~ /audit sweep: \{"open"/ || time > $end;
like $a->log_text . $b->log_text, qr/audit sweep: \{"open"/, 'the queued sweep ran once the lock was free';

my $token = $a->token('feed');
my ($s, $j) = post_feed($a, people => [ { person_id => 'P1', name => 'Ada Byron', fte => 1, employment_start => '2020-01-06' } ],
	token => $token);
is $s, 200, 'people through A';
my $v1 = { person_id => 'P1', period_start => '2026-09-01', period_end => '2026-09-30', submitted_at => '2026-10-01T09:00:00Z',
	entries => [ { kind => 'research', activity => 'research', hours => 150 } ] };
($s, $j) = post_feed($b, timesheets => [$v1], token => $token);
is $s, 200, 'version 1 through B' or diag json_encode($j);

# Rounds of two different new versions at once, one through each instance.
my $rounds = 6;
my @statuses;
for my $round (1 .. $rounds) {
	my @kids;
	for my $k (0, 1) {
		my $f = "$EffortTest::TMP/inst-$$-$round-$k";
		my $pid = fork // die;
		if (!$pid) {
			my $ts = { %$v1, submitted_at => sprintf('2026-10-%02dT09:00:00Z', 1 + $round),
				entries => [ { kind => 'research', activity => 'research', hours => 200 + 10 * $round + $k } ] };
			my ($st) = post_feed($k ? $b : $a, timesheets => [$ts], token => $token);
			spew($f, $st // 599);
			_exit(0);
		}
		push @kids, [ $pid, $f ];
	}
	for (@kids) {
		waitpid $_->[0], 0;
		push @statuses, slurp($_->[1]);
	}
}
is_deeply \@statuses, [ (200) x (2 * $rounds) ], 'every concurrent version was accepted';
is psql($db, q{SELECT string_agg(version::text, ',' ORDER BY version) FROM timesheets WHERE person_id = 'P1'}),
	join(',', 1 .. 1 + 2 * $rounds), 'versions 1 to ' . (1 + 2 * $rounds) . ': none lost, none repeated';
is psql($db, q{SELECT count(DISTINCT t.total_hours) FROM timesheets t WHERE person_id = 'P1'}), 1 + 2 * $rounds,
	'each version holds its own entries';

# Batches through both instances at once: each commit appends its rows
# to the audit trail under the chain's lock, one run of ids; the runs
# follow one another with nothing lost, repeated or out of chain.
my @staff = map { sprintf 'Q%02d', $_ } 1 .. 32;
($s, $j) = post_feed($a, people => [ map { { person_id => $_, name => "Staff $_", fte => 1,
	employment_start => '2020-01-06' } } @staff ], token => $token);
is $s, 200, '32 more people through A' or diag json_encode($j);
my $before = psql($db, q{SELECT coalesce(max(id), 0) FROM audit_log});
my @batch_kids;
for my $k (0 .. 3) {
	my $f = "$EffortTest::TMP/inst-$$-batch-$k";
	my $pid = fork // die;
	if (!$pid) {
		my @ts;
		for my $m (2 .. 7) {
			push @ts, map { { person_id => $_, period_start => "2026-0$m-01", period_end => "2026-0$m-28",
				submitted_at => '2026-10-01T09:00:00Z',
				entries => [ { kind => 'research', activity => 'research', hours => 140 } ] } }
				@staff[ 8 * $k .. 8 * $k + 7 ];
		}
		my ($st) = post_feed($k % 2 ? $b : $a, timesheets => \@ts, token => $token);
		spew($f, $st // 599);
		_exit(0);
	}
	push @batch_kids, [ $pid, $f ];
}
my @batch_statuses;
for (@batch_kids) {
	waitpid $_->[0], 0;
	push @batch_statuses, slurp($_->[1]);
}
is_deeply \@batch_statuses, [ (200) x 4 ], 'four concurrent batches of 48 timesheets through both instances: 200';
is psql($db, qq{SELECT count(*) FROM audit_log WHERE id > $before AND entity = 'timesheets'}), 4 * 48,
	'every version is in the trail once';
is psql($db, qq{SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || (max(id) - min(id) + 1)
                 FROM audit_log WHERE id > $before}), join(' ', (4 * 48) x 3),
	'their ids are one run, none repeated or skipped';
is psql($db, q{SELECT audit_verify() ->> 'ok'}), 'true', 'the chain verifies';

# With the lock free, sweeps run again (in one instance at a time).
$end = time + 8;
sleep 0.2 until ($a->log_text . $b->log_text) =~ /audit sweep: \{"open"/ || time > $end;
like $a->log_text . $b->log_text, qr/audit sweep: \{"open"/, 'once the lock is free, an instance sweeps';

done_testing;
