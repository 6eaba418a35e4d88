# Every feed accepted as JSON: counts of created/updated/unchanged, exact
# database contents, re-sending changes nothing; the whole sample organisation.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_decode slurp sample_file);

my $db = new_db();
my $d = start_effortd(db => $db);

sub counts { my ($n, $c, $u, $x) = @_; { accepted => $n, created => $c, updated => $u, unchanged => $x } }

sub feed_ok {
	my ($feed, $body, $want, $name) = @_;
	my ($s, $j) = post_feed($d, $feed, $body);
	is $s, 200, "$name: 200" or diag explain $j;
	is_deeply ref $j eq 'HASH' ? { map { $_ => $j->{$_} } qw(accepted created updated unchanged) } : $j,
		$want, "$name: counts";
}

# ---- people
my @people = (
	{ person_id => 'P0', name => 'Grace Hopper', email => undef, line_manager_id => undef, fte => 0.8,
	  employment_start => '2010-09-01', employment_end => '2030-08-31' },
	{ person_id => 'P1', name => 'Ada Byron', email => 'a.byron@example.ac.uk', line_manager_id => 'P0',
	  fte => 1.0, employment_start => '2020-01-06', employment_end => undef },
	{ person_id => 'P2', name => 'Zoë Ørsted-Łukasz', email => 'z.orsted@example.ac.uk', line_manager_id => 'P0',
	  fte => 0.5, employment_start => '2024-02-29' },
);
feed_ok(people => \@people, counts(3, 3, 0, 0), 'people');
my $people_sql = q{SELECT person_id, name, email, line_manager_id, fte::text, employment_start::text,
	employment_end::text FROM people ORDER BY person_id};
is_deeply [ psql($db, $people_sql) ], [
	[ 'P0', 'Grace Hopper', undef, undef, '0.8', '2010-09-01', '2030-08-31' ],
	[ 'P1', 'Ada Byron', 'a.byron@example.ac.uk', 'P0', '1', '2020-01-06', undef ],
	[ 'P2', 'Zoë Ørsted-Łukasz', 'z.orsted@example.ac.uk', 'P0', '0.5', '2024-02-29', undef ],
], 'people: rows';
feed_ok(people => \@people, counts(3, 0, 0, 3), 'people resent');
$people[1]{fte} = 0.6;
feed_ok(people => \@people, counts(3, 0, 1, 2), 'people, one changed');
is psql($db, q{SELECT fte::text FROM people WHERE person_id = 'P1'}), '0.6', 'people: updated fte';
is psql($db, 'SELECT count(*) FROM people'), 3, 'people: no duplicates';

# ---- grants
my @grants = (
	{ grant_ref => 'EP/X012345/1', title => 'Verified compilers', funder => 'EPSRC',
	  start_date => '2023-04-01', end_date => '2026-03-31' },
	{ grant_ref => 'NE/Y000123/1', title => 'Peat, carbon and "water"', funder => undef,
	  start_date => '2024-01-01', end_date => '2027-12-31' },
);
feed_ok(grants => \@grants, counts(2, 2, 0, 0), 'grants');
is_deeply [ psql($db, q{SELECT grant_ref, title, funder, start_date::text, end_date::text FROM grants ORDER BY 1}) ], [
	[ 'EP/X012345/1', 'Verified compilers', 'EPSRC', '2023-04-01', '2026-03-31' ],
	[ 'NE/Y000123/1', 'Peat, carbon and "water"', undef, '2024-01-01', '2027-12-31' ],
], 'grants: rows';
feed_ok(grants => \@grants, counts(2, 0, 0, 2), 'grants resent');
$grants[0]{end_date} = '2026-09-30';
feed_ok(grants => \@grants, counts(2, 0, 1, 1), 'grants, one changed');
is psql($db, q{SELECT end_date::text FROM grants WHERE grant_ref = 'EP/X012345/1'}), '2026-09-30', 'grants: updated';

