# effortctl violations against a real effortd: exit status 1 when something
# is found and 0 when nothing is; --summary counts per rule and severity;
# --format csv (header, CRLF rows, parsed back and compared with the JSON
# API) and --format json; the --person, --grant, --severity and --rule
# filters alone and combined; tokens (manager scope, feed, none); bad values.
# The organisation (tests/data/effortctl_violations/) is ingested with
# effortctl ingest; its findings are computed by hand below.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql effortctl json_decode json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);
my $data = "$FindBin::Bin/../data/effortctl_violations";

for my $f (qw(people.json grants.csv assignments.csv timesheets.json charges.csv)) {
	(my $feed = $f) =~ s/\..*//;
	my ($rc, $out, $err) = effortctl($d, { token => $d->token('feed') }, 'ingest', $feed, "$data/$f");
	is $rc, 0, "setup: effortctl ingest $feed $f: exit 0" or diag "$out$err";
}

my $G1 = 'EP/T000001/1';
my $G2 = 'EP/T000002/1';
my $GX = 'EP/UNKNOWN/1';
my $V = 'violation';
my $W = 'warning';
my @JAN = ('2025-01-01', '2025-01-31');
# Everyone 1.0 FTE: January 2025 172.5 h, February 150 h, March 157.5 h.
my %F = (
	A1_inc  => [ 'hours_incomplete', $V, 'A1', '', @JAN, '22.50' ],                        # 150 of 172.5
	A1_miss => [ 'timesheet_missing', $V, 'A1', '', '2025-02-01', '2025-02-28', '150.00' ],  # deadline 30 Apr passed
	A2_late => [ 'authorisation_late', $V, 'A2', '', @JAN, '172.50' ],                      # 2 Apr > 31 Mar
	A3_inv  => [ 'authorisation_invalid', $V, 'A3', '', @JAN, '172.50' ],                   # self-authorised
	A4_una  => [ 'unassigned_grant_hours', $V, 'A4', $GX, @JAN, '12.00' ],
	A5_act  => [ 'activity_missing', $V, 'A5', $G2, @JAN, '100.00' ],
	A5_over => [ 'overcharged_month', $V, 'A5', '', @JAN, '13.75' ],                        # 86.25 + 100 − 172.5
	A5_unev => [ 'unevidenced_charge', $V, 'A5', $G1, @JAN, '36.25' ],                      # 86.25 − 50
	A6_miss => [ 'timesheet_missing', $W, 'A6', '', '2025-03-01', '2025-03-31', '157.50' ],  # deadline 31 May not passed
	B1_inc  => [ 'hours_incomplete', $V, 'B1', '', @JAN, '12.50' ],                        # 160 of 172.5
);
my @ALL = @F{qw(A1_inc A1_miss A2_late A3_inv A4_una A5_act A5_over A5_unev A6_miss B1_inc)};
my $AS_OF = '2025-05-15';

# ---------------------------------------------------------------- CSV
# RFC 4180: quoted fields with doubled quotes, embedded separators.
sub parse_csv {
	my ($text) = @_;
	my (@rows, @row, $field);
	my $i = 0;
	my $n = length $text;
	$field = '';
	my $quoted = 0;
	while ($i < $n) {
		my $c = substr $text, $i, 1;
		if ($quoted) {
			if ($c eq '"') {
				if (substr($text, $i + 1, 1) eq '"') { $field .= '"'; $i += 2; next }
				$quoted = 0; $i++; next;
			}
			$field .= $c; $i++; next;
		}
		if ($c eq '"') { $quoted = 1; $i++; next }
		if ($c eq ',') { push @row, $field; $field = ''; $i++; next }
		if ($c eq "\r" && substr($text, $i + 1, 1) eq "\n") { $i++; next }
		if ($c eq "\n") { push @row, $field; push @rows, [@row]; @row = (); $field = ''; $i++; next }
		$field .= $c; $i++;
	}
	if (length $field || @row) { push @row, $field; push @rows, [@row] }
	return \@rows;
}
sub h { sprintf '%.2f', $_[0] }

