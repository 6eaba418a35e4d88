# docs/openapi.yaml describes the API effortd really serves:
#   1. it is a valid OpenAPI 3.1 document (a real validator from npm, and
#      every schema compiled by a strict JSON Schema 2020-12 validator);
#   2. its operations are exactly the route table: the (method, path) pairs,
#      roles and query parameters (with their allowed values) of
#      daemon/http-routes.c, and the running daemon agrees (405 Allow headers,
#      401/403/400 answers naming roles and parameters);
#   3. live replies of every route, on the sample organisation, success and
#      errors, have a documented status and match its documented schema
#      (closed: an undocumented member fails); the bodies effortd takes match
#      the documented request bodies, and bodies it refuses do not.
# The node tools are installed by scripts/install-deps (tests/openapi/, npm ci).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use IPC::Open3 qw(open3);
use Test::More;
use EffortTest qw(start_effortd load_sample post_feed slurp spew sample_file json_encode json_decode psql_value);

my $TOP = $EffortTest::TOP;
my $DOC = "$TOP/docs/openapi.yaml";
my $TOOL_DIR = "$TOP/tests/openapi";
my @ROLES = qw(feed manager reviewer admin);

# Documented ahead of the daemon (issue 18, merged from parallel branches):
# tolerated while the route table does not have them yet.
my %PLANNED_QUERY = map { $_ => 1 } qw(preview);

# ---------------------------------------------------------------- node

