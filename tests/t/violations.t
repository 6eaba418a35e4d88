# GET /v1/violations against a real effortd and PostgreSQL: a small
# organisation built through the feeds whose findings as of fixed past dates
# are computed by hand from RULES.md (exact rule, severity, person, grant,
# period and hours); the sort order; every filter alone and combined; manager
# scoping (own staff, other manager, delegate with a delegation active today);
# 401/403/400; a rules setting (all_hours_tolerance) changing the answer.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $d = start_effortd(db => $db);
my $reviewer = $d->token('reviewer');
my $admin = $d->token('admin');

my $G1 = 'EP/T000001/1';
my $G2 = 'EP/T000002/1';
my $GX = 'EP/UNKNOWN/1';    # never sent in the grants feed

# ---------------------------------------------------------------- the organisation
# Everyone 1.0 FTE, employed since 2020-01-06: January 2025 = 23 weekdays =
# 172.5 h contracted, February 2025 = 20 weekdays = 150 h.
sub person {
	my ($id, $name, $lm) = @_;
	return { person_id => $id, name => $name, fte => 1, employment_start => '2020-01-06',
		defined $lm ? (line_manager_id => $lm) : () };
}
sub setup_ok {
	my ($feed, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, "setup: $name" or diag json_encode($j);
}

setup_ok(people => [
	person('M1', 'Manager One'), person('M2', 'Manager Two'), person('M3', 'Delegate Three'),
	person('A1', 'Incomplete and missing', 'M1'),
	person('A2', 'Authorised late', 'M1'),
	person('A3', 'Self-authorised', 'M1'),
	person('A4', 'Unassigned grant hours', 'M1'),
	person('A5', 'Charges', 'M1'),
	person('B1', 'Staff of Two', 'M2'),
], 'people (M1 manages A1–A5, M2 manages B1)');

setup_ok(grants => [
	{ grant_ref => $G1, title => 'Grant one', funder => 'EPSRC', start_date => '2025-01-01', end_date => '2026-12-31' },
	{ grant_ref => $G2, title => 'Grant two', funder => 'EPSRC', start_date => '2025-01-01', end_date => '2026-12-31' },
], 'two grants');

# DI assignments at 50 %: everyone on one must keep timesheets (RGC 4.6).
sub asg {
	my ($p, $g, $from, $to) = @_;
	return { person_id => $p, grant_ref => $g, role => 'researcher', cost_type => 'DI',
		start_date => $from, end_date => $to, fte_share => 0.5 };
}
setup_ok(assignments => [
	asg('A1', $G1, '2025-01-01', '2025-02-28'),
	(map { asg($_, $G1, '2025-01-01', '2025-01-31') } qw(A2 A3 A4 A5 B1)),
	asg('A5', $G2, '2025-01-01', '2025-01-31'),
], 'DI assignments (A1 Jan–Feb 2025, the others January 2025)');

sub jan {
	my ($p, $entries, $by, $at) = @_;
	return { person_id => $p, period_start => '2025-01-01', period_end => '2025-01-31',
		submitted_at => '2025-02-03T10:00:00Z',
		entries => [ map { { kind => $_->[0], activity => $_->[1], hours => $_->[2] } } @$entries ],
		defined $by ? (authorised_by => $by, authorised_at => $at) : () };
}
setup_ok(timesheets => [
	# 150 of 172.5 h: hours_incomplete 22.5 h.  No February: timesheet_missing 150 h.
	jan('A1', [ [ grant => $G1, 100 ], [ research => 'research', 50 ] ], 'M1', '2025-02-10T09:00:00Z'),
	# Complete, authorised 2 Apr 2025, after the 31 Mar deadline: late, 172.5 h.
	jan('A2', [ [ grant => $G1, 86.25 ], [ research => 'research', 86.25 ] ], 'M1', '2025-04-02T09:00:00Z'),
	# Complete, authorised by A3 themself: invalid, 172.5 h.
	jan('A3', [ [ grant => $G1, 86.25 ], [ research => 'research', 86.25 ] ], 'A3', '2025-02-10T09:00:00Z'),
	# 12 h on a grant A4 has no assignment to (and effortd does not know).
	jan('A4', [ [ grant => $G1, 80 ], [ grant => $GX, 12 ], [ research => 'research', 80.5 ] ], 'M1', '2025-02-10T09:00:00Z'),
	# 50 h on G1, nothing on G2.
	jan('A5', [ [ grant => $G1, 50 ], [ research => 'research', 122.5 ] ], 'M1', '2025-02-10T09:00:00Z'),
	# 160 of 172.5 h: hours_incomplete 12.5 h.
	jan('B1', [ [ grant => $G1, 80 ], [ research => 'research', 80 ] ], 'M2', '2025-02-10T09:00:00Z'),
], 'January 2025 timesheets');

# A5: 0.5 × 172.5 = 86.25 h on G1 (50 recorded: unevidenced 36.25 h), 100 h on
# G2 (none recorded: activity_missing 100 h); 186.25 h > 172.5: overcharged 13.75 h.
setup_ok(charges => [
	{ person_id => 'A5', grant_ref => $G1, month => '2025-01', fte_fraction => 0.5 },
	{ person_id => 'A5', grant_ref => $G2, month => '2025-01', hours => 100 },
], 'charges of A5');

# ---------------------------------------------------------------- helpers
sub h { defined $_[0] ? sprintf('%.2f', $_[0]) : undef }

# GET /v1/violations with a query; (status, [ [rule, severity, person,
# grant, start, end, hours], ... ], body).
sub viol {
	my ($token, %q) = @_;
	my ($s, $j) = $d->req(GET => '/v1/violations', token => $token, query => \%q);
	my $list = ref $j eq 'HASH' && ref $j->{violations} eq 'ARRAY' ? $j->{violations} : [];
	return ($s, [ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] } @$list ], $j);
}
sub qs { my %q = @_; join('&', map { "$_=$q{$_}" } sort keys %q) || '(no query)' }

