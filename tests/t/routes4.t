# The routes other than the feed POSTs, checked against the HTTP contract
# (/work/shared/API.md, docs/api.md) with hostile requests:
#  - a 403 for the wrong role names the roles in English ("an admin");
#  - a method effortd does not know (FOO, PROPFIND, "get" in lower case) is
#    a JSON 405 with Allow, as HEAD, PUT and the like are, not the HTTP
#    layer's HTML 501; a body sent with HEAD, TRACE or such a method (which
#    the HTTP layer does not read) is never run as the next request;
#  - the small JSON bodies (reject, approvals, delegations, tokens): an
#    empty body is a 400 saying so; a \u0000 escape (valid JSON) is a 422
#    naming the field, and stores nothing;
#  - every 400 for a query parameter the handler checks (a date, a year, a
#    number) names it in errors[].parameter, and a date outside the range
#    effortd takes says which range;
#  - path ids at the edges (0, -1, 2^63, 2^64, 1e3, a trailing or double
#    slash): 404 with a JSON body; as_of at the ends of the range in every
#    report and format: 200;
#  - every HTML report escapes every text it shows (<, >, &, " and '), as
#    csv_safety.t checks the CSV formula guard.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use Test::More;
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);

# Text fields carry markup: a person's name, a title, an activity, reasons.
sub markup { my ($f) = @_; return qq{<i id="$f">'&amp;</i>} }
# Ids carry it too (no spaces: the feeds keep ids free of them anyway).
sub markup_id { my ($f) = @_; return qq{<b>$f&"'} }
my ($M, $S1, $S2) = map { markup_id($_) } qw(M S1 S2);
my ($G1, $G2) = (markup_id('G1') . '/1', markup_id('G2'));

sub feed_ok {
	my ($feed, $body) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, "setup: $feed" or diag json_encode($j);
}
feed_ok(people => [
	{ person_id => $M, name => markup('mname'), email => '<i>m@example.org</i>', fte => 1,
	  employment_start => '2015-01-01' },
	{ person_id => $S1, name => markup('s1name'), line_manager_id => $M, fte => 1,
	  employment_start => '2020-01-01' },
	{ person_id => $S2, name => markup('s2name'), line_manager_id => $M, fte => 0.5,
	  employment_start => '2020-01-01' },
	{ person_id => 'OTHER', name => 'Other Manager', fte => 1, employment_start => '2015-01-01' },
]);
feed_ok(grants => [
	{ grant_ref => $G1, title => markup('title1'), funder => markup('funder1'),
	  start_date => '2024-01-01', end_date => '2027-12-31' },
	{ grant_ref => $G2, title => markup('title2'), funder => markup('funder2'),
	  start_date => '2025-06-01', end_date => '2027-12-31' },
]);
feed_ok(assignments => [
	{ person_id => $S1, grant_ref => $G1, role => 'co_i', cost_type => 'DI', start_date => '2025-01-01',
	  fte_share => 0.5 },
	{ person_id => $S2, grant_ref => $G1, role => 'researcher', cost_type => 'DI',
	  start_date => '2025-01-01', fte_share => 1 },
]);
feed_ok(charges => [
	{ person_id => $S1, grant_ref => $G1, month => '2025-01', hours => 150 },
	{ person_id => $S1, grant_ref => $G1, month => '2025-02', hours => 100 },
	{ person_id => $S2, grant_ref => $G1, month => '2025-01', fte_fraction => 1 },
]);
sub sheet {
	my ($p, $entries, %x) = @_;
	return { person_id => $p, period_start => '2025-01-01', period_end => '2025-01-31',
		submitted_at => '2025-02-01T10:00:00Z', entries => $entries, %x };
}
feed_ok(timesheets => [
	sheet($S1, [ { kind => 'grant', activity => $G1, hours => 140 },
		{ kind => 'other', activity => markup('act1'), hours => 10 },
		{ kind => 'grant', activity => $G2, hours => 5 } ],
		authorised_by => $M, authorised_at => '2025-02-03T10:00:00Z'),
	sheet($S2, [ { kind => 'grant', activity => $G1, hours => 60 },
		{ kind => 'teaching', activity => markup('teach'), hours => 30 } ]),
]);
# S1's second version, with an amendment reason.
feed_ok(timesheets => [
	sheet($S1, [ { kind => 'grant', activity => $G1, hours => 130 },
		{ kind => 'other', activity => markup('act1'), hours => 20 } ],
		submitted_at => '2025-02-05T10:00:00Z', amendment_reason => markup('amend')),
]);

my $admin = $d->token('admin');
my $reviewer = $d->token('reviewer');
my $manager = $d->token('manager', $M);
my $other = $d->token('manager', 'OTHER');
my ($s1_id, $s2_id) = map { $_->[0] } psql($db,
	q{SELECT max(timesheet_id) FROM timesheets GROUP BY person_id HAVING person_id LIKE '%S_%'
	  ORDER BY person_id});

# The decisions and tokens stored: what a refused request must leave alone.
sub stored {
	return json_encode([ psql($db, 'SELECT (SELECT count(*) FROM timesheet_decisions),
		(SELECT count(*) FROM tokens), (SELECT count(*) FROM delegations),
		(SELECT count(*) FROM audit_log)') ]);
}

# A request on a raw socket: (status, headers text, body).
sub raw {
	my ($request) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port)
		or die "connect: $!";
	print $sock $request;
	local $/;
	my $out = <$sock> // '';
	my ($head, $body) = split /\r\n\r\n/, $out, 2;
	my ($status) = ($head // '') =~ m{\AHTTP/1\.[01] (\d{3})};
	return ($status // 0, $head // '', $body // '');
}

# ---------------------------------------------------------------- the wrong role
{
	my ($s, $j) = $d->req(GET => '/v1/tokens', token => $reviewer);
	is_deeply [ $s, $j->{error} ], [ 403, 'this needs an admin token' ],
		'GET /v1/tokens as a reviewer: 403 "this needs an admin token"';
	($s, $j) = $d->req(GET => '/v1/reminders', token => $manager);
	is_deeply [ $s, $j->{error} ], [ 403, 'this needs an admin token' ],
		'GET /v1/reminders as a manager: 403 "this needs an admin token"';
	($s, $j) = $d->req(GET => '/v1/audit', token => $manager);
	is_deeply [ $s, $j->{error} ], [ 403, 'this needs a reviewer or admin token' ],
		'GET /v1/audit as a manager: 403 "this needs a reviewer or admin token"';
}

# ---------------------------------------------------------------- methods
# docs/api.md: HEAD, PUT, DELETE, OPTIONS, PATCH "and the like are all 405"
# with a JSON body and Allow; methods are case-sensitive (RFC 9110 9.1), so
# "get" is one effortd does not take either.
for my $method (qw(FOO PROPFIND get PATCH)) {
	my ($s, $head, $body) = raw("$method /v1/me HTTP/1.1\r\nHost: localhost\r\n"
		. "Authorization: Bearer $admin\r\nConnection: close\r\n\r\n");
	is $s, 405, "$method /v1/me: 405";
	like $head, qr{^Allow: GET\r?$}mi, '… Allow: GET';
	like $head, qr{^Content-Type: application/json}mi, '… a JSON body';
	is_deeply scalar(eval { EffortTest::json_decode($body) }), { error => 'method not allowed' },
		'… {"error": "method not allowed"}';
}
{
	my ($s, $head, $body) = raw("FOO /v1/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	is_deeply [ $s, scalar(eval { EffortTest::json_decode($body) }) ], [ 404, { error => 'no such resource' } ],
		'FOO /v1/nothing: a JSON 404';
}
# The HTTP layer reads no body for HEAD, TRACE and methods it does not
# know: a body sent with one must not be taken as the next request on the
# connection (a proxy in front would have passed it on as a body, unseen).
for my $method (qw(HEAD TRACE FOO PROPFIND)) {
	for my $path ('/v1/me', '/v1/nothing') {
		my $inner = "GET /v1/tokens HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer $admin\r\n\r\n";
		my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port)
			or die "connect: $!";
		print $sock "$method $path HTTP/1.1\r\nHost: localhost\r\nContent-Length: " . length($inner)
			. "\r\n\r\n$inner";
		# effortd closes the connection after its answer; the alarm only
		# keeps a failing run from hanging.
		my $out = '';
		eval {
			local $SIG{ALRM} = sub { die "timeout\n" };
			alarm 20;
			local $/;
			$out = <$sock> // '';
			alarm 0;
		};
		alarm 0;
		close $sock;
		my @statuses = $out =~ m{^HTTP/1\.[01] (\d{3})}mg;
		is_deeply \@statuses, [ $path eq '/v1/me' ? 405 : 404 ],
			"$method $path with a body holding a request: one answer, the body is not run as a request";
	}
}

# ---------------------------------------------------------------- small JSON bodies
# An empty body is no JSON object: say so, not "line -1, column -1".
for my $case ([ "/v1/timesheets/$s2_id/reject", $manager, '{reason}' ],
	[ '/v1/approvals', $manager, '{timesheet_ids}' ],
	[ '/v1/me/delegations', $manager, '{delegate_id, start_date, end_date}' ],
	[ '/v1/tokens', $admin, '{role, person_id, label}' ]) {
	my ($path, $token, $shape) = @$case;
	my $before = stored();
	my ($s, $j) = $d->req(POST => $path, token => $token, body => '');
	is_deeply [ $s, $j->{error} ], [ 400, "the body is empty; expected a JSON object $shape" ],
		"POST $path with an empty body: 400 saying it is empty";
	is stored(), $before, '… nothing stored';
}

# A \u0000 escape is valid JSON (RFC 8259 7) and invalid text (RULES.md,
# "Stored exactly": no NUL): 422 naming the field, as in the feeds; never
# read as the text before it ("admin\u0000x" is no admin role).
for my $case ([ "/v1/timesheets/$s2_id/reject", $manager, { reason => "bad\x{0}" }, 'reason' ],
	[ "/v1/timesheets/$s2_id/reject", $manager, { reason => "\x{0}bad" }, 'reason' ],
	[ '/v1/me/delegations', $manager,
	  { delegate_id => "OTHER\x{0}", start_date => '2099-01-01', end_date => '2099-01-02' }, 'delegate_id' ],
	[ '/v1/tokens', $admin, { role => "admin\x{0}x" }, 'role' ],
	[ '/v1/tokens', $admin, { role => 'manager', person_id => "$M\x{0}x" }, 'person_id' ],
	[ '/v1/tokens', $admin, { role => 'reviewer', label => "a\x{0}b" }, 'label' ]) {
	my ($path, $token, $body, $field) = @$case;
	my $before = stored();
	my ($s, $j) = $d->req(POST => $path, token => $token, body => $body);
	is $s, 422, "POST $path with a NUL in $field: 422" or diag json_encode($j);
	is_deeply $j->{errors}, [ { field => $field, message => 'contains a NUL character' } ],
		"… naming $field: contains a NUL character";
	is stored(), $before, '… nothing stored';
}

# ---------------------------------------------------------------- query parameters the handler checks
# docs/api.md: a 400 for a bad query parameter names it in errors[].parameter.
for my $case ([ '/v1/violations?as_of=2025-02-30', 'as_of', qr/^as_of must be a date YYYY-MM-DD/ ],
	[ '/v1/violations?as_of=0001-01-01', 'as_of', qr/^as_of must be a date YYYY-MM-DD from 1900-01-01 to 9999-12-31$/ ],
	[ '/v1/timesheets?month=2025-13', 'month', qr/^month must be YYYY-MM/ ],
	[ '/v1/reports/investigators?year=0', 'year', qr/^year must be a year YYYY/ ],
	[ '/v1/reports/investigators?year=2147483648', 'year', qr/^year must be a year YYYY/ ],
	[ '/v1/reports/investigators?year=2025&as_of=1899-12-31', 'as_of', qr/^as_of must be a date/ ],
	[ '/v1/reports/compliance?from=2025-01-01&to=2024-12-31', 'from', qr/^from must not be after to$/ ],
	[ '/v1/reports/compliance?from=2025-01-01&to=x', 'to', qr/^to must be a date/ ],
	[ '/v1/reports/grants/' . ($G1 =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ger) . '?as_of=2025-02-29',
	  'as_of', qr/^as_of must be a date/ ],
	[ '/v1/audit?since=2025-1-1', 'since', qr/^since must be a date/ ],
	[ '/v1/audit?limit=0', 'limit', qr/^limit must be a number from 1 to 999999$/ ],
	[ '/v1/audit?timesheet_id=1e3', 'timesheet_id', qr/^timesheet_id must be a number$/ ],
	[ '/v1/audit/verify?last_id=-1&last_hash=' . ('a' x 64), 'last_id', qr/^last_id must be a number$/ ],
	[ '/v1/audit/verify?last_id=1&last_hash=' . ('A' x 64), 'last_hash', qr/^last_hash must be 64 lowercase/ ]) {
	my ($path, $param, $like) = @$case;
	my ($s, $j) = $d->req(GET => $path, token => $admin);
	is $s, 400, "GET $path: 400";
	like $j->{error}, $like, "… $like";
	is_deeply ref $j->{errors} eq 'ARRAY' ? [ map { $_->{parameter} } @{ $j->{errors} } ] : undef, [$param],
		"… errors[].parameter names $param" or diag json_encode($j);
}

# ---------------------------------------------------------------- path ids
for my $id ('0', '-1', '9223372036854775807', '9223372036854775808', '18446744073709551616', '1e3',
	'%201', "$s1_id%2F", "$s1_id/", "/$s1_id", 'x' x 4000) {
	for my $route ('versions', 'approve') {
		my ($s, $j) = $d->req($route eq 'versions' ? 'GET' : 'POST', "/v1/timesheets/$id/$route",
			token => $route eq 'versions' ? $admin : $manager);
		is $s, 404, "timesheet id \"" . substr($id, 0, 20) . "\" ($route): 404";
		ok ref $j eq 'HASH' && defined $j->{error}, '… with a JSON error';
	}
}
{
	my ($s, $j) = $d->req(POST => "/v1/timesheets/$s1_id/approve", token => $other);
	is_deeply [ $s, $j->{error} ],
		[ 403, "you are not the line manager of this timesheet's owner, nor an active delegate of their manager" ],
		'another manager\'s staff\'s timesheet: 403 naming nobody';
	($s, $j) = $d->req(POST => "/v1/tokens/-1/revoke", token => $admin);
	is_deeply [ $s, $j->{error} ], [ 404, 'no such token' ], 'POST /v1/tokens/-1/revoke: 404';
	($s, $j) = $d->req(POST => "/v1/tokens/18446744073709551616/revoke", token => $admin);
	is_deeply [ $s, $j->{error} ], [ 404, 'no such token' ], 'POST /v1/tokens/2^64/revoke: 404';
	($s, $j) = $d->req(GET => '/v1/reports/grants/%00', token => $admin);
	is $s, 404, 'a grant reference %00: 404';
	($s, $j) = $d->req(GET => '/v1/reports/grants/%FF', token => $admin);
	is $s, 404, 'a grant reference that is not UTF-8: 404';
	($s, $j) = $d->req(GET => '/v1/reports/grants/' . ('x' x 4000), token => $admin);
	is_deeply [ $s, $j->{error} ], [ 404, 'no such grant' ], 'a 4000-byte grant reference: 404, not echoed (no grant reference is over 64 bytes)';
}

# ---------------------------------------------------------------- as_of at the ends of the range
for my $as_of ('1900-01-01', '9999-12-31') {
	my %paths = (
		grant => '/v1/reports/grants/' . ($G1 =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ger),
		investigators => '/v1/reports/investigators?year=2024',
		compliance => '/v1/reports/compliance?from=2025-01-01&to=2025-12-31');
	$paths{evidence} = "$paths{grant}/evidence";
	for my $report (sort keys %paths) {
		for my $format (qw(json csv html)) {
			my $sep = $paths{$report} =~ /\?/ ? '&' : '?';
			my ($s, $j, $res) = $d->req(GET => "$paths{$report}${sep}as_of=$as_of&format=$format",
				token => $reviewer);
			is $s, 200, "$report report as of $as_of, $format: 200";
		}
	}
	my ($s, $j) = $d->req(GET => "/v1/violations?as_of=$as_of", token => $reviewer);
	is_deeply [ $s, $j->{as_of} ], [ 200, $as_of ], "GET /v1/violations?as_of=$as_of: 200";
}

# ---------------------------------------------------------------- HTML escaping
{
	my ($s) = $d->req(POST => "/v1/timesheets/$s2_id/reject", token => $manager,
		body => { reason => markup('reject') });
	is $s, 200, 'setup: the manager rejects S2\'s timesheet with markup in the reason';
}
my $G1_path = '/v1/reports/grants/' . ($G1 =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ger);
my $G2_path = '/v1/reports/grants/' . ($G2 =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ger);
# Each page, and the text fields (markup) and ids (markup_id) it shows (G2's
# evidence pack: S1's version 2 too, which took G2's hours away, and its reason).
for my $case ([ "$G1_path?", [qw(funder1 s1name s2name title1)], [qw(G1 S1 S2)] ],
	[ "$G1_path/evidence?", [qw(act1 amend reject s1name s2name teach title1)], [qw(G1 G2 M S1 S2)] ],
	[ '/v1/reports/investigators?year=2024&', ['s1name'], [qw(G1 S1)] ],
	[ '/v1/reports/compliance?from=2025-01-01&to=2025-03-31&', ['mname'], ['M'] ],
	[ "$G2_path?", [qw(funder2 title2)], ['G2'] ],
	[ "$G2_path/evidence?", [qw(act1 amend s1name title2)], [qw(G1 G2 M S1)] ]) {
	my ($path, $fields, $ids) = @$case;
	my ($s, $html, $res) = $d->req(GET => "${path}as_of=2025-06-01&format=html", token => $reviewer);
	is_deeply [ $s, $res->{headers}{'content-type'} ], [ 200, 'text/html; charset=utf-8' ],
		"$path HTML: 200 text/html";
	my @raw = $html =~ /(<[ib][ >])/g;
	is_deeply \@raw, [], '… no markup of the data survives unescaped';
	my %shown = map { $_ => 1 } $html =~ /&lt;i id=&quot;(\w+)&quot;&gt;&#39;&amp;amp;&lt;\/i&gt;/g;
	is_deeply [ sort keys %shown ], $fields, "… shows @$fields with <, >, \", ' and & escaped";
	my %ids = map { $_ => 1 } $html =~ /&lt;b&gt;(\w+)&amp;&quot;&#39;/g;
	is_deeply [ sort keys %ids ], $ids, "… and the ids @$ids escaped";
}

done_testing();
