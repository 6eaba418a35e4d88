# Timesheet versions: an identical resend makes no version, a changed one
# makes version N+1 and keeps the old; amending an authorised timesheet needs
# an amendment_reason and leaves the new version unauthorised; GET
# /v1/timesheets lists the latest versions with total_hours and deadline.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);
my $reviewer = $d->token('reviewer');

is((post_feed($d, people => [
	{ person_id => 'P0', name => 'Grace Hopper', fte => 1, employment_start => '2010-09-01' },
	{ person_id => 'P1', name => 'Ada Byron', line_manager_id => 'P0', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'P2', name => 'Alan Turing', line_manager_id => 'P0', fte => 0.5, employment_start => '2020-01-06' },
]))[0], 200, 'setup: people');

sub counts { my $j = shift; ref $j eq 'HASH' ? [ @$j{qw(accepted created updated unchanged)} ] : $j }
sub num { defined $_[0] ? 0 + $_[0] : undef }

my $jan = { person_id => 'P1', period_start => '2025-01-01', period_end => '2025-01-31',
	submitted_at => '2025-02-03T10:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 80 },
	             { kind => 'teaching', activity => 'teaching', hours => 12 },
	             { kind => 'annual_leave', activity => 'annual_leave', hours => 22.5 } ] };

my ($s, $j) = post_feed($d, timesheets => [$jan]);
is $s, 200, 'version 1: 200';
is_deeply counts($j), [ 1, 1, 0, 0 ], 'version 1: created';

($s, $j) = post_feed($d, timesheets => [$jan]);
is_deeply counts($j), [ 1, 0, 0, 1 ], 'identical resend: unchanged';
# A later submitted_at with the same entries is still the same timesheet.
($s, $j) = post_feed($d, timesheets => [ { %$jan, submitted_at => '2025-02-04T08:00:00Z' } ]);
is_deeply counts($j), [ 1, 0, 0, 1 ], 'same entries, new submitted_at: unchanged';
is psql($db, q{SELECT count(*) FROM timesheets WHERE person_id = 'P1'}), 1, 'still one version';

# Changed entries: version 2, version 1 kept.
my $jan2 = { %$jan, submitted_at => '2025-02-05T10:00:00Z',
	entries => [ @{ $jan->{entries} }, { kind => 'research', activity => 'research', hours => 58 } ] };
($s, $j) = post_feed($d, timesheets => [$jan2]);
is $s, 200, 'version 2: 200';
is_deeply counts($j), [ 1, 0, 1, 0 ], 'version 2: updated';
is_deeply [ psql($db, q{SELECT version, total_hours::text FROM timesheets WHERE person_id = 'P1' ORDER BY version}) ],
	[ [ 1, '114.50' ], [ 2, '172.50' ] ], 'both versions in the database';
my $id2 = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'P1' AND version = 2});
my $id1 = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'P1' AND version = 1});

