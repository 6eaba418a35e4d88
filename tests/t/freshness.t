# Freshness and history of the kept findings: a feed POST (and an approval)
# re-evaluates the people it touched before answering, so GET /v1/violations
# without as_of sees the effect at once; a finding no longer produced is
# resolved (resolved_at set, first_detected_at kept) and a re-break opens a
# new row; GET with a past as_of never writes the findings table; with
# audit.sweep_interval = 1 data changed behind effortd's back reaches the
# findings table without any request.  Months are chosen relative to today
# (the two months before the current one have ended).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use EffortTest qw(new_db start_effortd psql post_feed json_encode clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $d = start_effortd(db => $db);
my $reviewer = $d->token('reviewer');
# Today's list answers from the kept findings once a full sweep as of today
# has run (before it, on the fly, without first_detected_at).
ok $d->first_sweep_done, 'the first full sweep has run';

# ---------------------------------------------------------------- calendar (computed, not hard-coded)
my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my ($ty, $tm) = $today =~ /^(\d{4})-(\d{2})-\d{2}$/ or BAIL_OUT("today: $today");
sub month_add {
	my ($y, $m, $n) = @_;
	my $i = $y * 12 + ($m - 1) + $n;
	return (int($i / 12), $i % 12 + 1);
}
sub days_in { my ($y, $m) = @_; my ($ny, $nm) = month_add($y, $m, 1); (timegm(0, 0, 12, 1, $nm - 1, $ny) - timegm(0, 0, 12, 1, $m - 1, $y)) / 86400 }
sub weekdays {
	my ($y, $m) = @_;
	my $n = 0;
	for my $day (1 .. days_in($y, $m)) {
		my $wd = (gmtime timegm(0, 0, 12, $day, $m - 1, $y))[6];
		$n++ if $wd >= 1 && $wd <= 5;
	}
	return $n;
}
sub month_info {
	my ($y, $m) = @_;
	return { ym => sprintf('%04d-%02d', $y, $m), start => sprintf('%04d-%02d-01', $y, $m),
		end => sprintf('%04d-%02d-%02d', $y, $m, days_in($y, $m)), wd => weekdays($y, $m),
		contracted => 7.5 * weekdays($y, $m) };    # 1.0 FTE: 37.5 h × weekdays ÷ 5
}
my $P2 = month_info(month_add($ty, $tm, -2));    # e.g. 2026-09 when today is in 2026-11
my $P1 = month_info(month_add($ty, $tm, -1));    # e.g. 2026-10
my $P3 = month_info(month_add($ty, $tm, -3));    # its deadline (end of P1) has passed
note "today $today; months $P3->{ym} ($P3->{contracted} h), $P2->{ym} ($P2->{contracted} h), $P1->{ym} ($P1->{contracted} h)";