# Runs tests/openapi/check.mjs; returns its decoded JSON answer.
sub tool {
	my ($cmd, $stdin) = @_;
	my $in_file = "$EffortTest::TMP/openapi-stdin.json";
	spew($in_file, $stdin // '');
	open my $in, '<', $in_file or die "$in_file: $!";
	my $pid = open3('<&' . fileno($in), my $out, undef, 'node', "$TOOL_DIR/check.mjs", $cmd, $DOC);
	local $/;
	my $text = <$out> // '';
	waitpid $pid, 0;
	die "node check.mjs $cmd: exit " . ($? >> 8) . ": $text" if $?;
	return json_decode($text);
}

ok -d "$TOOL_DIR/node_modules/\@seriousme/openapi-schema-validator",
	'the validator is installed (scripts/install-deps runs npm ci in tests/openapi)'
	or BAIL_OUT('tests/openapi/node_modules is missing: run scripts/install-deps');

# ---------------------------------------------------------------- 1. valid

my $v = tool('validate');
ok $v->{valid}, 'docs/openapi.yaml is a valid OpenAPI document and every schema compiles strictly'
	or diag explain $v->{errors};
is $v->{version}, '3.1', '… of version 3.1';

my $ops = tool('describe');
my %doc_op = map { ("$_->{method} $_->{path}" => $_) } @$ops;

# ---------------------------------------------------------------- 2. route table

# daemon/http-routes.c: the route table, role macros and query parameter lists;
# value lists may live in http-routes.c or common/rules.c (audit_rules).
my $routes_c = slurp("$TOP/daemon/http-routes.c");
my $c_sources = $routes_c . slurp("$TOP/common/rules.c");
my %role_macro;
while ($routes_c =~ /#define\s+(\w+)\s+\(([^)]*)\)/g) {
	$role_macro{$1} = $2;
}
my %value_list;
while ($c_sources =~ /const\s+char\s*\*\s*const\s+(\w+)\[\]\s*=\s*\{(.*?)\};/gs) {
	my ($name, $body) = ($1, $2);
	$value_list{$name} = [ $body =~ /"([^"]*)"/g ];
}
# (audit_rules is built from common/rules.c's rule table, X("name", ...) rows)
$value_list{audit_rules} = [ slurp("$TOP/common/rules.c") =~ /X\("(\w+)"/g ]
	unless @{ $value_list{audit_rules} // [] };
my %query_list;
while ($routes_c =~ /struct\s+query_param\s+(\w+)\[\]\s*=\s*\{(.*?)\};/gs) {
	my ($name, $body) = ($1, $2);
	$query_list{$name} = [ map { { name => $_->[0], values => $_->[1] eq 'NULL' ? undef : $value_list{ $_->[1] } } }
			map { [ /"(\w+)",\s*(\w+)/ ] } ($body =~ /\{\s*("\w+",\s*\w+)\s*\}/g) ];
}
my ($table) = $routes_c =~ /const\s+struct\s+route\s+routes\[\]\s*=\s*\{(.*?)\n\};/s;
ok defined $table, 'daemon/http-routes.c: the route table is found';
my %route;
for my $line (split /\n/, $table // '') {
	next unless $line =~ /^\s*\{\s*EVHTTP_REQ_(\w+),\s*"([^"]+)",\s*([^,]+),\s*\w+,\s*"\w+",\s*[^,]+,\s*(\w+)\s*\}/;
	my ($method, $path, $roles_expr, $q) = ($1, $2, $3, $4);
	$roles_expr =~ s/\b(\w+_ROLES)\b/$role_macro{$1} \/\/ $1/ge;
	my @roles = $roles_expr eq '0' ? () : grep { $roles_expr =~ /\bROLE_\U$_\E\b/ } @ROLES;
	$route{"$method $path"} = { roles => \@roles, query => $q eq 'NULL' ? [] : $query_list{$q} // die "no $q" };
}
cmp_ok scalar(keys %route), '>=', 27, 'daemon/http-routes.c: every route read (' . scalar(keys %route) . ')';

# Paths compare with their {…} segments unnamed.
sub shape { my ($k) = @_; $k =~ s/\{[^}]*\}/{}/g; return $k }
my %doc_by_shape = map { (shape($_) => $doc_op{$_}) } keys %doc_op;
is_deeply [ sort map { shape($_) } keys %doc_op ], [ sort map { shape($_) } keys %route ],
	'the document has exactly the routes of daemon/http-routes.c (method and path)';

for my $key (sort keys %route) {
	my $op = $doc_by_shape{ shape($key) } or next;
	my $r = $route{$key};
	# The roles that may only preview (?preview=true) may be in the table too.
	my %may = map { $_ => 1 } @{ $op->{roles} }, @{ $op->{preview_roles} };
	is_deeply [ sort grep { $may{$_} } @{ $r->{roles} } ], [ sort @{ $r->{roles} } ],
		"$key: the route's roles are documented";
	my %in_route = map { $_ => 1 } @{ $r->{roles} };
	is_deeply [ grep { !$in_route{$_} } @{ $op->{roles} } ], [], "$key: the documented roles are the route's";
	my %in_table = map { $_->{name} => $_ } @{ $r->{query} };
	my @doc_names = grep { $in_table{$_} || !$PLANNED_QUERY{$_} } map { $_->{name} } @{ $op->{query} };
	is_deeply [ sort @doc_names ], [ sort keys %in_table ], "$key: the documented query parameters are the route's";
	for my $p (@{ $op->{query} }) {
		my $t = $in_table{ $p->{name} } or next;
		is_deeply $p->{enum}, $t->{values}, "$key: $p->{name}: the documented values are the route's";
	}
}

# The running daemon agrees.  (The sample, loaded now, is for part 3; the
# probes below are refused before any handler runs.)
my $d = start_effortd();
load_sample($d);
# A manager (E0001, the sample's head) with two more of their staff's
# timesheets to decide.
my $manager = 'E0001';
my ($st) = post_feed($d, people => [ { person_id => 'E9001', name => 'Olive Api', line_manager_id => $manager,
	fte => 1, employment_start => '2026-01-05' } ]);
is $st, 200, 'a person for the approvals';
($st) = post_feed($d, timesheets => [ map { {
	person_id => 'E9001', period_start => "2026-$_->[0]-01", period_end => "2026-$_->[0]-$_->[1]",
	submitted_at => "2026-$_->[0]-$_->[1]T17:00:00Z",
	entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } } [ '09', '30' ], [ '10', '31' ] ]);
is $st, 200, '… and two timesheets of theirs';
my %token = map { ($_ => $_ eq 'manager' ? $d->token('manager', $manager) : $d->token($_)) } @ROLES;

# A concrete path for a documented one.
sub concrete { my ($p) = @_; $p =~ s/\{grant_ref\}/EP%2FX012345%2F1/; $p =~ s/\{[^}]*\}/1/g; return $p }

