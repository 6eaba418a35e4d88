# A fourth check of the audit rules on corners the earlier ones
# (rules_edges2.t, rules_edges3.t, model.t, tests/sql/rules_*.sql) leave
# out, against the model of the rulebook (tests/lib/RulesModel.pm) at every
# date given and, where the figure is the point, against hours worked out by
# hand from RULES.md (the arithmetic is in the comments).  Every
# organisation is built through the real feeds of a real effortd.
#
# Corners: tolerances other than the default exactly at, a hundredth over
# and less than half a hundredth over their bound (compared exactly, then
# rounded: docs/rules.md reading 3), with 36.25-hour weeks and FTEs of 6
# decimals; parental and other leave making up the all-hours total; a month
# that needs a timesheet through a DI assignment lying wholly before the
# employment starts, and a 100 % exemption undone by an assignment starting
# after the employment ended (reading 2); fractions charged summing to
# exactly the contracted hours of a part-employed month, and a millionth
# over; organisation time zones other than London and UTC (13 h ahead with
# southern summer time, 4-5 h behind, 5 h 30 ahead): on time or late, signed
# before or after the period end, an HR delegation's first and last local
# day; three months to authorise with 45 days' reminders; grant hours
# exactly at the investigator cap and a hundredth over, projections exactly
# at the cap and 0.12 / 0.06 / 0.04 h over; cap years starting in December;
# teaching exactly at its limit and a hundredth over, on the assignment's
# last day (warning) and the day after (violation), two concurrent
# researcher assignments each with its own window, a 6-decimal FTE; one
# record per person (a return after leaving, an FTE change re-pricing a cap
# year); a researcher who becomes co_i late in a cap year (all its grant
# hours count); an fte_fraction charge in a month the assignment covers in
# part; a reload changing a rule setting, as of today and as of yesterday.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use POSIX ();
use EffortTest ();
use ModelOrg qw(org feed agrees finding_at person grant asg charge ts full_month);
use RulesModel;

my $V = 'violation';
my $W = 'warning';

# Today in a zone (the model's reading of it: the C library's), the date
# GET /v1/violations answers from the kept findings.
sub today_in {
	my ($zone) = @_;
	my $m = RulesModel->new(timezone => $zone);
	return RulesModel::ds($m->local_day(POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime)));
}

# An authorisation by $by on the 5th of the month after $month (YYYY-MM),
# on time and valid whatever the settings below.
sub auth_next {
	my ($month, $by) = @_;
	my ($y, $m) = RulesModel::next_month(split /-/, $month);
	return (by => $by, at => sprintf('%04d-%02d-05T09:00:00Z', $y, $m));
}

# ------------------------------------------------------------------ tolerances

