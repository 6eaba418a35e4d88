# effortctl as a line manager and a funding-assurance reviewer use it,
# against the real effortd and PostgreSQL with the sample organisation
# loaded and 1 December 2026 as today (as in docs/effortctl.md, "A
# manager's month end"): exit statuses and messages of refusals, usage
# errors, a stopped or absent effortd and bad tokens; the approval prompt
# on a terminal for superseded and decided timesheets; reasons; the config
# file; argument handling; ingest from files and stdin; output widths.
# Each problem found has a case here (all mended now).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use POSIX ();
use Time::HiRes qw(time);
use EffortTest qw(new_db start_effortd psql post_feed load_sample slurp spew sample_file json_encode effortctl);

my $top = "$FindBin::Bin/../..";
my $effortctl = $EffortTest::EFFORTCTL;
my $tmp = $EffortTest::TMP;
my $home = "$tmp/home-effortctl2-$$";
mkdir $home;

# effortctl with a HOME of its own (no config file, no sign-in session).
sub ctl {
	my ($d, @args) = @_;
	my %o = ref $args[0] eq 'HASH' ? %{ shift @args } : ();
	$o{env} = { HOME => $home, XDG_CONFIG_HOME => '', %{ $o{env} // {} } };
	return effortctl($d, \%o, @args);
}

# effortctl on a pseudo-terminal, answering each "[y/N] " with the next of
# @$answers (raw text, a newline added); as in tests/t/desk_tty.t.
sub on_tty {
	my ($d, $token, $answers, @args) = @_;
	return EffortTest::effortctl_tty($d, { token => $token, answers => $answers, env => { HOME => $home } }, @args);
}

my $db = new_db();
psql($db, qq{ALTER DATABASE "$db->{name}" SET effort.today = '2026-12-01'});
my $d = start_effortd(db => $db);
load_sample($d);
my ($s, $j) = post_feed($d, timesheets => slurp(sample_file('amendments', 'csv')));
is $s, 200, 'setup: the sample and its amendment' or diag json_encode($j);
($s, $j) = post_feed($d, timesheets => slurp("$top/docs/examples/october-2026.json"), type => 'application/json');
is $s, 200, 'setup: October 2026 as in the walkthrough' or diag json_encode($j);

sub ts_id {
	my ($p, $start, $v) = @_;
	return scalar psql($db, "SELECT timesheet_id FROM timesheets WHERE person_id = '$p'
		AND period_start = '$start'" . ($v ? " AND version = $v" : ' ORDER BY version DESC LIMIT 1'));
}
sub decisions { scalar psql($db, "SELECT count(*) FROM timesheet_decisions WHERE timesheet_id = $_[0]") }

my $okafor = $d->token('manager', 'E0101');
my $reviewer = $d->token('reviewer');
my $feed = $d->token('feed');
my $ada_dec = ts_id('E1001', '2025-12-01');          # version 2, submitted, overdue
my $ada_dec_v1 = ts_id('E1001', '2025-12-01', 1);    # version 1, superseded
my $ada_sep = ts_id('E1001', '2026-09-01');          # authorised in time by E0101
my $ada_oct = ts_id('E1001', '2026-10-01');
my $ben_oct = ts_id('E1002', '2026-10-01');
my $chloe_oct = ts_id('E1003', '2026-10-01');
my $aziz_sep = ts_id('E1012', '2026-09-01');         # Nowak's report, not Okafor's

# ---------------------------------------------------------------- pending, at a pipe
{
	my ($rc, $out, $err) = ctl($d, { token => $okafor }, 'pending');
	is $rc, 0, 'pending: exit 0';
	is $err, '', '… nothing on stderr';
	my @rows = grep { /^\s*\d+\s/ } split /\n/, $out;
	is_deeply [ map { /^\s*(\d+)/ } @rows ], [ $ada_dec, $ada_oct, $ben_oct, $chloe_oct ], '… the four timesheets, soonest deadline first';

	($rc, $out, $err) = ctl($d, { token => $okafor }, '--format', 'csv', 'pending');
	is $rc, 0, 'pending as CSV: exit 0';
	like $out, qr/\Aid,person_id,name,period_start,period_end,total_hours,contracted_hours,deadline,days_left,mark,open_findings\r\n/,
		'… the header of the doc, CRLF';
	like $out, qr/^$ada_dec,E1001,Ada Byron,2025-12-01,2025-12-31,172\.5,172\.5,2026-02-28,-276,OVERDUE,authorisation_overdue 172\.50 h\r$/m,
		'… Ada\'s December, hours exactly';

	# options after the command, "--", unknown options, stray arguments
	($rc, $out) = ctl($d, { token => $okafor }, '--', 'pending');
	is $rc, 0, '"--" before the command: exit 0';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'pending', '--format', 'json');
	is $rc, 0, '--format after the command: exit 0';
	like $out, qr/\A\{\n  "as_of": "2026-12-01",\n/, '… JSON, two-space indent';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'pending', '--bogus');
	is_deeply [ $rc, $out ], [ 2, '' ], 'an unknown option: exit 2, nothing on stdout';
	like $err, qr/unrecognized option '--bogus'/, '… stderr names it';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'pending', 'extra');
	is $rc, 2, 'a stray argument: exit 2';
	like $err, qr/^effortctl: error: unexpected argument: extra$/m, '… named';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'pending', '--format');
	is $rc, 2, '--format without a value: exit 2';
	like $err, qr/option '--format' requires an argument/, '… said so';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'pending');
	is $rc, 3, 'pending with a reviewer token: exit 3';
	like $err, qr/^effortctl: error: pending: this needs a manager token \(HTTP 403 Forbidden\)$/m, '… the role it needs';

	for my $cmd (qw(ingest timesheets timesheet violations approve reject report pending delegate token audit reminders
	                login logout whoami)) {
		($rc, $out, $err) = ctl($d, { token => undef }, $cmd, '--help');
		ok $rc == 0 && $out =~ /^usage: effortctl $cmd(?: \S.*)?$/m && $out =~ /^Needs (?:an? |any |no ).*token/m
			&& $out =~ /^Exit status:/m && $err eq '',
			"$cmd --help: exit 0, usage, the token it needs and exit statuses on stdout" or diag "$rc\n$out$err";
	}
	($rc, $out, $err) = ctl($d, { token => undef }, 'whoami', '--help');
	unlike $out, qr/^  1 /m, 'whoami --help: no exit status 1 (it cannot return one)';
	($rc, $out, $err) = ctl($d, { token => undef }, '');
	is $rc, 2, 'an empty command: exit 2';
	unlike $err, qr/ambiguous/, '… not called ambiguous with every command' or diag $err;
}

