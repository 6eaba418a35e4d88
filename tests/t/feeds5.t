# The same record as CSV and as JSON: stored identically, or refused with
# the same field and reason.  (1) Number forms: a CSV cell holds what a
# JSON number may be (no "+7.5", ".5", "5.", "007.50"), an integer past
# 2^63 is a 422 "out of range" in JSON as in CSV.  (2) Free text (name,
# email, title, funder, amendment_reason) is stored without blanks at
# either end from either format, quoted or not; an optional one of blanks
# is absent.  (3) Line managers that form a cycle: accepted with a
# warning on each record on the cycle, whether one batch or two closed
# it.  (4) CSV hostility: a byte-order mark, CRLF and LF mixed, blank
# lines, duplicated, unknown and missing columns, a header only.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes ();
use EffortTest qw(new_db start_effortd psql post_feed);

my $db = new_db();
my $d = start_effortd(db => $db);

sub errors_of {
	my ($j) = @_;
	return [ map { [ $_->{line} // $_->{index}, $_->{field}, $_->{message} ] } @{ ref $j ? $j->{errors} // [] : [] } ];
}

sub warnings_of {
	my ($j) = @_;
	return [ map { [ $_->{line} // $_->{index}, $_->{field}, $_->{message} ] } @{ ref $j ? $j->{warnings} // [] : [] } ];
}

sub csv {
	my ($feed, $text) = @_;
	utf8::encode($text);
	return post_feed($d, $feed, $text);
}

sub json_raw {
	my ($feed, $text) = @_;
	utf8::encode($text);
	return post_feed($d, $feed, $text, type => 'application/json');
}

my ($s, $j) = post_feed($d, people => [ { person_id => 'P1', name => 'Ada', fte => 1,
	employment_start => '2020-01-01' } ]);
is $s, 200, 'P1 stored' or diag explain $j;

# ====================================================================
# (1) Numbers
# ====================================================================
my $n = 0;

# A literal both formats take: the same hours stored.
sub number_same {
	my ($lit, $want) = @_;
	$n++;
	my ($js, $jj) = json_raw(charges => qq{[{"person_id":"P1","grant_ref":"J$n","month":"2025-01","hours":$lit}]});
	my ($cs, $cj) = csv(charges => "person_id,grant_ref,month,hours\nP1,C$n,2025-01,\"$lit\"\n");
	is $js, 200, "hours $lit in JSON: 200" or diag explain $jj;
	is $cs, 200, "hours $lit in CSV: 200" or diag explain $cj;
	is_deeply [ psql($db, "SELECT grant_ref, hours::text FROM charges WHERE grant_ref IN ('J$n', 'C$n') ORDER BY 1") ],
		[ [ "C$n", $want ], [ "J$n", $want ] ], "… $want stored from both";
}
number_same('7.5', '7.50');
number_same(' 7.5 ', '7.50');
number_same('7.50', '7.50');
number_same('1e1', '10.00');
number_same('0.5e1', '5.00');
number_same('1E+1', '10.00');
number_same('-0', '0.00');
number_same('7.' . '0' x 40, '7.00');

# A literal JSON's grammar refuses (400, the body unparseable): the CSV
# cell is refused too (422, its line and field).
my $form = 'must be a number as JSON writes it (no plus sign, no leading zero, digits either side of the point), not "%s"';
for my $lit ('+7.5', '.5', '5.', '-.5', '007.50', '0' x 30 . '7', '00') {
	$n++;
	my ($js, $jj) = json_raw(charges => qq{[{"person_id":"P1","grant_ref":"J$n","month":"2025-01","hours":$lit}]});
	is $js, 400, "hours $lit in JSON: 400" or diag explain $jj;
	like $jj->{error}, qr/^invalid JSON at line 1, column \d+: /, '… invalid JSON';
	my ($cs, $cj) = csv(charges => "person_id,grant_ref,month,hours\nP1,C$n,2025-01,$lit\n");
	is $cs, 422, "hours $lit in CSV: 422" or diag explain $cj;
	is_deeply errors_of($cj), [ [ 2, 'hours', sprintf $form, $lit ] ], '… line 2, hours, why';
}
for my $lit ('Infinity', 'NaN', '0x10', '-Infinity') {
	$n++;
	my ($js) = json_raw(charges => qq{[{"person_id":"P1","grant_ref":"J$n","month":"2025-01","hours":$lit}]});
	is $js, 400, "hours $lit in JSON: 400";
	my ($cs, $cj) = csv(charges => "person_id,grant_ref,month,hours\nP1,C$n,2025-01,$lit\n");
	is_deeply [ $cs, errors_of($cj) ], [ 422, [ [ 2, 'hours', qq{must be a number, not "$lit"} ] ] ],
		"hours $lit in CSV: 422 must be a number";
}

# Refused in both with the same field and reason.
# (The value in a message is as sent, as far as a double holds it: 744
# and a little more is not "744 is out of range".)
for ([ '7.505', 'at most 2 decimals' ], [ '1' x 30, '1.111111111111111e+29 is out of range (0 to 744)' ],
	[ '18446744073709551616', '1.8446744073709552e+19 is out of range (0 to 744)' ],
	[ '-7', '-7 is out of range (0 to 744)' ], [ '744.0000001', '744.0000001 is out of range (0 to 744)' ]) {
	my ($lit, $why) = @$_;
	$n++;
	my ($js, $jj) = json_raw(charges => qq{[{"person_id":"P1","grant_ref":"J$n","month":"2025-01","hours":$lit}]});
	is_deeply [ $js, errors_of($jj) ], [ 422, [ [ 0, 'hours', $why ] ] ], "hours $lit in JSON: 422 $why" or diag explain $jj;
	my ($cs, $cj) = csv(charges => "person_id,grant_ref,month,hours\nP1,C$n,2025-01,$lit\n");
	is_deeply [ $cs, errors_of($cj) ], [ 422, [ [ 2, 'hours', $why ] ] ], "hours $lit in CSV: 422 $why" or diag explain $cj;
}
is psql($db, q{SELECT count(*) FROM charges WHERE hours IS NULL OR grant_ref NOT IN
	(SELECT unnest(ARRAY['J1','C1','J2','C2','J3','C3','J4','C4','J5','C5','J6','C6','J7','C7','J8','C8']))}), 0,
	'no refused number stored';

# The other number fields read cells the same way.
{
	my $lines = "person_id,grant_ref,role,cost_type,start_date,fte_share,estimated_hours_per_year\n"
		. "P1,G1,pi,DI,2025-01-01,.5,100\n"
		. "P1,G2,pi,DI,2025-01-01,0.5,+100\n"
		. "P1,G3,pi,DI,2025-01-01,0.50,100.\n";
	my ($cs, $cj) = csv(assignments => $lines);
	is_deeply [ $cs, errors_of($cj) ], [ 422, [
		[ 2, 'fte_share', sprintf $form, '.5' ],
		[ 3, 'estimated_hours_per_year', sprintf $form, '+100' ],
		[ 4, 'estimated_hours_per_year', sprintf $form, '100.' ] ] ],
		'assignments.csv: fte_share .5, estimated_hours_per_year +100 and 100. refused' or diag explain $cj;
	($cs, $cj) = csv(people => "person_id,name,fte,employment_start\nP2,Bo,01,2020-01-01\n");
	is_deeply [ $cs, errors_of($cj) ], [ 422, [ [ 2, 'fte', sprintf $form, '01' ] ] ], 'people.csv: fte 01 refused';
	($cs, $cj) = csv(charges => "person_id,grant_ref,month,fte_fraction\nP1,G9,2025-01,+0.25\n");
	is_deeply [ $cs, errors_of($cj) ], [ 422, [ [ 2, 'fte_fraction', sprintf $form, '+0.25' ] ] ],
		'charges.csv: fte_fraction +0.25 refused';
	is psql($db, q{SELECT count(*) FROM assignments}) + psql($db, q{SELECT count(*) FROM people WHERE person_id = 'P2'}), 0,
		'… nothing stored';
}

# ====================================================================
# (2) Blanks at the ends of free text
# ====================================================================
{
	($s, $j) = post_feed($d, people => [
		{ person_id => 'B1', name => " Ada Byron\t", email => ' a.byron@example.ac.uk ', fte => 1, employment_start => '2020-01-01' },
		{ person_id => 'B2', name => "\x{a0}Zoë\x{2003}", email => '  ', fte => 1, employment_start => '2020-01-01' } ]);
	is $s, 200, 'people JSON with blanks around name and email: 200' or diag explain $j;
	($s, $j) = csv(people => "person_id,name,email,fte,employment_start\n"
		. "B3, Ada Byron , a.byron\@example.ac.uk ,1,2020-01-01\n"
		. "B4,\" Ada Byron\t\",\" a.byron\@example.ac.uk\",1,2020-01-01\n"
		. "B5,\"\x{a0}Zoë\x{2003}\",\"  \",1,2020-01-01\n");
	is $s, 200, 'people CSV with blanks, quoted and not: 200' or diag explain $j;
	is_deeply [ psql($db, q{SELECT person_id, name, coalesce(email, '<null>') FROM people WHERE person_id LIKE 'B%' ORDER BY 1}) ], [
		[ 'B1', 'Ada Byron', 'a.byron@example.ac.uk' ],
		[ 'B2', 'Zoë', '<null>' ],
		[ 'B3', 'Ada Byron', 'a.byron@example.ac.uk' ],
		[ 'B4', 'Ada Byron', 'a.byron@example.ac.uk' ],
		[ 'B5', 'Zoë', '<null>' ],
	], '… stored without the blanks from both; an email of blanks is null';
	($s, $j) = post_feed($d, people => [
		{ person_id => 'B1', name => 'Ada Byron', email => 'a.byron@example.ac.uk', fte => 1, employment_start => '2020-01-01' } ]);
	is_deeply [ $s, @$j{qw(updated unchanged)} ], [ 200, 0, 1 ], '… the same record without blanks is unchanged';

	($s, $j) = post_feed($d, grants => [
		{ grant_ref => 'EP/B1', title => "  Peat\t", funder => '', start_date => '2024-01-01', end_date => '2025-01-01' },
		{ grant_ref => 'EP/B2', title => 'Bogs', funder => " EPSRC ", start_date => '2024-01-01', end_date => '2025-01-01' } ]);
	is $s, 200, 'grants JSON: 200' or diag explain $j;
	($s, $j) = csv(grants => qq{grant_ref,title,funder,start_date,end_date\nEP/B3,"  Peat\t",,2024-01-01,2025-01-01\nEP/B4,Bogs," EPSRC ",2024-01-01,2025-01-01\n});
	is $s, 200, 'grants CSV: 200' or diag explain $j;
	is_deeply [ psql($db, q{SELECT grant_ref, title, coalesce(funder, '<null>') FROM grants WHERE grant_ref LIKE 'EP/B%' ORDER BY 1}) ], [
		[ 'EP/B1', 'Peat', '<null>' ], [ 'EP/B2', 'Bogs', 'EPSRC' ],
		[ 'EP/B3', 'Peat', '<null>' ], [ 'EP/B4', 'Bogs', 'EPSRC' ],
	], '… title and funder trimmed alike; an empty funder is null from both';

	my $ts = sub {
		my ($period, $reason) = @_;
		return { person_id => 'P1', period_start => "$period-01", period_end => "$period-28",
			submitted_at => "$period-28T10:00:00Z", amendment_reason => $reason,
			entries => [ { kind => 'research', activity => 'r', hours => 10 } ] };
	};
	($s, $j) = post_feed($d, timesheets => [ $ts->('2025-02', " typo\x{a0}") ]);
	is $s, 200, 'timesheet JSON with blanks around amendment_reason: 200' or diag explain $j;
	($s, $j) = csv(timesheets => "person_id,period_start,period_end,submitted_at,amendment_reason,kind,activity,hours\n"
		. "P1,2026-02-01,2026-02-28,2026-02-28T10:00:00Z,\" typo \",research,r,10\n");
	is $s, 200, 'timesheet CSV with a quoted amendment_reason in blanks: 200' or diag explain $j;
	is_deeply [ psql($db, q{SELECT amendment_reason FROM timesheets ORDER BY period_start}) ], [ ['typo'], ['typo'] ],
		'… stored as "typo" from both';

	# Required free text of blanks only, and ids, as before.
	($s, $j) = post_feed($d, people => [ { person_id => 'B6', name => "\x{a0} ", fte => 1, employment_start => '2020-01-01' } ]);
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 0, 'name', 'must not be blank' ] ] ], 'JSON name of blanks: must not be blank';
	($s, $j) = csv(people => "person_id,name,fte,employment_start\nB6,\"\x{a0} \",1,2020-01-01\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 2, 'name', 'must not be blank' ] ] ], 'CSV name of blanks: must not be blank';
	($s, $j) = post_feed($d, people => [ { person_id => 'B7', name => 'x', line_manager_id => 'B1 ', fte => 1, employment_start => '2020-01-01' } ]);
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 0, 'line_manager_id', 'begins or ends with a blank' ] ] ],
		'an id is not trimmed: begins or ends with a blank';
	# A refused value is reported as sent: the offset of its bad character
	# counts the blanks before it (bytes: a no-break space is two).
	($s, $j) = post_feed($d, people => [ { person_id => 'B8', name => "\x{a0} Ada\x{7}", fte => 1, employment_start => '2020-01-01' } ]);
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 0, 'name', 'contains the control character 0x07 at offset 6' ] ] ],
		'JSON name with blanks and a control character: its offset in the name as sent';
	($s, $j) = csv(people => "person_id,name,fte,employment_start\nB8,\"\x{a0} Ada\x{7}\",1,2020-01-01\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 2, 'name', 'contains the control character 0x07 at offset 6' ] ] ],
		'… and in a quoted CSV cell';
}

