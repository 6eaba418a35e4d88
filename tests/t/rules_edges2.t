# An independent check of the audit rules' figures against RULES.md (its
# second edition overriding earlier readings), on edges the other rule tests
# (tests/sql/rules_*.sql, violations.t) do not reach: employment starting or
# ending mid-month, on a weekend or a month's last day; months without a
# weekday inside the employment; FTEs of 6 decimals; several timesheets in one
# month (weekly, overlapping, a gap, weekend only); deadlines at month ends
# (30 Nov, 30/31 Dec, 28/29 Feb in a leap year) and as_of on either side;
# authorised_at near local midnight across BST/GMT; HR-feed delegations to
# the day; line manager changes and removal in real time; fte_fraction
# charges in part-employed months, fractions summed exactly; open-ended
# assignments running to the grant's end; timesheets partly inside a grant;
# cap years of 366 days, mid-year starters, DA estimates prorated by days in
# a projection, n = 1, investigator by an assignment overlapping the year by
# one day; teaching over an open-ended assignment at 0.6 FTE; rounding.
#
# Every organisation is built through the real feeds of a real effortd; the
# expected findings are computed by hand from RULES.md (the arithmetic is in
# the comments) and compared with GET /v1/violations?as_of=&person_id=
# (rule, severity, person, grant, period_start, period_end, hours to the
# hundredth).  Where RULES.md can be read two ways the comment says so and
# the case asserts the reading docs/rules.md took.
#
# Calendar used below (weekdays Mon-Fri): Feb 2024 21 (29 days), Mar 2024 21,
# Apr 2024 22, May 2024 23, Jun 2024 20, Jul 2024 23, Aug 2024 22, Sep 2024
# 21, Oct 2024 23, Nov 2024 21, Dec 2024 22, Jan 2025 23, Feb 2025 20 (1 Feb
# a Saturday), Mar 2025 21 (31 Mar a Monday), Apr 2025 22, May 2025 22 (31
# May a Saturday), Jun 2025 21, Jul 2025 23, Aug 2025 21.
# BST: 30 Mar - 26 Oct 2025.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use POSIX qw(floor strftime);
use Time::HiRes qw(sleep);
use Time::Local qw(timegm);
use EffortTest qw(new_db start_effortd psql_value post_feed json_encode clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $d = start_effortd(db => $db);
my $reviewer = $d->token('reviewer');
# Today in Europe/London, the last calendar month and this one, and the day
# the "as_of today" check compares with: tomorrow, or yesterday on a
# month's last day (so that no month ends and no deadline passes between).
my ($TODAY, $LAST_START, $LAST_END, $THIS_START, $THIS_END, $OTHER_DAY) = split / /, psql_value($db, q{
	SELECT concat_ws(' ', d, (m - interval '1 month')::date, m - 1, m, (m + interval '1 month')::date - 1,
	                 CASE WHEN d = (m + interval '1 month')::date - 1 THEN d - 1 ELSE d + 1 END)
	  FROM (SELECT d, date_trunc('month', d)::date AS m
	          FROM (SELECT (now() AT TIME ZONE 'Europe/London')::date AS d) x) y});

my $G1 = 'EP/E2G0001/1';    # 2023-01-01 .. 2026-12-31
my $G2 = 'EP/E2G0002/1';    # 2024-01-01 .. 2026-12-31
my $G3 = 'EP/E2G0003/1';    # 2025-01-01 .. 2025-03-31
my $G4 = 'EP/E2G0004/1';    # 2025-04-07 .. 2026-12-31
my $G5 = 'EP/E2G0005/1';    # 2024-01-01 .. 2025-02-28
my $GU = 'EP/E2UNKNOWN/1';  # never sent
my %org_cache;    # as_of -> the whole organisation's findings (org_findings)
my $V = 'violation';
my $W = 'warning';

# ---------------------------------------------------------------- helpers
sub setup_ok {
	my ($feed, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, "setup: $name" or diag json_encode($j);
	%org_cache = ();    # the organisation changed
}

# Weekdays Mon-Fri in [from, to].
sub epoch { my ($y, $m, $dd) = split /-/, $_[0]; timegm(0, 0, 0, $dd, $m - 1, $y) }
sub day_of { strftime('%Y-%m-%d', gmtime($_[0])) }
sub weekdays {
	my ($from, $to) = @_;
	my $n = 0;
	for (my $t = epoch($from); $t <= epoch($to); $t += 86400) {
		my $wd = (gmtime $t)[6];
		$n++ if $wd >= 1 && $wd <= 5;
	}
	return $n;
}
sub plus_days { day_of(epoch($_[0]) + 86400 * $_[1]) }
sub month_end {
	my ($y, $m) = split /-/, $_[0];
	($y, $m) = $m == 12 ? ($y + 1, 1) : ($y, $m + 1);
	return day_of(timegm(0, 0, 0, 1, $m - 1, $y) - 86400);
}

sub person {
	my ($id, %o) = @_;
	return { person_id => $id, name => "Person $id", fte => $o{fte} // 1,
		employment_start => $o{start} // '2020-01-06',
		exists $o{end} ? (employment_end => $o{end}) : (),
		line_manager_id => exists $o{lm} ? $o{lm} : 'M1' };
}
sub asg {
	my ($p, $g, $from, $to, %o) = @_;
	return { person_id => $p, grant_ref => $g, role => $o{role} // 'researcher',
		cost_type => $o{cost} // 'DI', start_date => $from, end_date => $to,
		fte_share => $o{share} // 0.5,
		exists $o{est} ? (estimated_hours_per_year => $o{est}) : () };
}

# A timesheet for [from, to]: the entries given plus "research" hours up to
# fte x 7.5 h x the weekdays of the period (complete: no hours_incomplete),
# unless total => undef; submitted the day after the period at 09:00Z and
# authorised by M1 three days after it at 10:00Z unless told otherwise
# (by => undef: not authorised).
sub ts {
	my ($p, $from, $to, $entries, %o) = @_;
	my @e = map { { kind => $_->[0], activity => $_->[1], hours => $_->[2] } } @$entries;
	if (!exists $o{total} || defined $o{total}) {
		my $want = $o{total} // ($o{fte} // 1) * 7.5 * weekdays($from, $to);
		my $sum = 0;
		$sum += $_->[2] for @$entries;
		my $rest = 0 + sprintf('%.2f', $want - $sum);
		push @e, { kind => 'research', activity => 'research', hours => $rest } if $rest > 0;
	}
	my $by = exists $o{by} ? $o{by} : 'M1';
	return { person_id => $p, period_start => $from, period_end => $to,
		submitted_at => $o{submitted} // plus_days($to, 1) . 'T09:00:00Z', entries => \@e,
		defined $by ? (authorised_by => $by,
			authorised_at => $o{at} // plus_days($to, 3) . 'T10:00:00Z') : () };
}
# Complete monthly timesheets for every month from $from to $to (YYYY-MM-01).
sub months {
	my ($p, $from, $to, $entries, %o) = @_;
	my @r;
	for (my $m = $from; $m le $to; $m = plus_days(month_end($m), 1)) {
		push @r, ts($p, $m, month_end($m), $entries, %o);
	}
	return @r;
}

# GET /v1/violations?as_of=&person_id=: [ [rule, severity, person, grant,
# start, end, hours], ... ] in the server's order.
sub h { defined $_[0] ? sprintf('%.2f', $_[0]) : undef }
sub findings {
	my ($as_of, $p) = @_;
	my ($s, $j) = $d->req(GET => '/v1/violations', token => $reviewer,
		query => { as_of => $as_of, person_id => $p });
	is $s, 200, "GET /v1/violations?as_of=$as_of&person_id=$p: 200" or diag json_encode($j);
	my $list = ref $j eq 'HASH' && ref $j->{violations} eq 'ARRAY' ? $j->{violations} : [];
	my $got = [ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] } @$list ];
	# The person's findings are those of the whole organisation's
	# evaluation (GET without person_id) for that person.
	my $all = org_findings($as_of);
	is_deeply $got, [ grep { $_->[2] eq $p } @$all ], "… the same as $p\'s findings in the whole organisation's list"
		or diag 'organisation: ' . json_encode([ grep { $_->[2] eq $p } @$all ]);
	return $got;
}
# GET /v1/violations?as_of= for everyone (memoised per as_of until the
# data changes: setup_ok clears %org_cache).
sub org_findings {
	my ($as_of) = @_;
	return $org_cache{$as_of} //= do {
		my ($s, $j) = $d->req(GET => '/v1/violations', token => $reviewer, query => { as_of => $as_of });
		[ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] }
			@{ ref $j eq 'HASH' ? $j->{violations} // [] : [] } ];
	};
}
sub expect {
	my ($as_of, $p, $want, $name) = @_;
	my $got = findings($as_of, $p);
	is_deeply $got, $want, "$p as of $as_of: $name" or diag 'got: ' . json_encode($got);
}
sub f { my ($rule, $sev, $p, $g, $ps, $pe, $hours) = @_; [ $rule, $sev, $p, $g, $ps, $pe, $hours ] }

# ---------------------------------------------------------------- the organisation
setup_ok(grants => [
	{ grant_ref => $G1, title => 'One', funder => 'EPSRC', start_date => '2023-01-01', end_date => '2026-12-31' },
	{ grant_ref => $G2, title => 'Two', funder => 'EPSRC', start_date => '2024-01-01', end_date => '2026-12-31' },
	{ grant_ref => $G3, title => 'Three', funder => 'EPSRC', start_date => '2025-01-01', end_date => '2025-03-31' },
	{ grant_ref => $G4, title => 'Four', funder => 'EPSRC', start_date => '2025-04-07', end_date => '2026-12-31' },
	{ grant_ref => $G5, title => 'Five', funder => 'EPSRC', start_date => '2024-01-01', end_date => '2025-02-28' },
], 'grants');

setup_ok(people => [
	person('M1', lm => undef), person('M2', lm => undef), person('D1', lm => undef),
	person('E01', fte => 0.666667, end => '2025-03-15'),
	person('E02', start => '2025-01-31'),
	person('E03', start => '2025-05-31'),
	person('E04'), person('E05'), person('E05B'),
	(map { person($_) } qw(E06A E06B E06C E06D E06E E07A E07B E07C E07D)),
	(map { person($_) } qw(E08A E08B E08C E08D E08F E08G E08H)), person('E08E', lm => undef),
	person('E09', start => '2025-03-17'), person('E09C', fte => 0.8),
	person('E10'), person('E10B'), person('E10C'),
	person('E11', start => '2024-02-01'), person('E11B'), person('E11C'),
	person('E12', fte => 0.6),
	person('E13', fte => 0.002),
	person('E14'), person('E14B'), person('E15'), person('E19', start => '2025-02-10'),
	person('E20'), person('E20B'), person('E21'), person('E22'), person('E23'),
	person('E24', fte => 0.666667),
	(map { person($_) } qw(E07E E26A E26B E26C E26D E26E E27 E28 E30)),
	person('E29', start => '2025-03-05', end => '2025-03-20'),
], 'people');

setup_ok(assignments => [
	asg('E01', $G1, '2025-01-01', '2025-12-31'),
	asg('E02', $G1, '2025-01-01', '2025-12-31'),
	asg('E03', $G1, '2025-05-01', '2025-12-31'),
	asg('E04', $G1, '2025-02-01', '2025-02-28'),
	asg('E09', $G1, '2025-03-17', '2025-12-31', share => 1),
	asg('E10', $G3, '2025-01-01', undef),
	asg('E10B', $GU, '2025-04-01', undef),
	asg('E10C', $G4, '2025-04-01', '2025-12-31'),
	asg('E11', $G1, '2024-02-01', '2024-07-31', role => 'pi'),
	asg('E11B', $G1, '2024-08-01', '2025-07-31', role => 'co_i'),
	asg('E11B', $G2, '2024-10-15', undef, role => 'co_i', cost => 'DA', est => 300),
	asg('E11C', $G1, '2024-08-01', '2025-07-31', role => 'co_i'),
	asg('E12', $G5, '2025-01-15', undef, role => 'fellow'),
	asg('E13', $G1, '2025-02-01', '2025-02-28'),
	asg('E14', $G1, '2025-01-01', '2025-12-31', share => 1),
	asg('E14', $G2, '2025-02-10', '2025-02-20', cost => 'DA', share => 0),
	asg('E14B', $G1, '2025-01-01', '2025-01-31', share => 0),
	asg('E20', $G1, '2023-09-01', '2024-08-01', role => 'pi', cost => 'DA'),
	asg('E20', $G1, '2024-08-02', '2025-07-31'),
	asg('E20B', $G1, '2023-09-01', '2024-07-31', role => 'pi', cost => 'DA'),
	asg('E20B', $G1, '2024-08-01', '2025-07-31'),
	asg('E21', $G1, '2024-08-01', '2025-07-31', role => 'co_i'),
	asg('E21', $G2, '2024-08-01', '2025-07-31', cost => 'DA', est => 500),
	asg('E23', $GU, '2025-01-01', undef, role => 'fellow', cost => 'DA'),
	asg('E24', $G1, '2025-01-01', '2025-01-31'),
	asg('E29', $G1, '2025-03-01', '2025-12-31'),
	asg('E27', $G1, '2025-01-01', '2025-03-31', role => 'fellow', share => 0.8),
], 'assignments');

setup_ok(delegations => [
	{ manager_id => 'M1', delegate_id => 'D1', start_date => '2025-02-01', end_date => '2025-02-28' },
	{ manager_id => 'M1', delegate_id => 'D1', start_date => '2025-05-01', end_date => '2025-05-31' },
	{ manager_id => 'M1', delegate_id => 'D1', start_date => $THIS_START, end_date => $THIS_END },
	{ manager_id => 'M1', delegate_id => 'E07E', start_date => '2025-02-01', end_date => '2025-02-28' },
], 'HR-feed delegations M1 -> D1: February 2025, May 2025, this month');

setup_ok(timesheets => [
	ts('E01', '2025-01-01', '2025-01-31', [ [ grant => $G1, 50 ] ], fte => 0.666667),
	ts('E02', '2025-02-01', '2025-02-28', [ [ grant => $G1, 75 ] ]),
	# E04, February 2025: weekend only, a week, an overlapping fortnight,
	# a gap (17-21 Feb), the last week.
	ts('E04', '2025-02-01', '2025-02-02', [ [ research => 'research', 4 ] ], total => undef),
	ts('E04', '2025-02-03', '2025-02-09', [ [ grant => $G1, 37.5 ] ], total => undef),
	ts('E04', '2025-02-05', '2025-02-14', [ [ grant => $G1, 20 ] ], total => undef),
	ts('E04', '2025-02-24', '2025-02-28', [ [ grant => $G1, 37.5 ] ], total => undef),
	# E05: not authorised.
	ts('E05', '2024-11-01', '2024-11-30', [], by => undef),
	ts('E05', '2024-12-01', '2024-12-30', [], by => undef),
	ts('E05', '2024-12-31', '2024-12-31', [], by => undef),
	ts('E05B', '2024-02-01', '2024-02-28', [], by => undef),
	ts('E05B', '2024-02-29', '2024-02-29', [], by => undef),
	# E06: local midnight.
	ts('E06A', '2025-01-01', '2025-01-31', [], at => '2025-03-31T22:59:59Z'),
	ts('E06B', '2025-01-01', '2025-01-31', [], at => '2025-03-31T23:00:00Z'),
	ts('E06C', '2025-08-01', '2025-08-31', [], at => '2025-10-31T23:30:00Z'),
	ts('E06D', '2025-03-01', '2025-03-31', [], submitted => '2025-03-31T21:00:00Z', at => '2025-03-31T23:30:00Z'),
	ts('E06E', '2025-01-01', '2025-01-31', [], submitted => '2025-01-31T20:00:00Z', at => '2025-01-31T23:30:00Z'),
	# E07: authorised by the delegate D1.
	ts('E07A', '2025-01-01', '2025-01-31', [], by => 'D1', at => '2025-02-28T23:30:00Z'),
	ts('E07B', '2025-04-01', '2025-04-30', [], by => 'D1', at => '2025-05-31T23:30:00Z'),
	ts('E07C', '2025-04-01', '2025-04-30', [], submitted => '2025-04-30T20:00:00Z', by => 'D1',
		at => '2025-04-30T23:30:00Z'),
	ts('E07D', '2025-04-01', '2025-04-30', [], submitted => '2025-04-30T20:00:00Z', by => 'D1',
		at => '2025-04-30T22:30:00Z'),
	ts('E09', '2025-04-01', '2025-04-30', [ [ grant => $G1, 54.49 ] ]),
	months('E10', '2025-01-01', '2025-02-01', [ [ grant => $G3, 40 ] ]),
	ts('E10', '2025-03-01', '2025-03-31', [ [ grant => $G3, 5 ] ]),
	ts('E10', '2025-04-01', '2025-04-30', [ [ grant => $G3, 10 ] ]),
	ts('E10B', '2025-04-01', '2025-04-30', [ [ grant => $GU, 20 ] ]),
	ts('E10C', '2025-04-01', '2025-04-04', [ [ grant => $G4, 8 ] ]),
	ts('E10C', '2025-04-05', '2025-04-11', [ [ grant => $G4, 10 ] ]),
	ts('E10C', '2025-04-12', '2025-04-30', []),
	months('E11', '2024-02-01', '2024-07-01', [ [ grant => $G1, 150 ] ]),
	months('E11B', '2024-08-01', '2024-12-01', [ [ grant => $G1, 150 ] ]),
	ts('E11C', '2024-08-01', '2024-08-31', [ [ grant => $G1, 140 ] ]),
	ts('E12', '2025-01-01', '2025-01-31', [ [ teaching => 'teaching', 20 ], [ grant => $G5, 50 ] ], fte => 0.6),
	ts('E12', '2025-02-01', '2025-02-28', [ [ teaching => 'teaching', 20 ], [ grant => $G5, 40 ] ], fte => 0.6),
	ts('E12', '2025-03-01', '2025-03-31', [ [ teaching => 'teaching', 20 ] ], fte => 0.6),
	ts('E13', '2025-02-01', '2025-02-25', [ [ research => 'research', 0.26 ] ], total => undef),
	ts('E15', '2025-01-01', '2025-01-31', [], submitted => '2025-02-03T10:00:00Z', at => '2025-02-03T10:00:00Z'),
	ts('E19', '2025-02-01', '2025-02-28', [ [ research => 'research', 112.5 ] ], total => undef),
	months('E20', '2024-08-01', '2025-07-01', [ [ grant => $G1, 150 ] ]),
	months('E20B', '2024-08-01', '2025-07-01', [ [ grant => $G1, 150 ] ]),
	months('E21', '2024-08-01', '2025-07-01', [ [ grant => $G1, 100 ] ]),
	ts('E22', '2025-01-01', '2025-01-31', [], total => 86.25),
	ts('E23', '2025-01-01', '2025-01-31', [ [ teaching => 'teaching', 40 ] ]),
	ts('E24', '2025-01-01', '2025-01-31', [ [ grant => $G1, 57 ] ], total => 114.5),
	ts('E07E', '2025-01-01', '2025-01-31', [], by => 'E07E', at => '2025-02-10T10:00:00Z'),
	ts('E30', '2025-01-01', '2025-01-31', [], submitted => '2025-02-03T11:00:00Z', at => '2025-02-03T10:00:00Z'),
	ts('E26A', '2023-12-01', '2023-12-31', [], by => undef),
	ts('E26B', '2025-09-01', '2025-09-30', [], at => '2025-11-30T23:30:00Z'),
	ts('E26C', '2025-09-01', '2025-09-30', [], at => '2025-12-01T00:00:00Z'),
	ts('E26D', '2023-12-01', '2023-12-31', [], at => '2024-02-29T23:59:59Z'),
	ts('E26E', '2023-12-01', '2023-12-31', [], at => '2024-03-01T00:00:00Z'),
	months('E27', '2025-01-01', '2025-03-01', [ [ grant => $G1, 100 ], [ teaching => 'teaching', 40 ] ]),
], 'timesheets');

setup_ok(charges => [
	{ person_id => 'E01', grant_ref => $G1, month => '2025-03', fte_fraction => 0.5 },
	{ person_id => 'E01', grant_ref => $G1, month => '2025-04', hours => 10 },
	{ person_id => 'E01', grant_ref => $G2, month => '2025-04', fte_fraction => 0.5 },
	{ person_id => 'E03', grant_ref => $G1, month => '2025-05', fte_fraction => 1 },
	{ person_id => 'E03', grant_ref => $G2, month => '2025-05', hours => 5 },
	{ person_id => 'E09', grant_ref => $G1, month => '2025-03', fte_fraction => 1 },
	{ person_id => 'E09', grant_ref => $G1, month => '2025-04', fte_fraction => 0.333333 },
	{ person_id => 'E09', grant_ref => $G1, month => '2025-06', hours => 10 },
	{ person_id => 'E09C', grant_ref => $G1, month => '2025-06', fte_fraction => 0.333333 },
	{ person_id => 'E09C', grant_ref => $G2, month => '2025-06', fte_fraction => 0.666668 },
	{ person_id => 'E24', grant_ref => $G1, month => '2025-01', fte_fraction => 0.5 },
	{ person_id => 'E29', grant_ref => $G1, month => '2025-02', hours => 5 },
	{ person_id => 'E29', grant_ref => $G1, month => '2025-03', fte_fraction => 1 },
], 'charges');

# ---------------------------------------------------------------- employment edges
# E01: 0.666667 FTE (25.0000125 h a week, 5.0000025 h a weekday), employed
# to Sat 15 Mar 2025, DI on G1 all 2025.  January complete (115.00 of
# 115.0000575 h: 0.0000575 short, within tolerance).  February: no
# timesheet, 20 weekdays = 100.00005 -> 100.00, deadline 30 Apr passed.
# March: 1-15 Mar has 10 weekdays = 50.000025 -> 50.00, deadline 31 May
# passed on 1 Jun.  Charges: March 0.5 x 50.000025 = 25.0000125 -> 25.00
# (no timesheet: activity_missing); April (employment over: 0 h
# contracted) 10 h on G1 -> activity_missing 10 and overcharged 10 - 0 =
# 10; 0.5 of April's 0 h on G2 = 0 h charged -> nothing.  No month after
# March needs a timesheet.
expect('2025-06-01', 'E01', [
	f('timesheet_missing', $V, 'E01', undef, '2025-02-01', '2025-02-28', '100.00'),
	f('activity_missing', $V, 'E01', $G1, '2025-03-01', '2025-03-31', '25.00'),
	f('timesheet_missing', $V, 'E01', undef, '2025-03-01', '2025-03-31', '50.00'),
	f('activity_missing', $V, 'E01', $G1, '2025-04-01', '2025-04-30', '10.00'),
	f('overcharged_month', $V, 'E01', undef, '2025-04-01', '2025-04-30', '10.00'),
], 'employment ending on a Saturday mid-month at 0.666667 FTE; fte_fraction of a part month; charges after it');

# E02: employed from Fri 31 Jan 2025 (January's last day: 1 weekday, 7.5 h),
# DI from 1 Jan.  No January timesheet: timesheet_missing 7.50, a warning on
# the deadline 31 Mar (as_of equal to it has not passed it), a violation on
# 1 Apr, when March (21 weekdays, 157.5 h, deadline 31 May) is missing too.
expect('2025-03-31', 'E02', [
	f('timesheet_missing', $W, 'E02', undef, '2025-01-01', '2025-01-31', '7.50'),
], 'employment starting on the month\'s last day: one weekday; warning on the deadline day');
expect('2025-04-01', 'E02', [
	f('timesheet_missing', $V, 'E02', undef, '2025-01-01', '2025-01-31', '7.50'),
	f('timesheet_missing', $W, 'E02', undef, '2025-03-01', '2025-03-31', '157.50'),
], '… violation the day after the deadline');

# E03: employed from Sat 31 May 2025, DI on G1 from 1 May: May has no
# weekday inside the employment, so nothing is missing and 1.0 of its 0 h
# contracted charged to G1 is 0 h (nothing); 5 h charged to G2 have no
# timesheet hours (activity_missing 5) and exceed the 0 h contracted
# (overcharged 5).
expect('2025-06-15', 'E03', [
	f('activity_missing', $V, 'E03', $G2, '2025-05-01', '2025-05-31', '5.00'),
	f('overcharged_month', $V, 'E03', undef, '2025-05-01', '2025-05-31', '5.00'),
], 'a month without a weekday in the employment: nothing missing; charges against 0 h contracted');

# E29: employed 5-20 Mar 2025 only (Wed to Thu: 3 + 5 + 4 = 12 weekdays,
# 90 h), DI on G1 from 1 Mar.  March: no timesheet, 90 h missing (a
# violation after 31 May); 1.0 charged = 90 h, none recorded:
# activity_missing 90.  February (before the employment, and before any
# month of E29's assignments or timesheets): 5 h charged against 0 h
# contracted: activity_missing 5 and overcharged 5.
expect('2025-06-01', 'E29', [
	f('activity_missing', $V, 'E29', $G1, '2025-02-01', '2025-02-28', '5.00'),
	f('overcharged_month', $V, 'E29', undef, '2025-02-01', '2025-02-28', '5.00'),
	f('activity_missing', $V, 'E29', $G1, '2025-03-01', '2025-03-31', '90.00'),
	f('timesheet_missing', $V, 'E29', undef, '2025-03-01', '2025-03-31', '90.00'),
], 'employment starting and ending inside one month; a charge before the employment');

# E19: employed from Mon 10 Feb 2025, one timesheet for all of February
# with 112.5 h: the weekdays it covers inside the employment are 15 (10-28
# Feb), 112.5 h contracted, none short (not the 20 weekdays of the month).
expect('2025-06-01', 'E19', [], 'a timesheet reaching before the employment: only employed weekdays count');

# ---------------------------------------------------------------- several timesheets in a month
# E04, DI in February 2025 only.  Timesheets 1-2 Feb (weekend, 4 h, no
# weekday), 3-9 Feb (37.5 h; weekdays 3-7), 5-14 Feb (20 h; weekdays 5-7
# again and 10-14), 24-28 Feb (37.5 h).  Covered weekdays, each once: 3-7,
# 10-14, 24-28 = 15; uncovered 17-21 = 5 -> timesheet_missing 37.5 h
# (deadline 30 Apr passed on 1 Jun).  Hours 4 + 37.5 + 20 + 37.5 = 99
# against 15 x 7.5 = 112.5 for the covered weekdays: hours_incomplete 13.5.
expect('2025-06-01', 'E04', [
	f('hours_incomplete', $V, 'E04', undef, '2025-02-01', '2025-02-28', '13.50'),
	f('timesheet_missing', $V, 'E04', undef, '2025-02-01', '2025-02-28', '37.50'),
], 'weekend-only, overlapping and gapped weekly timesheets');

# E13: 0.002 FTE (0.075 h a week, 0.015 h a weekday), DI in February 2025;
# one timesheet 1-25 Feb (17 weekdays, 0.255 h contracted, 0.26 recorded).
# Uncovered 26-28 Feb: 3 x 0.015 = 0.045 h exactly.  RULES.md says "rounded
# to 2 decimals" and fixes no rule for halves; effortd rounds half away
# from zero (PostgreSQL round(numeric)): 0.05 (half to even would give 0.04).
expect('2025-03-15', 'E13', [
	f('timesheet_missing', $W, 'E13', undef, '2025-02-01', '2025-02-28', '0.05'),
], 'rounding of an exact half hundredth: 0.045 -> 0.05 (half up)');

# ---------------------------------------------------------------- who must keep timesheets
# E14: 100 % DI on G1 all 2025 (exempt) plus a DA assignment of fte_share 0
# on 10-20 Feb 2025: another assignment overlaps February, so February needs
# a timesheet: 20 weekdays, 150 h, deadline 30 Apr (warning on 1 Apr).
# January and March stay exempt.
expect('2025-04-01', 'E14', [
	f('timesheet_missing', $W, 'E14', undef, '2025-02-01', '2025-02-28', '150.00'),
], 'a 0 % DA assignment overlapping the month removes the 100 % exemption');
# E14B: a single DI assignment of fte_share 0 for January 2025 (not 1.0:
# no exemption): 23 weekdays missing, 172.5 h, warning before 31 Mar.
expect('2025-02-15', 'E14B', [
	f('timesheet_missing', $W, 'E14B', undef, '2025-01-01', '2025-01-31', '172.50'),
], 'a DI assignment of fte_share 0 still requires timesheets');

# ---------------------------------------------------------------- deadlines
# E05, never authorised: November 2024 (157.5 h, deadline 31 Jan 2025 -- 30
# Nov is its month's last day), 1-30 Dec 2024 (21 weekdays, 157.5 h; 30 Dec
# is not the month's last day: 30 Dec + 2 months has no 30 Feb; RULES.md
# does not say, docs/rules.md reading 11 clamps to 28 Feb 2025), 31 Dec 2024
# (7.5 h, deadline 28 Feb 2025).  reminder_days 14.
expect('2025-01-16', 'E05', [], '30 Nov deadline 31 Jan is 15 days away: nothing');
expect('2025-01-17', 'E05', [
	f('authorisation_due', $W, 'E05', undef, '2024-11-01', '2024-11-30', '157.50'),
], '… 14 days away: due');
expect('2025-02-13', 'E05', [
	f('authorisation_overdue', $V, 'E05', undef, '2024-11-01', '2024-11-30', '157.50'),
], 'overdue from 1 Feb; the December deadlines (28 Feb) 15 days away');
expect('2025-02-14', 'E05', [
	f('authorisation_overdue', $V, 'E05', undef, '2024-11-01', '2024-11-30', '157.50'),
	f('authorisation_due', $W, 'E05', undef, '2024-12-01', '2024-12-30', '157.50'),
	f('authorisation_due', $W, 'E05', undef, '2024-12-31', '2024-12-31', '7.50'),
], '30 Dec and 31 Dec both have the deadline 28 Feb 2025: due 14 days before');
expect('2025-03-01', 'E05', [
	f('authorisation_overdue', $V, 'E05', undef, '2024-11-01', '2024-11-30', '157.50'),
	f('authorisation_overdue', $V, 'E05', undef, '2024-12-01', '2024-12-30', '157.50'),
	f('authorisation_overdue', $V, 'E05', undef, '2024-12-31', '2024-12-31', '7.50'),
], '… and overdue on 1 Mar');
# E05B, leap year: 1-28 Feb 2024 (20 weekdays, 150 h; 28 Feb is not the
# month's last day in 2024: deadline 28 Apr 2024) and 29 Feb 2024 (7.5 h:
# the last day, deadline 30 Apr 2024).
expect('2024-04-28', 'E05B', [
	f('authorisation_due', $W, 'E05B', undef, '2024-02-01', '2024-02-28', '150.00'),
	f('authorisation_due', $W, 'E05B', undef, '2024-02-29', '2024-02-29', '7.50'),
], '28 Feb 2024 -> 28 Apr (due on the day), 29 Feb 2024 -> 30 Apr');
expect('2024-04-29', 'E05B', [
	f('authorisation_overdue', $V, 'E05B', undef, '2024-02-01', '2024-02-28', '150.00'),
	f('authorisation_due', $W, 'E05B', undef, '2024-02-29', '2024-02-29', '7.50'),
], '… overdue the day after, 29 Feb still due');

# ---------------------------------------------------------------- local midnight (Europe/London)
# January 2025 (172.5 h, deadline 31 Mar 2025; BST from 30 Mar):
# E06A authorised 22:59:59Z = 23:59:59 BST on 31 Mar: on time;
# E06B 23:00:00Z = 00:00 BST on 1 Apr: late, 172.5 h.
expect('2025-12-01', 'E06A', [], '22:59:59Z on 31 Mar 2025 is 31 Mar in BST: on time');
expect('2025-12-01', 'E06B', [
	f('authorisation_late', $V, 'E06B', undef, '2025-01-01', '2025-01-31', '172.50'),
], '23:00:00Z on 31 Mar 2025 is 1 Apr in BST: late');
# As of 1 Feb 2025, before the deadline and before the authorisation was
# made: "as_of ... does not rewind the data", so it is late already.
expect('2025-02-01', 'E06B', [
	f('authorisation_late', $V, 'E06B', undef, '2025-01-01', '2025-01-31', '172.50'),
], '… late also as of a day before the deadline (the data is not rewound)');
# E06C: August 2025 (157.5 h, deadline 31 Oct 2025, GMT from 26 Oct)
# authorised 23:30Z on 31 Oct = 23:30 GMT, still 31 Oct: on time.
expect('2025-12-01', 'E06C', [], '23:30Z on 31 Oct 2025 (GMT) is on time');
# E06D: March 2025 (157.5 h) authorised 23:30Z on 31 Mar = 00:30 BST on 1
# Apr, after the period's last day: valid.  E06E: January 2025 authorised
# 23:30Z on 31 Jan = 23:30 GMT on 31 Jan, the period's last day: invalid.
expect('2025-12-01', 'E06D', [], '23:30Z on the period\'s last day in BST is the next local day: valid');
expect('2025-12-01', 'E06E', [
	f('authorisation_invalid', $V, 'E06E', undef, '2025-01-01', '2025-01-31', '172.50'),
], '23:30Z on the period\'s last day in GMT: signed on the period end, invalid');
# E15: authorised_at equal to submitted_at: not "before" it, valid.
expect('2025-12-01', 'E15', [], 'authorised at the very moment of submission: valid');
# E30: authorised 10:00Z, submitted 11:00Z the same local day.  RULES.md's
# Terms: "A timestamp is turned into a local date in this zone before any
# date comparison"; the rule: "timestamped before the timesheet was
# submitted".  Read as a comparison of the two timestamps (effortd,
# timesheet_checks: decided_at >= submitted_at), an hour before is before:
# invalid, 172.5 h; compared as local dates, the same day is not before.
# docs/rules.md ("it may not predate the submission") does not say which.
# Asserted as effortd reads it.
expect('2025-12-01', 'E30', [
	f('authorisation_invalid', $V, 'E30', undef, '2025-01-01', '2025-01-31', '172.50'),
], 'authorised an hour before submission on the same local day: invalid (timestamps compared)');

# ---------------------------------------------------------------- HR-feed delegations M1 -> D1
# February 2025 and May 2025, counted by their local dates alone.
# E07A: January authorised by D1 23:30Z on 28 Feb (GMT: 28 Feb): covered.
# E07B: April (165 h) by D1 23:30Z on 31 May = 00:30 BST on 1 Jun: not.
# E07C: April by D1 23:30Z on 30 Apr = 00:30 BST on 1 May: covered.
# E07D: April by D1 22:30Z on 30 Apr = 23:30 BST on 30 Apr: not (and the
# period's last day).  (E07C and E07D submitted 20:00Z on 30 Apr.)
expect('2025-12-01', 'E07A', [], 'delegate on the delegation\'s last day (GMT): valid');
expect('2025-12-01', 'E07B', [
	f('authorisation_invalid', $V, 'E07B', undef, '2025-04-01', '2025-04-30', '165.00'),
], 'delegate the local day after the delegation ended (BST): invalid');
expect('2025-12-01', 'E07C', [], 'delegate on the delegation\'s first local day (BST), 30 Apr in UTC: valid');
expect('2025-12-01', 'E07D', [
	f('authorisation_invalid', $V, 'E07D', undef, '2025-04-01', '2025-04-30', '165.00'),
], 'delegate the local day before the delegation starts: invalid');

# E07E: M1's HR-feed delegate in February 2025 authorising their own
# January timesheet (172.5 h) on 10 Feb: "or by the person themself":
# invalid, delegate or not.
expect('2025-12-01', 'E07E', [
	f('authorisation_invalid', $V, 'E07E', undef, '2025-01-01', '2025-01-31', '172.50'),
], 'self-authorisation by the manager\'s delegate: invalid');

# ---------------------------------------------------------------- deadlines on 29 Feb and 30 Nov
# December 2023 (21 weekdays, 157.5 h) ends on its month's last day: the
# deadline is the last day of February 2024, 29 Feb.  E26A never
# authorised: due on 29 Feb (0 days), overdue on 1 Mar.  E26D authorised
# 23:59:59Z on 29 Feb (GMT: 29 Feb): on time; E26E 00:00:00Z on 1 Mar:
# late.  September 2025 (22 weekdays, 165 h): deadline 30 Nov 2025; E26B
# authorised 23:30Z on 30 Nov (GMT: 30 Nov): on time; E26C 00:00Z on 1
# Dec: late.
expect('2024-02-29', 'E26A', [
	f('authorisation_due', $W, 'E26A', undef, '2023-12-01', '2023-12-31', '157.50'),
], 'deadline 29 Feb 2024: due on the day');
expect('2024-03-01', 'E26A', [
	f('authorisation_overdue', $V, 'E26A', undef, '2023-12-01', '2023-12-31', '157.50'),
], '… overdue on 1 Mar');
expect('2026-01-01', 'E26D', [], 'authorised in the last second of 29 Feb 2024: on time');
expect('2026-01-01', 'E26E', [
	f('authorisation_late', $V, 'E26E', undef, '2023-12-01', '2023-12-31', '157.50'),
], 'authorised at midnight on 1 Mar 2024: late');
expect('2026-01-01', 'E26B', [], 'authorised 23:30Z on 30 Nov 2025 (GMT): on time');
expect('2026-01-01', 'E26C', [
	f('authorisation_late', $V, 'E26C', undef, '2025-09-01', '2025-09-30', '165.00'),
], 'authorised at midnight on 1 Dec 2025: late');

# ---------------------------------------------------------------- charges
# E09: employed from Mon 17 Mar 2025, 100 % DI on G1 from then (a single
# full assignment: no timesheets needed).  March: 11 weekdays, 82.5 h;
# charged 1.0 -> 82.5 h with no timesheet hours: activity_missing 82.5
# (docs/rules.md reading 1: exempt people too).  April: 0.333333 x 165 =
# 54.999945 h charged, 54.49 recorded: 0.509945 over the 0.5 tolerance ->
# unevidenced_charge 0.51.  June: 10 h charged; June has not ended on 15
# Jun (nothing), has on 1 Jul (activity_missing 10).
expect('2025-06-15', 'E09', [
	f('activity_missing', $V, 'E09', $G1, '2025-03-01', '2025-03-31', '82.50'),
	f('unevidenced_charge', $V, 'E09', $G1, '2025-04-01', '2025-04-30', '0.51'),
], 'fte_fraction of a month started mid-way; 6-decimal fraction against the tolerance; a month not ended');
expect('2025-07-01', 'E09', [
	f('activity_missing', $V, 'E09', $G1, '2025-03-01', '2025-03-31', '82.50'),
	f('unevidenced_charge', $V, 'E09', $G1, '2025-04-01', '2025-04-30', '0.51'),
	f('activity_missing', $V, 'E09', $G1, '2025-06-01', '2025-06-30', '10.00'),
], '… the June charge once June has ended');
# E09C: 0.8 FTE, June 2025: 0.8 x 37.5 x 21 / 5 = 126 h contracted.
# Charged 0.333333 x 126 = 41.999958 (G1) and 0.666668 x 126 = 84.000168
# (G2), together 1.000001 x 126 = 126.000126 > 126: overcharged by
# 0.000126 h, which rounds to 0.00 (RULES.md: "exceed the contracted hours").
expect('2025-07-01', 'E09C', [
	f('activity_missing', $V, 'E09C', $G1, '2025-06-01', '2025-06-30', '42.00'),
	f('activity_missing', $V, 'E09C', $G2, '2025-06-01', '2025-06-30', '84.00'),
	f('overcharged_month', $V, 'E09C', undef, '2025-06-01', '2025-06-30', '0.00'),
], 'fractions summing to 1.000001: overcharged by 0.000126 h (reported 0.00)');

# ---------------------------------------------------------------- grant periods, open-ended assignments
# E10: DI on G3 (1 Jan - 31 Mar 2025) without an end date: it runs to 31 Mar
# (second edition), so April needs no timesheet, and April's 10 h on G3 are
# both unassigned_grant_hours (no assignment overlapping April) and
# outside_grant_period (the April timesheet lies wholly after 31 Mar).
expect('2025-05-15', 'E10', [
	f('outside_grant_period', $V, 'E10', $G3, '2025-04-01', '2025-04-30', '10.00'),
	f('unassigned_grant_hours', $V, 'E10', $G3, '2025-04-01', '2025-04-30', '10.00'),
], 'open-ended assignment ends with its grant: hours after it are unassigned and outside');
# E10B: DI on an unknown grant, open-ended from 1 Apr 2025: open, so May
# needs a timesheet (22 weekdays, 165 h, warning before 31 Jul) and
# April's 20 h on it are assigned; unknown grants are never outside.
expect('2025-06-10', 'E10B', [
	f('timesheet_missing', $W, 'E10B', undef, '2025-05-01', '2025-05-31', '165.00'),
], 'open-ended assignment on an unknown grant stays open');
# E10C: G4 starts Mon 7 Apr 2025.  Timesheets 1-4 Apr (8 h on G4: wholly
# before -> outside 8), 5-11 Apr (10 h on G4: partly inside -> not), 12-30
# Apr.  The finding's period is the month.
expect('2025-05-01', 'E10C', [
	f('outside_grant_period', $V, 'E10C', $G4, '2025-04-01', '2025-04-30', '8.00'),
], 'only the timesheet wholly before the grant start is outside');

# ---------------------------------------------------------------- investigator cap
# E11: employed from 1 Feb 2024, pi on G1 1 Feb - 31 Jul 2024; cap year 1
# Aug 2023 - 31 Jul 2024 has 366 days (29 Feb 2024), 182 of them employed
# (29+31+30+31+30+31): cap 1650 x 182 / 366 = 820.4918; 6 x 150 = 900 grant
# hours: exceeded by 79.5082 -> 79.51.
expect('2024-09-01', 'E11', [
	f('investigator_cap_exceeded', $V, 'E11', undef, '2023-08-01', '2024-07-31', '79.51'),
], 'cap year of 366 days, employed part of it');
# E11B: co_i on G1 (DI, 150 h a month Aug - Dec 2024) and DA on G2 from 15
# Oct 2024, open-ended (to G2's end, 31 Dec 2026), 300 h a year.  As of 1
# Jan 2025: n = 5 ended months (Aug - Dec).  Year's hours: 750 + 300 x 290
# / 365 (15 Oct - 31 Jul) = 988.36 < 1650.  Ended months: 750 + 300 x 78 /
# 365 (15 Oct - 31 Dec) = 814.1096; / 5 x 12 = 1953.8630 -> projected
# excess 303.86.
expect('2025-01-01', 'E11B', [
	f('investigator_cap_projected', $W, 'E11B', undef, '2024-08-01', '2025-07-31', '303.86'),
], 'projection with DA estimates prorated by the days of the ended months');
# E11C: co_i from 1 Aug 2024, 140 h in August; as of 1 Sep 2024 n = 1:
# 140 x 12 = 1680 > 1650: projected 30.
expect('2024-09-01', 'E11C', [
	f('investigator_cap_projected', $W, 'E11C', undef, '2024-08-01', '2025-07-31', '30.00'),
], 'projection from a single ended month');
# E20: pi on G1 1 Sep 2023 - 1 Aug 2024 (overlapping the cap year 2024-25 by
# one day), researcher after; 150 grant h a month Aug 2024 - Jul 2025 =
# 1800 > 1650: exceeded by 150.  E20B: the pi assignment ends 31 Jul 2024,
# so E20B is no investigator in 2024-25: nothing.
expect('2025-09-01', 'E20', [
	f('investigator_cap_exceeded', $V, 'E20', undef, '2024-08-01', '2025-07-31', '150.00'),
], 'investigator by an assignment overlapping the cap year by one day');
expect('2025-09-01', 'E20B', [], 'a pi assignment ending the day before the cap year: not an investigator');

# ---------------------------------------------------------------- teaching
# E12: 0.6 FTE fellow on G5 (ends 28 Feb 2025) from 15 Jan 2025 without an
# end date: the assignment runs 15 Jan - 28 Feb 2025 (the finding's
# period).  Teaching 20 h in each of Jan, Feb, Mar.  As of 1 Apr: ended
# months overlapping it with timesheets: Jan, Feb (59 days); limit 6 x 0.6
# x 59 / 7 = 30.342857; taught 40: 9.657143 -> 9.66, violation (ended 28
# Feb, before as_of).  As of 28 Feb: January only (31 days): 15.942857
# against 20: 4.057143 -> 4.06, warning (the assignment still runs on 28
# Feb).
expect('2025-04-01', 'E12', [
	f('teaching_excess', $V, 'E12', $G5, '2025-01-15', '2025-02-28', '9.66'),
], 'teaching over an open-ended assignment ending with its grant, 0.6 FTE');
expect('2025-02-28', 'E12', [
	f('teaching_excess', $W, 'E12', $G5, '2025-01-15', '2025-02-28', '4.06'),
], '… a warning while it runs (as_of = its last day)');

# E27, RULES.md's worked example through the feeds: a 1.0 FTE fellow on
# G1 1 Jan - 31 Mar 2025 teaching 40 h in each month: 90 days, limit 6 x 90
# / 7 = 77.142857, taught 120: 42.857143 -> 42.86, a violation on 1 Apr
# (ended 31 Mar).
expect('2025-04-01', 'E27', [
	f('teaching_excess', $V, 'E27', $G1, '2025-01-01', '2025-03-31', '42.86'),
], 'RULES.md\'s teaching example');

# E23: fellow, DA (no timesheets required), on a grant effortd does not
# know, without an end date: the assignment stays open (second edition:
# "open when the grant is unknown"; docs/rules.md reading 10 shows the
# open end as 9999-12-31) and never ends, so a warning.  January 2025:
# limit 6 x 1.0 x 31 / 7 = 26.571429, taught 40: 13.428571 -> 13.43.
expect('2025-02-01', 'E23', [
	f('teaching_excess', $W, 'E23', $GU, '2025-01-01', '9999-12-31', '13.43'),
], 'teaching over an open-ended assignment on an unknown grant');

# ---------------------------------------------------------------- tolerances with fractions
# E24: 0.666667 FTE, January 2025: 23 x 5.0000025 = 115.0000575 h
# contracted; 114.50 recorded: 0.5000575 short, more than the 0.5
# tolerance (compared exactly, docs/rules.md reading 3): hours_incomplete,
# reported 0.50.  Charged 0.5 x 115.0000575 = 57.50002875 on G1, 57
# recorded: 0.50002875 over: unevidenced_charge, reported 0.50.
expect('2025-06-01', 'E24', [
	f('hours_incomplete', $V, 'E24', undef, '2025-01-01', '2025-01-31', '0.50'),
	f('unevidenced_charge', $V, 'E24', $G1, '2025-01-01', '2025-01-31', '0.50'),
], 'tolerances passed by millionths of an hour at 0.666667 FTE (reported 0.50)');

# ---------------------------------------------------------------- DA estimates of non-investigator roles
# E21: co_i on G1 (DI, 100 h a month Aug 2024 - Jul 2025: 1200 h) and a
# researcher DA assignment on G2 for the whole cap year, 500 h a year.
# RULES.md: "plus, for each DA assignment of theirs (investigators costed on
# estimates, no timesheets)" -- every DA assignment, or only investigator
# ones?  docs/rules.md reading 9: every DA assignment, whatever its role:
# 1200 + 500 x 365 / 365 = 1700 against 1650: exceeded by 50 (under the
# other reading 1200: nothing).  Asserted as docs/rules.md reads it.
expect('2025-09-01', 'E21', [
	f('investigator_cap_exceeded', $V, 'E21', undef, '2024-08-01', '2025-07-31', '50.00'),
], 'a researcher DA estimate counts towards an investigator\'s cap (docs/rules.md reading 9)');

# E22: 1.0 FTE when its January 2025 timesheet of 86.25 h was sent:
# 172.5 - 86.25 = 86.25 short.  (Its FTE becomes 0.5 below.)
expect('2025-06-01', 'E22', [
	f('hours_incomplete', $V, 'E22', undef, '2025-01-01', '2025-01-31', '86.25'),
], 'at 1.0 FTE, January 86.25 h short');

# ---------------------------------------------------------------- line managers, in real time
# The people feed records a line manager change at the time it arrives
# (line_manager_history.valid_from = now()).  E08A-D were sent with M1 at
# T0; two seconds later E08A, B, D move to M2 and E08C to no manager (T1).
# Their timesheets for last month (all its weekdays at 7.5 h) are then
# sent, submitted at T0 (whole second), authorised today (after the period)
# as follows, and audited as of tomorrow (on the fly; the deadline, the
# last day of next month, is more than 14 days after it).
my $t0 = psql_value($db, "SELECT extract(epoch FROM max(valid_from)) FROM line_manager_history WHERE person_id = 'E08D'");
sleep 2.2;
setup_ok(people => [ person('E08A', lm => 'M2'), person('E08B', lm => 'M2'),
	person('E08C', lm => undef), person('E08D', lm => 'M2'), person('E08E', lm => 'M1'),
	person('E08F', lm => 'M2'), person('E08G', lm => 'M2'), person('E08H', lm => undef),
	person('E22', fte => 0.5) ],
	'E08A, B, D, F, G move to M2; E08C and E08H have no line manager; E08E gets M1; E22 becomes 0.5 FTE');
my $t1 = psql_value($db, "SELECT extract(epoch FROM max(valid_from)) FROM line_manager_history WHERE person_id = 'E08D'");
cmp_ok $t1 - $t0, '>=', 2, 'the change is recorded two seconds after the first manager';
my $iso = sub { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0])) };
my $sub = $iso->(floor($t0));
my $between = $iso->(floor($t0) + 1);    # after T0, before T1
my $after = $iso->(floor($t1) + 1);     # after T1 (at most a second ahead)
my @LAST = ($LAST_START, $LAST_END);
my $LAST_HOURS = sprintf('%.2f', 7.5 * weekdays(@LAST));
setup_ok(timesheets => [
	# E08A: by M1 just after T1, when M1 no longer managed E08A: invalid.
	ts('E08A', @LAST, [], submitted => $sub, by => 'M1', at => $after),
	# E08B: by M2 just after T1: valid.
	ts('E08B', @LAST, [], submitted => $sub, by => 'M2', at => $after),
	# E08C: by M1, made while M1 managed E08C but recorded after E08C lost
	# any manager: "an authorisation recorded while they have none is
	# authorisation_invalid" (second edition).
	ts('E08C', @LAST, [], submitted => $sub, by => 'M1', at => $between),
	# E08D: by M1, made while M1 managed E08D, recorded after M2 took over.
	# RULES.md's table: "not the person's line manager ... when the
	# authorisation was recorded" -- recorded by whom?  If by effortd, M2
	# was the manager then and this is invalid; docs/rules.md reads it as
	# when the authorisation was made (authorised_at): M1, valid.  Asserted
	# as docs/rules.md reads it.
	ts('E08D', @LAST, [], submitted => $sub, by => 'M1', at => $between),
	# E08E: first sent without a line manager (T0), given M1 at T1; M1's
	# authorisation made a second before T0 (before effortd heard of E08E)
	# is recorded after T1.
	ts('E08E', @LAST, [], submitted => $iso->(floor($t0) - 2), by => 'M1',
		at => $iso->(floor($t0) - 1)),
	# E08F, G, H: by D1, M1's HR-feed delegate for this month.
	ts('E08F', @LAST, [], submitted => $sub, by => 'D1', at => $after),
	ts('E08G', @LAST, [], submitted => $sub, by => 'D1', at => $between),
	ts('E08H', @LAST, [], submitted => $sub, by => 'D1', at => $between),
], 'last month\'s timesheets authorised after the change (authorised_at between T0 and T1, or after T1)');
my $AS_OF = plus_days($TODAY, 1);    # not today: evaluated on the fly
expect($AS_OF, 'E08A', [ f('authorisation_invalid', $V, 'E08A', undef, @LAST, $LAST_HOURS) ],
	'authorised by the former line manager: invalid');