# ---------------------------------------------------------------- approve, at a pipe
{
	my ($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', 999999);
	is $rc, 3, 'approve of an id that does not exist: exit 3';
	like $err, qr/^effortctl: error: timesheet 999999: no such timesheet \(HTTP 404 Not Found\)$/m, '… 404 said';
	for my $bad ('abc', '0', '-5', '1e3', '99999999999999999999999') {
		($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', '--', $bad);
		is $rc, 2, "approve $bad: exit 2";
		like $err, qr/^effortctl: error: invalid timesheet ID: \Q$bad\E$/m, '… named';
	}
	($rc, $out, $err) = ctl($d, { token => $okafor }, '--url', $d->url . '/effort', 'approve', $ada_oct);
	is $rc, 3, 'approve through a URL with a wrong path: exit 3 (404)';
	like $err, qr/^effortctl: error: effortd at \Q${\ $d->url}\E\/effort has no such API path: is the URL \(--url, \$EFFORTCTL_URL\) right\?$/m,
		'… saying the URL is the likely cause, not that the timesheet does not exist' or diag $err;
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', 999999);
	unlike $err, qr/API path/, '… which an unknown timesheet does not say';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', $ada_dec_v1);
	is $rc, 3, 'approve of a superseded version: exit 3';
	like $err, qr/timesheet $ada_dec_v1: version 1 is superseded by version 2 \(timesheet $ada_dec\) \(HTTP 409 Conflict\)/,
		'… saying which version supersedes it';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', $ada_sep);
	is $rc, 3, 'approve of an authorised one: exit 3';
	like $err, qr/timesheet $ada_sep: already authorised by E0101 \(HTTP 409 Conflict\)/, '… by whom';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'approve', '--clean', '--yes');
	is $rc, 3, 'approve --clean with a reviewer token: exit 3';
	like $err, qr/^effortctl: error: approve --clean: this needs a manager token \(HTTP 403 Forbidden\)$/m,
		'… named as the command given (not "pending")' or diag $err;
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $aziz_sep, '--reason', 'not mine');
	is $rc, 3, "reject of Aziz's (not his staff): exit 3";
	like $err, qr/timesheet $aziz_sep: .*not the line manager.* \(HTTP 403 Forbidden\)/, '… the 403 said';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ada_dec_v1, '--reason', 'old');
	is $rc, 3, 'reject of a superseded version: exit 3';
	like $err, qr/version 1 is superseded by version 2 \(timesheet $ada_dec\) \(HTTP 409 Conflict\)/, '… said';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'approve', $chloe_oct);
	is $rc, 3, 'approve with a reviewer token: exit 3';
	like $err, qr/this needs a manager token \(HTTP 403 Forbidden\)/, '… the role it needs';

	# several at once: one not his staff's, one fine; the refusal stops nothing
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', $aziz_sep, $chloe_oct, $chloe_oct);
	is $rc, 3, "approve of Aziz's (not his staff) and Chloé's (given twice): exit 3";
	unlike $err, qr/already authorised/, "… Chloé's approved once, not refused the second time" or diag $err;
	like $err, qr/^effortctl: error: timesheet $aziz_sep: .*not the line manager.* \(HTTP 403 Forbidden\)$/m, '… the 403 said';
	is $out, "approved timesheet $chloe_oct\n", "… Chloé's approved all the same";
	is decisions($aziz_sep), 0, "… nothing recorded on Aziz's";
	is decisions($chloe_oct), 1, "… one decision on Chloé's";
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', $chloe_oct);
	is $rc, 3, 'approving it again: exit 3';
	like $err, qr/already authorised by E0101 \(HTTP 409 Conflict\)/, '… already authorised';
}