# ====================================================================
# (3) Line-management cycles
# ====================================================================
sub person {
	my ($id, $m) = @_;
	return { person_id => $id, name => "Person $id", line_manager_id => $m, fte => 1, employment_start => '2020-01-01' };
}
{
	($s, $j) = post_feed($d, people => [ person('M1', 'M1') ]);
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 0, 'line_manager_id', 'a person cannot be their own line manager' ] ] ],
		'own line manager: 422 (as before)';

	($s, $j) = post_feed($d, people => [ person('M2', 'M3'), person('M3', 'M2'), person('M4', 'M2') ]);
	is $s, 200, 'M2 and M3 manage each other, one batch: 200' or diag explain $j;
	is_deeply warnings_of($j), [
		[ 0, 'line_manager_id', 'line managers form a cycle: M2 → M3 → M2' ],
		[ 1, 'line_manager_id', 'line managers form a cycle: M3 → M2 → M3' ],
	], '… a warning on each record on the cycle (not on M4, managed from it)' or diag explain $j;
	is psql($db, q{SELECT count(*) FROM people WHERE person_id IN ('M2', 'M3', 'M4')}), 3, '… all stored';

	($s, $j) = csv(people => "person_id,name,line_manager_id,fte,employment_start\n"
		. "C1,x,C2,1,2020-01-01\nC2,x,C3,1,2020-01-01\nC3,x,C1,1,2020-01-01\nC4,x,C3,1,2020-01-01\n");
	is $s, 200, 'a cycle of three in CSV: 200' or diag explain $j;
	is_deeply warnings_of($j), [
		[ 2, 'line_manager_id', 'line managers form a cycle: C1 → C2 → C3 → C1' ],
		[ 3, 'line_manager_id', 'line managers form a cycle: C2 → C3 → C1 → C2' ],
		[ 4, 'line_manager_id', 'line managers form a cycle: C3 → C1 → C2 → C3' ],
	], '… warned on lines 2 to 4' or diag explain $j;

	# Two POSTs: the second closes the cycle.
	($s, $j) = post_feed($d, people => [ person('D0', undef), person('D1', 'D2') ]);
	is_deeply [ $s, warnings_of($j) ], [ 200, [ [ 1, 'line_manager_id', 'unknown person "D2" (not in the people feed yet)' ] ] ],
		'D1 managed by D2, not yet known: the unknown-person warning only';
	($s, $j) = post_feed($d, people => [ person('D2', 'D1') ]);
	is_deeply [ $s, warnings_of($j) ], [ 200, [ [ 0, 'line_manager_id', 'line managers form a cycle: D2 → D1 → D2' ] ] ],
		'D2 managed by D1, a second POST: the cycle warned of' or diag explain $j;
	($s, $j) = post_feed($d, people => [ person('D1', 'D0') ]);
	is_deeply [ $s, $j->{warnings} ], [ 200, undef ], 'D1 now managed by D0: the cycle is open, no warning' or diag explain $j;
	($s, $j) = post_feed($d, people => [ person('D2', 'D1') ]);
	is_deeply [ $s, $j->{warnings} ], [ 200, undef ], 'D2 sent again: no warning';

	# A cycle of 101 people: each still warned of, the cycle named by its
	# first 100 (the walk that names it stops there).
	($s, $j) = post_feed($d, people => [ map { person("R$_", 'R' . (($_ + 1) % 101)) } 0 .. 100 ]);
	my @w = @{ warnings_of($j) };
	is_deeply [ $s, scalar @w ], [ 200, 101 ], 'a cycle of 101 people: 200, a warning on each record' or diag explain $j;
	is_deeply $w[0], [ 0, 'line_manager_id', 'line managers form a cycle of more than 100 people: '
		. join(' → ', map { "R$_" } 0 .. 99) . ' → …' ], '… naming its first 100 people from that record'
		or diag explain $w[0];

	# A chain of 20,000 people under a cycle of three: found without
	# walking 100 levels from each (that took 6.5 s here; this 0.3 s
	# on an idle machine).
	my @chain = map { person("L$_", 'L' . ($_ - 1)) } 2 .. 20000;
	unshift @chain, person('L1', 'L3');
	my $t = Time::HiRes::time();
	($s, $j) = post_feed($d, people => \@chain);
	my $took = Time::HiRes::time() - $t;
	is_deeply [ $s, warnings_of($j) ], [ 200, [
		[ 0, 'line_manager_id', 'line managers form a cycle: L1 → L3 → L2 → L1' ],
		[ 1, 'line_manager_id', 'line managers form a cycle: L2 → L1 → L3 → L2' ],
		[ 2, 'line_manager_id', 'line managers form a cycle: L3 → L2 → L1 → L3' ] ] ],
		'a chain of 20,000 under a cycle of three: the three on it warned of' or diag explain $j->{warnings};
	# (how long it takes is the benchmark's business, not a test's: a
	# bound of 5 s failed once under a parallel CI run)
	note sprintf('… in %.2f s', $took);
}

