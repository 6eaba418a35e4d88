# Sign-in with an OpenID Connect provider: effortd takes the provider's
# access tokens beside its API tokens.  The provider is a real one
# (oidc-provider from npm under Node.js, tests/lib/OidcProvider.pm) on
# loopback over HTTPS; every token here is one it issued through its own
# endpoints (the device grant with the approval scripted, client
# credentials); the bad ones are real tokens with a part edited.
#
# Covered: a manager approving with a provider token (the audit trail
# records subject and person); RS256 and ES256; person mapping by
# employee_id and by email; roles (manager from line management and from a
# delegation, reviewer and admin from groups, nobody: 403); an unknown
# person and a leaver (403); an expired token, another audience, another
# issuer, a tampered signature, alg "none" and HS256 (401, exact
# messages); API tokens unchanged; a sign-in row is no bearer token.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use MIME::Base64 qw(encode_base64url decode_base64url);
use Test::More;
use JSON::PP ();
use Time::HiRes qw(sleep);
use EffortTest qw(new_db start_effortd psql post_feed json_encode json_decode month_ago);
use OidcProvider;

my $db = new_db();
my ($last_month, $last_month_end) = @{ month_ago($db, 1) }{qw(start end)};
my $long_ago = psql($db, q{SELECT (current_date - 40)::date});

my $p = OidcProvider->new(accounts => {
	alice => { employee_id => 'AM', email => 'ann.manager@example.ac.uk', groups => ['staff'] },
	dee   => { employee_id => 'DD', email => 'dee@example.ac.uk', groups => ['staff'] },
	rita  => { employee_id => 'RR', email => 'rita@example.ac.uk', groups => ['staff', 'effort-reviewers'] },
	adam  => { employee_id => 'AA', email => 'adam@example.ac.uk', groups => 'effort-admins' },
	leo   => { employee_id => 'LL', email => 'leo@example.ac.uk', groups => ['effort-reviewers'] },
	nora  => { employee_id => 'NN', email => 'nora@example.ac.uk', groups => ['staff'] },
	una   => { employee_id => 'X404', email => 'una@example.ac.uk', groups => ['effort-admins'] },
	noid  => { email => 'noid@example.ac.uk', groups => ['staff'] },
	# Claims an address the provider has not verified (dee's).
	mal   => { email => 'dee@example.ac.uk', email_verified => JSON::PP::false(), groups => ['staff'] },
	mas   => { email => 'dee@example.ac.uk', email_verified => 'false', groups => ['staff'] },
	vera  => { email => 'rita@example.ac.uk', email_verified => JSON::PP::true(), groups => ['staff', 'effort-reviewers'] },
});

my %oidc = ('oidc.issuer' => $p->issuer, 'oidc.audience' => 'effortd', 'oidc.ca_file' => $p->ca_file,
	'oidc.leeway' => 0, 'oidc.reviewer_groups' => 'effort-reviewers, auditors',
	'oidc.admin_groups' => 'effort-admins', 'oidc.refresh_interval' => 1, 'oidc.fetch_timeout' => 3);
my $d = start_effortd(db => $db, %oidc);

