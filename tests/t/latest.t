# The latest versions kept at ingest (migration 023, 12_timesheet_latest.sql):
# timesheet_latest and timesheet_latest_grant_entries hold, after every
# kind of write, exactly what the definition they replaced computes from
# the stored versions, entries and decisions (the anti-joins of migration
# 014, written out here), and the runtime role may only read them.
# Writes: a feed's new versions, amendments and authorisations; approvals
# and rejections through effortd; concurrent feeds and approvals of one
# person; the owner's DELETE and TRUNCATE (which rebuild); an upgrade from
# a database without the tables (the migration fills them).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed post_bg collect_bg json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);

# What the tables must hold, from the stored rows (the definition of
# migration 014, the latest version and its latest decision, with the
# teaching hours and the grant entries the rules read).
my $EXPECTED_LATEST = q{
	SELECT t.person_id, t.period_start, t.period_end, t.timesheet_id, t.version,
	       t.submitted_at, t.total_hours,
	       (SELECT sum(e.hours * 100)::int FROM timesheet_entries e
	         WHERE e.timesheet_id = t.timesheet_id AND e.kind = 'teaching'),
	       d.decision_id, d.decision, d.decided_by, d.decided_at, d.reason, d.recorded_at
	  FROM timesheets t
	  LEFT JOIN timesheet_decisions d ON d.timesheet_id = t.timesheet_id
	   AND NOT EXISTS (SELECT 1 FROM timesheet_decisions n
	                    WHERE n.timesheet_id = d.timesheet_id AND n.decision_id > d.decision_id)
	 WHERE NOT EXISTS (SELECT 1 FROM timesheets n
	                    WHERE n.person_id = t.person_id AND n.period_start = t.period_start
	                      AND n.period_end = t.period_end AND n.version > t.version)};
my $EXPECTED_GRANTS = q{
	SELECT e.timesheet_id, e.activity, t.person_id, date_trunc('month', t.period_start)::date,
	       t.period_start, t.period_end, e.hours
	  FROM timesheets t JOIN timesheet_entries e ON e.timesheet_id = t.timesheet_id AND e.kind = 'grant'
	 WHERE NOT EXISTS (SELECT 1 FROM timesheets n
	                    WHERE n.person_id = t.person_id AND n.period_start = t.period_start
	                      AND n.period_end = t.period_end AND n.version > t.version)};

# The rows of each table that the definition does not give, and the
# definition's rows the table lacks: none of either.
sub agrees {
	my ($what) = @_;
	my $diff = psql($db, qq{SELECT concat_ws('|',
		(SELECT count(*) FROM (SELECT * FROM timesheet_latest EXCEPT ALL ($EXPECTED_LATEST)) x),
		(SELECT count(*) FROM (($EXPECTED_LATEST) EXCEPT ALL SELECT * FROM timesheet_latest) x),
		(SELECT count(*) FROM (SELECT * FROM timesheet_latest_grant_entries EXCEPT ALL ($EXPECTED_GRANTS)) x),
		(SELECT count(*) FROM (($EXPECTED_GRANTS) EXCEPT ALL SELECT * FROM timesheet_latest_grant_entries) x))});
	is $diff, '0|0|0|0', "$what: the latest versions and grant entries are the stored ones' (extra|missing rows)";
}
sub row {
	my ($person, $start) = @_;
	return scalar psql($db, qq{SELECT concat_ws(' ', version, total_hours, coalesce(taught::text, '-'),
		coalesce(decision, '-'), coalesce(decided_by, '-'))
		FROM timesheet_latest WHERE person_id = '$person' AND period_start = '$start'});
}
sub grant_rows {
	my ($person, $start) = @_;
	return scalar psql($db, qq{SELECT coalesce(string_agg(activity || '=' || hours, ',' ORDER BY activity), '-')
		FROM timesheet_latest_grant_entries WHERE person_id = '$person' AND period_start = '$start'});
}
sub ok_feed {
	my ($feed, $body, $what) = @_;
	my ($s, $j) = post_feed($d, $feed, $body);
	is $s, 200, "$what: 200" or diag json_encode($j);
}
sub ts {
	my ($person, $start, $end, $entries, %o) = @_;
	return { person_id => $person, period_start => $start, period_end => $end,
		submitted_at => $o{submitted_at} // "${end}T18:00:00Z",
		entries => [ map { { kind => $_->[0], activity => $_->[1], hours => $_->[2] } } @$entries ],
		map { defined $o{$_} ? ($_ => $o{$_}) : () } qw(authorised_by authorised_at amendment_reason) };
}
sub ts_id {
	my ($person, $start) = @_;
	return scalar psql($db, qq{SELECT timesheet_id FROM timesheet_latest
		WHERE person_id = '$person' AND period_start = '$start'});
}