# ---- assignments
my @assignments = (
	{ person_id => 'P1', grant_ref => 'EP/X012345/1', role => 'researcher', cost_type => 'DI',
	  start_date => '2024-01-01', end_date => '2025-12-31', fte_share => 0.5, estimated_hours_per_year => undef },
	{ person_id => 'P0', grant_ref => 'EP/X012345/1', role => 'pi', cost_type => 'DA',
	  start_date => '2023-04-01', end_date => undef, fte_share => 0.1, estimated_hours_per_year => 165.5 },
	{ person_id => 'P1', grant_ref => 'EP/X012345/1', role => 'researcher', cost_type => 'EXC',
	  start_date => '2026-01-01', end_date => '2026-03-31', fte_share => 1 },
);
feed_ok(assignments => \@assignments, counts(3, 3, 0, 0), 'assignments');
is_deeply [ psql($db, q{SELECT person_id, grant_ref, role, cost_type, start_date::text, end_date::text,
	fte_share::text, estimated_hours_per_year::text FROM assignments ORDER BY 1, 2, 5}) ], [
	[ 'P0', 'EP/X012345/1', 'pi', 'DA', '2023-04-01', undef, '0.1', '165.50' ],
	[ 'P1', 'EP/X012345/1', 'researcher', 'DI', '2024-01-01', '2025-12-31', '0.5', undef ],
	[ 'P1', 'EP/X012345/1', 'researcher', 'EXC', '2026-01-01', '2026-03-31', '1', undef ],
], 'assignments: rows';
feed_ok(assignments => \@assignments, counts(3, 0, 0, 3), 'assignments resent');
$assignments[0]{role} = 'fellow';
feed_ok(assignments => \@assignments, counts(3, 0, 1, 2), 'assignments, one changed');

# ---- delegations
my @delegations = ({ manager_id => 'P0', delegate_id => 'P2', start_date => '2025-07-01', end_date => '2025-08-31' });
feed_ok(delegations => \@delegations, counts(1, 1, 0, 0), 'delegations');
is_deeply [ psql($db, q{SELECT manager_id, delegate_id, start_date::text, end_date::text FROM delegations}) ],
	[ [ 'P0', 'P2', '2025-07-01', '2025-08-31' ] ], 'delegations: rows';
feed_ok(delegations => \@delegations, counts(1, 0, 0, 1), 'delegations resent');
$delegations[0]{end_date} = '2025-09-15';
feed_ok(delegations => \@delegations, counts(1, 0, 1, 0), 'delegations changed');

# ---- charges
my @charges = (
	{ person_id => 'P1', grant_ref => 'EP/X012345/1', month => '2025-01', fte_fraction => 0.5 },
	{ person_id => 'P1', grant_ref => 'NE/Y000123/1', month => '2025-01', hours => 86.25 },
	{ person_id => 'P1', grant_ref => 'EP/X012345/1', month => '2025-02', fte_fraction => 0.5, hours => undef },
);
feed_ok(charges => \@charges, counts(3, 3, 0, 0), 'charges');
is_deeply [ psql($db, q{SELECT person_id, grant_ref, month::text, fte_fraction::text, hours::text
	FROM charges ORDER BY 3, 2}) ], [
	[ 'P1', 'EP/X012345/1', '2025-01-01', '0.5', undef ],
	[ 'P1', 'NE/Y000123/1', '2025-01-01', undef, '86.25' ],
	[ 'P1', 'EP/X012345/1', '2025-02-01', '0.5', undef ],
], 'charges: rows';
feed_ok(charges => \@charges, counts(3, 0, 0, 3), 'charges resent');
$charges[1] = { person_id => 'P1', grant_ref => 'NE/Y000123/1', month => '2025-01', fte_fraction => 0.25 };
feed_ok(charges => \@charges, counts(3, 0, 1, 2), 'charges: hours replaced by fte_fraction');
is_deeply [ psql($db, q{SELECT fte_fraction::text, hours::text FROM charges WHERE grant_ref = 'NE/Y000123/1'}) ],
	[ [ '0.25', undef ] ], 'charges: the switch leaves one of the two';

# ---- timesheets
my @timesheets = (
	{ person_id => 'P1', period_start => '2025-01-01', period_end => '2025-01-31',
	  submitted_at => '2025-02-03T10:00:00Z',
	  entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 80 },
	               { kind => 'teaching', activity => 'teaching', hours => 12 },
	               { kind => 'annual_leave', activity => 'annual_leave', hours => 22.5 },
	               { kind => 'research', activity => 'research', hours => 58 } ],
	  authorised_by => 'P0', authorised_at => '2025-02-10T09:00:00+01:00' },
	{ person_id => 'P2', period_start => '2025-02-01', period_end => '2025-02-14',
	  submitted_at => '2025-02-14T17:00:00Z',
	  entries => [ { kind => 'project', activity => 'OUTREACH-7', hours => 37.5 },
	               { kind => 'sick_leave', activity => 'sick_leave', hours => 0.25 } ] },
);
feed_ok(timesheets => \@timesheets, counts(2, 2, 0, 0), 'timesheets');
is_deeply [ psql($db, q{SELECT person_id, period_start::text, period_end::text, version,
	to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), total_hours::text, amendment_reason
	FROM timesheets ORDER BY person_id}) ], [
	[ 'P1', '2025-01-01', '2025-01-31', 1, '2025-02-03 10:00:00', '172.50', undef ],
	[ 'P2', '2025-02-01', '2025-02-14', 1, '2025-02-14 17:00:00', '37.75', undef ],
], 'timesheets: rows';
is_deeply [ psql($db, q{SELECT t.person_id, e.kind, e.activity, e.hours::text FROM timesheet_entries e
	JOIN timesheets t USING (timesheet_id) ORDER BY t.person_id, e.position}) ], [
	[ 'P1', 'grant', 'EP/X012345/1', '80.00' ],
	[ 'P1', 'teaching', 'teaching', '12.00' ],
	[ 'P1', 'annual_leave', 'annual_leave', '22.50' ],
	[ 'P1', 'research', 'research', '58.00' ],
	[ 'P2', 'project', 'OUTREACH-7', '37.50' ],
	[ 'P2', 'sick_leave', 'sick_leave', '0.25' ],
], 'timesheets: entries, in order';
is_deeply [ psql($db, q{SELECT t.person_id, d.decision, d.decided_by,
	to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), d.source
	FROM timesheet_decisions d JOIN timesheets t USING (timesheet_id)}) ],
	[ [ 'P1', 'authorised', 'P0', '2025-02-10 08:00:00', 'feed' ] ], 'timesheets: the authorisation';