# ---------------------------------------------------------------- approve, on a terminal
{
	my ($rc, $out) = on_tty($d, $okafor, ['y'], 'approve', $ada_dec_v1);
	is $rc, 3, 'approve of a superseded version on a terminal: exit 3';
	unlike $out, qr/\[y\/N\]/, '… without asking to approve what cannot be approved' or diag $out;
	like $out, qr/timesheet $ada_dec_v1: version 1 is superseded by version 2 \(timesheet $ada_dec\)/, '… saying which supersedes it'
		or diag $out;
	unlike $out, qr/LATE:/, '… and no "will be recorded late" for it' or diag $out;

	($rc, $out) = on_tty($d, $okafor, ['y'], 'approve', $ada_sep);
	is $rc, 3, 'approve of an authorised timesheet on a terminal: exit 3';
	unlike $out, qr/\[y\/N\]/, '… without asking' or diag $out;
	like $out, qr/timesheet $ada_sep: already authorised by E0101/, '… saying by whom' or diag $out;

	# One answer is one line: a long answer to the first prompt must not
	# answer the next one.
	($rc, $out) = on_tty($d, $okafor, [ ('n' x 63) . 'y', 'n' ], 'approve', $ada_oct, $ada_dec);
	is $rc, 0, 'approve of two, a long "nnn…y" answer and then "n": exit 0';
	like $out, qr/^skipped timesheet $ada_oct$/m, '… the first skipped';
	like $out, qr/^skipped timesheet $ada_dec$/m, '… the second skipped too (answered n)' or diag $out;
	is decisions($ada_dec), 0, "… nothing recorded on Ada's December" or diag $out;
}

# ---------------------------------------------------------------- the timesheet view
{
	my ($rc, $out) = ctl($d, { token => $okafor }, 'timesheet', $ada_sep);
	is $rc, 0, 'timesheet of an authorised September: exit 0';
	like $out, qr/^Contracted hours: 165\.00; authorisation deadline 2026-11-30 \(authorised\)$/m,
		'… authorised in October: not called OVERDUE' or diag $out;
	($rc, $out) = ctl($d, { token => $okafor }, 'timesheet', $ada_dec);
	like $out, qr/^Contracted hours: 172\.50; authorisation deadline 2026-02-28 \(OVERDUE by 276 days\)$/m,
		'… an unauthorised one still is';
	($rc, $out) = ctl($d, { token => $okafor }, 'timesheet', $aziz_sep);
	is $rc, 3, "timesheet of someone not his: exit 3";
	($rc, $out) = ctl($d, { token => $okafor }, 'timesheet', '--format', 'csv', $ada_sep);
	is $rc, 0, 'timesheet --format csv before the ID: exit 0';
	like $out, qr/\Atimesheet_id,person_id,period_start,period_end,version,version_id,submitted_at,total_hours,status,amendment_reason,record,kind,activity,hours,decision,decided_by,decided_at,reason,source\r\n/,
		'… the CSV header of the doc';
}

