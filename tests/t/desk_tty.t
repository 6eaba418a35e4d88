# The manager's desk at a terminal (issue 16): effortctl run on a pseudo-
# terminal (IO::Pty), answering its prompts as a person would.  The
# approval prompt shows the open findings and says when the approval will
# be late; "n" approves nothing; approve --clean lists and asks.  Then the
# manager's month end in docs/effortctl.md ("A manager's month end"): every
# command shown there is run against the sample and its output compared
# with the page, as of 1 December 2026 (the day the page was written).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed load_sample slurp sample_file json_encode);

my $top = "$FindBin::Bin/../..";

# Runs effortctl on a pty with the given token; answers each "[y/N] "
# prompt with the next of @$answers.  Returns (exit status, what the
# terminal showed, with the answers echoed, LF line ends).
sub on_tty {
	my ($d, $token, $answers, @args) = @_;
	return EffortTest::effortctl_tty($d, { token => $token, answers => $answers, dir => $top }, @args);
}

# The walkthrough is of 1 December 2026: effortd takes that as today
# (effort_today reads the database setting effort.today), so every day
# count and finding on the page holds on any day the test runs.
my $db = new_db();
psql($db, qq{ALTER DATABASE "$db->{name}" SET effort.today = '2026-12-01'});
my $d = start_effortd(db => $db);
# The sample as make demo loads it, then October 2026 as in the walkthrough.
load_sample($d, format => { people => 'csv', grants => 'json', assignments => 'csv', delegations => 'json',
	charges => 'csv', timesheets => 'json' });
my ($s, $j) = post_feed($d, timesheets => slurp(sample_file('amendments', 'csv')));
is $s, 200, 'setup: the sample and its amendment' or diag json_encode($j);
my $okafor = $d->token('manager', 'E0101');
my $ada_dec = psql($db, "SELECT max(timesheet_id) FROM timesheets WHERE person_id = 'E1001' AND period_start = '2025-12-01'");

# ---------------------------------------------------------------- the prompt
{
	my ($rc, $out) = on_tty($d, $okafor, ['n'], 'approve', $ada_dec);
	is $rc, 0, 'approve on a terminal, answered n: exit 0';
	like $out, qr/^Timesheet $ada_dec: E1001 Ada Byron, 2025-12-01 to 2025-12-31, 172\.50 h$/m, '… names the timesheet';
	like $out, qr/^  open finding: authorisation_overdue \(violation\) 172\.50 h: Timesheet 2025-12-01 to 2025-12-31/m,
		'… shows its open finding';
	like $out, qr/^  LATE: the deadline was 2026-02-28; this approval will be recorded 276 days late \(authorisation_late\)$/m,
		'… says the approval will be late';
	like $out, qr/^Approve timesheet $ada_dec\? \[y\/N\] n\nskipped timesheet $ada_dec$/m, '… asks; n skips it';
	is psql($db, "SELECT count(*) FROM timesheet_decisions WHERE timesheet_id = $ada_dec"), 0, '… nothing recorded';
}

{
	my ($rc, $out) = on_tty($d, $okafor, ['n'], 'approve', '--clean');
	is $rc, 0, 'approve --clean on a terminal, answered n: exit 0';
	like $out, qr/^1 clean timesheet to approve:\n.*\n\s+$ada_dec\s+E1001\s+Ada Byron\s.*\sLATE\s+authorisation_overdue 172\.50 h\n/m,
		'… lists the one clean timesheet, marked LATE';
	like $out, qr/^  1 approval marked LATE will be recorded after the deadline \(authorisation_late\)\.$/m, '… warns of the late approval';
	like $out, qr/^Approve this timesheet\? \[y\/N\] n\napproved nothing$/m, '… asks; n approves nothing';
	is psql($db, "SELECT count(*) FROM timesheet_decisions WHERE source = 'approval'"), 0, '… nothing recorded';
}

# ---------------------------------------------------------------- the month end in the docs

# Exactly what the page shows, but for trailing blanks.
sub normal {
	my ($t) = @_;
	$t =~ s/[ \t]+$//mg;
	return $t;
}
my $page = slurp("$top/docs/effortctl.md");
utf8::decode($page);
my ($walk) = $page =~ /^## A manager's month end\n(.*?)^## /ms;
ok $walk, "docs/effortctl.md has \"A manager's month end\"";
my @steps;
for my $block ($walk =~ /^```\n(.*?)^```$/msg) {
	# Each "$ effortctl ..." line and the output up to the next one.
	for my $step (split /^(?=\$ )/m, $block) {
		next unless $step =~ s/^\$ (.*)\n//;
		push @steps, [ $1, $step ];
	}
}
cmp_ok scalar @steps, '>=', 6, 'the walkthrough shows at least six commands';
my $feed = $d->token('feed');
for my $st (@steps) {
	my ($cmd, $want) = @$st;
	my $token = $okafor;
	$cmd =~ s/^EFFORTCTL_TOKEN=\$FEED_TOKEN // and $token = $feed;
	my @args;
	while ($cmd =~ /\G\s*(?:"([^"]*)"|(\S+))/gc) { push @args, defined $1 ? $1 : $2 }
	is shift(@args), 'effortctl', "walkthrough: $cmd";
	my @answers = $want =~ /\[y\/N\] (\S+)/g;
	my ($rc, $out) = on_tty($d, $token, \@answers, @args);
	is normal($out), normal($want), "… prints what the page shows" or diag $out;
}

# ---------------------------------------------------------------- plurals
# On 1 December 2026 Aziz's September (deadline 30 November) is one day
# overdue: the reminder to Nowak says "1 day", not "1 days".
{
	my ($st, $doc) = $d->req(GET => '/v1/reminders', token => $d->token('admin'));
	is $st, 200, 'GET /v1/reminders: 200';
	my @texts = map { @{ $_->{items} // [] } } grep { $_->{recipient_id} eq 'E0104' } @{ $doc->{messages} };
	my ($aziz) = grep { ($_->{text} // '') =~ /E1012/ } @texts;
	like $aziz->{text} // '', qr/deadline 2026-11-30 \(OVERDUE by 1 day\)$/, "Nowak's reminder: OVERDUE by 1 day"
		or diag json_encode($doc);
	for ([ '2026-11-29', 'is in 1 day' ], [ '2026-11-30', 'is today' ], [ '2026-11-28', 'is in 2 days' ]) {
		my ($as_of, $words) = @$_;
		($st, $doc) = $d->req(GET => '/v1/violations', token => $d->token('reviewer'),
			query => { as_of => $as_of, person_id => 'E1012', rule => 'authorisation_due' });
		like $doc->{violations}[0]{detail} // '', qr/deadline 2026-11-30 \Q$words\E$/, "authorisation_due as of $as_of: \"$words\"";
	}
}

done_testing;
