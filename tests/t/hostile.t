# Hostile clients: JSON nested too deep, oversized headers, a slowloris
# client trickling its request byte by byte, silent connections, and more
# connections than limits.max_connections.  Others keep being served.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode wait_for row_counts);

my $db = new_db();
my $d = start_effortd(db => $db, 'limits.max_json_depth' => 4, 'limits.max_header_size' => 2048,
	'limits.request_timeout' => 3, 'limits.idle_timeout' => 2, 'limits.max_connections' => 6);
my $token = $d->token('feed');

# ---- JSON nesting depth
my ($s, $j) = post_feed($d, people => [ { person_id => 'P1', name => 'Ada [[[[{{{{ Byron', fte => 1,
	employment_start => '2020-01-06' } ]);
is $s, 200, 'depth 2 (an array of objects), brackets inside strings do not count' or diag json_encode($j);
($s, $j) = post_feed($d, timesheets => [ { person_id => 'P1', period_start => '2026-09-01', period_end => '2026-09-30',
	submitted_at => '2026-10-01T09:00:00Z', entries => [ { activity => 'ADMIN', kind => 'other', hours => 160 } ] } ]);
isnt $s, 400, "depth 4 (timesheet entries) is within limits.max_json_depth = 4 (got $s)" or diag json_encode($j);
($s, $j) = post_feed($d, people => '[[[[{"a":1}]]]]', type => 'application/json');
is $s, 400, 'depth 5: 400';
is ref $j && $j->{error}, 'JSON nested deeper than 4 levels', '… saying why';
($s, $j) = post_feed($d, people => '[' x 200000, type => 'application/json');
is $s, 400, '200000 open brackets: 400, no deep recursion';
ok $d->alive, 'the daemon survived';

# ---- one record over 1 MiB: not decoded (one record is decoded whole on
# the event loop: a timesheet of 4 million empty entries held it 6 s and
# the daemon's memory at 937 MB).  413 naming the record; nothing stored.
{
	my $before = row_counts($db);
	my $ok = { person_id => 'P2', name => 'Ada', fte => 1, employment_start => '2020-01-06' };
	($s, $j) = post_feed($d, people => [ $ok, { %$ok, person_id => 'P3', name => 'x' x (1 << 20) } ]);
	is_deeply [ $s, $j ], [ 413, { error => 'a record larger than 1 MiB', errors => [ { index => 1, field => '',
		message => 'is larger than 1048576 bytes (1 MiB), the most a record may take' } ] } ],
		'a person with a name of 1 MiB: 413 naming record 1' or diag json_encode($j);
	my $entries = '{},' x 400_000;
	chop $entries;
	($s, $j) = post_feed($d, timesheets => qq{[{"person_id":"P1","entries":[$entries]}]}, type => 'application/json');
	is_deeply [ $s, $j->{errors}[0]{index} ], [ 413, 0 ], 'a timesheet of 400,000 empty entries (1.2 MB): 413 naming record 0';
	# under 1 MiB, but more values than a record holds: jansson would build
	# 300,000 objects on the loop (half a second); not decoded either
	$entries = '{},' x 300_000;
	chop $entries;
	($s, $j) = post_feed($d, timesheets => qq{[{"person_id":"P1"},{"person_id":"P2","entries":[$entries]}]}, type => 'application/json');
	is_deeply [ $s, $j ], [ 413, { error => 'a record of more than 16384 values', errors => [ { index => 1, field => '',
		message => 'holds more than 16384 JSON values, the most a record may (a timesheet of 1000 entries holds about 4000)' } ] } ],
		'a timesheet of 300,000 empty entries (0.9 MB): 413 naming record 1' or diag json_encode($j);
	my $dense = '[' . join(',', ('0') x 20_000) . ']';
	# a scalar record ends at the space after it: the array that follows
	# is a syntax error (400 with its place), not 20,000 values of record 0
	($s, $j) = post_feed($d, people => "[1 $dense]", type => 'application/json');
	is_deeply [ $s, $j->{error} ], [ 400, 'invalid JSON at line 1, column 4: \']\' expected near \'[\'' ],
		'[1 [0,0,…]]: 400 at the array, not 413' or diag json_encode($j);
	($s, $j) = post_feed($d, people => qq{{"a":$dense}}, type => 'application/json');
	is_deeply [ $s, $j->{error} ], [ 422, 'expected a JSON array of records' ], 'an object of 20,000 numbers: 422, not decoded';
	($s, $j) = post_feed($d, people => '{"a":"' . ('x' x (2 << 20)) . '"}', type => 'application/json');
	is_deeply [ $s, $j->{error} ], [ 422, 'expected a JSON array of records' ], 'an object of 2 MiB: 422, not decoded';
	is_deeply row_counts($db), $before, '… nothing stored';
}

# ---- header size
($s) = $d->req(GET => '/healthz', headers => { 'X-Padding' => 'x' x 4096 });
ok $s != 200, "a 4 KB header over limits.max_header_size (2048) is refused (got $s)";
($s) = $d->req(GET => '/healthz', headers => { 'X-Padding' => 'x' x 512 });
is $s, 200, 'a 512-byte header is fine';

sub connect_raw {
	return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Proto => 'tcp')
		// die "connect: $!";
}