feed_ok(timesheets => \@timesheets, counts(2, 0, 0, 2), 'timesheets resent');
is psql($db, 'SELECT count(*) FROM timesheets'), 2, 'timesheets: no new version on resend';
is psql($db, 'SELECT count(*) FROM timesheet_decisions'), 1, 'timesheets: no new decision on resend';

# An empty batch.
feed_ok(people => [], counts(0, 0, 0, 0), 'empty batch');

# ---- the sample organisation, JSON
{
	my $db2 = new_db();
	my $d2 = start_effortd(db => $db2);
	my %n;
	for my $feed (qw(people grants assignments delegations charges timesheets)) {
		my $body = slurp(sample_file($feed, 'json'));
		my $recs = json_decode($body);
		$n{$feed} = @$recs;
		my ($s, $j) = $d2->req(POST => "/v1/$feed", token => $d2->token('feed'), body => $body);
		is $s, 200, "sample $feed.json: 200" or diag explain $j;
		is_deeply $j && ref $j eq 'HASH' ? [ @$j{qw(accepted created updated unchanged)} ] : $j,
			[ scalar @$recs, scalar @$recs, 0, 0 ], "sample $feed.json: all created";
		($s, $j) = $d2->req(POST => "/v1/$feed", token => $d2->token('feed'), body => $body);
		is_deeply $j && ref $j eq 'HASH' ? [ @$j{qw(accepted created updated unchanged)} ] : $j,
			[ scalar @$recs, 0, 0, scalar @$recs ], "sample $feed.json resent: all unchanged";
	}
	my $entries = 0;
	$entries += @{ $_->{entries} } for @{ json_decode(slurp(sample_file('timesheets', 'json'))) };
	is_deeply [ psql($db2, q{SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM grants),
		(SELECT count(*) FROM assignments), (SELECT count(*) FROM delegations), (SELECT count(*) FROM charges),
		(SELECT count(*) FROM timesheets), (SELECT count(*) FROM timesheet_entries)}) ],
		[ [ @n{qw(people grants assignments delegations charges timesheets)}, $entries ] ],
		'sample: every record stored once';
	is psql($db2, q{SELECT count(*) FROM timesheets t WHERE total_hours <>
		(SELECT sum(hours) FROM timesheet_entries e WHERE e.timesheet_id = t.timesheet_id)}), 0,
		'sample: total_hours is the sum of the entries';
	my $authorised = grep { $_->{authorised_by} } @{ json_decode(slurp(sample_file('timesheets', 'json'))) };
	is psql($db2, q{SELECT count(*) FROM timesheet_decisions WHERE decision = 'authorised' AND source = 'feed'}),
		$authorised, 'sample: one authorisation per authorised timesheet';
	my ($s, $j) = $d2->req(POST => '/v1/timesheets', token => $d2->token('feed'),
		body => slurp(sample_file('amendments', 'json')));
	is $s, 200, 'sample amendments.json: 200' or diag explain $j;
	is_deeply [ @$j{qw(accepted created updated unchanged)} ], [ 1, 0, 1, 0 ], 'sample amendments: one new version';
	is_deeply [ psql($db2, q{SELECT version, amendment_reason IS NOT NULL FROM timesheets
		WHERE person_id = 'E1001' AND period_start = '2025-12-01' ORDER BY version}) ],
		[ [ 1, 'f' ], [ 2, 't' ] ], 'sample amendments: version 2 kept beside version 1';
}

done_testing;
