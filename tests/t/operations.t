# Operations: /healthz; PostgreSQL stopped → 503 (feeds and healthz), started
# again → effortd serves again without a restart; SIGHUP with a broken config
# keeps serving and says why; SIGTERM → exit status 0.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode spew);

my $pg = EffortTest::private_cluster();
my $db = new_db(cluster => $pg);
my $d = start_effortd(db => $db, 'db.connect_timeout' => 2);

my ($s, $j) = $d->req(GET => '/healthz');
is $s, 200, '/healthz: 200';
is_deeply { %$j{qw(status database)} }, { status => 'ok', database => 'ok' }, '/healthz: body';
is_deeply [ map { [ @$_{qw(host port role)} ] } @{ $j->{pools}{main}{servers} } ],
	[ [ $pg->host, $pg->port, 'primary' ] ], '… naming the server the pool is connected to'
	or diag json_encode($j);
my $token = $d->token('feed');
my $admin = $d->token('admin');
my $p1 = [ { person_id => 'P1', name => 'Ada Byron', fte => 1, employment_start => '2020-01-06' } ];
($s) = post_feed($d, people => $p1, token => $token);
is $s, 200, 'a feed POST with the database up: 200';
($s) = $d->req(GET => '/metrics');
is $s, 200, '/metrics: 200';

# ---- PostgreSQL goes away
$pg->stop;
my $p2 = [ { person_id => 'P2', name => 'Alan Turing', fte => 1, employment_start => '2020-01-06' } ];
my $t0 = time;
($s, $j) = post_feed($d, people => $p2, token => $token);
is $s, 503, 'database down: feed POST answers 503' or diag json_encode($j);
ok ref $j eq 'HASH' && defined $j->{error}, '503: an error body';
cmp_ok time - $t0, '<', 20, '503 comes without hanging';
ok $d->wait_health(503, 15), 'database down: /healthz answers 503';
($s) = $d->req(GET => '/v1/timesheets', token => $admin);
is $s, 503, 'database down: GET /v1/timesheets answers 503';
ok $d->alive, 'effortd is still running';

# ---- and comes back
$pg->start;
ok $d->wait_health(200, 15), 'database back: /healthz 200 again within 15 s, no restart';
($s, $j) = post_feed($d, people => $p2, token => $token);
is $s, 200, 'database back: the feed POST succeeds' or diag json_encode($j);
is_deeply [ map { $_->[0] } psql($db, 'SELECT person_id FROM people ORDER BY 1') ], [qw(P1 P2)],
	'P2 stored once, after the outage only';
($s) = $d->req(GET => '/v1/timesheets', token => $admin);
is $s, 200, 'reads work again';

# ---- SIGHUP with a broken config: keeps serving, logs why
my %good = $d->options;
my $log_before = length $d->log_text;
spew($d->conf, "listen = { port = \"not a number\"; };\nthis is not libconfig\n");
$d->signal('HUP');
sleep 1;
ok $d->alive, 'SIGHUP with a broken config: still running';
($s) = $d->req(GET => '/healthz');
is $s, 200, '… still serving';
($s) = post_feed($d, people => $p1, token => $token);
is $s, 200, '… feeds still work';
my $log = substr $d->log_text, $log_before;
like $log, qr/\Q@{[ $d->conf ]}\E.*(?:line\s*)?\d|:\d+:/, '… and the log names the file and line' or diag $log;

# An unknown setting is refused the same way.
$d->write_config(%good, 'log.colour' => 'red');
$log_before = length $d->log_text;
$d->signal('HUP');
sleep 1;
ok $d->alive, 'SIGHUP with an unknown setting: still running';
like substr($d->log_text, $log_before), qr/log\.colour/, '… the log names the setting';

# A good config again: reloads (log level change) and keeps serving.
$d->write_config(%good, 'log.level' => 'debug');
$d->signal('HUP');
sleep 1;
ok $d->alive, 'SIGHUP with a good config: still running';
($s) = $d->req(GET => '/healthz');
is $s, 200, '… serving';

# ---- SIGTERM: clean exit 0
my $st = $d->stop('TERM', 15);
is $st, 0, 'SIGTERM: exit status 0';
my ($rs) = $d->req(GET => '/healthz', timeout => 2);
isnt $rs, 200, 'no longer listening';

# A bad config at start-up: exit non-zero, file and line on stderr.
{
	my $conf = "$EffortTest::TMP/bad-$$.conf";
	spew($conf, "rules = { cap_year_start_month = 13; };\n");
	my ($rc, $out) = EffortTest::_run($EffortTest::EFFORTD, '-c', $conf);
	isnt $rc, 0, 'start-up with cap_year_start_month = 13 fails';
	like $out, qr/\Q$conf\E:1:.*cap_year_start_month/, '… naming the file, line and setting' or diag $out;
}

done_testing;
