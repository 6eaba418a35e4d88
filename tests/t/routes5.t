# The HTTP edge with malformed requests (/work/shared/API.md "Conventions",
# docs/api.md "Errors"):
#  - a NUL byte in a header field (RFC 9110 5.5: reject or read as a
#    space) is a JSON 400, never an authentication with the token cut at
#    the NUL; a NUL in a body is the body's business, also pipelined
#    behind or ahead of a request with one in its header;
#  - what the HTTP layer (libevent 2.1) answers itself, with an HTML page
#    effortd rewrites as JSON: a malformed request line or header, headers
#    or a URI beyond limits.max_header_size (400), a body far beyond
#    limits.max_body or a malformed chunk size (413), an Expect other than
#    100-continue (417): the connection closed after it, and effortd
#    serves the next connection;
#  - hostile query strings on the timesheets, audit, reports and
#    operations routes: repeated, empty, encoded NUL, invalid UTF-8,
#    unknown parameters and ids longer than any id (64 bytes) are 400
#    naming the parameter; `+` and `%20` are both a space in a query, `+`
#    is itself in a path; a grant reference's slashes as %2F (and %2f), a
#    double-encoded or over-long one a 404;
#  - the same edge over TLS.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use IO::Socket::SSL;
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode json_decode);

my $db = new_db();
my $d = start_effortd(db => $db, 'limits.max_body' => 4096, 'limits.max_header_size' => 2048);

sub ok_feed {
	my ($feed, $body) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, "setup: $feed" or diag json_encode($j);
}
ok_feed(people => [ map { { person_id => $_->[0], name => "Person $_->[0]", line_manager_id => $_->[1],
	fte => 1, employment_start => '2020-01-01' } } [ 'M', undef ], [ 'S 1', 'M' ], [ 'S2', 'M' ] ]);
ok_feed(grants => [ { grant_ref => 'EP/X012345/1', title => 'T', funder => 'EPSRC', start_date => '2024-01-01',
	end_date => '2027-12-31' } ]);

my $admin = $d->token('admin');
my $reviewer = $d->token('reviewer');
my $manager = $d->token('manager', 'M');

