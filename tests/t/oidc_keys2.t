# The provider's keys fetched again every oidc.keys_max_age seconds
# (daemon/auth-oidc-keys.c), with a real provider on loopback
# (tests/lib/OidcProvider.pm): after a rotation the provider publishes the
# old and new keys, then withdraws the old ones; a token signed with a
# withdrawn key is refused within a few seconds, though nothing else
# prompts a fetch (oidc.refresh_interval is an hour here: an unknown kid
# does not; only the periodic fetch can have fetched).  The provider
# down: each failed
# periodic fetch is logged once and the keys held are kept (no outage).
# SIGHUP applies a new oidc.keys_max_age to the timer.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use MIME::Base64 qw(decode_base64url);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd post_feed json_encode json_decode slurp spew wait_for);
use OidcProvider;

my $db = new_db();
my $p = OidcProvider->new(accounts => {
	rita => { employee_id => 'RR', groups => ['effort-reviewers'] },
});
my %oidc = ('oidc.issuer' => $p->issuer, 'oidc.audience' => 'effortd', 'oidc.ca_file' => $p->ca_file,
	'oidc.reviewer_groups' => 'effort-reviewers', 'oidc.refresh_interval' => 3600, 'oidc.fetch_timeout' => 3,
	'oidc.keys_max_age' => 2, 'auth.cache_seconds' => 0);
my $d = start_effortd(db => $db, %oidc);
# An instance that caches sign-ins for two minutes: a withdrawn key's
# token is refused as soon as the set without it is loaded, not served
# from the cache.
my $dc = start_effortd(db => $db, %oidc, 'auth.cache_seconds' => 120);
my ($s, $j) = post_feed($d, people => [
	{ person_id => 'RR', name => 'Rita Reviewer', fte => 1, employment_start => '2015-01-01' } ]);
is $s, 200, 'setup: people' or diag json_encode($j);

sub kid { json_decode(decode_base64url((split /\./, $_[0])[0]))->{kid} }
sub verify_as { my ($e, $t) = @_; return $e->req(GET => '/v1/audit/verify', token => $t, timeout => 20) }
# How many times the log says the keys were loaded: "OIDC: N signing key(s)".
sub loads { my ($e, $n) = @_; my @m = $e->log_text =~ /OIDC: \Q$n\E signing key\(s\) from /g; scalar @m }

# The provider publishes only the keys with these kids (its keys.json, read
# at its start).
sub publish_only {
	my %keep = map { $_ => 1 } @_;
	my $file = $p->dir . '/keys.json';
	spew($file, json_encode([ grep { $keep{ $_->{kid} } } @{ json_decode(slurp($file)) } ]));
	$p->restart;
}

my @a = $p->kids;
my $ta = $p->device_token('rita')->{access_token};
ok((grep { $_ eq kid($ta) } @a), 'a token signed with key A (' . kid($ta) . ')');
($s, $j) = verify_as($d, $ta);
is $s, 200, '… 200' or diag json_encode($j);
($s, $j) = verify_as($dc, $ta);
is $s, 200, '… 200 from the caching instance too (cached now)' or diag json_encode($j);

# ---------------------------------------------------------------- rotation: A and B published
$p->restart(rotate => 1);
my %old = map { $_ => 1 } @a;
my @b = grep { !$old{$_} } $p->kids;
is scalar @b, 2, 'the provider rotates: new keys B (' . join(', ', @b) . ') beside A';
ok wait_for(sub { loads($d, 4) > 0 }, 20), 'the periodic fetch loads A and B (no token asked for it)';
my $tb = $p->device_token('rita')->{access_token};
ok((grep { $_ eq kid($tb) } @b), 'a token signed with key B (' . kid($tb) . ')');
($s, $j) = verify_as($d, $tb);
is $s, 200, '… 200: B was fetched by the timer (an unknown kid would be refused within oidc.refresh_interval)'
	or diag json_encode($j);
($s, $j) = verify_as($d, $ta);
is $s, 200, 'the token signed with A, still published: 200';

# ---------------------------------------------------------------- A withdrawn
my $t0 = time;
publish_only(@b);
is_deeply [ sort $p->kids ], [ sort @b ], 'the provider withdraws A: it publishes only B';
ok wait_for(sub { ($s, $j) = verify_as($d, $ta); $s == 401 }, 20),
	sprintf('the token signed with A: 401 within oidc.keys_max_age and a fetch (%.1f s after the provider began its restart)', time - $t0)
	or diag "$s " . json_encode($j);
is $j->{error}, sprintf('token refused: it is signed with key "%s", which is not among the identity provider\'s keys', kid($ta)),
	'… naming the withdrawn key';
like $d->log_text, qr/OIDC: 4 signing key\(s\).*OIDC: 2 signing key\(s\) from /s, '… the set fetched last holds only B';
($s, $j) = verify_as($d, $tb);
is $s, 200, 'the token signed with B: 200' or diag json_encode($j);
ok wait_for(sub { $dc->log_text =~ /OIDC: 4 signing key\(s\).*OIDC: 2 signing key\(s\) from /s }, 20),
	'the caching instance has loaded the set without A';
($s, $j) = verify_as($dc, $ta);
is $s, 401, '… and refuses the token signed with A at once, though it was cached for 120 s' or diag json_encode($j);
($s, $j) = verify_as($dc, $tb);
is $s, 200, '… while B\'s is 200' or diag json_encode($j);
$dc->stop;

# ---------------------------------------------------------------- provider down
my $before = length $d->log_text;
my $stopped = time;
$p->stop;
my $failed = qr/OIDC: the provider's keys \(\Q${\ $p->issuer }\E\/\S+\) could not be fetched: [^\n]+; the 2 signing key\(s\) held are kept\n/;
ok wait_for(sub { substr($d->log_text, $before) =~ $failed }, 20), 'provider down: the periodic fetch fails, logged'
	or diag substr($d->log_text, $before);
($s, $j) = verify_as($d, $tb);
is $s, 200, '… a token signed with a key held: still 200 (the keys are kept)' or diag json_encode($j);
sleep 4.5;
($s, $j) = verify_as($d, $tb);
is $s, 200, '… and after more failed fetches: 200' or diag json_encode($j);
my $since = substr($d->log_text, $before);
my $n = () = $since =~ /$failed/g;
my $all = grep { /OIDC: .*could not be/ } split /\n/, $since;
my $most = int((time - $stopped) / 2) + 1;
cmp_ok $n, '<=', $most, "… each failed fetch logged once ($n in " . sprintf('%.1f', time - $stopped) . " s, at most $most)";
is $all, $n, '… and nothing else about them';

# ---------------------------------------------------------------- SIGHUP re-arms the timer
$p->start;
my $d2 = start_effortd(db => $db, %oidc, 'oidc.keys_max_age' => 3600);
($s, $j) = verify_as($d2, $tb);
is $s, 200, 'another instance, oidc.keys_max_age = 3600: a token signed with B: 200' or diag json_encode($j);
my $loaded = loads($d2, 2);
$d2->write_config($d2->options, 'oidc.keys_max_age' => 2);
$d2->signal('HUP');
ok wait_for(sub { loads($d2, 2) > $loaded }, 20), '… SIGHUP fetches at once';
$p->restart(rotate => 1);
ok wait_for(sub { loads($d2, 4) > 0 }, 20), '… then every 2 s (the new oidc.keys_max_age): the rotated set is loaded'
	or diag $d2->log_text;

done_testing;