expect($AS_OF, 'E08B', [], 'authorised by the new line manager: valid');
expect($AS_OF, 'E08C', [ f('authorisation_invalid', $V, 'E08C', undef, @LAST, $LAST_HOURS) ],
	'made while managed, recorded while without a line manager: invalid');
expect($AS_OF, 'E08D', [], 'made while M1 managed, recorded after M2 took over: valid (docs/rules.md reading)');

# E08E.  RULES.md, second edition: "When the people feed sets
# line_manager_id to null, from then on the person has no line manager";
# the table: invalid when the authoriser "was not the person's line manager
# ... when the authorisation was recorded".  M1's authorisation was made a
# second before effortd first heard of E08E (with no line manager) and
# recorded after T1, when M1 was.  Ambiguous: nothing in RULES.md says who
# managed someone before effortd heard of them.  docs/rules.md's reading
# (authorisation_invalid: "the line manager in force when the
# authorisation was made"): the first state effortd knows, a manager or
# none, answers for the time before it (effort_line_manager_periods,
# sql/functions/15_access.sql, is_first), so M1's authorisation is made
# while E08E has no line manager: invalid, all of last month's hours.
# (Asserted as docs/rules.md reads it.)
expect($AS_OF, 'E08E', [ f('authorisation_invalid', $V, 'E08E', undef, @LAST, $LAST_HOURS) ],
	'authorised by the manager given at T1, made before effortd first heard of the person (no manager then): invalid (docs/rules.md reading)');
