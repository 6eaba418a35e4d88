#!/usr/bin/perl
# Failover under load.  A primary "a" and a synchronous hot standby "b"
# (scripts/pg-cluster start --sync); effortd's db.conninfo names both with
# target_session_attrs=read-write.  Four clients post people batches; the
# primary is stopped hard (pg_ctl -m immediate) mid-load; the standby is
# promoted (the recipe of docs/operations.md); effortd, never restarted,
# continues on the new primary.  Checked: every batch answered 200 is on the
# new primary, whole; no batch is half stored; every answer is 200 or 503
# and none takes longer than the bound below (no hang); the audit trail
# verifies on the new primary; the log explains what happened.  Then: a
# db.conninfo whose first host drops packets still reaches the primary.
use strict;
use warnings;
use utf8;
use Test::More;
use IO::Socket::INET;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd post_feed psql json_encode json_decode slurp replicated_cluster);

my $CLIENTS = 4;
my $BATCH = 20;      # people per batch
my $BOUND = 8;       # seconds: no answer may take longer (db.connect_timeout 2, statement_timeout 5)

my $rc = replicated_cluster(sync => 1);
my ($na, $nb) = ($rc->node('a'), $rc->node('b'));
is_deeply [ map { $_->[0] } EffortTest::psql_cluster($na, 'postgres',
	q{SELECT sync_state FROM pg_stat_replication}) ], ['sync'], 'b replicates synchronously from a';
my $db = new_db(cluster => $na);
ok $rc->wait_replayed('b'), 'the migrated database is on the standby';
my $on_b = bless { name => $db->name, cluster => $nb }, 'EffortTest::DB';

my $d = start_effortd(db => $db,
	'db.conninfo' => $rc->conninfo($db->name, target_session_attrs => 'read-write'),
	'db.pool_size' => 4, 'db.connect_timeout' => 2, 'db.statement_timeout' => 5);
my $pid = $d->pid;
my $token = $d->token('feed');
my $admin = $d->token('admin');

# ---- four clients: each posts batches until told to stop, and writes one
# line per batch: client batch status seconds
my $dir = $EffortTest::TMP . "/failover-$$";
mkdir $dir or die "$dir: $!";
my @kids;
for my $c (1 .. $CLIENTS) {
	my $kid = fork // die "fork: $!";
	if ($kid == 0) {
		open my $out, '>', "$dir/client$c" or _exit(2);
		$out->autoflush(1);
		for (my $n = 1; !-e "$dir/stop"; $n++) {
			my $batch = [ map { { person_id => sprintf('F%d_%04d_%02d', $c, $n, $_),
				name => "Client $c batch $n #$_", fte => 1, employment_start => '2024-01-01' } }
				1 .. $BATCH ];
			my $t0 = time;
			my ($s) = $d->req(POST => '/v1/people', token => $token, body => $batch, timeout => 30);
			printf $out "%d %d %d %.3f\n", $c, $n, $s, time - $t0;
			sleep 0.02;
		}
		close $out;
		_exit(0);
	}
	push @kids, $kid;
}

sub answered {
	my $n = 0;
	for my $c (1 .. $CLIENTS) {
		$n += () = slurp("$dir/client$c") =~ /\n/g if -e "$dir/client$c";
	}
	return $n;
}

my $end = time + 20;
sleep 0.05 until answered() >= 40 || time > $end;
cmp_ok answered(), '>=', 40, 'load running: 40 batches answered before the failure';

# ---- the failure and the failover (docs/operations.md, "Failover")
my $t_crash = time;
$rc->stop_node('a', immediate => 1);
sleep 1;    # the time a failover manager takes to decide
$rc->promote('b');
my $t_promoted = time;

