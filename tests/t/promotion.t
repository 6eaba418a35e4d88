#!/usr/bin/perl
# The report pool's standby is promoted while effortd runs: /healthz says at
# once that the report pool's server is now a primary, on every connection
# to it, as /metrics does (effortd_report_in_recovery 0).  A connection
# learns of the promotion (PostgreSQL's in_hot_standby report) only with
# the answer to its next statement; /healthz asks the report pool one
# question (replica_status()), on one connection, and the others once said
# "standby" until each next ran a statement.
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd json_encode replicated_cluster);

my $POOL = 3;
my $rc = replicated_cluster();
my ($na, $nb) = ($rc->node('a'), $rc->node('b'));
my $db = new_db(cluster => $na);
ok $rc->wait_replayed('b'), 'the migrated database is on the standby';

my $d = start_effortd(db => $db, 'db.pool_size' => $POOL, 'db.connect_timeout' => 2,
	'db.conninfo' => $rc->conninfo($db->name, target_session_attrs => 'read-write'),
	'db.report_conninfo' => $rc->conninfo($db->name, target_session_attrs => 'standby'));

sub servers {
	my ($h, $pool) = @_;
	return [ map { [ @$_{qw(host port role connections)} ] } @{ $h->{pools}{$pool}{servers} // [] } ];
}

# /healthz once every report connection is up (or the last answer).
my ($s, $h);
my $end = time + 15;
do { sleep 0.1; ($s, $h) = $d->req(GET => '/healthz') }
	until (ref $h && ($h->{pools}{report}{ready} // 0) == $POOL) || time > $end;
is_deeply servers($h, 'report'), [ [ $nb->host, $nb->port, 'standby', $POOL ] ],
	"/healthz: the report pool's $POOL connections are on b, a standby" or diag json_encode($h);
is $h->{pools}{report}{replication}{in_recovery}, JSON::PP::true, '… in recovery';

# ---- b is promoted; nothing else runs on the report pool
$rc->promote('b');
is_deeply [ EffortTest::psql_cluster($nb, 'postgres', 'SELECT pg_is_in_recovery()') ], [ ['f'] ],
	'b is promoted (pg_is_in_recovery() is false on it)';

($s, $h) = $d->req(GET => '/healthz');
is $s, 200, 'GET /healthz after the promotion: 200';
is $h->{pools}{report}{replication}{in_recovery}, JSON::PP::false, '… the report pool\'s server is not in recovery';
is_deeply servers($h, 'report'), [ [ $nb->host, $nb->port, 'primary', $POOL ] ],
	"… and every one of the $POOL report connections says it is on a primary" or diag json_encode($h);
my (undef, $m) = $d->req(GET => '/metrics');
like $m, qr/^effortd_report_in_recovery 0$/m, '/metrics agrees: effortd_report_in_recovery 0';
($s, $h) = $d->req(GET => '/healthz');
is_deeply servers($h, 'report'), [ [ $nb->host, $nb->port, 'primary', $POOL ] ], '… and so does the next /healthz'
	or diag json_encode($h);
is_deeply servers($h, 'main'), [ [ $na->host, $na->port, 'primary', $POOL ] ], 'the main pool is still on a';

is $d->stop, 0, 'SIGTERM: exit 0';
done_testing;