expect($AS_OF, 'E08F', [ f('authorisation_invalid', $V, 'E08F', undef, @LAST, $LAST_HOURS) ],
	'the former manager\'s delegate after the change: invalid');
# E08G: D1 made it while M1 managed E08G; effortd recorded it after M2
# took over.  The same ambiguity as E08D: docs/rules.md's reading (the
# manager when it was made, and that manager's delegate) makes it valid; if
# "recorded" is effortd's recording, M2 was the manager and D1 no delegate
# of theirs: invalid.  Asserted as docs/rules.md reads it.
expect($AS_OF, 'E08G', [], 'the manager\'s delegate, made before the change: valid (docs/rules.md reading)');
expect($AS_OF, 'E08H', [ f('authorisation_invalid', $V, 'E08H', undef, @LAST, $LAST_HOURS) ],
	'the former manager\'s delegate, recorded once the person has no manager: invalid');

# E28: a timesheet for last month submitted with a submitted_at an hour
# ahead of effortd's clock (allowed: up to one day, second edition rule 5).
# Approved at once through POST /v1/timesheets/{id}/approve, it would be
# recorded at now(), before submitted_at, which RULES.md makes invalid
# ("timestamped before the timesheet was submitted"); effortd refuses the
# approval until then (409, docs/api.md), and the unauthorised timesheet
# has no finding yet (its deadline is weeks away).
{
	my $ahead = $iso->(time + 3600);
	setup_ok(timesheets => [ ts('E28', @LAST, [], submitted => $ahead, by => undef) ],
		'E28 last month, submitted_at an hour ahead');
	my $id = psql_value($db, "SELECT max(timesheet_id) FROM timesheets WHERE person_id = 'E28'");
	my ($s, $j) = $d->req(POST => "/v1/timesheets/$id/approve", token => $d->token('manager', 'M1'), body => {});
	is $s, 409, 'M1 approving it at once: 409' or diag json_encode($j);
	%org_cache = ();
	expect($AS_OF, 'E28', [], 'nothing recorded: no authorisation, no finding');
}

