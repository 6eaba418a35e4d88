# The sample organisation (sample/README.md) loads and its audit as of
# 2026-10-01 finds exactly the documented deliberate problems.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(start_effortd load_sample post_feed slurp sample_file json_encode);

my $d = start_effortd();
ok eval { load_sample($d, format => { people => 'csv', grants => 'json', assignments => 'csv',
	delegations => 'json', charges => 'csv', timesheets => 'json' }) }, 'the sample loads (CSV and JSON mixed)' or diag $@;
my ($s, $j) = post_feed($d, timesheets => slurp(sample_file('amendments', 'csv')));
is $s, 200, 'the amendment loads' or diag json_encode($j);

($s, $j) = $d->req(GET => '/v1/violations', token => $d->token('reviewer'), query => { as_of => '2026-10-01' });
is $s, 200, 'GET /v1/violations?as_of=2026-10-01: 200';
is $j->{as_of}, '2026-10-01', 'as_of echoed';
my @got = map { [ $_->{rule}, $_->{severity}, $_->{person_id}, $_->{grant_ref}, $_->{period_start}, $_->{period_end},
	sprintf('%.2f', $_->{hours}) ] } @{ $j->{violations} // [] };
is_deeply \@got, [
	[ 'investigator_cap_exceeded', 'violation', 'E0101', undef, '2025-08-01', '2026-07-31', '76.27' ],
	[ 'investigator_cap_projected', 'warning', 'E0101', undef, '2026-08-01', '2027-07-31', '302.65' ],
	[ 'authorisation_invalid', 'violation', 'E0104', undef, '2026-02-01', '2026-02-28', '150.00' ],
	[ 'unassigned_grant_hours', 'violation', 'E0105', 'NE/Y000123/1', '2026-04-01', '2026-04-30', '14.00' ],
	[ 'authorisation_overdue', 'violation', 'E1001', undef, '2025-12-01', '2025-12-31', '172.50' ],
	[ 'activity_missing', 'violation', 'E1002', 'EP/X012345/1', '2026-03-01', '2026-03-31', '132.00' ],
	[ 'timesheet_missing', 'violation', 'E1002', undef, '2026-03-01', '2026-03-31', '165.00' ],
	[ 'activity_missing', 'violation', 'E1003', 'NE/Y000123/1', '2026-01-01', '2026-01-31', '33.00' ],
	[ 'activity_missing', 'violation', 'E1003', 'NE/Y000123/1', '2026-02-01', '2026-02-28', '30.00' ],
	[ 'activity_missing', 'violation', 'E1003', 'NE/Y000123/1', '2026-03-01', '2026-03-31', '33.00' ],
	[ 'teaching_excess', 'warning', 'E1005', 'NE/Y000123/1', '2025-10-01', '2027-09-30', '60.89' ],
	[ 'hours_incomplete', 'violation', 'E1008', undef, '2025-11-01', '2025-11-30', '22.50' ],
	[ 'authorisation_late', 'violation', 'E1010', undef, '2026-01-01', '2026-01-31', '165.00' ],
	[ 'overcharged_month', 'violation', 'E1012', undef, '2026-05-01', '2026-05-31', '31.50' ],
], 'exactly the documented findings, in order' or diag explain \@got;

# Later, Aziz's unauthorised September 2026 timesheet comes due.
($s, $j) = $d->req(GET => '/v1/violations', token => $d->token('reviewer'),
	query => { as_of => '2026-11-20', person_id => 'E1012', rule => 'authorisation_due' });
is_deeply [ map { [ $_->{rule}, $_->{severity}, $_->{period_start}, sprintf('%.2f', $_->{hours}) ] } @{ $j->{violations} // [] } ],
	[ [ 'authorisation_due', 'warning', '2026-09-01', '165.00' ] ], 'as of 2026-11-20: authorisation_due for E1012 September';

done_testing;
