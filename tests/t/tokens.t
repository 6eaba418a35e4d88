# Tokens over the API and effortctl token (admin only): create prints the
# token once and it works; list shows role, person, label, created, last
# used and revoked, never a token or its hash; revoke stops it (401); the
# refusals with their status codes.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep);
use EffortTest qw(new_db start_effortd psql post_feed json_encode effortctl);

my $db = new_db();
my $d = start_effortd(db => $db);
my $admin = $d->token('admin');
is((post_feed($d, people => [ { person_id => 'T1', name => 'Tess', fte => 1, employment_start => '2020-01-01' } ]))[0], 200,
	'setup: a person');

my ($rc, $out, $err) = effortctl($d, 'token', 'create', 'manager', '--person', 'T1', '--label', 'Tess laptop');
is $rc, 0, 'effortctl token create manager --person T1: exit 0' or diag $err;
like $out, qr/\Aeff_[0-9a-f]{64}\n\z/, '… prints only the token';
chomp(my $tok = $out);
like $err, qr/created manager token (\d+); it is shown only once/, '… and says it is shown once (on stderr)';
my ($id) = $err =~ /token (\d+)/;
is psql($db, "SELECT encode(token_hash, 'hex') = encode(sha256(convert_to('$tok', 'UTF8')), 'hex') FROM tokens WHERE token_id = $id"), 't',
	'the database keeps its SHA-256';
my ($s, $j) = $d->req(GET => '/v1/timesheets', token => $tok);
is $s, 200, 'the new token works';

($rc, $out) = effortctl($d, 'token', 'list');
is $rc, 0, 'effortctl token list: exit 0';
like $out, qr/^ID\s+ROLE\s+PERSON\s+LABEL\s+CREATED\s+LAST_USED\s+REVOKED$/m, '… a table';
like $out, qr/^\s*$id\s+manager\s+T1\s+Tess laptop\s+\d{4}-\d\d-\d\dT\S+\s+\d{4}-\d\d-\d\dT\S+\s+-$/m, '… the new token: used, not revoked';
unlike $out, qr/eff_|[0-9a-f]{64}/, '… and no token or hash anywhere';
($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 200, 'GET /v1/tokens: 200';
my ($row) = grep { $_->{id} == $id } @{ $j->{tokens} };
is_deeply [ sort keys %$row ], [ sort qw(id role person_id label created_at last_used_at revoked_at) ], '… exactly these fields';
unlike json_encode($j), qr/\Q$tok\E|token_hash/, '… never the token or its hash';

# Refusals.
($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'manager' });
is $s, 422, 'a manager token without a person: 422';
($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'reviewer', person_id => 'T1' });
is $s, 422, 'a reviewer token with a person: 422';
($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'wizard' });
is $s, 422, 'an unknown role: 422';
like $j->{error}, qr/role must be feed, manager, reviewer or admin/, '… saying which';
($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'manager', person_id => 'NOBODY' });
is $s, 422, 'a manager token for an unknown person: 422';
($s) = $d->req(POST => '/v1/tokens', token => $admin, body => '[1');
is $s, 400, 'a body that is not a JSON object: 400';
for my $role (qw(feed manager reviewer)) {
	my $t = $role eq 'manager' ? $tok : $d->token($role);
	($s) = $d->req(GET => '/v1/tokens', token => $t);
	is $s, 403, "a $role token listing tokens: 403";
	($s) = $d->req(POST => '/v1/tokens', token => $t, body => { role => 'admin' });
	is $s, 403, "a $role token creating one: 403";
}
is psql($db, "SELECT count(*) FROM tokens WHERE role = 'admin'"), 1, 'no admin token was made by the refused requests';
($rc, $out, $err) = effortctl($d, { token => $d->token('reviewer') }, 'token', 'list');
is $rc, 3, 'effortctl token list with a reviewer token: exit 3';
($rc) = effortctl($d, 'token', 'frobnicate');
is $rc, 2, 'effortctl token with an unknown subcommand: exit 2';
($rc) = effortctl($d, 'token', 'create', 'feed', 'extra');
is $rc, 2, 'effortctl token create with an extra argument: exit 2';

# Revoke.
($rc, $out) = effortctl($d, 'token', 'revoke', $id);
is $rc, 0, 'effortctl token revoke: exit 0';
is $out, "revoked token $id\n", '… says so';
($s) = $d->req(GET => '/v1/timesheets', token => $tok);
is $s, 401, 'the revoked token: 401';
($rc, $out, $err) = effortctl($d, 'token', 'revoke', $id);
is $rc, 3, 'revoking it again: exit 3';
like $err, qr/token $id was revoked at/, '… (409) saying when';
($s) = $d->req(POST => '/v1/tokens/999999/revoke', token => $admin);
is $s, 404, 'revoking a token that does not exist: 404';
($s) = $d->req(POST => '/v1/tokens/abc/revoke', token => $admin);
is $s, 404, 'revoking a token id that is not a number: 404';
($rc, $out) = effortctl($d, 'token', 'list');
like $out, qr/^\s*$id\s+manager\s+T1\s+Tess laptop\s+\S+\s+\S+\s+\d{4}-\d\d-\d\dT\S+$/m, 'the list shows it revoked';

# The lookup cache (auth.cache_seconds): a token revoked behind effortd's
# back (in SQL, or through another instance) works until its entry expires;
# with the cache off it stops at once.
sub revoke_in_sql {
	my ($tok) = @_;
	psql($db, "UPDATE tokens SET revoked_at = now() WHERE token_hash = sha256(convert_to('$tok', 'UTF8'))");
}
my $cached = start_effortd(db => $db, 'auth.cache_seconds' => 2);
my $tok2 = $cached->token('reviewer');
is(($cached->req(GET => '/v1/timesheets', token => $tok2))[0], 200, 'cache 2 s: a reviewer token works');
revoke_in_sql($tok2);
is(($cached->req(GET => '/v1/timesheets', token => $tok2))[0], 200, '… revoked in SQL: still served from the cache');
sleep 2.2;
is(($cached->req(GET => '/v1/timesheets', token => $tok2))[0], 401, '… 401 once the entry is 2 s old');
is(($cached->req(GET => '/v1/timesheets', token => 'eff_' . '0' x 64))[0], 401, 'an unknown token: 401');

my $uncached = start_effortd(db => $db, 'auth.cache_seconds' => 0);
my $tok3 = $uncached->token('reviewer');
is(($uncached->req(GET => '/v1/timesheets', token => $tok3))[0], 200, 'cache off: a token works');
revoke_in_sql($tok3);
is(($uncached->req(GET => '/v1/timesheets', token => $tok3))[0], 401, '… revoked in SQL: 401 at once');

done_testing;