# effortctl violations --format csv ARGS: (exit, header, [ [rule, severity,
# person, grant, start, end, hours(2 dp)] ], raw rows, stdout, stderr).
sub ctl_csv {
	my ($opt, @args) = ref $_[0] eq 'HASH' ? @_ : ({}, @_);
	my ($rc, $out, $err) = effortctl($d, $opt, 'violations', '--format', 'csv', @args);
	my $rows = parse_csv($out);
	my $hdr = shift @$rows // [];
	my %ix = map { $hdr->[$_] => $_ } 0 .. $#$hdr;
	my @t = map { my $r = $_; [ (map { $r->[ $ix{$_} // 99 ] // '' } qw(rule severity person_id grant_ref period_start period_end)),
		h($r->[ $ix{hours} // 99 ] // 0) ] } @$rows;
	return ($rc, $hdr, \@t, $rows, $out, $err);
}
sub csv_is {
	my ($args, $want_rc, $want, $name) = @_;
	my ($rc, $hdr, $t, undef, $out, $err) = ctl_csv(@$args);
	is $rc, $want_rc, "effortctl violations --format csv @$args: exit $want_rc" or diag "$out$err";
	is_deeply $t, $want, $name or diag $out;
}

# ---------------------------------------------------------------- exit status
{
	my ($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF);
	is $rc, 1, "violations --as-of $AS_OF with findings: exit 1" or diag "$out$err";
	like $out, qr/^10 found as of \Q$AS_OF\E\.$/m, 'the table ends with "10 found as of DATE."' or diag $out;
	like $out, qr/^RULE\s+SEVERITY\s+PERSON\s+GRANT\s+START\s+END\s+HOURS\s+DETAIL\s*$/m, 'the table header' or diag $out;
	like $out, qr/^hours_incomplete\s+violation\s+A1\s+-\s+2025-01-01\s+2025-01-31\s+22\.50\s+January 2025: 150\.00 h recorded of 172\.50 h contracted\s*$/m,
		'a table row: null grant as "-", hours with two decimals, the detail' or diag $out;

	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--rule', 'teaching_excess');
	is $rc, 0, '--rule teaching_excess (nobody teaches): exit 0' or diag "$out$err";
	like $out, qr/^No violations as of \Q$AS_OF\E\.$/m, '… "No violations as of DATE."' or diag $out;

	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', '2025-01-15');
	is $rc, 1, 'as of 2025-01-15: the authorisation findings exist already (data not rewound): exit 1' or diag "$out$err";
	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', '2025-01-15', '--person', 'A1');
	is $rc, 0, 'as of 2025-01-15 for A1 (no month ended): nothing, exit 0' or diag "$out$err";

	($rc, $out, $err) = effortctl($d, 'viol', '--as-of', $AS_OF, '--person', 'B1');
	is $rc, 1, 'a unique prefix "viol" works: exit 1' or diag "$out$err";
}

# ---------------------------------------------------------------- --format csv
{
	my ($rc, $hdr, $t, $rows, $out, $err) = ctl_csv('--as-of', $AS_OF);
	is $rc, 1, "--format csv --as-of $AS_OF: exit 1" or diag "$out$err";
	is_deeply $hdr, [qw(rule severity person_id grant_ref period_start period_end hours detail)], 'CSV header: the documented columns';
	is_deeply $t, \@ALL, 'CSV rows: every finding computed by hand, in API order';
	my @lines = split /(?<=\n)/, $out;
	is scalar(grep { !/\r\n\z/ } @lines), 0, 'every CSV record ends in CRLF';
	is scalar(@lines), 11, 'header + 10 records';

	my ($s, $j) = $d->req(GET => '/v1/violations', token => $d->token('reviewer'), query => { as_of => $AS_OF });
	is $s, 200, 'the JSON API for comparison: 200';
	my @api = @{ $j->{violations} // [] };
	is scalar @$rows, scalar @api, 'CSV has as many rows as the JSON answer';
	is_deeply [ map { [ @$_[ 0 .. 5 ], 0 + $_->[6], $_->[7] ] } @$rows ],
		[ map { [ @$_{qw(rule severity person_id)}, $_->{grant_ref} // '', @$_{qw(period_start period_end)}, 0 + $_->{hours}, $_->{detail} ] } @api ],
		'CSV rows equal the JSON answer field by field (hours compared as numbers, null grant as an empty field)';
	my %raw = map { ("$_->[0]|$_->[2]|$_->[4]" => $_->[6]) } @$rows;
	is $raw{'hours_incomplete|A1|2025-01-01'}, '22.5', 'CSV hours are written exactly (22.5, not 22.50)';
	is $raw{'activity_missing|A5|2025-01-01'}, '100', 'CSV hours are written exactly (100)';

	($rc, $hdr, $t, $rows, $out, $err) = ctl_csv('--as-of', $AS_OF, '--rule', 'teaching_excess');
	is $rc, 0, 'CSV with nothing found: exit 0';
	is $out, "rule,severity,person_id,grant_ref,period_start,period_end,hours,detail\r\n", 'CSV with nothing found: the header only';
}

# ---------------------------------------------------------------- --format json
{
	my ($rc, $out, $err) = effortctl($d, 'violations', '--format', 'json', '--as-of', $AS_OF);
	is $rc, 1, '--format json: exit 1' or diag "$out$err";
	my $cj = eval { json_decode($out) };
	ok $cj, '--format json prints JSON' or diag "$@$out";
	my ($s, $j) = $d->req(GET => '/v1/violations', token => $d->token('reviewer'), query => { as_of => $AS_OF });
	is_deeply $cj, $j, "--format json is the server's answer";
	like $out, qr/^  "as_of": "\Q$AS_OF\E"/m, 'pretty-printed with a two-space indent' or diag $out;
	($rc, $out) = effortctl($d, '--format', 'json', 'violations', '--as-of', $AS_OF, '--rule', 'teaching_excess');
	is $rc, 0, '--format json (before the command) with nothing found: exit 0';
	is_deeply eval { json_decode($out) }, { as_of => $AS_OF, violations => [] }, '… an empty violations list';
}

# ---------------------------------------------------------------- --summary
my @SUMMARY = (
	[ 'activity_missing', $V, 1 ], [ 'authorisation_invalid', $V, 1 ], [ 'authorisation_late', $V, 1 ],
	[ 'hours_incomplete', $V, 2 ], [ 'overcharged_month', $V, 1 ], [ 'timesheet_missing', $V, 1 ],
	[ 'timesheet_missing', $W, 1 ], [ 'unassigned_grant_hours', $V, 1 ], [ 'unevidenced_charge', $V, 1 ],
);
{
	my ($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--summary');
	is $rc, 1, '--summary: exit 1' or diag "$out$err";
	like $out, qr/^RULE\s+SEVERITY\s+COUNT\s*$/m, '--summary table header' or diag $out;
	my @got = map { [ @$_[ 0, 1 ], 0 + $_->[2] ] } grep { ref } map { /^(\w+)\s+(violation|warning)\s+(\d+)\s*$/ ? [ $1, $2, $3 ] : () } split /\n/, $out;
	is_deeply \@got, \@SUMMARY, '--summary: exact counts per rule and severity, sorted by rule then severity' or diag $out;
	like $out, qr/^10 found as of \Q$AS_OF\E\.$/m, '--summary: the total' or diag $out;

	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--summary', '--format', 'csv');
	is $rc, 1, '--summary --format csv: exit 1';
	my $rows = parse_csv($out);
	is_deeply shift(@$rows), [qw(rule severity count)], '--summary CSV header';
	is_deeply [ map { [ @$_[ 0, 1 ], 0 + $_->[2] ] } @$rows ], \@SUMMARY, '--summary CSV rows';

	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--summary', '--format', 'json');
	is $rc, 1, '--summary --format json: exit 1';
	my $j = eval { json_decode($out) } // {};
	is $j->{as_of}, $AS_OF, '--summary JSON: as_of';
	is_deeply [ map { [ @$_{qw(rule severity)}, 0 + $_->{count} ] } @{ $j->{summary} // [] } ], \@SUMMARY,
		'--summary JSON: {rule, severity, count} per pair' or diag $out;

	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', '2025-06-01', '--summary', '--format', 'json');
	$j = eval { json_decode($out) } // {};
	is_deeply [ map { [ @$_{qw(rule severity)}, 0 + $_->{count} ] } @{ $j->{summary} // [] } ],
		[ (grep { $_->[0] ne 'timesheet_missing' } @SUMMARY[0 .. 4]), [ 'timesheet_missing', $V, 2 ], @SUMMARY[7, 8] ],
		'--summary as of 2025-06-01: March missing has become a violation (2 violations, no warning)' or diag $out;

	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--summary', '--person', 'A5', '--format', 'csv');
	$rows = parse_csv($out);
	shift @$rows;
	is_deeply [ map { [ @$_[ 0, 1 ], 0 + $_->[2] ] } @$rows ],
		[ [ 'activity_missing', $V, 1 ], [ 'overcharged_month', $V, 1 ], [ 'unevidenced_charge', $V, 1 ] ],
		'--summary --person A5: only A5 counted';
	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--summary', '--rule', 'teaching_excess');
	is $rc, 0, '--summary with nothing found: exit 0';
}

# ---------------------------------------------------------------- filters
csv_is([ '--as-of', $AS_OF, '--person', 'A5' ], 1, [ @F{qw(A5_act A5_over A5_unev)} ], '--person A5');
csv_is([ '--as-of', $AS_OF, '--person', 'NOBODY' ], 0, [], '--person of nobody: nothing');
csv_is([ '--as-of', $AS_OF, '--grant', $G1 ], 1, [ $F{A5_unev} ], "--grant $G1");
csv_is([ '--as-of', $AS_OF, '--grant', $GX ], 1, [ $F{A4_una} ], "--grant $GX (unknown grant)");
csv_is([ '--as-of', $AS_OF, '--severity', 'warning' ], 1, [ $F{A6_miss} ], '--severity warning');
csv_is([ '--as-of', $AS_OF, '--severity', 'violation' ], 1, [ grep { $_->[1] eq $V } @ALL ], '--severity violation');
csv_is([ '--as-of', $AS_OF, '--rule', 'hours_incomplete' ], 1, [ @F{qw(A1_inc B1_inc)} ], '--rule hours_incomplete');
csv_is([ '--as-of', $AS_OF, '--rule', 'timesheet_missing', '--severity', 'violation' ], 1, [ $F{A1_miss} ],
	'--rule timesheet_missing --severity violation');
csv_is([ '--as-of', $AS_OF, '--rule', 'timesheet_missing', '--person', 'A6' ], 1, [ $F{A6_miss} ], '--rule + --person');
csv_is([ '--as-of', $AS_OF, '--person', 'A5', '--grant', $G2, '--rule', 'activity_missing', '--severity', 'violation' ], 1,
	[ $F{A5_act} ], 'all four filters');
csv_is([ '--as-of', $AS_OF, '--person', 'A5', '--grant', $G2, '--severity', 'warning' ], 0, [], 'filters matching nothing: exit 0');
csv_is([ '--as-of', $AS_OF, '--person', 'A6', '--grant', $G2 ], 0, [],
	'--grant on a finding without grant (A6 timesheet_missing): nothing');

# ---------------------------------------------------------------- tokens
csv_is([ { token => $d->token('manager', 'M2') }, '--as-of', $AS_OF ], 1, [ $F{B1_inc} ],
	'a manager token (M2): only their staff');
{
	my ($rc, undef, undef, undef, $out, $err) = ctl_csv({ token => $d->token('manager', 'M1') },
		'--as-of', $AS_OF, '--person', 'B1');
	is $rc, 3, "manager M1 asking for M2's staff: exit 3 (HTTP 403)";
	like $err, qr/403|not someone you manage/, '… and says why' or diag "$out$err";
}
csv_is([ { token => $d->token('manager', 'M1') }, '--as-of', $AS_OF ], 1, [ grep { $_->[2] =~ /^A/ } @ALL ],
	'manager M1: A1–A6 only');
{
	my ($rc, $out, $err) = effortctl($d, { token => $d->token('feed') }, 'violations', '--as-of', $AS_OF);
	is $rc, 3, 'a feed token: exit 3 (HTTP 403)' or diag "$out$err";
	like $err, qr/^effortctl: error: .*403/m, '… the error names HTTP 403' or diag $err;
	($rc, $out, $err) = effortctl($d, { token => undef }, 'violations', '--as-of', $AS_OF);
	is $rc, 3, 'no token: exit 3 (HTTP 401)' or diag "$out$err";
	($rc, $out, $err) = effortctl($d, { token => 'eff_' . ('0' x 64) }, 'violations', '--as-of', $AS_OF);
	is $rc, 3, 'an unknown token: exit 3 (HTTP 401)' or diag "$out$err";
	unlike "$out$err", qr/eff_0{64}/, '… and the token is not printed';

	# Bad values: refused either by effortctl (usage, 2) or by the server (400 → 3); never "found" or "nothing".
	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', '2025-13-01');
	ok $rc == 2 || $rc == 3, "--as-of 2025-13-01: exit 2 or 3 (got $rc)" or diag "$out$err";
	like $err, qr/^effortctl: error: /m, '… with an error on stderr' or diag $err;
	($rc, $out, $err) = effortctl($d, 'violations', '--as-of', $AS_OF, '--severity', 'critical');
	ok $rc == 2 || $rc == 3, "--severity critical: exit 2 or 3 (got $rc)" or diag "$out$err";
	($rc, $out, $err) = effortctl($d, 'violations', '--no-such-option');
	is $rc, 2, 'an unknown option: exit 2' or diag "$out$err";
	my $port = EffortTest::free_port();
	($rc, $out, $err) = effortctl(undef, { token => 'x', env => { EFFORTCTL_URL => "http://127.0.0.1:$port" } }, 'violations');
	is $rc, 4, 'effortd unreachable: exit 4' or diag "$out$err";
}

done_testing;
