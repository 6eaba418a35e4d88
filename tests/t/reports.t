# The funding-assurance reports (GET /v1/reports/..., effortctl report) on
# the sample organisation as of 2026-10-01: every figure checked against the
# audit engine's findings (audit_findings in the same database) and against
# totals computed by hand from sample/*.csv; CSV parsed back to the same
# numbers; HTML well-formed (xmllint, XML mode) with its SVG charts and
# every value escaped; as_of; 401/403/404/400; effortctl.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql load_sample effortctl json_decode slurp spew parse_csv);

my $AS_OF = '2026-10-01';
my $EP = 'EP/X012345/1';
my $ES = 'ES/W009876/1';
my $EP_PATH = '/v1/reports/grants/EP%2FX012345%2F1';
my $ES_PATH = '/v1/reports/grants/ES%2FW009876%2F1';

my $db = new_db();
my $d = start_effortd(db => $db);
load_sample($d);
my ($as) = $d->req(POST => '/v1/timesheets', token => $d->token('feed'),
	body => slurp(EffortTest::sample_file('amendments')));
is $as, 200, 'sample loaded with its amendment';
my $reviewer = $d->token('reviewer');

sub get {
	my ($path, %q) = @_;
	my $tok = exists $q{token} ? delete $q{token} : $reviewer;
	my ($s, $body, $res) = $d->req(GET => $path, token => $tok, query => { as_of => $AS_OF, %q });
	return ($s, $body, $res);
}

sub get_json {
	my ($path, %q) = @_;
	my ($s, $j) = get($path, %q);
	is $s, 200, "GET $path 200" or diag explain $j;
	return $j;
}

sub h2 { sprintf '%.2f', $_[0] }

