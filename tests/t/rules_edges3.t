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
use EffortTest qw(json_encode);
use ModelOrg qw(org feed differences person grant asg charge ts full_month ts_id decide_api);
use RulesModel;

my $now_iso = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime);
my $today = RulesModel::ds(RulesModel->new->local_day($now_iso));
my ($orgs, $compared) = (0, 0);

# effortd lists the model's findings at every date.
sub agrees {
	my ($o, $name, @dates) = @_;
	$orgs++;
	for my $as_of (@dates) {
		my ($diff, $n) = differences($o, $as_of);
		$compared += $n;
		ok !@$diff, "$name as of $as_of: effortd lists the model's $n findings" or diag join "\n", @$diff;
	}
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
		2026-10-31))), '2025-09-01', '2025-10-01', '2026-03-01', $today);
	$o->{d}->stop;
	my $u = org(timezone => 'UTC', authorisation_months => 1, reminder_days => 0);
	calendar_org($u);
	agrees($u, 'deadlines and timestamps, UTC, one month', sort(around(qw(2024-03-31 2025-09-30 2026-01-31 2026-01-30 2028-01-31
		2028-02-29 2028-03-29 2028-03-31))), $today);
	$u->{d}->stop;
}

diag "compared $orgs organisations: $compared findings";
done_testing;
