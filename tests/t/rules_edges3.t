# A second independent check of the audit rules on corner cases, against the
# model of the rulebook (tests/lib/RulesModel.pm, written from RULES.md) and,
# where the figure is the point, against hours worked out by hand.  Each
# organisation is built through the real feeds and API of a real effortd;
# GET /v1/violations?as_of=D must list exactly the model's findings (rule,
# severity, person, grant, period, hours to the hundredth) at every date D
# given, chosen on and around the deadlines, month ends and cap-year
# boundaries of the data.
#
# Corners: deadlines at month ends (after 31 August, 31 December, 28/29
# February in a leap year, a mid-month day the target month lacks) with
# as_of at the deadline -15/-14/0/+1 days; authorisations at the deadline's
# last second and the next, written Z, +01:00, +02:00 and -05:00 around
# local midnight, in BST and GMT and on the changeover days; signed on the
# period's last local day; delegations starting and ending on the day,
# self-authorisation through a delegation, a manager who is also an
# investigator, line manager changes; versions lowering hours, amendments
# after authorisation, rejection then a new version, an approval of a
# superseded version; assignments starting and ending mid-month, touching,
# several on one grant, open-ended to a grant ending mid-month, an FTE
# change; charges by fraction and in hours in one month, to unassigned
# grants, of 0, re-sent in the other form; investigator caps split over
# grants and cap years, part-time, mid-year starters in a leap cap year, and
# figures that end in exactly half a hundredth (x.xx5) after a division.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use POSIX ();
use EffortTest qw(new_db json_encode clear_of_midnight);
use ModelOrg qw(org feed person grant asg charge ts full_month ts_id decide_api);
use RulesModel;

# No database yet: a bare one to read the clock (the delegation made $today,
# at the end, may not start before today).
clear_of_midnight(new_db(migrate => 0), 300);
my $now_iso = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime);
my $today = RulesModel::ds(RulesModel->new->local_day($now_iso));
my ($orgs, $compared) = (0, 0);

# effortd lists the model's findings at every date (ModelOrg), counted.
sub agrees {
	$orgs++;
	$compared += ModelOrg::agrees(@_);
}

# The hours of one finding as effortd lists it (undef: none).
sub hours_of {
	my ($o, $as_of, $rule, $person) = @_;
	my ($s, $j) = $o->{d}->req(GET => '/v1/violations', token => $o->{rev}, query => { as_of => $as_of, person_id => $person });
	die "GET /v1/violations: $s\n" unless $s == 200;
	my ($f) = grep { $_->{rule} eq $rule } @{ $j->{violations} };
	return $f ? sprintf('%.2f', $f->{hours}) : undef;
}

# Days around each date: -15, -14, -1, 0, +1.
sub around { map { my $d = RulesModel::dn($_); map { RulesModel::ds($d + $_) } -15, -14, -1, 0, 1 } @_ }

# ------------------------------------------------------------------ deadlines and timestamps

