# The full audit sweep cannot be starved by steady feed traffic: while
# timesheet feeds flow through effortd without pause and scoped sweeps of
# another instance hold the sweep lock (shared) one after another without a
# gap, the periodic full sweep (audit.sweep_interval = 1) still runs within
# a bounded time, and it alone turns over the findings of a person no feed
# touches (a charge inserted and then deleted behind effortd's back opens
# and then resolves activity_missing).  Before, the full sweep tried the
# lock once and gave up while any scoped sweep held it.  A full sweep that
# fails is tried again after 10 s, not at the next interval.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode slurp spew);

my $LOAD_SECONDS = 14;    # how long the feeds and scoped sweeps go on
my $BOUND = 5;            # a full sweep must complete within this (interval 1 s)

my $db = new_db();
my $pg = $db->cluster;
my $d = start_effortd(db => $db, 'audit.sweep_interval' => 1, 'db.pool_size' => 4);
my $token = $d->token('feed');
my $G = 'EP/S000001/1';
my @W = map {"W$_"} 1 .. 6;    # fed all the time

is((post_feed($d, people => [ { person_id => 'WM', name => 'Manager', fte => 1, employment_start => '2015-01-05' },
	(map { { person_id => $_, name => "Worker $_", line_manager_id => 'WM', fte => 1, employment_start => '2015-01-05' } } @W),
	{ person_id => 'Z', name => 'Zed Idle', line_manager_id => 'WM', fte => 1, employment_start => '2015-01-05' } ]))[0],
	200, 'setup: people');
is((post_feed($d, grants => [ { grant_ref => $G, title => 'Starvation', start_date => '2020-01-01', end_date => '2099-12-31' } ]))[0],
	200, 'setup: grant');
is((post_feed($d, assignments => [ map { { person_id => $_, grant_ref => $G, role => 'researcher', cost_type => 'DI',
	start_date => '2025-01-01', end_date => '2025-06-30', fte_share => 0.5 } } @W ]))[0], 200, 'setup: assignments');