ok_feed(people => [
	{ person_id => 'M1', name => 'Manager One', fte => 1, employment_start => '2010-01-01' },
	map { { person_id => $_, name => "Person $_", line_manager_id => 'M1', fte => 1,
		employment_start => '2020-01-01' } } qw(P1 P2 P3) ], 'people');
ok_feed(grants => [ { grant_ref => 'G1', title => 'One', funder => 'UKRI', start_date => '2024-01-01',
	end_date => '2026-12-31' } ], 'a grant');
agrees('no timesheets');

# ---------------------------------------------------------------- the feed
ok_feed(timesheets => [
	ts('P1', '2025-01-01', '2025-01-31', [ [ grant => 'G1', 80.5 ], [ teaching => 'T1', 20.25 ],
		[ teaching => 'T2', 4 ], [ research => 'R', 60 ] ]),
	ts('P2', '2025-01-01', '2025-01-15', [ [ research => 'R', 80 ] ]),
	ts('P2', '2025-01-16', '2025-01-31', [ [ grant => 'G1', 0 ], [ grant => 'GX', 7.5 ] ]) ],
	'three timesheets, one with two teaching entries');
is row('P1', '2025-01-01'), '1 164.75 2425 - -', 'P1 January: version 1, 164.75 h, 24.25 h teaching in hundredths, no decision';
is row('P2', '2025-01-01'), '1 80.00 - - -', 'P2 first half: no teaching entry, taught NULL';
is grant_rows('P1', '2025-01-01'), 'G1=80.50', "P1's grant entry";
is grant_rows('P2', '2025-01-16'), 'G1=0.00,GX=7.50', "P2's grant entries, a 0 h one and an unknown grant's kept";
agrees('created');

ok_feed(timesheets => [ ts('P1', '2025-01-01', '2025-01-31', [ [ grant => 'G1', 80.5 ], [ teaching => 'T1', 20.25 ],
	[ teaching => 'T2', 4 ], [ research => 'R', 60 ] ], authorised_by => 'M1', authorised_at => '2025-02-03T09:00:00Z') ],
	'the same timesheet, authorised');
is row('P1', '2025-01-01'), '1 164.75 2425 authorised M1', 'P1 January: version 1 authorised by M1';
agrees('authorised by the feed');

ok_feed(timesheets => [ ts('P1', '2025-01-01', '2025-01-31', [ [ research => 'R', 164.75 ] ],
	submitted_at => '2025-02-05T10:00:00Z', amendment_reason => 'no grant work after all') ],
	'an amendment without grant or teaching entries');
is row('P1', '2025-01-01'), '2 164.75 - - -', 'P1 January: version 2, no teaching, no decision (version 1 keeps its own)';
is grant_rows('P1', '2025-01-01'), '-', "version 1's grant entry is gone with it";
agrees('amended');

# ---------------------------------------------------------------- approvals through effortd
my $m1 = $d->token('manager', 'M1');
my ($s, $j) = $d->req(POST => '/v1/timesheets/' . ts_id('P1', '2025-01-01') . '/approve', token => $m1);
is $s, 200, 'M1 approves version 2: 200' or diag json_encode($j);
is row('P1', '2025-01-01'), '2 164.75 - authorised M1', '… its row says so';
($s, $j) = $d->req(POST => '/v1/timesheets/' . ts_id('P2', '2025-01-16') . '/reject', token => $m1,
	body => { reason => 'GX is not ours' });
is $s, 200, "M1 rejects P2's second half: 200" or diag json_encode($j);
is row('P2', '2025-01-16'), '1 7.50 - rejected M1', '… its row says so';
is psql($db, q{SELECT decision_reason FROM timesheet_latest WHERE person_id = 'P2' AND period_start = '2025-01-16'}),
	'GX is not ours', '… with the reason';
($s, $j) = $d->req(POST => '/v1/approvals', token => $m1, body => { timesheet_ids => [ 0 + ts_id('P2', '2025-01-01') ] });
is $s, 200, 'POST /v1/approvals for the first half: 200' or diag json_encode($j);
is row('P2', '2025-01-01'), '1 80.00 - authorised M1', '… its row says so';
agrees('approved and rejected through effortd');