# Settings: all_hours_tolerance 2.25, charge_tolerance 1.1, 36.25 h weeks.
# At 1.0 FTE a weekday is 7.25 h: January 2025 (23 weekdays) 166.75 h,
# February (20) 145 h, March (21) 152.25 h, April (22) 159.5 h.
sub tolerance_org {
	my ($o) = @_;
	my ($g1, $g2) = ('TX/0001/1', 'TX/0002/1');
	feed($o, 'grants', [ grant($g1, '2023-01-01', '2027-12-31'), grant($g2, '2023-01-01', '2027-12-31') ]);
	feed($o, 'people', [ person('T0000', undef, 1, '2010-01-04', undef),
		person('T1001', 'T0000', 1, '2020-01-06', undef), person('T1002', 'T0000', 1, '2020-01-06', undef),
		person('T1003', 'T0000', 0.600001, '2020-01-06', undef), person('T1004', 'T0000', 1, '2020-01-06', '2025-03-14'),
		person('T1005', 'T0000', 1, '2025-03-17', undef), person('T1006', 'T0000', 1, '2020-01-06', undef),
		person('T1007', 'T0000', 0.8, '2025-02-12', undef) ]);
	feed($o, 'assignments', [
		(map { (asg($_, $g1, 'researcher', 'DI', '2025-01-01', '2025-03-31', 0.5), asg($_, $g2, 'researcher', 'DI', '2025-01-01', '2025-03-31', 0.5)) }
			qw(T1001 T1002 T1003 T1006)),
		# T1004: 100 % on G1, and a DA assignment from 24 March, ten days
		# after the employment ended
		asg('T1004', $g1, 'researcher', 'DI', '2025-01-01', '2025-06-30', 1),
		asg('T1004', $g2, 'researcher', 'DA', '2025-03-24', '2025-06-30', 0.1),
		# T1005: DI 1-10 March, before the employment starts on Mon 17 March
		asg('T1005', $g1, 'researcher', 'DI', '2025-03-01', '2025-03-10', 0.5),
		asg('T1005', $g1, 'researcher', 'DI', '2025-04-01', '2025-04-30', 0.5),
		(map { asg('T1007', $_, 'researcher', 'DI', '2025-02-12', '2025-03-31', 0.5) } $g1, $g2) ]);
	feed($o, 'timesheets', [
		# T1001: January 164.50 of 166.75 (2.25 short: at the tolerance);
		# February 142.75 of 145 (2.25 short)
		ts('T1001', '2025-01', [ [ 'grant', $g1, 80 ], [ 'grant', $g2, 80 ], [ 'research', 'research', 4.5 ] ], auth_next('2025-01', 'T0000')),
		ts('T1001', '2025-02', [ [ 'grant', $g1, 71.4 ], [ 'grant', $g2, 48.89 ], [ 'research', 'research', 22.46 ] ], auth_next('2025-02', 'T0000')),
		ts('T1001', '2025-03', [ [ 'grant', $g1, 76.13 ], [ 'grant', $g2, 76.12 ] ], auth_next('2025-03', 'T0000')),
		# T1002: January 164.49 (2.26 short); February all on G2
		ts('T1002', '2025-01', [ [ 'grant', $g1, 80 ], [ 'grant', $g2, 80 ], [ 'research', 'research', 4.49 ] ], auth_next('2025-01', 'T0000')),
		ts('T1002', '2025-02', [ [ 'grant', $g2, 145 ] ], auth_next('2025-02', 'T0000')),
		ts('T1002', '2025-03', [ [ 'grant', $g2, 152.25 ] ], auth_next('2025-03', 'T0000')),
		# T1003 (0.600001 FTE: 21.75003625 h a week, 4.35000725 a weekday):
		# January 100.05016675 h contracted, 97.80 recorded: 2.25016675
		# short, over the tolerance by less than half a hundredth: 2.25 h;
		# February 87.000145 contracted, 85.90 recorded (1.100145 short);
		# March 91.35015225 contracted, 89.11 recorded (2.24015225 short)
		ts('T1003', '2025-01', [ [ 'grant', $g1, 50 ], [ 'grant', $g2, 47.8 ] ], auth_next('2025-01', 'T0000')),
		ts('T1003', '2025-02', [ [ 'grant', $g1, 85.9 ] ], auth_next('2025-02', 'T0000')),
		ts('T1003', '2025-03', [ [ 'grant', $g1, 89.11 ] ], auth_next('2025-03', 'T0000')),
		# T1005: April complete (159.50)
		ts('T1005', '2025-04', [ [ 'grant', $g1, 80 ], [ 'research', 'research', 79.5 ] ], auth_next('2025-04', 'T0000')),
		# T1006: leave makes up the total: January 166.75 parental leave;
		# February 100 + 42.75 (2.25 short); March 150 (2.25 short)
		ts('T1006', '2025-01', [ [ 'parental_leave', 'parental_leave', 166.75 ] ], auth_next('2025-01', 'T0000')),
		ts('T1006', '2025-02', [ [ 'parental_leave', 'parental_leave', 100 ], [ 'other_leave', 'other_leave', 42.75 ], [ 'grant', $g1, 0 ] ],
			auth_next('2025-02', 'T0000')),
		ts('T1006', '2025-03', [ [ 'parental_leave', 'parental_leave', 150 ] ], auth_next('2025-03', 'T0000')),
		# T1007 (0.8 FTE: 29 h a week, from Wed 12 Feb): February 13
		# weekdays = 75.40 h; March 121.80 h
		ts('T1007', [ '2025-02-12', '2025-02-28' ], [ [ 'grant', $g1, 18.85 ], [ 'grant', $g2, 56.55 ] ], auth_next('2025-02', 'T0000')),
		ts('T1007', '2025-03', [ [ 'grant', $g1, 30.45 ], [ 'grant', $g2, 91.35 ] ], auth_next('2025-03', 'T0000')),
	]);
	feed($o, 'charges', [
		# T1001 February: 0.5 x 145 = 72.50 charged, 71.40 recorded (1.10:
		# at the tolerance); 50 h charged, 48.89 recorded (1.11 over)
		charge('T1001', $g1, '2025-02', fte_fraction => 0.5), charge('T1001', $g2, '2025-02', hours => 50),
		# T1002 February: 0.50 h on G1 with nothing recorded there
		# (activity_missing, whatever the tolerance); 146.10 h on G2 of 145
		# recorded (1.10); 146.60 charged of 145 contracted: 1.60 over
		charge('T1002', $g1, '2025-02', hours => 0.5), charge('T1002', $g2, '2025-02', hours => 146.1),
		# T1003: February 1.0 x 87.000145 charged, 85.90 recorded: 1.100145
		# over, over the tolerance by less than half a hundredth: 1.10 h;
		# March 90.21 charged, 89.11 recorded (1.10)
		charge('T1003', $g1, '2025-02', fte_fraction => 1), charge('T1003', $g1, '2025-03', hours => 90.21),
		# T1004 March (10 weekdays employed, 72.50 h): 0.5 + 0.5 = 72.50,
		# not over; none recorded: activity_missing 36.25 on each
		charge('T1004', $g1, '2025-03', fte_fraction => 0.5), charge('T1004', $g2, '2025-03', fte_fraction => 0.5),
		# T1007 February: 0.25 + 0.75 of 75.40 = 75.40, not over; March
		# 0.250001 x 121.8 + 0.75 x 121.8 = 121.8001218: over by 0.0001218
		# (0.00 h), while 30.4501218 against 30.45 recorded is within 1.1
		charge('T1007', $g1, '2025-02', fte_fraction => 0.25), charge('T1007', $g2, '2025-02', fte_fraction => 0.75),
		charge('T1007', $g1, '2025-03', fte_fraction => 0.250001), charge('T1007', $g2, '2025-03', fte_fraction => 0.75),
	]);
}
{
	my %settings = (all_hours_tolerance => '2.25', charge_tolerance => '1.1', standard_weekly_hours => '36.25');
	my $o = org(%settings);
	tolerance_org($o);
	my $at = '2025-06-01';
	my %want = (
		'T1001 hours_incomplete - 2025-01-01' => undef,    # 2.25 short: not more than the tolerance
		'T1001 hours_incomplete - 2025-02-01' => undef,
		'T1001 unevidenced_charge TX/0001/1 2025-02-01' => undef,    # 1.10 over: at the tolerance
		'T1001 unevidenced_charge TX/0002/1 2025-02-01' => "$V 1.11",
		'T1002 hours_incomplete - 2025-01-01' => "$V 2.26",
		'T1002 activity_missing TX/0001/1 2025-02-01' => "$V 0.50",
		'T1002 unevidenced_charge TX/0002/1 2025-02-01' => undef,
		'T1002 overcharged_month - 2025-02-01' => "$V 1.60",
		'T1003 hours_incomplete - 2025-01-01' => "$V 2.25",    # 2.25016675: over, rounded to 2.25
		'T1003 hours_incomplete - 2025-03-01' => undef,    # 2.24015225
		'T1003 unevidenced_charge TX/0001/1 2025-02-01' => "$V 1.10",    # 1.100145: over, rounded to 1.10
		'T1003 overcharged_month - 2025-02-01' => undef,    # 87.000145 of 87.000145
		'T1003 unevidenced_charge TX/0001/1 2025-03-01' => undef,
		'T1004 timesheet_missing - 2025-03-01' => "$V 72.50",    # 3-14 March: 10 x 7.25; deadline 31 May passed
		'T1004 timesheet_missing - 2025-01-01' => undef,    # 100 % on G1 alone: exempt
		'T1004 overcharged_month - 2025-03-01' => undef,
		'T1004 activity_missing TX/0002/1 2025-03-01' => "$V 36.25",
		'T1005 timesheet_missing - 2025-03-01' => "$V 79.75",    # 17-31 March: 11 x 7.25
		'T1006 hours_incomplete - 2025-02-01' => undef,
		'T1006 hours_incomplete - 2025-03-01' => undef,
		'T1007 overcharged_month - 2025-02-01' => undef,
		'T1007 overcharged_month - 2025-03-01' => "$V 0.00",
		'T1007 unevidenced_charge TX/0001/1 2025-03-01' => undef,
	);
	for my $k (sort keys %want) {
		my ($p, $rule, $g, $start) = split / /, $k;
		is finding_at($o, $at, $rule, $p, $g eq '-' ? undef : $g, $start), $want{$k}, "2.25/1.1 tolerances, 36.25 h: $k";
	}
	is finding_at($o, '2025-05-31', 'timesheet_missing', 'T1004', undef, '2025-03-01'), "$W 72.50",
		'T1004 March: a warning on its deadline, 31 May';
	# the grant reconciliation's rows: charged and recorded as the findings
	# read them (rounded for the row), whatever the tolerance
	my ($s, $j) = $o->{d}->req(GET => '/v1/reports/grants/TX%2F0001%2F1', token => $o->{rev}, query => { as_of => $at });
	my %row = map { my $p = $_; map { ("$p->{person_id} $_->{month}" => sprintf('%.2f %.2f', $_->{charged} // 0, $_->{recorded} // 0)) } @{ $p->{months} } }
		@{ $j->{people} // [] };
	is join(', ', map { "$_ " . ($row{$_} // 'none') } 'T1001 2025-02', 'T1003 2025-02', 'T1007 2025-03', 'T1004 2025-03'),
		'T1001 2025-02 72.50 71.40, T1003 2025-02 87.00 85.90, T1007 2025-03 30.45 30.45, T1004 2025-03 36.25 0.00',
		"grant reconciliation of TX/0001/1 as of $at ($s): charged and recorded";
	agrees($o, 'tolerances 2.25 / 1.1, 36.25 h weeks', qw(2025-02-01 2025-03-01 2025-04-01 2025-05-31 2025-06-01 2025-07-01 2025-09-01),
		today_in('Europe/London'));
	$o->{d}->stop;
	# the same organisation under the default settings
	my $u = org();
	tolerance_org($u);
	agrees($u, 'the tolerance organisation, default settings', qw(2025-03-01 2025-04-01 2025-06-01 2025-07-01));
	$u->{d}->stop;
}

# ------------------------------------------------------------------ time zones

# The same authorisations judged in four zones.  Deadlines: December 2024
# 28 Feb 2025, January 31 Mar, February 30 Apr, March 31 May, April 30 Jun,
# September 30 Nov.  Offsets: London GMT / BST (from 30 Mar 2025);
# Pacific/Auckland +13 (NZDT) to 6 Apr 2025 03:00, +12 (NZST) to 28 Sep,
# +13 after; America/New_York -5 / -4 (EDT from 9 Mar); Asia/Kolkata +5:30.
# Each timestamp is chosen at a local midnight of one zone; the comments
# give its local date in L(ondon), A(uckland), N(ew York), K(olkata).
sub zone_org {
	my ($o) = @_;
	my $g = 'ZX/0001/1';
	feed($o, 'grants', [ grant($g, '2023-01-01', '2028-12-31') ]);
	feed($o, 'people', [ person('Z0001', undef, 1, '2010-01-04', undef), person('Z0002', 'Z0001', 1, '2010-01-04', undef),
		map { person($_, 'Z0001', 1, '2023-01-02', undef) } qw(Z1001 Z1002 Z1003 Z1004) ]);
	feed($o, 'assignments', [ map { asg($_, $g, 'researcher', 'DI', '2024-06-01', undef, 0.5) } qw(Z1001 Z1002 Z1003 Z1004) ]);
	feed($o, 'delegations', [ { manager_id => 'Z0001', delegate_id => 'Z0002', start_date => '2025-06-01', end_date => '2025-06-30' } ]);
	my $m = sub { full_month($_[0], [ $g, 60 ]) };
	feed($o, 'timesheets', [
		# 11:30Z on 31 Jan: L N K 31 Jan (signed on the period end), A 1 Feb
		ts('Z1001', '2025-01', $m->('2025-01'), sub => '2025-01-31T09:00:00Z', by => 'Z0001', at => '2025-01-31T11:30:00Z'),
		# 12:00Z on 30 Apr: A 1 May 00:00 (late), L N K 30 Apr
		ts('Z1001', '2025-02', $m->('2025-02'), by => 'Z0001', at => '2025-04-30T12:00:00Z'),
		# 03:30Z on 1 Jun: N 31 May 23:30 (on time), L A K 1 Jun (late)
		ts('Z1001', '2025-03', $m->('2025-03'), by => 'Z0001', at => '2025-06-01T03:30:00Z'),
		# 18:29:59Z / 18:30Z on 30 Jun: K 23:59:59 on 30 Jun / 00:00 on 1 Jul
		ts('Z1001', '2025-04', $m->('2025-04'), by => 'Z0001', at => '2025-06-30T18:29:59Z'),
		ts('Z1002', '2025-04', $m->('2025-04'), by => 'Z0001', at => '2025-06-30T18:30:00Z'),
		# 10:59:59Z on 28 Feb: A 23:59:59 on 28 Feb, on time everywhere
		ts('Z1002', '2024-12', $m->('2024-12'), by => 'Z0001', at => '2025-02-28T10:59:59Z'),
		# 11:00Z on 31 Mar: A 1 Apr 00:00 (still NZDT: late)
		ts('Z1002', '2025-01', $m->('2025-01'), by => 'Z0001', at => '2025-03-31T11:00:00Z'),
		# 11:00Z on 30 Nov: A 1 Dec 00:00 (NZDT again: late)
		ts('Z1002', '2025-09', $m->('2025-09'), by => 'Z0001', at => '2025-11-30T11:00:00Z'),
		# the HR delegation of June by its local days: 12:30Z on 31 May is 1
		# June only in A; 02:00Z on 1 Jul is 30 June only in N (also April's
		# deadline: on time only there)
		ts('Z1003', '2025-05', $m->('2025-05'), sub => '2025-05-31T12:00:00Z', by => 'Z0002', at => '2025-05-31T12:30:00Z'),
		ts('Z1003', '2025-04', $m->('2025-04'), by => 'Z0002', at => '2025-07-01T02:00:00Z'),
		# N midnight after the period end: 31 Jul 23:59:59 EDT / 1 Aug 00:00
		ts('Z1003', '2025-07', $m->('2025-07'), sub => '2025-07-31T20:00:00Z', by => 'Z0001', at => '2025-08-01T03:59:59Z'),
		ts('Z1004', '2025-07', $m->('2025-07'), sub => '2025-07-31T20:00:00Z', by => 'Z0001', at => '2025-08-01T04:00:00Z'),
		# K midnight after the period end: 31 May / 30 Jun 23:59:59 IST, 1 Jul 00:00
		ts('Z1004', '2025-05', $m->('2025-05'), sub => '2025-05-31T12:00:00Z', by => 'Z0001', at => '2025-05-31T18:29:59Z'),
		ts('Z1004', '2025-06', $m->('2025-06'), sub => '2025-06-30T12:00:00Z', by => 'Z0001', at => '2025-06-30T18:30:00Z'),
		ts('Z1004', '2025-08', $m->('2025-08')),
	]);
}
{
	# [person, month, rule] => the zones in which the finding is raised
	# (hours: the timesheet's total, 7.5 h a weekday).
	my @cases = (
		[ 'Z1001', '2025-01', 'authorisation_invalid', 172.5, qw(Europe/London America/New_York Asia/Kolkata) ],
		[ 'Z1001', '2025-02', 'authorisation_late', 150, qw(Pacific/Auckland) ],
		[ 'Z1001', '2025-03', 'authorisation_late', 157.5, qw(Europe/London Pacific/Auckland Asia/Kolkata) ],
		[ 'Z1001', '2025-04', 'authorisation_late', 165, qw(Pacific/Auckland) ],
		[ 'Z1002', '2025-04', 'authorisation_late', 165, qw(Pacific/Auckland Asia/Kolkata) ],
		[ 'Z1002', '2024-12', 'authorisation_late', 165, qw() ],
		[ 'Z1002', '2025-01', 'authorisation_late', 172.5, qw(Pacific/Auckland) ],
		[ 'Z1002', '2025-09', 'authorisation_late', 165, qw(Pacific/Auckland) ],
		[ 'Z1003', '2025-05', 'authorisation_invalid', 165, qw(Europe/London America/New_York Asia/Kolkata) ],
		[ 'Z1003', '2025-04', 'authorisation_invalid', 165, qw(Europe/London Pacific/Auckland Asia/Kolkata) ],
		[ 'Z1003', '2025-04', 'authorisation_late', 165, qw(Europe/London Pacific/Auckland Asia/Kolkata) ],
		[ 'Z1003', '2025-07', 'authorisation_invalid', 172.5, qw(America/New_York) ],
		[ 'Z1004', '2025-07', 'authorisation_invalid', 172.5, qw() ],
		[ 'Z1004', '2025-05', 'authorisation_invalid', 165, qw(Europe/London America/New_York Asia/Kolkata) ],
		[ 'Z1004', '2025-06', 'authorisation_invalid', 157.5, qw(Europe/London America/New_York) ],
	);
	for my $zone (qw(Pacific/Auckland America/New_York Asia/Kolkata Europe/London)) {
		my $o = org(timezone => $zone);
		zone_org($o);
		for my $c (@cases) {
			my ($p, $month, $rule, $hours, @zones) = @$c;
			my $want = (grep { $_ eq $zone } @zones) ? sprintf("$V %.2f", $hours) : undef;
			is finding_at($o, '2026-01-01', $rule, $p, undef, "$month-01"), $want,
				"$zone: $p $month " . ($want ? $rule : "no $rule");
		}
		agrees($o, "authorisations in $zone", qw(2025-06-01 2025-07-01 2025-10-17 2025-10-31 2025-11-01 2026-01-01), today_in($zone));
		$o->{d}->stop;
	}
	# without as_of, "today" is the organisation's: in zones 25 hours apart
	# (UTC+14, UTC-11) the two dates always differ
	for my $zone (qw(Pacific/Kiritimati Pacific/Pago_Pago)) {
		my $z = org(timezone => $zone);
		my ($s, $j) = $z->{d}->req(GET => '/v1/violations', token => $z->{rev});
		is "$s $j->{as_of}", '200 ' . today_in($zone), "$zone: GET /v1/violations without as_of answers as of today there";
		$z->{d}->stop;
	}
	# three months to authorise, reminders 45 days ahead: the August
	# timesheet's deadline is 30 November (due from 16 October)
	my $o = org(timezone => 'Asia/Kolkata', authorisation_months => 3, reminder_days => 45);
	zone_org($o);
	is finding_at($o, '2025-10-16', 'authorisation_due', 'Z1004', undef, '2025-08-01'), "$W 157.50",
		'three months, 45 days: August due on 16 October';
	is finding_at($o, '2025-10-15', 'authorisation_due', 'Z1004', undef, '2025-08-01'), undef,
		'three months, 45 days: not yet due on 15 October';
	agrees($o, 'authorisations in Asia/Kolkata, three months, 45 days', qw(2025-06-01 2025-07-01 2025-08-01 2025-08-16
		2025-10-15 2025-10-16 2025-11-30 2025-12-01 2026-01-01));
	$o->{d}->stop;
}

# ------------------------------------------------------------------ caps and teaching at their limits

# Investigators at 1.0 FTE (cap 1650 h in the cap year 1 Aug 2024 - 31 Jul
# 2025), full monthly timesheets (7.5 h a weekday, the rest research):
#   C1001: 137.50 grant h a month, 1650.00 in the year: at the cap; every
#          projection 137.5 n / n x 12 = 1650.00: at the cap.  Nothing.
#   C1002: the same with 137.51 in July: 1650.01, 0.01 h over, from the
#          start of the cap year (the data is not rewound).
#   C1003: 137.51 in August 2024, 137.50 in September and October: as of
#          1 Sep n = 1, 137.51 x 12 = 1650.12: 0.12 h projected; 1 Oct
#          275.01 / 2 x 12 = 1650.06: 0.06; 1 Nov 412.51 / 3 x 12 = 1650.04:
#          0.04; 1 Dec 412.51 / 4 x 12 = 1237.53: nothing.
# Research staff (limit 6 h x FTE x days / 7):
#   C2001: fellow in February 2025 (28 days: limit 24.00 h) teaching 24.00:
#          nothing.  C2002: 24.01: 0.01 h, a violation as of 1 March (the
#          assignment ended on 28 February).
#   C2003: researcher 1 Jan - 15 Mar 2025 teaching 40 h in January and
#          February, none in March: as of 15 March (its last day) the
#          window is January and February, 59 days, limit 50.571428...,
#          80 taught: 29.43 h, a warning; as of 16 March the same, a
#          violation; as of 1 April March counts too: 90 days, limit
#          77.142857..., 2.86 h.
#   C2004: researcher on G1 (Jan - Mar 2025) and on G2 (Feb - Apr 2025),
#          30 h teaching in each month: each assignment has its own window
#          over the same teaching.  As of 1 April: G1 Jan - Mar, 90 days,
#          limit 77.142857..., 90 taught: 12.86 h, ended (violation); G2
#          Feb - Mar, 59 days, limit 50.571428..., 60 taught: 9.43 h
#          (warning).  As of 1 May: G2 Feb - Apr, 89 days, limit
#          76.285714..., 90 taught: 13.71 h, a violation.
#   C2005: 0.333333 FTE fellow, 8.86 h teaching in January 2025: limit
#          6 x 0.333333 x 31 / 7 = 8.857134857...: over by 0.002865...,
#          a finding of 0.00 h (compared exactly, then rounded).
sub cap_teaching_org {
	my ($o) = @_;
	my ($g1, $g2) = ('CX/0001/1', 'CX/0002/1');
	feed($o, 'grants', [ grant($g1, '2023-01-01', '2027-12-31'), grant($g2, '2023-01-01', '2027-12-31') ]);
	feed($o, 'people', [ person('C0000', undef, 1, '2010-01-04', undef),
		(map { person($_, 'C0000', 1, '2020-01-06', undef) } qw(C1001 C1002 C1003 C2001 C2002 C2003 C2004)),
		person('C2005', 'C0000', 0.333333, '2020-01-06', undef) ]);
	feed($o, 'assignments', [
		(map { asg($_, $g1, 'pi', 'DI', '2024-08-01', '2025-07-31', 0.5) } qw(C1001 C1002 C1003)),
		(map { asg($_, $g1, 'fellow', 'DI', '2025-02-01', '2025-02-28', 0.5) } qw(C2001 C2002)),
		asg('C2003', $g1, 'researcher', 'DI', '2025-01-01', '2025-03-15', 0.5),
		asg('C2004', $g1, 'researcher', 'DI', '2025-01-01', '2025-03-31', 0.5),
		asg('C2004', $g2, 'researcher', 'DI', '2025-02-01', '2025-04-30', 0.5),
		asg('C2005', $g1, 'fellow', 'DI', '2025-01-01', '2025-01-31', 0.5) ]);
	my @year = map { sprintf '%04d-%02d', $_ < 5 ? 2024 : 2025, ($_ + 7) % 12 + 1 } 0 .. 11;    # Aug 2024 - Jul 2025
	# (full_month makes grant entries of all it is given: the one named
	# 'teaching' is made a teaching entry)
	my $t = sub {
		my ($p, $month, @e) = @_;
		my $entries = full_month($month, @e);
		$_->[0] = 'teaching' for grep { $_->[1] eq 'teaching' } @$entries;
		return ts($p, $month, $entries, auth_next($month, 'C0000'));
	};
	feed($o, 'timesheets', [
		(map { $t->('C1001', $_, [ $g1, 137.5 ]) } @year),
		(map { $t->('C1002', $_, [ $g1, $_ eq '2025-07' ? 137.51 : 137.5 ]) } @year),
		$t->('C1003', '2024-08', [ $g1, 137.51 ]), $t->('C1003', '2024-09', [ $g1, 137.5 ]), $t->('C1003', '2024-10', [ $g1, 137.5 ]),
		$t->('C2001', '2025-02', [ $g1, 60 ], [ 'teaching', 24 ]),
		$t->('C2002', '2025-02', [ $g1, 60 ], [ 'teaching', 24.01 ]),
		$t->('C2003', '2025-01', [ $g1, 60 ], [ 'teaching', 40 ]), $t->('C2003', '2025-02', [ $g1, 60 ], [ 'teaching', 40 ]),
		$t->('C2003', '2025-03', [ $g1, 30 ]),
		$t->('C2004', '2025-01', [ $g1, 80 ], [ 'teaching', 30 ]),
		(map { $t->('C2004', $_, [ $g1, 40 ], [ $g2, 40 ], [ 'teaching', 30 ]) } qw(2025-02 2025-03)),
		$t->('C2004', '2025-04', [ $g2, 80 ], [ 'teaching', 30 ]),
		ts('C2005', '2025-01', [ [ 'teaching', 'teaching', 8.86 ], [ 'grant', $g1, 20 ], [ 'research', 'research', 28.64 ] ], auth_next('2025-01', 'C0000')),
	]);
}
{
	my $o = org();
	cap_teaching_org($o);
	my @want = (
		[ '2025-08-01', 'investigator_cap_exceeded', 'C1001', undef, undef ],
		[ '2025-06-01', 'investigator_cap_projected', 'C1001', undef, undef ],
		[ '2024-09-01', 'investigator_cap_projected', 'C1001', undef, undef ],
		[ '2024-08-01', 'investigator_cap_exceeded', 'C1002', undef, "$V 0.01" ],
		[ '2025-08-01', 'investigator_cap_exceeded', 'C1002', undef, "$V 0.01" ],
		[ '2024-09-01', 'investigator_cap_projected', 'C1003', undef, "$W 0.12" ],
		[ '2024-10-01', 'investigator_cap_projected', 'C1003', undef, "$W 0.06" ],
		[ '2024-11-01', 'investigator_cap_projected', 'C1003', undef, "$W 0.04" ],
		[ '2024-12-01', 'investigator_cap_projected', 'C1003', undef, undef ],
		[ '2025-03-01', 'teaching_excess', 'C2001', 'CX/0001/1', undef ],
		[ '2025-03-01', 'teaching_excess', 'C2002', 'CX/0001/1', "$V 0.01" ],
		[ '2025-03-15', 'teaching_excess', 'C2003', 'CX/0001/1', "$W 29.43" ],
		[ '2025-03-16', 'teaching_excess', 'C2003', 'CX/0001/1', "$V 29.43" ],
		[ '2025-04-01', 'teaching_excess', 'C2003', 'CX/0001/1', "$V 2.86" ],
		[ '2025-04-01', 'teaching_excess', 'C2004', 'CX/0001/1', "$V 12.86" ],
		[ '2025-04-01', 'teaching_excess', 'C2004', 'CX/0002/1', "$W 9.43" ],
		[ '2025-04-30', 'teaching_excess', 'C2004', 'CX/0002/1', "$W 9.43" ],
		[ '2025-05-01', 'teaching_excess', 'C2004', 'CX/0002/1', "$V 13.71" ],
		[ '2025-05-01', 'teaching_excess', 'C2004', 'CX/0001/1', "$V 12.86" ],
		[ '2025-02-01', 'teaching_excess', 'C2005', 'CX/0001/1', "$V 0.00" ],
	);
	for my $w (@want) {
		my ($at, $rule, $p, $g, $f) = @$w;
		is finding_at($o, $at, $rule, $p, $g), $f, "as of $at: $p " . ($f ? "$rule $f" : "no $rule");
	}
	# the investigator cap report shows the same figures at the cap (its
	# projection is the ended months' hours ÷ n × 12, also for n = 12)
	for my $c ([ '2025-08-01', 'C1001', '1650.00 1650.00 0.00 1650.00 -' ], [ '2025-08-01', 'C1002', '1650.00 1650.01 -0.01 1650.01 investigator_cap_exceeded 0.01' ],
		[ '2024-09-01', 'C1001', '1650.00 1650.00 0.00 1650.00 -' ], [ '2024-09-01', 'C1003', '1650.00 412.51 1237.49 1650.12 investigator_cap_projected 0.12' ]) {
		my ($at, $p, $want) = @$c;
		my ($s, $j) = $o->{d}->req(GET => '/v1/reports/investigators', token => $o->{rev}, query => { year => 2024, as_of => $at });
		my ($i) = grep { $_->{person_id} eq $p } @{ $j->{investigators} // [] };
		my $got = $i ? join(' ', (map { sprintf '%.2f', $i->{$_} } qw(cap grant_hours headroom)),
			defined $i->{projection} ? sprintf('%.2f', $i->{projection}) : '-',
			$i->{finding} ? "$i->{finding} " . sprintf('%.2f', $i->{finding_hours}) : '-') : "$s: no $p";
		is $got, $want, "investigators report as of $at, $p: cap, grant hours, headroom, projection, finding";
	}
	my @dates = qw(2024-07-31 2024-08-01 2024-09-01 2024-10-01 2024-11-01 2024-12-01 2025-01-01 2025-02-01 2025-03-01 2025-03-15
		2025-03-16 2025-04-01 2025-04-30 2025-05-01 2025-07-31 2025-08-01 2025-12-01);
	agrees($o, 'caps and teaching at their limits', @dates);
	$o->{d}->stop;
	# cap years from December, a 1500 h cap, 4.5 h of teaching a week
	my $u = org(cap_year_start_month => 12, investigator_annual_hours => '1500', teaching_weekly_hours => '4.5');
	cap_teaching_org($u);
	agrees($u, 'caps and teaching, cap years from December', @dates);
	$u->{d}->stop;
}

# ------------------------------------------------------------------ one record per person, roles within a year

# RULES.md keeps one employment and one FTE per person (the people feed's
# latest record): a person who leaves and returns, or whose FTE changes, is
# judged on the latest record for every month.
#   L1001: employed to Fri 14 Feb 2025, DI on two grants all 2025, complete
#          timesheets for January and 1-14 February, February charged 0.5
#          (of 75 h: 37.50, as recorded).  Then re-sent as employed from 1
#          April 2025 (a return): January to March lie outside the
#          employment (0 h contracted: nothing short, nothing missing; the
#          0.5 charge is 0 h: nothing), April has 22 weekdays: 165.00 h
#          missing (a warning as of 1 May; deadline 30 June).
#   L1002: researcher on G1 (130 h a month, Aug 2024 - Jul 2025: 1560 h) and
#          co_i on G2 from 1 May 2025 (DA, 400 h a year estimated, 92 days
#          of a 365-day cap year: 100.8219...): an investigator for the cap
#          year 2024-25 (the co_i assignment overlaps it), all of its grant
#          hours count: 1660.8219... against 1650, 10.82 h over, also as of
#          1 September 2024 (the data is not rewound, docs/rules.md
#          reading 9).
#   L1003: on G1 from Mon 17 March 2025 only; March charged 0.5 of G1:
#          0.5 x 157.50 (the month's contracted hours, whatever the
#          assignment's days) = 78.75, 40 recorded: 38.75 h.
#   L1004: pi at 1.0 FTE recording 140 h a month for Aug 2024 - Jul 2025
#          (1680 h: 30 h over 1650); then the people feed sends 0.8 FTE: the
#          cap is 1320 h, 360 h over.
sub record_org {
	my ($o) = @_;
	my ($g1, $g2) = ('LX/0001/1', 'LX/0002/1');
	feed($o, 'grants', [ grant($g1, '2023-01-01', '2027-12-31'), grant($g2, '2023-01-01', '2027-12-31') ]);
	feed($o, 'people', [ person('L0000', undef, 1, '2010-01-04', undef), person('L1001', 'L0000', 1, '2020-01-06', '2025-02-14'),
		map { person($_, 'L0000', 1, '2020-01-06', undef) } qw(L1002 L1003 L1004) ]);
	feed($o, 'assignments', [
		asg('L1001', $g1, 'researcher', 'DI', '2025-01-01', '2025-12-31', 0.5), asg('L1001', $g2, 'researcher', 'DI', '2025-01-01', '2025-12-31', 0.5),
		asg('L1002', $g1, 'researcher', 'DI', '2024-08-01', '2025-07-31', 0.5), asg('L1002', $g2, 'co_i', 'DA', '2025-05-01', '2025-07-31', 0.1, 400),
		asg('L1003', $g1, 'researcher', 'DI', '2025-03-17', '2025-12-31', 0.5), asg('L1003', $g2, 'researcher', 'DI', '2025-01-01', '2025-12-31', 0.5),
		asg('L1004', $g1, 'pi', 'DI', '2024-08-01', '2025-07-31', 0.5) ]);
	my @year = map { sprintf '%04d-%02d', $_ < 5 ? 2024 : 2025, ($_ + 7) % 12 + 1 } 0 .. 11;    # Aug 2024 - Jul 2025
	feed($o, 'timesheets', [
		ts('L1001', '2025-01', [ [ 'grant', $g1, 86.25 ], [ 'grant', $g2, 86.25 ] ], auth_next('2025-01', 'L0000')),
		ts('L1001', [ '2025-02-01', '2025-02-14' ], [ [ 'grant', $g1, 37.5 ], [ 'grant', $g2, 37.5 ] ], auth_next('2025-02', 'L0000')),
		(map { ts('L1002', $_, full_month($_, [ $g1, 130 ]), auth_next($_, 'L0000')) } @year),
		ts('L1003', '2025-03', [ [ 'grant', $g1, 40 ], [ 'grant', $g2, 80 ], [ 'research', 'research', 37.5 ] ], auth_next('2025-03', 'L0000')),
		(map { ts('L1004', $_, full_month($_, [ $g1, 140 ]), auth_next($_, 'L0000')) } @year),
	]);
	feed($o, 'charges', [ charge('L1001', $g1, '2025-02', fte_fraction => 0.5), charge('L1003', $g1, '2025-03', fte_fraction => 0.5) ]);
}
{
	my $o = org();
	record_org($o);
	is finding_at($o, '2025-08-01', 'investigator_cap_exceeded', 'L1004'), "$V 30.00", 'L1004 at 1.0 FTE: 1680 h, 30 h over';
	is finding_at($o, '2025-05-01', 'timesheet_missing', 'L1001'), undef, 'L1001 before the return: nothing missing';
	agrees($o, 'one record per person, before the changes', qw(2024-09-01 2025-03-01 2025-05-01 2025-08-01));
	feed($o, 'people', [ person('L1001', 'L0000', 1, '2025-04-01', undef), person('L1004', 'L0000', 0.8, '2020-01-06', undef) ]);
	my @want = (
		[ '2025-05-01', 'timesheet_missing', 'L1001', undef, '2025-04-01', "$W 165.00" ],
		[ '2025-05-01', 'timesheet_missing', 'L1001', undef, '2025-03-01', undef ],
		[ '2025-05-01', 'hours_incomplete', 'L1001', undef, '2025-01-01', undef ],
		[ '2025-05-01', 'overcharged_month', 'L1001', undef, '2025-02-01', undef ],
		[ '2025-05-01', 'unevidenced_charge', 'L1001', 'LX/0001/1', '2025-02-01', undef ],
		[ '2024-09-01', 'investigator_cap_exceeded', 'L1002', undef, undef, "$V 10.82" ],
		[ '2025-08-01', 'investigator_cap_exceeded', 'L1002', undef, undef, "$V 10.82" ],
		[ '2025-04-01', 'unevidenced_charge', 'L1003', 'LX/0001/1', undef, "$V 38.75" ],
		[ '2025-08-01', 'investigator_cap_exceeded', 'L1004', undef, undef, "$V 360.00" ],
	);
	for my $w (@want) {
		my ($at, $rule, $p, $g, $start, $f) = @$w;
		is finding_at($o, $at, $rule, $p, $g, $start), $f, "as of $at: $p " . ($f ? "$rule $f" : "no $rule") . ($start ? " ($start)" : '');
	}
	agrees($o, 'one record per person, after a return and an FTE change', qw(2024-09-01 2025-02-01 2025-03-01 2025-04-01
		2025-05-01 2025-07-01 2025-08-01));
	$o->{d}->stop;
}

# ------------------------------------------------------------------ a setting changed by a reload

# docs/configuration.md: every rules.* setting takes effect on a reload
# (SIGHUP).  January 2025: 150 h recorded of 172.50, 22.50 short.  After a
# reload raising all_hours_tolerance to 30 nothing is short by more than the
# tolerance, as of any date: as of yesterday effortd evaluates on the fly
# with the new settings; as of today (GET /v1/violations without as_of, or
# with today's date) too, at once: the kept findings are the old settings'
# until a full sweep with the new ones, which the reload starts, has run
# (before, they kept the old 22.50 h until the next interval or midnight
# sweep: the same stored data and month gave two answers a day apart).
{
	my $o = org();
	feed($o, 'people', [ person('S0001', undef, 1, '2010-01-04', undef), person('S1001', 'S0001', 1, '2020-01-06', undef) ]);
	feed($o, 'timesheets', [ ts('S1001', '2025-01', [ [ 'research', 'research', 150 ] ], auth_next('2025-01', 'S0001')) ]);
	my $today = RulesModel::ds(RulesModel->new->local_day(POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime)));
	my $yesterday = RulesModel::ds(RulesModel::dn($today) - 1);
	is finding_at($o, $today, 'hours_incomplete', 'S1001'), "$V 22.50", 'before the reload: 22.50 h short as of today';
	my $d = $o->{d};
	my $kept = sub { EffortTest::psql_value($o->{d}->db, q{SELECT count(*) FROM findings
		WHERE person_id = 'S1001' AND rule = 'hours_incomplete' AND resolved_at IS NULL}) };
	is $kept->(), 1, '... a kept finding';
	$d->write_config($d->options, 'rules.all_hours_tolerance' => 30);
	$d->signal('HUP');
	ok EffortTest::wait_for(sub { $d->log_text =~ /configuration reloaded/ }), 'the reload is logged';
	is finding_at($o, $yesterday, 'hours_incomplete', 'S1001'), undef, 'after it, as of yesterday: within the tolerance of 30 h';
	is finding_at($o, $today, 'hours_incomplete', 'S1001'), undef, 'after it, as of today, at once: within the tolerance';
	ok EffortTest::wait_for(sub { $kept->() == 0 }, 20), '... and the full sweep the reload started resolves the kept finding';
	$d->stop;
}

done_testing;
