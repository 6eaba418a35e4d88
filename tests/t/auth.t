# Tokens and roles: 401 without or with an unknown token, 403 for the wrong
# role, managers see only their own staff (and a delegate's).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);

my $person = [ { person_id => 'Z1', name => 'Zed', fte => 1, employment_start => '2020-01-01' } ];
my $before = psql($db, 'SELECT count(*) FROM people');

# ---- 401
# (RFC 6750: every 401 carries a challenge; error="invalid_token" when a
# token was sent and refused.)
my ($s, $j, $res) = $d->req(POST => '/v1/people', body => $person);
is $s, 401, 'no token: 401';
ok ref $j eq 'HASH' && defined $j->{error}, 'no token: an error body';
is $res->{headers}{'www-authenticate'}, 'Bearer', '… WWW-Authenticate: Bearer';
($s, $j, $res) = $d->req(POST => '/v1/people', body => $person, token => 'eff_' . ('0' x 64));
is_deeply [ $s, $j->{error} ], [ 401, 'unknown or revoked token' ], 'unknown token: 401';
is $res->{headers}{'www-authenticate'}, 'Bearer error="invalid_token"', '… WWW-Authenticate: Bearer error="invalid_token"';
($s, undef, $res) = $d->req(POST => '/v1/people', body => $person, headers => { Authorization => 'Basic dXNlcjpwYXNz' });
is $s, 401, 'not a bearer token: 401';
is $res->{headers}{'www-authenticate'}, 'Bearer', '… WWW-Authenticate: Bearer';
($s) = $d->req(GET => '/v1/timesheets');
is $s, 401, 'GET /v1/timesheets without a token: 401';
($s) = $d->req(GET => '/v1/violations', token => 'nonsense');
is $s, 401, 'GET /v1/violations with an unknown token: 401';
is psql($db, 'SELECT count(*) FROM people'), $before, '401s stored nothing';

# ---- /healthz and /metrics need none
($s) = $d->req(GET => '/healthz');
is $s, 200, '/healthz without a token: 200';
($s) = $d->req(GET => '/metrics');
is $s, 200, '/metrics without a token: 200';

# ---- 403 for the wrong role
my $reviewer = $d->token('reviewer');
my $feed = $d->token('feed');
my $admin = $d->token('admin');
for my $f (qw(people grants assignments charges delegations timesheets)) {
	($s) = $d->req(POST => "/v1/$f", token => $reviewer, body => []);
	is $s, 403, "reviewer POSTing /v1/$f: 403";
}
($s) = $d->req(POST => '/v1/people', token => $reviewer, body => $person);
is psql($db, 'SELECT count(*) FROM people'), $before, 'the refused POST stored nothing';
($s) = $d->req(GET => '/v1/violations', token => $feed);
is $s, 403, 'feed token reading violations: 403';
($s) = $d->req(GET => '/v1/timesheets', token => $feed);
is $s, 403, 'feed token listing timesheets: 403';
($s) = $d->req(POST => '/v1/people', token => $admin, body => $person);
is $s, 200, 'admin may POST a feed';
($s) = $d->req(POST => '/v1/people', token => $feed, body => $person);
is $s, 200, 'feed may POST a feed';
($s) = $d->req(GET => '/v1/violations', token => $reviewer);
is $s, 200, 'reviewer may read violations';

