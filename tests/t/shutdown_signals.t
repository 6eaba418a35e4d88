# Signals during shutdown: after the first SIGTERM (or SIGINT) effortd
# drains and exits 0, whatever further SIGTERM, SIGINT or SIGHUP arrives
# meanwhile (an operator pressing Ctrl-C twice, a supervisor that signals
# again).  Once the loop had ended, the signal events were freed and the
# default action restored, so a second SIGTERM during the last of the
# shutdown killed effortd (exit status 143, seen in races.t under load).
# Here each run sends signals every millisecond from the first SIGTERM
# until effortd has exited; in the last runs a feed is in flight, waiting
# for the audit trail's lock, and is cancelled when limits.drain_timeout
# passes (the cancel request is sent from a thread of its own, which must
# not take the signals either).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd post_bg collect_bg wait_for psql_value);

my $db = new_db();

for my $signals ([qw(TERM TERM)], [qw(INT INT)], [qw(TERM HUP)], [qw(TERM INT)]) {
	my ($first, $again) = @$signals;
	for my $run (1 .. 3) {
		my $d = start_effortd(db => $db);
		my ($s) = $d->req(GET => '/healthz');    # the pool connected
		kill $first, $d->{pid};
		my $end = time + 20;
		while ($d->alive && time < $end) {
			kill $again, $d->{pid};
			sleep 0.001;
		}
		my $rc = $d->stop('KILL', 1);
		is $rc, 0, "SIG$first, then SIG$again every millisecond: exits 0 (run $run)"
			or diag $d->log_text;
		last if !defined $rc || $rc != 0;
	}
}

# A feed in flight: its COMMIT waits for the chain's lock, held here, until
# the drain timeout cancels it.
sub chain_waiters {
	return psql_value($db, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database
		WHERE datname = current_database()) AND locktype = 'advisory' AND objid = 2751404708 AND NOT granted});
}
for my $run (1 .. 3) {
	my $d = start_effortd(db => $db, 'limits.drain_timeout' => 1);
	my $token = $d->token('feed');
	my $holder = $db->hold('SELECT pg_advisory_lock(7046372004)', 'chain_holder');
	my $job = post_bg($d, grants => [ { grant_ref => "GS$run", title => 'Signalled', start_date => '2026-01-01',
		end_date => '2027-12-31' } ], token => $token);
	ok wait_for(sub { chain_waiters() }, 10), "a feed waits to commit (run $run)";
	kill 'TERM', $d->{pid};
	my $end = time + 20;
	while ($d->alive && time < $end) {
		kill 'TERM', $d->{pid};
		sleep 0.001;
	}
	my ($s) = collect_bg($job);
	is $s, 503, '... it is answered 503';
	is $d->stop('KILL', 1), 0, "SIGTERM every millisecond through the drain and the cancel: exits 0 (run $run)"
		or diag $d->log_text;
	$db->release_held($holder, 'chain_holder');
}

done_testing;
