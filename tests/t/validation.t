# Validation: every class of bad record gives 422 naming the field and the
# record (index for JSON, physical line for CSV), and nothing is stored: a
# feed POST is one transaction.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed row_counts json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);

# A small valid organisation to start from.
is((post_feed($d, people => [
	{ person_id => 'P0', name => 'Grace Hopper', fte => 1, employment_start => '2010-09-01' },
	{ person_id => 'P1', name => 'Ada Byron', line_manager_id => 'P0', fte => 1, employment_start => '2020-01-06' },
]))[0], 200, 'setup: people');
is((post_feed($d, grants => [ { grant_ref => 'EP/X012345/1', title => 'Compilers', funder => 'EPSRC',
	start_date => '2023-04-01', end_date => '2027-03-31' } ]))[0], 200, 'setup: grants');
is((post_feed($d, timesheets => [ { person_id => 'P1', period_start => '2025-01-01', period_end => '2025-01-31',
	submitted_at => '2025-02-03T10:00:00Z', entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 172.5 } ] } ]))[0],
	200, 'setup: timesheets');

sub clone { my $x = shift; EffortTest::json_decode(json_encode($x)) }

my %good = (
	timesheets => { person_id => 'P1', period_start => '2025-03-01', period_end => '2025-03-31',
		submitted_at => '2025-04-01T09:00:00Z',
		entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 100 },
		             { kind => 'research', activity => 'research', hours => 71.25 } ] },
	people => { person_id => 'P9', name => 'Charles Babbage', email => 'c.babbage@example.ac.uk',
		line_manager_id => 'P0', fte => 0.5, employment_start => '2021-05-04', employment_end => undef },
	grants => { grant_ref => 'BB/Z501234/1', title => 'Wheat', funder => 'BBSRC',
		start_date => '2025-01-01', end_date => '2028-12-31' },
	assignments => { person_id => 'P1', grant_ref => 'EP/X012345/1', role => 'researcher', cost_type => 'DI',
		start_date => '2024-01-01', end_date => '2025-12-31', fte_share => 0.5 },
	charges => { person_id => 'P1', grant_ref => 'EP/X012345/1', month => '2025-01', fte_fraction => 0.5 },
	delegations => { manager_id => 'P0', delegate_id => 'P1', start_date => '2025-07-01', end_date => '2025-08-31' },
);