# A record that ends a person's line manager (line_manager_id null, or
# left out: the upsert replaces the whole record) is stored and warned of,
# as nobody may approve that person's timesheets from then on.
{
	($s, $j) = post_feed($d, people => [ person('E0', undef), person('E1', 'E0'), person('E2', 'E0'),
		person('E3', 'E0') ]);
	is_deeply [ $s, $j->{warnings} ], [ 200, undef ], 'E1, E2 and E3 managed by E0: no warning';
	my %e2 = %{ person('E2', undef) };
	delete $e2{line_manager_id};
	($s, $j) = post_feed($d, people => [ person('E1', undef), \%e2, person('E3', 'E0') ]);
	is $s, 200, 'E1 sent with line_manager_id null, E2 without it, E3 unchanged: 200';
	is_deeply warnings_of($j), [
		[ 0, 'line_manager_id', 'no line manager from now on (it was "E0"): nobody may approve this person\'s timesheets' ],
		[ 1, 'line_manager_id', 'no line manager from now on (it was "E0"): nobody may approve this person\'s timesheets' ],
	], '… a warning on E1 and E2, naming the manager they had' or diag explain $j;
	is_deeply [ psql($db, q{SELECT person_id, line_manager_id FROM people WHERE person_id IN ('E1', 'E2', 'E3') ORDER BY 1}) ],
		[ [ 'E1', undef ], [ 'E2', undef ], [ 'E3', 'E0' ] ], '… both stored without one';
	($s, $j) = post_feed($d, people => [ person('E1', undef) ]);
	is_deeply [ $s, $j->{warnings} ], [ 200, undef ], 'E1 sent again without one: no warning (nothing ends)';
	($s, $j) = csv(people => "person_id,name,fte,employment_start\nE3,Person E3,1,2020-01-01\n");
	is_deeply [ $s, warnings_of($j) ], [ 200, [ [ 2, 'line_manager_id',
		'no line manager from now on (it was "E0"): nobody may approve this person\'s timesheets' ] ] ],
		'CSV without a line_manager_id column: warned on the line' or diag explain $j;
	($s, $j) = post_feed($d, people => [ person('E4', undef) ]);
	is_deeply [ $s, $j->{warnings} ], [ 200, undef ], 'a new person without one: no warning';
}

