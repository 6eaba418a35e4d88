# A leaver loses access the day after their employment ends, that day
# being the organisation's (rules.timezone, as every rule's today), not
# the database server's UTC date: with the organisation ahead of UTC a
# leaver kept access for hours, and behind it lost it a day early (a
# review found it).  The organisation's today is fixed here with the
# database setting effort.today, which effort_today reads (as the rules
# do), far from the server's date: a token look-up, POST /v1/tokens and
# effortd --create-token all judge by it.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);
my ($s, $j) = post_feed($d, people => [
	{ person_id => 'M1', name => 'Mia Left', fte => 1, employment_start => '2015-01-01', employment_end => '2030-01-14' },
	{ person_id => 'M2', name => 'Max Stays', fte => 1, employment_start => '2015-01-01', employment_end => '2030-01-15' },
	{ person_id => 'S1', name => 'Sam Staff', fte => 1, employment_start => '2015-01-01', line_manager_id => 'M1' },
	{ person_id => 'S2', name => 'Sue Staff', fte => 1, employment_start => '2015-01-01', line_manager_id => 'M2' },
]);
is $s, 200, 'setup: M1 leaves on 2030-01-14, M2 on 2030-01-15' or diag json_encode($j);
my %token = map { ($_ => $d->token('manager', $_)) } qw(M1 M2);
my $m1_id = psql($db, q{SELECT token_id FROM tokens WHERE person_id = 'M1'});
$d->stop;

# The organisation's today: 2030-01-15 (every new session of the database).
psql($db, qq{ALTER DATABASE "$db->{name}" SET effort.today = '2030-01-15'});
$d = start_effortd(db => $db);

($s, $j) = $d->req(GET => '/v1/pending', token => $token{M1});
is_deeply [ $s, $j->{error} ], [ 403, "token $m1_id belongs to person M1, who left on 2030-01-14: access ended with the employment" ],
	"M1's token the day after M1 left: 403" or diag json_encode($j);
($s, $j) = $d->req(GET => '/v1/pending', token => $token{M2});
is $s, 200, "M2's token on M2's last day: 200" or diag json_encode($j);

($s, $j) = $d->req(POST => '/v1/tokens', token => $d->token('admin'), body => { role => 'manager', person_id => 'M1' });
is_deeply [ $s, $j->{errors}[0]{message} // $j->{error} ],
	[ 422, q{person "M1" left on 2030-01-14: a leaver's token would be refused at once} ],
	'POST /v1/tokens for M1: 422, a leaver' or diag json_encode($j);
($s, $j) = $d->req(POST => '/v1/tokens', token => $d->token('admin'), body => { role => 'manager', person_id => 'M2' });
is $s, 200, '… for M2: 200' or diag json_encode($j);

my $out = `$EffortTest::EFFORTD -c $d->{conf} --create-token manager --person M1 2>&1`;
isnt $? >> 8, 0, 'effortd --create-token manager --person M1: refused';
like $out, qr/person "M1" left on 2030-01-14/, '… a leaver' or diag $out;

done_testing;