($s, $j) = $d->req(GET => "/v1/timesheets/$id2/versions", token => $reviewer);
is $s, 200, 'GET versions: 200' or diag json_encode($j);
is_deeply [ map { [ $_->{version}, num($_->{total_hours}), scalar @{ $_->{entries} } ] } @{ $j->{versions} // [] } ],
	[ [ 1, 114.5, 3 ], [ 2, 172.5, 4 ] ], 'GET versions: every version with its entries';
($s, my $j1) = $d->req(GET => "/v1/timesheets/$id1/versions", token => $reviewer);
is_deeply [ map { $_->{version} } @{ $j1->{versions} // [] } ], [ 1, 2 ], 'GET versions by the id of version 1: the same list';
($s) = $d->req(GET => "/v1/timesheets/999999/versions", token => $reviewer);
is $s, 404, 'GET versions of an unknown id: 404';

# Resending version 1 as it was (entries and submitted_at) changes nothing
# (RULES.md, second edition, rule 1); going back to its entries with a
# later submitted_at is an ordinary amendment, a revert (version 3).
($s, $j) = post_feed($d, timesheets => [$jan]);
is_deeply counts($j), [ 1, 0, 0, 1 ], 'resending version 1 as it was: unchanged';
is psql($db, q{SELECT max(version) FROM timesheets WHERE person_id = 'P1'}), 2, '… version 2 stays current';
($s, $j) = post_feed($d, timesheets => [ { %$jan, submitted_at => '2025-02-06T10:00:00Z' } ]);
is_deeply counts($j), [ 1, 0, 1, 0 ], 'going back to the first content, submitted later: a new version';
is psql($db, q{SELECT max(version) FROM timesheets WHERE person_id = 'P1'}), 3, 'version 3';

# ---- amending an authorised timesheet
my $feb = { person_id => 'P1', period_start => '2025-02-01', period_end => '2025-02-28',
	submitted_at => '2025-03-03T10:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 150 } ],
	authorised_by => 'P0', authorised_at => '2025-03-05T09:00:00Z' };
($s, $j) = post_feed($d, timesheets => [$feb]);
is_deeply counts($j), [ 1, 1, 0, 0 ], 'authorised February: created';
($s, $j) = post_feed($d, timesheets => [$feb]);
is_deeply counts($j), [ 1, 0, 0, 1 ], 'authorised February resent: unchanged';

my $before = psql($db, 'SELECT count(*) FROM timesheets');
my $feb2 = { %$feb, submitted_at => '2025-03-20T10:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 135 },
	             { kind => 'sick_leave', activity => 'sick_leave', hours => 15 } ] };
delete @$feb2{qw(authorised_by authorised_at)};
($s, $j) = post_feed($d, timesheets => [$feb2]);
is $s, 422, 'amending an authorised timesheet without amendment_reason: 422';
is_deeply [ map { [ $_->{index}, $_->{field} ] } @{ $j->{errors} // [] } ], [ [ 0, 'amendment_reason' ] ],
	'… field amendment_reason, index 0' or diag json_encode($j);
is psql($db, 'SELECT count(*) FROM timesheets'), $before, '… nothing stored';

$feb2->{amendment_reason} = 'Two days were sick leave';
($s, $j) = post_feed($d, timesheets => [$feb2]);
is $s, 200, 'with amendment_reason: 200' or diag json_encode($j);
is_deeply counts($j), [ 1, 0, 1, 0 ], '… updated';
is_deeply [ psql($db, q{SELECT c.version, c.amendment_reason, c.decision FROM current_timesheets c
	WHERE person_id = 'P1' AND period_start = '2025-02-01'}) ],
	[ [ 2, 'Two days were sick leave', undef ] ], '… version 2, unauthorised, reason kept';
is_deeply [ psql($db, q{SELECT t.version, d.decision, d.decided_by FROM timesheet_decisions d
	JOIN timesheets t USING (timesheet_id) WHERE t.person_id = 'P1' AND t.period_start = '2025-02-01'}) ],
	[ [ 1, 'authorised', 'P0' ] ], '… the authorisation stays with version 1';
my $feb_id = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'P1' AND period_start = '2025-02-01' AND version = 2});
($s, $j) = $d->req(GET => "/v1/timesheets/$feb_id/versions", token => $reviewer);
is_deeply [ map { [ $_->{version}, $_->{status}, scalar @{ $_->{decisions} // [] }, $_->{amendment_reason} ] } @{ $j->{versions} // [] } ],
	[ [ 1, 'authorised', 1, undef ], [ 2, 'submitted', 0, 'Two days were sick leave' ] ],
	'GET versions: the authorisation history per version' or diag json_encode($j);

# An unauthorised timesheet can be amended without a reason.
($s, $j) = post_feed($d, timesheets => [ { %$jan, submitted_at => '2025-02-07T10:00:00Z',
	entries => [ { kind => 'research', activity => 'research', hours => 172.5 } ] } ]);
is_deeply counts($j), [ 1, 0, 1, 0 ], 'amending an unauthorised timesheet needs no reason';

# ---- GET /v1/timesheets: latest versions, filters, total_hours, deadline
is((post_feed($d, timesheets => [
	{ person_id => 'P2', period_start => '2025-01-01', period_end => '2025-01-15', submitted_at => '2025-01-16T10:00:00Z',
	  entries => [ { kind => 'admin', activity => 'admin', hours => 41.25 } ] },
	{ person_id => 'P2', period_start => '2025-01-16', period_end => '2025-01-31', submitted_at => '2025-02-01T10:00:00Z',
	  entries => [ { kind => 'admin', activity => 'admin', hours => 45 } ],
	  authorised_by => 'P0', authorised_at => '2025-02-03T10:00:00Z' },
]))[0], 200, 'P2: two half-month timesheets');

sub list {
	my (%q) = @_;
	my ($st, $jj) = $d->req(GET => '/v1/timesheets', token => $reviewer, query => \%q);
	is $st, 200, 'GET /v1/timesheets ' . join('&', map { "$_=$q{$_}" } sort keys %q) . ': 200' or diag json_encode($jj);
	return [ map { [ $_->{person_id}, $_->{period_start}, $_->{version}, num($_->{total_hours}), $_->{status}, $_->{deadline} ] }
		@{ $jj->{timesheets} // [] } ];
}
is_deeply list(), [
	[ 'P1', '2025-01-01', 4, 172.5, 'submitted', '2025-03-31' ],
	[ 'P1', '2025-02-01', 2, 150, 'submitted', '2025-04-30' ],
	[ 'P2', '2025-01-01', 1, 41.25, 'submitted', '2025-03-15' ],
	[ 'P2', '2025-01-16', 1, 45, 'authorised', '2025-03-31' ],
], 'all: latest versions only, sorted, with deadline';
is_deeply list(person_id => 'P2'), [
	[ 'P2', '2025-01-01', 1, 41.25, 'submitted', '2025-03-15' ],
	[ 'P2', '2025-01-16', 1, 45, 'authorised', '2025-03-31' ],
], 'person_id=P2';
is_deeply list(month => '2025-02'), [ [ 'P1', '2025-02-01', 2, 150, 'submitted', '2025-04-30' ] ], 'month=2025-02';
is_deeply list(status => 'authorised'), [ [ 'P2', '2025-01-16', 1, 45, 'authorised', '2025-03-31' ] ], 'status=authorised';
is_deeply list(person_id => 'P1', month => '2025-01', status => 'submitted'),
	[ [ 'P1', '2025-01-01', 4, 172.5, 'submitted', '2025-03-31' ] ], 'all three filters';
is_deeply list(person_id => 'NOBODY'), [], 'unknown person: empty list';
{
	my ($st, $jj) = $d->req(GET => '/v1/timesheets', token => $reviewer, query => { person_id => 'P2', month => '2025-01' });
	my ($t) = grep { $_->{period_start} eq '2025-01-16' } @{ $jj->{timesheets} // [] };
	is_deeply [ $t->{authorised_by}, $t->{period_end}, [ map { [ $_->{kind}, $_->{activity}, num($_->{hours}) ] } @{ $t->{entries} // [] } ] ],
		[ 'P0', '2025-01-31', [ [ 'admin', 'admin', 45 ] ] ], 'a listed timesheet carries its authorisation and entries';
	ok defined $t->{id} && $t->{id} =~ /^\d+$/, 'a listed timesheet carries its id';
}
{
	my ($st) = $d->req(GET => '/v1/timesheets', token => $reviewer, query => { month => '2025-13' });
	is $st, 400, 'month=2025-13: 400';
	($st) = $d->req(GET => '/v1/timesheets', token => $reviewer, query => { status => 'lost' });
	is $st, 400, 'status=lost: 400';
}

done_testing;
