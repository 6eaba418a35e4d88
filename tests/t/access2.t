# Access control and sign-in, probed as an adversary would (second pass
# after auth.t, tokens.t, oidc*.t, approvals.t, desk.t, audit_trail.t):
# the Authorization header in odd shapes (case, spaces, two headers, a NUL
# byte, a folded line, a huge token), every role on every route it may not
# use, approvals across a line-manager change, a manager set to none, a
# delegate of a former manager, reject then approve, bulk approvals with
# other people's and unknown ids, body fields that try to act for someone
# else, tokens (labels, the last admin, revoking one's own), a leaver's
# API token, the audit trail's record of every decision and token change
# (actor included, never a token hash) and its chain, and sign-in with an
# identity provider whose person claim is longer than effortd reads.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use POSIX ();
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode json_decode month_ago clear_of_midnight);
use OidcProvider;

my $db = new_db();
clear_of_midnight($db, 300);
my $d = start_effortd(db => $db);

my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my ($P1s, $P1e, $P2s, $P2e) = map { @{ month_ago($db, $_) }{qw(start end)} } 1, 2;
my $submitted = psql($db, q{SELECT to_char((now() - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});

sub ok_feed {
	my ($feed, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, $name or diag json_encode($j);
}
sub person {
	my ($id, $manager, %x) = @_;
	return { person_id => $id, name => "Person $id", line_manager_id => $manager, fte => 1,
		employment_start => '2015-01-01', %x };
}
ok_feed(people => [ person('AM'), person('BM'), person('DD'), person('LX'),
	person('S1', 'AM'), person('S2', 'AM'), person('S3', 'BM'), person('S4', 'LX'), person('S5', 'AM') ], 'setup: people');
ok_feed(delegations => [ { manager_id => 'AM', delegate_id => 'DD', start_date => '2000-01-01', end_date => '2099-12-31' } ],
	'setup: AM delegates to DD (feed, always in force)');
ok_feed(timesheets => [ map { my $p = $_; map { { person_id => $p, period_start => $_->[0], period_end => $_->[1],
	submitted_at => $submitted, entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } }
	[ $P1s, $P1e ], [ $P2s, $P2e ] } qw(S1 S2 S3 S4 S5) ], 'setup: two months of timesheets for S1..S5');
my %ts;
$ts{"$_->[0]:$_->[1]"} = $_->[2] for psql($db, "SELECT person_id, CASE WHEN period_start = '$P1s' THEN 'P1' ELSE 'P2' END, timesheet_id FROM timesheets");

my $admin = $d->token('admin');
my $reviewer = $d->token('reviewer');
my $feed = $d->token('feed');
my $am = $d->token('manager', 'AM');
my $bm = $d->token('manager', 'BM');
my $dd = $d->token('manager', 'DD');
my $lx = $d->token('manager', 'LX');
ok_feed(people => [ person('LX', undef, employment_end => '2020-01-31') ], 'setup: LX left on 2020-01-31, after its token was made');
{
	# A token is not made for a leaver: it would be refused at once.
	my ($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'manager', person_id => 'LX' });
	is $s, 422, 'POST /v1/tokens for a leaver (LX): 422';
	is $j->{error}, q{person "LX" left on 2020-01-31: a leaver's token would be refused at once}, '... saying why';
}
my @all_tokens = ($admin, $reviewer, $feed, $am, $bm, $dd, $lx);

sub decisions { scalar psql($db, 'SELECT count(*) FROM timesheet_decisions') }
sub no_token_in {
	my ($name, $body) = @_;
	my $text = ref $body ? json_encode($body) : $body // '';
	ok !(grep { index($text, $_) >= 0 } @all_tokens), "$name: the answer holds no token";
}

# A raw HTTP/1.1 request (for headers HTTP::Tiny will not send); the status.
sub raw_status {
	my ($headers) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port) or die "connect: $!";
	print $sock "GET /v1/me HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n";
	local $/;
	my $out = <$sock> // '';
	my ($st) = $out =~ m{\AHTTP/1\.[01] (\d{3})};
	my ($body) = $out =~ /\r\n\r\n(.*)\z/s;
	return ($st // 0, $body // '');
}

# ---------------------------------------------------------------- the Authorization header
{
	my ($s, $j) = $d->req(GET => '/v1/me', headers => { Authorization => "bearer $reviewer" });
	is_deeply [ $s, $j->{roles} ], [ 200, ['reviewer'] ], 'scheme "bearer" in lower case: accepted (RFC 9110: case-insensitive)';
	($s, $j) = $d->req(GET => '/v1/me', headers => { Authorization => "BEARER $reviewer" });
	is $s, 200, 'scheme "BEARER": accepted';
	($s, $j) = $d->req(GET => '/v1/me', headers => { Authorization => "Bearer $reviewer " });
	is $s, 200, 'a trailing space (optional white space around a field value): accepted';
	($s, $j) = $d->req(GET => '/v1/me', headers => { Authorization => "Bearer  $reviewer" });
	is_deeply [ $s, $j->{error} ], [ 401, 'unknown or revoked token' ], 'two spaces after Bearer: 401';
	no_token_in('two spaces', $j);
	($s, $j) = $d->req(GET => '/v1/me', headers => { Authorization => "Bearer\t$reviewer" });
	is_deeply [ $s, $j->{error} ], [ 401, 'missing bearer token' ], 'a tab after Bearer: 401';
	($s, $j) = $d->req(GET => '/v1/me', token => uc $reviewer);
	is $s, 401, 'the token in upper case: 401 (tokens are exact)';
	($s, $j) = $d->req(GET => '/v1/tokens', headers => { Authorization => "Bearer $reviewer, Bearer $admin" });
	is $s, 401, 'two tokens in one header, comma-separated: 401';
	no_token_in('two tokens in one header', $j);
	($s, $j) = $d->req(GET => '/v1/me', token => 'x' x 7000);
	is_deeply [ $s, $j->{error} ], [ 401, 'unknown or revoked token' ], 'a 7000-byte token: 401';
	($s) = $d->req(GET => '/v1/me', token => 'x' x 70000);
	is $s, 400, 'a 70000-byte header: 400 from the HTTP layer, no crash';
	($s, $j) = $d->req(GET => '/v1/me', token => 'a.b.c');
	is $s, 401, 'a JWT-shaped token without OIDC configured: 401';
	($s) = raw_status("Authorization: Bearer\r\n $reviewer\r\n");
	is $s, 200, 'a folded (obs-fold) Authorization header: read with the fold as a space (RFC 9112 5.2 allows)';

	# RFC 9110 5.3: Authorization is not a list; two of them are ambiguous
	# (which identity acts?), like two Content-Length headers (400).
	($s, $j) = $d->req(GET => '/v1/tokens', headers => { Authorization => [ "Bearer $reviewer", "Bearer $admin" ] });
	is $s, 400, 'two Authorization headers (reviewer, admin): 400, not the first one\'s identity';
	is $j->{error}, 'two Authorization headers; send one', '… saying why';
	no_token_in('two Authorization headers', $j);
	($s, $j) = $d->req(GET => '/v1/tokens', headers => { Authorization => [ "Bearer $admin", "Bearer $reviewer" ] });
	is $s, 400, 'two Authorization headers (admin, reviewer): 400, not admin';
	($s, $j) = $d->req(GET => '/v1/tokens', headers => { Authorization => [ "Bearer $admin", "Bearer $admin" ] });
	is $s, 400, 'the same Authorization header twice: 400';

	# RFC 9110 5.5: a NUL in a field value must be refused or read as a
	# space; effortd refuses it (400) before looking at the token.
	my $nul = 'the request line or a header field contains a NUL byte';
	($s, my $body) = raw_status("Authorization: Bearer $reviewer\0junk\r\n");
	is_deeply [ $s, json_decode($body)->{error} ], [ 400, $nul ], 'a NUL byte and junk after the token: 400, not the token';
	($s, $body) = raw_status("Authorization: Bearer \0$reviewer\r\n");
	is_deeply [ $s, json_decode($body)->{error} ], [ 400, $nul ], 'a NUL byte before the token: 400';
}

# ---------------------------------------------------------------- roles on every route
{
	my $s1 = $ts{'S1:P1'};
	my @routes = (
		[ POST => "/v1/timesheets/$s1/approve" ], [ POST => "/v1/timesheets/$s1/reject", { reason => 'x' } ],
		[ POST => '/v1/approvals', { timesheet_ids => [ $s1 + 0 ] } ],
		[ GET => '/v1/reports/investigators?year=2025' ], [ GET => '/v1/reports/compliance?from=2025-01-01&to=2025-02-01' ],
		[ GET => '/v1/reports/grants/EP%2FX%2F1' ], [ GET => '/v1/reports/grants/EP%2FX%2F1/evidence' ],
		[ GET => '/v1/tokens' ], [ POST => '/v1/tokens', { role => 'admin' } ], [ POST => '/v1/tokens/1/revoke' ],
		[ GET => '/v1/audit' ], [ GET => '/v1/audit/verify' ], [ GET => '/v1/reminders' ], [ POST => '/v1/reminders/run' ],
		[ GET => '/v1/pending' ], [ POST => '/v1/me/delegations', { delegate_id => 'BM', start_date => $today, end_date => $today } ],
		[ POST => '/v1/people', [ person('ZZ') ] ], [ GET => '/v1/timesheets' ], [ GET => "/v1/timesheets/$s1/versions" ],
		[ GET => '/v1/violations' ],
	);
	my %allowed = (
		feed => { map { $_ => 1 } 'POST /v1/people' },
		reviewer => { map { $_ => 1 } map { "GET $_" } '/v1/reports/investigators?year=2025',
			'/v1/reports/compliance?from=2025-01-01&to=2025-02-01', '/v1/reports/grants/EP%2FX%2F1',
			'/v1/reports/grants/EP%2FX%2F1/evidence', '/v1/audit', '/v1/audit/verify', '/v1/timesheets',
			"/v1/timesheets/$s1/versions", '/v1/violations' },
		manager => {},    # only the manager routes, tried below with real effects
	);
	my $before = decisions();
	my $tokens_before = psql($db, 'SELECT count(*) FROM tokens');
	for my $role (qw(feed reviewer manager)) {
		my $t = { feed => $feed, reviewer => $reviewer, manager => $bm }->{$role};
		my @refused;
		for my $r (@routes) {
			my ($m, $p, $b) = @$r;
			next if $allowed{$role}{"$m $p"};
			next if $role eq 'manager' && $p =~ m{^/v1/(timesheets|approvals|pending|me/|violations)};
			my ($s, $j) = $d->req($m => $p, token => $t, defined $b ? (body => $b) : ());
			push @refused, "$m $p: $s " . json_encode($j) unless $s == 403 && ($j->{error} // '') =~ /^this needs an? /;
		}
		is_deeply \@refused, [], "a $role token on every route its role may not use: 403 \"this needs ...\"";
	}
	my ($s, $j) = $d->req(POST => '/v1/people', query => { preview => 'false' }, token => $reviewer, body => [ person('ZZ') ]);
	is_deeply [ $s, $j->{error} ], [ 403, 'this needs a feed or admin token' ], 'a reviewer posting a feed with ?preview=false: 403';
	is decisions(), $before, 'no refused request recorded a decision';
	is psql($db, 'SELECT count(*) FROM tokens'), $tokens_before, '… nor made a token';
	is psql($db, q{SELECT count(*) FROM people WHERE person_id = 'ZZ'}), 0, '… nor stored a person';
}

# ---------------------------------------------------------------- approvals
sub decide {
	my ($token, $id, $what, $body) = @_;
	return $d->req(POST => "/v1/timesheets/$id/$what", token => $token, defined $body ? (body => $body) : ());
}
my $not_theirs = "you are not the line manager of this timesheet's owner, nor an active delegate of their manager";
{
	# S1 moves from AM to BM: AM (and AM's delegate DD) lose the decision at once.
	ok_feed(people => [ person('S1', 'BM') ], 'S1 moves from AM to BM');
	my ($s, $j) = decide($am, $ts{'S1:P1'}, 'approve');
	is_deeply [ $s, $j->{error} ], [ 403, $not_theirs ], 'the former manager approving S1 after the move: 403';
	($s, $j) = decide($dd, $ts{'S1:P1'}, 'approve');
	is_deeply [ $s, $j->{error} ], [ 403, $not_theirs ], "the former manager's delegate approving S1: 403";
	($s, $j) = $d->req(GET => '/v1/violations', token => $am, query => { person_id => 'S1' });
	is_deeply [ $s, $j->{error} ], [ 403, 'S1 is not someone you manage' ], "the former manager reading S1's violations: 403";
	($s, $j) = decide($bm, $ts{'S1:P1'}, 'approve');
	is_deeply [ $s, $j->{timesheet}{authorised_by} ], [ 200, 'BM' ], 'the new manager approving it: 200, authorised by BM';

	# S2's manager set to none: nobody may decide.
	ok_feed(people => [ person('S2', undef) ], "S2's line manager set to none");
	($s, $j) = decide($am, $ts{'S2:P1'}, 'approve');
	is_deeply [ $s, $j->{error} ], [ 403, $not_theirs ], 'the former manager approving S2 (no manager now): 403';
	($s, $j) = decide($dd, $ts{'S2:P1'}, 'reject', { reason => 'x' });
	is_deeply [ $s, $j->{error} ], [ 403, $not_theirs ], 'the delegate rejecting it: 403';

	# Reject, then approve; approve twice.
	($s, $j) = decide($am, $ts{'S5:P1'}, 'reject', { reason => 'leave missing' });
	is_deeply [ $s, $j->{timesheet}{status} ], [ 200, 'rejected' ], 'AM rejects S5 P1: 200';
	($s, $j) = decide($am, $ts{'S5:P1'}, 'approve');
	is_deeply [ $s, $j->{error} ], [ 409, 'rejected by AM; it waits for a new version' ], '… then approving it: 409';
	($s, $j) = decide($dd, $ts{'S5:P1'}, 'approve');
	is $s, 409, '… nor may the delegate approve it: 409';

	# Bulk: one call, each id checked on its own.
	my $n = decisions();
	($s, $j) = $d->req(POST => '/v1/approvals', token => $am, body => { timesheet_ids =>
		[ map { $_ + 0 } $ts{'S5:P2'}, $ts{'S5:P2'}, $ts{'S3:P2'}, $ts{'S2:P2'}, $ts{'S5:P1'}, 9223372036854775807 ] });
	is $s, 200, 'AM bulk-approves S5 P2 (twice), S3 (not theirs), S2 (no manager), S5 P1 (rejected), an unknown id: 200';
	is_deeply [ map { $_->{id} } @{ $j->{approved} } ], [ $ts{'S5:P2'} ], '… only S5 P2 approved, once';
	is_deeply [ map { [ $_->{id}, $_->{http_status} ] } @{ $j->{refused} } ],
		[ [ $ts{'S3:P2'}, 403 ], [ $ts{'S2:P2'}, 403 ], [ $ts{'S5:P1'}, 409 ], [ 9223372036854775807, 404 ] ],
		'… the others refused: 403, 403, 409, 404';
	is decisions(), $n + 1, '… one decision recorded';
	($s, $j) = $d->req(POST => '/v1/approvals', token => $am, body => '{"timesheet_ids":[9223372036854775808]}');
	is $s, 400, 'an id beyond bigint: 400 (no 500)';

	# Fields naming someone else are not obeyed: they are not the route's
	# members, so the body is refused (422 naming one) and nothing is stored.
	$n = decisions();
	($s, $j) = $d->req(POST => '/v1/approvals', token => $bm, body => { timesheet_ids => [ $ts{'S4:P2'} + 0 ], person_id => 'LX',
		decided_by => 'LX', role => 'admin' });
	is_deeply [ $s, ($j->{errors}[0]{field} // '') =~ /^(?:person_id|decided_by|role)$/ ? 1 : 0, decisions() ], [ 422, 1, $n ],
		'BM bulk-approving with person_id/decided_by/role of someone else in the body: 422 naming one, nothing decided';
	($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm, body => { manager_id => 'AM', delegate_id => 'DD',
		start_date => $today, end_date => $today });
	is_deeply [ $s, $j->{errors} ], [ 422, [ { field => 'manager_id', message => 'unknown field' } ] ],
		'BM delegating with "manager_id": "AM" in the body: 422 naming it';
	is psql($db, q{SELECT count(*) FROM delegations WHERE source = 'manager'}), 0, '… no delegation made, AM\'s or BM\'s';
	($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm, body => { delegate_id => 'DD',
		start_date => $today, end_date => $today });
	is_deeply [ $s, $j->{delegation}{manager_id} ], [ 200, 'BM' ], 'without it: a delegation of BM\'s';

	# Paths.
	($s, $j) = decide($am, "00$ts{'S3:P1'}", 'approve');
	is $s, 403, 'an id with leading zeros is that id (403 for BM\'s staff)';
	($s, $j) = decide($am, '999999999999999999', 'approve');
	is_deeply [ $s, $j->{error} ], [ 404, 'no such timesheet' ], 'an 18-digit id that does not exist: 404';
	($s, $j) = decide($am, '9999999999999999999', 'approve');
	is $s, 404, 'a 19-digit id: 404';
	($s, $j) = decide($am, '-1', 'approve');
	is $s, 404, 'a negative id: 404';
}

# ---------------------------------------------------------------- bulk approvals at once
# A manager and their delegate bulk-approve the same 40 timesheets at the
# same moment, in opposite orders (POST /v1/approvals keeps the request's
# order): each id is checked and recorded on its own, so one gets them and
# the other 409 "already authorised" for each; never a deadlock's 500.
{
	my @staff = map { sprintf 'B%02d', $_ } 1 .. 40;
	ok_feed(people => [ map { person($_, 'AM') } @staff ], 'setup: 40 more staff of AM');
	ok_feed(timesheets => [ map { { person_id => $_, period_start => $P1s, period_end => $P1e, submitted_at => $submitted,
		entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } } @staff ], '… with a timesheet each');
	my @ids = map { $_->[0] + 0 } psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id LIKE 'B%' ORDER BY person_id});
	my @kids;
	for my $k ([ $am, [@ids] ], [ $dd, [ reverse @ids ] ]) {
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			my ($st, $jj) = $d->req(POST => '/v1/approvals', token => $k->[0], body => { timesheet_ids => $k->[1] }, timeout => 60);
			EffortTest::spew("$EffortTest::TMP/access2-bulk-$$", json_encode({ status => $st, body => $jj }));
			POSIX::_exit(0);
		}
		push @kids, $pid;
	}
	waitpid $_, 0 for @kids;
	my @r = map { json_decode(EffortTest::slurp("$EffortTest::TMP/access2-bulk-$_")) } @kids;
	is_deeply [ map { $_->{status} } @r ], [ 200, 200 ], 'AM and DD bulk-approving the same 40 at once, in opposite orders: both 200'
		or diag json_encode(\@r);
	my @approved = map { ref $_->{body} eq 'HASH' ? @{ $_->{body}{approved} // [] } : () } @r;
	my @refused = map { ref $_->{body} eq 'HASH' ? @{ $_->{body}{refused} // [] } : () } @r;
	is scalar @approved, 40, '… 40 approved between them';
	is_deeply [ sort { $a <=> $b } map { $_->{id} } @refused ], [ sort { $a <=> $b } @ids ], '… each of the others refused once';
	is_deeply [ grep { $_->{http_status} != 409 || $_->{error} !~ /^already authorised by (AM|DD)$/ } @refused ], [],
		'… with 409 "already authorised by ..."';
	is psql($db, q{SELECT count(*) FROM timesheet_decisions d JOIN timesheets t USING (timesheet_id) WHERE t.person_id LIKE 'B%'}), 40,
		'… one decision per timesheet';
	unlike $d->log_text, qr/deadlock/, '… and no deadlock in the log';
}

# ---------------------------------------------------------------- approve and reject at once
# AM approves while DD (AM's delegate) rejects the same timesheet at the
# same moment, ten times: each time exactly one decision is recorded, one
# caller gets 200 and the other 409.
{
	my @staff = map { sprintf 'B%02d', $_ } 1 .. 10;
	ok_feed(timesheets => [ map { { person_id => $_, period_start => $P2s, period_end => $P2e, submitted_at => $submitted,
		entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } } @staff ], 'setup: ten more timesheets');
	my @ids = map { $_->[0] } psql($db, "SELECT timesheet_id FROM timesheets WHERE person_id LIKE 'B%' AND period_start = '$P2s' ORDER BY 1");
	my @bad;
	for my $id (@ids) {
		my @kids;
		for my $k ([ $am, 'approve' ], [ $dd, 'reject', { reason => 'at once' } ]) {
			my $pid = fork // die "fork: $!";
			if ($pid == 0) {
				my ($st) = decide($k->[0], $id, $k->[1], $k->[2]);
				EffortTest::spew("$EffortTest::TMP/access2-race-$$", $st);
				POSIX::_exit(0);
			}
			push @kids, $pid;
		}
		waitpid $_, 0 for @kids;
		my $got = join ' ', sort map { EffortTest::slurp("$EffortTest::TMP/access2-race-$_") } @kids;
		my $n = psql($db, "SELECT count(*) FROM timesheet_decisions WHERE timesheet_id = $id");
		push @bad, "$id: $got, $n decisions" unless $got eq '200 409' && $n == 1;
	}
	is_deeply \@bad, [], 'approve and reject of the same timesheet at once: one 200, one 409, one decision (ten times)';
}

# Body fields of a decision are not obeyed: the token's person, now.
{
	ok_feed(timesheets => [ map { { person_id => $_, period_start => $P2s, period_end => $P2e, submitted_at => $submitted,
		entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } } qw(B11 B12) ], 'setup: two more');
	my %id = map { $_->[0] => $_->[1] } psql($db, "SELECT person_id, timesheet_id FROM timesheets WHERE person_id IN ('B11', 'B12') AND period_start = '$P2s'");
	my ($s, $j) = decide($am, $id{B11}, 'approve', { decided_by => 'BM', authorised_by => 'BM', decided_at => '2020-01-01T00:00:00Z',
		source => 'feed' });
	is_deeply [ $s, $j->{timesheet}{authorised_by}, substr($j->{timesheet}{authorised_at} // '', 0, 4) ], [ 200, 'AM', substr($submitted, 0, 4) ],
		'AM approving with decided_by/authorised_by BM, decided_at 2020 and source feed in the body: by AM, now';
	is psql($db, "SELECT source || ' ' || decided_by || ' ' || (decided_at > now() - interval '1 minute') FROM timesheet_decisions WHERE timesheet_id = $id{B11}"),
		'approval AM true', '… stored as an approval by AM, now';
	($s, $j) = decide($dd, $id{B12}, 'reject', { reason => 'hours', decided_by => 'AM' });
	is_deeply [ $s, $j->{errors}, scalar psql($db, "SELECT count(*) FROM timesheet_decisions WHERE timesheet_id = $id{B12}") ],
		[ 422, [ { field => 'decided_by', message => 'unknown field' } ], 0 ],
		'DD rejecting with decided_by AM in the body: 422 naming it, nothing stored';
	($s, $j) = decide($dd, $id{B12}, 'reject', { reason => 'hours' });
	is psql($db, "SELECT decided_by FROM timesheet_decisions WHERE timesheet_id = $id{B12}"), 'DD',
		'… without it: stored as DD\'s';
}

# ---------------------------------------------------------------- a leaver's API token
# docs/operations.md, "How leavers lose access": once the people feed carries
# employment_end, every request from the day after gets 403 ("... who left on
# DATE: access ended with the employment"), whatever token the person still holds.
{
	my $n = decisions();
	my $lx_id = psql($db, q{SELECT token_id FROM tokens WHERE person_id = 'LX'});
	my ($s, $j) = decide($lx, $ts{'S4:P1'}, 'approve');
	is $s, 403, 'LX (left 2020-01-31) approving S4 with an API manager token: 403';
	is $j->{error}, "token $lx_id belongs to person LX, who left on 2020-01-31: access ended with the employment",
		'… the leaver message';
	is decisions(), $n, '… nothing recorded';
	($s, $j) = $d->req(GET => '/v1/me', token => $lx);
	is $s, 403, "GET /v1/me with the leaver's token: 403";
	no_token_in('the leaver refusal', $j);

	# Without the lookup cache, each change of employment_end counts at once.
	my $d0 = start_effortd(db => $db, 'auth.cache_seconds' => 0);
	ok_feed(people => [ person('LX', undef, employment_end => undef) ], 'LX rehired (employment_end cleared)');
	($s, $j) = $d0->req(GET => '/v1/me', token => $lx);
	is_deeply [ $s, $j->{person_id} ], [ 200, 'LX' ], "… LX's token: 200";
	ok_feed(people => [ person('LX', undef, employment_end => $today) ], 'LX leaves today');
	($s, $j) = $d0->req(GET => '/v1/me', token => $lx);
	is $s, 200, "… LX's token still works on the last day";
	ok_feed(people => [ person('LX', undef, employment_end => scalar psql($db, 'SELECT current_date - 1')) ], 'LX left yesterday');
	($s, $j) = $d0->req(GET => '/v1/me', token => $lx);
	is $s, 403, "… LX's token: 403 from the day after";
	$d0->stop;
}

# ---------------------------------------------------------------- tokens
{
	my ($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'feed', label => "laptop\nrm -rf \e[31m" });
	is $s, 422, 'a token label with a newline and an escape: 422 (free text: no control character but tab)';
	is_deeply $j->{errors}, [ { field => 'label', message => 'contains the control character 0x0a at offset 6' } ], '… on label, saying which'
		or diag json_encode($j);
	($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'feed', label => 'L' x 1001 });
	is $s, 422, 'a token label of 1001 bytes: 422 (the feeds\' text limit, 1000)';
	is_deeply $j->{errors}, [ { field => 'label', message => 'longer than 1000 bytes (UTF-8)' } ], '… on label' or diag json_encode($j);
	is psql($db, q{SELECT count(*) FROM tokens WHERE label ~ '[[:cntrl:]]' OR length(label) > 1000}), 0, '… no such token stored';
	($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'feed', label => "Payroll\tfeed – Łódź" });
	is_deeply [ $s, $j->{token}{label} ], [ 200, "Payroll\tfeed – Łódź" ], 'a label with a tab and UTF-8: 200, kept as sent';
	($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'Admin' });
	is $s, 422, 'role "Admin": 422 (roles are exact)';
	($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => [ 'admin' ] });
	is $s, 422, 'role as an array: 422';

	# An admin revokes their own token (another admin exists): 401 at once.
	($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'admin', label => 'second admin' });
	is $s, 200, 'a second admin token';
	my ($admin2, $admin2_id) = ($j->{token}{token}, $j->{token}{id});
	push @all_tokens, $admin2;
	($s, $j) = $d->req(GET => '/v1/tokens', token => $admin2);
	is $s, 200, '… works';
	($s, $j) = $d->req(POST => "/v1/tokens/$admin2_id/revoke", token => $admin2);
	is $s, 200, 'it revokes itself: 200';
	($s, $j) = $d->req(GET => '/v1/tokens', token => $admin2);
	is $s, 401, '… and is refused at once (401)';
	my $admin_id = psql($db, q{SELECT token_id FROM tokens WHERE role = 'admin' AND revoked_at IS NULL});
	($s, $j) = $d->req(POST => "/v1/tokens/$admin_id/revoke", token => $admin);
	is $s, 409, 'the last admin token revoking itself: 409';
	($s, $j) = $d->req(POST => '/v1/tokens/%201/revoke', token => $admin);
	is $s, 404, 'revoking token " 1": 404';
}

# ---------------------------------------------------------------- the audit trail
{
	my @rows = psql($db, q{SELECT action, actor->>'token_id', actor->>'person_id', after->>'decided_by'
		FROM audit_log WHERE entity = 'timesheet_decisions' ORDER BY id});
	is scalar @rows, decisions(), 'every decision is in the audit trail';
	my %token_person = map { $_->[0] => $_->[1] // '' } psql($db, 'SELECT token_id, person_id FROM tokens');
	is_deeply [ grep { !defined $_->[1] || $token_person{ $_->[1] } ne $_->[3] || $_->[2] ne $_->[3] } @rows ], [],
		'… each with the token and person that decided (the decider)';
	is psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'tokens' AND action = 'revoked'
		AND actor ? 'token_id'}), 1, 'the token revocation is in the trail with its actor';
	is psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'tokens' AND action = 'created' AND actor->>'role' = 'admin'}),
		psql($db, q{SELECT count(*) FROM tokens WHERE token_id > (SELECT max(token_id) FROM tokens WHERE person_id = 'LX')}),
		'every token made over the API is in the trail with the admin as actor';
	is psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'tokens'
		AND (coalesce(after, '{}') ? 'token_hash' OR coalesce(before, '{}') ? 'token_hash')}), 0, '… never with a token hash';
	is psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'delegations' AND after->>'source' = 'manager'
		AND actor->>'person_id' = 'BM'}), 1, 'the delegation made over the API is in the trail with its actor';
	my ($s, $j) = $d->req(GET => '/v1/audit', token => $reviewer, query => { person_id => 'S5' });
	is $s, 200, 'GET /v1/audit?person_id=S5: 200';
	is_deeply [ map { $_->{action} } grep { $_->{entity} eq 'timesheet_decisions' } @{ $j->{entries} } ], [qw(rejected authorised)],
		'… shows the rejection and the approval of S5\'s timesheets';
	no_token_in('GET /v1/audit', $j);
	($s, $j) = $d->req(GET => '/v1/audit/verify', token => $reviewer);
	is_deeply [ $s, $j->{ok} ? 1 : 0 ], [ 200, 1 ], 'GET /v1/audit/verify: the chain holds';
}