# ---------------------------------------------------------------- the load
my $t_start = time;
my $stop_at = $t_start + $LOAD_SECONDS;
my @kids;
# Two feeders: one changed timesheet after another, each POST answered
# after the scoped sweep of its person.
for my $k (0, 1) {
	my $log = "$EffortTest::TMP/starve-$$-feed-$k";
	my $pid = fork // die;
	if (!$pid) {
		my ($n, $bad, $worst) = (0, 0, 0);
		while (time < $stop_at) {
			my $p = $W[ ($n * 2 + $k) % @W ];
			my $t = time;
			my ($s) = post_feed($d, timesheets => [ { person_id => $p, period_start => '2025-03-01', period_end => '2025-03-31',
				submitted_at => sprintf('2025-04-01T%02d:%02d:%02dZ', int($n / 3600) % 24, int($n / 60) % 60, $n % 60),
				entries => [ { kind => 'grant', activity => $G, hours => 80 + $n % 50 + $k / 10 },
				             { kind => 'research', activity => 'research', hours => 60 } ] } ], token => $token);
			$worst = time - $t if time - $t > $worst;
			$bad++ if ($s // 0) != 200;
			$n++;
		}
		spew($log, "$n $bad $worst");
		_exit(0);
	}
	push @kids, [ $pid, $log ];
}
# Two scoped sweepers, as another instance's larger scoped sweeps: each holds
# the sweep lock (shared) for 0.3 s, the two staggered, so that at any moment
# one of them holds it.
for my $k (0, 1) {
	my $pid = fork // die;
	if (!$pid) {
		local %ENV = (%ENV, $pg->env, PGDATABASE => $db->name);
		my $rounds = int($LOAD_SECONDS / 0.3) + 1;
		my $script = "$EffortTest::TMP/starve-$$-sweeper-$k.sql";
		spew($script, ($k ? "SELECT pg_sleep(0.15);\n" : '')
			. "BEGIN; SELECT audit_sweep(NULL, '{}', ARRAY['NOBODY$k']); SELECT pg_sleep(0.3); COMMIT;\n" x $rounds);
		{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-f', $script };
		_exit(127);
	}
	push @kids, [ $pid, undef ];
}

sub poll {
	my ($cond, $timeout) = @_;
	my $end = time + $timeout;
	while (time < $end) {
		return 1 if psql($db, "SELECT ($cond)::int") == 1;
		sleep 0.1;
	}
	return 0;
}
my $where = q{person_id = 'Z' AND rule = 'activity_missing'};
sleep 2;    # the load is running
# Sampled until seen: on a loaded machine a single look can fall between two
# of the sweepers' transactions.
ok poll(q{(SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND locktype = 'advisory' AND mode = 'ShareLock' AND granted) >= 1}, 10),
	'under load: scoped sweeps hold the sweep lock';

# Behind effortd's back: a charge for Z, whom no feed touches; only a full
# sweep can find it.
psql($db, qq{INSERT INTO charges (person_id, grant_ref, month, hours) VALUES ('Z', '$G', '2025-02-01', 40)});
my $t0 = time;
ok poll("EXISTS (SELECT 1 FROM findings WHERE $where AND resolved_at IS NULL)", $BOUND),
	"under steady feeds a full sweep opens Z's activity_missing within $BOUND s" or diag $d->log_text;
my $opened_after = time - $t0;
note sprintf 'opened after %.2f s', $opened_after;

psql($db, qq{DELETE FROM charges WHERE person_id = 'Z'});
$t0 = time;
ok poll("NOT EXISTS (SELECT 1 FROM findings WHERE $where AND resolved_at IS NULL)", $BOUND),
	"… and, the charge deleted, resolves it within $BOUND s" or diag $d->log_text;
note sprintf 'resolved after %.2f s', time - $t0;
is psql($db, "SELECT count(*) FROM findings WHERE $where AND resolved_at IS NOT NULL"), 1,
	'the finding turned over: one row, kept, resolved';
ok time < $stop_at, 'both happened while the load was still running';

for (@kids) { waitpid $_->[0], 0 }
my ($posts, $bad, $worst) = (0, 0, 0);
for (grep { defined $_->[1] } @kids) {
	my ($n, $b, $w) = split ' ', slurp($_->[1]);
	($posts, $bad) = ($posts + $n, $bad + $b);
	$worst = $w if $w > $worst;
}
cmp_ok $posts, '>=', 20, "the feeds kept flowing ($posts POSTs in $LOAD_SECONDS s)";
is $bad, 0, 'every POST was answered 200';
cmp_ok $worst, '<', $BOUND, sprintf('no POST waited long behind a full sweep (slowest %.2f s)', $worst);
my @sweeps = $d->log_text =~ /audit sweep: \{"open"/g;
cmp_ok scalar(@sweeps), '>=', 3, scalar(@sweeps) . ' full sweeps completed under the load';
unlike $d->log_text, qr/audit sweep failed/, 'no full sweep failed';
is $d->stop, 0, 'effortd stops cleanly';

# ---------------------------------------------------------------- a failed full sweep is retried soon
# The sweep lock held for 3 s and statements cut at 1 s: the start-up full
# sweep fails; effortd tries again 10 s later, not at the next interval
# (an hour) or midnight.
my $db2 = new_db();
my $holder = fork // die;
if (!$holder) {
	local %ENV = (%ENV, $pg->env, PGDATABASE => $db2->name);
	{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-c',
		q{SELECT pg_advisory_lock(hashtext('effortd.audit_sweep')), pg_sleep(3)} };
	_exit(127);
}
my $end = time + 5;
sleep 0.05 until psql($db2, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND locktype = 'advisory' AND granted}) || time > $end;
my $d2 = start_effortd(db => $db2, 'audit.sweep_interval' => 3600, 'db.statement_timeout' => 1);
$end = time + 8;
sleep 0.1 until $d2->log_text =~ /audit sweep failed/ || time > $end;
like $d2->log_text, qr/audit sweep failed: .*; trying again in 10 s/, 'the start-up full sweep fails while the lock is held';
my $t_failed = time;
waitpid $holder, 0;
$end = time + 15;
sleep 0.2 until $d2->log_text =~ /audit sweep: \{"open"/ || time > $end;
like $d2->log_text, qr/audit sweep: \{"open"/, 'it is tried again within 15 s and completes (interval: an hour)';
note sprintf 'completed %.1f s after the failure', time - $t_failed;

done_testing;
