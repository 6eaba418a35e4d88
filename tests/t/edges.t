# The edges of the API answer bad input plainly (issue 11), against a real
# effortd and PostgreSQL loaded with the sample organisation:
#  - query strings are strict on every route: an undeclared parameter, a
#    value outside a declared list (rule, severity, format, status), a
#    parameter given twice, a bad or NUL percent-escape, a parameter without
#    a value: 400 naming the parameter, and nothing stored;
#  - other methods: 405 with Allow and a JSON body (no more 501 HTML);
#  - feeds take application/json and text/csv (charset=utf-8 optional, any
#    case) and answer 415 otherwise; a JSON body may start with a BOM;
#  - the last active admin token cannot be revoked (409); effortd
#    --create-token checks what the API checks;
#  - reject: the reason has the feed text limit, a non-JSON body is 400;
#  - a manager's 403 on someone else's timesheet names nobody;
#  - effortctl violations --rule checks the rule first (exit 2), and exits 3
#    on the server's 400.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use IPC::Open3 ();
use POSIX ();
use Time::HiRes ();
use EffortTest qw(new_db start_effortd psql psql_value post_feed load_sample json_encode
    effortctl row_counts slurp sample_file);

my $db = new_db();
my $d = start_effortd(db => $db);
load_sample($d);
my $admin = $d->token('admin');
my $reviewer = $d->token('reviewer');
my $feed = $d->token('feed');
my $manager = $d->token('manager', 'E0001');

# Everything stored, as one comparable text.
sub stored { json_encode({ %{ row_counts($db) }, tokens => psql_value($db, 'SELECT count(*) FROM tokens') }) }