# Asserts the status 200 and the exact list.
sub viol_is {
	my ($token, $q, $want, $name) = @_;
	my ($s, $got, $j) = viol($token, %$q);
	is $s, 200, "GET /v1/violations?" . qs(%$q) . ": 200" or diag json_encode($j);
	is_deeply $got, $want, $name or diag 'got: ' . json_encode($got);
	return $j;
}

my $V = 'violation';
my $W = 'warning';
my @JAN = ('2025-01-01', '2025-01-31');
my @FEB = ('2025-02-01', '2025-02-28');
my %F = (
	A1_inc  => [ 'hours_incomplete', $V, 'A1', undef, @JAN, '22.50' ],
	A1_miss => [ 'timesheet_missing', $V, 'A1', undef, @FEB, '150.00' ],
	A2_late => [ 'authorisation_late', $V, 'A2', undef, @JAN, '172.50' ],
	A3_inv  => [ 'authorisation_invalid', $V, 'A3', undef, @JAN, '172.50' ],
	A4_una  => [ 'unassigned_grant_hours', $V, 'A4', $GX, @JAN, '12.00' ],
	A5_act  => [ 'activity_missing', $V, 'A5', $G2, @JAN, '100.00' ],
	A5_over => [ 'overcharged_month', $V, 'A5', undef, @JAN, '13.75' ],
	A5_unev => [ 'unevidenced_charge', $V, 'A5', $G1, @JAN, '36.25' ],
	B1_inc  => [ 'hours_incomplete', $V, 'B1', undef, @JAN, '12.50' ],
);
my @ALL = @F{qw(A1_inc A1_miss A2_late A3_inv A4_una A5_act A5_over A5_unev B1_inc)};

# ---------------------------------------------------------------- the whole list
my $j = viol_is($reviewer, { as_of => '2025-06-01' }, \@ALL,
	'as_of=2025-06-01: every finding computed by hand, sorted by person, period_start, rule, grant');
