#!/usr/bin/perl
# The report pool against a real hot standby (scripts/pg-cluster: a primary
# "a" and a standby "b" made with pg_basebackup -R, streaming): reports are
# served from the standby, its lag is visible (/healthz, and a report that
# does not yet show a feed when read-your-writes is off), read-your-writes
# (db.report_wait_ms) routes a read the standby cannot yet answer to the
# primary, and when the standby stops, reports fall back to the primary
# (target_session_attrs=standby: effortd's fallback; prefer-standby:
# libpq's).  Last, the synchronous standby stops: a feed's commit waits for
# it, effortd answers 503, and the feed is stored when the standby returns.
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd load_sample post_feed psql json_encode replicated_cluster);

my $rc = replicated_cluster(sync => 1);
my ($na, $nb) = ($rc->node('a'), $rc->node('b'));
my $db = new_db(cluster => $na);
ok $rc->wait_replayed('b'), 'the migrated database is on the standby';
my $on_b = bless { name => $db->name, cluster => $nb }, 'EffortTest::DB';

my %common = ('db.conninfo' => $rc->conninfo($db->name, target_session_attrs => 'read-write'),
	'db.connect_timeout' => 2);
my $d = start_effortd(db => $db, %common,
	'db.report_conninfo' => $rc->conninfo($db->name, target_session_attrs => 'standby'),
	'db.report_wait_ms' => 400);
my $lagging = start_effortd(db => $db, %common,
	'db.report_conninfo' => $rc->conninfo($db->name, target_session_attrs => 'standby'),
	'db.report_wait_ms' => 0);
load_sample($d);
ok $rc->wait_replayed('b'), 'the sample is replayed on the standby';

# The value of metric $name (with its labels as written) in $daemon's
# GET /metrics, or undef when it has no such sample.
sub metric {
	my ($daemon, $name) = @_;
	my (undef, $m) = $daemon->req(GET => '/metrics');
	return $m =~ /^\Q$name\E (\S+)$/m ? $1 : undef;
}

# The first column of the first row of SQL in the test database on node $n.
sub psql_first {
	my ($n, $sql) = @_;
	my ($row) = EffortTest::psql_cluster($n, $db->name, $sql);
	return $row ? $row->[0] : undef;
}

