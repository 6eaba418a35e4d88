# Faults: PostgreSQL stopped and started while batches stream in, effortd
# killed with SIGKILL mid-ingest, and a stalled database.  Every answer is
# 200 or 503; afterwards each batch is stored whole or not at all, and
# every batch answered 200 is there.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql json_encode slurp spew);

my $pg = EffortTest::private_cluster();
my $db = new_db(cluster => $pg);
my %opt = (db => $db, 'db.connect_timeout' => 2, 'db.statement_timeout' => 2, 'db.pool_size' => 2);
my $d = start_effortd(%opt);
my $token = $d->token('feed');
my $per = 40;    # people per batch

sub batch {
	my ($tag, $n) = @_;
	return [ map { { person_id => sprintf('%s-%03d-%02d', $tag, $n, $_), name => "Person $_ of batch $n",
				fte => 1, employment_start => '2020-01-06' } } 1 .. $per ];
}

# A child that posts batch after batch for $seconds, writing "n status" lines.
sub streamer {
	my ($d, $tag, $seconds, $out) = @_;
	my $pid = fork // die "fork: $!";
	return $pid if $pid;
	my $end = time + $seconds;
	open my $fh, '>', $out or _exit(1);
	$fh->autoflush(1);
	my $n = 0;
	while (time < $end) {
		my ($s) = eval { $d->req(POST => '/v1/people', token => $token, body => batch($tag, ++$n), timeout => 10) };
		print $fh "$n " . ($s // 599) . "\n";
		sleep 0.02;
	}
	close $fh;
	_exit(0);
}

sub results {
	my ($file) = @_;
	return map { [ split ' ' ] } grep { /\S/ } split /\n/, slurp($file);
}

# For each batch: how many of its people are stored.
sub stored_counts {
	my ($tag) = @_;
	my %n = map { $_->[0] => $_->[1] } psql($db,
		qq{SELECT split_part(person_id, '-', 2)::int, count(*) FROM people WHERE person_id LIKE '$tag-%' GROUP BY 1});
	return \%n;
}

sub check_batches {
	my ($tag, $what, $file, %want) = @_;
	my @r = results($file);
	my $stored = stored_counts($tag);
	my (%by, @bad, @partial, @lost);
	for (@r) {
		my ($n, $s) = @$_;
		$by{$s}++;
		push @bad, "$n:$s" unless $s == 200 || $s == 503 || ($want{allow_599} && $s == 599);
		my $k = $stored->{$n} // 0;
		push @partial, "$n:$k" if $k != 0 && $k != $per;
		push @lost, $n if $s == 200 && $k != $per;
	}
	my %seen = map { $_->[0] => 1 } @r;
	my @stray = grep { !$seen{$_} && !$want{allow_599} } keys %$stored;
	diag "$what: " . join(', ', map { "$_ x$by{$_}" } sort keys %by);
	cmp_ok scalar(@r), '>=', 5, "$what: the client sent batches";
	is_deeply \@bad, [], "$what: every answer is 200 or 503" . ($want{allow_599} ? ' (or the connection dropped)' : '');
	ok $by{200}, "$what: some batches were stored";
	ok $by{$want{expect}}, "$what: some batches met the fault ($want{expect})" if $want{expect};
	is_deeply \@partial, [], "$what: no batch is partly stored";
	is_deeply \@lost, [], "$what: every batch answered 200 is stored";
	is_deeply \@stray, [], "$what: nothing is stored that the client did not send";
	return \%by;
}

# ---- PostgreSQL stopped and started mid-ingest
my $out = "$EffortTest::TMP/faults-$$-pg";
my $pid = streamer($d, 'PG', 7, $out);
sleep 1.5;
$pg->stop;
sleep 2;
$pg->start;
waitpid $pid, 0;
check_batches('PG', 'PostgreSQL restart', $out, expect => 503);
ok $d->wait_health(200, 15), 'effortd reconnected by itself';
my ($s, $m) = $d->req(GET => '/metrics');
my ($reconnects) = $m =~ /^effortd_db_reconnects_total (\d+)$/m;
cmp_ok $reconnects // 0, '>=', 1, "metrics count the lost connections ($reconnects)";
like $d->log_text, qr/database connection \d lost/, 'the log says the connection was lost';

# ---- SIGKILL mid-ingest, then a restart
$out = "$EffortTest::TMP/faults-$$-kill";
$pid = streamer($d, 'KILL', 3, $out);
sleep 1.2;
is $d->stop('KILL'), 128 + 9, 'effortd killed with SIGKILL';
waitpid $pid, 0;
my $d2 = start_effortd(%opt);
check_batches('KILL', 'SIGKILL', $out, expect => 599, allow_599 => 1);
my ($s2) = $d2->req(POST => '/v1/people', token => $token, body => batch('KILL', 999));
is $s2, 200, 'the restarted effortd stores feeds';

# ---- a stalled database: a lock held on people
my $lock = fork // die;
if (!$lock) {
	local %ENV = (%ENV, $pg->env, PGDATABASE => $db->name);
	{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-c',
		'BEGIN; LOCK TABLE people IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;' };
	_exit(127);
}
my $end = time + 5;
sleep 0.1 until psql($db, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation = 'people'::regclass AND mode = 'AccessExclusiveLock' AND granted}) || time > $end;
my @kids;
for my $k (1 .. 2) {
	my $f = "$EffortTest::TMP/faults-$$-stall-$k";
	my $c = fork // die;
	if (!$c) {
		my $t0 = time;
		my ($st) = $d2->req(POST => '/v1/people', token => $token, body => batch('STALL', $k), timeout => 20);
		spew($f, sprintf("%s %.2f\n", $st, time - $t0));
		_exit(0);
	}
	push @kids, [ $c, $f ];
}
sleep 0.5;
my $t0 = time;
my ($hs, $hj) = $d2->req(GET => '/healthz', timeout => 3);
my $took = time - $t0;
is $hs, 200, 'stalled database: /healthz still answers 200';
is ref $hj && $hj->{database}, 'busy', '… saying the database is busy' or diag json_encode($hj);
cmp_ok $took, '<', 1, sprintf('… at once (%.2f s), not queued behind the stalled statements', $took);
($s, $m) = $d2->req(GET => '/metrics', timeout => 3);
is $s, 200, 'stalled database: /metrics answers';
like $m, qr/^effortd_db_connections_busy 2$/m, '… with both pool connections busy';
for (@kids) {
	waitpid $_->[0], 0;
	my ($st, $secs) = split ' ', slurp($_->[1]);
	is $st, 503, "a feed blocked by the lock gets 503 (after $secs s)";
	cmp_ok $secs, '>=', 1.5, '… after db.statement_timeout (2 s)';
	cmp_ok $secs, '<', 5, '… not after the lock is released (6 s)';
}
waitpid $lock, 0;
is psql($db, q{SELECT count(*) FROM people WHERE person_id LIKE 'STALL-%'}), 0, 'nothing of the timed-out batches is stored';
($s) = $d2->req(POST => '/v1/people', token => $token, body => batch('STALL', 3));
is $s, 200, 'the lock gone, feeds are stored again';

done_testing;
