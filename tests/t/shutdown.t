# Shutdown in order: SIGTERM stops accepting, lets running requests finish
# up to limits.drain_timeout, then cancels the rest (running statements
# with a cancel request, queued jobs removed) and answers them 503, frees
# the pools and only then the HTTP server.  Whatever is in flight, effortd
# exits 0 (under ASan too: this once aborted in evhttp_send).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql json_encode json_decode slurp spew);

my $db = new_db();

# An ACCESS EXCLUSIVE lock on findings for $secs seconds, and its end.
sub lock_findings { $db->lock_table('findings', $_[0]) }
sub unlock_findings { $db->unlock_table($_[0], 'findings') }

# effortd's violations statements waiting for the lock (not its sweeps).
sub waiting_on_lock {
	return psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'effortd'
		AND wait_event_type = 'Lock' AND query LIKE '%violations_list%'}) + 0;
}

# A child that GETs /v1/violations and writes "status elapsed body" to $file.
sub reader {
	my ($d, $token, $file) = @_;
	my $pid = fork // die "fork: $!";
	return $pid if $pid;
	my $t0 = time;
	my ($s, $j) = eval { $d->req(GET => '/v1/violations', token => $token, timeout => 60) };
	spew($file, sprintf("%d %.2f %s\n", $s // 599, time - $t0, ref $j ? json_encode($j) : ($j // '')));
	_exit(0);
}

sub outcome {
	my ($file) = @_;
	my ($s, $t, $body) = split ' ', slurp($file), 3;
	my $j = eval { json_decode($body) };
	return ($s, $t, $j);
}

my $tmp = $EffortTest::TMP;

# The first audit sweep runs a second after start; let it pass before the
# lock, so that it does not hold a pool connection behind it.
sub first_sweep_done {
	my ($d) = @_;
	my $end = time + 10;
	sleep 0.1 until $d->log_text =~ /audit sweep:/ || time > $end;
}

# ---- 1. the abort: requests stuck on a lock, SIGTERM, drain timeout passes
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 2, 'db.statement_timeout' => 60,
		'limits.drain_timeout' => 2);
	my $token = $d->token('reviewer');
	first_sweep_done($d);
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	is $s, 200, 'violations answer before the lock (and the token is cached)';
	my $locker = lock_findings(40);
	my @kids;
	for my $k (1 .. 3) {    # two run (pool_size 2), one waits in the queue
		my $f = "$tmp/shutdown-$$-stuck-$k";
		push @kids, [ reader($d, $token, $f), $f ];
	}
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 2 || time > $end;
	is waiting_on_lock(), 2, 'two statements wait on the lock, a third request waits in the queue';
	sleep 0.3;
	my $t0 = time;
	$d->signal('TERM');
	sleep 0.5;
	my $refused = !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Timeout => 1);
	ok $refused, 'after SIGTERM no new connection is accepted';
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	is $st, 0, 'effortd exits 0 with statements stuck on a lock' or diag $d->log_text;
	cmp_ok $took, '<', 6, sprintf('… once the drain timeout (2 s) passed (%.1f s)', $took);
	for (@kids) {
		waitpid $_->[0], 0;
		my ($cs, $secs, $j) = outcome($_->[1]);
		is $cs, 503, "a request still waiting at the drain timeout gets 503 (after $secs s)";
		like ref $j ? $j->{error} : '', qr/shutting down/, '… saying effortd is shutting down'
			or diag explain $j;
	}
	$end = time + 5;
	sleep 0.05 while waiting_on_lock() > 0 && time < $end;
	is waiting_on_lock(), 0, 'the running statements were cancelled on the server';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
	like $d->log_text, qr/cancelled 3 request\(s\)/, 'the log says how many requests were cancelled';
	unlock_findings($locker);
}

# ---- 2. a running request that finishes within the drain timeout is answered
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 2, 'db.statement_timeout' => 60,
		'limits.drain_timeout' => 10);
	my $token = $d->token('reviewer');
	first_sweep_done($d);
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	is $s, 200, 'second daemon answers';
	my $locker = lock_findings(2);
	my $f = "$tmp/shutdown-$$-drained";
	my $kid = reader($d, $token, $f);
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 1 || time > $end;
	my $t0 = time;
	$d->signal('TERM');
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	is $st, 0, 'SIGTERM with a request that finishes in time: exit 0';
	cmp_ok $took, '<', 8, sprintf('… as soon as it was answered (%.1f s)', $took);
	waitpid $kid, 0;
	my ($cs, $secs, $j) = outcome($f);
	is $cs, 200, 'the request in flight got its real answer';
	is ref $j && ref $j->{violations}, 'ARRAY', '… the violations list' or diag explain $j;
	waitpid $locker, 0;
}

# ---- 3. a client that goes away: its statement is cancelled at once
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 1, 'db.statement_timeout' => 60);
	my $token = $d->token('reviewer');
	first_sweep_done($d);
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	my $locker = lock_findings(30);
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port) or die "connect: $!";
	print $sock "GET /v1/violations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\n\r\n";
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 1 || time > $end;
	is waiting_on_lock(), 1, 'a request waits on the lock';
	close $sock;
	$end = time + 10;
	sleep 0.05 while waiting_on_lock() > 0 && time < $end;
	is waiting_on_lock(), 0, 'its client disconnected: the statement was cancelled';
	like $d->log_text, qr/client went away/, '… and the log says why';
	unlock_findings($locker);
	($s) = $d->req(GET => '/v1/violations', token => $token, timeout => 10);
	is $s, 200, 'the connection serves the next request';
	is $d->stop('TERM', 15), 0, 'then SIGTERM: exit 0';
}

done_testing;
