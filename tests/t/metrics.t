# Operations: GET /metrics in the Prometheus text format (requests by route
# and status, latency histograms, pool gauges, records per feed, open
# findings by rule and severity, the last sweep); SIGHUP under load drops
# no request; sd_notify READY and WATCHDOG when systemd asks for them.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::UNIX;
use POSIX qw(_exit);
use Socket qw(SOCK_DGRAM);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed load_sample json_encode slurp spew);

my $db = new_db();
my $d = start_effortd(db => $db, 'rules.timezone' => 'Europe/London');
my $res = load_sample($d);
$d->req(GET => '/v1/no-such-thing');
my $sweep_end = time + 5;
sleep 0.1 until $d->log_text =~ /audit sweep: \{"open"/ || time > $sweep_end;

my ($s, $m, $http) = $d->req(GET => '/metrics');
is $s, 200, '/metrics: 200';
like $http->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'the Prometheus text format';
for my $feed (qw(people grants assignments delegations charges timesheets)) {
	like $m, qr/^effortd_http_requests_total\{route="$feed",status="200"\} 1$/m, "requests: $feed 200 once";
	my $n = $res->{$feed}[1]{accepted};
	like $m, qr/^effortd_records_ingested_total\{feed="$feed"\} $n$/m, "records ingested: $feed $n";
}
like $m, qr/^effortd_http_requests_total\{route="none",status="404"\} 1$/m, 'requests: an unknown path counts as route "none", 404';
like $m, qr/^effortd_http_requests_total\{route="healthz",status="200"\} \d+$/m, 'requests: healthz';
like $m, qr/^effortd_http_request_duration_seconds_bucket\{route="timesheets",le="\+Inf"\} 1$/m, 'latency histogram: +Inf bucket';
like $m, qr/^effortd_http_request_duration_seconds_count\{route="timesheets"\} 1$/m, 'latency histogram: count';
like $m, qr/^effortd_http_request_duration_seconds_sum\{route="timesheets"\} [0-9.]+$/m, 'latency histogram: sum';
my @le = $m =~ /^effortd_http_request_duration_seconds_bucket\{route="people",le="([^"]+)"\} \d+$/mg;
is scalar(@le), 12, 'eleven bounded buckets and +Inf';
like $m, qr/^# TYPE effortd_http_request_duration_seconds histogram$/m, 'TYPE histogram';
like $m, qr/^effortd_db_connections_busy 0$/m, 'pool: connections busy';
like $m, qr/^effortd_db_connections_ready 2$/m, 'pool: connections ready';
like $m, qr/^effortd_db_jobs_waiting 0$/m, 'pool: statements waiting';
like $m, qr/^effortd_db_up 1$/m, 'database up';
like $m, qr/^effortd_db_reconnects_total 0$/m, 'no reconnects';
like $m, qr/^effortd_audit_sweep_duration_seconds [0-9.]+$/m, 'last sweep duration';
my ($when) = $m =~ /^effortd_audit_sweep_last_timestamp_seconds (\d+)$/m;
cmp_ok abs(($when // 0) - time), '<', 60, 'last sweep time: just now';

# Findings by rule and severity: exactly what the findings table holds.
my %want = map { ("$_->[0]/$_->[1]" => $_->[2]) }
	psql($db, q{SELECT rule, severity, count(*) FROM findings WHERE resolved_at IS NULL GROUP BY 1, 2});
my %got;
while ($m =~ /^effortd_findings_open\{rule="([^"]+)",severity="([^"]+)"\} (\d+)$/mg) { $got{"$1/$2"} = $3 }
ok scalar(keys %want) > 0, 'the sample has open findings';
is_deeply \%got, \%want, 'findings by rule and severity match the findings table';

# Every sample line is "name{labels} value" or a comment.
my @bad = grep { !/^(?:# (?:HELP|TYPE) \w+ .+|\w+(?:\{[^}]*\})? -?[0-9.e+]+)$/ } split /\n/, $m;
is_deeply \@bad, [], 'every line is well-formed';

# ---- SIGHUP under load: no request fails
my $token = $d->token('feed');
my $out = "$EffortTest::TMP/metrics-$$-load";
my $pid = fork // die;
if (!$pid) {
	open my $fh, '>', $out or _exit(1);
	$fh->autoflush(1);
	my $end = time + 4;
	my $people = EffortTest::slurp(EffortTest::sample_file('people'));
	while (time < $end) {
		my ($hs) = $d->req(GET => '/healthz');
		my ($ps) = $d->req(POST => '/v1/people', token => $token, body => $people);
		print $fh "$hs $ps\n";
	}
	_exit(0);
}
my %opt = $d->options;
for my $i (1 .. 6) {
	sleep 0.5;
	$d->write_config(%opt, 'log.level' => $i % 2 ? 'debug' : 'info', 'limits.max_records' => 1000 + $i);
	$d->signal('HUP');
}
waitpid $pid, 0;
my @r = grep { /\S/ } split /\n/, slurp($out);
my @fail = grep { $_ ne '200 200' } @r;
cmp_ok scalar(@r), '>=', 10, scalar(@r) . ' rounds of requests during the reloads';
is_deeply \@fail, [], 'no request failed across six SIGHUPs';
is scalar(() = $d->log_text =~ /configuration reloaded/g), 6, 'six reloads logged';
ok $d->alive, 'still running';

# ---- systemd: READY=1, then WATCHDOG=1 at half of WATCHDOG_USEC
my $sock_path = "$EffortTest::TMP/notify-$$";
my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $sock_path) or die "notify socket: $!";
my $w;
{
	local $ENV{NOTIFY_SOCKET} = $sock_path;
	local $ENV{WATCHDOG_USEC} = 400000;
	$w = start_effortd(db => $db);
}
my (%msg, $n);
my $end = time + 3;
my $rin = '';
vec($rin, fileno($sock), 1) = 1;
while (time < $end) {
	next unless select(my $rout = $rin, undef, undef, 0.1);
	$sock->recv(my $buf, 4096);
	$msg{$_}++ for split /\n/, $buf;
}
ok $msg{'READY=1'}, 'sd_notify READY=1';
cmp_ok $msg{'WATCHDOG=1'} // 0, '>=', 8, "WATCHDOG=1 every 0.2 s ($msg{'WATCHDOG=1'} in 3 s)";
like $w->log_text, qr/systemd watchdog: pinging every 0\.2 s/, 'the log says so';
unlink $sock_path;

done_testing;
