# An independent check of the report figures (GET /v1/reports/grants/{ref},
# /v1/reports/investigators, effortctl report) against RULES.md, on a small
# organisation built through the real feeds: grant reconciliation with part
# months, fte_fraction charges, several timesheets a month, a superseded
# version, a rejected, a late (one hour past the deadline across BST) and an
# on-time (the deadline's last hour) authorisation, a 0 h entry, charges
# without timesheets and in months not ended, hours without charges or
# assignment, a grant outside its period, an empty grant; totals to the
# hundredth (sums of the rounded rows: 2 fte_fraction rows whose rounded
# sum differs from the rounded exact sum); as_of before any data, on the
# day a month ends and a deadline passes, in the future; the investigator
# cap report with cap year boundaries, a 366-day year, part years, DA
# estimates in the projection, a future year and an empty year; CSV against
# JSON (same rows and figures, RFC 4180 quoting, formula guard); effortctl
# report against the API; an empty organisation.
#
# Every expected figure is computed by hand from RULES.md (arithmetic in the
# comments).  Where RULES.md says nothing about a report figure (the
# "evidenced" column, totals) the comment says so and the case asserts the
# reading docs/reports.md took.  Where effortd disagrees with RULES.md the
# case keeps the RULES.md figure under TODO (none left: the faults found are mended).
#
# Calendar (weekdays Mon-Fri): Jan 2025 23 (15-31 Jan: 13), Feb 2025 20 (1-14:
# 10, 15-28: 10), Mar 2025 21, Apr 2025 22, May 2025 22, Jun 2025 21, Jul 2025
# 23, Aug 2025 21, Sep 2025 22.  BST 30 Mar - 26 Oct 2025.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode ();
use EffortTest qw(new_db start_effortd post_feed json_encode effortctl parse_csv);

my $db = new_db();
my $d = start_effortd(db => $db);
my $reviewer = $d->token('reviewer');

my $GA = 'EP/R2A0001/1';    # 2024-01-01 .. 2026-12-31, the reconciled grant
my $GE = 'EP/R2E0001/1';    # 2024-01-01 .. 2026-12-31, nobody on it
my $GP = 'EP/R2P0001/1';    # 2025-03-01 .. 2025-12-31, hours before its start
my $GI = 'EP/R2I0001/1';    # 2023-01-01 .. 2027-12-31, investigators' grant
my $GD = 'EP/R2D0001/1';    # 2024-01-01 .. 2026-12-31, a DA-costed PI
my $AS_OF = '2025-10-15';

sub enc { (my $r = $_[0]) =~ s{/}{%2F}g; $r }

sub get {
	my ($path, %q) = @_;
	my ($s, $body, $res) = $d->req(GET => $path, token => $reviewer, query => \%q);
	return ($s, $body, $res);
}

sub get_json {
	my ($path, %q) = @_;
	my ($s, $j) = get($path, %q);
	is $s, 200, "GET $path " . join(',', map { "$_=$q{$_}" } sort keys %q) . ': 200'
		or diag(ref $j ? json_encode($j) : $j);
	return ref $j ? $j : {};
}

