# effortctl login / whoami / logout against a real OpenID Connect provider
# on loopback (tests/lib/OidcProvider.pm) and a real effortd: the device
# grant (RFC 8628) with the user's approval scripted against the
# provider's own pages, the session file (mode 0600), a manager approving
# with the resulting token, the silent refresh of an expired access token,
# a refresh that fails, and logout revoking the refresh token.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Path qw(make_path);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed effortctl json_encode json_decode slurp spew month_ago);
use OidcProvider;

my $db = new_db();
my $p = OidcProvider->new(accounts => {
	alice => { employee_id => 'AM', groups => ['staff'] },
});
my $d = start_effortd(db => $db, 'oidc.issuer' => $p->issuer, 'oidc.audience' => 'effortd',
	'oidc.ca_file' => $p->ca_file, 'oidc.leeway' => 0, 'auth.cache_seconds' => 0);

my ($last_month, $last_month_end) = @{ month_ago($db, 1) }{qw(start end)};
my $submitted = psql($db, q{SELECT to_char((now() - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
my ($s, $j) = post_feed($d, people => [
	{ person_id => 'AM', name => 'Ann Manager', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'S1', name => 'Sam One', line_manager_id => 'AM', fte => 1, employment_start => '2015-01-01' } ]);
is $s, 200, 'setup: people' or diag json_encode($j);
($s, $j) = post_feed($d, timesheets => [ { person_id => 'S1', period_start => $last_month, period_end => $last_month_end,
	submitted_at => $submitted, entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
is $s, 200, 'setup: a timesheet of S1' or diag json_encode($j);
my $ts = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'S1'});

my $home = "$EffortTest::TMP/oidc-home-$$";
make_path($home);
my $session = "$home/.config/effortctl/session.json";
my %env = (HOME => $home, XDG_CONFIG_HOME => '');
# effortctl with the session's token (no --token, no $EFFORTCTL_TOKEN).
sub ctl { effortctl($d, { token => undef, env => \%env }, @_) }

# effortctl login in the background; the user approves at the provider.
sub login {
	my ($account, $client) = @_;
	my $out = "$EffortTest::TMP/login-$$-" . int(rand 1e9);
	my $pid = fork // die;
	if ($pid == 0) {
		%ENV = (%ENV, %env);
		delete $ENV{XDG_CONFIG_HOME};
		open STDOUT, '>', $out;
		open STDERR, '>', "$out.err";
		exec $EffortTest::EFFORTCTL, 'login', '--issuer', $p->issuer, '--client-id', $client,
			'--scope', 'openid offline_access effortd', '--ca-file', $p->ca_file or POSIX::_exit(127);
	}
	my ($code, $text);
	my $end = time + 20;
	until (defined $code || time > $end) {
		sleep 0.1;
		$text = -e $out ? slurp($out) : '';
		($code) = $text =~ /enter the code (\S+)/;
	}
	die "effortctl login printed no code: $text" . slurp("$out.err") unless defined $code;
	$p->approve($code, $account);
	$end = time + 30;
	sleep 0.1 until waitpid($pid, WNOHANG) == $pid || time > $end;
	my $rc = $? >> 8;
	return ($rc, slurp($out), slurp("$out.err"));
}

my ($rc, $out, $err) = login('alice', 'effortctl');
is $rc, 0, 'effortctl login: exit 0 once the user approved at the provider' or diag $err;
like $out, qr{^To sign in, open \Q${\ $p->issuer }\E/device\nand enter the code [A-Z]{4}-[A-Z]{4}\n}, '… it printed the verification URL and the code';
like $out, qr/^Signed in as alice; the access token expires at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ and is renewed automatically\.$/m,
	'… and whom it signed in';
ok -f $session, 'the session is kept in ~/.config/effortctl/session.json';
is sprintf('%o', (stat $session)[2] & 0777), '600', '… mode 0600';
is sprintf('%o', (stat "$home/.config/effortctl")[2] & 0777), '700', '… in a directory of mode 0700';
my $sess = json_decode(slurp($session));
ok $sess->{access_token} && $sess->{refresh_token}, '… with the access and the refresh token';
unlike $out . $err, qr/\Q$sess->{access_token}\E|\Q$sess->{refresh_token}\E/, 'no token was printed';

($rc, $out, $err) = ctl('whoami');
is $rc, 0, 'effortctl whoami: exit 0' or diag $err;
like $out, qr/^person\s+AM$/m, '… the person effortd mapped';
like $out, qr/^roles\s+manager$/m, '… the roles';
like $out, qr/^subject\s+alice$/m, '… the subject';
like $out, qr/^expires\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m, '… the expiry';

($rc, $out, $err) = ctl('pending');
is $rc, 0, 'effortctl pending with the signed-in session: exit 0' or diag $err;
like $out, qr/\bS1\b/, "… AM's queue shows S1's timesheet";
($rc, $out, $err) = ctl('approve', $ts);
is $rc, 0, "effortctl approve $ts as the signed-in manager: exit 0" or diag $err;
is psql($db, "SELECT decision || ' ' || decided_by FROM timesheet_decisions WHERE timesheet_id = $ts"), 'authorised AM',
	'… authorised by AM';
my $actor = json_decode(scalar psql($db, q{SELECT actor FROM audit_log WHERE entity = 'timesheet_decisions' ORDER BY id DESC LIMIT 1}));
is "$actor->{oidc_subject} $actor->{person_id}", 'alice AM', '… the audit trail records subject alice and person AM';

# ---------------------------------------------------------------- silent refresh
($rc, $out, $err) = login('alice', 'effortctl-short');
is $rc, 0, 'login with a client whose access tokens live 2 s: exit 0' or diag $err;
my $before = json_decode(slurp($session));
sleep 3;
($rc, $out, $err) = ctl('whoami');
is $rc, 0, 'whoami after the access token expired: exit 0 (renewed silently)' or diag $err;
is $err, '', '… without a word on stderr';
my $after = json_decode(slurp($session));
isnt $after->{access_token}, $before->{access_token}, '… the session holds a new access token';
cmp_ok $after->{expires_at}, '>', $before->{expires_at}, '… expiring later';
is sprintf('%o', (stat $session)[2] & 0777), '600', '… the file still mode 0600';

# A refresh the provider refuses: the user is told to sign in again.
$after->{refresh_token} = 'not-a-refresh-token';
$after->{expires_at} = time - 10;
spew($session, json_encode($after));
chmod 0600, $session;
($rc, $out, $err) = ctl('whoami');
is $rc, 3, 'whoami when the refresh is refused: exit 3 (effortd: no token)';
like $err, qr/your sign-in with \Q${\ $p->issuer }\E has expired and could not be renewed \(the provider refused the refresh: invalid_grant\); run effortctl login/,
	'… saying so' or diag $err;

# ---------------------------------------------------------------- logout
($rc, $out, $err) = login('alice', 'effortctl');
is $rc, 0, 'login again' or diag $err;
my $refresh = json_decode(slurp($session))->{refresh_token};
($rc, $out, $err) = ctl('logout');
is $rc, 0, 'effortctl logout: exit 0' or diag $err;
is $out, sprintf("Signed out of %s.\n", $p->issuer), '… says so';
ok !-e $session, '… the session file is gone';
my (undef, $body) = $p->curl('/token', form => { grant_type => 'refresh_token', refresh_token => $refresh, client_id => 'effortctl' });
like $body, qr/"error":"invalid_grant"/, '… and its refresh token was revoked at the provider';
($rc, $out, $err) = ctl('whoami');
is $rc, 3, 'whoami after logout: exit 3';
like $err, qr/missing bearer token/, '… no token';
($rc, $out, $err) = ctl('logout');
is "$rc $out", "0 Not signed in.\n", 'logout when not signed in: exit 0, "Not signed in."';

($rc, $out, $err) = effortctl($d, { token => undef, env => { %env, EFFORTCTL_OIDC_ISSUER => '' } }, 'login');
is $rc, 2, 'login without a provider: exit 2';
like $err, qr/the identity provider is not set: --issuer and --client-id/, '… saying what to give';

done_testing;