# ---------------------------------------------------------------- reject and reasons
{
	my ($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct);
	is $rc, 2, 'reject without --reason: exit 2';
	like $err, qr/--reason is required/, '… said';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct, '--reason', " \t ");
	is $rc, 2, 'a blank reason: exit 2';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct, '--reason', "\xff\xfe");
	is $rc, 2, 'a reason that is not UTF-8: exit 2';
	like $err, qr/--reason is not valid UTF-8/, '… said';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct, $ada_oct, '--reason', 'x');
	is $rc, 2, 'reject of two IDs: exit 2';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct, '--reason', "line 1\nline 2");
	is $rc, 3, 'a reason with a newline: refused, exit 3';
	like $err, qr/reason: contains the control character 0x0a/, '… the field and why';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct, '--reason', 'é' x 501);
	is $rc, 3, 'a reason of 1002 bytes: exit 3';
	like $err, qr/reason: longer than 1000 bytes/, '… the limit said';
	is decisions($ben_oct), 0, '… nothing recorded';
	my $reason = "October is 30 h short — Chloé's note: 日本語 ✓, \"quoted\", -5";
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', '--reason', $reason, $ben_oct);
	is $rc, 0, 'reject with a unicode reason, options before the ID: exit 0' or diag $err;
	is $out, "rejected timesheet $ben_oct\n", '… said on stdout';
	my $stored = psql($db, "SELECT reason FROM timesheet_decisions WHERE timesheet_id = $ben_oct");
	utf8::decode($stored);
	is $stored, $reason, '… stored exactly';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'reject', $ben_oct, '--reason', 'again');
	is $rc, 3, 'rejecting it again: exit 3';
	like $err, qr/\(HTTP 409 Conflict\)/, '… 409';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'timesheet', $ben_oct);
	like $out, qr/^Contracted hours: 165\.00; authorisation deadline 2026-12-31 \(rejected\)$/m, 'timesheet of the rejected one: "(rejected)"';
	like $out, qr/^    rejected  E0101  \S+  approval  \Q$reason\E$/m, '… with the reason, as given';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', $ben_oct);
	is $rc, 3, 'approving the rejected one: exit 3';
	like $err, qr/rejected by E0101; it waits for a new version \(HTTP 409 Conflict\)/, '… rejected, waiting for a new version';
}

# ---------------------------------------------------------------- arguments that are not UTF-8
{
	my ($rc, $out, $err) = ctl($d, { token => $okafor }, 'delegate', '--to', "\xff", '--from', '2026-12-01', '--until', '2026-12-31');
	is $rc, 2, 'delegate --to that is not UTF-8: a usage error (exit 2), not exit 1';
	like $err, qr/--to is not valid UTF-8/, '… naming the option' or diag $err;
	($rc, $out, $err) = ctl($d, 'token', 'create', 'manager', '--person', 'E0101', '--label', "caf\xe9");
	is $rc, 2, 'token create --label that is not UTF-8: exit 2';
	like $err, qr/--label is not valid UTF-8/, '… naming the option' or diag $err;
	is psql($db, "SELECT count(*) FROM tokens WHERE label LIKE 'caf%'"), 0, '… no token made';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'delegate', '--to', 'E0102', '--from', '2026-02-30', '--until', '2026-12-31');
	is $rc, 2, 'delegate --from 2026-02-30: exit 2';
}