# (status, body, response) of a GET with a raw query string.
sub get_raw {
	my ($path, $token) = @_;
	return $d->req(GET => $path, token => $token // $admin);
}

# A 400 naming $param, in the error and in errors[0].parameter.
sub bad_param {
	my ($path, $param, $name, $token, $like) = @_;
	my ($s, $j) = get_raw($path, $token);
	is $s, 400, "$name: 400";
	is ref $j eq 'HASH' && ref $j->{errors} eq 'ARRAY' ? $j->{errors}[0]{parameter} : undef, $param,
		"… errors[0].parameter is \"$param\"" or diag explain $j;
	ok ref $j eq 'HASH' && index($j->{error} // '', $param) >= 0, '… and the error names it';
	like $j->{errors}[0]{message}, $like, "… $like" if $like && ref $j eq 'HASH';
}

# ---------------------------------------------------------------- query strings
{
	my $before = stored();
	my ($s, $j) = get_raw('/v1/violations?as_of=2026-06-01&rule=hours_incomplete');
	is $s, 200, 'a good filter still answers 200';
	ok @{ $j->{violations} } > 0, '… with findings';
	ok !(grep { $_->{rule} ne 'hours_incomplete' } @{ $j->{violations} }), '… of that rule only';

	bad_param('/v1/violations?rule=timesheet_mising', 'rule', 'an unknown rule',
		undef, qr/^rule must be timesheet_missing, hours_incomplete, .*, investigator_cap_projected or teaching_excess$/);
	bad_param('/v1/violations?severity=critical', 'severity', 'an unknown severity',
		undef, qr/^severity must be violation or warning$/);
	bad_param('/v1/violations?rule=', 'rule', 'an empty rule');
	bad_param('/v1/violations?grant=EP%2FX012345%2F1', 'grant', 'an undeclared parameter (grant for grant_ref)',
		undef, qr/^unknown query parameter "grant"; \/v1\/violations takes as_of, rule, severity, person_id, grant_ref$/);
	bad_param('/v1/violations?rule=hours_incomplete&rule=timesheet_missing', 'rule',
		'a parameter given twice', undef, qr/given more than once/);
	bad_param('/v1/violations?person_id=E1001&person_id=E1001', 'person_id',
		'the same parameter twice with the same value');
	bad_param('/v1/violations?person_id=%ZZ', 'person_id', 'a bad percent-escape (%ZZ)',
		undef, qr/percent-encoding/);
	bad_param('/v1/violations?person_id=E100%4', 'person_id', 'a truncated escape at the end');
	bad_param('/v1/violations?person_id=E1001%00', 'person_id', 'an encoded NUL (%00)', undef, qr/NUL/);
	bad_param('/v1/violations?person_id=E1001%0D%0AX:1', 'person_id', 'an encoded CR LF', undef,
		qr/control characters/);
	bad_param('/v1/violations?as_of', 'as_of', 'a parameter without a value', undef, qr/no value/);
	bad_param('/v1/violations?r%ZZle=x', 'r%ZZle', 'a bad escape in the name');
	bad_param('/v1/violations?%FF%FE=1', '\xff\xfe', 'a name that is not UTF-8 is shown escaped');
	# Every route: its declared parameters only.
	my %route = (
		'/v1/timesheets' => 'person_id, month, status',
		'/v1/timesheets/1/versions' => 'no query parameters',
		'/v1/reports/grants/EP%2FX012345%2F1' => 'as_of, format',
		'/v1/reports/grants/EP%2FX012345%2F1/evidence' => 'as_of, format',
		'/v1/reports/investigators' => 'year, as_of, format',
		'/v1/reports/compliance' => 'from, to, as_of, format',
		'/v1/audit' => 'person_id, timesheet_id, since, limit',
		'/v1/audit/verify' => 'last_id, last_hash',
		'/v1/tokens' => 'no query parameters',
		'/v1/reminders' => 'dry_run',
		'/healthz' => 'no query parameters',
		'/metrics' => 'no query parameters',
	);
	for my $path (sort keys %route) {
		bad_param("$path?bogus=1", 'bogus', "GET $path?bogus=1", undef, qr/takes \Q$route{$path}\E$/);
	}
	bad_param('/v1/pending?as_of=2026-01-01', 'as_of', 'GET /v1/pending?as_of=…',
		$manager);
	bad_param('/v1/timesheets?status=lost', 'status', 'an unknown status', undef,
		qr/^status must be submitted, authorised or rejected$/);
	bad_param('/v1/reports/investigators?year=2025&format=xlsx', 'format', 'an unknown report format');
	bad_param('/v1/reminders?dry_run=yes', 'dry_run', 'dry_run other than 1');
	($s) = get_raw('/v1/reminders?dry_run=1');
	is $s, 200, 'GET /v1/reminders?dry_run=1 (effortctl reminders --dry-run): 200';

	# POSTs: refused before anything is stored.
	my $n = psql_value($db, 'SELECT count(*) FROM people');
	($s, $j) = $d->req(POST => '/v1/people?dry_run=1', token => $feed,
		body => [ { person_id => 'Q1', name => 'Query', fte => 1, employment_start => '2020-01-01' } ]);
	is $s, 400, 'POST /v1/people?dry_run=1: 400';
	is $j->{errors}[0]{parameter}, 'dry_run', '… naming dry_run';
	($s, $j) = $d->req(POST => '/v1/tokens?role=admin', token => $admin, body => { role => 'admin' });
	is $s, 400, 'POST /v1/tokens?role=admin: 400';
	is stored(), $before, 'nothing of any refused request was stored';
	is psql_value($db, "SELECT count(*) FROM people WHERE person_id = 'Q1'"), 0, '… no person Q1';

	# Authentication comes first: no token, 401 whatever the query.
	($s) = $d->req(GET => '/v1/violations?bogus=1');
	is $s, 401, 'no token and a bad query: 401';
}

# ---------------------------------------------------------------- methods
{
	my $before = stored();
	my %allow = (
		'/healthz' => 'GET',
		'/v1/people' => 'POST',
		'/v1/timesheets' => 'POST, GET',
		'/v1/timesheets/1/versions' => 'GET',
		'/v1/timesheets/1/approve' => 'POST',
		'/v1/violations' => 'GET',
		'/v1/reports/compliance' => 'GET',
		'/v1/tokens' => 'GET, POST',
		'/v1/tokens/1/revoke' => 'POST',
	);
	for my $path (sort keys %allow) {
		for my $m (qw(HEAD PUT DELETE OPTIONS PATCH)) {
			my ($s, $j, $res) = $d->req($m => $path, token => $admin,
				$m =~ /^(PUT|PATCH)$/ ? (body => [ { person_id => 'X1', name => 'X', fte => 1,
					employment_start => '2020-01-01' } ]) : ());
			is $s, 405, "$m $path: 405";
			is $res->{headers}{allow}, $allow{$path}, "… Allow: $allow{$path}";
			if ($m eq 'HEAD') {
				is $res->{content} // '', '', '… no body (HEAD)';
			} else {
				is $res->{headers}{'content-type'}, 'application/json', '… a JSON body';
				is ref $j eq 'HASH' ? $j->{error} : $j, 'method not allowed', '… {"error": "method not allowed"}';
			}
		}
	}
	my ($s, $j, $res) = $d->req(POST => '/v1/violations', token => $admin, body => []);
	is $s, 405, 'POST /v1/violations: 405';
	is $res->{headers}{allow}, 'GET', '… Allow: GET';
	($s, $j, $res) = $d->req(GET => '/v1/people', token => $admin);
	is $s, 405, 'GET /v1/people (a feed): 405';
	is $res->{headers}{allow}, 'POST', '… Allow: POST';
	($s, $j, $res) = $d->req(DELETE => '/v1/nothing-here', token => $admin);
	is $s, 404, 'DELETE on a path that does not exist: 404';
	is $res->{headers}{allow}, undef, '… without Allow';
	is stored(), $before, 'nothing was stored by any of them';
}

# ---------------------------------------------------------------- content types
{
	my $n = 0;
	my $person = sub { $n++; return { person_id => "CT$n", name => "Type $n", fte => 1, employment_start => '2020-01-01' } };
	for my $type ('application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8',
		'application/json;charset=UTF-8', 'Application/Json ; Charset="utf-8"') {
		my ($s, $j) = post_feed($d, people => [ $person->() ], type => $type);
		is $s, 200, "JSON sent as $type: 200" or diag json_encode($j);
	}
	for my $type ('text/csv', 'TEXT/CSV; CHARSET=UTF-8', 'text/csv;charset=utf-8') {
		my $p = $person->();
		my ($s, $j) = post_feed($d, people => "person_id,name,fte,employment_start\r\n$p->{person_id},$p->{name},1,2020-01-01\r\n",
			type => $type);
		is $s, 200, "CSV sent as $type: 200" or diag json_encode($j);
	}
	is psql_value($db, "SELECT count(*) FROM people WHERE person_id LIKE 'CT%'"), 8, 'all 8 stored';

	my $before = stored();
	my $json = json_encode([ { person_id => 'BAD1', name => 'Bad', fte => 1, employment_start => '2020-01-01' } ]);
	for my $type ('text/plain', 'application/xml', 'text/json', 'application/jsonx', 'text/csvx',
		'application/json; charset=iso-8859-1', 'text/csv; charset=utf-16', 'application/json; boundary=x',
		'application/json; charset=utf-8; charset=utf-8', 'multipart/form-data; boundary=x') {
		my ($s, $j) = $d->req(POST => '/v1/people', token => $feed, body => $json, type => $type);
		is $s, 415, "a feed sent as $type: 415";
		is $j->{content_type}, $type, '… content_type names what was received';
		is_deeply $j->{accepted}, [ 'application/json', 'text/csv' ], '… accepted lists the two';
		like $j->{error}, qr/^Content-Type \Q$type\E is not accepted; a feed is application\/json or text\/csv/, '… and the error says so';
	}
	# No Content-Type at all: a raw request (HTTP clients add their own).
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Proto => 'tcp')
		or die "connect: $!";
	print $sock "POST /v1/people HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer $feed\r\n"
		. "Content-Length: " . length($json) . "\r\nConnection: close\r\n\r\n$json";
	my $raw = do { local $/; <$sock> };
	close $sock;
	my ($status) = $raw =~ m{\AHTTP/1\.\d (\d{3})};
	is $status, 415, 'a feed without Content-Type: 415';
	my $j = EffortTest::json_decode((split /\r\n\r\n/, $raw, 2)[1]);
	is $j->{content_type}, undef, '… content_type null';
	like $j->{error}, qr/^no Content-Type; a feed is application\/json or text\/csv/, '… saying there was none';
	is stored(), $before, 'nothing of them was stored';

	# A JSON body may begin with a byte-order mark, as a CSV body may.
	my ($s, $jj) = post_feed($d, people => "\xEF\xBB\xBF" . json_encode([ $person->() ]), type => 'application/json');
	is $s, 200, 'JSON after a UTF-8 byte-order mark: 200' or diag json_encode($jj);
	is psql_value($db, "SELECT name FROM people WHERE person_id = 'CT$n'"), "Type $n", '… stored';
	($s, $jj) = post_feed($d, people => "\xEF\xBB\xBF" . "[\n{\"person_id\": }]", type => 'application/json');
	is $s, 400, 'bad JSON after a byte-order mark: still 400';
	like $jj->{error}, qr/line 2, column \d+/, '… with its line and column';
	($s, $jj) = post_feed($d, people => "\xEF\xBB\xBF\xEF\xBB\xBF" . json_encode([ $person->() ]), type => 'application/json');
	is $s, 400, 'two byte-order marks: 400 (only one is skipped)';
}

# ---------------------------------------------------------------- tokens
{
	my $db2 = new_db();
	my $d2 = start_effortd(db => $db2);
	is((post_feed($d2, people => [ { person_id => 'T1', name => 'Tess', fte => 1, employment_start => '2020-01-01' } ]))[0], 200,
		'setup: a person T1');
	my $a1 = $d2->token('admin');
	my $a1_id = psql_value($db2, "SELECT token_id FROM tokens WHERE role = 'admin'");
	my $last = qr/^token $a1_id is the last active admin token; revoking it would lock every administrator out\. Create another first \(effortd --create-token admin, or POST \/v1\/tokens with role admin\), then revoke this one$/;
	my ($s, $j) = $d2->req(POST => "/v1/tokens/$a1_id/revoke", token => $a1);
	is $s, 409, 'revoking the last active admin token: 409';
	like $j->{error}, $last, '… saying how to make another';
	is psql_value($db2, "SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL"), 0, '… nothing revoked';
	is(($d2->req(GET => '/v1/tokens', token => $a1))[0], 200, '… and the token still works');
	my ($rc, $out, $err) = effortctl($d2, { token => $a1 }, 'token', 'revoke', $a1_id);
	is $rc, 3, 'effortctl token revoke of the last admin token: exit 3';
	like $err, qr/last active admin token.*effortd --create-token admin/, '… with the message';
	# A reviewer token can go; an admin one once another admin exists.
	my $rev_id = psql_value($db2, "SELECT token_id FROM tokens WHERE role = 'reviewer'") // do {
		$d2->token('reviewer'); psql_value($db2, "SELECT token_id FROM tokens WHERE role = 'reviewer'") };
	is(($d2->req(POST => "/v1/tokens/$rev_id/revoke", token => $a1))[0], 200, 'revoking a reviewer token: 200');
	($s, $j) = $d2->req(POST => '/v1/tokens', token => $a1, body => { role => 'admin', label => 'second' });
	is $s, 200, 'a second admin token';
	my ($a2, $a2_id) = ($j->{token}{token}, $j->{token}{id});
	is(($d2->req(POST => "/v1/tokens/$a1_id/revoke", token => $a2))[0], 200, 'now the first can be revoked: 200');
	($s, $j) = $d2->req(POST => "/v1/tokens/$a2_id/revoke", token => $a2);
	is $s, 409, 'and the second is now the last: 409';
	like $j->{error}, qr/^token $a2_id is the last active admin token/, '… naming it';
	is psql_value($db2, "SELECT count(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL"), 1,
		'one active admin token remains';

	# Two revocations at once, of the only two active admin tokens: the
	# second waits for the first and then refuses, never leaving none.
	($s, $j) = $d2->req(POST => '/v1/tokens', token => $a2, body => { role => 'admin', label => 'third' });
	my ($a3, $a3_id) = ($j->{token}{token}, $j->{token}{id});
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		psql($db2, "BEGIN; SELECT token_revoke($a2_id, NULL); SELECT pg_sleep(1.5); COMMIT;");
		POSIX::_exit(0);
	}
	Time::HiRes::sleep(0.5);
	my $second = psql_value($db2, "SELECT token_revoke($a3_id, NULL)");
	waitpid $pid, 0;
	like $second, qr/"http_status": 409/, 'a revocation racing another admin one: the later is refused (409)';
	is_deeply [ map { $_->[0] } psql($db2, "SELECT token_id FROM tokens WHERE role = 'admin' AND revoked_at IS NULL") ],
		[ $a3_id ], '… and exactly one admin token stays active';
	$a2 = $a3;    # the active admin for what follows

	# effortd --create-token: the API's checks, word for word.
	my $create = sub {
		my @cmd = ($EffortTest::EFFORTD, '-c', $d2->{conf}, '--create-token', @_);
		my $pid = IPC::Open3::open3(my $in, my $o, undef, @cmd);
		close $in;
		my $text = do { local $/; <$o> } // '';
		waitpid $pid, 0;
		return ($? >> 8, $text);
	};
	my $tokens = psql_value($db2, 'SELECT count(*) FROM tokens');
	for my $case ([ [ 'manager', '--person', 'E9999' ], { role => 'manager', person_id => 'E9999' },
			'unknown person "E9999": send it in the people feed first' ],
		[ [ 'reviewer', '--person', 'T1' ], { role => 'reviewer', person_id => 'T1' },
			'only manager tokens belong to a person: a token of role reviewer takes no person_id (--person)' ],
		[ [ 'feed', '--person', 'T1' ], { role => 'feed', person_id => 'T1' },
			'only manager tokens belong to a person: a token of role feed takes no person_id (--person)' ],
		[ [ 'admin', '--person', 'T1' ], { role => 'admin', person_id => 'T1' },
			'only manager tokens belong to a person: a token of role admin takes no person_id (--person)' ],
		[ [ 'manager' ], { role => 'manager' },
			'a manager token needs a person_id (effortd --create-token manager --person ID)' ],
		[ [ 'wizard' ], { role => 'wizard' }, 'role must be feed, manager, reviewer or admin' ]) {
		my ($args, $body, $msg) = @$case;
		my ($code, $text) = $create->(@$args);
		isnt $code, 0, "effortd --create-token @$args: exit non-zero ($code)";
		like $text, qr/cannot create the token: \Q$msg\E$/m, "… $msg";
		unlike $text, qr/constraint|violates|eff_/, '… no raw constraint error, no token printed';
		($s, $j) = $d2->req(POST => '/v1/tokens', token => $a2, body => $body);
		is $s, 422, '… and the API: 422';
		is $j->{error}, $msg, '… with the same message';
	}
	is psql_value($db2, 'SELECT count(*) FROM tokens'), $tokens, 'no token was stored by any of them';
	my ($code, $text) = $create->('manager', '--person', 'T1');
	is $code, 0, 'effortd --create-token manager --person T1 (a known person): exit 0' or diag $text;
	like $text, qr/^eff_[0-9a-f]{64}$/m, '… prints the token';
}