sub calendar_org {
	my ($o) = @_;
	feed($o, 'grants', [ grant('KX/0001/1', '2023-01-01', '2028-12-31') ]);
	feed($o, 'people', [ person('K0001', undef, 1, '2010-01-04', undef), person('K0002', 'K0001', 1, '2010-01-04', undef),
		person('K0003', 'K0001', 1, '2010-01-04', undef),
		(map { person($_, 'K0002', 1, '2023-01-02', undef) } qw(K1001 K1002 K1003 K1004 K1005 K1006)) ]);
	feed($o, 'assignments', [ map { asg($_, 'KX/0001/1', 'researcher', 'DI', '2023-06-01', undef, 0.5) } qw(K1001 K1002 K1003 K1004 K1005 K1006) ]);
	my $m = sub { full_month($_[0], [ 'KX/0001/1', 60 ]) };
	feed($o, 'timesheets', [
		# the deadline's last second and the next, in GMT and BST, in other offsets
		ts('K1001', '2025-12', $m->('2025-12'), sub => '2026-01-05T09:00:00Z', by => 'K0002', at => '2026-02-28T23:59:59Z'),
		ts('K1001', '2025-11', $m->('2025-11'), by => 'K0002', at => '2026-01-31T23:59:59.999Z'),
		ts('K1001', '2025-10', $m->('2025-10'), by => 'K0002', at => '2026-01-01T00:00:00Z'),
		ts('K1001', '2025-08', $m->('2025-08'), by => 'K0002', at => '2025-10-31T23:59:59Z'),
		ts('K1001', '2025-07', $m->('2025-07'), by => 'K0002', at => '2025-09-30T23:00:00Z'),
		ts('K1001', '2025-06', $m->('2025-06'), by => 'K0002', at => '2025-08-31T22:59:59Z'),
		ts('K1001', '2025-05', $m->('2025-05'), by => 'K0002', at => '2025-07-31T18:59:59-05:00'),
		ts('K1001', '2025-04', $m->('2025-04'), by => 'K0002', at => '2025-06-30T17:59:59-05:00'),
		ts('K1001', '2025-03', $m->('2025-03'), by => 'K0002', at => '2025-06-01T00:30:00+01:00'),
		ts('K1001', '2025-02', $m->('2025-02'), by => 'K0002', at => '2025-05-01T00:00:00+02:00'),
		ts('K1001', '2025-01', $m->('2025-01'), by => 'K0002', at => '2025-03-30T00:30:00Z'),
		ts('K1001', '2024-12', $m->('2024-12'), by => 'K0002', at => '2025-03-01T00:00:00+00:00'),
		ts('K1001', '2024-03', $m->('2024-03'), sub => '2024-03-31T12:00:00Z', by => 'K0002', at => '2024-04-01T00:30:00+02:00'),
		ts('K1001', '2024-02', $m->('2024-02'), by => 'K0002', at => '2024-04-30T23:00:00Z'),
		ts('K1001', '2024-01', $m->('2024-01'), sub => '2024-01-31T12:00:00Z', by => 'K0002', at => '2024-01-31T23:30:00-01:00'),
		# signed on the period's last local day, or just after it
		ts('K1002', '2025-07', $m->('2025-07'), sub => '2025-07-31T12:00:00Z', by => 'K0002', at => '2025-07-31T23:30:00Z'),
		ts('K1002', '2025-09', $m->('2025-09'), sub => '2025-09-30T12:00:00Z', by => 'K0002', at => '2025-09-30T22:59:59Z'),
		ts('K1002', '2025-10', $m->('2025-10'), sub => '2025-10-31T12:00:00Z', by => 'K0002', at => '2025-10-31T23:30:00-05:00'),
		ts('K1002', '2025-11', $m->('2025-11'), sub => '2025-11-30T12:00:00Z', by => 'K0002', at => '2025-11-30T23:59:59Z'),
		ts('K1002', '2025-12', $m->('2025-12'), sub => '2025-12-31T12:00:00Z', by => 'K0002', at => '2026-01-01T00:00:00Z'),
		ts('K1002', [ '2025-03-01', '2025-03-29' ], [ [ 'grant', 'KX/0001/1', 150 ] ], sub => '2025-03-29T12:00:00Z', by => 'K0002', at => '2025-03-30T00:59:59Z'),
		ts('K1002', [ '2025-03-30', '2025-03-31' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ], sub => '2025-03-31T12:00:00Z', by => 'K0002', at => '2025-03-31T23:00:00Z'),
		ts('K1002', [ '2025-10-01', '2025-10-25' ], [ [ 'grant', 'KX/0001/1', 140 ] ], sub => '2025-10-25T12:00:00Z', by => 'K0002', at => '2025-10-25T23:30:00Z'),
		# unauthorised: deadlines at month ends, clamped, in a leap year
		ts('K1003', '2025-08', $m->('2025-08')),
		ts('K1003', [ '2025-12-01', '2025-12-29' ], [ [ 'grant', 'KX/0001/1', 150 ] ]),
		ts('K1003', [ '2025-12-30', '2025-12-30' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ]),
		ts('K1003', [ '2025-12-31', '2025-12-31' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ]),
		ts('K1003', [ '2024-02-01', '2024-02-28' ], [ [ 'grant', 'KX/0001/1', 150 ] ]),
		ts('K1003', [ '2024-02-29', '2024-02-29' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ]),
		ts('K1004', [ '2027-12-01', '2027-12-29' ], [ [ 'grant', 'KX/0001/1', 150 ] ], sub => $now_iso),
		ts('K1004', [ '2027-12-30', '2027-12-30' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ], sub => $now_iso),
		ts('K1004', [ '2027-12-31', '2027-12-31' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ], sub => $now_iso),
		ts('K1004', [ '2028-02-01', '2028-02-28' ], [ [ 'grant', 'KX/0001/1', 150 ] ], sub => $now_iso),
		ts('K1004', [ '2028-02-29', '2028-02-29' ], [ [ 'grant', 'KX/0001/1', 7.5 ] ], sub => $now_iso),
		ts('K1004', [ '2026-08-01', '2026-08-31' ], [ [ 'grant', 'KX/0001/1', 150 ] ], sub => '2026-09-01T08:00:00Z'),
	]);
	# delegations from the HR feed for September: starting and ending on the day
	feed($o, 'delegations', [ { manager_id => 'K0002', delegate_id => 'K0003', start_date => '2025-09-01', end_date => '2025-09-30' },
		{ manager_id => 'K0002', delegate_id => 'K1005', start_date => '2025-09-01', end_date => '2025-09-30' } ]);
	feed($o, 'timesheets', [
		ts('K1006', '2025-08', $m->('2025-08'), sub => '2025-08-31T12:00:00Z', by => 'K0003', at => '2025-08-31T23:30:00Z'),    # 1 Sep BST
		ts('K1006', '2025-07', $m->('2025-07'), by => 'K0003', at => '2025-08-31T22:30:00Z'),    # 31 Aug
		ts('K1006', [ '2025-09-01', '2025-09-14' ], [ [ 'grant', 'KX/0001/1', 75 ] ], sub => '2025-09-14T12:00:00Z', by => 'K0003', at => '2025-09-30T22:59:59Z'),
		ts('K1006', [ '2025-09-15', '2025-09-30' ], [ [ 'grant', 'KX/0001/1', 90 ] ], sub => '2025-09-30T12:00:00Z', by => 'K0003', at => '2025-09-30T23:00:00Z'),
		# self-authorisation through a delegation; the same delegate for someone else
		ts('K1005', '2025-08', $m->('2025-08'), by => 'K1005', at => '2025-09-05T09:00:00Z'),
		ts('K1004', '2025-08', $m->('2025-08'), by => 'K1005', at => '2025-09-05T09:00:00+01:00'),
	]);
}
{
	my $o = org();
	calendar_org($o);
	agrees($o, 'deadlines and timestamps', sort(around(qw(2024-04-30 2025-10-31 2025-10-30 2026-02-28 2026-01-31 2028-02-29 2028-04-28 2028-04-30
		2026-10-31))), qw(2025-09-01 2025-10-01 2025-12-29 2025-12-30 2025-12-31 2026-03-01), $today);
	$o->{d}->stop;
	my $u = org(timezone => 'UTC', authorisation_months => 1, reminder_days => 0);
	calendar_org($u);
	agrees($u, 'deadlines and timestamps, UTC, one month', sort(around(qw(2024-03-31 2025-09-30 2026-01-31 2026-01-30 2028-01-31
		2028-02-29 2028-03-29 2028-03-31))), $today);
	$u->{d}->stop;
}