# ---------------------------------------------------------------- sign-in: a long person claim
# The person claim is matched whole (docs/operations.md: "The person must
# exist"): a claim longer than effortd's 128-byte buffer must not be cut
# down to another person's email.
{
	my $victim = ('v' x 113) . '@example.ac.uk';    # 127 bytes
	my $p = OidcProvider->new(accounts => {
		mallory => { email => "$victim.evil.example", groups => ['effort-reviewers'] },
		vera    => { email => uc $victim, groups => ['effort-reviewers'] },
	});
	ok_feed(people => [ person('VV', undef, email => $victim) ], 'a person whose email is 127 bytes long');
	my $o = start_effortd(db => $db, 'oidc.issuer' => $p->issuer, 'oidc.audience' => 'effortd', 'oidc.ca_file' => $p->ca_file,
		'oidc.reviewer_groups' => 'effort-reviewers', 'oidc.person_claim' => 'email', 'oidc.person_match' => 'email',
		'oidc.fetch_timeout' => 5);
	my ($s, $j) = $o->req(GET => '/v1/me', token => $p->device_token('vera')->{access_token}, timeout => 20);
	is_deeply [ $s, $j->{person_id}, $j->{roles} ], [ 200, 'VV', ['reviewer'] ], "vera, whose email claim is VV's in upper case: VV, reviewer"
		or diag json_encode($j);
	($s, $j) = $o->req(GET => '/v1/me', token => $p->device_token('mallory')->{access_token}, timeout => 20);
	is $s, 403, "mallory, whose email claim is VV's email with \".evil.example\" after it: 403, not VV"
		or diag json_encode($j);
	is $j->{error}, qq{signed in as mallory, but unknown: no person in the people feed has email "$victim.evil.example" (the token's email claim); ask the administrator to check the people feed},
		'… the unknown-person message with the whole claim';
	is psql($db, q{SELECT count(*) FROM tokens WHERE oidc_subject = 'mallory'}), 0, '… and no identity row for mallory';
	$o->stop;
	$p->stop;
}

unlike $d->log_text, qr/\Q$admin\E|\Q$reviewer\E|\Q$feed\E|\Q$am\E|\Q$bm\E|\Q$dd\E|\Q$lx\E/, 'no token is ever logged';

done_testing;