# ---------------------------------------------------------------- reject and 403
{
	# A manager with an undecided, ended timesheet of their staff, and one
	# of someone else's staff.
	my ($mine, $boss, $theirs, $owner) = @{ (psql($db, q{SELECT c.timesheet_id, p.line_manager_id,
		       o.timesheet_id, o.person_id
		  FROM current_timesheets c JOIN people p USING (person_id)
		  JOIN current_timesheets o ON o.person_id <> p.line_manager_id
		   AND NOT effort_may_authorise(p.line_manager_id, o.person_id, now(), current_date)
		 WHERE p.line_manager_id IS NOT NULL AND c.decision IS NULL AND c.period_end < current_date
		   AND effort_may_authorise(p.line_manager_id, c.person_id, now(), current_date)
		 ORDER BY c.timesheet_id, o.timesheet_id LIMIT 1}))[0] // [] };
	ok $mine && $theirs, "setup: a timesheet $boss may decide ($mine) and one of ${owner}'s they may not ($theirs)";
	my $manager = $d->token('manager', $boss);
	my $owner_name = psql_value($db, "SELECT name FROM people WHERE person_id = '$owner'");
	my $owner_lm = psql_value($db, "SELECT line_manager_id FROM people WHERE person_id = '$owner'");
	my $before = stored();
	my $reject = sub { $d->req(POST => "/v1/timesheets/$mine/reject", token => $manager, @_) };

	my ($s, $j) = $reject->(body => 'reason: none', type => 'application/json');
	is $s, 400, 'reject with a body that is not JSON: 400 (not 422 "reason is required")';
	like $j->{error}, qr/^invalid JSON at line 1, column \d+: .*; expected a JSON object \{reason\}$/, '… naming line and column';
	($s, $j) = $reject->(body => '', type => 'application/json');
	is $s, 400, 'reject with an empty body: 400';
	($s, $j) = $reject->(body => '["too long"]', type => 'application/json');
	is $s, 400, 'reject with a JSON array: 400';
	is $j->{error}, 'expected a JSON object {reason}', '… expected a JSON object';
	($s, $j) = $reject->(body => {});
	is $s, 422, 'reject without a reason: 422';
	is $j->{errors}[0]{field}, 'reason', '… on reason';
	($s, $j) = $reject->(body => { reason => 'x' x 1001 });
	is $s, 422, 'a reason of 1001 characters (the feed text limit is 1000): 422';
	is_deeply $j->{errors}, [ { field => 'reason', message => 'longer than 1000 bytes (UTF-8)' } ], '… on reason, saying the limit';
	($s, $j) = $reject->(body => { reason => 'x' x 102400 });
	is_deeply [ $s, $j->{error} ], [ 413, 'request body larger than 65536 bytes (only a feed takes more)' ],
		'a reason of 100 kB: 413 (a body that is not a feed is at most 64 KiB)';
	is stored(), $before, 'nothing stored by the refused rejections';

	# Someone else's staff: 403 naming nobody.
	for my $do ([ POST => "/v1/timesheets/$theirs/approve" ], [ POST => "/v1/timesheets/$theirs/reject", { reason => 'no' } ],
		[ GET => "/v1/timesheets/$theirs/versions" ]) {
		my ($m, $path, $body) = @$do;
		($s, $j) = $d->req($m => $path, token => $manager, $body ? (body => $body) : ());
		is $s, 403, "$m $path (not ${boss}'s staff): 403";
		my $e = json_encode($j);
		ok index($e, $owner) < 0 && index($e, $owner_name) < 0 && (!$owner_lm || index($e, $owner_lm) < 0)
			&& index($e, $boss) < 0, "… naming neither $owner, their name, their manager nor the caller" or diag $e;
	}
	is $j->{error}, 'not the timesheet of someone you manage', '… (the read says whose it is not)';
	($s, $j) = $d->req(POST => "/v1/timesheets/$theirs/approve", token => $manager);
	is $j->{error}, "you are not the line manager of this timesheet's owner, nor an active delegate of their manager",
		'… the decision: "you are not the line manager of this timesheet\'s owner, …"';
	is stored(), $before, 'nothing stored by the refused decisions';

	($s, $j) = $reject->(body => { reason => 'y' x 1000 });
	is $s, 200, 'a reason of exactly 1000 characters: 200';
	is psql_value($db, "SELECT length(reason) FROM timesheet_decisions WHERE timesheet_id = $mine AND decision = 'rejected'"), 1000,
		'… stored whole';
}

# ---------------------------------------------------------------- effortctl violations
{
	# The rules effortctl and effortd know are those of docs/rules.md, in its order.
	my @doc_rules;
	for (split /\n/, slurp("$EffortTest::TOP/docs/rules.md")) {
		push @doc_rules, split m{ / }, $1 if /^### ([a-z_]+(?: \/ [a-z_]+)*)/;
	}
	my ($s, $j) = get_raw('/v1/violations?rule=nope');
	my ($listed) = ($j->{error} // '') =~ /^rule must be (.*)$/;
	is_deeply [ split /, | or /, $listed // '' ], \@doc_rules, "the server's rules are docs/rules.md's, in order (@doc_rules[0, 1] …)";
	my %known = map { $_ => 1 } @doc_rules;
	my @found = map { $_->[0] } psql($db, 'SELECT DISTINCT rule FROM findings');
	ok @found >= 5 && !(grep { !$known{$_} } @found), 'every rule the SQL has reported is among them (' . scalar(@found) . ' seen)';

	# A misspelt rule: exit 2 with the list, before asking (no server at that URL).
	my $port = EffortTest::free_port();
	my ($rc, $out, $err) = effortctl(undef, { token => $reviewer, env => { EFFORTCTL_URL => "http://127.0.0.1:$port" } },
		'violations', '--rule', 'timesheet_mising');
	is $rc, 2, 'effortctl violations --rule timesheet_mising: exit 2 (not 4: nothing was asked)';
	like $err, qr/invalid --rule: timesheet_mising \(the rules are \Q${\ join ', ', @doc_rules }\E\)/, '… listing the rules';
	is $out, '', '… and prints nothing on standard output';
	($rc, undef, $err) = effortctl(undef, { token => $reviewer, env => { EFFORTCTL_URL => "http://127.0.0.1:$port" } },
		'violations', '--severity', 'critical');
	is $rc, 2, 'effortctl violations --severity critical: exit 2';
	like $err, qr/invalid --severity: critical \(violation or warning\)/, '… saying which are valid';
	($rc) = effortctl($d, { token => $reviewer }, 'violations', '--as-of', '2026-06-01', '--rule', 'hours_incomplete');
	is $rc, 1, 'a known rule is asked for: exit 1 (found)';
	# The server's 400 is exit 3.
	($rc, $out, $err) = effortctl($d, { token => $reviewer }, 'violations', '--person', "E1001\x01");
	is $rc, 3, "effortctl violations --person with a control character: the server's 400 is exit 3";
	like $err, qr/query parameter "person_id": control characters are not allowed \(HTTP 400/, '… with its message';
}

done_testing();
