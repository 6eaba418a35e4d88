# Grants without an end_date (RULES.md, second edition, "Open-ended
# assignments": an assignment without end_date runs to its grant's end_date,
# "open when the grant is unknown or has none"; migration 022).  The grants
# feed takes one in JSON (left out or null) and CSV (an empty cell), and
# every rule reads an open assignment on it as running on: figures checked
# by hand from RULES.md (the arithmetic is in the comments) and against the
# model of the rulebook (tests/lib/RulesModel.pm); the grant report shows
# the grant as open.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(psql_value json_encode);
use ModelOrg qw(org feed agrees finding_at person grant asg ts);

my $o = org();
my $d = $o->{d};
my $db = $d->{db};

# ------------------------------------------------------------------ the feed

my ($s, $j) = $d->req(POST => '/v1/grants', token => $o->{feed}, body => [
	{ grant_ref => 'GO/1', title => 'Open fellowship', funder => 'UKRI', start_date => '2025-01-01' },
	{ grant_ref => 'GO/2', title => 'Open fund', funder => undef, start_date => '2024-01-01', end_date => undef } ]);
is $s, 200, 'JSON: grants without end_date (left out, null) are accepted' or diag json_encode($j);
($s, $j) = $d->req(POST => '/v1/grants', token => $o->{feed}, type => 'text/csv',
	body => "grant_ref,title,funder,start_date,end_date\nGO/3,Open award,UKRI,2024-01-01,\n");
is $s, 200, 'CSV: an empty end_date is accepted' or diag json_encode($j);
is psql_value($db, q{SELECT string_agg(grant_ref, ' ' ORDER BY grant_ref) FROM grants WHERE end_date IS NULL}),
	'GO/1 GO/2 GO/3', 'stored without an end';

# A grant given an end, then sent again without one, is open again (the
# record is the grant's whole state, as for an assignment's end_date).
feed($o, 'grants', [ grant('GO/3', '2024-01-01', '2024-12-31') ]);
feed($o, 'grants', [ grant('GO/3', '2024-01-01', undef) ]);
is psql_value($db, q{SELECT coalesce(end_date::text, 'none') FROM grants WHERE grant_ref = 'GO/3'}), 'none',
	'an end taken away again';
($s, $j) = $d->req(POST => '/v1/grants', token => $o->{feed},
	body => [ { grant_ref => 'GO/4', title => 'Backwards', start_date => '2025-01-01', end_date => '2024-12-31' } ]);
is $s, 422, 'an end before the start is still refused';
is $j->{errors}[0]{field}, 'end_date', '… on end_date';

# ------------------------------------------------------------------ the rules

feed($o, 'grants', [ grant('GO/1', '2025-01-01', undef) ]);
feed($o, 'people', [ person('M0', undef, 1, '2010-01-04', undef), person('F1', 'M0', 1, '2020-01-06', undef),
	person('R1', 'M0', 1, '2020-01-06', undef) ]);
# F1: a fellow on half of GO/1, no end date: research staff and keeping
# timesheets from January 2025 on.  R1: 100 % on GO/1, open: the single
# full-time assignment covers every month from January 2025, so R1 needs
# no timesheet (an end read as some past day would make R1's later months
# need one).
feed($o, 'assignments', [ asg('F1', 'GO/1', 'fellow', 'DI', '2025-01-01', undef, 0.5),
	asg('R1', 'GO/1', 'researcher', 'DI', '2025-01-01', undef, 1) ]);

# F1's months, each authorised by M0 on the 5th of the month after:
#   December 2024: 10 h on GO/1, before the grant starts (22 weekdays, 165 h);
#   January-March 2025: 40 h teaching, 80 h on GO/1, research the rest of
#   172.5 h (23 weekdays), 150 h (20), 157.5 h (21).
my @f1 = (ts('F1', '2024-12', [ [ 'grant', 'GO/1', 10 ], [ 'research', 'research', 155 ] ],
		by => 'M0', at => '2025-01-05T09:00:00Z'),
	map { ts('F1', $_->[0], [ [ 'teaching', 'teaching', 40 ], [ 'grant', 'GO/1', 80 ], [ 'research', 'research', $_->[1] - 120 ] ],
		by => 'M0', at => "$_->[2]-05T09:00:00Z") }
	([ '2025-01', 172.5, '2025-02' ], [ '2025-02', 150, '2025-03' ], [ '2025-03', 157.5, '2025-04' ]));
feed($o, 'timesheets', \@f1);

# teaching_excess: Jan-Mar 2025 (90 days) have timesheets; limit 6 x 1.0 x
# 90 / 7 = 77.142857 h, taught 120 h: 42.86 h over, a warning while the
# assignment runs (it has no end).
is finding_at($o, '2025-04-15', 'teaching_excess', 'F1', 'GO/1'), 'warning 42.86',
	'teaching_excess: a warning, the open assignment still runs';
# outside_grant_period: December 2024's 10 h lie wholly before GO/1's start.
is finding_at($o, '2025-04-15', 'outside_grant_period', 'F1', 'GO/1', '2024-12-01'), 'violation 10.00',
	'outside_grant_period before the start of an open grant';
is finding_at($o, '2025-04-15', 'outside_grant_period', 'F1', 'GO/1', '2025-03-01'), undef,
	'… and none after it';
# timesheet_missing: April 2025 (22 weekdays, 165 h), deadline 30 June.
is finding_at($o, '2025-06-01', 'timesheet_missing', 'F1', undef, '2025-04-01'), 'warning 165.00',
	'timesheet_missing: the open assignment needs April';
is finding_at($o, '2025-06-01', 'timesheet_missing', 'R1', undef, '2025-04-01'), undef,
	'R1: 100 % on the open grant, no timesheet needed';

($s, $j) = $d->req(GET => '/v1/violations', token => $o->{rev}, query => { as_of => '2025-04-15', person_id => 'F1' });
my ($out) = grep { $_->{rule} eq 'outside_grant_period' } @{ $j->{violations} };
is $out->{detail}, 'December 2024: 10.00 h recorded on GO/1 outside its grant period from 2025-01-01 (no end date)',
	'the detail says the grant has no end';
my ($te) = grep { $_->{rule} eq 'teaching_excess' } @{ $j->{violations} };
is "$te->{period_start} $te->{period_end}", '2025-01-01 9999-12-31', "teaching_excess's period: the open assignment's";

agrees($o, 'the model', '2025-04-15', '2025-06-01', '2027-03-02');

# ------------------------------------------------------------------ the report

($s, $j) = $d->req(GET => '/v1/reports/grants/GO%2F1', token => $o->{rev}, query => { as_of => '2025-04-15' });
is $s, 200, 'grant report of an open grant';
ok exists $j->{grant}{end_date} && !defined $j->{grant}{end_date}, '… end_date null';
my ($hs, $html) = $d->req(GET => '/v1/reports/grants/GO%2F1', token => $o->{rev},
	query => { as_of => '2025-04-15', format => 'html' });
is $hs, 200, 'the HTML report';
like $html, qr{2025-01-01 onwards \(no end date\)\.}, '… says the grant has no end';

done_testing;