# [ name, feed, sub that spoils a copy of the good record, expected field ]
my @cases = (
	[ 'period across two months', timesheets => sub { $_[0]{period_end} = '2025-04-02' }, 'period_end' ],
	[ 'period_start after period_end', timesheets => sub { @{ $_[0] }{qw(period_start period_end)} = ('2025-03-20', '2025-03-10') }, 'period_end' ],
	[ 'unknown kind', timesheets => sub { $_[0]{entries}[1]{kind} = 'holiday' }, 'entries[1].kind' ],
	[ 'missing activity', timesheets => sub { delete $_[0]{entries}[0]{activity} }, 'entries[0].activity' ],
	[ 'negative hours', timesheets => sub { $_[0]{entries}[1]{hours} = -1 }, 'entries[1].hours' ],
	[ 'hours above 24 x days', timesheets => sub { $_[0]{period_end} = '2025-03-02'; $_[0]{entries}[0]{hours} = 48.01;
		$_[0]{entries}[1]{hours} = 1 }, 'entries[0].hours' ],
	[ 'hours with 3 decimals', timesheets => sub { $_[0]{entries}[1]{hours} = 7.125 }, 'entries[1].hours' ],
	[ 'hours not a number', timesheets => sub { $_[0]{entries}[1]{hours} = '7.5' }, 'entries[1].hours' ],
	[ 'duplicate activity', timesheets => sub { $_[0]{entries}[1] = { kind => 'grant', activity => 'EP/X012345/1', hours => 1 } }, 'entries[1].activity' ],
	[ 'unknown person', timesheets => sub { $_[0]{person_id} = 'E9999' }, 'person_id' ],
	[ 'authorised_by without authorised_at', timesheets => sub { $_[0]{authorised_by} = 'P0' }, 'authorised_at' ],
	[ 'authorised_at without authorised_by', timesheets => sub { $_[0]{authorised_at} = '2025-04-03T09:00:00Z' }, 'authorised_by' ],
	[ 'bad date', timesheets => sub { $_[0]{period_start} = '2025-02-30' }, 'period_start' ],
	[ 'bad timestamp', timesheets => sub { $_[0]{submitted_at} = '2025-04-01 09:00' }, 'submitted_at' ],
	[ 'no entries', timesheets => sub { delete $_[0]{entries} }, 'entries' ],
	[ 'missing submitted_at', timesheets => sub { delete $_[0]{submitted_at} }, 'submitted_at' ],
	[ 'bad month', charges => sub { $_[0]{month} = '2025-13' }, 'month' ],
	[ 'month given as a date', charges => sub { $_[0]{month} = '2025-01-01' }, 'month' ],
	[ 'both fte_fraction and hours', charges => sub { $_[0]{hours} = 10 }, 'hours' ],
	[ 'bad role', assignments => sub { $_[0]{role} = 'boss' }, 'role' ],
	[ 'bad cost_type', assignments => sub { $_[0]{cost_type} = 'di' }, 'cost_type' ],
	[ 'fte_share above 1', assignments => sub { $_[0]{fte_share} = 1.5 }, 'fte_share' ],
	[ 'missing name', people => sub { delete $_[0]{name} }, 'name' ],
	[ 'fte 0', people => sub { $_[0]{fte} = 0 }, 'fte' ],
	[ 'employment_end before employment_start', people => sub { $_[0]{employment_end} = '2021-05-03' }, 'employment_end' ],
	[ 'unknown field', people => sub { $_[0]{salary} = 40000 }, 'salary' ],
	[ 'missing grant start_date', grants => sub { delete $_[0]{start_date} }, 'start_date' ],
	[ 'delegation to oneself', delegations => sub { $_[0]{delegate_id} = 'P0' }, 'delegate_id' ],
);

my $before = row_counts($db);

for my $c (@cases) {
	my ($name, $feed, $spoil, $field) = @$c;
	my $bad = clone($good{$feed});
	$spoil->($bad);
	# The good record first: the bad one is index 1, and the good one must not be stored.
	my ($s, $j) = post_feed($d, $feed, [ clone($good{$feed}), $bad ]);
	is $s, 422, "$name: 422" or diag json_encode($j);
	ok ref $j eq 'HASH' && defined $j->{error} && !ref $j->{error}, "$name: an error message";
	my @e = ref $j eq 'HASH' && ref $j->{errors} eq 'ARRAY' ? @{ $j->{errors} } : ();
	is_deeply [ map { [ $_->{index}, $_->{field} ] } @e ], [ [ 1, $field ] ], "$name: errors = index 1, field $field"
		or diag json_encode($j);
	ok !grep({ !defined $_->{message} || $_->{message} eq '' } @e), "$name: each error has a message";
	ok !grep({ exists $_->{line} } @e), "$name: no line numbers for JSON";
	is_deeply row_counts($db), $before, "$name: nothing stored";
}

