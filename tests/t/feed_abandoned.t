#!/usr/bin/perl
# A feed whose request is cancelled while effortd still reads it: the
# client closes its connection right after sending a large body, or
# effortd is told to stop (SIGTERM) in the middle.  The request is
# answered (or dropped) at once and its libevent request freed, while the
# feed job runs on to its next slice: it must not touch the freed request
# or its body (it crashed with SIGSEGV), it stores nothing, and effortd
# serves on or stops cleanly.  A client gone once its batch was read whole
# does not stop the merge: that batch is stored, and logged as such.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql_value wait_for);

my $db = new_db();
my $d = start_effortd(db => $db);
my $feed = $d->token('feed');

# About 20 MB of people: a few seconds of reading, in many slices.
my $pad = 'x' x 160;
my $body = '[' . join(',', map { sprintf '{"person_id":"A%06d","name":"Abandoned %d %s","fte":1,'
	. '"employment_start":"2020-01-01"}', $_, $_, $pad } 1 .. 99000) . ']';

# Sends the POST whole and returns the socket, still open.
sub post_raw {
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Proto => 'tcp')
		or die "connect: $!";
	print $sock "POST /v1/people HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $feed\r\n"
		. "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n" . $body;
	return $sock;
}

sub healthy {
	my ($s) = $d->req(GET => '/healthz');
	return $s == 200;
}

# The client leaves as soon as the body is sent.
for my $round (1 .. 3) {
	my $sock = post_raw();
	sleep 0.2 * $round;
	close $sock;
	my $end = time + 30;
	sleep 0.2 while time < $end && $d->alive && $d->log_text !~ /client closed the connection|the client went away/;
	sleep 1;
	ok $d->alive, "round $round: effortd still runs after the client left mid-feed" or diag $d->log_text;
	ok healthy(), "… and answers /healthz";
}
is psql_value($db, q{SELECT count(*) FROM people WHERE person_id LIKE 'A%'}), 0, 'nothing of the abandoned feeds was stored';

# A client that leaves once its batch is read whole, while the merge waits
# (here for a lock another session holds on the person): the batch is
# stored all the same, and the log says so after its "cancelled" line,
# for an operator who would otherwise take it for nothing stored.
{
	my $small = '[{"person_id":"L1","name":"Locked","fte":1,"employment_start":"2020-01-01"}]';
	my $pid = fork // die;
	if (!$pid) {
		EffortTest::psql($db, q{BEGIN; LOCK TABLE people IN SHARE MODE; SELECT pg_sleep(3); COMMIT});
		POSIX::_exit(0);
	}
	wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = 'people' AND l.mode = 'ShareLock' AND l.granted
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())}) > 0 }, 10);
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Proto => 'tcp') or die "connect: $!";
	print $sock "POST /v1/people HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $feed\r\n"
		. "Content-Type: application/json\r\nContent-Length: " . length($small) . "\r\n\r\n$small";
	sleep 0.5;
	close $sock;
	waitpid $pid, 0;
	my $stored = wait_for(sub { $d->log_text =~ /people: stored all the same \(1 records accepted\) after it was cancelled \(the client went away\); sending it again is safe/ }, 20);
	like $d->log_text, qr/people: cancelled while authenticated: the client went away/, 'the client gone: logged';
	ok $stored, '… and then, the batch stored once the lock was free: logged as stored all the same'
		or diag $d->log_text;
	is psql_value($db, q{SELECT name FROM people WHERE person_id = 'L1'}), 'Locked', '… and it is';
}

# SIGTERM while a feed is read: the client gets a 503, effortd exits 0.
{
	my $sock = post_raw();
	sleep 0.3;
	$d->signal('TERM');
	my ($reply, $t0) = ('', time);
	while (time - $t0 < 60) {
		my $n = sysread($sock, my $buf, 65536);
		last unless $n;
		$reply .= $buf;
	}
	like $reply, qr{\AHTTP/1\.1 (503|200) }, 'SIGTERM mid-feed: the client is answered (503 while reading)';
	is $d->stop('TERM', 60), 0, '… and effortd exits 0' or diag $d->log_text;
}

done_testing;
