# The identity provider's keys as effortd fetches them (daemon/auth-oidc-keys.c)
# from a real provider on loopback (tests/lib/OidcProvider.pm): key
# rotation at the provider (a token with the new kid is accepted after the
# refresh it prompts), the refresh's rate limit and SIGHUP's forced one;
# the provider down (OIDC requests 503 with a clear message, API tokens
# unaffected), hung (requests wait for oidc.fetch_timeout, other requests
# are answered meanwhile: the loop never blocks) and back; and TLS to the
# provider: an untrusted certificate and a host name it does not name are
# refused.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use MIME::Base64 qw(decode_base64url);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd post_feed json_encode json_decode slurp);
use OidcProvider;

my $db = new_db();
my $p = OidcProvider->new(accounts => {
	rita => { employee_id => 'RR', groups => ['effort-reviewers'] },
});
# Long enough for a provider restart on a loaded machine (make check runs
# two tests at once) to fall within one interval.
my $interval = 8;
my %oidc = ('oidc.issuer' => $p->issuer, 'oidc.audience' => 'effortd', 'oidc.ca_file' => $p->ca_file,
	'oidc.reviewer_groups' => 'effort-reviewers', 'oidc.refresh_interval' => $interval, 'oidc.fetch_timeout' => 3,
	'auth.cache_seconds' => 0);
my $d = start_effortd(db => $db, %oidc);
my $started = time;
my ($s, $j) = post_feed($d, people => [
	{ person_id => 'RR', name => 'Rita Reviewer', fte => 1, employment_start => '2015-01-01' } ]);
is $s, 200, 'setup: people' or diag json_encode($j);
my $admin = $d->token('admin');

sub kid { json_decode(decode_base64url((split /\./, $_[0])[0]))->{kid} }
sub verify_as { my ($t) = @_; return $d->req(GET => '/v1/audit/verify', token => $t, timeout => 20) }

my $t1 = $p->device_token('rita')->{access_token};
($s, $j) = verify_as($t1);
is $s, 200, 'a provider token: 200' or diag json_encode($j);
like $d->log_text, qr/OIDC: 2 signing key\(s\) from \Q${\ $p->issuer }\E\/jwks/, 'the keys came from the discovered jwks_uri';

# ---------------------------------------------------------------- rotation
$p->restart(rotate => 1);
my $t2 = $p->device_token('rita')->{access_token};
isnt kid($t2), kid($t1), 'after the rotation the provider signs with a new kid (' . kid($t2) . ')';
sleep 0.1 while time < $started + $interval + 0.2; # oidc.refresh_interval since the first fetch
($s, $j) = verify_as($t2);
is $s, 200, 'a token with the new kid: 200 (the unknown kid prompted a refresh)' or diag json_encode($j);
like $d->log_text, qr/OIDC: 4 signing key\(s\)/, '… the refreshed set: new and old keys';
my $refreshed = time;
($s, $j) = verify_as($t1);
is $s, 200, 'a token with the old kid, still published: 200';

# A second rotation at once: the refresh is rate limited.
$p->restart(rotate => 1);
my $t3 = $p->device_token('rita')->{access_token};
ok time < $refreshed + $interval, 'within oidc.refresh_interval of the last fetch' or diag 'too slow; the next test is void';
($s, $j) = verify_as($t3);
is $s, 401, 'a newer kid within oidc.refresh_interval of the last fetch: 401 (no fetch)';
is $j->{error}, sprintf('token refused: it is signed with key "%s", which is not among the identity provider\'s keys', kid($t3)),
	'… naming the key';
$d->signal('HUP');
my $end = time + 10;
do { sleep 0.2; ($s, $j) = verify_as($t3) } until $s == 200 || time > $end;
is $s, 200, 'after SIGHUP (keys fetched again at once): 200' or diag json_encode($j);

# ---------------------------------------------------------------- provider down
$p->stop;
($s, $j) = verify_as($t3);
is $s, 200, 'provider down, a token whose key is cached: still 200';
my $d2 = start_effortd(db => $db, %oidc);
($s, $j) = $d2->req(GET => '/v1/audit/verify', token => $t3, timeout => 20);
is $s, 503, 'provider down and no keys yet: 503';
like $j->{error}, qr/^sign-in with the identity provider is unavailable: the identity provider \Q${\ $p->issuer }\E could not be reached: .+; API tokens still work; retry in \d+ s$/,
	'… saying the provider cannot be reached and API tokens still work' or diag $j->{error};
($s, $j) = $d2->req(GET => '/v1/audit/verify', token => $d2->token('admin'));
is $s, 200, '… an API token: 200';

# ---------------------------------------------------------------- provider hung
$p->start;
$p->freeze;
my $d3 = start_effortd(db => $db, %oidc);
my $out = "$EffortTest::TMP/oidc-keys-hung-$$";
my $t0 = time;
my $kid = fork // die;
if ($kid == 0) {
	my ($cs, $cj) = $d3->req(GET => '/v1/audit/verify', token => $t3, timeout => 20);
	EffortTest::spew($out, json_encode({ status => $cs, body => $cj, took => time - $t0 }));
	POSIX::_exit(0);
}
sleep 0.5;
my @took;
for (1 .. 5) {
	my $a = time;
	($s) = $d3->req(GET => '/v1/audit/verify', token => $d3->token('admin'), timeout => 5);
	push @took, time - $a;
	is $s, 200, "while a sign-in waits for the hung provider, an API token request: 200 ($_)";
}
cmp_ok((sort { $b <=> $a } @took)[0], '<', 1.5, sprintf('… each answered at once (slowest %.2f s): the loop does not block', (sort { $b <=> $a } @took)[0]));
waitpid $kid, 0;
my $r = json_decode(slurp($out));
is $r->{status}, 503, 'the waiting sign-in: 503 once oidc.fetch_timeout has passed';
cmp_ok $r->{took}, '>=', 2, sprintf('… after waiting (%.1f s)', $r->{took});
like $r->{body}{error}, qr/^sign-in with the identity provider is unavailable: the identity provider \Q${\ $p->issuer }\E could not be reached: localhost did not answer within 3 s; API tokens still work; retry in \d+ s$/,
	'… saying the provider did not answer' or diag $r->{body}{error};
$p->thaw;
$end = time + 15;
do { sleep 0.3; ($s, $j) = $d3->req(GET => '/v1/audit/verify', token => $t3, timeout => 10) } until $s == 200 || time > $end;
is $s, 200, 'the provider answers again: after oidc.refresh_interval sign-in works (200)' or diag json_encode($j);

# ---------------------------------------------------------------- TLS to the provider
my $d4 = start_effortd(db => $db, %oidc, 'oidc.ca_file' => '');
($s, $j) = $d4->req(GET => '/v1/audit/verify', token => $t3, timeout => 20);
is $s, 503, 'the provider\'s certificate is not trusted by the system CA store: 503';
like $j->{error}, qr/could not be reached: TLS: the certificate of localhost was refused: (self-signed certificate in certificate chain|unable to get local issuer certificate)/,
	'… the certificate check says why' or diag $j->{error};

my $pip = OidcProvider->new(host => '127.0.0.2', accounts => {});
my $d5 = start_effortd(db => $db, %oidc, 'oidc.issuer' => $pip->issuer, 'oidc.ca_file' => $pip->ca_file);
($s, $j) = $d5->req(GET => '/v1/audit/verify', token => $t3, timeout => 20);
is $s, 503, 'a provider at an address its certificate does not name: 503';
like $j->{error}, qr/TLS: the certificate of 127\.0\.0\.2 was refused: IP address mismatch/, '… address mismatch' or diag $j->{error};

done_testing;
