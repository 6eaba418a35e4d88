# A token revoked through this instance stops at once (docs/api.md), even
# when a request with it was being authenticated while the revocation
# committed.  That lookup read the token as live, waited for the
# revocation's row lock (its last_used_at), and finished after the
# revocation had cleared the token cache: it put the token back in for
# auth.cache_seconds, and the revoked token kept working (a review found
# it).  A lookup that began before the cache was last cleared is no longer
# kept.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use POSIX ();
use EffortTest qw(new_db start_effortd psql_value post_bg collect_bg json_encode json_decode spew slurp wait_for);

my $db = new_db();
my $d = start_effortd(db => $db, 'auth.cache_seconds' => 300);
my $admin = $d->token('admin');
my ($s, $j) = $d->req(POST => '/v1/tokens', token => $admin, body => { role => 'reviewer', label => 'to be revoked' });
my ($id, $token) = ($j->{token}{id}, $j->{token}{token});
ok $id && $token, 'setup: a new reviewer token (never used: its first use writes last_used_at)' or diag json_encode($j);

# The revocation waits to commit behind the audit trail's chain lock (as
# behind any feed committing), holding the token's row.
my $holder = $db->hold('SELECT pg_advisory_xact_lock(7046372004)', 'chain_holder');
my $revoke = post_bg($d, undef, undef, path => "/v1/tokens/$id/revoke", token => $admin);
my $waiting = sub {
	my ($what) = @_;
	return wait_for(sub { psql_value($db, qq{SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%$what%'}) > 0 });
};
ok $waiting->('token_revoke'), 'the revocation waits for the chain lock';

# Meanwhile a request with the token: its lookup waits for the row.
my $out = "$EffortTest::TMP/in-flight-$$";
my $pid = fork // die "fork: $!";
if (!$pid) {
	my ($st) = $d->req(GET => '/v1/me', token => $token, timeout => 60);
	spew($out, $st);
	POSIX::_exit(0);
}
ok $waiting->('effort_auth'), 'a request with the token is being authenticated, waiting for its row';
$db->release_held($holder, 'chain_holder');
($s) = collect_bg($revoke);
is $s, 200, 'the revocation commits: 200';
waitpid $pid, 0;
is slurp($out), 200, '… the request that was in flight is answered (it began before the revocation was)';

($s) = $d->req(GET => '/v1/me', token => $token);
is $s, 401, 'the next request with the revoked token: 401, not served from the cache';
($s) = $d->req(GET => '/v1/me', token => $admin);
is $s, 200, 'other tokens still work';

done_testing;