is $j->{as_of}, '2025-06-01', 'the answer echoes as_of';
{
	my ($inc) = grep { $_->{person_id} eq 'A1' && $_->{rule} eq 'hours_incomplete' } @{ $j->{violations} // [] };
	is $inc->{detail}, 'January 2025: 150.00 h recorded of 172.50 h contracted',
		'hours_incomplete detail: recorded and contracted hours';
	ok !defined $inc->{first_detected_at} && !defined $inc->{resolved_at},
		'a past as_of is evaluated on the fly: first_detected_at and resolved_at null';
	my @keys = sort keys %{ $inc // {} };
	is_deeply \@keys, [ sort qw(rule severity person_id grant_ref period_start period_end hours detail first_detected_at resolved_at) ],
		'each violation has exactly the documented fields';
	my (undef, undef, $res) = $d->req(GET => '/v1/violations', token => $reviewer, query => { as_of => '2025-06-01' });
	like $res->{content}, qr/"hours"\s*:\s*22\.5/, 'hours are JSON numbers (22.5 unquoted)';
	unlike $res->{content}, qr/"hours"\s*:\s*"/, 'no hours value is a string';
}
viol_is($admin, { as_of => '2025-06-01' }, \@ALL, 'admin sees the same list');

# timesheet_missing for February: warning until its deadline (30 Apr 2025),
# violation once as_of is past it; nothing before February has ended.
my @A1_miss_w = @{ $F{A1_miss} };
$A1_miss_w[1] = $W;
viol_is($reviewer, { as_of => '2025-04-30', person_id => 'A1' }, [ $F{A1_inc}, \@A1_miss_w ],
	'as_of=2025-04-30 (the deadline day): February missing is a warning, 150 h');
viol_is($reviewer, { as_of => '2025-03-01', person_id => 'A1' }, [ $F{A1_inc}, \@A1_miss_w ],
	'as_of=2025-03-01 (February just ended): a warning');
viol_is($reviewer, { as_of => '2025-05-01', person_id => 'A1' }, [ $F{A1_inc}, $F{A1_miss} ],
	'as_of=2025-05-01 (deadline passed): February missing is a violation');
viol_is($reviewer, { as_of => '2025-02-28', person_id => 'A1' }, [ $F{A1_inc} ],
	'as_of=2025-02-28: February has not ended, no timesheet_missing');
viol_is($reviewer, { as_of => '2025-01-31', person_id => 'A1' }, [],
	'as_of=2025-01-31: January has not ended, no monthly finding');
# Authorisation rules are not about ended months: A2's late authorisation
# shows whatever as_of is, because data is not rewound.
viol_is($reviewer, { as_of => '2025-02-01', person_id => 'A2' }, [ $F{A2_late} ],
	'authorisation_late is raised for any as_of (recorded data is not rewound)');

# ---------------------------------------------------------------- filters
my %base = (as_of => '2025-06-01');
viol_is($reviewer, { %base, rule => 'hours_incomplete' }, [ @F{qw(A1_inc B1_inc)} ], 'rule=hours_incomplete');
viol_is($reviewer, { %base, rule => 'timesheet_missing' }, [ $F{A1_miss} ], 'rule=timesheet_missing');
viol_is($reviewer, { %base, rule => 'teaching_excess' }, [], 'rule=teaching_excess: nothing');
{
	my ($s, undef, $j) = viol($reviewer, %base, rule => 'no_such_rule');
	is $s, 400, 'an unknown rule: 400 (not an empty list)';
	is $j->{errors}[0]{parameter}, 'rule', '… naming the parameter rule';
}
viol_is($reviewer, { %base, severity => 'violation' }, \@ALL, 'severity=violation: all of them');
viol_is($reviewer, { %base, severity => 'warning' }, [], 'severity=warning: none as of 2025-06-01');
viol_is($reviewer, { as_of => '2025-04-30', severity => 'warning' }, [ \@A1_miss_w ],
	'severity=warning as of 2025-04-30: the February timesheet_missing only');
viol_is($reviewer, { %base, person_id => 'A5' }, [ @F{qw(A5_act A5_over A5_unev)} ],
	'person_id=A5: three findings, sorted by rule');
viol_is($reviewer, { %base, person_id => 'NOBODY' }, [], 'person_id of nobody: empty');
viol_is($reviewer, { %base, grant_ref => $G1 }, [ $F{A5_unev} ], "grant_ref=$G1");
viol_is($reviewer, { %base, grant_ref => $G2 }, [ $F{A5_act} ], "grant_ref=$G2");
viol_is($reviewer, { %base, grant_ref => $GX }, [ $F{A4_una} ], 'grant_ref of an unknown grant');
viol_is($reviewer, { %base, rule => 'hours_incomplete', person_id => 'B1' }, [ $F{B1_inc} ], 'rule + person_id');
viol_is($reviewer, { %base, rule => 'hours_incomplete', person_id => 'A5' }, [], 'rule + person_id matching nothing');
viol_is($reviewer, { %base, person_id => 'A5', grant_ref => $G1 }, [ $F{A5_unev} ], 'person_id + grant_ref');
viol_is($reviewer, { %base, person_id => 'A5', grant_ref => $G1, rule => 'unevidenced_charge', severity => 'violation' },
	[ $F{A5_unev} ], 'all four filters');
viol_is($reviewer, { %base, person_id => 'A5', grant_ref => $G1, rule => 'activity_missing' }, [],
	'all filters but a rule that does not match');
viol_is($reviewer, { as_of => '2025-04-30', person_id => 'A1', severity => 'violation' }, [ $F{A1_inc} ],
	'person_id + severity=violation as of 2025-04-30');

# ---------------------------------------------------------------- managers
my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my $m1 = $d->token('manager', 'M1');
my $m2 = $d->token('manager', 'M2');
my $m3 = $d->token('manager', 'M3');
my @M1_STAFF = grep { $_->[2] =~ /^A/ } @ALL;
viol_is($m1, \%base, \@M1_STAFF, 'manager M1 sees the findings of A1–A5 only');
viol_is($m2, \%base, [ $F{B1_inc} ], 'manager M2 sees B1 only');
{
	my ($s, $got, $j) = viol($m2, %base, person_id => 'A1');
	is $s, 403, "M2 asking for M1's staff A1: 403 (API.md: someone else's staff)";
	like $j->{error} // '', qr/A1 is not someone you manage/, '… saying why';
}
viol_is($m1, { %base, grant_ref => $G2 }, [ $F{A5_act} ], 'a manager may filter too');
viol_is($m3, \%base, [], 'M3 (no staff, no delegation) sees nothing');

setup_ok(delegations => [ { manager_id => 'M1', delegate_id => 'M3', start_date => '2024-01-01',
	end_date => scalar psql($db, "SELECT DATE '$today' - 1") } ], 'a delegation M1 → M3 that ended yesterday');
viol_is($m3, \%base, [], 'a delegate whose delegation ended yesterday sees nothing');
setup_ok(delegations => [ { manager_id => 'M1', delegate_id => 'M3', start_date => scalar psql($db, "SELECT DATE '$today' + 1"),
	end_date => scalar psql($db, "SELECT DATE '$today' + 30") } ], 'a delegation M1 → M3 starting tomorrow');
viol_is($m3, \%base, [], 'a delegate whose delegation starts tomorrow sees nothing');
setup_ok(delegations => [ { manager_id => 'M1', delegate_id => 'M3', start_date => $today,
	end_date => $today } ], 'a delegation M1 → M3 for today only');
viol_is($m3, \%base, \@M1_STAFF, "a delegate with a delegation active today sees M1's staff");
{
	my ($s) = viol($m3, %base, person_id => 'B1');
	is $s, 403, "… but not M2's staff: asking for B1 is 403";
}
viol_is($m1, \%base, \@M1_STAFF, 'M1 still sees their own staff while delegating');

# ---------------------------------------------------------------- 401 / 403 / 400
{
	my ($s, $jj) = $d->req(GET => '/v1/violations', query => \%base);
	is $s, 401, 'no token: 401';
	ok ref $jj eq 'HASH' && defined $jj->{error}, '… with a JSON error body';
	($s) = $d->req(GET => '/v1/violations', query => \%base, token => 'eff_' . ('0' x 64));
	is $s, 401, 'unknown token: 401';
	($s, $jj) = $d->req(GET => '/v1/violations', query => \%base, token => $d->token('feed'));
	is $s, 403, 'feed token: 403';
	ok ref $jj eq 'HASH' && defined $jj->{error}, '… with a JSON error body';
	for my $bad ('2025-13-01', '2025-02-30', '01/06/2025', 'yesterday', '2025-6-1') {
		($s, $jj) = $d->req(GET => '/v1/violations?as_of=' . $bad, token => $reviewer);
		is $s, 400, "as_of=$bad: 400";
	}
	ok ref $jj eq 'HASH' && defined $jj->{error}, 'a 400 has a JSON error body';
	for my $bad ('critical', 'Warning') {
		($s) = $d->req(GET => '/v1/violations?as_of=2025-06-01&severity=' . $bad, token => $reviewer);
		is $s, 400, "severity=$bad: 400";
	}
	($s) = $d->req(GET => '/v1/violations?as_of=2025-13-01', token => $m1);
	is $s, 400, 'bad as_of from a manager: 400 too';
	($s) = $d->req(POST => '/v1/violations', token => $admin, body => []);
	is $s, 405, 'POST /v1/violations: 405';
}

# ---------------------------------------------------------------- rules settings
# all_hours_tolerance: a shortfall counts only when it is MORE than the
# tolerance.  22.5 (A1) and 12.5 (B1) are the shortfalls.
{
	my $d2 = start_effortd(db => $db, 'rules.all_hours_tolerance' => 22.5);
	my ($s, $jj) = $d2->req(GET => '/v1/violations', token => $d2->token('reviewer'),
		query => { as_of => '2025-06-01', rule => 'hours_incomplete' });
	is $s, 200, 'all_hours_tolerance = 22.5: 200';
	is_deeply [ map { [ @$_{qw(person_id rule)}, h($_->{hours}) ] } @{ $jj->{violations} // [] } ], [],
		'all_hours_tolerance = 22.5: both hours_incomplete findings disappear (22.5 is not more than 22.5)'
		or diag json_encode($jj);
	($s, $jj) = $d2->req(GET => '/v1/violations', token => $d2->token('reviewer'), query => { as_of => '2025-06-01' });
	is_deeply [ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] } @{ $jj->{violations} // [] } ],
		[ grep { $_->[0] ne 'hours_incomplete' } @ALL ], '… and every other finding stays';
	is $d2->stop, 0, 'that effortd stops cleanly';

	my $d3 = start_effortd(db => $db, 'rules.all_hours_tolerance' => 20);
	($s, $jj) = $d3->req(GET => '/v1/violations', token => $d3->token('reviewer'),
		query => { as_of => '2025-06-01', rule => 'hours_incomplete' });
	is_deeply [ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] } @{ $jj->{violations} // [] } ],
		[ $F{A1_inc} ], 'all_hours_tolerance = 20: only A1 (22.5 h short) remains, B1 (12.5 h) is within it';
	is $d3->stop, 0, 'that effortd stops cleanly';
}
# A payroll charge to a person the people feed never sent (a typo in the
# payroll export, a starter HR has not sent yet): activity_missing, both
# kept by the re-audit after the charges feed and evaluated as of a date
# (docs/api.md: "the audit flags what stays unmatched").  An fte_fraction
# charge has no contracted hours to be read in: no finding.
{
	my ($s, $j) = post_feed($d, charges => [ { person_id => 'Z404', grant_ref => $G1, month => '2025-01', hours => 12.5 },
		{ person_id => 'Z405', grant_ref => $G1, month => '2025-01', fte_fraction => 0.5 } ]);
	is $s, 200, 'charges to two people effortd does not know: 200' or diag json_encode($j);
	my $want = [ [ 'activity_missing', 'violation', 'Z404', $G1, '2025-01-01', '2025-01-31', '12.50' ] ];
	for my $q ({ person_id => 'Z404' }, { person_id => 'Z404', as_of => '2025-06-01' }) {
		($s, $j) = $d->req(GET => '/v1/violations', token => $reviewer, query => $q);
		is_deeply [ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] }
			@{ $j->{violations} // [] } ], $want, 'the charge in hours is activity_missing '
			. ($q->{as_of} ? "as of $q->{as_of}" : '(kept)') or diag json_encode($j);
	}
	($s, $j) = $d->req(GET => '/v1/violations', token => $reviewer, query => { person_id => 'Z405', as_of => '2025-06-01' });
	is_deeply $j->{violations}, [], 'the fte_fraction charge: no finding';
}

# The first daemon, with the default tolerance, still answers as before.
viol_is($reviewer, { as_of => '2025-06-01', rule => 'hours_incomplete' }, [ @F{qw(A1_inc B1_inc)} ],
	'default tolerance (0.5): both hours_incomplete findings');

done_testing;