sub servers {
	my ($h, $pool) = @_;
	return [ map { [ @$_{qw(host port role)} ] } @{ $h->{pools}{$pool}{servers} // [] } ];
}

# Waits until every report-pool connection of $daemon is up (on $role).
sub report_pool_on {
	my ($daemon, $role, $timeout) = @_;
	my $end = time + ($timeout // 15);
	my $h;
	while (time < $end) {
		(undef, $h) = $daemon->req(GET => '/healthz');
		return $h if ref $h && $h->{pools}{report}{ready} == $h->{pools}{report}{size}
			&& !grep { $_->[2] ne $role } @{ servers($h, 'report') };
		sleep 0.1;
	}
	return $h;
}

# ---- /healthz names each pool's server
my $h = report_pool_on($d, 'standby');
is_deeply servers($h, 'main'), [ [ $na->host, $na->port, 'primary' ] ], '/healthz: the main pool is on a, the primary'
	or diag json_encode($h);
is_deeply servers($h, 'report'), [ [ $nb->host, $nb->port, 'standby' ] ], '… the report pool on b, the standby';
is $h->{pools}{report}{replication}{in_recovery}, JSON::PP::true, '… which is in recovery';
is $h->{pools}{report}{replication}{replay_lag_bytes}, 0, '… and has replayed all it received';
report_pool_on($lagging, 'standby');

# ---- reports are served by the standby
my $rev = $d->token('reviewer');
my $calls = sub {
	(psql($on_b, q{SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'report_grant'}))[0][0];
};
my $before = $calls->();
my ($s, $j) = $d->req(GET => '/v1/reports/grants/EP%2FX012345%2F1?as_of=2026-10-01', token => $rev);
is $s, 200, 'a grant report: 200';
is $j->{grant}{grant_ref}, 'EP/X012345/1', '… for that grant';
# An idle backend flushes its function statistics within 10 s.
my $end = time + 12;
sleep 0.2 while $calls->() == $before && time < $end;
is $calls->(), $before + 1, '… computed on the standby (its report_grant calls went up by one)';
($s, $j) = $d->req(GET => '/v1/violations?as_of=2026-10-01', token => $rev);
is $s, 200, 'violations as of a date: 200 from the standby';
my (undef, $m) = $d->req(GET => '/metrics');
# (a read falls back to the primary when the standby has not replayed
# the primary's last commit within 400 ms, as under a loaded machine)
my %reads = $m =~ /^effortd_report_reads_total\{server="(\w+)"\} (\d+)$/mg;
is +($reads{standby} // 0) + ($reads{primary} // 0), 2, '/metrics: the two reads counted, by the server that ran them'
	or diag $m;
cmp_ok $reads{standby} // 0, '>=', 1, '… the report on the standby';
like $m, qr/^effortd_report_replica_up 1$/m, '… the report pool\'s server answered';
like $m, qr/^effortd_report_in_recovery 1$/m, '… it is a standby';
like $m, qr/^effortd_report_replay_lag_bytes \d+$/m, '… with its replay lag in bytes';
like $m, qr/^effortd_report_last_replayed_commit_age_seconds \d+\.\d{3}$/m, '… the age of its last replayed commit';
like $m, qr/^# TYPE effortd_report_$_ gauge$/m, "… effortd_report_$_ is a gauge"
	for qw(replica_up in_recovery replay_lag_bytes last_replayed_commit_age_seconds);

# ---- the lag, made visible: replay paused on the standby
psql($on_b, 'SELECT pg_wal_replay_pause()');
my $grant = [ { grant_ref => 'RR/LAG0001/1', funder => 'EPSRC', title => 'Replication lag',
	start_date => '2026-01-01', end_date => '2027-12-31' } ];
($s) = post_feed($d, grants => $grant);
is $s, 200, 'a new grant is accepted by the primary while the standby does not replay';
$end = time + 5;
do { sleep 0.1; (undef, $h) = $d->req(GET => '/healthz') }
	until ($h->{pools}{report}{replication}{replay_lag_bytes} // 0) > 0 || time > $end;
cmp_ok $h->{pools}{report}{replication}{replay_lag_bytes}, '>', 0,
	'/healthz shows WAL received by the standby but not replayed' or diag json_encode($h);
is $h->{pools}{report}{replication}{replay_paused}, JSON::PP::true, '… and that replay is paused';
cmp_ok metric($d, 'effortd_report_replay_lag_bytes'), '>', 0, '… and so does /metrics';

my $path = '/v1/reports/grants/RR%2FLAG0001%2F1?as_of=2026-10-01';
($s) = $lagging->req(GET => $path, token => $lagging->token('reviewer'));
is $s, 404, 'db.report_wait_ms = 0: the report comes from the lagging standby, which lacks the grant: 404';

my $primary_reads = metric($d, 'effortd_report_reads_total{server="primary"}') // 0;
my $t0 = time;
($s, $j) = $d->req(GET => $path, token => $rev);
my $took = time - $t0;
is $s, 200, 'read-your-writes (db.report_wait_ms = 400): the client sees the grant it just posted';
cmp_ok $took, '>=', 0.4, sprintf('… after waiting for the standby for 400 ms (%.2f s)', $took);
cmp_ok $took, '<', 5, '… and no longer';
like $d->log_text, qr/the standby has not replayed the primary's last commit within 400 ms; reading from the primary/,
	'… then reading from the primary, as the log says';
is metric($d, 'effortd_report_reads_total{server="primary"}'), $primary_reads + 1, '… and as /metrics counts';

psql($on_b, 'SELECT pg_wal_replay_resume()');
ok $rc->wait_replayed('b'), 'replay resumed: the standby catches up';
# (the evidence report: no other test here asks for it, so its count on
# the standby is this read's alone)
my $evidence = sub {
	(psql($on_b, q{SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
		WHERE funcname = 'report_grant_evidence'}))[0][0];
};
$before = $evidence->();
my $log_len = length $d->log_text;
$t0 = time;
($s) = $d->req(GET => '/v1/reports/grants/RR%2FLAG0001%2F1/evidence?as_of=2026-10-01', token => $rev);
is $s, 200, 'a report on the new grant once the standby has caught up: 200';
cmp_ok time - $t0, '<', 0.4, '… without waiting out db.report_wait_ms';
unlike substr($d->log_text, $log_len), qr/reading from the primary/, '… not from the primary';
$end = time + 12;
sleep 0.2 while $evidence->() == $before && time < $end;
is $evidence->(), $before + 1, '… but from the standby';
($s) = $lagging->req(GET => $path, token => $lagging->token('reviewer'));
is $s, 200, '… and the lagging daemon now sees it too';

# ---- the standby stops: reports fall back to the primary
my $prefer = start_effortd(db => $db, %common,
	'db.report_conninfo' => $rc->conninfo($db->name, target_session_attrs => 'prefer-standby'));
report_pool_on($prefer, 'standby');
my $prefer_rev = $prefer->token('reviewer');    # (a commit: while b is up)
$rc->stop_node('b');
$end = time + 10;
do { sleep 0.1; (undef, $h) = $d->req(GET => '/healthz') }
	until $h->{pools}{report}{ready} == 0 || time > $end;
is $h->{pools}{report}{ready}, 0, 'standby stopped: /healthz shows the report pool down' or diag json_encode($h);
is $h->{status}, 'ok', '… effortd itself is healthy (the primary is up)';
is metric($d, 'effortd_report_replica_up'), 0, '… /metrics: the report pool\'s server is not up';
is metric($d, 'effortd_report_replay_lag_bytes'), undef, '… and no lag is claimed for it';
($s, $j) = $d->req(GET => $path, token => $rev);
is $s, 200, 'target_session_attrs=standby: reports fall back to the primary (200)';
($s) = $d->req(GET => '/v1/violations?as_of=2026-10-01', token => $rev);
is $s, 200, '… violations as of a date too';
like $d->log_text, qr/report database connection \d: cannot connect, retrying/, '… and the log says why';

$h = report_pool_on($prefer, 'primary');
is_deeply servers($h, 'report'), [ [ $na->host, $na->port, 'primary' ] ],
	'target_session_attrs=prefer-standby: libpq connects the report pool to the primary instead'
	or diag json_encode($h);
($s) = $prefer->req(GET => $path, token => $prefer_rev);
is $s, 200, '… and reports are served';

# ---- the standby is back: the report pool returns to it without a restart
$rc->start_node('b');
$h = report_pool_on($d, 'standby', 20);
is_deeply servers($h, 'report'), [ [ $nb->host, $nb->port, 'standby' ] ],
	'standby started again: the report pool is back on it' or diag json_encode($h);
like $d->log_text, qr/report database connection \d ready on \Q${\ $nb->host}\E port ${\ $nb->port} \(standby\)/,
	'… as the log says';

# ---- the synchronous standby stops: a commit waits for it
# PostgreSQL's statement_timeout does not cancel a commit waiting for a
# synchronous standby; effortd's own timer (db.statement_timeout + 5 s)
# answers 503, and the feed is stored once the standby is back.
my $end_sync = time + 15;
sleep 0.1 until (psql_first($na, q{SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'}) // 0) == 1
	|| time > $end_sync;
is psql_first($na, q{SELECT sync_state FROM pg_stat_replication}), 'sync', 'b is the synchronous standby again';
my $w = start_effortd(db => $db, %common, 'db.statement_timeout' => 1);
$w->token('feed');    # (a commit: while b is up)
my $unused = $w->token('reviewer');
$rc->stop_node('b');
$t0 = time;
($s) = $w->req(GET => '/v1/violations?as_of=2026-10-01', token => $unused, timeout => 10);
is $s, 200, 'the synchronous standby stopped: a read with a token not used before is answered 200';
cmp_ok time - $t0, '<', 2, "… at once (the token's last-use time does not wait for the standby)";
$t0 = time;
($s) = post_feed($w, grants => [ { %{ $grant->[0] }, grant_ref => 'RR/SYNC0001/1' } ]);
$took = time - $t0;
is $s, 503, 'the synchronous standby stopped: a feed is answered 503';
cmp_ok $took, '>=', 5.5, sprintf('… after db.statement_timeout + 5 s (%.1f s)', $took);
cmp_ok $took, '<', 9, '… not later';
is psql_first($na, q{SELECT count(*) FROM grants WHERE grant_ref = 'RR/SYNC0001/1'}), 0,
	'… the grant is not visible on the primary while its commit waits';
$rc->start_node('b');
$end_sync = time + 15;
sleep 0.1 until psql_first($na, q{SELECT count(*) FROM grants WHERE grant_ref = 'RR/SYNC0001/1'}) || time > $end_sync;
is psql_first($na, q{SELECT count(*) FROM grants WHERE grant_ref = 'RR/SYNC0001/1'}), 1,
	'standby back: the commit completes, so that 503 was not proof that nothing was stored';
is $w->stop, 0, 'SIGTERM: exit 0';

is $d->stop, 0, 'SIGTERM: exit 0';
is $lagging->stop, 0, 'SIGTERM: exit 0';
is $prefer->stop, 0, 'SIGTERM: exit 0';
done_testing;