# ---- managers: their own staff only
is((post_feed($d, people => [
	{ person_id => 'M1', name => 'Manager One', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'M2', name => 'Manager Two', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'S1', name => 'Staff of One', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-01' },
	{ person_id => 'S2', name => 'Another of One', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-01' },
	{ person_id => 'S3', name => 'Staff of Two', line_manager_id => 'M2', fte => 1, employment_start => '2020-01-01' },
]))[0], 200, 'setup: people');
my @ts = map { { person_id => $_, period_start => '2025-01-01', period_end => '2025-01-31',
	submitted_at => '2025-02-01T10:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 172.5 } ] } }
	qw(S1 S2 S3);
is((post_feed($d, timesheets => \@ts))[0], 200, 'setup: timesheets');

my $m1 = $d->token('manager', 'M1');
my $m2 = $d->token('manager', 'M2');
sub people_seen {
	my ($token, %q) = @_;
	my ($st, $jj) = $d->req(GET => '/v1/timesheets', token => $token, query => \%q);
	return [ $st, [ map { $_->{person_id} } @{ ref $jj eq 'HASH' ? $jj->{timesheets} // [] : [] } ] ];
}
is_deeply people_seen($m1), [ 200, [qw(S1 S2)] ], 'manager M1 sees S1 and S2 only';
is_deeply people_seen($m2), [ 200, [qw(S3)] ], 'manager M2 sees S3 only';
is_deeply people_seen($m1, person_id => 'S3'), [ 403, [] ], "M1 asking for M2's staff by person_id: 403 (API.md: someone else's staff)";
is_deeply people_seen($reviewer), [ 200, [qw(S1 S2 S3)] ], 'reviewer sees everyone';

my $s3 = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'S3'});
my $s1 = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'S1'});
($s) = $d->req(GET => "/v1/timesheets/$s3/versions", token => $m1);
is $s, 403, "M1 reading the versions of M2's staff: 403";
($s) = $d->req(GET => "/v1/timesheets/$s1/versions", token => $m1);
is $s, 200, 'M1 reading the versions of their own staff: 200';
($s) = $d->req(POST => "/v1/timesheets/$s3/approve", token => $m1);
is $s, 403, "M1 approving M2's staff: 403";
is psql($db, 'SELECT count(*) FROM timesheet_decisions'), 0, '… nothing recorded';
($s) = $d->req(POST => "/v1/timesheets/$s1/approve", token => $reviewer);
is $s, 403, 'a reviewer approving: 403';
($s) = $d->req(POST => '/v1/people', token => $m1, body => $person);
is $s, 403, 'a manager POSTing a feed: 403';

# A delegation lets M2 see M1's staff while it is active.
is((post_feed($d, delegations => [ { manager_id => 'M1', delegate_id => 'M2',
	start_date => '2000-01-01', end_date => '2099-12-31' } ]))[0], 200, 'M1 delegates to M2');
is_deeply people_seen($m2), [ 200, [qw(S1 S2 S3)] ], "the delegate M2 sees M1's staff too";
is_deeply people_seen($m1), [ 200, [qw(S1 S2)] ], 'M1 still sees only their own';

# Violations: a manager sees only their staff's.
{
	my ($st, $jj) = $d->req(GET => '/v1/violations', token => $m1, query => { as_of => '2025-06-01' });
	is $st, 200, 'manager reading violations: 200';
	my @others = grep { $_->{person_id} !~ /^S[12]$/ } @{ ref $jj eq 'HASH' ? $jj->{violations} // [] : [] };
	is scalar @others, 0, "… none about people M1 does not manage" or diag json_encode(\@others);
}

# Token creation: a manager token needs a person.
{
	my ($rc, $out) = EffortTest::_run($EffortTest::EFFORTD, '-c', $d->conf, '--create-token', 'manager');
	isnt $rc, 0, 'effortd --create-token manager without --person fails';
	($rc, $out) = EffortTest::_run($EffortTest::EFFORTD, '-c', $d->conf, '--create-token', 'wizard');
	isnt $rc, 0, 'effortd --create-token with an unknown role fails';
	is psql($db, q{SELECT count(*) FROM tokens WHERE role = 'manager' AND person_id IS NULL}), 0, 'no such token stored';
	is psql($db, q{SELECT count(*) FROM tokens}), 5, 'the five tokens made here are stored';
	is psql($db, q{SELECT count(*) FROM tokens WHERE length(token_hash) <> 32}), 0, 'tokens are stored hashed (SHA-256)';
}

done_testing;
