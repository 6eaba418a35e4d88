# A request's deadline (twice db.statement_timeout plus 10 s) covers its
# wait in the queue too: with one pool connection and every statement
# stuck on a lock until db.statement_timeout, the requests queued behind
# are cancelled at their deadline with a 503 that says so, instead of
# waiting their turn however long the queue.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql json_encode json_decode slurp spew);

my $db = new_db();
my $d = start_effortd(db => $db, 'db.pool_size' => 1, 'db.statement_timeout' => 1);
my $token = $d->token('reviewer');
# The first full sweep must have finished, or violations are evaluated on
# the fly and never wait for the lock on findings.  With a 1-s statement
# timeout it can time out under load (two test files at once); it is
# tried again 10 s later.
my $end = time + 35;
sleep 0.1 until $d->log_text =~ /audit sweep:/ || time > $end;
ok $d->log_text =~ /audit sweep:/, 'a full sweep has finished' or diag $d->log_text;
my ($s) = $d->req(GET => '/v1/violations', token => $token);
is $s, 200, 'violations answer (and the token is cached)';

my $locker = $db->lock_table('findings', 40);

# 16 readers: each statement waits 1 s for the lock, one at a time, so
# those from about the 12th on reach their 12 s deadline still queued.
my @kids;
for my $k (1 .. 16) {
	my $f = "$EffortTest::TMP/deadline-$$-$k";
	my $pid = fork // die;
	if (!$pid) {
		my $t0 = time;
		my ($st, $j) = eval { $d->req(GET => '/v1/violations', token => $token, timeout => 40) };
		spew($f, json_encode({ status => $st // 599, secs => time - $t0, body => $j }));
		_exit(0);
	}
	push @kids, [ $pid, $f ];
	sleep 0.02;
}
waitpid $_->[0], 0 for @kids;
my @out = map { json_decode(slurp($_->[1])) } @kids;
my @timed_out = grep { $_->{status} == 503 && ref $_->{body} && $_->{body}{error} =~ /^database unavailable/ } @out;
my @deadline = grep { $_->{status} == 503 && ref $_->{body} && $_->{body}{error} =~ /took too long and was cancelled/ } @out;
cmp_ok scalar @timed_out, '>=', 1, scalar(@timed_out) . ' statement(s) timed out on the lock (503 database unavailable)';
cmp_ok scalar @deadline, '>=', 1, scalar(@deadline) . ' request(s) cancelled at their deadline (503 took too long)';
is scalar(@timed_out) + scalar(@deadline), 16, 'every request got one of the two'
	or diag json_encode([ map { [ $_->{status}, $_->{body} ] } @out ]);
my ($slowest) = sort { $b <=> $a } map { $_->{secs} } @deadline;
cmp_ok $slowest // 0, '<', 15, sprintf('… the cancelled ones at the deadline (%.1f s), not at their turn', $slowest // 0);
like $d->log_text, qr/violations: cancelled while waiting for the database: the request took too long/,
	'the log says which request was cancelled and why';

$db->unlock_table($locker, 'findings');
($s) = $d->req(GET => '/v1/violations', token => $token, timeout => 10);
is $s, 200, 'after the lock, violations answer again';
is $d->stop('TERM', 15), 0, 'SIGTERM: exit 0';

done_testing;