my $submitted = psql($db, q{SELECT to_char((now() - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
my ($s, $j) = post_feed($d, people => [
	{ person_id => 'AM', name => 'Ann Manager', email => 'Ann.Manager@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'S1', name => 'Sam One', line_manager_id => 'AM', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'DD', name => 'Dee Delegate', email => 'dee@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'RR', name => 'Rita Reviewer', email => 'rita@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'AA', name => 'Adam Admin', email => 'adam@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'LL', name => 'Leo Leaver', email => 'leo@example.ac.uk', fte => 1, employment_start => '2015-01-01',
	  employment_end => $long_ago },
	{ person_id => 'NN', name => 'Nora None', email => 'nora@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
]);
is $s, 200, 'setup: people' or diag json_encode($j);
($s, $j) = post_feed($d, delegations => [ { manager_id => 'AM', delegate_id => 'DD', start_date => $long_ago,
	end_date => scalar psql($db, q{SELECT (current_date + 10)::date}) } ]);
is $s, 200, 'setup: AM delegates to DD' or diag json_encode($j);
($s, $j) = post_feed($d, timesheets => [ { person_id => 'S1', period_start => $last_month, period_end => $last_month_end,
	submitted_at => $submitted, entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
is $s, 200, 'setup: a timesheet of S1 for last month' or diag json_encode($j);
my $ts = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'S1'});

my %tok;
$tok{$_} = $p->device_token($_)->{access_token} for qw(alice dee rita adam leo nora una noid mal mas vera);

# ---------------------------------------------------------------- a manager approves
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{alice});
is $s, 200, "GET /v1/pending with alice's provider token (ES256): 200" or diag json_encode($j);
is_deeply [ map { $_->{person_id} } @{ $j->{pending} } ], ['S1'], "… AM's queue: S1's timesheet (alice is AM through employee_id)";
($s, $j) = $d->req(POST => "/v1/timesheets/$ts/approve", token => $tok{alice});
is $s, 200, "alice approves S1's timesheet with her provider token: 200" or diag json_encode($j);
is psql($db, "SELECT decision || ' ' || decided_by FROM timesheet_decisions WHERE timesheet_id = $ts"),
	'authorised AM', '… stored as authorised by AM';
my $actor = json_decode(scalar psql($db, q{SELECT actor FROM audit_log WHERE entity = 'timesheet_decisions' ORDER BY id DESC LIMIT 1}));
is $actor->{oidc_subject}, 'alice', '… the audit trail records the OIDC subject';
is $actor->{oidc_issuer}, $p->issuer, '… and the issuer';
is $actor->{person_id}, 'AM', '… and the person';
is_deeply $actor->{roles}, ['manager'], '… and the roles of the sign-in';
is psql($db, q{SELECT count(*) FROM tokens WHERE oidc_subject = 'alice'}), 1, 'one identity row for alice';

# The sign-in row is no bearer token: effort_auth never finds it.
is scalar psql($db, q{SELECT count(*) FROM tokens t, effort_auth(encode(substr(t.token_hash, 2), 'hex')) WHERE t.oidc_subject = 'alice'}),
	0, 'the identity row cannot be presented as an API token';

# ---------------------------------------------------------------- RS256 too
my $rs = $p->device_token('alice', client => 'effortctl-rs')->{access_token};
like decode_base64url((split /\./, $rs)[0]), qr/"alg":"RS256"/, 'the effortctl-rs client gets RS256 tokens';
($s, $j) = $d->req(GET => '/v1/pending', token => $rs);
is $s, 200, 'an RS256 provider token: 200' or diag json_encode($j);

# ---------------------------------------------------------------- roles
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{dee});
is $s, 200, 'dee (no staff, holds a delegation from AM): manager, 200' or diag json_encode($j);
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $tok{rita});
is $s, 200, 'rita (group effort-reviewers): reviewer, GET /v1/audit/verify 200' or diag json_encode($j);
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{rita});
is $s, 403, 'rita is no manager: GET /v1/pending 403';
is $j->{error}, 'this needs a manager token', '… the usual role refusal';
($s, $j) = $d->req(GET => '/v1/tokens', token => $tok{adam});
is $s, 200, 'adam (groups "effort-admins" as a string): admin, GET /v1/tokens 200' or diag json_encode($j);
my ($row) = grep { ($_->{oidc_subject} // '') eq 'alice' } @{ $j->{tokens} };
is $row->{person_id}, 'AM', "… the token list shows alice's sign-in with her person";
($s, $j) = $d->req(GET => '/v1/tokens', token => $tok{rita});
is $s, 403, 'rita is no admin: 403';
($s, $j) = $d->req(GET => '/v1/me', token => $tok{rita});
is_deeply [ $s, $j->{roles}, $j->{person_id} ], [ 200, ['reviewer'], 'RR' ], 'GET /v1/me with rita\'s token: reviewer, person RR';
($s, $j) = $d->req(GET => '/v1/me', token => $d->token('admin'));
is_deeply [ $s, $j->{roles}, $j->{person_id} ], [ 200, ['admin'], undef ], 'GET /v1/me with an API admin token: admin, no person';
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{nora});
is $s, 403, 'nora: no staff, no delegation, no group: 403';
is $j->{error}, 'signed in as nora (person NN), who has no role here: not a line manager, no delegation in force, and not in a reviewer or admin group',
	'… saying why';

# ---------------------------------------------------------------- unknown person, leaver
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $tok{una});
is $s, 403, 'una: admin group, but employee_id X404 is nobody in the people feed: 403';
is $j->{error}, 'signed in as una, but unknown: no person in the people feed has person_id "X404" (the token\'s employee_id claim); ask the administrator to check the people feed',
	'… with a clear message';
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $tok{leo});
is $s, 403, 'leo: reviewer group, but employment ended 40 days ago: 403';
is $j->{error}, "signed in as leo (person LL), who left on $long_ago: access ended with the employment", '… the leaver message';
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{noid});
is $s, 403, 'a token without the person claim: 403';
is $j->{error}, 'signed in as noid, but the token has no "employee_id" claim to name the person (oidc.person_claim)', '… naming the claim';