# ------------------------------------------------------------------ investigator caps

# Caps split over grants and cap years, part-time, a mid-year starter in a
# leap cap year (2023-08-01 - 2024-07-31, 366 days), timesheets either side
# of the cap year's boundary, DA estimates ending mid-month; and the two
# figures that end in exactly half a hundredth (x.xx5) only after a
# division, which must be computed exactly, not rounded on the way:
# - Q0001, 0.5001 FTE co-I: cap 1650 x 0.5001 = 825.165 h; 100 + 100 +
#   100.01 grant hours in Aug - Oct 2024, as of November n = 3:
#   300.01 / 3 x 12 = 1200.04, projected excess 374.875 -> 374.88 h
#   (300.01 / 3 rounded to 16 decimals, then x 12, is 1200.0399...96).
# - Q0002, 0.1001 FTE co-I on estimates only: cap 165.165 h; 100 h a year
#   for 2 days and 800 h a year for 91 days of a 365-day year: 200/365 +
#   72800/365 = 200 h exactly, excess 34.835 -> 34.84 h (each quotient
#   rounded on its own sums to 199.99999999999999995).
sub cap_org {
	my ($o) = @_;
	feed($o, 'grants', [ grant('QX/0001/1', '2023-01-01', '2028-12-31'), grant('QX/0002/1', '2023-06-01', '2026-06-15') ]);
	feed($o, 'people', [ person('Q0000', undef, 1, '2010-01-04', undef), person('Q0001', 'Q0000', 0.5001, '2020-01-06', undef),
		person('Q0002', 'Q0000', 0.1001, '2020-01-06', undef), person('Q0003', 'Q0000', 0.6, '2020-01-06', undef),
		person('Q0004', 'Q0000', 1, '2024-02-29', undef), person('Q0005', 'Q0000', 0.8, '2020-01-06', '2025-03-14') ]);
	feed($o, 'assignments', [
		asg('Q0001', 'QX/0001/1', 'co_i', 'DI', '2024-08-01', '2025-07-31', 0.5),
		asg('Q0002', 'QX/0001/1', 'co_i', 'DA', '2025-01-01', '2025-01-02', 0.05, 100),
		asg('Q0002', 'QX/0002/1', 'co_i', 'DA', '2025-02-01', '2025-05-02', 0.05, 800),
		asg('Q0003', 'QX/0001/1', 'pi', 'DI', '2024-06-01', undef, 0.5),
		asg('Q0003', 'QX/0002/1', 'co_i', 'DI', '2024-06-01', undef, 0.5),
		asg('Q0004', 'QX/0001/1', 'pi', 'DI', '2024-02-29', '2024-07-31', 1),
		asg('Q0004', 'QX/0002/1', 'co_i', 'DA', '2024-08-01', '2025-07-31', 0.2, 330),
		asg('Q0005', 'QX/0002/1', 'pi', 'DA', '2024-08-01', '2025-03-14', 0.5, 1000),
		asg('Q0005', 'QX/0001/1', 'researcher', 'DI', '2024-08-01', '2025-03-14', 0.5) ]);
	feed($o, 'timesheets', [
		ts('Q0001', '2024-08', [ [ 'grant', 'QX/0001/1', 100 ] ]), ts('Q0001', '2024-09', [ [ 'grant', 'QX/0001/1', 100 ] ]),
		ts('Q0001', '2024-10', [ [ 'grant', 'QX/0001/1', 100.01 ] ]),
		(map { ts('Q0003', $_, [ [ 'grant', 'QX/0001/1', 45.5 ], [ 'grant', 'QX/0002/1', 40.25 ], [ 'grant', 'ZZ/0009/1', 1 ] ]) }
			map { sprintf '%04d-%02d', $_ < 7 ? 2024 : 2025, ($_ + 5) % 12 + 1 } 0 .. 18),
		ts('Q0003', [ '2025-07-28', '2025-07-31' ], [ [ 'grant', 'QX/0001/1', 30 ] ]),
		ts('Q0003', [ '2025-08-01', '2025-08-03' ], [ [ 'grant', 'QX/0002/1', 70 ] ]),
		(map { ts('Q0004', $_, full_month($_, [ 'QX/0001/1', 140 ])) } qw(2024-03 2024-04 2024-05 2024-06 2024-07)),
		ts('Q0004', [ '2024-02-29', '2024-02-29' ], [ [ 'grant', 'QX/0001/1', 7.5 ] ]),
		(map { ts('Q0005', $_, [ [ 'grant', 'QX/0001/1', 60 ], [ 'research', 'research', 60 ] ]) } qw(2024-08 2024-09 2024-10 2024-11 2024-12 2025-01 2025-02)),
		ts('Q0005', [ '2025-03-01', '2025-03-14' ], [ [ 'grant', 'QX/0001/1', 30 ], [ 'research', 'research', 30 ] ]),
	]);
}
{
	my $o = org();
	cap_org($o);
	is hours_of($o, '2024-11-15', 'investigator_cap_projected', 'Q0001'), '374.88',
		'projection 300.01 / 3 x 12 against a cap of 825.165: 374.875 h, rounded to 374.88';
	is hours_of($o, '2025-08-01', 'investigator_cap_exceeded', 'Q0002'), '34.84',
		'DA estimates 200/365 + 72800/365 = 200 h against a cap of 165.165: 34.835 h, rounded to 34.84';
	agrees($o, 'investigator caps', qw(2024-03-01 2024-07-31 2024-08-01 2024-08-02 2024-09-01 2024-11-01 2024-11-15 2024-12-01
		2025-01-02 2025-01-03 2025-02-01 2025-03-14 2025-03-15 2025-04-01 2025-05-02 2025-05-03 2025-06-01 2025-07-31
		2025-08-01 2025-08-02 2025-09-01 2026-01-01 2026-06-15 2026-06-16 2026-08-01), $today);
	$o->{d}->stop;
	# cap years from March (the leap day at a year's end) and from January
	for my $start (3, 1) {
		my $u = org(cap_year_start_month => $start, investigator_annual_hours => '1500.5', timezone => 'UTC');
		cap_org($u);
		agrees($u, "investigator caps, cap years from month $start", qw(2024-02-29 2024-03-01 2024-06-01 2024-12-31 2025-01-01
			2025-02-01 2025-03-01 2025-03-02 2025-06-01 2026-01-01 2026-03-01), $today);
		$u->{d}->stop;
	}
}