# ---------------------------------------------------------------- tokens
{
	my ($rc, $out, $err) = ctl($d, { token => 'eff_nope' }, 'pending');
	is $rc, 3, 'an unknown token: exit 3';
	like $err, qr/unknown or revoked token \(HTTP 401 Unauthorized\)/, '… said';
	($rc, $out, $err) = ctl($d, { token => undef }, 'pending');
	is $rc, 3, 'no token: exit 3';
	like $err, qr/no token configured: use --token, \$EFFORTCTL_TOKEN or token in \Q$home\E\/\.config\/effortctl\/config/, '… where to put one';
	($rc, $out, $err) = ctl($d, { token => '', env => { EFFORTCTL_TOKEN => '' } }, '--token', $okafor, 'pending');
	is $rc, 0, 'an empty EFFORTCTL_TOKEN counts as unset; --token used';
	($rc, $out, $err) = ctl($d, { token => "$okafor\r\nX-Injected: 1" }, 'pending');
	is $rc, 2, 'a token with CR LF in it: a usage error (exit 2)';
	like $err, qr/^effortctl: error: invalid token: it contains a space or control character$/m, '… said' or diag $err;
	unlike $err, qr/missing bearer token/, '… not "missing bearer token"';
	unlike $err, qr/\Q$okafor\E/, '… and not printed';
	($rc, $out, $err) = ctl($d, { token => $okafor }, '--verbose', 'timesheet', $ada_dec);
	is $rc, 0, '--verbose: exit 0';
	like $err, qr/^effortctl: debug: GET \S+\/v1\/timesheets\/$ada_dec\/versions/m, '… the request on stderr';
	my ($secret) = $okafor =~ /^eff_(.{16})/;
	unlike "$out$err", qr/\Q$secret\E/, '… never the token';
}

# ---------------------------------------------------------------- the config file
{
	my $cfg = "$tmp/xdg-$$";
	mkdir $cfg;
	mkdir "$cfg/effortctl";
	my $file = "$cfg/effortctl/config";
	my %env = (XDG_CONFIG_HOME => $cfg);
	spew($file, qq{token = "$okafor";\n});
	chmod 0644, $file;
	my ($rc, $out, $err) = ctl($d, { token => undef, env => \%env }, 'pending');
	is $rc, 0, 'the token from the config file: exit 0';
	like $err, qr/^effortctl: warning: \Q$file\E holds a token but is readable by others; chmod 600 it$/m, '… a warning for mode 644';
	chmod 0600, $file;
	($rc, $out, $err) = ctl($d, { token => undef, env => \%env }, 'pending');
	is_deeply [ $rc, $err ], [ 0, '' ], '… none for 600';
	# A misspelt setting is named, not silently ignored.
	spew($file, qq{token = "$okafor";\ntimout = 30;\n});
	($rc, $out, $err) = ctl($d, { token => undef, env => \%env }, 'pending');
	is $rc, 0, 'an unknown setting in the config file: exit 0';
	is $err, "effortctl: warning: $file:2: unknown setting timout, ignored (effortctl reads url, token and timeout)\n",
		'… a warning naming file, line and setting';

	spew($file, qq{token = "$okafor";\ntimeout = 30\nurl = ;\n});
	($rc, $out, $err) = ctl($d, { token => undef, env => \%env }, 'pending');
	is $rc, 2, 'a config file that does not parse: exit 2';
	like $err, qr/^effortctl: error: \Q$file\E:3: /m, '… naming file and line';
	unlike $err, qr/\Q$okafor\E/, '… never the token';
	spew($file, qq{url = 8470;\n});
	($rc, $out, $err) = ctl($d, { env => \%env }, 'pending');
	is $rc, 2, 'url of the wrong type: exit 2';
	like $err, qr/^effortctl: error: \Q$file\E:1: url must be a string$/m, '… said';
	spew($file, qq{timeout = 0;\n});
	($rc, $out, $err) = ctl($d, { env => \%env }, 'pending');
	is $rc, 2, 'timeout = 0: exit 2';
	for my $t (2147483647, 5000000000, 86401) {
		spew($file, qq{timeout = $t;\n});
		($rc, $out, $err) = ctl($d, { token => $okafor, env => \%env }, 'pending');
		is $rc, 2, "timeout = $t: exit 2, as --timeout $t is";
		like $err, qr/^effortctl: error: \Q$file\E:1: timeout must be a whole number of seconds from 1 to 86400$/m, '… said' or diag $err;
	}
	unlink $file;
	mkdir $file;
	($rc, $out, $err) = ctl($d, { token => $okafor, env => \%env }, 'pending');
	is $rc, 2, 'a directory where the config file should be: exit 2';
	like $err, qr/^effortctl: error: \Q$file\E: Is a directory$/m, '… said so (not "Success")' or diag $err;
	rmdir $file;
	if ($> == 0 && -x '/usr/bin/setpriv') {
		spew($file, qq{token = "x";\n});
		chmod 0000, $file;
		chmod 0755, $tmp, $cfg, "$cfg/effortctl";
		my $outf = "$tmp/unreadable-$$.err";
		local $ENV{XDG_CONFIG_HOME} = $cfg;
		local $ENV{EFFORTCTL_URL} = $d->url;
		system "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups $effortctl pending 2>$outf";
		is $? >> 8, 2, 'an unreadable config file: exit 2';
		like slurp($outf), qr/^effortctl: error: \Q$file\E: Permission denied$/m, '… said';
		unlink $file, $outf;
	}
	($rc, $out, $err) = ctl($d, { token => $okafor, env => \%env }, 'pending');
	is $rc, 0, 'no config file at all is fine';
}