# HR closes AM's employment: alice's next request (after the cache) is refused.
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{alice});
($s, $j) = post_feed($d, people => [ { person_id => 'AM', name => 'Ann Manager', email => 'Ann.Manager@example.ac.uk',
	fte => 1, employment_start => '2015-01-01', employment_end => scalar psql($db, q{SELECT (current_date - 1)::date}) } ]);
is $s, 200, 'HR ends AM\'s employment yesterday' or diag json_encode($j);
sleep 5.2; # auth.cache_seconds
($s, $j) = $d->req(GET => '/v1/pending', token => $tok{alice});
is $s, 403, "alice's still unexpired token: 403 once she has left";
like $j->{error}, qr/^signed in as alice \(person AM\), who left on /, '… the leaver message';

# ---------------------------------------------------------------- refused tokens (401)
my $other = $p->robot_token('urn:other')->{access_token};
($s, $j, my $res) = $d->req(GET => '/v1/pending', token => $other);
is $s, 401, 'a token for another audience: 401';
is $res->{headers}{'www-authenticate'}, 'Bearer error="invalid_token"', '… WWW-Authenticate: Bearer error="invalid_token"';
is $j->{error}, 'token refused: its audience "other-api" is not "effortd" (a token meant for another service)', '… naming it';

my ($h, $c, $sig) = split /\./, $tok{rita};
my $claims = json_decode(decode_base64url($c));
$claims->{groups} = ['effort-admins'];
my $tampered = join '.', $h, encode_base64url(json_encode($claims)), $sig;
($s, $j) = $d->req(GET => '/v1/tokens', token => $tampered);
is $s, 401, 'rita\'s token with her groups edited (signature no longer matches): 401';
like $j->{error}, qr/^invalid token: its signature does not verify with the provider's key "ec-[0-9a-f]+"$/, '… the signature message';
my $bits = decode_base64url($sig);
substr($bits, 5, 1) = chr(ord(substr($bits, 5, 1)) ^ 1);
($s, $j) = $d->req(GET => '/v1/pending', token => join '.', $h, $c, encode_base64url($bits));
is $s, 401, 'a token with one bit of its signature flipped: 401';

my $none = join '.', encode_base64url('{"alg":"none","typ":"JWT"}'), $c, '';
($s, $j) = $d->req(GET => '/v1/pending', token => $none);
is $s, 401, 'alg "none": 401';
is $j->{error}, 'token refused: alg "none" (an unsigned token) is never accepted', '… never accepted';
my $hs = join '.', encode_base64url('{"alg":"HS256","typ":"JWT"}'), $c, $sig;
($s, $j) = $d->req(GET => '/v1/pending', token => $hs);
is $s, 401, 'alg HS256 (HMAC with the public key as secret): 401';
like $j->{error}, qr/^token refused: alg "HS256" \(HMAC\) is never accepted/, '… never accepted';

my $short = $p->device_token('alice', client => 'effortctl-short')->{access_token};
sleep 3.2;
($s, $j) = $d->req(GET => '/v1/pending', token => $short);
is $s, 401, 'a token that expired (2 s life, oidc.leeway 0): 401';
like $j->{error}, qr/^token expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; sign in again \(effortctl login\)$/, '… saying when';

# Another issuer with the very same keys: signature fine, issuer not.
my $p2 = OidcProvider->new(accounts => { rita => { employee_id => 'RR', groups => ['effort-reviewers'] } }, keys_from => $p);
my $foreign = $p2->device_token('rita')->{access_token};
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $foreign);
is $s, 401, 'a token of another issuer (same keys): 401';
is $j->{error}, sprintf('token refused: issued by "%s", not by the configured issuer "%s"', $p2->issuer, $p->issuer),
	'… naming both issuers';
$p2->stop;

($s, $j) = $d->req(GET => '/v1/pending', token => 'not.a.jwt');
is $s, 401, 'garbage with two dots: 401';
($s, $j) = $d->req(GET => '/v1/pending', token => 'eff_' . ('0' x 64));
is $s, 401, 'an unknown API token: 401 as before';
is $j->{error}, 'unknown or revoked token', '… the API token message';