# ------------------------------------------------------------------ assignments and charges

sub assignment_org {
	my ($o) = @_;
	feed($o, 'grants', [ grant('NX/0001/1', '2023-01-01', '2027-12-31'), grant('NX/0002/1', '2024-03-01', '2025-06-15'),
		grant('NX/0003/1', '2025-02-10', '2026-12-31') ]);
	my ($g1, $g2, $g3) = ('NX/0001/1', 'NX/0002/1', 'NX/0003/1');
	feed($o, 'people', [ person('N0000', undef, 1, '2010-01-04', undef), person('N1001', 'N0000', 1, '2020-01-06', undef),
		person('N1002', 'N0000', 0.8, '2025-02-12', '2025-11-19'), person('N1003', 'N0000', 1, '2020-01-06', undef),
		person('N1004', 'N0000', 0.8, '2020-01-06', undef), person('N1005', 'N0000', 0.5, '2020-01-06', undef),
		person('N1006', 'N0000', 1, '2020-01-06', undef), person('N1007', 'N0000', 0.75, '2025-03-01', '2025-08-31'),
		person('N1008', 'N0000', 1, '2020-01-06', undef), person('N1009', 'N0000', 0.9, '2020-01-06', undef) ]);
	feed($o, 'assignments', [
		# touching, on one grant; open-ended to a grant ending mid-month
		asg('N1001', $g1, 'researcher', 'DI', '2025-01-15', '2025-03-10', 0.5),
		asg('N1001', $g1, 'researcher', 'DI', '2025-03-11', '2025-09-30', 0.5),
		asg('N1001', $g2, 'technician', 'DI', '2025-04-01', undef, 1),
		# one at 1.0 covering a mid-month start and end of employment
		asg('N1002', $g3, 'researcher', 'DI', '2025-02-10', undef, 1),
		# 1.0 assignments touching at a month's end, then mid-month
		asg('N1003', $g1, 'rse', 'DI', '2025-01-01', '2025-01-31', 1),
		asg('N1003', $g3, 'rse', 'DI', '2025-02-01', '2025-03-15', 1),
		asg('N1003', $g1, 'rse', 'DI', '2025-03-16', '2025-06-30', 1),
		asg('N1004', $g1, 'researcher', 'DI', '2025-01-01', '2025-12-31', 0.5),
		asg('N1005', $g1, 'co_i', 'DA', '2025-01-01', '2025-12-31', 0.1, 150),
		asg('N1006', $g1, 'other', 'EXC', '2025-02-01', '2025-05-31', 0),
		asg('N1006', $g1, 'fellow', 'DI', '2025-03-17', '2025-04-16', 0.5),
		asg('N1007', $g1, 'researcher', 'DI', '2025-03-01', '2025-08-31', 1),
		asg('N1008', $g1, 'researcher', 'EXC', '2025-04-30', '2025-06-01', 0.5),
		# teaching over two touching fellow assignments on one grant (the
		# month they meet counts for both), a leap February
		asg('N1009', $g1, 'fellow', 'DI', '2024-01-10', '2024-02-29', 0.5),
		asg('N1009', $g1, 'fellow', 'DI', '2024-03-01', '2024-03-20', 0.5),
		asg('N1009', $g2, 'researcher', 'DI', '2024-03-20', undef, 0.5) ]);
	feed($o, 'timesheets', [ map { ts('N1009', $_->[0], [ [ 'teaching', 'teaching', $_->[1] ], [ 'grant', $g1, 60 ], [ 'research', 'research', 60 ] ]) }
		[ '2024-01', 30 ], [ '2024-02', 24.86 ], [ '2024-03', 12.43 ], [ '2024-05', 22.5 ] ]);
	feed($o, 'timesheets', [
		(map { ts('N1001', $_, full_month($_, [ $g1, 50 ], [ $g2, 30 ], [ $g3, 5.25 ])) } qw(2025-01 2025-02 2025-03 2025-04 2025-05 2025-06 2025-07)),
		ts('N1001', [ '2025-06-16', '2025-06-30' ], [ [ 'grant', $g2, 10 ] ]),
		ts('N1002', [ '2025-02-12', '2025-02-28' ], [ [ 'grant', $g3, 78 ] ]),
		ts('N1002', [ '2025-11-01', '2025-11-30' ], [ [ 'grant', $g3, 80.5 ] ]),
		ts('N1003', '2025-03', full_month('2025-03', [ $g1, 80 ], [ $g3, 70 ])),
		ts('N1004', '2025-02', [ [ 'grant', $g1, 60 ], [ 'grant', $g2, 0 ], [ 'teaching', 'teaching', 20 ] ]),
		ts('N1004', '2025-03', [ [ 'grant', $g1, 0 ], [ 'admin', 'admin', 100 ] ]),
		ts('N1006', '2025-03', [ [ 'teaching', 'teaching', 30 ], [ 'grant', $g1, 100 ] ]),
		ts('N1006', '2025-04', [ [ 'teaching', 'teaching', 10.01 ], [ 'grant', $g1, 100 ] ]),
		ts('N1007', [ '2025-03-01', '2025-03-02' ], [ [ 'grant', $g1, 0 ] ]),
		ts('N1008', [ '2025-04-30', '2025-04-30' ], [ [ 'grant', $g1, 7.5 ] ]),
		ts('N1008', [ '2025-06-01', '2025-06-01' ], [ [ 'grant', $g1, 7.5 ] ]),
	]);
	feed($o, 'charges', [
		charge('N1002', $g3, '2025-02', fte_fraction => 1), charge('N1002', $g3, '2025-12', hours => 10),
		charge('N1002', $g3, '2025-11', fte_fraction => 0.5),
		charge('N1004', $g1, '2025-02', fte_fraction => 0.5), charge('N1004', $g2, '2025-02', hours => 40.01),
		charge('N1004', $g3, '2025-02', hours => 0), charge('N1004', $g1, '2025-03', hours => 0.5),
		charge('N1004', $g2, '2025-03', fte_fraction => 0), charge('N1004', $g1, '2025-04', hours => 70),
		charge('N1005', $g1, '2025-03', fte_fraction => 0.333333), charge('N1005', $g1, '2025-04', hours => 78.75),
		charge('N1007', $g1, '2025-03', fte_fraction => 0.999999), charge('N1007', $g1, '2025-09', fte_fraction => 1),
	]);
	# a charge re-sent in the other form; the FTE changes
	feed($o, 'charges', [ charge('N1004', $g1, '2025-04', fte_fraction => 0.6), charge('N1004', $g1, '2025-03', fte_fraction => 0.000001) ]);
	feed($o, 'people', [ person('N1004', 'N0000', 0.6, '2020-01-06', undef) ]);
}
{
	my $o = org();
	assignment_org($o);
	agrees($o, 'assignments and charges', qw(2024-02-29 2024-03-01 2024-03-20 2024-03-21 2024-04-01 2024-06-01 2025-02-01 2025-03-01 2025-03-11 2025-04-01 2025-04-30 2025-05-01 2025-06-01 2025-06-02
		2025-06-15 2025-06-16 2025-07-01 2025-08-01 2025-08-31 2025-09-01 2025-10-01 2025-11-19 2025-12-01 2026-01-01 2026-02-01), $today);
	$o->{d}->stop;
	my $u = org(timezone => 'UTC', standard_weekly_hours => '35.0', all_hours_tolerance => '0.0', charge_tolerance => '0.0');
	assignment_org($u);
	agrees($u, 'assignments and charges, 35 h weeks, no tolerances', qw(2025-03-01 2025-04-01 2025-05-01 2025-06-16 2025-07-01
		2025-10-01 2026-01-01), $today);
	$u->{d}->stop;
}