# ---------------------------------------------------------------- unavailable
{
	my $port = EffortTest::free_port();
	my ($rc, $out, $err) = ctl(undef, { token => 'x', env => { EFFORTCTL_URL => "http://127.0.0.1:$port" } }, 'pending');
	is $rc, 4, 'nothing listening: exit 4';
	like $err, qr/^effortctl: error: pending: cannot connect to effortd at http:\/\/127\.0\.0\.1:$port: connection refused \(is effortd running\?\)$/m,
		'… the URL and what to do';
	for my $t ('0', 'abc', '1.5', '86401') {
		($rc) = ctl($d, { token => $okafor }, '--timeout', $t, 'pending');
		is $rc, 2, "--timeout $t: exit 2";
	}

	# effortd stopped (SIGSTOP): a timeout is exit 4, in about the time asked.
	kill 'STOP', $d->{pid};
	my $t0 = time;
	($rc, $out, $err) = ctl($d, { token => $okafor }, '--timeout', '1', 'pending');
	my $took = time - $t0;
	kill 'CONT', $d->{pid};
	is $rc, 4, 'effortd not answering, --timeout 1: exit 4';
	like $err, qr/^effortctl: error: pending: no reply from effortd at \S+ within 1 s$/m, '… said';
	cmp_ok $took, '<', 4, '… within a few seconds';
	is $out, '', '… nothing on stdout';
}

# ---------------------------------------------------------------- a client that gives up mid-feed
# A POST that times out may still be carried out, so effortctl must say
# so.  And effortd must survive the client leaving while it reads the feed
# (it crashed: http_client_gone read the request request_cancel had
# answered; tests/t/feed_abandoned.t has the case without timing).
# A daemon of its own, so that its crash spares the rest of this file.
{
	my $d2 = start_effortd(db => $db);
	my $n = 99000;    # under limits.max_records, long names to be slow
	my $pad = 'x' x 180;
	my $many = "$tmp/many-$$.csv";
	spew($many, "person_id,name,line_manager_id,fte,employment_start\n"
		. join('', map { sprintf "T%07d,Timeout Person %d %s,,1,2020-01-01\n", $_, $_, $pad } 1 .. $n));
	# effortctl gives up (--timeout 1) while effortd, paused mid-read,
	# still has the feed in hand.
	my $res = "$many.res";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		my @r = ctl($d2, { token => $feed }, '--timeout', '1', 'ingest', 'people', $many);
		spew($res, join("\0", @r));
		POSIX::_exit(0);
	}
	select undef, undef, undef, 0.3;
	kill 'STOP', $d2->{pid};
	select undef, undef, undef, 1.5;
	kill 'CONT', $d2->{pid};
	waitpid $pid, 0;
	my ($rc, $out, $err) = split /\0/, slurp($res), -1;
	utf8::decode($err);
	unlink $res;
	unlink $many;
	SKIP: {
		skip "effortd answered within 1 s here (exit $rc)", 4 unless $rc == 4;
		like $err, qr/^effortctl: error: ingest people \S+: no reply from effortd at \S+ within 1 s; it may still have been carried out: check before sending it again$/m,
			'ingest that timed out (exit 4): the request may still have been carried out' or diag $err;
		is $out, '', '… nothing on stdout';
		my $alive = 1;
		for (1 .. 50) {
			last unless $alive = $d2->alive;
			select undef, undef, undef, 0.2;
		}
		ok $alive, '… and effortd is still running 10 s later' or diag $d2->log_text;
		is $d2->stop('TERM', 15), 0, '… and stops cleanly';
	}
	$d2->stop('TERM', 15) if $d2->alive;
}