# ---------------------------------------------------------------- mapping by email
my $d2 = start_effortd(db => $db, %oidc, 'oidc.person_claim' => 'email', 'oidc.person_match' => 'email');
($s, $j) = $d2->req(GET => '/v1/pending', token => $tok{dee});
is $s, 200, 'oidc.person_match email: dee@example.ac.uk is DD, a delegate: 200' or diag json_encode($j);
($s, $j) = $d2->req(GET => '/v1/audit/verify', token => $tok{rita});
is $s, 200, '… rita by email: reviewer' or diag json_encode($j);
for my $who (qw(mal mas)) {
	($s, $j) = $d2->req(GET => '/v1/pending', token => $tok{$who});
	is $s, 403, "… $who claiming dee\@example.ac.uk unverified (email_verified false): 403";
	is $j->{error}, "signed in as $who, but the identity provider has not verified the email address dee\@example.ac.uk "
		. '(email_verified is false)', '… saying so';
}
is psql($db, q{SELECT count(*) FROM tokens WHERE oidc_subject IN ('mal', 'mas')}), 0, '… and no identity row for them';
($s, $j) = $d2->req(GET => '/v1/audit/verify', token => $tok{vera});
is $s, 200, '… vera, rita\'s address verified (email_verified true): 200' or diag json_encode($j);
$d2->stop;

# ---------------------------------------------------------------- revoked identity
my $rita_row = psql($db, q{SELECT token_id FROM tokens WHERE oidc_subject = 'rita'});
($s, $j) = $d->req(POST => "/v1/tokens/$rita_row/revoke", token => $tok{adam});
is $s, 200, "adam revokes rita's sign-in (POST /v1/tokens/$rita_row/revoke): 200" or diag json_encode($j);
sleep 5.2;
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $tok{rita});
is $s, 403, 'rita after the revocation: 403';
is $j->{error}, "signed in as rita (person RR), whose sign-in was revoked by an administrator (token $rita_row)", '… saying so';

# The last admin API token is kept though adam signed in as an admin: a
# sign-in's row keeps the role of its last sign-in, whoever has left the
# admin group or the organisation since, so it does not count.
my $api_admin = $d->token('admin');
my $api_admin_id = psql($db, q{SELECT token_id FROM tokens WHERE role = 'admin' AND oidc_subject IS NULL AND revoked_at IS NULL});
my $adam_row = psql($db, q{SELECT token_id FROM tokens WHERE oidc_subject = 'adam' AND role = 'admin'});
ok $api_admin_id && $adam_row, "setup: one admin API token ($api_admin_id) and adam's admin sign-in ($adam_row)";
($s, $j) = $d->req(POST => "/v1/tokens/$api_admin_id/revoke", token => $api_admin);
is $s, 409, 'revoking the one admin API token while an admin sign-in exists: 409';
like $j->{error}, qr/^token $api_admin_id is the last active admin token/, '… the last active admin token' or diag json_encode($j);
($s, $j) = $d->req(POST => "/v1/tokens/$adam_row/revoke", token => $api_admin);
is $s, 200, "revoking adam's admin sign-in is never refused for being the last admin: 200" or diag json_encode($j);

unlike $d->log_text, qr/\Q$tok{alice}\E|\Q$c\E/, 'no token is ever logged';

# ---------------------------------------------------------------- configuration
for my $case (
	[ qq{oidc = { issuer = "https://idp.example"; };\n}, qr/oidc\.audience must be set with oidc\.issuer/, 'an issuer without an audience' ],
	[ qq{oidc = { issuer = "http://idp.example"; audience = "effortd"; };\n}, qr/oidc\.issuer: must be empty or an https:\/\/ URL/, 'a plain http issuer' ],
	[ qq{oidc = { person_match = "name"; };\n}, qr/oidc\.person_match: must be person_id or email/, 'person_match other than person_id or email' ],
) {
	my ($text, $why, $name) = @$case;
	my $f = "$EffortTest::TMP/oidc-conf-$$.conf";
	EffortTest::spew($f, $text);
	my $out = `$EffortTest::EFFORTD -c $f --check-config 2>&1`;
	isnt $? >> 8, 0, "--check-config refuses $name";
	like $out, $why, '… saying why' or diag $out;
}

done_testing;