# The audit engine's findings as of $AS_OF, straight from SQL.
my @findings = map {
	{ rule => $_->[0], person_id => $_->[1], grant_ref => $_->[2], period_start => $_->[3],
	  period_end => $_->[4], hours => $_->[5] }
} psql($db, "SELECT rule, person_id, grant_ref, period_start, period_end, hours
               FROM audit_findings('$AS_OF', '{}'::jsonb) ORDER BY 1, 2, 3, 4");
cmp_ok scalar(@findings), '==', 14, 'the sample has its 14 findings as of 2026-10-01';

# ---------------------------------------------------------------- access and errors
{
	my ($s) = $d->req(GET => $EP_PATH);
	is $s, 401, 'no token: 401';
	($s) = $d->req(GET => $EP_PATH, token => 'eff_nonsense');
	is $s, 401, 'unknown token: 401';
	($s) = get($EP_PATH, token => $d->token('feed'));
	is $s, 403, 'feed token: 403';
	($s) = get($EP_PATH, token => $d->token('manager', 'E0101'));
	is $s, 403, 'manager token: 403';
	($s) = get('/v1/reports/investigators', year => 2025, token => $d->token('manager', 'E0101'));
	is $s, 403, 'manager token on investigators: 403';
	($s) = get($EP_PATH, token => $d->token('admin'));
	is $s, 200, 'admin token: 200';

	my $j;
	($s, $j) = get('/v1/reports/grants/EP%2FNOPE%2F1');
	is $s, 404, 'unknown grant: 404';
	is $j->{error}, 'no such grant: EP/NOPE/1', '... naming the decoded reference';
	($s, $j) = get('/v1/reports/grants/EP%2FNOPE%2F1', format => 'html');
	is $s, 404, 'unknown grant as HTML: 404 (JSON error body)';
	is ref $j, 'HASH', '... with a JSON error body';
	($s) = get('/v1/reports/grants/EP%2FNOPE%2F1/evidence', format => 'csv');
	is $s, 404, 'unknown grant evidence: 404';
	($s) = get('/v1/reports/grants/EP/X012345/1');
	is $s, 404, 'an unencoded reference is another path: 404';

	for my $case (
		[ $EP_PATH, { format => 'xml' }, 'format must be json, csv or html' ],
		[ $EP_PATH, { format => 'JSON' }, 'format must be json, csv or html' ],
		[ $EP_PATH, { as_of => '2026-13-01' }, 'as_of must be a date YYYY-MM-DD' ],
		[ '/v1/reports/investigators', {}, 'year must be a year YYYY' ],
		[ '/v1/reports/investigators', { year => '25' }, 'year must be a year YYYY' ],
		[ '/v1/reports/investigators', { year => '2025x' }, 'year must be a year YYYY' ],
		[ '/v1/reports/investigators', { year => '1000' }, 'year must be a year YYYY from 1900 to 9999' ],
		[ '/v1/reports/investigators', { year => '1899' }, 'year must be a year YYYY from 1900 to 9999' ],
		[ '/v1/reports/compliance', { from => '2025-10-01' }, 'from and to must be dates YYYY-MM-DD' ],
		[ '/v1/reports/compliance', { from => '2026-10-01', to => '2025-10-01' }, 'from must not be after to' ],
	) {
		my ($path, $q, $msg) = @$case;
		($s, $j) = get($path, %$q);
		is $s, 400, "400 for $path " . join(',', map { "$_=$q->{$_}" } sort keys %$q);
		is $j->{error}, $msg, "... $msg";
	}
	($s, $j) = get('/v1/reports/investigators', year => '1900');
	is $s, 200, 'year=1900, the first year taken: 200';
	is_deeply $j->{investigators}, [], '... with no investigators';
	($s) = $d->req(POST => $EP_PATH, token => $reviewer);
	is $s, 405, 'POST on a report: 405';
}

# ---------------------------------------------------------------- grant reconciliation
my $ep = get_json($EP_PATH);
is $ep->{grant}{grant_ref}, $EP, 'grant report names the grant';
is $ep->{as_of}, $AS_OF, 'as_of echoed';

# Every row: unevidenced = charged - evidenced, evidenced <= min(charged,
# recorded), 0 unless evidence_ok; totals add the rows.
sub check_rows {
	my ($rep, $label) = @_;
	my %sum;
	my $bad = 0;
	for my $p (@{ $rep->{people} }) {
		my %ps;
		for my $m (@{ $p->{months} }) {
			$bad++ unless h2($m->{charged} - $m->{evidenced}) eq h2($m->{unevidenced});
			$bad++ if $m->{evidenced} > $m->{charged} + 0.001 || $m->{evidenced} > $m->{recorded} + 0.001;
			$bad++ if !$m->{evidence_ok} && $m->{evidenced} != 0;
			$ps{$_} += $m->{$_} for qw(charged recorded evidenced unevidenced);
		}
		for (qw(charged recorded evidenced unevidenced)) {
			$bad++ unless h2($ps{$_}) eq h2($p->{$_});
			$sum{$_} += $p->{$_};
		}
	}
	is $bad, 0, "$label: every row and person total is consistent";
	is h2($sum{$_}), h2($rep->{totals}{$_}), "$label: grant total $_ adds the people" for qw(charged evidenced);
	my %mon;
	for my $m (@{ $rep->{months} }) { $mon{$_} += $m->{$_} for qw(charged evidenced) }
	is h2($mon{$_}), h2($rep->{totals}{$_}), "$label: monthly $_ adds to the total" for qw(charged evidenced);
}
check_rows($ep, $EP);

# The row of a person and month.
sub row {
	my ($rep, $pid, $month) = @_;
	for my $p (@{ $rep->{people} }) {
		next unless $p->{person_id} eq $pid;
		for my $m (@{ $p->{months} }) { return $m if $m->{month} eq $month }
	}
	return undef;
}

# activity_missing / unevidenced_charge of the audit == charged - recorded
# of the report's row, and no other row has a gap above the tolerance.
for my $rep ($ep) {
	my $g = $rep->{grant}{grant_ref};
	my %want = map { ("$_->{person_id} " . substr($_->{period_start}, 0, 7)) => $_ }
		grep { ($_->{grant_ref} // '') eq $g && $_->{rule} =~ /^(activity_missing|unevidenced_charge)$/ } @findings;
	ok scalar(keys %want) >= 1, "$g has charge findings to compare";
	my %got;
	for my $p (@{ $rep->{people} }) {
		for my $m (@{ $p->{months} }) {
			$got{"$p->{person_id} $m->{month}"} = h2($m->{charged} - $m->{recorded})
				if $m->{charged} - $m->{recorded} > 0.5;
		}
	}
	is_deeply \%got, { map { $_ => h2($want{$_}{hours}) } keys %want },
		"$g: charged - recorded per row equals the audit's activity_missing/unevidenced_charge hours";
}
is h2(row($ep, 'E1002', '2026-03')->{unevidenced}), '132.00', 'E1002 March 2026: 132 h unevidenced (activity_missing)';
is row($ep, 'E1002', '2026-03')->{status}, 'missing', '... no timesheet';

# Findings of the grant report: exactly the audit's findings naming the
# grant plus those of its people naming no grant in a month of their rows.
{
	my %months;
	for my $p (@{ $ep->{people} }) { $months{$p->{person_id}}{$_->{month}} = 1 for @{ $p->{months} } }
	my @want = grep {
		my $f = $_;
		($f->{grant_ref} // '') eq $EP
			|| (!defined $f->{grant_ref} && grep {
				my $m = "$_-01";
				$m le $f->{period_end} && substr($f->{period_start}, 0, 7) le $_
			} keys %{ $months{$f->{person_id}} // {} })
	} @findings;
	my $key = sub { join ' ', map { $_ // '-' } @{ $_[0] }{qw(rule person_id grant_ref period_start hours)} };
	is_deeply [ sort map { $key->($_) } @{ $ep->{findings} } ],
		[ sort map { my %f = %$_; $f{hours} += 0; $key->(\%f) } @want ],
		'grant findings: the audit engine\'s, filtered to the grant and its people\'s months';
	ok((grep { $_->{rule} eq 'overcharged_month' && $_->{person_id} eq 'E1012' && $_->{hours} == 31.5 } @{ $ep->{findings} }),
		'EP findings include E1012\'s overcharged May 2026 (31.5 h)');
}

# Authorisation findings make a month unevidenced; a month without any is
# evidenced (min(charged, recorded)).
my $es = get_json($ES_PATH);
check_rows($es, $ES);
{
	my $r = row($es, 'E1010', '2026-01');
	is_deeply [ @$r{qw(charged evidenced unevidenced status evidence_ok)} ], [ 142.5, 0, 142.5, 'authorised', JSON::PP::false ],
		'E1010 January 2026 (authorisation_late): 142.50 h charged, none evidenced';
	ok !$r->{timesheets}[0]{on_time}, '... its timesheet is not on time';
	$r = row($es, 'E0104', '2026-02');
	is_deeply [ @$r{qw(charged evidenced unevidenced)} ], [ 45, 0, 45 ], 'E0104 February 2026 (self-authorised): 45 h unevidenced';
	ok !$r->{timesheets}[0]{valid}, '... its authorisation is not valid';
	$r = row($es, 'E1011', '2026-01');
	is_deeply [ @$r{qw(charged recorded evidenced unevidenced)} ], [ 102, 102, 102, 0 ], 'E1011 January 2026: evidenced';
	# The months of the authorisation findings of ES people == the
	# unevidenced rows with recorded hours.
	my %ppl = map { $_->{person_id} => 1 } @{ $es->{people} };
	my %auth = map { ("$_->{person_id} " . substr($_->{period_start}, 0, 7)) => 1 }
		grep { $ppl{$_->{person_id}} && $_->{rule} =~ /^authorisation_(late|invalid|overdue)$/ } @findings;
	my %unev;
	for my $p (@{ $es->{people} }) { $unev{"$p->{person_id} $_->{month}"} = 1 for grep { !$_->{evidence_ok} } @{ $p->{months} } }
	is_deeply \%unev, \%auth, 'ES: the months without evidence are exactly those with authorisation findings';
}
# Hand-checked totals of ES/W009876/1 (Oct 2025 – Jun 2026; sample/charges.csv,
# weekdays Oct 23, Nov 20, Dec 23, Jan 22, Feb 20, Mar 22, Apr 22, May 21,
# Jun 22 = 195):
#   E0104 0.3 FTE × 7.5 h × 195 = 438.75;  E0105 0.2 × 7.5 × 195 = 292.50
#   E1010 hours 165 + 127.5 + 142.5 + 142.5 + 120 + 127.5 + 135 + 135 + 157.5 = 1252.50
#   E1011 hours 120 + 108 + 114 + 102 + 90 + 102 + 114 + 108 + 114 = 972.00
#   E1012 hours 78.75 + 67.5 + 63.75 + 60 + 67.5 + 78.75 + 71.25 + 157.5 + 0.6 × 7.5 × 21 (May: 94.5)
#         + 78.75 − 157.5 … i.e. 78.75+67.5+63.75+60+67.5+78.75+71.25+94.5+78.75 = 660.75
#   charged = 438.75 + 292.5 + 1252.5 + 972 + 660.75 = 3616.50
#   unevidenced = E1010 Jan 142.50 (late) + E0104 Feb 2.25 × 20 = 45.00 (self-authorised) = 187.50
#   evidenced = 3616.50 − 187.50 = 3429.00 (every other month records exactly what is charged)
is_deeply [ map { h2($es->{totals}{$_}) } qw(charged recorded evidenced unevidenced) ],
	[ '3616.50', '3616.50', '3429.00', '187.50' ], 'ES totals as computed by hand';
# EP/X012345/1, E0101 (0.75 FTE charge of a 1.0 FTE PI, 5.625 h a weekday,
# rounded per month): 3 × 129.38 (23 weekdays) + 2 × 112.50 (20) + 5 × 123.75
# (22) + 2 × 118.13 (21) = 1468.15.
{
	my ($p) = grep { $_->{person_id} eq 'E0101' } @{ $ep->{people} };
	is h2($p->{charged}), '1468.15', 'E0101 charged to EP as computed by hand';
	is h2($p->{unevidenced}), '0.00', '... all evidenced';
}

# ---------------------------------------------------------------- investigators
my %capf = map { ("$_->{person_id} $_->{period_start}") => $_ } grep { $_->{rule} =~ /^investigator_cap_/ } @findings;
my %seen;
for my $year (2025, 2026) {
	my $inv = get_json('/v1/reports/investigators', year => $year);
	is $inv->{cap_year_start}, "$year-08-01", "cap year $year starts on 1 August";
	for my $i (@{ $inv->{investigators} }) {
		my $f = $capf{"$i->{person_id} $year-08-01"};
		$seen{"$i->{person_id} $year-08-01"} = 1 if $f;
		is $i->{finding}, $f ? $f->{rule} : undef, "$year $i->{person_id}: finding as the audit";
		is h2($i->{finding_hours} // 0), h2($f ? $f->{hours} : 0), "$year $i->{person_id}: finding hours as the audit";
		my $sum = 0;
		$sum += $_->{hours} for @{ $i->{grants} };
		is h2($sum), h2($i->{grant_hours}), "$year $i->{person_id}: grants add to the total";
		is h2($i->{cap} - $i->{grant_hours}), h2($i->{headroom}), "$year $i->{person_id}: headroom = cap - hours";
	}
	if ($year == 2025) {
		# Hand check, E0101, cap year 2025-08-01 – 2026-07-31: EP timesheet
		# grant hours Oct 2025 – Jul 2026 (0.75 × contracted, per month)
		# 3 × 129.38 + 2 × 112.50 + 4 × 123.75 + 118.13 = 1226.27; DA
		# estimate on NE 500 × 365/365 = 500; total 1726.27; cap 1650 ×
		# 1.0 FTE × 365/365 = 1650; exceeded by 76.27.
		my ($o) = grep { $_->{person_id} eq 'E0101' } @{ $inv->{investigators} };
		is_deeply [ map { h2($_) } @$o{qw(cap grant_hours headroom finding_hours)} ],
			[ '1650.00', '1726.27', '-76.27', '76.27' ], 'E0101 2025 as computed by hand';
		is_deeply [ map { [ $_->{grant_ref}, $_->{source}, h2($_->{hours}) ] } @{ $o->{grants} } ],
			[ [ $EP, 'timesheets', '1226.27' ], [ 'NE/Y000123/1', 'estimate', '500.00' ] ], '... by grant';
		is_deeply [ @$o{qw(fte employed_days year_days)} ], [ 1, 365, 365 ], '... FTE and pro rata shown';
	} else {
		my ($o) = grep { $_->{person_id} eq 'E0101' } @{ $inv->{investigators} };
		is_deeply [ $o->{ended_months}, h2($o->{projection}), h2($o->{finding_hours}) ], [ 2, '1952.65', '302.65' ],
			'E0101 2026: 2 ended months project to 1952.65 h, 302.65 h over (as the sample README)';
	}
}
is_deeply \%seen, { map { $_ => 1 } keys %capf }, 'every cap finding of the audit appears in the investigators reports';
{
	my ($s, $j) = get('/v1/reports/investigators', year => 2027);
	is $s, 200, 'a cap year that starts after as_of: 200';
	is scalar(grep { defined $_->{finding} } @{ $j->{investigators} }), 0, '... with no finding (the audit does not evaluate it)';
}

# ---------------------------------------------------------------- compliance
{
	my $c = get_json('/v1/reports/compliance', from => '2025-10-01', to => '2026-09-30');
	my $o = $c->{organisation};
	my %n;
	$n{$_->{rule}}++ for @findings;
	is $o->{missing}, $n{timesheet_missing}, 'missing = timesheet_missing findings (1)';
	is $o->{late}, $n{authorisation_late}, 'late = authorisation_late findings (1)';
	is $o->{invalid}, $n{authorisation_invalid}, 'invalid = authorisation_invalid findings (1)';
	is $o->{overdue}, $n{authorisation_overdue}, 'overdue = authorisation_overdue findings (1)';
	is $o->{awaiting}, 1, 'awaiting: E1012 September 2026 (deadline 30 Nov 2026)';
	is $o->{submitted}, 194, 'submitted: the 194 person-months of sample timesheets';
	is $o->{required}, 117, 'required: person-months that need a timesheet (not those 100 % on one grant)';
	is $o->{authorised_on_time} + $o->{late} + $o->{invalid} + $o->{overdue} + $o->{awaiting}, $o->{submitted} - 0,
		'the classes of submitted person-months add up';
	my %byrule = map { $_->{rule} => $_->{count} } @{ $o->{findings} };
	is_deeply \%byrule, \%n, 'findings by rule: the audit engine\'s counts';
	my %sum;
	for my $m (@{ $c->{line_managers} }) { $sum{$_} += $m->{$_} for qw(required submitted missing late) }
	is_deeply \%sum, { map { $_ => $o->{$_} } qw(required submitted missing late) }, 'line managers add up to the organisation';
	my ($m1) = grep { ($_->{line_manager_id} // '') eq 'E0101' } @{ $c->{line_managers} };
	is_deeply [ $m1->{name}, $m1->{missing}, $m1->{overdue} ], [ 'Dr Samuel Okafor', 1, 1 ],
		'E0101\'s team: E1002\'s missing March, E1001\'s overdue December';
	my $c2 = get_json('/v1/reports/compliance', from => '2026-03-01', to => '2026-03-31');
	is_deeply [ @{ $c2->{organisation} }{qw(missing late)} ], [ 1, 0 ], 'March 2026 alone: the missing month, no late one';
}

# ---------------------------------------------------------------- as_of
{
	# As of 2026-02-15 Ada Byron's December version 2 (sent 10 Feb 2026)
	# already counts (as_of moves "today", it does not rewind the data); its
	# deadline 28 Feb has not passed: submitted, not evidenced.  February
	# has not ended: no row for it.
	my $r = get_json($EP_PATH, as_of => '2026-02-15');
	is $r->{as_of}, '2026-02-15', 'as_of 2026-02-15';
	my $dec = row($r, 'E1001', '2025-12');
	is_deeply [ $dec->{status}, $dec->{evidenced}, $dec->{deadline} ], [ 'submitted', 0, '2026-02-28' ],
		'E1001 December 2025: version 2 unauthorised, not evidenced';
	ok !row($r, 'E1001', '2026-02'), 'February 2026 has not ended: no row';
	ok row($r, 'E1001', '2026-01'), 'January 2026 has';
}

# ---------------------------------------------------------------- evidence pack
{
	my $e = get_json("$EP_PATH/evidence");
	my $n = psql($db, "SELECT count(DISTINCT timesheet_id) FROM timesheet_entries WHERE kind = 'grant' AND activity = '$EP'");
	is scalar(@{ $e->{versions} }), $n, "every timesheet version with an EP entry ($n)";
	my @ada = grep { $_->{person_id} eq 'E1001' && $_->{period_start} eq '2025-12-01' } @{ $e->{versions} };
	is_deeply [ map { [ $_->{version}, $_->{latest} ? 1 : 0, $_->{status} ] } @ada ],
		[ [ 1, 0, 'authorised' ], [ 2, 1, 'submitted' ] ], 'Ada Byron December 2025: both versions';
	like $ada[1]{amendment_reason}, qr/sick leave/, '... version 2 with its amendment reason';
	is $ada[0]{decisions}[0]{decided_by}, 'E0101', '... version 1 with its authorisation';
	is_deeply [ map { scalar @{ $_->{entries} } } @ada ], [ 3, 4 ], '... and their entries (version 2 adds sick leave)';
	if ($e->{audit_log_available}) {
		my %logged = map { ($_->{entity_key}{timesheet_id} // '') => 1 } grep { $_->{entity} eq 'timesheets' } @{ $e->{audit_log} };
		is scalar(grep { !$logged{$_->{id}} } @{ $e->{versions} }), 0, 'every version has its audit-log row';
		ok((grep { $_->{entity} eq 'timesheet_decisions' } @{ $e->{audit_log} }), 'and the decisions theirs');
	} else {
		is $e->{audit_log}, undef, 'no audit_log table: audit_log is null';
	}
}

# ---------------------------------------------------------------- CSV

sub csv_records {
	my ($path, %q) = @_;
	my ($s, $body, $res) = get($path, %q, format => 'csv');
	is $s, 200, "CSV $path";
	is $res->{headers}{'content-type'}, 'text/csv; charset=utf-8', '... text/csv; charset=utf-8';
	like $res->{headers}{'content-disposition'}, qr/^attachment; filename="[A-Za-z0-9._-]+\.csv"$/, '... an attachment';
	my $raw = $res->{content};
	ok $raw =~ s/\A\xEF\xBB\xBF//, '... starts with a UTF-8 BOM';
	utf8::decode($raw);
	my @rows = parse_csv($raw);
	my $h = shift @rows;
	my $w = @$h;
	is scalar(grep { @$_ != $w } @rows), 0, '... every record has the header\'s field count';
	return map { my %r; @r{@$h} = @$_; \%r } @rows;
}

{
	my @r = csv_records($EP_PATH);
	my ($tot) = grep { $_->{row_type} eq 'grant_total' } @r;
	is_deeply [ @$tot{qw(charged recorded evidenced unevidenced)} ],
		[ map { h2($ep->{totals}{$_}) } qw(charged recorded evidenced unevidenced) ], 'grant CSV: totals as the JSON';
	my $bad = 0;
	my $rows = 0;
	for my $x (grep { $_->{row_type} eq 'month' } @r) {
		my $m = row($ep, $x->{person_id}, $x->{month});
		$rows++;
		$bad++ unless $m && join('|', map { h2($m->{$_}) } qw(charged recorded evidenced unevidenced)) eq
			join('|', @$x{qw(charged recorded evidenced unevidenced)}) && $x->{status} eq $m->{status};
	}
	my $json_rows = 0;
	$json_rows += @{ $_->{months} } for @{ $ep->{people} };
	is $rows, $json_rows, "grant CSV: one month row per JSON row ($rows)";
	is $bad, 0, 'grant CSV: every month row has the JSON\'s numbers';
	my ($dunn) = grep { $_->{person_id} eq 'E1003' && $_->{row_type} eq 'person_total' } @r;
	is $dunn->{name}, 'Chloé Dunn', 'grant CSV: UTF-8 names';

	my @inv = csv_records('/v1/reports/investigators', year => 2025);
	my ($o) = grep { $_->{row_type} eq 'investigator' && $_->{person_id} eq 'E0101' } @inv;
	is_deeply [ @$o{qw(cap grant_hours headroom finding finding_hours)} ],
		[ '1650.00', '1726.27', '-76.27', 'investigator_cap_exceeded', '76.27' ], 'investigators CSV: E0101';
	is scalar(grep { $_->{row_type} eq 'grant' && $_->{person_id} eq 'E0101' } @inv), 2, '... and its two grant rows';

	my @c = csv_records('/v1/reports/compliance', from => '2025-10-01', to => '2026-09-30');
	is_deeply [ @{ $c[0] }{qw(scope required missing timesheet_missing activity_missing investigator_cap_exceeded)} ],
		[ 'organisation', 117, 1, 1, 4, 1 ], 'compliance CSV: organisation row with counts per rule';

	my @ev = csv_records("$EP_PATH/evidence");
	my ($amend) = grep { $_->{person_id} eq 'E1001' && $_->{version} eq '2' && $_->{kind} eq 'sick_leave' } @ev;
	like $amend->{amendment_reason}, qr/^Two days .*, per the sickness absence record$/, 'evidence CSV: a quoted reason with a comma parses back';
	is $amend->{hours}, '15.00', '... with the entry\'s hours';
}

# ---------------------------------------------------------------- HTML
my $xmllint = -x '/usr/bin/xmllint' ? '/usr/bin/xmllint' : undef;
sub html_ok {
	my ($path, $title, $svgs, %q) = @_;
	my ($s, $body, $res) = get($path, %q, format => 'html');
	is $s, 200, "HTML $path";
	is $res->{headers}{'content-type'}, 'text/html; charset=utf-8', '... text/html; charset=utf-8';
	my $html = $res->{content};
	like $html, qr{<title>\Q$title\E</title>}, "... title $title";
	my @svg = $html =~ /<svg\b/g;
	is scalar(@svg), $svgs, "... $svgs inline SVG chart(s)";
	unlike $html, qr{<script|<link\b|\bsrc=|url\(|https?://(?!www\.w3\.org/2000/svg)}i, '... self-contained: no script, no external file';
	like $html, qr{\@media print\{}, '... with a print stylesheet';
	SKIP: {
		skip 'xmllint not installed', 1 unless $xmllint;
		my $f = "$EffortTest::TMP/report-$$.html";
		spew($f, $html);
		my $out = `$xmllint --noout --nonet $f 2>&1`;
		is $out, '', '... well-formed (xmllint, XML mode)';
	}
	return $html;
}
{
	my $h = html_ok($EP_PATH, "Grant reconciliation: $EP", 1);
	my ($mar) = grep { $_->{month} eq '2026-03' } @{ $ep->{months} };
	my $mh = h2($mar->{charged});
	like $h, qr{<rect [^>]*><title>2026-03 charged: \Q$mh\E h</title>}, "grant chart: a bar per month with its hours (March: $mh)";
	my $es_h = html_ok($ES_PATH, "Grant reconciliation: $ES", 1);
	like $es_h, qr{savings, debt and &quot;resilience&quot;}, 'HTML escapes the ESRC title\'s quotes';
	unlike $es_h, qr{"resilience"}, '... never raw';
	my $ih = html_ok('/v1/reports/investigators', 'Investigator hours: cap year 2025-08-01 to 2026-07-31', 1, year => 2025);
	like $ih, qr{E0101 Dr Samuel Okafor</text>}, 'investigators chart names each investigator';
	like $ih, qr{fill="#cf222e"><title>E0101 grant hours: 1726\.27 h</title>}, '... E0101 over the cap in red';
	html_ok('/v1/reports/compliance', 'Timesheet compliance: 2025-10-01 to 2026-09-30', 0, from => '2025-10-01', to => '2026-09-30');
	my $eh = html_ok("$EP_PATH/evidence", "Evidence pack: $EP", 0);
	like $eh, qr{Two days recorded as annual leave}, 'evidence HTML: the amendment reason';
}

# ---------------------------------------------------------------- effortctl
{
	my $tok = { token => $reviewer };
	my ($rc, $out, $err) = effortctl($d, $tok, 'report', 'grant', $EP, '--as-of', $AS_OF);
	is $rc, 0, 'effortctl report grant: exit 0' or diag $err;
	my $j = json_decode(do { my $o = $out; utf8::encode($o); $o });
	is h2($j->{totals}{charged}), h2($ep->{totals}{charged}), '... the JSON report (ref URL-encoded)';

	my $f = "$EffortTest::TMP/ctl-$$.csv";
	($rc, $out, $err) = effortctl($d, $tok, 'report', 'evidence', $EP, '--format', 'csv', '-o', $f, '--as-of', $AS_OF);
	is $rc, 0, 'effortctl report evidence --format csv -o FILE: exit 0' or diag $err;
	is $out, '', '... nothing on standard output';
	like slurp($f), qr/\A\xEF\xBB\xBFgrant_ref,person_id,/, '... the CSV in the file';

	($rc, $out) = effortctl($d, $tok, 'report', 'investigators', '--year', '2025', '--format', 'html', '--as-of', $AS_OF);
	is $rc, 0, 'effortctl report investigators --year --format html: exit 0';
	like $out, qr{<svg\b}, '... the HTML page';

	($rc, $out) = effortctl($d, $tok, 'report', 'compliance', '--from', '2025-10-01', '--to', '2026-09-30', '--as-of', $AS_OF);
	is $rc, 0, 'effortctl report compliance: exit 0';
	like $out, qr/"required": 117/, '... pretty-printed JSON';

	($rc, undef, $err) = effortctl($d, $tok, 'report', 'compliance', '--from', '2025-10-01');
	is $rc, 2, 'compliance without --to: usage error (2)';
	($rc) = effortctl($d, $tok, 'report', 'grant');
	is $rc, 2, 'grant without REF: 2';
	($rc) = effortctl($d, $tok, 'report', 'grant', $EP, '--format', 'xml');
	is $rc, 2, '--format xml: 2';
	($rc, undef, $err) = effortctl($d, $tok, 'report', 'grant', 'EP/NOPE/1');
	is $rc, 3, 'unknown grant: refused (3)';
	like $err, qr/no such grant: EP\/NOPE\/1/, '... saying so';
	($rc) = effortctl($d, { token => $d->token('feed') }, 'report', 'investigators', '--year', '2025');
	is $rc, 3, 'feed token: refused (3)';
}

done_testing;
