# The line manager's desk (issue 16), against the real effortd with the
# sample organisation loaded: GET /v1/pending and effortctl pending with
# names, contracted hours and the exact open findings; the timesheet view
# with findings and the sample amendment's diff; POST /v1/approvals and
# approve --clean approving exactly the clean ones and saying why others
# were refused; reading rights (own timesheets, line-management history,
# 403 where it ends); per-command help, ambiguous abbreviations, role
# refusals, plurals.  The interactive prompt and the docs walkthrough are
# tests/t/desk_tty.t.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed load_sample slurp sample_file json_encode effortctl month_ago);

my $db = new_db();
my $d = start_effortd(db => $db);
load_sample($d);
my ($s, $j) = post_feed($d, timesheets => slurp(sample_file('amendments', 'csv')));
is $s, 200, 'setup: the sample and its amendment' or diag json_encode($j);

sub ts_id {
	my ($p, $start, $v) = @_;
	return scalar psql($db, "SELECT timesheet_id FROM timesheets WHERE person_id = '$p'
		AND period_start = '$start'" . ($v ? " AND version = $v" : ' ORDER BY version DESC LIMIT 1'));
}
my $okafor = $d->token('manager', 'E0101');
my $nowak = $d->token('manager', 'E0104');
my $reviewer = $d->token('reviewer');
my $ada_dec = ts_id('E1001', '2025-12-01');
my $ada_dec_v1 = ts_id('E1001', '2025-12-01', 1);

# ---------------------------------------------------------------- findings
{
	my %expect = (
		'E1008 2025-11-01' => [ [ 'hours_incomplete', 'violation', undef, 22.5 ] ],
		'E1010 2026-01-01' => [ [ 'authorisation_late', 'violation', undef, 165 ] ],
		'E0104 2026-02-01' => [ [ 'authorisation_invalid', 'violation', undef, 150 ] ],
		'E1003 2026-01-01' => [ [ 'activity_missing', 'violation', 'NE/Y000123/1', 33 ] ],
		'E1012 2026-05-01' => [ [ 'overcharged_month', 'violation', undef, 31.5 ] ],
		'E0105 2026-04-01' => [ [ 'unassigned_grant_hours', 'violation', 'NE/Y000123/1', 14 ] ],
		'E1001 2025-12-01' => [ [ 'authorisation_overdue', 'violation', undef, 172.5 ] ],
		'E1001 2026-01-01' => [],
	);
	for my $k (sort keys %expect) {
		my ($p, $start) = split ' ', $k;
		my ($st, $doc) = $d->req(GET => '/v1/timesheets/' . ts_id($p, $start) . '/versions', token => $reviewer);
		is $st, 200, "versions of $k: 200";
		is_deeply [ map { [ @$_{qw(rule severity grant_ref)}, 0 + $_->{hours} ] } @{ $doc->{findings} } ],
			$expect{$k}, "… the open findings on $k exactly";
	}
	my ($st, $doc) = $d->req(GET => "/v1/timesheets/$ada_dec/versions", token => $okafor);
	is $st, 200, "Okafor reads his staff's amended timesheet";
	is $doc->{name}, 'Ada Byron', '… with the name';
	is $doc->{contracted_hours}, 172.5, '… and the contracted hours of December 2025';
	is_deeply $doc->{versions}[0]{changes}, undef, '… version 1 changed nothing (it is the first)';
	is_deeply $doc->{versions}[1]{changes},
		{ from_version => 1, removed => [],
		  added => [ { kind => 'sick_leave', activity => 'sick_leave', hours => 15 } ],
		  changed => [ { kind => 'annual_leave', kind_before => 'annual_leave', activity => 'annual_leave',
		                 hours_before => 37.5, hours => 22.5 } ] },
		'… version 2: sick leave added, annual leave 37.5 → 22.5 h';
	like $doc->{versions}[1]{amendment_reason}, qr/^Two days recorded as annual leave/, '… and its reason';
}

# ---------------------------------------------------------------- pending
{
	my ($st, $doc) = $d->req(GET => '/v1/pending', token => $nowak);
	is $st, 200, "Nowak's queue: 200";
	is scalar @{ $doc->{pending} }, 1, '… one timesheet: Aziz, September 2026';
	my $p = $doc->{pending}[0];
	is_deeply [ @$p{qw(person_id name period_start total_hours contracted_hours deadline)} ],
		[ 'E1012', 'Mohammed Aziz', '2026-09-01', 165, 165, '2026-11-30' ], '… name, hours, contracted hours, deadline';
	is_deeply [ map { [ $_->{rule}, 0 + $_->{hours} ] } @{ $p->{findings} } ], [ [ 'authorisation_overdue', 165 ] ],
		'… its one open finding: authorisation overdue, 165 h';
	ok $p->{late} && $p->{clean}, '… late, and clean (nothing but its own authorisation is wrong)';

	my ($rc, $out, $err) = effortctl($d, { token => $okafor }, 'pending');
	is $rc, 0, 'effortctl pending as Okafor: exit 0' or diag $err;
	like $out, qr/^\s*$ada_dec\s+E1001\s+Ada Byron\s+2025-12-01\s+2025-12-31\s+172\.50\s+172\.50\s+2026-02-28\s+-\d+\s+OVERDUE\s+authorisation_overdue 172\.50 h$/m,
		'… Ada Byron: hours, contracted hours, deadline, OVERDUE and the finding' or diag $out;
}

# A small team of our own (months relative to today) for approve --clean
# and the reading rights: MA manages S1, S2, S3; P3 is three months ago.
my ($P1, $P2, $P3) = map { month_ago($db, $_) } 1 .. 3;
my $submitted = psql($db, q{SELECT to_char((now() - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
sub full {
	my ($m) = @_;
	return 0 + psql($db, "SELECT round(effort_contracted_hours(1, 37.5, '$m->{start}', '$m->{end}', '2015-01-01', NULL), 2)");
}
sub ts {
	my ($p, $m, $hours) = @_;
	return { person_id => $p, period_start => $m->{start}, period_end => $m->{end}, submitted_at => $submitted,
		entries => [ { kind => 'research', activity => 'research', hours => $hours } ] };
}
($s, $j) = post_feed($d, people => [
	{ person_id => 'MA', name => 'Mia Manager', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'MB', name => 'Max Boss', fte => 1, employment_start => '2015-01-01' },
	map({ { person_id => $_, name => "Staff $_", line_manager_id => 'MA', fte => 1, employment_start => '2015-01-01' } } qw(S1 S2 S3)),
]);
is $s, 200, 'setup: a team' or diag json_encode($j);
($s, $j) = post_feed($d, timesheets => [ ts('S1', $P1, full($P1)), ts('S2', $P1, full($P1) - 20), ts('S3', $P1, full($P1)),
	ts('S1', $P2, full($P2)), ts('S1', $P3, full($P3)), ts('MA', $P1, full($P1)) ]);
is $s, 200, 'setup: their timesheets' or diag json_encode($j);
my $ma = $d->token('manager', 'MA');
my $mb = $d->token('manager', 'MB');

# ---------------------------------------------------------------- POST /v1/approvals
{
	($s, $j) = $d->req(POST => '/v1/approvals', token => $ma, body => { timesheet_ids => [ 1, 'x', -2 ] });
	is $s, 422, 'POST /v1/approvals with bad ids: 422';
	is_deeply [ map { $_->{field} } @{ $j->{errors} } ], [ 'timesheet_ids[1]', 'timesheet_ids[2]' ], '… naming each bad one';
	($s) = $d->req(POST => '/v1/approvals', token => $ma, body => { timesheet_ids => [] });
	is $s, 422, '… an empty list: 422';
	($s) = $d->req(POST => '/v1/approvals', token => $ma, body => '[1]', type => 'application/json');
	is $s, 400, '… not an object: 400';
	# More than 1,000 ids: that one error, not one per id (a body of
	# 30,000 zeros answered 30,001 errors; a few MB of them took the
	# daemon's memory by the GB).
	($s, $j) = $d->req(POST => '/v1/approvals', token => $ma, body => { timesheet_ids => [ (0) x 30000 ] });
	is_deeply [ $s, $j->{errors} ], [ 422, [ { field => 'timesheet_ids', message => 'must be an array of 1 to 1000 timesheet ids' } ] ],
		'… 30,000 ids, all bad: 422 with the one error on timesheet_ids';
	($s, $j) = $d->req(POST => '/v1/approvals', token => $ma, body => { timesheet_ids => [ (0) x 40000 ] });
	is_deeply [ $s, $j ], [ 413, { error => 'request body larger than 65536 bytes (only a feed takes more)' } ],
		'… a body over 64 KiB (not a feed): 413';
	($s, $j) = $d->req(POST => '/v1/timesheets/1/reject', token => $ma, body => { reason => 'x' x 70000 });
	is $s, 413, 'a reject with a 70,000-byte reason: 413';
	($s, $j) = $d->req(POST => '/v1/approvals', token => $reviewer, body => { timesheet_ids => [1] });
	is $s, 403, '… a reviewer: 403';
	is $j->{error}, 'this needs a manager token', '… saying which role it needs';
	is psql($db, "SELECT count(*) FROM timesheet_decisions WHERE source = 'approval'"), 0, 'nothing of those was stored';
}

# ---------------------------------------------------------------- approve --clean
{
	my ($st, $doc) = $d->req(GET => '/v1/pending', token => $ma);
	my %clean = map { $_->{person_id} . ' ' . $_->{period_start} => $_->{clean} ? 1 : 0 } @{ $doc->{pending} };
	is_deeply \%clean, { "S1 $P1->{start}" => 1, "S1 $P2->{start}" => 1, "S1 $P3->{start}" => 1,
		"S2 $P1->{start}" => 0, "S3 $P1->{start}" => 1 }, "MA's queue: S2's short month is the one not clean";
	my ($s2) = grep { $_->{person_id} eq 'S2' } @{ $doc->{pending} };
	is_deeply [ map { [ $_->{rule}, 0 + $_->{hours} ] } @{ $s2->{findings} } ], [ [ 'hours_incomplete', 20 ] ], '… its finding: 20 h short';

	my ($rc, $out, $err) = effortctl($d, { token => $ma }, 'approve', '--clean');
	is $rc, 2, 'approve --clean without a terminal and without --yes: usage error (exit 2)';
	like $err, qr/give --yes/, '… saying to give --yes';

	($rc, $out, $err) = effortctl($d, { token => $ma }, 'approve', '--clean', '--yes');
	is $rc, 0, 'approve --clean --yes: exit 0' or diag $err;
	like $out, qr/^4 clean timesheets to approve:/m, '… lists the four clean ones';
	like $out, qr/^1 timesheet with open findings, left alone:\n.*\n\s+\d+\s+S2\s.*hours_incomplete 20\.00 h$/m, '… and S2 left alone with its finding';
	like $out, qr/^  1 approval marked LATE will be recorded after the deadline/m, "… warns that P3's will be late";
	my @approved = $out =~ /^approved timesheet (\d+) /mg;
	is_deeply [ sort { $a <=> $b } @approved ],
		[ sort { $a <=> $b } map { ts_id(@$_) } [ 'S1', $P1->{start} ], [ 'S1', $P2->{start} ], [ 'S1', $P3->{start} ], [ 'S3', $P1->{start} ] ],
		'… approved exactly the clean ones';
	is psql($db, "SELECT string_agg(t.person_id || ' ' || d.decided_by, ',' ORDER BY t.person_id, t.period_start)
		FROM timesheet_decisions d JOIN timesheets t USING (timesheet_id) WHERE d.source = 'approval'"),
		'S1 MA,S1 MA,S1 MA,S3 MA', '… each recorded as its own decision by MA';
	is psql($db, "SELECT count(*) FROM timesheet_decisions WHERE timesheet_id = " . ts_id('S2', $P1->{start})), 0, "… S2's untouched";
	is psql($db, "SELECT count(*) FROM findings WHERE resolved_at IS NULL AND person_id = 'S1' AND rule = 'authorisation_late'"), 1,
		'… and the late one is now an authorisation_late finding (re-evaluated before the answer)';

	($rc, $out) = effortctl($d, { token => $ma }, 'approve', '--clean', '--yes');
	is $rc, 0, 'again: exit 0';
	like $out, qr/^No clean timesheet awaits your authorisation\.$/m, '… nothing clean is left';

	# Refusals inside one request: each said, none silent, the rest approved.
	($s, $j) = $d->req(POST => '/v1/approvals', token => $ma, body => { timesheet_ids => [ map { 0 + $_ }
		ts_id('S2', $P1->{start}), ts_id('S1', $P1->{start}), ts_id('MA', $P1->{start}), ts_id('E1002', '2026-03-01') || 999999, $ada_dec, ts_id('S2', $P1->{start}) ] });
	is $s, 200, 'POST /v1/approvals mixing good and bad ids: 200' or diag json_encode($j);
	is_deeply [ map { $_->{id} } @{ $j->{approved} } ], [ ts_id('S2', $P1->{start}) ], '… approved the one it may (once, though listed twice)';
	is_deeply [ map { [ $_->{id}, $_->{http_status} ] } @{ $j->{refused} } ],
		[ [ ts_id('S1', $P1->{start}), 409 ], [ ts_id('MA', $P1->{start}), 403 ], [ 999999, 404 ], [ $ada_dec, 403 ] ],
		'… and says why each other was refused: already authorised 409, own 403, unknown 404, not their staff 403';
	like $j->{refused}[0]{error}, qr/already authorised/, '… with the reason';
}

# ---------------------------------------------------------------- reading rights
{
	my $own = ts_id('MA', $P1->{start});
	($s, $j) = $d->req(GET => "/v1/timesheets/$own/versions", token => $ma);
	is $s, 200, 'a manager reads their own timesheet';
	($s) = $d->req(POST => "/v1/timesheets/$own/approve", token => $ma);
	is $s, 403, '… but may not approve it';
	($s, $j) = $d->req(GET => '/v1/timesheets', token => $ma, query => { person_id => 'MA' });
	is $s, 200, '… and lists their own';
	is scalar @{ $j->{timesheets} }, 1, '… one';

	# S1 moves from MA to MB at the start of P2.
	($s) = post_feed($d, people => [ { person_id => 'S1', name => 'Staff S1', line_manager_id => 'MB', fte => 1, employment_start => '2015-01-01' } ]);
	is $s, 200, 'S1 moves to MB';
	# (as if MA had managed S1 for years and the move happened on P2's first day)
	psql($db, "UPDATE line_manager_history SET valid_from = '2020-01-01' WHERE person_id = 'S1' AND line_manager_id = 'MA'");
	psql($db, "UPDATE line_manager_history SET valid_from = '$P2->{start} 00:00 Europe/London' WHERE person_id = 'S1' AND line_manager_id = 'MB'");
	($s) = $d->req(GET => '/v1/timesheets/' . ts_id('S1', $P3->{start}) . '/versions', token => $ma);
	is $s, 200, 'MA still reads S1 for P3, a month MA managed them';
	($s, $j) = $d->req(GET => '/v1/timesheets/' . ts_id('S1', $P2->{start}) . '/versions', token => $ma);
	is $s, 403, '… 403 for P2, from when MB managed them';
	unlike $j->{error}, qr/S1/, '… without naming the person';
	($s) = $d->req(GET => '/v1/timesheets/' . ts_id('S1', $P1->{start}) . '/versions', token => $ma);
	is $s, 403, '… 403 for P1';
	($s, $j) = $d->req(GET => '/v1/timesheets', token => $ma, query => { person_id => 'S1' });
	is $s, 200, "MA lists S1's timesheets";
	is_deeply [ map { $_->{period_start} } @{ $j->{timesheets} } ], [ $P3->{start} ], '… only the months MA managed';
	($s) = $d->req(GET => '/v1/timesheets', token => $ma, query => { person_id => 'S9' });
	is $s, 403, '… someone MA never managed: 403';
	($s) = $d->req(GET => '/v1/timesheets/' . ts_id('S1', $P3->{start}) . '/versions', token => $mb);
	is $s, 200, 'MB, the manager now, reads every month of S1';
	my ($rc, $out, $err) = effortctl($d, { token => $ma }, 'timesheet', ts_id('S1', $P2->{start}));
	is $rc, 3, 'effortctl timesheet of a month MA did not manage: exit 3';
	like $err, qr/HTTP 403/, '… 403';
}

# ---------------------------------------------------------------- help and messages
{
	my ($rc, $out, $err) = effortctl($d, 'pending', '--help');
	is $rc, 0, 'pending --help: exit 0';
	like $out, qr/^Needs a manager token\.$/m, '… says the role it needs';
	unlike $out, qr/^\s+1\s/m, '… no exit status 1 (it finds no violations)';
	like $out, qr/^  0  success\n  2  usage error.*\n  3  the server refused.*\n.*\n  4  effortd/m, '… 0, 2, 3 and 4';
	($rc, $out) = effortctl($d, 'violations', '--help');
	like $out, qr/^  1  violations or warnings found$/m, 'violations --help lists exit 1';
	($rc, $out) = effortctl($d, 'audit', '--help');
	like $out, qr/^  1  audit verify: the chain is broken$/m, 'audit --help lists exit 1 for a broken chain';
	($rc, $out, $err) = effortctl($d, 't');
	is $rc, 2, 'effortctl t: usage error';
	like $err, qr/ambiguous command: t \(could be timesheets, timesheet, token\)/, '… listing the candidates';
	($rc, $out, $err) = effortctl($d, { token => $reviewer }, 'pending');
	is $rc, 3, 'pending with a reviewer token: exit 3';
	like $err, qr/pending: this needs a manager token \(HTTP 403/, '… saying which role it needs';
	($rc, $out, $err) = effortctl($d, { token => $okafor }, 'token', 'list');
	like $err, qr/this needs an? admin token/, 'token list as a manager: needs an admin token';
	($s, $j) = $d->req(POST => '/v1/people', token => $reviewer, body => []);
	is $j->{error}, 'this needs a feed or admin token', 'a feed with a reviewer token: needs a feed or admin token';
}

done_testing;