sub grant_report { get_json('/v1/reports/grants/' . enc($_[0]), as_of => $_[1], @_[2 .. $#_]) }
sub inv_report { get_json('/v1/reports/investigators', year => $_[0], as_of => $_[1]) }

sub h2 { defined $_[0] ? sprintf('%.2f', $_[0]) : 'null' }

sub setup_ok {
	my ($feed, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, "setup: $name" or diag json_encode($j);
}

# The row of a person and month (undef when absent).
sub row {
	my ($rep, $pid, $month) = @_;
	for my $p (@{ $rep->{people} // [] }) {
		next unless $p->{person_id} eq $pid;
		for my $m (@{ $p->{months} }) { return $m if $m->{month} eq $month }
	}
	return undef;
}

sub person {
	my ($rep, $pid) = @_;
	my ($p) = grep { $_->{person_id} eq $pid } @{ $rep->{people} // [] };
	return $p;
}

# [charged, recorded, evidenced, unevidenced, status] of a row, hours as text.
sub fig {
	my ($r) = @_;
	return ['absent'] unless $r;
	return [ (map { h2($r->{$_}) } qw(charged recorded evidenced unevidenced)), $r->{status} ];
}

sub tot { my ($t) = @_; [ map { h2($t->{$_}) } qw(charged recorded evidenced unevidenced) ] }

sub inv {
	my ($rep, $pid) = @_;
	my ($i) = grep { $_->{person_id} eq $pid } @{ $rep->{investigators} // [] };
	return $i;
}

# [cap, grant_hours, headroom, ended_months, ended_months_hours, projection,
#  finding, finding_hours] of an investigator's row.
sub capfig {
	my ($i) = @_;
	return ['absent'] unless $i;
	return [ h2($i->{cap}), h2($i->{grant_hours}), h2($i->{headroom}), $i->{ended_months},
		h2($i->{ended_months_hours}), h2($i->{projection}), $i->{finding} // 'none',
		h2($i->{finding_hours}) ];
}

sub finding_keys {
	my ($rep) = @_;
	return [ map { join ' ', $_->{rule}, $_->{severity}, $_->{person_id}, $_->{grant_ref} // '-',
			$_->{period_start}, h2($_->{hours}) } @{ $rep->{findings} } ];
}


# The CSV form of a report as a list of hashes (header names as keys) and
# the raw body.
sub csv_report {
	my ($path, %q) = @_;
	my ($s, $body, $res) = get($path, %q, format => 'csv');
	is $s, 200, "CSV $path: 200";
	my $raw = $res->{content};
	$raw =~ s/\A\xEF\xBB\xBF//;
	utf8::decode($raw);
	my @rows = parse_csv($raw);
	my $h = shift @rows;
	return ([ map { my $r = $_; +{ map { $h->[$_] => $r->[$_] } 0 .. $#$h } } @rows ], $res->{content});
}

# ================================================================ empty organisation
# Nothing sent yet: no grant (404), no investigator in any year.
{
	my ($s, $j) = get('/v1/reports/grants/' . enc($GA), as_of => $AS_OF);
	is $s, 404, 'empty organisation: grant report 404';
	is $j->{error}, "no such grant: $GA", '... naming the grant';
	my $r = inv_report(2024, $AS_OF);
	is_deeply $r->{investigators}, [], 'empty organisation: investigators report has no rows';
	is $r->{cap_year_start}, '2024-08-01', '... for the cap year 2024-08-01';
	is $r->{cap_year_end}, '2025-07-31', '... to 2025-07-31';
	is $r->{ended_months}, 12, '... all 12 months ended as of 2025-10-15';
	my ($rows) = csv_report('/v1/reports/investigators', year => 2024, as_of => $AS_OF);
	is scalar(@$rows), 0, '... and its CSV only a header';
}

# ================================================================ the organisation
my @P = (
	{ person_id => 'M0', name => 'Manager Zero', line_manager_id => undef, fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P1', name => 'Smith, "Jo"', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P2', name => '=Formula, Person', line_manager_id => 'M0', fte => 0.5,
	  employment_start => '2025-01-15' },
	{ person_id => 'P3', name => 'Rounding Rae', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P5', name => 'Unassigned Ulla', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P6', name => 'Early Eve', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P7', name => 'Self Sam', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P8', name => 'Moved Max', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'P9', name => 'Half Hal', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'I5', name => 'Dual Five', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2010-01-01' },
	{ person_id => 'I1', name => 'Ivy One', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2015-01-01' },
	{ person_id => 'I2', name => 'Ivan Two', line_manager_id => 'M0', fte => 0.8,
	  employment_start => '2024-11-01' },
	{ person_id => 'I3', name => 'Dana Three', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2010-01-01' },
	{ person_id => 'I4', name => 'Leap Four', line_manager_id => 'M0', fte => 1.0,
	  employment_start => '2024-03-01' },
);
$_->{email} = lc($_->{person_id}) . '@example.ac.uk', $_->{employment_end} = undef for @P;
setup_ok(people => \@P, 'people');
setup_ok(grants => [
	map { { grant_ref => $_->[0], title => "Grant $_->[0]", funder => 'EPSRC', start_date => $_->[1],
	        end_date => $_->[2] } }
	[ $GA, '2024-01-01', '2026-12-31' ], [ $GE, '2024-01-01', '2026-12-31' ],
	[ $GP, '2025-03-01', '2025-12-31' ], [ $GI, '2023-01-01', '2027-12-31' ],
	[ $GD, '2024-01-01', '2026-12-31' ] ], 'grants');

sub asg {
	my ($p, $g, $role, $ct, $from, $to, %o) = @_;
	return { person_id => $p, grant_ref => $g, role => $role, cost_type => $ct, start_date => $from,
		end_date => $to, fte_share => $o{share} // 0.5, estimated_hours_per_year => $o{est} };
}
setup_ok(assignments => [
	asg('P1', $GA, 'researcher', 'DI', '2024-01-01', undef),    # open: to 2026-12-31
	asg('P2', $GA, 'researcher', 'DI', '2025-01-15', '2025-06-30'),
	asg('P3', $GA, 'researcher', 'DI', '2024-01-01', '2025-12-31'),
	asg('P6', $GP, 'researcher', 'DI', '2025-03-01', '2025-12-31'),
	asg('P7', $GP, 'researcher', 'DI', '2025-03-01', '2025-03-31'),
	asg('P9', $GP, 'researcher', 'DI', '2025-03-01', '2025-03-31'),
	asg('I5', $GD, 'pi', 'DA', '2025-01-01', '2025-07-31', share => 0.2, est => 400),
	asg('I5', $GI, 'co_i', 'DA', '2025-01-01', '2025-07-31', share => 0.1, est => 104),
	asg('I1', $GI, 'co_i', 'DI', '2024-08-01', '2025-07-31', share => 0.3),
	asg('I2', $GI, 'pi', 'DI', '2024-11-01', undef, share => 0.3),    # open: to 2027-12-31
	asg('I3', $GD, 'pi', 'DA', '2025-01-01', undef, share => 0.2, est => 400),    # to 2026-12-31
	asg('I4', $GI, 'co_i', 'DI', '2024-03-01', '2024-07-31', share => 0.3),
], 'assignments');

sub charge {
	my ($p, $g, $m, $k, $v) = @_;
	return { person_id => $p, grant_ref => $g, month => $m, $k => $v };
}
setup_ok(charges => [
	charge('P1', $GA, '2025-01', hours => 86.25),
	charge('P1', $GA, '2025-02', fte_fraction => 0.5),
	charge('P1', $GA, '2025-03', hours => 90),
	charge('P1', $GA, '2025-04', hours => 50),
	charge('P1', $GA, '2025-05', hours => 60),
	charge('P1', $GA, '2025-06', hours => 65),
	charge('P1', $GA, '2025-07', hours => 20),
	charge('P1', $GA, '2025-09', hours => 30),
	charge('P1', $GA, '2025-10', hours => 10),    # not ended as of 2025-10-15 (nor 10-31)
	charge('P2', $GA, '2025-01', fte_fraction => 0.5),
	charge('P3', $GA, '2025-01', fte_fraction => 0.123457),
	charge('P3', $GA, '2025-02', fte_fraction => 0.123457),
	charge('P6', $GP, '2025-02', hours => 12),
	charge('P7', $GP, '2025-03', hours => 10.1),
	charge('P5', $GA, '2025-04', fte_fraction => 0),
	charge('P9', $GP, '2025-03', hours => 40),
	charge('P6', $GP, '2023-06', fte_fraction => 1),    # before any other data of P6
	# PX: never in the people feed: no contracted hours for a salary share
	charge('PX', $GA, '2025-03', fte_fraction => 0.25),
	charge('PX', $GA, '2025-10', fte_fraction => 0.5),    # not ended
	charge('PX', $GP, '2025-03', fte_fraction => 0.1),
], 'charges');

my %SEEN;    # person|period_start -> submitted_at of the last version sent
sub ts {
	my ($p, $from, $to, $entries, %o) = @_;
	my $r = { person_id => $p, period_start => $from, period_end => $to,
		submitted_at => $o{submitted} // "${to}T18:00:00Z",
		entries => [ map { { kind => $_->[0], activity => $_->[1], hours => $_->[2] } } @$entries ] };
	if ($o{auth}) { $r->{authorised_by} = $o{by} // 'M0'; $r->{authorised_at} = $o{auth} }
	$r->{amendment_reason} = $o{reason} if $o{reason};
	return $r;
}
sub ga { [ 'grant', $GA, $_[0] ] }
sub other { [ 'research', 'research', $_[0] ] }

setup_ok(timesheets => [
	# P1 Jan: 80 h on GA of 172.5, authorised on time (deadline 31 Mar).
	ts('P1', '2025-01-01', '2025-01-31', [ ga(80), other(92.5) ], auth => '2025-02-10T09:00:00Z'),
	# P1 Feb: two timesheets, the first authorised, the second not.
	ts('P1', '2025-02-01', '2025-02-14', [ ga(40), other(35) ], auth => '2025-02-20T09:00:00Z'),
	ts('P1', '2025-02-15', '2025-02-28', [ ga(30), other(45) ]),
	# P1 Mar: version 1, 100 h on GA, authorised (superseded below).
	ts('P1', '2025-03-01', '2025-03-31', [ ga(100), other(65) ], auth => '2025-04-02T09:00:00Z'),
	# P1 Apr: rejected below by M0.
	ts('P1', '2025-04-01', '2025-04-30', [ ga(50), other(115) ]),
	# P1 May: deadline 31 Jul; 2025-07-31T23:30Z is 00:30 BST on 1 Aug: late.
	ts('P1', '2025-05-01', '2025-05-31', [ ga(60), other(105) ], auth => '2025-07-31T23:30:00Z'),
	# P1 Jun: deadline 31 Aug; 2025-08-31T22:30Z is 23:30 BST on 31 Aug: on time.
	ts('P1', '2025-06-01', '2025-06-30', [ ga(70), other(87.5) ], auth => '2025-08-31T22:30:00Z'),
	# P1 Jul: a 0 h entry on GA is no hours.
	ts('P1', '2025-07-01', '2025-07-31', [ ga(0), other(172.5) ], auth => '2025-08-05T09:00:00Z'),
	# P1 Aug: hours on GA, no charge.
	ts('P1', '2025-08-01', '2025-08-31', [ ga(40), other(117.5) ], auth => '2025-09-05T09:00:00Z'),
	# P2 15-31 Jan (employed from the 15th): 20 h on GA.
	ts('P2', '2025-01-15', '2025-01-31', [ ga(20), other(28.75) ], auth => '2025-02-10T09:00:00Z'),
	# P5: 10 h on GA without an assignment or a charge.
	ts('P5', '2025-03-01', '2025-03-31', [ ga(10), other(147.5) ], auth => '2025-04-03T09:00:00Z'),
	# P6: 12 h on GP in February, before GP starts (1 March).
	ts('P6', '2025-02-01', '2025-02-28', [ [ 'grant', $GP, 12 ], other(138) ], auth => '2025-03-03T09:00:00Z'),
	# P7: 10.1 h on GP in March, authorised by P7 themself (invalid).
	ts('P7', '2025-03-01', '2025-03-31', [ [ 'grant', $GP, 10.1 ], other(147.4) ], auth => '2025-04-03T09:00:00Z', by => 'P7'),
	# P9: 1 - 14 March only (10 weekdays, 75 h), 40 h on GP, authorised on time.
	ts('P9', '2025-03-01', '2025-03-14', [ [ 'grant', $GP, 40 ], other(35) ], auth => '2025-03-20T09:00:00Z'),
	# P8: 15 h on GA in April in version 1 only.
	ts('P8', '2025-04-01', '2025-04-30', [ ga(15), other(150) ]),
], 'timesheets');
# P8 April version 2: the 15 h moved off GA.
setup_ok(timesheets => [ ts('P8', '2025-04-01', '2025-04-30', [ other(165) ], submitted => '2025-05-02T09:00:00Z') ],
	'P8 April amended');
# P1 Mar version 2: 90 h on GA, not authorised (an amendment of an authorised one).
setup_ok(timesheets => [ ts('P1', '2025-03-01', '2025-03-31', [ ga(90), other(75) ],
	submitted => '2025-04-10T09:00:00Z', reason => 'hours moved') ], 'P1 March amended');

# Investigators.
my @its;
# I1: 150 h on GI each month Aug 2024 - Jul 2025, and 100 h in Jul 2024 (the
# cap year before, when I1 was no investigator yet).
for my $m ('2024-07', '2024-08', '2024-09', '2024-10', '2024-11', '2024-12', '2025-01', '2025-02',
	'2025-03', '2025-04', '2025-05', '2025-06', '2025-07') {
	my $end = `date -d '$m-01 +1 month -1 day' +%F`;
	chomp $end;
	push @its, ts('I1', "$m-01", $end, [ [ 'grant', $GI, $m eq '2024-07' ? 100 : 150 ] ]);
}
# I2: 170 h on GI in Nov 2024, Dec 2024, Jan 2025.
push @its, ts('I2', '2024-11-01', '2024-11-30', [ [ 'grant', $GI, 170 ] ]),
	ts('I2', '2024-12-01', '2024-12-31', [ [ 'grant', $GI, 170 ] ]),
	ts('I2', '2025-01-01', '2025-01-31', [ [ 'grant', $GI, 170 ] ]);
# I4: 140 h on GI each month Mar - Jul 2024.
for my $m ([ '03', 31 ], [ '04', 30 ], [ '05', 31 ], [ '06', 30 ], [ '07', 31 ]) {
	push @its, ts('I4', "2024-$m->[0]-01", "2024-$m->[0]-$m->[1]", [ [ 'grant', $GI, 140 ] ]);
}
setup_ok(timesheets => \@its, 'investigators\' timesheets');

# M0 rejects P1's April timesheet.
{
	my ($s, $j) = $d->req(GET => '/v1/timesheets', token => $d->token('admin'),
		query => { person_id => 'P1', month => '2025-04' });
	my $id = $j->{timesheets}[0]{id};
	($s, $j) = $d->req(POST => "/v1/timesheets/$id/reject", token => $d->token('manager', 'M0'),
		body => { reason => 'wrong grant split' });
	is $s, 200, 'setup: M0 rejects P1 April' or diag json_encode($j);
}

# ================================================================ grant reconciliation
# RULES.md defines charged (fraction x contracted hours of M, or the hours
# given) and recorded (grant entries of G in M's latest timesheets; 0 h is no
# hours); the report's "evidenced" (docs/reports.md: min(charged, recorded)
# when every latest timesheet of the month is authorised on time and
# validly, else 0) and "unevidenced" (charged - evidenced) are effortd's own.
my $ga = grant_report($GA, $AS_OF);
my %want_rows = (
	# month       charged recorded evidenced unevidenced status
	# Jan: hours 86.25; recorded 80; authorised 10 Feb <= 31 Mar: min = 80.
	'P1 2025-01' => [ '86.25', '80.00', '80.00', '6.25', 'authorised' ],
	# Feb: 0.5 x 150 (20 weekdays x 7.5) = 75; recorded 40 + 30 = 70 over
	# both timesheets; the second unauthorised: evidenced 0.
	'P1 2025-02' => [ '75.00', '70.00', '0.00', '75.00', 'submitted' ],
	# Mar: only the latest version counts: 90 (not v1's 100), unauthorised.
	'P1 2025-03' => [ '90.00', '90.00', '0.00', '90.00', 'submitted' ],
	# Apr: rejected: its hours are still recorded, nothing evidenced.
	'P1 2025-04' => [ '50.00', '50.00', '0.00', '50.00', 'rejected' ],
	# May: authorised 00:30 BST on 1 Aug, deadline 31 Jul: late, 0 evidenced.
	'P1 2025-05' => [ '60.00', '60.00', '0.00', '60.00', 'authorised' ],
	# Jun: authorised 23:30 BST on 31 Aug, the deadline: min(65, 70) = 65.
	'P1 2025-06' => [ '65.00', '70.00', '65.00', '0.00', 'authorised' ],
	# Jul: a 0 h entry is no hours: min(20, 0) = 0.
	'P1 2025-07' => [ '20.00', '0.00', '0.00', '20.00', 'authorised' ],
	# Aug: hours, no charge: min(0, 40) = 0, nothing unevidenced.
	'P1 2025-08' => [ '0.00', '40.00', '0.00', '0.00', 'authorised' ],
	# Sep: a charge, no timesheet.
	'P1 2025-09' => [ '30.00', '0.00', '0.00', '30.00', 'missing' ],
	# P2 employed from Wed 15 Jan: 13 weekdays; 0.5 FTE: 18.75 x 13 / 5 =
	# 48.75 contracted; charge 0.5 x 48.75 = 24.375 -> 24.38; min = 20.
	'P2 2025-01' => [ '24.38', '20.00', '20.00', '4.38', 'authorised' ],
	# P3 0.123457 x 172.5 = 21.2963325 -> 21.30; x 150 = 18.51855 -> 18.52.
	'P3 2025-01' => [ '21.30', '0.00', '0.00', '21.30', 'missing' ],
	'P3 2025-02' => [ '18.52', '0.00', '0.00', '18.52', 'missing' ],
	# P5: 10 h recorded without assignment or charge.
	'P5 2025-03' => [ '0.00', '10.00', '0.00', '0.00', 'authorised' ],
	# P5: a charge of fte_fraction 0: 0 h, a row, no finding.
	'P5 2025-04' => [ '0.00', '0.00', '0.00', '0.00', 'missing' ],
);
for my $k (sort keys %want_rows) {
	my ($pid, $m) = split / /, $k;
	is_deeply fig(row($ga, $pid, $m)), $want_rows{$k}, "GA as of $AS_OF: $k charged/recorded/evidenced/unevidenced/status";
}
is_deeply [ map { my $p = $_; map { "$p->{person_id} $_->{month}" } @{ $p->{months} } } @{ $ga->{people} } ],
	[ sort keys %want_rows ], 'GA: exactly those rows (no October: not ended; none before 2025; no P8: superseded hours)';
is row($ga, 'P1', '2025-02')->{deadline}, '2025-04-30', 'GA P1 Feb: deadline of the later timesheet (14 Apr, 30 Apr)';
is row($ga, 'P1', '2025-02')->{authorised_at}, '2025-02-20T09:00:00+00:00', 'GA P1 Feb: authorised_at of the authorised one';
is row($ga, 'P1', '2025-02')->{submitted_at}, '2025-02-28T18:00:00+00:00', 'GA P1 Feb: submitted_at of the later one';
ok !row($ga, 'P1', '2025-05')->{evidence_ok}, 'GA P1 May: evidence_ok false (late)';
# The dates the deadline is judged by: Europe/London's.
is_deeply [ @{ row($ga, 'P1', '2025-05') }{qw(authorised_at authorised_on deadline)} ],
	[ '2025-07-31T23:30:00+00:00', '2025-08-01', '2025-07-31' ], 'GA P1 May: authorised 00:30 BST on 1 Aug (authorised_on), after the deadline';
is_deeply [ @{ row($ga, 'P1', '2025-06') }{qw(authorised_on deadline)} ], [ '2025-08-31', '2025-08-31' ],
	'GA P1 Jun: authorised_on 31 Aug, the deadline';
is_deeply [ @{ row($ga, 'P1', '2025-02') }{qw(submitted_on authorised_on)} ], [ '2025-02-28', '2025-02-20' ],
	'GA P1 Feb: submitted_on and authorised_on';
is_deeply [ @{ row($ga, 'P1', '2025-09') }{qw(submitted_on authorised_on)} ], [ undef, undef ],
	'GA P1 Sep (no timesheet): submitted_on and authorised_on null';
ok row($ga, 'P1', '2025-06')->{evidence_ok}, 'GA P1 Jun: evidence_ok true (authorised in the deadline\'s last hour)';
is row($ga, 'P1', '2025-09')->{deadline}, '2025-11-30', 'GA P1 Sep (no timesheet): deadline 30 Nov';
is scalar(@{ row($ga, 'P1', '2025-02')->{timesheets} }), 2, 'GA P1 Feb: both timesheets listed';
is row($ga, 'P1', '2025-03')->{timesheets}[0]{version}, 2, 'GA P1 Mar: the latest version (2) listed';

# Person totals add the rows as shown (P3: 21.30 + 18.52 = 39.82; the
# exact sum 21.2963325 + 18.51855 = 39.8148825 would round to 39.81: RULES.md
# rounds each finding's hours and says nothing of report totals;
# docs/reports.md adds the rounded rows).
# P1: charged 86.25+75+90+50+60+65+20+0+30 = 476.25; recorded
# 80+70+90+50+60+70+0+40+0 = 460; evidenced 80+65 = 145; unevidenced 331.25.
my %want_people = (
	P1 => [ '476.25', '460.00', '145.00', '331.25' ],
	P2 => [ '24.38', '20.00', '20.00', '4.38' ],
	P3 => [ '39.82', '0.00', '0.00', '39.82' ],
	P5 => [ '0.00', '10.00', '0.00', '0.00' ],
);
is_deeply tot(person($ga, $_)), $want_people{$_}, "GA: person total of $_" for sort keys %want_people;
is person($ga, 'P1')->{name}, 'Smith, "Jo"', 'GA: names as sent';
# Grant: 476.25 + 24.38 + 39.82 = 540.45 charged; 460 + 20 + 10 = 490
# recorded; 145 + 20 = 165 evidenced; 540.45 - 165 = 375.45.
is_deeply tot($ga->{totals}), [ '540.45', '490.00', '165.00', '375.45' ], 'GA: grant totals';
# Months: Jan 86.25 + 24.38 + 21.30 = 131.93 charged, 80 + 20 = 100
# evidenced; Feb 75 + 18.52 = 93.52; Mar 90 + 0, recorded 90 + 10 = 100.
is_deeply { map { $_->{month} => tot($_) } @{ $ga->{months} } }, {
	'2025-01' => [ '131.93', '100.00', '100.00', '31.93' ],
	'2025-02' => [ '93.52', '70.00', '0.00', '93.52' ],
	'2025-03' => [ '90.00', '100.00', '0.00', '90.00' ],
	'2025-04' => [ '50.00', '50.00', '0.00', '50.00' ],
	'2025-05' => [ '60.00', '60.00', '0.00', '60.00' ],
	'2025-06' => [ '65.00', '70.00', '65.00', '0.00' ],
	'2025-07' => [ '20.00', '0.00', '0.00', '20.00' ],
	'2025-08' => [ '0.00', '40.00', '0.00', '0.00' ],
	'2025-09' => [ '30.00', '0.00', '0.00', '30.00' ],
}, 'GA: monthly totals';

# Findings: the charge findings are charged - recorded of each row (above
# 0.5 h), the authorisation ones are those of the rows' months.
{
	my %have = map { $_ => 1 } @{ finding_keys($ga) };
	for my $f (
		# 86.25 - 80
		"unevidenced_charge violation P1 $GA 2025-01-01 6.25",
		# 75 - 70
		"unevidenced_charge violation P1 $GA 2025-02-01 5.00",
		"activity_missing violation P1 $GA 2025-07-01 20.00",
		"activity_missing violation P1 $GA 2025-09-01 30.00",
		# 24.375 - 20 = 4.375 -> 4.38
		"unevidenced_charge violation P2 $GA 2025-01-01 4.38",
		"activity_missing violation P3 $GA 2025-01-01 21.30",
		"activity_missing violation P3 $GA 2025-02-01 18.52",
		"unassigned_grant_hours violation P5 $GA 2025-03-01 10.00",
		# 75 h, deadline 30 Apr passed
		"authorisation_overdue violation P1 - 2025-02-15 75.00",
		# version 2: 90 + 75 = 165 h, deadline 31 May passed
		"authorisation_overdue violation P1 - 2025-03-01 165.00",
		# rejected: not authorised, deadline 30 Jun passed
		"authorisation_overdue violation P1 - 2025-04-01 165.00",
		"authorisation_late violation P1 - 2025-05-01 165.00",
		# Sep: 22 weekdays x 7.5 = 165, deadline 30 Nov ahead
		"timesheet_missing warning P1 - 2025-09-01 165.00",
	) {
		ok $have{$f}, "GA findings: $f";
	}
	my @other = grep { /^(unevidenced_charge|activity_missing)/ && !/ 2025-0[1279]-01 / } keys %have;
	is_deeply \@other, [], 'GA findings: no other charge finding (Mar 90 = 90, Jun 65 < 70, P5 Apr 0 h)';
	ok !grep({ / P8 / } keys %have), 'GA findings: none of P8 (hours on GA only in a superseded version)';
	# P1's 2024 months (timesheet_missing: DI on GA from January 2024, no
	# timesheets) have no row: their findings are not the report's.
	ok !grep({ / P1 - 2024-/ } keys %have), 'GA findings: none of P1 in 2024 (no row in 2024)';
	ok $have{'timesheet_missing violation P3 - 2025-01-01 172.50'}, 'GA findings: P3 January timesheet_missing (23 x 7.5 = 172.5)';
	ok !grep({ / P3 - 2025-03-/ } keys %have), 'GA findings: none of P3 in March (no row in March)';

	# HTML: the same totals, the names as sent (escaped, no formula guard).
	my ($s, $html) = get('/v1/reports/grants/' . enc($GA), as_of => $AS_OF, format => 'html');
	is $s, 200, 'GA HTML: 200';
	like $html, qr{<td class="nw">2025-05</td>.*<td class="nw">2025-08-01</td><td class="nw">2025-07-31</td></tr>},
		'GA HTML: P1 May authorised 2025-08-01 (London), deadline 2025-07-31, as the finding says';
	# PX's salary share of March: listed apart, in no figure (no PX row,
	# the totals above unchanged); October's has not ended.
	is_deeply $ga->{unconverted_charges}, [ { person_id => 'PX', month => '2025-03', fte_fraction => 0.25 } ],
		'GA: PX\'s March charge of 0.25 of salary listed as unconverted';
	ok !row($ga, 'PX', '2025-03'), '... with no row of its own';
	like $html, qr{<h2>Charges not in these figures</h2>.*<td class="nw">PX</td><td class="nw">2025-03</td><td[^>]*>0\.25</td>}s,
		'GA HTML: PX 2025-03 0.25 under "Charges not in these figures"';
	ok $html =~ /540\.45/ && $html =~ /375\.45/ && $html =~ /165\.00/, 'GA HTML: the grant totals 540.45, 165.00, 375.45';
	ok $html =~ /Smith, (?:&quot;|&#34;|")Jo(?:&quot;|&#34;|")/, 'GA HTML: Smith, "Jo" escaped';
	ok $html =~ /=Formula, Person/ && $html !~ /'=Formula/, 'GA HTML: =Formula, Person unchanged';
}

# ---------------------------------------------------------------- empty grant, outside period
{
	my $ge = grant_report($GE, $AS_OF);
	is_deeply [ $ge->{people}, $ge->{months}, $ge->{findings}, $ge->{unconverted_charges} ], [ [], [], [], [] ],
		'GE (nobody on it): no rows, months, findings or unconverted charges';
	is_deeply tot($ge->{totals}), [ '0.00', '0.00', '0.00', '0.00' ], 'GE: totals 0';
	my ($rows) = csv_report('/v1/reports/grants/' . enc($GE), as_of => $AS_OF);
	is_deeply [ map { "$_->{row_type} $_->{charged}" } @$rows ], [ 'grant_total 0.00' ], 'GE CSV: only the grant total row, 0.00';

	# P6: 12 h charged and recorded on GP in Feb 2025, before GP starts
	# (1 Mar), authorised on time.  RULES.md: "costs outside the Grant
	# Period cannot be charged" (outside_grant_period, 12 h); the report's
	# evidenced figure is docs/reports.md's own, which does not look at the
	# grant period: 12 h evidenced.
	my $gp = grant_report($GP, $AS_OF);
	is_deeply fig(row($gp, 'P6', '2025-02')), [ '12.00', '12.00', '12.00', '0.00', 'authorised' ],
		'GP P6 Feb (before the grant period): 12 charged, 12 recorded, 12 evidenced (docs: the period is not looked at)';
	my %have = map { $_ => 1 } @{ finding_keys($gp) };
	ok $have{"outside_grant_period violation P6 $GP 2025-02-01 12.00"}, 'GP findings: outside_grant_period 12 h';
	ok $have{"unassigned_grant_hours violation P6 $GP 2025-02-01 12.00"}, 'GP findings: unassigned_grant_hours 12 h (assignment from March)';
}

# ---------------------------------------------------------------- as_of
{
	# Before any data: no row (the first charges and timesheets are of 2025).
	my $r = grant_report($GA, '2024-06-01');
	is_deeply [ $r->{people}, tot($r->{totals}) ], [ [], [ '0.00', '0.00', '0.00', '0.00' ] ],
		'GA as of 2024-06-01 (before the data): no rows, totals 0';
	# 31 Jan 2025: January's last day is not before as_of: not ended.
	$r = grant_report($GA, '2025-01-31');
	is_deeply $r->{people}, [], 'GA as of 2025-01-31: January not ended, no rows';
	# 1 Feb 2025: January ended; P1's authorisation of 10 Feb counts (as_of
	# does not rewind the data): 86.25 + 24.38 + 21.30 = 131.93 charged,
	# 80 + 20 evidenced.
	$r = grant_report($GA, '2025-02-01');
	is_deeply [ map { "$_->{person_id}:" . scalar @{ $_->{months} } } @{ $r->{people} } ], [ 'P1:1', 'P2:1', 'P3:1' ],
		'GA as of 2025-02-01: January rows only';
	is_deeply tot($r->{totals}), [ '131.93', '100.00', '100.00', '31.93' ], 'GA as of 2025-02-01: totals';
	is_deeply fig(row($r, 'P1', '2025-01')), $want_rows{'P1 2025-01'}, 'GA as of 2025-02-01: P1 Jan authorised (recorded later) and evidenced';

	# The day P1's second February timesheet's deadline (30 Apr) is reached
	# and the day after: due (warning, the deadline is not passed on its own
	# day) then overdue.
	$r = grant_report($GA, '2025-04-30');
	my %have = map { $_ => 1 } @{ finding_keys($r) };
	ok $have{'authorisation_due warning P1 - 2025-02-15 75.00'}, 'GA as of 2025-04-30: authorisation_due (deadline today)';
	ok !$have{'authorisation_overdue violation P1 - 2025-02-15 75.00'}, '... not overdue';
	is_deeply fig(row($r, 'P1', '2025-02')), $want_rows{'P1 2025-02'}, '... the February row as of 2025-04-30';
	ok !row($r, 'P1', '2025-04'), '... April not ended on 30 April';
	$r = grant_report($GA, '2025-05-01');
	%have = map { $_ => 1 } @{ finding_keys($r) };
	ok $have{'authorisation_overdue violation P1 - 2025-02-15 75.00'}, 'GA as of 2025-05-01: authorisation_overdue';
	ok row($r, 'P1', '2025-04'), '... April ended';

	# October's 10 h charge: not on 31 Oct (the month has not ended), on 1 Nov.
	$r = grant_report($GA, '2025-10-31');
	ok !row($r, 'P1', '2025-10'), 'GA as of 2025-10-31: no October row';
	$r = grant_report($GA, '2025-11-01');
	is_deeply fig(row($r, 'P1', '2025-10')), [ '10.00', '0.00', '0.00', '10.00', 'missing' ], 'GA as of 2025-11-01: October 10 h charged, missing';
	is_deeply tot($r->{totals}), [ '550.45', '490.00', '165.00', '385.45' ], '... totals + 10 h';
	# A future as_of: the same rows (no more data).
	$r = grant_report($GA, '2030-01-01');
	is_deeply tot($r->{totals}), [ '550.45', '490.00', '165.00', '385.45' ], 'GA as of 2030-01-01: the same totals';
}

# ================================================================ investigator cap
{
	# Cap year 2024: 2024-08-01 .. 2025-07-31, 365 days.  As of 2025-08-01
	# all 12 months ended.
	# I1: 1.0 FTE, 150 h x 12 = 1800 against 1650: exceeded, 150 (July
	#     2024's 100 h are of the cap year before).
	# I2: 0.8 FTE employed from 1 Nov 2024: 273 of 365 days; cap 1650 x 0.8 x
	#     273 / 365 = 987.2876712 -> 987.29; 3 x 170 = 510; headroom 477.29.
	# I3: DA, 400 h a year from 1 Jan 2025: 212 of 365 days: 400 x 212 / 365 =
	#     232.3287671 -> 232.33; headroom 1650 - 232.3287671 = 1417.67.
	# I4: co_i until 31 Jul 2024: not an investigator in this cap year.
	my $r = inv_report(2024, '2025-08-01');
	is_deeply [ map { $_->{person_id} } @{ $r->{investigators} } ], [ 'I1', 'I2', 'I3', 'I5' ], 'cap 2024 as of 2025-08-01: I1, I2, I3, I5';
	is_deeply capfig(inv($r, 'I1')), [ '1650.00', '1800.00', '-150.00', 12, '1800.00', '1800.00', 'investigator_cap_exceeded', '150.00' ], '... I1 exceeded by 150';
	is_deeply capfig(inv($r, 'I2')), [ '987.29', '510.00', '477.29', 12, '510.00', '510.00', 'none', 'null' ], '... I2 part year at 0.8 FTE';
	is_deeply [ inv($r, 'I2')->{employed_days}, inv($r, 'I2')->{year_days} ], [ 273, 365 ], '... I2 273 of 365 days';
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '232.33', '1417.67', 12, '232.33', '232.33', 'none', 'null' ], '... I3 DA estimate for 212 days';
	is_deeply [ map { "$_->{grant_ref} $_->{source} " . h2($_->{hours}) } @{ inv($r, 'I3')->{grants} } ], [ "$GD estimate 232.33" ], '... I3 grants: the estimate';
	# I5: two DA estimates for 212 days: 400 x 212 / 365 = 232.3287671 ->
	# 232.33 and 104 x 212 / 365 = 60.4054795 -> 60.41; their sum
	# 292.7342466 -> 292.73 (the rows as shown add to 292.74: the cap figures
	# are the exact sums RULES.md compares with the cap, rounded once);
	# headroom 1650 - 292.7342466 = 1357.2657534 -> 1357.27.
	is_deeply [ map { "$_->{grant_ref} $_->{source} " . h2($_->{hours}) } @{ inv($r, 'I5')->{grants} } ],
		[ "$GD estimate 232.33", "$GI estimate 60.41" ], '... I5 two estimates, each rounded';
	is_deeply capfig(inv($r, 'I5')), [ '1650.00', '292.73', '1357.27', 12, '292.73', '292.73', 'none', 'null' ],
		'... I5 grant hours the rounded exact sum (292.73, not 232.33 + 60.41 = 292.74)';

	# As of 2025-02-01: n = 6 (Aug - Jan).
	# I1: all 1800 h count (as_of does not rewind the data): exceeded; ended
	#     months 6 x 150 = 900, projection 900 / 6 x 12 = 1800.
	# I2: 510 h in the ended months; 510 / 6 x 12 = 1020 > 987.2876712:
	#     projected, 1020 - 987.2876712 = 32.7123288 -> 32.71.
	# I3: ended days 1 - 31 Jan = 31: 400 x 31 / 365 = 33.9726027 -> 33.97;
	#     projection 33.9726027 / 6 x 12 = 67.9452055 -> 67.95.
	$r = inv_report(2024, '2025-02-01');
	is $r->{ended_months}, 6, 'cap 2024 as of 2025-02-01: 6 months ended';
	is_deeply capfig(inv($r, 'I1')), [ '1650.00', '1800.00', '-150.00', 6, '900.00', '1800.00', 'investigator_cap_exceeded', '150.00' ], '... I1 exceeded (later months count)';
	is_deeply capfig(inv($r, 'I2')), [ '987.29', '510.00', '477.29', 6, '510.00', '1020.00', 'investigator_cap_projected', '32.71' ], '... I2 projected over by 32.71';
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '232.33', '1417.67', 6, '33.97', '67.95', 'none', 'null' ], '... I3 projection from the days of January only';

	# As of 2025-03-15: n = 7; I3 ended days 1 Jan - 28 Feb = 59: 400 x 59 /
	# 365 = 64.6575342 -> 64.66; / 7 x 12 = 110.8414873 -> 110.84.
	# As of 2024-12-01: n = 4 (Aug - Nov).  I2, employed from 1 Nov, has
	# 170 h in the ended months: 170 / 4 x 12 = 510 (RULES.md counts the
	# ended months of the cap year, employed or not: the months before the
	# employment dilute the run rate; the cap is pro rata instead).
	# I3, DA from 1 Jan 2025: no ended day inside the assignment: 0.
	$r = inv_report(2024, '2024-12-01');
	is_deeply capfig(inv($r, 'I2')), [ '987.29', '510.00', '477.29', 4, '170.00', '510.00', 'none', 'null' ], 'cap 2024 as of 2024-12-01: I2 170 / 4 x 12 = 510';
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '232.33', '1417.67', 4, '0.00', '0.00', 'none', 'null' ], '... I3 (DA from January) investigator already, 0 h ended';

	$r = inv_report(2024, '2025-03-15');
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '232.33', '1417.67', 7, '64.66', '110.84', 'none', 'null' ], 'cap 2024 as of 2025-03-15: I3 7 months, 59 days';

	# As of 2025-07-31, the year's last day: n = 11 (July not ended).
	# I2: 510 / 11 x 12 = 556.3636364 -> 556.36.
	# I3: ended days 1 Jan - 30 Jun = 181: 400 x 181 / 365 = 198.3561644 ->
	#     198.36; / 11 x 12 = 216.3885430 -> 216.39.
	$r = inv_report(2024, '2025-07-31');
	is_deeply capfig(inv($r, 'I2')), [ '987.29', '510.00', '477.29', 11, '510.00', '556.36', 'none', 'null' ], 'cap 2024 as of its last day: I2 n = 11';
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '232.33', '1417.67', 11, '198.36', '216.39', 'none', 'null' ], '... I3 181 days ended';

	# As of 2024-08-01: the year started, no month ended: n = 0, no projection.
	# I1 already exceeded by the data recorded later.
	$r = inv_report(2024, '2024-08-01');
	is_deeply capfig(inv($r, 'I1')), [ '1650.00', '1800.00', '-150.00', 0, '0.00', 'null', 'investigator_cap_exceeded', '150.00' ], 'cap 2024 as of its first day: I1 n = 0, no projection, exceeded';
	# As of 2024-07-31: the year starts after as_of: not evaluated (no finding).
	$r = inv_report(2024, '2024-07-31');
	is_deeply capfig(inv($r, 'I1')), [ '1650.00', '1800.00', '-150.00', 0, '0.00', 'null', 'none', 'null' ], 'cap 2024 as of the day before: figures, no finding';

	# Cap year 2023: 2023-08-01 .. 2024-07-31, 366 days (29 Feb 2024).  I4
	# employed from 1 Mar 2024: 153 days; cap 1650 x 153 / 366 = 689.7540984
	# -> 689.75; 5 x 140 = 700; exceeded by 10.2459016 -> 10.25.  I1's July
	# 2024 hours are in this year but I1 is no investigator in it.
	$r = inv_report(2023, '2024-09-01');
	is_deeply [ map { $_->{person_id} } @{ $r->{investigators} } ], [ 'I4' ], 'cap 2023: only I4';
	is_deeply capfig(inv($r, 'I4')), [ '689.75', '700.00', '-10.25', 12, '700.00', '700.00', 'investigator_cap_exceeded', '10.25' ], '... I4 366-day year, 153 days employed';
	is_deeply [ inv($r, 'I4')->{employed_days}, inv($r, 'I4')->{year_days} ], [ 153, 366 ], '... 153 of 366 days';

	# A future cap year (2025, starting 1 Aug 2025) as of 2025-03-15: I2 (open
	# to GI's end) and I3 (to GD's end 2026-12-31); I3's estimate for the
	# whole year is 400; nothing ended, no finding.
	$r = inv_report(2025, '2025-03-15');
	is_deeply [ map { $_->{person_id} } @{ $r->{investigators} } ], [ 'I2', 'I3' ], 'cap 2025 as of 2025-03-15: I2, I3';
	is_deeply capfig(inv($r, 'I2')), [ '1320.00', '0.00', '1320.00', 0, '0.00', 'null', 'none', 'null' ], '... I2 0.8 x 1650';
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '400.00', '1250.00', 0, '0.00', 'null', 'none', 'null' ], '... I3 a full year\'s estimate';
	# Cap year 2026: I3's DA assignment to 31 Dec 2026: 153 of 365 days:
	# 400 x 153 / 365 = 167.6712329 -> 167.67.
	$r = inv_report(2026, '2025-03-15');
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '167.67', '1482.33', 0, '0.00', 'null', 'none', 'null' ], 'cap 2026: I3 estimate for 153 days';
	# I2's open-ended assignment runs to GI's end (31 Dec 2027): an
	# investigator in cap year 2027 (1 Aug 2027 - 31 Jul 2028), not in 2028.
	$r = inv_report(2027, '2025-03-15');
	is_deeply [ map { $_->{person_id} } @{ $r->{investigators} } ], [ 'I2' ], 'cap 2027: I2 (open-ended, to the grant\'s end)';
	is_deeply [ $r->{cap_year_start}, $r->{cap_year_end}, inv($r, 'I2')->{year_days} ], [ '2027-08-01', '2028-07-31', 366 ], '... 2027-08-01 .. 2028-07-31, 366 days';
	$r = inv_report(2028, '2025-03-15');
	is_deeply $r->{investigators}, [], 'cap 2028: nobody (I2\'s assignment ended with the grant)';
	# A year nobody overlaps.
	$r = inv_report(2030, '2025-03-15');
	is_deeply $r->{investigators}, [], 'cap 2030: no investigators';
}

# ================================================================ CSV against JSON
{
	my $path = '/v1/reports/grants/' . enc($GA);
	my ($rows, $raw) = csv_report($path, as_of => $AS_OF);
	my @months = grep { $_->{row_type} eq 'month' } @$rows;
	is_deeply [ map { "$_->{person_id} $_->{month}" } @months ], [ sort keys %want_rows ], 'GA CSV: the same person-month rows as JSON';
	my $bad = 0;
	for my $c (@months) {
		my $w = $want_rows{"$c->{person_id} $c->{month}"};
		my $got = [ @{$c}{qw(charged recorded evidenced unevidenced status)} ];
		is_deeply $got, $w, "GA CSV $c->{person_id} $c->{month}: same figures" or $bad++;
	}
	is_deeply [ map { "$_->{person_id} " . join(' ', @{$_}{qw(charged recorded evidenced unevidenced)}) }
			grep { $_->{row_type} eq 'person_total' } @$rows ],
		[ map { "$_ @{ $want_people{$_} }" } sort keys %want_people ], 'GA CSV: person totals as JSON';
	my ($gt) = grep { $_->{row_type} eq 'grant_total' } @$rows;
	is join(' ', @{$gt}{qw(charged recorded evidenced unevidenced)}), '540.45 490.00 165.00 375.45', 'GA CSV: grant total as JSON';
	my ($p1) = grep { $_->{person_id} eq 'P1' } @months;
	is $p1->{name}, 'Smith, "Jo"', 'GA CSV: a name with a comma and quotes reads back';
	like $raw, qr/,"Smith, ""Jo""",/, '... quoted, the quotes doubled';
	my ($p2) = grep { $_->{person_id} eq 'P2' } @months;
	is $p2->{name}, q('=Formula, Person), 'GA CSV: a name starting with = gets a leading quote';
	is_deeply [ map { [ @{$_}{qw(submitted_at authorised_at deadline)} ] } grep { $_->{person_id} eq 'P1' } @months ],
		[ map { [ map { $_ // '' } @{$_}{qw(submitted_at authorised_at deadline)} ] } @{ person($ga, 'P1')->{months} } ],
		'GA CSV: P1\'s submitted_at, authorised_at and deadline as JSON';
	is_deeply [ map { $_->{evidence_ok} } grep { $_->{person_id} eq 'P1' } @months ],
		[ qw(yes no no no no yes yes yes no) ], 'GA CSV: evidence yes/no as JSON\'s evidence_ok (Jul, Aug: authorised on time, whatever the hours)';

	# Investigators, cap year 2024 as of 2025-02-01.
	my $j = inv_report(2024, '2025-02-01');
	($rows) = csv_report('/v1/reports/investigators', year => 2024, as_of => '2025-02-01');
	my @inv = grep { $_->{row_type} eq 'investigator' } @$rows;
	is_deeply [ map { [ @{$_}{qw(person_id cap grant_hours headroom ended_months ended_months_hours projection finding finding_hours)} ] } @inv ],
		[ map { my $f = capfig(inv($j, $_)); [ $_, map { $_ eq 'null' ? '' : $_ eq 'none' ? '' : $_ } @$f ] } qw(I1 I2 I3 I5) ],
		'investigators CSV: the same figures as JSON';
	is_deeply [ map { [ @{$_}{qw(person_id employed_days year_days)} ] } @inv ],
		[ [ 'I1', 365, 365 ], [ 'I2', 273, 365 ], [ 'I3', 365, 365 ], [ 'I5', 365, 365 ] ],
		'investigators CSV: days';
	is_deeply [ map { "$_->{person_id} $_->{grant_ref} $_->{source} $_->{hours}" } grep { $_->{row_type} eq 'grant' } @$rows ],
		[ "I1 $GI timesheets 1800.00", "I2 $GI timesheets 510.00", "I3 $GD estimate 232.33",
		  "I5 $GD estimate 232.33", "I5 $GI estimate 60.41" ],
		'investigators CSV: grant rows';
	is_deeply [ map { $_->{fte} } @{ $j->{investigators} } ], [ 1, 0.8, 1, 1 ], 'investigators JSON: FTE 0.8 as sent';
	{
		# The CSV and HTML cells of a non-hours number (fte) were written by
		# report_cell (daemon/api-report-csv.c) at jansson's default 17
		# significant digits, while the JSON body is written with 15
		# (http-server.c): 0.8 became 0.80000000000000004 in CSV and HTML.
		is $inv[1]{fte}, '0.8', 'investigators CSV: I2 FTE 0.8 as in JSON';
		my ($s, $html) = get('/v1/reports/investigators', year => 2024, as_of => '2025-02-01', format => 'html');
		ok $html !~ /0\.80000000000000004/, 'investigators HTML: I2 FTE not 0.80000000000000004';
		like $html, qr/>0\.8</, 'investigators HTML: I2 FTE 0.8';
	}
}

# ================================================================ effortctl report
{
	my $tok = { token => $reviewer };
	my ($rc, $out, $err) = effortctl($d, $tok, 'report', 'grant', $GA, '--as-of', $AS_OF);
	is $rc, 0, 'effortctl report grant: exit 0' or diag $err;
	my $j = eval { EffortTest::json_decode(Encode::encode('UTF-8', $out)) };
	is_deeply $j, $ga, 'effortctl report grant: the same document as the API';
	($rc, $out, $err) = effortctl($d, $tok, 'report', 'grant', $GA, '--as-of', $AS_OF, '--format', 'csv');
	is $rc, 0, 'effortctl report grant --format csv: exit 0' or diag $err;
	my ($s, $body, $res) = get('/v1/reports/grants/' . enc($GA), as_of => $AS_OF, format => 'csv');
	my $api = $res->{content};
	utf8::decode($api);
	is $out, $api, 'effortctl report grant --format csv: the API\'s CSV';
	($rc, $out, $err) = effortctl($d, $tok, 'report', 'investigators', '--year', '2024', '--as-of', '2025-02-01');
	is $rc, 0, 'effortctl report investigators: exit 0' or diag $err;
	$j = eval { EffortTest::json_decode(Encode::encode('UTF-8', $out)) };
	is_deeply capfig(inv($j, 'I2')), [ '987.29', '510.00', '477.29', 6, '510.00', '1020.00', 'investigator_cap_projected', '32.71' ],
		'effortctl report investigators: I2 as the API';
	($rc, $out, $err) = effortctl($d, $tok, 'report', 'grant', 'EP/NONE/1', '--as-of', $AS_OF);
	is $rc, 3, 'effortctl report grant of an unknown grant: exit 3';
}

# ================================================================ filter edges
{
	# Years at the ends of the range dates are taken in (1900-01-01 to
	# 9999-12-31): no investigator, no error; a year before it is refused
	# as a date before 1900 is.
	for my $y (1900, 9998) {
		my $r = inv_report($y, $AS_OF);
		is_deeply $r->{investigators}, [], "cap year $y: 200, no investigators";
	}
	{
		my ($s, $j) = get('/v1/reports/investigators', year => 1000, as_of => $AS_OF);
		is $s, 400, 'cap year 1000 (before 1900): 400';
		is $j->{error}, 'year must be a year YYYY from 1900 to 9999', '... saying why';
	}
	{
		# Year 9999's cap year (from August) would end in 10000, no
		# YYYY-MM-DD date (API.md "Dates YYYY-MM-DD"): refused.
		my ($s, $j) = get('/v1/reports/investigators', year => 9999, as_of => $AS_OF);
		is $s, 400, 'cap year 9999 (ending in 10000): 400';
		like $j->{error}, qr/^year must be a year YYYY whose cap year ends by 9999-12-31/, '... saying why';
	}
	# Without as_of: today in Europe/London (RULES.md "as_of").
	my $today = EffortTest::psql_value($db, "SELECT (now() AT TIME ZONE 'Europe/London')::date");
	my ($s, $j) = $d->req(GET => '/v1/reports/grants/' . enc($GE), token => $reviewer);
	is $j->{as_of}, $today, "GE without as_of: as of today in Europe/London ($today)";
	($s, $j) = get('/v1/reports/grants/' . enc($GE), as_of => '2025-02-29');
	is $s, 400, 'as_of 2025-02-29: 400';
	($s, $j) = get('/v1/reports/grants/' . enc($GE), as_of => '2024-02-29');
	is $s, 200, 'as_of 2024-02-29: 200';
	for my $a ('1900-01-01', '9999-12-31') {
		my ($s, $j) = get('/v1/reports/grants/' . enc($GE), as_of => $a);
		is $s, 200, "GE as of $a: 200" or diag(ref $j ? json_encode($j) : $j);
	}
}

# ================================================================ invalid authorisation, evidence pack
{
	# P7: 10.1 h charged and recorded on GP in March, self-authorised
	# (authorisation_invalid, 10.1 + 147.4 = 157.5 h): status authorised,
	# no evidence.  GP totals: 12 + 10.1 = 22.10 charged and recorded, 12
	# evidenced (P6), 10.10 unevidenced.
	my $gp = grant_report($GP, $AS_OF);
	is_deeply fig(row($gp, 'P7', '2025-03')), [ '10.10', '10.10', '0.00', '10.10', 'authorised' ], 'GP P7 Mar (self-authorised): nothing evidenced';
	ok !row($gp, 'P7', '2025-03')->{evidence_ok}, '... evidence_ok false';
	ok !row($gp, 'P7', '2025-03')->{timesheets}[0]{valid}, '... the timesheet not valid';
	# P6 June 2023 (before P6's assignment, timesheets and GP's period; a
	# month the engine's month range does not reach): fte_fraction 1 x 22
	# weekdays x 7.5 = 165.
	is_deeply fig(row($gp, 'P6', '2023-06')), [ '165.00', '0.00', '0.00', '165.00', 'missing' ], 'GP P6 June 2023: 1.0 x 165 h contracted';
	is row($gp, 'P6', '2023-06')->{deadline}, '2023-08-31', '... deadline 31 Aug 2023';
	# P9 March: one timesheet for 1 - 14 March, authorised on time: the
	# report evidences the 40 h (docs/reports.md's test looks at the
	# authorisations only) while the audit raises timesheet_missing for the
	# 11 weekdays 17 - 31 March (11 x 7.5 = 82.5 h, deadline 31 May passed).
	# RULES.md does not define "evidenced"; RGC 4.6 wants the month's
	# timesheets to cover the month ("the month's timesheets together must
	# cover the month"): an ambiguity, the docs' reading asserted.
	is_deeply fig(row($gp, 'P9', '2025-03')), [ '40.00', '40.00', '40.00', '0.00', 'authorised' ],
		'GP P9 March half covered: 40 h evidenced (docs: authorisations only)';
	my %hv = map { $_ => 1 } @{ finding_keys($gp) };
	ok $hv{'timesheet_missing violation P9 - 2025-03-01 82.50'}, '... while timesheet_missing 82.5 h is in its findings';
	# Totals: 165 + 12 + 10.1 + 40 = 227.10 charged, 62.10 recorded, 52
	# evidenced, 175.10 unevidenced.
	is_deeply tot($gp->{totals}), [ '227.10', '62.10', '52.00', '175.10' ], 'GP totals';
	my %have = map { $_ => 1 } @{ finding_keys($gp) };
	ok $have{'authorisation_invalid violation P7 - 2025-03-01 157.50'}, 'GP findings: authorisation_invalid 157.5 h';
	ok $have{"activity_missing violation P6 $GP 2023-06-01 165.00"}, 'GP findings: activity_missing 165 h in June 2023';

	# The evidence pack of GP: P6's, P7's and P9's versions with their grant hours.
	my $ev = get_json('/v1/reports/grants/' . enc($GP) . '/evidence', as_of => $AS_OF);
	is_deeply [ map { "$_->{person_id} $_->{period_start} v$_->{version} " . h2($_->{grant_hours}) } @{ $ev->{versions} } ],
		[ 'P6 2025-02-01 v1 12.00', 'P7 2025-03-01 v1 10.10', 'P9 2025-03-01 v1 40.00' ], 'GP evidence: the three versions with their GP hours';
	my ($rows) = csv_report('/v1/reports/grants/' . enc($GP) . '/evidence', as_of => $AS_OF);
	ok !grep({ join(',', values %$_) =~ /0999999|0000000\d/ } @$rows), 'GP evidence CSV: no 17-digit numbers';
	my ($s, $html) = get('/v1/reports/grants/' . enc($GP) . '/evidence', as_of => $AS_OF, format => 'html');
	ok $html !~ /147\.40000000000001/, 'GP evidence HTML: the audit log\'s 147.4 h not written 147.40000000000001';
	like $html, qr/147\.4\b/, 'GP evidence HTML: the audit log\'s 147.4 h';
	# The evidence pack of GA: P1's March in both versions (100 h and 90 h).
	$ev = get_json('/v1/reports/grants/' . enc($GA) . '/evidence', as_of => $AS_OF);
	is_deeply [ map { "v$_->{version} " . h2($_->{grant_hours}) . ($_->{latest} ? ' latest' : '') }
			grep { $_->{person_id} eq 'P1' && $_->{period_start} eq '2025-03-01' } @{ $ev->{versions} } ],
		[ 'v1 100.00', 'v2 90.00 latest' ], 'GA evidence: P1 March, the superseded version kept';
	is_deeply [ map { "v$_->{version} " . h2($_->{grant_hours}) . ($_->{latest} ? ' latest' : '') }
			grep { $_->{person_id} eq 'P8' } @{ $ev->{versions} } ],
		[ 'v1 15.00', 'v2 0.00 latest' ], 'GA evidence: P8 April version 2 too, which took the 15 h off GA (0 h on it)';
	my ($p8v2) = grep { $_->{person_id} eq 'P8' && $_->{version} == 2 } @{ $ev->{versions} };
	is_deeply [ map { "$_->{kind} $_->{activity} " . h2($_->{hours}) } @{ $p8v2->{entries} } ], [ 'research research 165.00' ],
		'... with its entries';
	is scalar(grep { $_->{action} eq 'created' && $_->{entity_key}{timesheet_id} eq $p8v2->{id} } @{ $ev->{audit_log} }), 1,
		'... and its audit-log row';
	is scalar(grep { $_->{person_id} eq 'P8' } @{ $ev->{versions} }), 2, '... and no other of P8';
	($rows) = csv_report('/v1/reports/grants/' . enc($GA) . '/evidence', as_of => $AS_OF);
	is_deeply [ map { "$_->{version} $_->{kind} $_->{hours}" } grep { $_->{person_id} eq 'P8' } @$rows ],
		[ '1 grant 15.00', '1 research 150.00', '2 research 165.00' ], 'GA evidence CSV: P8 version 2\'s entry too';
}

# ================================================================ compliance
{
	# Person-months of Jan - Sep 2025 as of 2025-10-15 (each once, first
	# class that applies):
	#   P1  Jan, Jun, Jul, Aug authorised on time; Feb (one unauthorised),
	#       Mar (v2), Apr (rejected) overdue; May late; Sep missing
	#   P2  Jan on time (employed from the 15th); Feb - Jun missing (5)
	#   P3  Jan - Sep missing (9)
	#   P5  Mar on time (not required: no assignment)
	#   P6  Feb on time (not required: assignment from March); Mar - Sep
	#       missing (7)
	#   P7  Mar invalid (self-authorised)
	#   P8  Apr overdue (not required; version 2 unauthorised, deadline 30 Jun)
	#   P9  Mar missing (15 - 31 March not covered)
	#   I1  Jan - Jul overdue (7); I2 Jan overdue, Feb - Sep missing (8)
	#   I3, I5  DA: none; I4: no assignment in 2025
	# required: P1 9 + P2 6 + P3 9 + P6 7 + P7 1 + P9 1 + I1 7 + I2 9 = 49;
	# submitted: P1 8 + P2 1 + P5 1 + P6 1 + P7 1 + P8 1 + P9 1 + I1 7 + I2 1
	# = 22; on time 4 + 1 + 1 + 1 = 7; late 1; invalid 1; overdue 3 + 1 + 7
	# + 1 = 12; awaiting 0; missing 1 + 5 + 9 + 7 + 1 + 8 = 31 (7 + 1 + 1 +
	# 12 + 31 = 52 = 49 required + P5 Mar + P6 Feb + P8 Apr).  (P5's April charge
	# makes no person-month.)
	my $c = get_json('/v1/reports/compliance', from => '2025-01-01', to => '2025-09-30', as_of => $AS_OF);
	my @k = qw(required submitted authorised_on_time late invalid overdue awaiting missing);
	is_deeply [ @{ $c->{organisation} }{@k} ], [ 49, 22, 7, 1, 1, 12, 0, 31 ], 'compliance Jan - Sep 2025: organisation counts';
	is_deeply [ map { [ $_->{line_manager_id}, @{$_}{@k} ] } @{ $c->{line_managers} } ],
		[ [ 'M0', 49, 22, 7, 1, 1, 12, 0, 31 ] ], '... all under M0';
	my ($rows) = csv_report('/v1/reports/compliance', from => '2025-01-01', to => '2025-09-30', as_of => $AS_OF);
	is_deeply [ map { [ @{$_}{'scope', @k} ] } @$rows ],
		[ [ 'organisation', 49, 22, 7, 1, 1, 12, 0, 31 ], [ 'line_manager', 49, 22, 7, 1, 1, 12, 0, 31 ] ],
		'compliance CSV: the same counts';
}

# ================================================================ cap years from January
{
	# rules.cap_year_start_month = 1: cap year 2024 is 1 Jan - 31 Dec 2024
	# (366 days).  As of 2025-01-15, all 12 months ended.
	#   I1: investigator from 1 Aug; grant hours of the year's months: July's
	#       100 (before I1 was one: RULES.md counts the hours of the months
	#       of the cap year) + 5 x 150 = 850; cap 1650; none.
	#   I2: employed 1 Nov - 31 Dec: 61 days; 1650 x 0.8 x 61 / 366 = 220;
	#       2 x 170 = 340: exceeded by 120.
	#   I4: employed from 1 Mar: 306 days; 1650 x 306 / 366 = 1379.5081967
	#       -> 1379.51; 700 h; headroom 679.51.
	my $d2 = start_effortd(db => $db, 'rules.cap_year_start_month' => 1);
	my $tok = $d2->token('reviewer');
	my $get = sub {
		my ($y, $a) = @_;
		my ($s, $j) = $d2->req(GET => '/v1/reports/investigators', token => $tok, query => { year => $y, as_of => $a });
		is $s, 200, "cap years from January: $y as of $a: 200";
		return $j;
	};
	my $r = $get->(2024, '2025-01-15');
	is_deeply [ $r->{cap_year_start}, $r->{cap_year_end} ], [ '2024-01-01', '2024-12-31' ], 'cap year 2024 from January: 2024-01-01 .. 2024-12-31';
	is_deeply [ map { $_->{person_id} } @{ $r->{investigators} } ], [ 'I1', 'I2', 'I4' ], '... I1, I2, I4';
	is_deeply capfig(inv($r, 'I1')), [ '1650.00', '850.00', '800.00', 12, '850.00', '850.00', 'none', 'null' ], '... I1 850 h (July included)';
	is_deeply capfig(inv($r, 'I2')), [ '220.00', '340.00', '-120.00', 12, '340.00', '340.00', 'investigator_cap_exceeded', '120.00' ], '... I2 61 of 366 days: exceeded by 120';
	is_deeply capfig(inv($r, 'I4')), [ '1379.51', '700.00', '679.51', 12, '700.00', '700.00', 'none', 'null' ], '... I4 306 of 366 days';
	# Cap year 2025 as of 2025-03-15: n = 2 (Jan, Feb), 59 days.
	#   I1: 7 x 150 = 1050; ended 300; 300 / 2 x 12 = 1800: projected, 150.
	#   I2: 170; 170 / 2 x 12 = 1020 < 1320.
	#   I3: 400 x 365 / 365 = 400; ended 400 x 59 / 365 = 64.6575342 -> 64.66;
	#       / 2 x 12 = 387.9452055 -> 387.95.
	#   I5: 292.7342466 -> 292.73; ended (400 + 104) x 59 / 365 = 81.4684932
	#       -> 81.47; / 2 x 12 = 488.8109589 -> 488.81.
	$r = $get->(2025, '2025-03-15');
	is_deeply [ map { $_->{person_id} } @{ $r->{investigators} } ], [ 'I1', 'I2', 'I3', 'I5' ], 'cap year 2025 from January: I1, I2, I3, I5';
	is_deeply capfig(inv($r, 'I1')), [ '1650.00', '1050.00', '600.00', 2, '300.00', '1800.00', 'investigator_cap_projected', '150.00' ], '... I1 projected over by 150';
	is_deeply capfig(inv($r, 'I2')), [ '1320.00', '170.00', '1150.00', 2, '170.00', '1020.00', 'none', 'null' ], '... I2';
	is_deeply capfig(inv($r, 'I3')), [ '1650.00', '400.00', '1250.00', 2, '64.66', '387.95', 'none', 'null' ], '... I3';
	is_deeply capfig(inv($r, 'I5')), [ '1650.00', '292.73', '1357.27', 2, '81.47', '488.81', 'none', 'null' ], '... I5';
	$d2->stop;
}

# ================================================================ other settings
{
	# rules.timezone America/New_York and rules.standard_weekly_hours 35.
	# P1 May: authorised 2025-07-31T23:30Z = 19:30 EDT on 31 Jul, the
	# deadline: on time, evidenced min(60, 60) = 60.
	# fte_fraction charges at 35 h a week: P1 Feb 0.5 x 35 x 20 / 5 = 70
	# (recorded 70: no unevidenced_charge); P2 Jan 0.5 FTE x 35 x 13 / 5 =
	# 45.5, x 0.5 = 22.75, evidenced min(22.75, 20) = 20; P3 Jan 0.123457 x
	# 161 = 19.876577 -> 19.88, Feb 0.123457 x 140 = 17.28398 -> 17.28.
	# Totals: P1 86.25 + 70 + 90 + 50 + 60 + 65 + 20 + 0 + 30 = 471.25, P2
	# 22.75, P3 37.16: 531.16 charged; 490 recorded; evidenced P1 80 + 60 +
	# 65 = 205 + P2 20 = 225; unevidenced 531.16 - 225 = 306.16.
	my $d3 = start_effortd(db => $db, 'rules.timezone' => 'America/New_York', 'rules.standard_weekly_hours' => 35);
	my $tok = $d3->token('reviewer');
	my ($s, $r) = $d3->req(GET => '/v1/reports/grants/' . enc($GA), token => $tok, query => { as_of => $AS_OF });
	is $s, 200, 'New York, 35 h: GA report 200';
	is_deeply fig(row($r, 'P1', '2025-05')), [ '60.00', '60.00', '60.00', '0.00', 'authorised' ], 'New York: P1 May authorised 19:30 EDT on the deadline: on time';
	is_deeply fig(row($r, 'P1', '2025-02')), [ '70.00', '70.00', '0.00', '70.00', 'submitted' ], '35 h: P1 Feb 0.5 x 140 = 70';
	is_deeply fig(row($r, 'P2', '2025-01')), [ '22.75', '20.00', '20.00', '2.75', 'authorised' ], '35 h: P2 Jan 0.5 x 45.5 = 22.75';
	is_deeply [ map { h2(row($r, 'P3', $_)->{charged}) } '2025-01', '2025-02' ], [ '19.88', '17.28' ], '35 h: P3 19.88, 17.28';
	is_deeply tot($r->{totals}), [ '531.16', '490.00', '225.00', '306.16' ], 'New York, 35 h: GA totals';
	my %have = map { $_ => 1 } @{ finding_keys($r) };
	ok !grep({ /^unevidenced_charge violation P1 \S+ 2025-02-01/ } keys %have), '35 h: no unevidenced_charge for P1 Feb (70 = 70)';
	ok !grep({ /^authorisation_late violation P1 - 2025-05-01/ } keys %have), 'New York: no authorisation_late for P1 May';
	my $today = EffortTest::psql_value($db, "SELECT (now() AT TIME ZONE 'America/New_York')::date");
	($s, $r) = $d3->req(GET => '/v1/reports/grants/' . enc($GE), token => $tok);
	is $r->{as_of}, $today, "New York: without as_of, today there ($today)";
	$d3->stop;
}

done_testing;