# ---------------------------------------------------------------- ingest
{
	my $people = sample_file('people', 'csv');
	my ($rc, $out, $err) = ctl($d, { token => $feed, stdin => "\xef\xbb\xbf" . slurp($people) }, 'ingest', 'people', '-');
	is $rc, 0, 'ingest of CSV with a BOM from stdin: exit 0' or diag $err;
	like $out, qr/^accepted 20: created 0, updated 0, unchanged 20$/, '… the summary';
	($rc, $out, $err) = ctl($d, { token => $feed }, 'ingest', 'people', "$tmp/nonexistent-$$.csv");
	is $rc, 2, 'a file that does not exist: exit 2';
	like $err, qr/nonexistent-$$\.csv: No such file or directory/, '… said';
	($rc, $out, $err) = ctl($d, { token => $feed }, 'ingest', 'people', $tmp);
	is $rc, 2, 'a directory: exit 2';
	like $err, qr/Is a directory/, '… said';
	($rc, $out, $err) = ctl($d, { token => $feed }, 'ingest', 'wizards', $people);
	is $rc, 2, 'an unknown feed: exit 2';
	my $bad = json_encode([ map { { person_id => "J$_", name => "J $_", fte => ($_ == 2 ? 7 : 1), employment_start => '2020-01-01' } } 0 .. 3 ]);
	($rc, $out, $err) = ctl($d, { token => $feed, stdin => $bad }, 'ingest', 'people', '-');
	is $rc, 3, 'a bad JSON feed from stdin: exit 3';
	like $err, qr/^-: record 2: fte: /m, '… "-: record 2: fte: MESSAGE"';
	like $err, qr/^effortctl: error: nothing was stored$/m, '… nothing was stored';
	is $out, '', '… nothing on stdout';
	like $err, qr/\(HTTP 422 Unprocessable Entity\)/, '… "HTTP 422 Unprocessable Entity", as the doc shows' or diag $err;
}

# ---------------------------------------------------------------- violations
{
	my ($rc, $out, $err) = ctl($d, { token => $reviewer }, 'violations', '--rule', 'hours_incomplet');
	is $rc, 2, 'a misspelt --rule: exit 2';
	like $err, qr/invalid --rule: hours_incomplet \(the rules are timesheet_missing, /, '… listing the rules';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'violations', '--as-of', '2026-12-01', '--person', 'NOBODY');
	is_deeply [ $rc, $out ], [ 0, "No violations as of 2026-12-01.\n" ], 'none found: exit 0, said';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'violations', '--as-of', '2026-12-01', '--person', 'NOBODY', '--summary');
	is_deeply [ $rc, $out ], [ 0, "No violations as of 2026-12-01.\n" ], '--summary with none found: said as without --summary';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, '--format', 'csv', 'violations', '--as-of', '2026-12-01', '--person', 'NOBODY', '--summary');
	is_deeply [ $rc, $out ], [ 0, "rule,severity,count\r\n" ], '… as CSV: the header only';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'violations', '--as-of', '2026-12-01', '--person', 'E1002', '--summary');
	is $rc, 1, '--summary with some found: exit 1';
	like $out, qr/\ARULE +SEVERITY +COUNT\n.*\n\n\d+ found as of 2026-12-01\.\n\z/s, '… a table and the count';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'violations', '--person', "E\x01");
	is $rc, 3, 'a control character in --person: exit 3 (400)';
	my @lines = grep { /\S/ } split /\n/, $err;
	is scalar @lines, 1, '… said once' or diag $err;
}