my %methods_of;
push @{ $methods_of{ $_->{path} } }, $_->{method} for @$ops;
for my $path (sort keys %methods_of) {
	my ($s, $j, $res) = $d->req(OPTIONS => concrete($path));
	is $s, 405, "OPTIONS $path: 405";
	is join(', ', sort split /,\s*/, $res->{headers}{allow} // ''), join(', ', sort @{ $methods_of{$path} }),
		"$path: Allow lists the documented methods";
}
{
	my ($s, $j) = $d->req(GET => '/v1/no-such-route', token => $token{admin});
	is $s, 404, 'a path the document does not have: 404';
}

# The roles a 403 names, in effortd's words.
sub needs {
	my @r = grep { my $x = $_; grep { $_ eq $x } @_ } @ROLES;
	return 'this needs ' . ($r[0] =~ /^[aeiou]/ ? 'an ' : 'a ') . (@r > 1 ? join(', ', @r[0 .. $#r - 1]) . " or $r[-1]" : $r[0]) . ' token';
}

# Every operation with every role and an unknown parameter: the token is
# checked, then the role, then the query, so nothing runs.
for my $op (@$ops) {
	my $key = "$op->{method} $op->{path}";
	my $url = concrete($op->{path}) . '?zz_probe=1';
	my ($s, $j) = $d->req($op->{method} => $url);
	if ($op->{token}) {
		is $s, 401, "$key without a token: 401";
	} else {
		is $s, 400, "$key needs no token (400 for the query)";
	}
	my %allowed = map { $_ => 1 } @{ $op->{roles} };
	my %preview = map { $_ => 1 } @{ $op->{preview_roles} };
	for my $role ($op->{token} ? @ROLES : ()) {
		($s, $j) = $d->req($op->{method} => $url, token => $token{$role});
		if ($allowed{$role}) {
			is $s, 400, "$key as $role: past the role check (400 for the query)";
			is $j->{errors}[0]{parameter}, 'zz_probe', "$key as $role: the 400 names the parameter";
		} elsif ($preview{$role}) {
			ok $s == 403 || $s == 400, "$key as $role: 403, or 400 past the role check (preview)";
		} else {
			is $s, 403, "$key as $role: 403";
			my @named = (needs(@{ $op->{roles} }), @{ $op->{preview_roles} } ? needs(@{ $op->{preview_roles} }) : ());
			ok((grep { $_ eq ($j->{error} // '') } @named), "$key as $role: the 403 names the documented roles")
				or diag "got \"$j->{error}\", want \"$named[0]\"";
		}
	}
	# The parameters the daemon says the route takes.
	my $probe_token = $op->{token} ? $token{ $op->{roles}[0] } : undef;
	($s, $j) = $d->req($op->{method} => $url, token => $probe_token);
	my ($takes) = ($j->{error} // '') =~ /takes (.*)$/;
	my @live = !defined $takes || $takes eq 'no query parameters' ? () : split /, /, $takes;
	my %live = map { $_ => 1 } @live;
	is_deeply [ sort grep { $live{$_} || !$PLANNED_QUERY{$_} } map { $_->{name} } @{ $op->{query} } ], [ sort @live ],
		"$key: the daemon takes the documented query parameters";
	for my $p (grep { $_->{enum} && $live{ $_->{name} } } @{ $op->{query} }) {
		($s, $j) = $d->req($op->{method} => concrete($op->{path}) . "?$p->{name}=zz_bad", token => $probe_token);
		is $s, 400, "$key?$p->{name}=zz_bad: 400";
		my ($list) = ($j->{error} // '') =~ /^\Q$p->{name}\E must be (.*)$/;
		is_deeply [ sort split /, | or /, $list // '' ], [ sort @{ $p->{enum} } ],
			"$key: $p->{name}: the daemon allows the documented values";
	}
	diag "$key: query parameter $_ is documented but not served yet (planned)"
		for grep { $PLANNED_QUERY{$_} && !$live{$_} } map { $_->{name} } @{ $op->{query} };
}

# ---------------------------------------------------------------- 3. live replies

my @replies;    # [name, {method, path, status, content_type, body}]

# call(NAME, [want => STATUS,] METHOD, TEMPLATE, %req): calls the operation
# (TEMPLATE: the documented path, a query may follow; url => the concrete
# path when concrete() would not do), checks the status (default 200) and
# records the reply for the document check.
sub call {
	my ($name, @rest) = @_;
	my $want = $rest[0] eq 'want' ? (splice @rest, 0, 2)[1] : 200;
	my ($method, $template, %a) = @rest;
	my ($path, $query) = split /\?/, $template, 2;
	my $url = $a{url} // concrete($path);
	$url .= "?$query" if defined $query;
	my ($s, $j, $res) = $d->req($method => $url, %a);
	push @replies, [ $name, { method => $method, path => $path, status => $s,
		content_type => $res->{headers}{'content-type'}, body => $j } ];
	is $s, $want, "$name: $method $template: $want" or diag ref $j ? json_encode($j) : $j;
	return ($s, $j, $res);
}

my $admin = $token{admin};
my $reviewer = $token{reviewer};
my $m = $token{manager};

# Operations.
call('health', GET => '/healthz');
call('metrics', GET => '/metrics');

# Feeds: every feed stored (JSON and CSV), and refusals.
for my $feed (@EffortTest::FEEDS) {
	call("$feed feed (JSON)", POST => "/v1/$feed", token => $token{feed},
		body => slurp(sample_file($feed, 'json')), type => 'application/json');
	call("$feed feed (CSV)", POST => "/v1/$feed", token => $admin,
		body => slurp(sample_file($feed, 'csv')), type => 'text/csv');
}
# A preview (issue 18, planned on a parallel branch): checked once served.
{
	my ($ps, $pj) = $d->req(POST => '/v1/charges?preview=true', token => $token{feed},
		body => slurp(sample_file('charges', 'json')), type => 'application/json');
	if ($ps == 400 && ref $pj eq 'HASH' && ($pj->{errors}[0]{parameter} // '') eq 'preview') {
		diag 'POST /v1/charges?preview=true: not served yet (planned); its reply is not checked';
	} else {
		call('charges preview', POST => '/v1/charges?preview=true', token => $token{feed},
			body => slurp(sample_file('charges', 'json')), type => 'application/json');
	}
}
call('amendments feed', POST => '/v1/timesheets', token => $token{feed},
	body => slurp(sample_file('amendments', 'csv')), type => 'text/csv');
call('feed 422 (JSON)', want => 422, POST => '/v1/people', token => $token{feed},
	body => [ { person_id => 'X1', name => 'X', fte => 2, employment_start => '2020-01-01', colour => 'red' } ]);
call('feed 422 (CSV)', want => 422, POST => '/v1/charges', token => $token{feed}, type => 'text/csv',
	body => "person_id,grant_ref,month,hours\nE0001,G,2025-13,1.234\n");
call('feed 400', want => 400, POST => '/v1/grants', token => $token{feed}, body => '[{"grant_ref": ');
call('feed 415', want => 415, POST => '/v1/grants', token => $token{feed}, body => '[]', type => 'text/plain');
call('feed 401', want => 401, POST => '/v1/grants', body => '[]');
call('feed 403', want => 403, POST => '/v1/grants', token => $reviewer, body => '[]');

# Timesheets.
my ($s, $j) = call('timesheets', GET => '/v1/timesheets', token => $admin);
call('timesheets filtered', GET => '/v1/timesheets?status=authorised&month=2026-01', token => $reviewer);
call('timesheets as a manager', GET => '/v1/timesheets', token => $m);
call('timesheets 400', want => 400, GET => '/v1/timesheets?month=2026-1', token => $admin);
my ($amended) = psql_value($d->db, "SELECT max(timesheet_id) FROM timesheets WHERE version > 1");
call('versions', GET => '/v1/timesheets/{id}/versions', url => "/v1/timesheets/$amended/versions", token => $admin);
call('versions 404', want => 404, GET => '/v1/timesheets/{id}/versions', url => '/v1/timesheets/999999999/versions', token => $admin);

# Approvals, by the manager, on their staff's pending timesheets.
($s, $j) = call('pending', GET => '/v1/pending', token => $m);
my @pending = map { $_->{id} } @{ ref $j eq 'HASH' ? $j->{pending} // [] : [] };
cmp_ok scalar(@pending), '>=', 2, "$manager has timesheets to decide (" . scalar(@pending) . ')';
call('approve', POST => '/v1/timesheets/{id}/approve', url => "/v1/timesheets/$pending[0]/approve", token => $m);
call('approve 409', want => 409, POST => '/v1/timesheets/{id}/approve', url => "/v1/timesheets/$pending[0]/approve", token => $m);
call('approve 404', want => 404, POST => '/v1/timesheets/{id}/approve', url => '/v1/timesheets/999999999/approve', token => $m);
call('reject 422', want => 422, POST => '/v1/timesheets/{id}/reject', url => "/v1/timesheets/$pending[1]/reject", token => $m,
	body => { reason => ' ' });
call('reject 400', want => 400, POST => '/v1/timesheets/{id}/reject', url => "/v1/timesheets/$pending[1]/reject", token => $m,
	body => '{"reason"');
call('reject', POST => '/v1/timesheets/{id}/reject', url => "/v1/timesheets/$pending[1]/reject", token => $m,
	body => { reason => 'the grant hours are on the wrong grant' });
call('approvals', POST => '/v1/approvals', token => $m,
	body => { timesheet_ids => [ @pending[ 2 .. $#pending ], $pending[0], 999999999 ] });
call('approvals 422', want => 422, POST => '/v1/approvals', token => $m, body => { timesheet_ids => [ 0, 'x' ] });
call('me', GET => '/v1/me', token => $m);
call('delegate', POST => '/v1/me/delegations', token => $m,
	body => { delegate_id => 'E0002', start_date => '2099-01-01', end_date => '2099-01-31' });
call('delegate 422', want => 422, POST => '/v1/me/delegations', token => $m,
	body => { delegate_id => 'E0002', start_date => '2000-01-01', end_date => '2000-01-31' });

# Audit findings and the audit trail.
call('violations', GET => '/v1/violations', token => $admin);
call('violations as_of', GET => '/v1/violations?as_of=2026-10-01&severity=violation', token => $reviewer);
call('violations as a manager', GET => '/v1/violations', token => $m);
call('violations 400', want => 400, GET => '/v1/violations?rule=nope', token => $admin);
call('audit', GET => '/v1/audit?limit=200', token => $admin);
call('audit by timesheet', GET => "/v1/audit?timesheet_id=$pending[0]", token => $reviewer);
call('audit 400', want => 400, GET => '/v1/audit?since=yesterday', token => $admin);
call('audit verify', GET => '/v1/audit/verify', token => $reviewer);

# Reports, in each format.
for my $f (qw(json csv html)) {
	call("grant report ($f)", GET => "/v1/reports/grants/{grant_ref}?format=$f", token => $reviewer);
	call("evidence ($f)", GET => "/v1/reports/grants/{grant_ref}/evidence?format=$f", token => $admin);
	call("investigators ($f)", GET => "/v1/reports/investigators?year=2025&format=$f", token => $admin);
	call("compliance ($f)", GET => "/v1/reports/compliance?from=2025-10-01&to=2026-09-30&format=$f", token => $reviewer);
}
call('grant report as_of', GET => '/v1/reports/grants/{grant_ref}?as_of=2026-10-01', token => $admin);
call('grant report 404', want => 404, GET => '/v1/reports/grants/{grant_ref}', url => '/v1/reports/grants/NOPE', token => $admin);
call('investigators 400', want => 400, GET => '/v1/reports/investigators', token => $admin);
call('compliance 400', want => 400, GET => '/v1/reports/compliance?from=2026-02-01&to=2026-01-01', token => $admin);
call('report 403', want => 403, GET => '/v1/reports/investigators?year=2025', token => $m);

# Tokens.
call('tokens', GET => '/v1/tokens', token => $admin);
($s, $j) = call('token create', POST => '/v1/tokens', token => $admin,
	body => { role => 'reviewer', label => 'openapi.t' });
my $new_id = ref $j eq 'HASH' && ref $j->{token} eq 'HASH' ? $j->{token}{id} : 0;
call('token create 422', want => 422, POST => '/v1/tokens', token => $admin, body => { role => 'boss' });
call('token create 400', want => 400, POST => '/v1/tokens', token => $admin, body => '[]');
call('token revoke', POST => '/v1/tokens/{id}/revoke', url => "/v1/tokens/$new_id/revoke", token => $admin);
call('token revoke 409', want => 409, POST => '/v1/tokens/{id}/revoke', url => "/v1/tokens/$new_id/revoke", token => $admin);
call('token revoke 404', want => 404, POST => '/v1/tokens/{id}/revoke', url => '/v1/tokens/999999/revoke', token => $admin);

# Reminders.
call('reminders', GET => '/v1/reminders', token => $admin);
call('reminders dry run', GET => '/v1/reminders?dry_run=1', token => $admin);
call('reminders run', POST => '/v1/reminders/run', token => $admin);

# Every documented operation was called, and answered 2xx at least once.
my %called_ok;
$called_ok{"$_->[1]{method} $_->[1]{path}"} ||= $_->[1]{status} =~ /^2/ for @replies;
for my $key (sort keys %doc_op) {
	ok $called_ok{$key}, "$key: called live with a 2xx reply";
}

my $verdicts = tool('replies', json_encode([ map { $_->[1] } @replies ]));
for my $i (0 .. $#replies) {
	my ($name, $r) = @{ $replies[$i] };
	ok $verdicts->[$i]{ok}, "$name: $r->{method} $r->{path} $r->{status} matches the document"
		or diag $verdicts->[$i]{why}, "\n", ref $r->{body} ? substr(json_encode($r->{body}), 0, 600) : substr($r->{body} // '', 0, 300);
}

# The bodies effortd took (and refused) against the documented request
# bodies: each JSON sample feed and request above matches; the refused ones
# do not.
my @bodies = (
	(map { [ "sample/$_.json", 1, POST => "/v1/$_", json_decode(slurp(sample_file($_, 'json'))) ] } @EffortTest::FEEDS),
	[ 'sample/amendments.json', 1, POST => '/v1/timesheets', json_decode(slurp(sample_file('amendments', 'json'))) ],
	[ 'a reason', 1, POST => '/v1/timesheets/{id}/reject', { reason => 'the grant hours are on the wrong grant' } ],
	[ 'timesheet ids', 1, POST => '/v1/approvals', { timesheet_ids => [ 41, 57 ] } ],
	[ 'a delegation', 1, POST => '/v1/me/delegations', { delegate_id => 'E0002', start_date => '2099-01-01', end_date => '2099-01-31' } ],
	[ 'a new token', 1, POST => '/v1/tokens', { role => 'reviewer', label => 'openapi.t' } ],
	[ 'a person with fte 2 and a colour', 0, POST => '/v1/people',
		[ { person_id => 'X1', name => 'X', fte => 2, employment_start => '2020-01-01', colour => 'red' } ] ],
	[ 'a timesheet entry of an unknown kind', 0, POST => '/v1/timesheets', [ { person_id => 'E1001', period_start => '2025-01-01',
		period_end => '2025-01-31', submitted_at => '2025-02-03T10:00:00Z', entries => [ { kind => 'Grant', activity => 'G', hours => 1 } ] } ] ],
	[ 'timesheet ids 0 and "x"', 0, POST => '/v1/approvals', { timesheet_ids => [ 0, 'x' ] } ],
	[ 'a token of role boss', 0, POST => '/v1/tokens', { role => 'boss' } ],
);
$verdicts = tool('requests', json_encode([ map { { method => $_->[2], path => $_->[3], body => $_->[4] } } @bodies ]));
for my $i (0 .. $#bodies) {
	my ($name, $good, $method, $path) = @{ $bodies[$i] };
	if ($good) {
		ok $verdicts->[$i]{ok}, "$name matches the documented request body of $method $path" or diag $verdicts->[$i]{why};
	} else {
		ok !$verdicts->[$i]{ok}, "$name does not match the documented request body of $method $path";
	}
}

# The schemas are closed in this check: a member the document does not
# name fails (so that the check can fail at all).
$verdicts = tool('replies', json_encode([
	{ method => 'GET', path => '/v1/audit/verify', status => 200, content_type => 'application/json',
		body => { ok => JSON::PP::true(), rows => 1, first_broken_id => undef, reason => undef, last_id => 1,
			last_hash => '0' x 64, extra => 1 } },
	{ method => 'GET', path => '/v1/audit/verify', status => 418, content_type => 'application/json', body => {} },
]));
ok !$verdicts->[0]{ok}, 'an undocumented member fails the check' or diag explain $verdicts;
ok !$verdicts->[1]{ok}, 'an undocumented status fails the check';

done_testing;