# Timestamps strictly in the past: now minus a few minutes, in UTC.
my $now_minus = sub {
	my ($min) = @_;
	return scalar psql($db, qq{SELECT to_char((now() - interval '$min minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
};

sub h { defined $_[0] ? sprintf('%.2f', $_[0]) : undef }
sub setup_ok {
	my ($feed, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, $name or diag json_encode($j);
}
# The open findings as GET /v1/violations (no as_of) lists them.
sub today_list {
	my (%q) = @_;
	my ($s, $j) = $d->req(GET => '/v1/violations', token => $reviewer, query => \%q);
	is $s, 200, 'GET /v1/violations' . (%q ? '?' . join('&', map { "$_=$q{$_}" } sort keys %q) : '') . ': 200'
		or diag json_encode($j);
	return ref $j eq 'HASH' ? $j : {};
}
sub rows { [ map { [ @$_{qw(rule severity person_id grant_ref period_start period_end)}, h($_->{hours}) ] } @{ $_[0]{violations} // [] } ] }
sub findings_rows {
	my ($where) = @_;
	return [ psql($db, qq{SELECT finding_id, rule, person_id, coalesce(grant_ref, '-'), period_start, hours::text,
		first_detected_at::text, coalesce(resolved_at::text, 'open') FROM findings WHERE $where ORDER BY finding_id}) ];
}
sub ts {
	my ($p, $mi, $entries, %x) = @_;
	return { person_id => $p, period_start => $mi->{start}, period_end => $mi->{end},
		submitted_at => $x{submitted_at} // $now_minus->(30),
		entries => [ map { { kind => $_->[0], activity => $_->[1], hours => $_->[2] } } @$entries ],
		map { exists $x{$_} ? ($_ => $x{$_}) : () } qw(authorised_by authorised_at amendment_reason) };
}

my $G1 = 'EP/F000001/1';
setup_ok(people => [
	{ person_id => 'FM', name => 'Manager', fte => 1, employment_start => '2015-01-05' },
	{ person_id => 'F1', name => 'Fresh One', line_manager_id => 'FM', fte => 1, employment_start => '2015-01-05' },
	{ person_id => 'F2', name => 'Fresh Two', line_manager_id => 'FM', fte => 1, employment_start => '2015-01-05' },
], 'setup: people');
setup_ok(grants => [ { grant_ref => $G1, title => 'Fresh grant', start_date => '2020-01-01', end_date => '2099-12-31' } ],
	'setup: grant');

# ---------------------------------------------------------------- a feed POST re-evaluates at once
is_deeply rows(today_list(person_id => 'F1')), [], 'before any assignment: F1 has no findings';
setup_ok(assignments => [ { person_id => 'F1', grant_ref => $G1, role => 'researcher', cost_type => 'DI',
	start_date => $P2->{start}, end_date => $P1->{end}, fte_share => 0.5 } ],
	"F1 on a DI assignment for $P2->{ym}–$P1->{ym}");
# Both months have ended and have no timesheet; their deadlines (end of the
# current month and of the next) have not passed: warnings.
is_deeply rows(today_list(person_id => 'F1', rule => 'timesheet_missing')), [
	[ 'timesheet_missing', 'warning', 'F1', undef, $P2->{start}, $P2->{end}, h($P2->{contracted}) ],
	[ 'timesheet_missing', 'warning', 'F1', undef, $P1->{start}, $P1->{end}, h($P1->{contracted}) ],
], 'immediately after the assignments feed: timesheet_missing warnings for both ended months (contracted hours)';

my $short = $P2->{contracted} - 10;
setup_ok(timesheets => [ ts('F1', $P1, [ [ grant => $G1, $P1->{contracted} / 2 ], [ research => 'research', $P1->{contracted} / 2 ] ]) ],
	"F1's complete $P1->{ym} timesheet");
setup_ok(timesheets => [ ts('F1', $P2, [ [ grant => $G1, $short / 2 ], [ research => 'research', $short / 2 ] ]) ],
	"F1's $P2->{ym} timesheet, 10 h short");
my $j = today_list(person_id => 'F1', rule => 'hours_incomplete');
is_deeply rows($j), [ [ 'hours_incomplete', 'violation', 'F1', undef, $P2->{start}, $P2->{end}, '10.00' ] ],
	'immediately after the POST: hours_incomplete 10 h is listed without as_of';
my ($f) = @{ $j->{violations} // [] };
like $f->{first_detected_at} // '', qr/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/,
	'first_detected_at is an ISO-8601 timestamp';
ok !defined $f->{resolved_at}, 'resolved_at is null';
is $j->{as_of}, $today, "as_of defaults to today ($today, Europe/London)";
is_deeply rows(today_list(person_id => 'F1', rule => 'timesheet_missing')), [],
	'the timesheet_missing findings are gone from the list';
is_deeply findings_rows(q{person_id = 'F1' AND rule = 'timesheet_missing' AND resolved_at IS NULL}), [],
	'… and resolved in the findings table';
is psql($db, q{SELECT count(*) FROM findings WHERE person_id = 'F1' AND rule = 'timesheet_missing' AND resolved_at IS NOT NULL}), 2,
	'… both rows kept with resolved_at set';
{
	my $jt = today_list(as_of => $today, person_id => 'F1');
	my $jn = today_list(person_id => 'F1');
	is_deeply $jt->{violations}, $jn->{violations}, "as_of=$today (today) answers from the kept findings, like no as_of";
}

my $open = findings_rows(q{person_id = 'F1' AND rule = 'hours_incomplete'});
is scalar @$open, 1, 'one hours_incomplete row in the findings table';
my ($fid, $first) = ($open->[0][0], $open->[0][6]);
is $open->[0][7], 'open', '… open';
is $open->[0][5], '10.00', '… 10 h';

# ---------------------------------------------------------------- a correction resolves it
sleep 1.1;    # so that a new row would have a visibly later first_detected_at
setup_ok(timesheets => [ ts('F1', $P2, [ [ grant => $G1, $P2->{contracted} / 2 ], [ research => 'research', $P2->{contracted} / 2 ] ]) ],
	'a corrected version of the timesheet (complete)');
is_deeply rows(today_list(person_id => 'F1', rule => 'hours_incomplete')), [],
	'immediately after the correction: hours_incomplete is gone from the list';
my $after = findings_rows(q{person_id = 'F1' AND rule = 'hours_incomplete'});
is scalar @$after, 1, 'the row stays in the findings table (never deleted)';
is $after->[0][0], $fid, '… the same row';
is $after->[0][6], $first, '… first_detected_at unchanged';
isnt $after->[0][7], 'open', '… resolved_at set';
ok psql($db, "SELECT resolved_at >= first_detected_at FROM findings WHERE finding_id = $fid") eq 't',
	'… resolved_at is not before first_detected_at';

# ---------------------------------------------------------------- a re-break opens a new row
sleep 1.1;
setup_ok(timesheets => [ ts('F1', $P2, [ [ grant => $G1, $P2->{contracted} / 2 ], [ research => 'research', $P2->{contracted} / 2 - 5 ] ]) ],
	'a third version, 5 h short');
$j = today_list(person_id => 'F1', rule => 'hours_incomplete');
is_deeply rows($j), [ [ 'hours_incomplete', 'violation', 'F1', undef, $P2->{start}, $P2->{end}, '5.00' ] ],
	'immediately after: hours_incomplete 5 h listed again';
my $hist = findings_rows(q{person_id = 'F1' AND rule = 'hours_incomplete'});
is scalar @$hist, 2, 'two rows now: the resolved one and a new open one';
is_deeply [ map { [ $_->[5], $_->[7] eq 'open' ? 'open' : 'resolved' ] } @$hist ], [ [ '10.00', 'resolved' ], [ '5.00', 'open' ] ],
	'… the old one resolved with its 10 h, the new one open with 5 h';
is $hist->[0][6], $first, "… the old row's first_detected_at still unchanged";
ok psql($db, "SELECT f2.first_detected_at > f1.resolved_at FROM findings f1, findings f2
	WHERE f1.finding_id = $hist->[0][0] AND f2.finding_id = $hist->[1][0]") eq 't',
	"… the new row's first_detected_at is after the old row's resolved_at";
is $j->{violations}[0]{first_detected_at} ne $f->{first_detected_at} ? 1 : 0, 1,
	'the API shows the new first_detected_at';

# ---------------------------------------------------------------- an approval re-evaluates too
# F2: a complete timesheet for P3, unauthorised; its deadline (end of P1) has
# passed, so authorisation_overdue.  Approving it now makes it late instead.
setup_ok(assignments => [ { person_id => 'F2', grant_ref => $G1, role => 'researcher', cost_type => 'DI',
	start_date => $P3->{start}, end_date => $P3->{end}, fte_share => 0.5 } ], "F2 on a DI assignment for $P3->{ym}");
setup_ok(timesheets => [ ts('F2', $P3, [ [ grant => $G1, $P3->{contracted} ] ], submitted_at => "$P1->{start}T10:00:00Z") ],
	"F2's complete, unauthorised $P3->{ym} timesheet");
is_deeply rows(today_list(person_id => 'F2')),
	[ [ 'authorisation_overdue', 'violation', 'F2', undef, $P3->{start}, $P3->{end}, h($P3->{contracted}) ] ],
	"F2: authorisation_overdue for $P3->{ym} (deadline $P1->{end} has passed)";
{
	my $id = psql($db, q{SELECT timesheet_id FROM current_timesheets WHERE person_id = 'F2'});
	my ($s, $jj) = $d->req(POST => "/v1/timesheets/$id/approve", token => $d->token('manager', 'FM'));
	is $s, 200, 'FM approves the timesheet: 200' or diag json_encode($jj);
}
is_deeply rows(today_list(person_id => 'F2')),
	[ [ 'authorisation_late', 'violation', 'F2', undef, $P3->{start}, $P3->{end}, h($P3->{contracted}) ] ],
	'immediately after the approval: overdue resolved, authorisation_late listed';
is_deeply [ map { [ $_->[1], $_->[7] eq 'open' ? 'open' : 'resolved' ] } @{ findings_rows(q{person_id = 'F2' AND rule LIKE 'authorisation%'}) } ],
	[ [ 'authorisation_overdue', 'resolved' ], [ 'authorisation_late', 'open' ] ],
	'findings table: the overdue row resolved, the late row open';

# ---------------------------------------------------------------- a past as_of does not write
sleep 2;    # well after the start-up sweep
my $snap_sql = q{SELECT finding_id, rule, person_id, grant_ref, period_start, period_end, severity, hours, detail,
	first_detected_at, changed_at, resolved_at FROM findings ORDER BY finding_id};
my @before = psql($db, $snap_sql);
ok scalar @before >= 6, 'the findings table has rows (' . scalar(@before) . ')';
{
	my $yesterday = psql($db, "SELECT DATE '$today' - 1");
	my $tomorrow = psql($db, "SELECT DATE '$today' + 1");
	for my $as_of ('2025-06-01', $yesterday, $P2->{end}, $tomorrow) {
		my ($s, $jj) = $d->req(GET => '/v1/violations', token => $reviewer, query => { as_of => $as_of });
		is $s, 200, "GET /v1/violations?as_of=$as_of: 200";
		ok !grep({ defined $_->{first_detected_at} } @{ $jj->{violations} // [] }),
			"… evaluated on the fly (first_detected_at null)";
	}
	my ($s, $jj) = $d->req(GET => '/v1/violations', token => $reviewer, query => { as_of => $yesterday, person_id => 'F2' });
	is_deeply rows($jj), [ [ 'authorisation_late', 'violation', 'F2', undef, $P3->{start}, $P3->{end}, h($P3->{contracted}) ] ],
		'as_of=yesterday sees the approval recorded today (data is not rewound)';
}
is_deeply [ psql($db, $snap_sql) ], \@before, 'GETs with other as_of dates left the findings table identical (rows and contents)';
is $d->stop, 0, 'the first effortd stops cleanly';

# ---------------------------------------------------------------- the periodic sweep
my $ds = start_effortd(db => $db, 'audit.sweep_interval' => 1);
sleep 2.5;    # past the start-up sweep: what follows must be found by a periodic one
my $n_before = psql($db, 'SELECT count(*) FROM findings');
# Behind effortd's back: a payroll charge of 40 h on a grant F1 recorded nothing on.
psql($db, qq{INSERT INTO charges (person_id, grant_ref, month, hours) VALUES ('F1', 'EP/F000009/1', '$P1->{start}', 40)});
my $where = q{person_id = 'F1' AND rule = 'activity_missing' AND grant_ref = 'EP/F000009/1'};
sub poll {
	my ($cond, $timeout) = @_;
	my $end = time + $timeout;
	while (time < $end) {
		return 1 if psql($db, "SELECT ($cond)::int") == 1;
		sleep 0.2;
	}
	return 0;
}
my $t0 = time;
ok poll("EXISTS (SELECT 1 FROM findings WHERE $where AND resolved_at IS NULL)", 10),
	'a charge inserted with psql: the sweep opens activity_missing within 10 s, without any request'
	or diag $ds->log_text;
note sprintf 'found after %.1f s', time - $t0;
is_deeply [ psql($db, "SELECT period_start, period_end, hours::text, severity FROM findings WHERE $where") ],
	[ [ $P1->{start}, $P1->{end}, '40.00', 'violation' ] ], '… for the charged month, 40 h, a violation';
is psql($db, 'SELECT count(*) FROM findings'), $n_before + 1, '… and nothing else was opened';

# Behind its back again: remove the authorisation decision of F2's timesheet.
psql($db, q{DELETE FROM timesheet_decisions WHERE timesheet_id IN (SELECT timesheet_id FROM timesheets WHERE person_id = 'F2')});
psql($db, qq{DELETE FROM charges WHERE person_id = 'F1' AND grant_ref = 'EP/F000009/1'});
ok poll("NOT EXISTS (SELECT 1 FROM findings WHERE $where AND resolved_at IS NULL)"
	. " AND EXISTS (SELECT 1 FROM findings WHERE person_id = 'F2' AND rule = 'authorisation_overdue' AND resolved_at IS NULL)"
	. " AND NOT EXISTS (SELECT 1 FROM findings WHERE person_id = 'F2' AND rule = 'authorisation_late' AND resolved_at IS NULL)", 10),
	'charge and decision deleted with psql: the sweep resolves activity_missing and authorisation_late and reopens overdue within 10 s'
	or diag $ds->log_text;
is psql($db, "SELECT count(*) FROM findings WHERE $where AND resolved_at IS NOT NULL"), 1, 'the activity_missing row is kept, resolved';
is psql($db, q{SELECT count(*) FROM findings WHERE person_id = 'F2' AND rule = 'authorisation_overdue'}), 2,
	'the re-opened overdue finding is a new row (two in all)';
{
	my ($s, $jj) = $ds->req(GET => '/v1/violations', token => $ds->token('reviewer'), query => { person_id => 'F2' });
	is_deeply rows($jj), [ [ 'authorisation_overdue', 'violation', 'F2', undef, $P3->{start}, $P3->{end}, h($P3->{contracted}) ] ],
		'GET /v1/violations lists what the sweep found';
}

done_testing;