# Seconds until the server closes $sock (reads to EOF), at most $max.
sub time_to_close {
	my ($sock, $max) = @_;
	my $t0 = time;
	my ($rin, $all) = ('', '');
	vec($rin, fileno($sock), 1) = 1;
	while (time - $t0 < $max) {
		my $n = select(my $rout = $rin, undef, undef, 0.1);
		next unless $n;
		my $got = sysread($sock, my $buf, 4096);
		return (time - $t0, $all) if !$got;
		$all .= $buf;
	}
	return (undef, $all);
}

# ---- slowloris: a request trickled one byte every 0.25 s
my $slow = connect_raw();
my $pid = fork // die;
if (!$pid) {
	$SIG{PIPE} = 'IGNORE';
	for my $c (split //, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " . ('y' x 100) . "\r\n\r\n") {
		syswrite($slow, $c) or POSIX::_exit(0);
		sleep 0.25;
	}
	POSIX::_exit(0);
}
sleep 0.5;
my $t0 = time;
($s) = $d->req(GET => '/healthz', timeout => 5);
my $took = time - $t0;
is $s, 200, 'while a slowloris client trickles, another client is served';
cmp_ok $took, '<', 1, sprintf('… promptly (%.2f s)', $took);
my ($closed) = time_to_close($slow, 10);
kill 'KILL', $pid;
waitpid $pid, 0;
ok defined $closed, 'the slowloris connection is closed by effortd';
cmp_ok $closed + 0.5, '<', 4.5, sprintf('… within limits.request_timeout (3 s) of connecting (%.1f s)', ($closed // 99) + 0.5);
like $d->log_text, qr/closing a connection that took over 3 s/, '… and logged';

# ---- a body arriving steadily for longer than limits.request_timeout (a
# large feed over a slow link, or while effortd is busy with others): 600
# KiB at 100 KiB/s, 6 s against the 3-s deadline.  It is answered (401:
# no token), not cut: each period it sent more than limits.min_rate (16
# KiB/s).  Returns the seconds until effortd closed and what it answered.
my $body = 'x' x (50 * 1024);
sub steady_sender {
	my $sock = connect_raw();
	syswrite($sock, "POST /v1/people HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		. 'Content-Length: ' . (12 * length $body) . "\r\n\r\n");
	my $t = time;
	local $SIG{PIPE} = 'IGNORE';
	for (1 .. 12) {
		(syswrite($sock, $body) // 0) == length $body or last;
		sleep 0.5;
	}
	my (undef, $answer) = time_to_close($sock, 10);
	return (time - $t, $answer);
}
($took, my $reply) = steady_sender();
like $reply // '', qr{^HTTP/1\.1 401 }, sprintf('a request arriving at 100 KiB/s for %.1f s is answered (401), not cut', $took);
cmp_ok $took, '>', 4, '… having taken longer than limits.request_timeout';

# The same sender once limits.min_rate (reloaded by SIGHUP) asks 200 KiB/s:
# its first period is up at 3 s with 300 KiB sent, and it is cut.
sub reload_with {
	my (%opt) = @_;
	my $n = () = $d->log_text =~ /configuration reloaded/g;
	$d->write_config($d->options, %opt);
	$d->signal('HUP');
	return wait_for(sub { my $now = () = $d->log_text =~ /configuration reloaded/g; $now > $n }, 5);
}
my $cuts = () = $d->log_text =~ /closing a connection that took over 3 s/g;
ok reload_with('limits.min_rate' => 200 * 1024), 'limits.min_rate = 204800, reloaded';
($took, $reply) = steady_sender();
is $reply, '', sprintf('the same sender is then cut, unanswered (%.1f s)', $took);
cmp_ok $took, '<', 4.5, '… when its first period is up';
my $cuts_now = () = $d->log_text =~ /closing a connection that took over 3 s/g;
is $cuts_now, $cuts + 1, '… and logged';
ok reload_with('limits.min_rate' => 16384), 'limits.min_rate = 16384 again';

# ---- a silent connection: closed after limits.idle_timeout
my $quiet = connect_raw();
my ($after) = time_to_close($quiet, 10);
ok defined $after && $after < 3.5, sprintf('a silent connection is closed after about 2 s (%.1f s)', $after // -1);

# ---- more connections than limits.max_connections (6)
sleep 0.5;    # let effortd forget the closed ones
(undef, my $m0) = $d->req(GET => '/metrics');
like $m0, qr/^effortd_connections_open 1$/m, 'metrics: one connection open (the scrape) before the flood';
sleep 0.5;
my @idle = map { connect_raw() } 1 .. 6;
sleep 0.3;
my $extra = connect_raw();
print $extra "GET /healthz HTTP/1.0\r\n\r\n";
my ($gone, $answer) = time_to_close($extra, 3);
ok defined $gone, 'the connection over limits.max_connections is closed at once';
like $answer, qr{\AHTTP/1\.[01] 503 .*too many connections}s, '… with a 503 saying why';
close $_ for @idle;
sleep 0.5;
($s) = $d->req(GET => '/healthz');
is $s, 200, 'once they are closed, clients are served again';
(undef, my $m) = $d->req(GET => '/metrics');
like $m, qr/^effortd_connections_refused_total 1$/m, 'metrics count the refusal';
like $m, qr/^effortd_connections_open 1$/m, 'metrics: the one open connection (this scrape)';
ok $d->alive, 'the daemon is still running';

done_testing;