# Several bad records in one batch: all listed, in order, none stored.
{
	my @batch = map { clone($good{timesheets}) } 1 .. 4;
	$batch[0]{entries}[0]{hours} = -5;
	$batch[0]{period_start} = '2025-04-01';
	$batch[0]{period_end} = '2025-04-30';
	$batch[1]{period_start} = '2025-02-01';    # good record: Feb 1 – 28
	$batch[1]{period_end} = '2025-02-28';
	$batch[2]{entries}[1]{kind} = 'nap';
	$batch[2]{entries}[0]{hours} = 1.001;
	$batch[3]{person_id} = 'NOBODY';
	$batch[3]{period_start} = '2025-05-01';
	$batch[3]{period_end} = '2025-05-31';
	my ($s, $j) = post_feed($d, timesheets => \@batch);
	is $s, 422, 'several bad records: 422';
	my @got = sort { $a->[0] <=> $b->[0] || $a->[1] cmp $b->[1] } map { [ $_->{index}, $_->{field} ] } @{ $j->{errors} // [] };
	is_deeply \@got, [ [ 0, 'entries[0].hours' ], [ 2, 'entries[0].hours' ], [ 2, 'entries[1].kind' ], [ 3, 'person_id' ] ],
		'several bad records: every error listed' or diag json_encode($j);
	is_deeply row_counts($db), $before, 'several bad records: nothing stored';
}

# The same checks in CSV: "line" is the 1-based physical line (header = 1).
my @csv_cases = (
	[ 'CSV: unknown kind on line 3', timesheets => <<'CSV', [ [ 3, 'entries[1].kind' ] ] ],
person_id,period_start,period_end,submitted_at,kind,activity,hours
P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,grant,EP/X012345/1,100
P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,resarch,research,71.25
CSV
	# (a newline is a control character, refused in text: RULES.md, second edition)
	[ 'CSV: 3 decimals after an embedded newline', timesheets => <<'CSV', [ [ 3, 'amendment_reason' ], [ 5, 'entries[1].hours' ] ] ],
person_id,period_start,period_end,submitted_at,amendment_reason,kind,activity,hours
P1,2025-02-01,2025-02-28,2025-03-01T09:00:00Z,,grant,EP/X012345/1,150
P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,"first line
second line",grant,EP/X012345/1,100
P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,"first line
second line",research,research,71.255
CSV
	[ 'CSV: period across two months', timesheets => <<'CSV', [ [ 2, 'period_end' ] ] ],
person_id,period_start,period_end,submitted_at,kind,activity,hours
P1,2025-03-25,2025-04-04,2025-04-04T09:00:00Z,grant,EP/X012345/1,60
CSV
	[ 'CSV: unknown person', timesheets => <<'CSV', [ [ 3, 'person_id' ] ] ],
person_id,period_start,period_end,submitted_at,kind,activity,hours
P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,grant,EP/X012345/1,171.25
E9999,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,grant,EP/X012345/1,171.25
CSV
	[ 'CSV: missing required name, CRLF', people => "person_id,name,fte,employment_start\r\nP7,Alan Turing,1,2020-01-01\r\nP8,,1,2020-01-01\r\n",
		[ [ 3, 'name' ] ] ],
	[ 'CSV: bad role and bad cost_type', assignments => <<'CSV', [ [ 2, 'role' ], [ 3, 'cost_type' ] ] ],
person_id,grant_ref,role,cost_type,start_date,end_date,fte_share
P1,EP/X012345/1,boss,DI,2024-01-01,2025-12-31,0.5
P1,EP/X012345/1,researcher,XXX,2026-01-01,,0.5
P1,EP/X012345/1,researcher,DI,2027-01-01,,0.5
CSV
	[ 'CSV: bad month', charges => "person_id,grant_ref,month,fte_fraction,hours\nP1,EP/X012345/1,2025-1,0.5,\n",
		[ [ 2, 'month' ] ] ],
	[ 'CSV: authorised_by without authorised_at', timesheets => <<'CSV', [ [ 2, 'authorised_at' ] ] ],
person_id,period_start,period_end,submitted_at,authorised_by,authorised_at,kind,activity,hours
P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,P0,,grant,EP/X012345/1,171.25
CSV
);
for my $c (@csv_cases) {
	my ($name, $feed, $csv, $want) = @$c;
	my ($s, $j) = post_feed($d, $feed, $csv);
	is $s, 422, "$name: 422" or diag json_encode($j);
	my @e = ref $j eq 'HASH' && ref $j->{errors} eq 'ARRAY' ? @{ $j->{errors} } : ();
	is_deeply [ sort { $a->[0] <=> $b->[0] } map { [ $_->{line}, $_->{field} ] } @e ], $want, "$name: line and field"
		or diag json_encode($j);
	ok !grep({ exists $_->{index} } @e), "$name: no index for CSV";
	is_deeply row_counts($db), $before, "$name: nothing stored";
}

# The good records alone are accepted (the cases above failed for their bad record only).
for my $feed (sort keys %good) {
	my ($s, $j) = post_feed($d, $feed, [ $good{$feed} ]);
	is $s, 200, "good $feed record alone: 200" or diag json_encode($j);
}

done_testing;