# ---------------------------------------------------------------- concurrent writers of one person
# Feeds of new versions of P3's months and approvals of them, side by
# side: each (person, period) is rebuilt under the person's lock, so the
# last writer's rebuild sees every version committed before it.
for my $round (1 .. 6) {
	my @bg;
	for my $k (1 .. 3) {
		push @bg, post_bg($d, 'timesheets', [ map {
			my $m = sprintf '2025-%02d', $_;
			ts('P3', "$m-01", "$m-28", [ [ grant => 'G1', 10 * $round + $k ], [ teaching => 'T', $k ] ],
				submitted_at => sprintf('2025-%02d-28T%02d:%02d:00Z', $_, 10 + $round, $k))
		} 2 .. 4 ]);
	}
	my @ids = map { $_->[0] } psql($db, q{SELECT timesheet_id FROM timesheet_latest WHERE person_id = 'P3'});
	push @bg, post_bg($d, undef, { timesheet_ids => [ map { 0 + $_ } @ids ] }, path => '/v1/approvals', token => $m1)
		if @ids;
	my @st = map { (collect_bg($_))[0] } @bg;
	my $bad = grep { $_ != 200 && $_ != 422 } @st;
	is $bad, 0, "round $round: three feeds and an approval side by side answer 200 (or 422 for a stale one)"
		or diag "@st";
}
agrees('after concurrent feeds and approvals');
is psql($db, q{SELECT count(*) FROM timesheet_latest WHERE person_id = 'P3'}), 3, "P3's three months, one row each";

# ---------------------------------------------------------------- the runtime role reads only
{
	my $role = "effortd_latest_$$";
	my $rt = $db->runtime_role($role);
	my $as_rt = sub {
		my @r = eval { EffortTest::psql_cluster($rt, $db->name, $_[0]) };
		return $@ ? $@ : join("\n", map { join '|', @$_ } @r);
	};
	like $as_rt->(q{SELECT count(*) FROM timesheet_latest}), qr/^\d+$/, 'the runtime role reads timesheet_latest';
	for my $t (qw(timesheet_latest timesheet_latest_grant_entries)) {
		for my $sql ("UPDATE $t SET person_id = person_id", "DELETE FROM $t", "TRUNCATE $t",
		             "INSERT INTO $t SELECT * FROM $t") {
			like $as_rt->($sql), qr/permission denied for table $t/, "the runtime role: $sql: refused";
		}
	}
	# A runtime role given the owner's default privileges when migration
	# 023 created the tables (as on an upgrade) loses them at the migration.
	psql($db, qq{GRANT INSERT, UPDATE, DELETE, TRUNCATE ON timesheet_latest, timesheet_latest_grant_entries TO "$role"});
	like $as_rt->(q{DELETE FROM timesheet_latest WHERE false}), qr/^$/, 'setup: DELETE granted';
	my ($rc, $out) = EffortTest::migrate($db);
	is $rc, 0, 'effortd --migrate: 0' or diag $out;
	like $as_rt->(q{DELETE FROM timesheet_latest WHERE false}), qr/permission denied for table timesheet_latest/,
		'… after it, refused again';
	agrees('after the runtime role was refused');
}

# ---------------------------------------------------------------- the owner's rewrites rebuild
psql($db, q{DELETE FROM timesheet_decisions WHERE timesheet_id IN
	(SELECT timesheet_id FROM timesheets WHERE person_id = 'P2' AND period_start = '2025-01-16')});
is row('P2', '2025-01-16'), '1 7.50 - - -', "the owner deletes a rejection: the row has no decision";
agrees('after the owner deleted a decision');
psql($db, q{DELETE FROM timesheet_decisions WHERE timesheet_id IN (SELECT timesheet_id FROM timesheets WHERE person_id = 'P1' AND version = 2)});
psql($db, q{DELETE FROM timesheet_entries WHERE timesheet_id IN (SELECT timesheet_id FROM timesheets WHERE person_id = 'P1' AND version = 2)});
psql($db, q{DELETE FROM timesheets WHERE person_id = 'P1' AND version = 2});
is row('P1', '2025-01-01'), '1 164.75 2425 authorised M1', 'the owner deletes version 2: version 1 is the latest again';
is grant_rows('P1', '2025-01-01'), 'G1=80.50', '… with its grant entry';
agrees('after the owner deleted a version');

# An upgrade: the tables empty (as migration 023 leaves them) are filled
# when the functions are applied.
psql($db, q{DELETE FROM timesheet_latest; DELETE FROM timesheet_latest_grant_entries});
is psql($db, q{SELECT count(*) FROM timesheet_latest}), 0, 'setup: the tables emptied';
my ($rc, $out) = EffortTest::migrate($db);
is $rc, 0, 'effortd --migrate: 0' or diag $out;
isnt psql($db, q{SELECT count(*) FROM timesheet_latest}), 0, '… fills them';
agrees('after the migration filled them');

psql($db, q{TRUNCATE timesheet_decisions, timesheet_entries, timesheets CASCADE});
is psql($db, q{SELECT count(*) FROM timesheet_latest}) . ' ' . psql($db, q{SELECT count(*) FROM timesheet_latest_grant_entries}),
	'0 0', 'the owner truncates the timesheets: both tables empty';
agrees('after TRUNCATE');
ok_feed(timesheets => [ ts('P1', '2025-03-01', '2025-03-31', [ [ grant => 'G1', 1 ] ]) ], 'a timesheet after it');
agrees('a feed after TRUNCATE');

done_testing;