# ------------------------------------------------------------------ versions, decisions, managers

sub version_org {
	my ($o) = @_;
	my $g = 'WX/0001/1';
	feed($o, 'grants', [ grant($g, '2023-01-01', '2028-12-31') ]);
	feed($o, 'people', [ person('W0001', undef, 1, '2010-01-04', undef), person('W0002', 'W0001', 1, '2010-01-04', undef),
		person('W0003', 'W0001', 1, '2010-01-04', undef), person('W0004', 'W0001', 1, '2010-01-04', undef),
		(map { person($_, 'W0002', 1, '2023-01-02', undef) } qw(W1001 W1002 W1003 W1004 W1005 W1006 W1007)) ]);
	feed($o, 'assignments', [ asg('W0002', $g, 'pi', 'DI', '2023-01-01', undef, 0.5),
		map { asg($_, $g, 'researcher', 'DI', '2023-06-01', undef, 0.5) } qw(W1001 W1002 W1003 W1004 W1005 W1006 W1007) ]);
	my $m = sub { full_month($_[0], [ $g, 60 ]) };
	feed($o, 'timesheets', [
		ts('W0002', '2025-01', $m->('2025-01'), by => 'W0001', at => '2025-02-03T09:00:00Z'),
		ts('W1001', '2025-01', $m->('2025-01'), by => 'W0002', at => '2025-02-03T09:00:00Z'),
		ts('W1002', '2025-01', $m->('2025-01'), by => 'W0002', at => '2025-02-03T09:00:00Z'),
		ts('W1005', '2025-01', $m->('2025-01'), by => 'W0002', at => '2025-02-03T09:00:00Z'),
		(map { ts($_, '2026-10', $m->('2026-10'), sub => '2026-11-02T09:00:00Z') } qw(W1003 W1004 W1006 W1007)),
		ts('W1006', '2026-09', $m->('2026-09'), sub => '2026-10-02T09:00:00Z'),
	]);
	feed($o, 'timesheets', [
		# a later version lowering the hours below the contracted: unauthorised again
		ts('W1001', '2025-01', [ [ 'grant', $g, 60 ], [ 'research', 'research', 90 ] ], sub => '2025-02-10T09:00:00Z', reason => 'fewer hours'),
		# amended after authorisation, then authorised afresh on time
		ts('W1002', '2025-01', [ [ 'grant', $g, 70 ], [ 'research', 'research', 102.5 ] ], sub => '2025-03-10T09:00:00Z', reason => 'moved'),
		# amended, then reverted to the authorised entries
		ts('W1005', '2025-01', [ [ 'grant', $g, 70 ], [ 'research', 'research', 102.5 ] ], sub => '2025-02-10T09:00:00Z', reason => 'moved'),
	]);
	feed($o, 'timesheets', [
		ts('W1002', '2025-01', [ [ 'grant', $g, 70 ], [ 'research', 'research', 102.5 ] ], sub => '2025-03-10T09:00:00Z', by => 'W0002', at => '2025-03-31T22:59:59Z'),
		ts('W1005', '2025-01', $m->('2025-01'), sub => '2025-02-12T09:00:00Z'),
	]);
	# an amendment of an authorised version with an empty or blank reason
	# carries none: refused (RULES.md "rejected without one")
	for my $reason ('', "  \t") {
		my $r = ts('W1002', '2025-01', [ [ 'grant', $g, 71 ], [ 'research', 'research', 101.5 ] ], sub => '2025-04-10T09:00:00Z', reason => $reason);
		my ($s, $j) = $o->{d}->req(POST => '/v1/timesheets', token => $o->{feed}, body => [ $r ]);
		my @fields = map { $_->{field} } @{ ref $j eq 'HASH' ? $j->{errors} // [] : [] };
		my ($model) = $o->{m}->timesheet_answer($r);
		is "$s @fields / $model", '422 amendment_reason / refused: amendment_reason',
			'an amendment with the reason "' . quotemeta($reason) . '" is refused by effortd and the model' or diag json_encode($j);
	}
	# rejected, then a new version, approved (late) through the API
	decide_api($o, 'W0002', 'reject', 'W1003', '2026-10-01', '2026-10-31');
	feed($o, 'timesheets', [ ts('W1003', '2026-10', full_month('2026-10', [ $g, 65 ]), sub => $now_iso) ]);
	# an approval of a superseded version is refused (409); the current one is approved
	my $old = ts_id($o, 'W1004', '2026-10-01');
	feed($o, 'timesheets', [ ts('W1004', '2026-10', full_month('2026-10', [ $g, 66 ]), sub => $now_iso) ]);
	my ($s) = $o->{d}->req(POST => "/v1/timesheets/$old/approve", token => $o->{d}->token('manager', 'W0002'));
	is $s, 409, 'an approval of a superseded version: 409';
	decide_api($o, 'W0002', 'approve', 'W1004', '2026-10-01', '2026-10-31');
	# the line manager changes today: an authorisation dated before the change
	# is the former manager's to give; the new manager approves from now
	feed($o, 'people', [ person('W1006', 'W0003', 1, '2023-01-02', undef), person('W1007', 'W0003', 1, '2023-01-02', undef) ]);
	feed($o, 'timesheets', [ ts('W1007', '2025-06', $m->('2025-06'), by => 'W0003', at => '2025-07-03T09:00:00Z'),
		ts('W1007', '2025-05', $m->('2025-05'), by => 'W0002', at => '2025-06-03T09:00:00Z') ]);
	($s) = $o->{d}->req(POST => '/v1/timesheets/' . ts_id($o, 'W1006', '2026-10-01') . '/approve', token => $o->{d}->token('manager', 'W0002'));
	is $s, 403, 'the former line manager may not approve after the change: 403';
	decide_api($o, 'W0003', 'approve', 'W1006', '2026-10-01', '2026-10-31');
	# the new manager's own delegation, made today: its delegate approves
	my ($ds, $dj) = $o->{d}->req(POST => '/v1/me/delegations', token => $o->{d}->token('manager', 'W0003'),
		body => { delegate_id => 'W0004', start_date => $today, end_date => $today });
	die "POST /v1/me/delegations: $ds " . json_encode($dj) . "\n" unless $ds == 200;
	$o->{m}->my_delegation({ manager_id => 'W0003', delegate_id => 'W0004', start_date => $today, end_date => $today });
	decide_api($o, 'W0004', 'approve', 'W1006', '2026-09-01', '2026-09-30');
	decide_api($o, 'W0004', 'approve', 'W1007', '2026-10-01', '2026-10-31');
}
{
	my $o = org();
	version_org($o);
	agrees($o, 'versions, decisions and managers', qw(2025-02-01 2025-03-17 2025-03-18 2025-03-31 2025-04-01 2025-08-01
		2026-11-01 2026-12-17 2026-12-31 2027-01-01), $today);
	$o->{d}->stop;
}

diag "compared $orgs organisations: $compared findings";
done_testing;