# ---------------------------------------------------------------- table widths
{
	($s, $j) = post_feed($d, people => [
		{ person_id => 'W1', name => '山田太郎', line_manager_id => 'E0104', fte => 1, employment_start => '2015-01-01' },
		{ person_id => 'W2', name => "Zoe\x{301} Decomposed", line_manager_id => 'E0104', fte => 1, employment_start => '2015-01-01' } ]);
	is $s, 200, 'setup: a wide name and a decomposed one' or diag json_encode($j);
	($s, $j) = post_feed($d, timesheets => [ map { { person_id => $_, period_start => '2026-10-01', period_end => '2026-10-31',
		submitted_at => '2026-10-31T10:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 165 } ] } } qw(W1 W2) ]);
	is $s, 200, 'setup: their Octobers' or diag json_encode($j);
	my ($rc, $out) = ctl($d, { token => $d->token('manager', 'E0104') }, 'pending');
	is $rc, 0, "Nowak's queue: exit 0";
	my @rows = grep { /2026-\d\d-01  / } split /\n/, $out;
	is scalar @rows, 3, '… three rows';
	# The START column begins at the same display column on every row.
	my @at = map { my ($pre) = /^(.*?)2026-\d\d-01  /; display_width($pre) } @rows;
	is_deeply \@at, [ ($at[0]) x 3 ], '… START aligned under names of wide and combining characters' or diag $out;
}

# Display columns: East Asian wide characters 2, combining marks 0.
sub display_width {
	my ($t) = @_;
	my $w = 0;
	for my $ch (split //, $t) {
		$w += $ch =~ /\p{Mn}/ ? 0 : $ch =~ /\p{East_Asian_Width=Wide}|\p{East_Asian_Width=Fullwidth}/ ? 2 : 1;
	}
	return $w;
}

# ---------------------------------------------------------------- report
{
	my ($rc, $out, $err) = ctl($d, { token => $reviewer }, 'report', 'grant', 'NOPE/1', '-o', "$tmp/nope-$$.json");
	is $rc, 3, 'report of an unknown grant: exit 3';
	like $err, qr/no such grant: NOPE\/1 \(HTTP 404 Not Found\)/, '… said';
	ok !-e "$tmp/nope-$$.json", '… and no file written';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'report', 'compliance', '--from', '01/10/2025', '--to', '2026-09-30');
	is $rc, 2, 'report with a bad date: exit 2';
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'report', 'grant', 'EP/X012345/1');
	is $rc, 3, 'report with a manager token: exit 3';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'report', 'investigators', '--year', '20x5');
	is $rc, 2, 'report investigators --year 20x5: a usage error (exit 2)' or diag $err;
	like $err, qr/^effortctl: error: invalid --year: 20x5 \(YYYY\)$/m, '… said';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'report', 'investigators', '--year', '1899');
	is $rc, 2, 'report investigators --year 1899: a usage error (exit 2)' or diag $err;
	like $err, qr/^effortctl: error: invalid --year: 1899 \(YYYY, from 1900\)$/m, '… said';
	($rc, $out, $err) = ctl($d, { token => $reviewer }, 'report', 'investigators', '--year', '2025', '--format', 'csv');
	is $rc, 0, 'report investigators --year 2025 --format csv: exit 0' or diag $err;
}

# ---------------------------------------------------------------- no longer his report
# HR moves Ada Byron to Nowak: Okafor may still read her October (he
# managed her then) but no longer decide on it; Nowak may.
{
	my $nowak = $d->token('manager', 'E0104');
	my ($header, @rows) = split /\n/, slurp(sample_file('people', 'csv'));
	my ($ada) = grep { /^E1001,/ } @rows;
	$ada =~ s/,E0101,/,E0104,/ or die "E1001 not managed by E0101 in the sample";
	($s, $j) = post_feed($d, people => "$header\n$ada\n");
	is $s, 200, 'setup: Ada Byron now reports to Nowak' or diag json_encode($j);
	my ($rc, $out, $err) = ctl($d, { token => $okafor }, 'pending');
	unlike $out, qr/Ada Byron/, "Okafor's queue no longer has Ada's timesheets";
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'timesheet', $ada_oct);
	is $rc, 0, '… he may still read her October, when he managed her' or diag $err;
	($rc, $out, $err) = ctl($d, { token => $okafor }, 'approve', '--yes', $ada_oct);
	is $rc, 3, '… but not approve it: exit 3';
	like $err, qr/timesheet $ada_oct: you are not the line manager .* \(HTTP 403 Forbidden\)$/m, '… 403 said';
	($rc, $out, $err) = ctl($d, { token => $nowak }, 'approve', '--yes', $ada_oct);
	is_deeply [ $rc, $out ], [ 0, "approved timesheet $ada_oct\n" ], 'Nowak may: exit 0' or diag $err;
}

done_testing;
