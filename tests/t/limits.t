# Request limits: a body above limits.max_body is 413; unparseable JSON is 400
# with the line and column in the message; nothing is stored.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed row_counts json_encode);

my $db = new_db();
my $d = start_effortd(db => $db, 'limits.max_body' => 4096);
my $before = row_counts($db);

sub person { my $i = shift; { person_id => sprintf('P%04d', $i), name => "Person number $i with a fairly long name",
	email => "person.$i\@example.ac.uk", fte => 1, employment_start => '2020-01-01' } }

# Just under the limit: accepted.
my @small = map { person($_) } 1 .. 10;
my $small = json_encode(\@small);
cmp_ok length($small), '<', 4096, 'the small batch is under 4096 bytes';
my ($s, $j) = post_feed($d, people => \@small);
is $s, 200, 'under limits.max_body: 200' or diag json_encode($j);

# Above it: 413, nothing stored.
my @big = map { person($_) } 100 .. 160;
my $big = json_encode(\@big);
cmp_ok length($big), '>', 4096, 'the big batch is over 4096 bytes';
my $n = psql($db, 'SELECT count(*) FROM people');
($s, $j) = post_feed($d, people => \@big);
is $s, 413, 'over limits.max_body: 413' or diag json_encode($j);
ok ref $j eq 'HASH' && defined $j->{error}, '413: an error body' or diag explain $j;
is psql($db, 'SELECT count(*) FROM people'), $n, '413: nothing stored';
($s) = $d->req(POST => '/v1/people', token => $d->token('feed'), body => join("\n", 'person_id,name,fte,employment_start',
	map { "Q$_,Someone with a name,1,2020-01-01" } 1 .. 200), type => 'text/csv');
is $s, 413, 'CSV over limits.max_body: 413';
ok $d->alive, 'the daemon is still running';
($s) = $d->req(GET => '/healthz');
is $s, 200, '… and serving';

# Unparseable JSON: 400 naming the line and column.
my $broken = qq{[\n  {"person_id": "P1",\n   "name": "Ada" "fte": 1}\n]\n};
($s, $j) = post_feed($d, people => $broken, type => 'application/json');
is $s, 400, 'unparseable JSON: 400' or diag json_encode($j);
my $msg = ref $j eq 'HASH' ? $j->{error} // '' : '';
like $msg, qr/line\D*3\b/i, 'the message names line 3' or diag $msg;
like $msg, qr/col(?:umn)?\D*\d+/i, 'the message names a column' or diag $msg;

for my $body ('', 'null', '{"person_id": "P1"}', '[1, 2', "\xff\xfe not UTF-8") {
	($s, $j) = post_feed($d, people => $body, type => 'application/json');
	ok $s == 400 || $s == 422, "body " . json_encode($body) . ": 400 or 422 (got $s)" or diag json_encode($j);
}
($s) = post_feed($d, people => '{"a": 1}', type => 'application/json');
isnt $s, 200, 'a JSON object instead of an array is refused';
($s) = $d->req(POST => '/v1/people', token => $d->token('feed'), body => 'person_id,name', type => 'application/xml');
ok $s == 415 || $s == 400, "an unknown content type: 415 or 400 (got $s)";
($s) = $d->req(GET => '/v1/no-such-thing', token => $d->token('admin'));
is $s, 404, 'an unknown path: 404';

is_deeply row_counts($db)->{timesheets}, $before->{timesheets}, 'no timesheets appeared';

# More records than limits.max_records (3): 413, nothing stored.  CSV
# timesheets are kept whole until the body ends, so the reader keeps no
# more than the limit: one more is refused at once (150,000 of them had
# grown the daemon to 323 MB before the count refused them).
{
	my $d3 = start_effortd(db => $db, 'limits.max_records' => 3);
	my $counts = row_counts($db);
	($s, $j) = post_feed($d3, people => [ map { person($_) } 201 .. 204 ]);
	is_deeply [ $s, $j->{error} ], [ 413, '4 records in one batch; the limit is 3' ], 'JSON, 4 people: 413';
	($s, $j) = post_feed($d3, people => "person_id,name,fte,employment_start\n"
		. join('', map { "C$_,Person $_,1,2020-01-01\n" } 1 .. 4));
	is_deeply [ $s, $j->{error} ], [ 413, '4 records in one batch; the limit is 3' ], 'CSV, 4 people: 413';
	my $ts = "person_id,period_start,period_end,submitted_at,kind,activity,hours\n";
	my $rows = sub { join '', map { my $m = $_; map { "P0001,2025-0$m-01,2025-0$m-28,2025-0$m-28T09:00:00Z,admin,a$_,1\n" } 1 .. 5 } @_ };
	($s, $j) = post_feed($d3, timesheets => $ts . $rows->(1 .. 4));
	is_deeply [ $s, $j->{error} ], [ 413, 'more than 3 records in one batch; the limit is 3' ],
		'CSV, 4 timesheets of 5 rows each: 413' or diag json_encode($j);
	is_deeply row_counts($db), $counts, '… nothing of them stored';
	($s, $j) = post_feed($d3, timesheets => $ts . $rows->(1 .. 3));
	is_deeply [ $s, $j->{accepted} ], [ 200, 3 ], 'CSV, 3 timesheets of 5 rows each: 200' or diag json_encode($j);
}

done_testing;