# effortd finds the new primary by itself.
my ($s, $h);
$end = time + 20;
do { sleep 0.1; ($s, $h) = $d->req(GET => '/healthz', timeout => 10) }
	until ($s == 200 && ($h->{pools}{main}{ready} // 0) == 4) || time > $end;
my $t_back = time;
is $s, 200, sprintf('after promotion /healthz is 200 again (%.1f s after the crash, %.1f s after promotion)',
	$t_back - $t_crash, $t_back - $t_promoted);
is_deeply [ map { [ @$_{qw(host port role)} ] } @{ $h->{pools}{main}{servers} } ],
	[ [ $nb->host, $nb->port, 'primary' ] ], '… with every connection on b, now the primary'
	or diag json_encode($h);

# Let the clients post to the new primary for a while, then stop them.
my $n_back = answered();
$end = time + 20;
sleep 0.05 until answered() >= $n_back + 40 || time > $end;
open my $stop, '>', "$dir/stop";
close $stop;
waitpid $_, 0 for @kids;
is $d->pid, $pid, 'the same effortd process throughout (no restart)';
ok $d->alive, '… still running';

# ---- what the clients saw
my (@rows, %status);
for my $c (1 .. $CLIENTS) {
	for (split /\n/, slurp("$dir/client$c")) {
		my ($cl, $n, $st, $sec) = split ' ';
		push @rows, { client => $cl, batch => $n, status => $st, seconds => $sec };
		$status{$st}++;
	}
}
my $summary = join ', ', map { "$_ x$status{$_}" } sort keys %status;
diag "failover under load: $summary; crash to healthy " . sprintf('%.1f s', $t_back - $t_crash);
is_deeply [ grep { $_ != 200 && $_ != 503 } keys %status ], [], "every POST was answered 200 or 503 ($summary)";
cmp_ok $status{503} // 0, '>', 0, '… some 503 during the switch';
cmp_ok $status{200} // 0, '>', 80, '… and 200 before and after it';
my ($slowest) = sort { $b->{seconds} <=> $a->{seconds} } @rows;
cmp_ok $slowest->{seconds}, '<', $BOUND, "no POST took $BOUND s or more (slowest $slowest->{seconds} s)";

# ---- what the new primary holds
my %stored;
$stored{$_->[0]} = $_->[1] for psql($on_b,
	q{SELECT substring(person_id FROM '^F(\d+_\d+)_'), count(*) FROM people GROUP BY 1});
my @lost = grep { $_->{status} == 200 && ($stored{"$_->{client}_" . sprintf('%04d', $_->{batch})} // 0) != $BATCH } @rows;
is scalar @lost, 0, 'every batch answered 200 is on the new primary, whole'
	or diag json_encode(\@lost);
my @half = grep { $_ != $BATCH } values %stored;
is scalar @half, 0, 'no batch is half stored' or diag json_encode(\%stored);
my $stored_503 = grep { $_->{status} == 503 && $stored{"$_->{client}_" . sprintf('%04d', $_->{batch})} } @rows;
diag "batches answered 503 but stored whole (their reply lost with the old primary): $stored_503";

($s, my $v) = $d->req(GET => '/v1/audit/verify', token => $admin);
is $s, 200, 'GET /v1/audit/verify on the new primary: 200';
is $v->{ok}, JSON::PP::true, '… the audit trail verifies' or diag json_encode($v);
is $v->{rows}, psql($on_b, 'SELECT count(*) FROM audit_log'), "… all $v->{rows} rows of it";

# ---- the log tells the story
my $log = $d->log_text;
like $log, qr/database connection \d lost: .*(?:terminat|closed|unexpected)/i,
	'the log says the connections to the old primary were lost' or diag $log;
like $log, qr/main database connection \d: cannot connect, retrying: .*\Q${\ $na->host}\E/,
	'… that connecting failed, naming the old primary';
like $log, qr/main database connection \d ready on \Q${\ $nb->host}\E port ${\ $nb->port} \(primary\)/,
	'… and that the pool is on b, the new primary';
unlike $log, qr/dbname=/, '… never showing the connection string';

is $d->stop, 0, 'SIGTERM: exit 0';

# ---- a first host that drops packets does not hide the others
# A listening socket whose accept queue is full: the kernel drops further
# SYNs, so a connection to it neither succeeds nor fails.
my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 0, Proto => 'tcp')
	or die "listen: $!";
my @filled;
while (my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hole->sockport, Timeout => 0.5)) {
	push @filled, $c;
	last if @filled > 64;
}
my $t0 = time;
my $d2 = start_effortd(db => $db, 'db.pool_size' => 1, 'db.connect_timeout' => 1,
	'db.conninfo' => join(' ', 'host=127.0.0.1,' . $na->host . ',' . $nb->host,
		'port=' . join(',', $hole->sockport, $na->port, $nb->port),
		'dbname=' . $db->name, 'user=postgres target_session_attrs=read-write'));
my $took = time - $t0;
($s, $h) = $d2->req(GET => '/healthz');
is_deeply [ map { [ @$_{qw(host port role)} ] } @{ $h->{pools}{main}{servers} } ],
	[ [ $nb->host, $nb->port, 'primary' ] ],
	sprintf('db.conninfo whose first host drops packets: effortd reaches the primary behind it (%.1f s)', $took)
	or diag json_encode($h), $d2->log_text;
like $d2->log_text, qr/cannot connect, retrying: timed out connecting to 127\.0\.0\.1 port ${\ $hole->sockport}/,
	'… after one db.connect_timeout on it, as the log says';
is $d2->stop, 0, 'SIGTERM: exit 0';
done_testing;