# ====================================================================
# (4) CSV hostility
# ====================================================================
{
	my $h = "person_id,name,fte,employment_start";
	($s, $j) = csv(people => "\x{feff}$h\r\nH1,Ann,1,2020-01-01\nH2,Bob,1,2020-01-01\r\n\r\n\nH3,Cy,1,2020-01-01");
	is_deeply [ $s, @$j{qw(accepted created)} ], [ 200, 3, 3 ],
		'a BOM, CRLF and LF mixed, blank lines, a last line without a newline: 3 people' or diag explain $j;
	is_deeply [ psql($db, q{SELECT person_id, name FROM people WHERE person_id LIKE 'H%' ORDER BY 1}) ],
		[ [ 'H1', 'Ann' ], [ 'H2', 'Bob' ], [ 'H3', 'Cy' ] ], '… stored as sent';

	($s, $j) = csv(people => "$h\n\nH4,\"Dee\nDum\",1,2020-01-01\n\nH5,Eve,2,2020-01-01\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [
		[ 3, 'name', 'contains the control character 0x0a at offset 3' ],
		[ 6, 'fte', '2 is out of range (more than 0 to 1)' ] ] ],
		'a quoted newline, blank lines: errors on the physical lines 3 and 6' or diag explain $j;

	($s, $j) = csv(people => "person_id,name,name,fte,employment_start\nH6,x,y,1,2020-01-01\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 1, 'name', 'column appears twice' ] ] ], 'a column twice: 422 on line 1';
	($s, $j) = csv(people => "person_id,fte,employment_start,dept\nH6,1,2020-01-01,HR\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [
		[ 1, 'dept', 'unknown column (map it to a field in people.columns, or skip it with people.ignore_columns)' ],
		[ 1, 'name', 'missing column' ] ] ], 'an unknown and a missing column: 422 on line 1' or diag explain $j;
	($s, $j) = csv(people => "$h\nH6,x,1\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 2, '', 'expected 4 fields as in the header, found 3' ] ] ], 'a short row';
	($s, $j) = csv(people => "$h\n\x{feff}H6,x,1,2020-01-01\n");
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 2, 'person_id', 'contains the invisible character U+FEFF at offset 0' ] ] ],
		'a byte-order mark inside the file is not dropped: refused in an id';
	($s, $j) = csv(people => "$h\r\n");
	is_deeply [ $s, @$j{qw(accepted created)} ], [ 200, 0, 0 ], 'a header only: 200, nothing';
	($s, $j) = csv(people => "");
	is_deeply [ $s, $j->{error} ], [ 400, 'empty CSV: a header row is required' ], 'an empty body: 400';
	($s, $j) = csv(people => "$h\nH6,\"x,1,2020-01-01\n");
	is_deeply [ $s, $j->{error} ], [ 400, 'malformed CSV at line 2: error parsing data while strict checking enabled' ],
		'an unterminated quote: 400 with the line';
	is psql($db, q{SELECT count(*) FROM people WHERE person_id IN ('H4', 'H5', 'H6')}), 0, 'nothing of the refused files stored';
}

# Under a decimal comma the same forms, with the comma for the point.
{
	$d->stop;
	$db = new_db();
	$d = start_effortd(db => $db, 'people.decimal_separator' => ',');
	($s, $j) = csv(people => qq{person_id,name,fte,employment_start\nK1,A,"0,5",2020-01-01\nK2,B,",5",2020-01-01\n}
		. qq{K3,C,"+0,5",2020-01-01\nK4,D,"1,",2020-01-01\n});
	my $comma = 'must be a number as JSON writes it (no plus sign, no leading zero, digits either side of the comma), not "%s"';
	is_deeply [ $s, errors_of($j) ], [ 422, [ [ 3, 'fte', sprintf $comma, ',5' ], [ 4, 'fte', sprintf $comma, '+0,5' ],
		[ 5, 'fte', sprintf $comma, '1,' ] ] ], 'decimal comma: ",5", "+0,5" and "1," refused' or diag explain $j;
	($s, $j) = csv(people => qq{person_id,name,fte,employment_start\nK1,A,"0,5",2020-01-01\n});
	is_deeply [ $s, scalar psql($db, q{SELECT fte::text FROM people WHERE person_id = 'K1'}) ], [ 200, '0.5' ], '… "0,5" stored as 0.5';
}

done_testing;