# Sends raw bytes on a new connection; reads until the server closes it
# or $wait seconds pass.  (all bytes read, whether the server closed it)
# ($tls: to that effortd, over TLS.)
sub raw {
	my ($bytes, $wait, $tls) = @_;
	my $sock = $tls ? IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls->port, SSL_verify_mode => 0)
		: IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port);
	die "connect: $! $SSL_ERROR" unless $sock;
	print $sock $bytes;
	$sock->blocking(0);
	my ($out, $closed, $end) = ('', 0, time + ($wait // 5));
	while (time < $end) {
		my $n = sysread $sock, my $buf, 65536;
		if (defined $n && $n == 0) { $closed = 1; last }
		$out .= $buf if $n;
		select undef, undef, undef, 0.02 unless $n;
	}
	return ($out, $closed);
}

# The replies in $out, in order: [status, content type, body (JSON decoded
# when it is)].
sub replies {
	my ($out) = @_;
	my @r;
	while ($out =~ s{\AHTTP/1\.[01] (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n}{}s) {
		my ($st, $h) = ($1, $2);
		my ($ct) = $h =~ /^Content-Type: *([^\r\n]*)/mi;
		my ($len) = $h =~ /^Content-Length: *(\d+)/mi;
		my $body = substr $out, 0, $len // 0, '';
		$body = eval { json_decode($body) } // $body if ($ct // '') =~ /json/;
		push @r, [ $st + 0, $ct // '', $body ];
	}
	return @r;
}

sub get_req {
	my ($path, $headers) = @_;
	return "GET $path HTTP/1.1\r\nHost: localhost\r\n" . ($headers // '') . "\r\n";
}

# ---------------------------------------------------------------- a NUL in a header
{
	my $nul400 = [ 400, 'application/json', { error => 'the request line or a header field contains a NUL byte' } ];
	my ($out) = raw(get_req('/v1/me', "Authorization: Bearer $reviewer\0junk\r\nConnection: close\r\n"));
	is_deeply [ replies($out) ], [ $nul400 ], 'a NUL and junk after the token: 400 JSON, not the token';
	($out) = raw(get_req('/v1/me', "Authorization: Bearer $reviewer\0\r\nConnection: close\r\n"));
	is_deeply [ replies($out) ], [ $nul400 ], 'a NUL right after the token: 400';
	($out) = raw(get_req('/v1/me', "Authorization: Bearer $reviewer\r\nX-Trace: a\0b\r\nConnection: close\r\n"));
	is_deeply [ replies($out) ], [ $nul400 ], 'a NUL in another header: 400';
	($out) = raw(get_req('/healthz', "X-Trace: \0\r\nConnection: close\r\n"));
	is_deeply [ replies($out) ], [ $nul400 ], 'a NUL in a header of a route without a token: 400';

	# Pipelined on one connection: a body with a NUL (refused as a body),
	# then a request with one in its header, then a good one.  The NUL in
	# a head closes the connection after its 400 (what evhttp read of that
	# head, a value cut at the NUL, may not be where a proxy thinks the
	# request ends): the good one after it is never run.
	my $body = "person_id,name\r\nX\0Y,Z\r\n";
	my $post = "POST /v1/people HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer $admin\r\n"
		. "Content-Type: text/csv\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
	($out) = raw($post . get_req('/v1/me', "Authorization: Bearer $reviewer\r\nX-A: \0\r\n")
		. get_req('/v1/me', "Authorization: Bearer $reviewer\r\nConnection: close\r\n"));
	my @r = replies($out);
	is scalar @r, 2, 'pipelined: two replies';
	isnt $r[0][2]{error}, $nul400->[2]{error}, '... a NUL in the first one\'s body is not one in its header';
	is $r[0][0], 422, '... it is the feed\'s 422' or diag json_encode($r[0]);
	is_deeply $r[1], $nul400, '... the second, with a NUL in its header: 400';
	like $out, qr{\r\nConnection: close\r\n(?!.*HTTP/1\.1 )}s, '... which closes the connection: the third is never run';
	is psql($db, q{SELECT count(*) FROM people WHERE person_id LIKE 'X%'}), 0, '... nothing of the body stored';

	# Chunked: the framing is the head's, the data the body's.
	($out) = raw("POST /v1/people HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer $admin\r\n"
		. "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		. sprintf('%x', length $body) . "\r\n$body\r\n0\r\n\r\n");
	@r = replies($out);
	is $r[0][0], 422, 'chunked, a NUL in the body: the feed\'s 422' or diag json_encode(\@r);
}

# ---------------------------------------------------------------- the HTTP layer's own answers
# libevent 2.1 answers these before effortd sees a request, with an HTML
# page it has no hook to change; effortd rewrites the page as JSON before
# it is sent (docs/api.md "Errors").  The connection is closed after it;
# effortd stays up.
{
	my %msg = (
		400 => 'malformed request line or header, or a request line and headers over 2048 bytes '
			. '(limits.max_header_size)',
		413 => 'request body larger than 4096 bytes, or a chunk size that is not a hexadecimal number',
		417 => 'Expect: only 100-continue is understood',
	);
	my $big_headers = join '', map { "X-Pad-$_: " . ('a' x 100) . "\r\n" } 1 .. 20;
	my @cases = (
		[ 'a request line without a version', "GET /healthz\r\nHost: localhost\r\n\r\n", 400 ],
		[ 'an HTTP/0.9 request line', "GET /healthz\r\n\r\n", 400 ],
		[ 'version HTTP/2.0', "GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n", 400 ],
		[ 'version FOO/1.1', "GET /healthz FOO/1.1\r\nHost: localhost\r\n\r\n", 400 ],
		[ 'a NUL in the URI (the request line cut there)', "GET /healthz\0x HTTP/1.1\r\nHost: localhost\r\n\r\n", 400 ],
		[ 'an empty line before the request line', "\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 400 ],
		[ 'a TLS hello on the plain port', "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400 ],
		[ 'a header line without a colon', get_req('/healthz', "Bogus\r\n"), 400 ],
		[ 'headers beyond limits.max_header_size (not 431)', get_req('/healthz', $big_headers), 400 ],
		[ 'a URI beyond limits.max_header_size (not 414)', get_req('/healthz?' . ('a' x 3000)), 400 ],
		[ 'a Content-Length that is no number', "POST /v1/people HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", 400 ],
		[ 'a Content-Length beyond twice limits.max_body + 1 MiB (before the body is read)',
			"POST /v1/people HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000000\r\n\r\n" . ('a' x 100), 413 ],
		[ 'the same with Expect: 100-continue (no 100 sent)',
			"POST /v1/people HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n", 413 ],
		[ 'a chunk beyond that limit',
			"POST /v1/people HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n" . ('a' x 100), 413 ],
		[ 'a chunk size that is no number (413, not 400)',
			"POST /v1/people HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 413 ],
		[ 'Expect: something else', "POST /v1/people HTTP/1.1\r\nHost: localhost\r\nExpect: x\r\nContent-Length: 2\r\n\r\n[]", 417 ],
	);
	for my $c (@cases) {
		my ($name, $bytes, $want) = @$c;
		my ($out, $closed) = raw($bytes);
		my @r = replies($out);
		is_deeply [ scalar @r, $r[0][0], $r[0][1], $r[0][2], $closed ],
			[ 1, $want, 'application/json', { error => $msg{$want} }, 1 ],
			"$name: a JSON $want, the connection closed" or diag $out;
		my ($s) = $d->req(GET => '/healthz');
		is $s, 200, '... and effortd serves the next connection';
	}

	# Up to twice limits.max_body + 1 MiB the body is read and effortd
	# answers the JSON 413 (limits.t checks more).
	my ($out, $closed) = raw("POST /v1/people HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
		. ("1000\r\n" . ('a' x 4096) . "\r\n") x 3 . "0\r\n\r\n", 2);
	is_deeply [ replies($out) ], [ [ 413, 'application/json', { error => 'request body larger than 4096 bytes' } ] ],
		'a chunked body of 12 KiB (limits.max_body 4096): the JSON 413';
	ok !$closed, '... the connection kept';
	# A folded header line (obs-fold) is joined with a space, and a bare
	# LF ends a line: both answered as any request (RFC 9112 5.2, 2.2).
	($out) = raw(get_req('/healthz', "X-A: a\r\n b\r\nConnection: close\r\n"));
	is_deeply [ map { $_->[0] } replies($out) ], [200], 'a folded header line: 200';
	($out) = raw("GET /healthz HTTP/1.1\nHost: localhost\nConnection: close\n\n");
	is_deeply [ map { $_->[0] } replies($out) ], [200], 'bare LF line ends: 200';
}

# ---------------------------------------------------------------- hostile query strings
{
	my ($s, $j) = post_feed($d, timesheets => [ { person_id => 'S 1', period_start => '2025-01-01',
		period_end => '2025-01-31', submitted_at => '2025-02-01T10:00:00Z',
		entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 150 } ] } ]);
	is $s, 200, 'setup: a timesheet of "S 1"' or diag json_encode($j);
	my $id65 = 'x' x 65;
	my $g = '/v1/reports/grants/EP%2FX012345%2F1';
	# [path, token, status, error (or a code ref checking the body), parameter]
	my @cases = (
		[ '/v1/timesheets?person_id=S+1', $manager, 200, sub { @{ $_[0]{timesheets} } == 1 } ],
		[ '/v1/timesheets?person_id=S%201', $manager, 200, sub { @{ $_[0]{timesheets} } == 1 } ],
		[ '/v1/timesheets?person_id=S%2B1', $manager, 403, 'S+1 is not someone you manage' ],
		[ '/v1/timesheets?person_id=S2&person_id=S%201', $manager, 400, 'query parameter "person_id" given more than once', 'person_id' ],
		[ '/v1/timesheets?person_id=S2&person_id=S2', $reviewer, 400, 'query parameter "person_id" given more than once', 'person_id' ],
		[ '/v1/timesheets?person_id=', $reviewer, 400, 'query parameter "person_id": an empty value (name=value)', 'person_id' ],
		[ '/v1/timesheets?person_id', $reviewer, 400, 'query parameter "person_id": no value (name=value)', 'person_id' ],
		[ '/v1/timesheets?person_id=S%00', $reviewer, 400, 'query parameter "person_id": an encoded NUL (%00) is not allowed', 'person_id' ],
		[ '/v1/timesheets?person_id=%FF', $reviewer, 400, 'query parameter "person_id": not valid UTF-8', 'person_id' ],
		[ '/v1/timesheets?person_id=%ED%A0%80', $reviewer, 400, 'query parameter "person_id": not valid UTF-8', 'person_id' ],
		[ '/v1/timesheets?person_id=%C0%AF', $reviewer, 400, 'query parameter "person_id": not valid UTF-8', 'person_id' ],
		[ '/v1/timesheets?Person_id=S2', $reviewer, 400, 'unknown query parameter "Person_id"; /v1/timesheets takes person_id, month, status', 'Person_id' ],
		[ '/v1/timesheets?status=submitted%20', $reviewer, 400, 'status must be submitted, authorised or rejected', 'status' ],
		[ "/v1/timesheets?person_id=$id65", $manager, 400, 'person_id is longer than 64 bytes: no id is', 'person_id' ],
		[ "/v1/timesheets?person_id=$id65", $reviewer, 400, 'person_id is longer than 64 bytes: no id is', 'person_id' ],
		[ '/v1/timesheets?person_id=' . ('%C3%A9' x 32), $reviewer, 200, sub { @{ $_[0]{timesheets} } == 0 } ],
		[ '/v1/timesheets?person_id=' . ('%C3%A9' x 32) . 'x', $reviewer, 400, 'person_id is longer than 64 bytes: no id is', 'person_id' ],
		[ '/v1/violations?person_id=S+1&as_of=2025-06-01', $reviewer, 200, sub { !grep { $_->{person_id} ne 'S 1' } @{ $_[0]{violations} } } ],
		[ "/v1/violations?grant_ref=$id65", $reviewer, 400, 'grant_ref is longer than 64 bytes: no id is', 'grant_ref' ],
		[ '/v1/violations?grant_ref=EP%2FX012345%2F1&grant_ref=EP%2FX012345%2F1', $reviewer, 400, 'query parameter "grant_ref" given more than once', 'grant_ref' ],
		[ '/v1/violations?rule=', $reviewer, 400, 'query parameter "rule": an empty value (name=value)', 'rule' ],
		[ '/v1/violations?as_of=' . ('9' x 1000), $reviewer, 400, 'as_of must be a date YYYY-MM-DD', 'as_of' ],
		[ "/v1/audit?person_id=$id65", $reviewer, 400, 'person_id is longer than 64 bytes: no id is', 'person_id' ],
		[ '/v1/audit?limit=5&limit=5', $reviewer, 400, 'query parameter "limit" given more than once', 'limit' ],
		[ '/v1/audit?limit=%2B5', $reviewer, 400, 'limit must be a number from 1 to 999999', 'limit' ],
		[ '/v1/audit?limit=' . ('9' x 1000), $reviewer, 400, 'limit must be a number from 1 to 999999', 'limit' ],
		[ '/v1/audit?timesheet_id=' . ('9' x 1000), $reviewer, 400, 'timesheet_id must be a number', 'timesheet_id' ],
		[ '/v1/audit?since=', $reviewer, 400, 'query parameter "since": an empty value (name=value)', 'since' ],
		[ '/v1/audit/verify?last_id=1&last_id=1', $reviewer, 400, 'query parameter "last_id" given more than once', 'last_id' ],
		[ '/v1/audit/verify?foo=1', $reviewer, 400, 'unknown query parameter "foo"; /v1/audit/verify takes last_id, last_hash', 'foo' ],
		[ $g, $reviewer, 200, sub { $_[0]{grant}{grant_ref} eq 'EP/X012345/1' } ],
		[ lc($g) =~ s{ep%2fx}{EP%2fX}r, $reviewer, 200, sub { $_[0]{grant}{grant_ref} eq 'EP/X012345/1' } ],
		[ "$g/evidence", $reviewer, 200, sub { $_[0]{grant}{grant_ref} eq 'EP/X012345/1' } ],
		[ '/v1/reports/grants/EP/X012345/1', $reviewer, 404, 'no such resource' ],
		[ '/v1/reports/grants/EP%252FX012345%252F1', $reviewer, 404, 'no such grant: EP%2FX012345%2F1' ],
		[ '/v1/reports/grants/EP%2FX012345%2F1%00', $reviewer, 404, 'no such resource' ],
		[ '/v1/reports/grants/%FF', $reviewer, 404, 'no such resource' ],
		[ "/v1/reports/grants/$id65", $reviewer, 404, 'no such grant' ],
		[ "/v1/reports/grants/$id65/evidence", $reviewer, 404, 'no such grant' ],
		[ "$g?format=csv&format=csv", $reviewer, 400, 'query parameter "format" given more than once', 'format' ],
		[ "$g?format=", $reviewer, 400, 'query parameter "format": an empty value (name=value)', 'format' ],
		[ "$g?format=JSON", $reviewer, 400, 'format must be json, csv or html', 'format' ],
		[ "$g?grant_ref=x", $reviewer, 400, 'unknown query parameter "grant_ref"; /v1/reports/grants/{id} takes as_of, format', 'grant_ref' ],
		[ '/v1/reports/investigators?year=2025&year=2025', $reviewer, 400, 'query parameter "year" given more than once', 'year' ],
		[ '/v1/reports/investigators?year=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95', $reviewer, 400, 'year must be a year YYYY', 'year' ],
		[ '/v1/reports/investigators?year=+2025', $reviewer, 400, 'year must be a year YYYY', 'year' ],
		[ '/v1/reports/compliance?from=2025-01-01&to=2025-01-31&to=2025-01-31', $reviewer, 400, 'query parameter "to" given more than once', 'to' ],
		[ '/healthz?x=1', undef, 400, 'unknown query parameter "x"; /healthz takes no query parameters', 'x' ],
		[ '/metrics?%00=1', undef, 400, 'query parameter "%00": an encoded NUL (%00) is not allowed', '%00' ],
	);
	for my $c (@cases) {
		my ($path, $token, $want, $error, $param) = @$c;
		($s, $j) = $d->req(GET => $path, defined $token ? (token => $token) : ());
		my $name = length $path > 90 ? substr($path, 0, 90) . '...' : $path;
		if (ref $error) {
			ok $s == $want && ref $j eq 'HASH' && $error->($j), "$name: $want" or diag "$s " . json_encode($j);
			next;
		}
		is_deeply [ $s, ref $j ? $j->{error} : $j ], [ $want, $error ], "$name: $want, $error";
		is_deeply $j->{errors}, [ { parameter => $param, message => $error } ], '... naming the parameter'
			if defined $param;
	}
}

# ---------------------------------------------------------------- the same over TLS
{
	my $dir = "$EffortTest::TMP/routes5-tls-$$";
	mkdir $dir or die "$dir: $!";
	my $o = `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=t" -keyout $dir/t.key -out $dir/t.crt 2>&1`;
	die "openssl req: $o" if $?;
	my $t = start_effortd(db => $db, 'tls.cert' => "$dir/t.crt", 'tls.key' => "$dir/t.key", wait => 0,
		'limits.max_header_size' => 2048);
	my @r;
	for (1 .. 100) {
		# (not listening yet: raw dies on the refused connection)
		my ($out) = eval { raw(get_req('/healthz', "Connection: close\r\n"), 2, $t) };
		@r = replies($out // '');
		last if @r && $r[0][0] == 200;
		select undef, undef, undef, 0.2;
	}
	is $r[0][0], 200, 'TLS: /healthz 200';
	my ($out, $closed) = raw("GET /healthz\r\nHost: localhost\r\n\r\n", 5, $t);
	is_deeply [ replies($out), $closed ], [ [ 400, 'application/json', { error => 'malformed request line or header, '
		. 'or a request line and headers over 2048 bytes (limits.max_header_size)' } ], 1 ],
		'TLS: a request line without a version: the JSON 400, the connection closed';
	($out) = raw(get_req('/v1/me', "Authorization: Bearer $reviewer\0junk\r\nConnection: close\r\n"), 5, $t);
	is_deeply [ replies($out) ], [ [ 400, 'application/json',
		{ error => 'the request line or a header field contains a NUL byte' } ] ], 'TLS: a NUL after the token: 400';
}

done_testing;