# E22 at 0.5 FTE: RULES.md keeps one fte per person (no history), so
# January is now contracted for 86.25 h and complete.
expect('2025-06-01', 'E22', [], 'after an FTE change the past months are measured at the new FTE');

# ---------------------------------------------------------------- as_of today: the stored findings
# GET /v1/violations with as_of today answers from the findings the sweep
# stored; any other day is evaluated on the fly.  Nothing in this
# organisation changes between today and $OTHER_DAY (tomorrow, or
# yesterday on a month's last day: no month ends and no deadline, reminder
# window or cap year boundary lies between), so once the sweep has caught
# up with the last feed the two lists are equal, finding for finding.
{
	%org_cache = ();
	my $want = org_findings($OTHER_DAY);
	my ($got, $end) = (undef, time + 60);
	do {
		sleep 0.5 if defined $got;
		delete $org_cache{$TODAY};
		$got = org_findings($TODAY);
	} until json_encode($got) eq json_encode($want) || time > $end;
	cmp_ok scalar @$want, '>', 40, "as of $OTHER_DAY (on the fly): " . scalar(@$want) . ' findings';
	is_deeply $got, $want, "as of today ($TODAY, stored by the sweep): the same findings"
		or diag "today: " . json_encode($got) . "\n$OTHER_DAY: " . json_encode($want);
}

is $d->stop('TERM', 15), 0, 'SIGTERM: exit 0';
done_testing;
