# Friendlier feed errors (issue 18), every message checked exactly against
# the real effortd: a wrong-case or misspelt column reported once with
# "did you mean", an extra or missing column once on the header's line,
# each problem once per record (a bad number is not also "required"),
# blank rows skipped, allowed values listed, hints naming the mapping
# setting for decimal commas, semicolons and dd/mm/yyyy dates, UTF-16 and
# Latin-1 bodies named; and the warnings of a stored feed for people not
# known yet (the 200 reply and effortctl ingest).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Encode qw(encode);
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed effortctl spew json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);

# Posts a body; checks status, the error's text and [line|index, field,
# message] of every error, and that nothing was stored.
sub refused {
	my ($feed, $body, $status, $error, $want, $name, %o) = @_;
	my $before = psql($db, "SELECT count(*) FROM $feed");
	my ($s, $j) = post_feed($d, $feed, $body, %o);
	is $s, $status, "$name: $status" or diag json_encode($j);
	is $j->{error}, $error, "$name: the error" if defined $error;
	is_deeply [ map { [ $_->{line} // $_->{index}, $_->{field}, $_->{message} ] } @{ $j->{errors} // [] } ],
		$want, "$name: the errors, each once" or diag explain $j->{errors};
	is psql($db, "SELECT count(*) FROM $feed"), $before, "$name: nothing stored";
}

sub utf8_bytes { my ($s) = @_; return encode('UTF-8', $s) }

# ---- headers: wrong case, misspelt, extra, missing, twice
refused(people => "Person_ID,Name,Email,Line_Manager_ID,FTE,Employment_Start,Employment_End\n"
	. "P1,Ada Byron,,,1,2020-01-01,\nP2,Ben Ashworth,,,1,2020-01-01,\n",
	422, '7 errors in the people feed; nothing was stored', [
		[ 1, 'Person_ID', 'unknown column; did you mean person_id?' ],
		[ 1, 'Name', 'unknown column; did you mean name?' ],
		[ 1, 'Email', 'unknown column; did you mean email?' ],
		[ 1, 'Line_Manager_ID', 'unknown column; did you mean line_manager_id?' ],
		[ 1, 'FTE', 'unknown column; did you mean fte?' ],
		[ 1, 'Employment_Start', 'unknown column; did you mean employment_start?' ],
		[ 1, 'Employment_End', 'unknown column; did you mean employment_end?' ],
	], 'headers in another case: once each on the header, nothing per row');
refused(people => "person_id,nmae,fte,employment start\nP1,Ada,1,2020-01-01\n", 422, undef, [
		[ 1, 'nmae', 'unknown column; did you mean name?' ],
		[ 1, 'employment start', 'unknown column; did you mean employment_start?' ],
	], 'misspelt headers: did you mean, and no "missing column" besides');
refused(people => "person_id,name,fte,employment_start,department\nP1,Ada,1,2020-01-01,Physics\nP2,Ben,1,2020-01-01,Maths\n",
	422, '1 error in the people feed; nothing was stored', [
		[ 1, 'department', 'unknown column (map it to a field in people.columns, or skip it with people.ignore_columns)' ],
	], 'an extra column: one error naming the ignore setting');
refused(people => "person_id,fte\nP1,1\nP2,1\nP3,1\n", 422, undef, [
		[ 1, 'name', 'missing column' ],
		[ 1, 'employment_start', 'missing column' ],
	], 'missing required columns: once on the header, not per row');
refused(people => "person_id,name,fte,employment_start,person_id\nP1,Ada,1,2020-01-01,P1\n", 422, undef, [
		[ 1, 'person_id', 'column appears twice' ],
	], 'a column twice');

# ---- each distinct problem once per record
refused(people => "person_id,name,fte,employment_start\nP1,Ada,abc,2020-01-01\nP2,Ben,1,2020-01-01\n", 422, undef, [
		[ 2, 'fte', 'must be a number, not "abc"' ],
	], 'a bad number: not also "is required"');
refused(charges => "person_id,grant_ref,month,fte_fraction,hours\nP1,G1,2025-01,x,\n", 422, undef, [
		[ 2, 'fte_fraction', 'must be a number, not "x"' ],
	], 'a bad fraction: not also "give exactly one of"');
refused(people => [ { Person_ID => 'P1', name => 'Ada', fte => 1, employment_start => '2020-01-01' } ], 422, undef, [
		[ 0, 'Person_ID', 'unknown field; did you mean person_id?' ],
	], 'JSON: a wrongly cased field once, not also "is required"');
refused(people => [ { person_id => 'P1', name => 'Ada', fte => 1, employment_start => '2020-01-01', dept => 'x' } ],
	422, undef, [ [ 0, 'dept', 'unknown field' ] ], 'JSON: an unknown field');

# ---- blank rows are skipped
{
	my ($s, $j) = post_feed($d, people => "person_id,name,fte,employment_start,employment_end\n"
		. ",,,,\nP1,Ada Byron,1,2020-01-01,\n, , ,\t,\n\nP2,Ben Ashworth,0.5,2021-02-01,\n,,,,\n,,,,\n");
	is $s, 200, 'rows of empty cells (",,,,", blanks, fewer cells): 200' or diag json_encode($j);
	is_deeply [ @$j{qw(accepted created)} ], [ 2, 2 ], '… two people, the blank rows skipped';
	is_deeply [ psql($db, 'SELECT person_id, name, fte::text, employment_start::text FROM people ORDER BY 1') ],
		[ [ 'P1', 'Ada Byron', '1', '2020-01-01' ], [ 'P2', 'Ben Ashworth', '0.5', '2021-02-01' ] ], '… stored';
	($s, $j) = post_feed($d, people => "person_id,name,fte,employment_start,,\nP1,Ada Byron,1,2020-01-01,,\n");
	is $s, 200, 'empty columns without a name, their cells empty: 200' or diag json_encode($j);
}
refused(people => "person_id,name,fte,employment_start,\nP3,Cy,1,2020-01-01,x\n", 422, undef, [
		[ 2, '', 'a value in column 5, which has no name in the header' ],
	], 'a value under an empty header cell');
refused(people => "person_id,name,fte,employment_start\nP3,Cy,1\n", 422, undef, [
		[ 2, '', 'expected 4 fields as in the header, found 3' ],
	], 'a short row that is not blank');

# ---- allowed values
refused(assignments => "person_id,grant_ref,role,cost_type,start_date,fte_share\nP1,G1,researcher,Grant,2020-01-01,0.5\n",
	422, undef, [ [ 2, 'cost_type', 'unknown value "Grant" (allowed: DI, DA, EXC)' ] ],
	'an unknown cost type lists the allowed ones');
refused(assignments => [ { person_id => 'P1', grant_ref => 'G1', role => 'Researcher', cost_type => 'DI',
	start_date => '2020-01-01', fte_share => 0.5 } ], 422, undef, [
		[ 0, 'role', 'unknown value "Researcher"; did you mean researcher? (allowed: pi, co_i, researcher, fellow, technician, rse, other)' ],
	], 'JSON: a wrongly cased role: did you mean, and the allowed ones');
refused(timesheets => "person_id,period_start,period_end,submitted_at,kind,activity,hours\n"
	. "P1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,Grant,G1,10\n", 422, undef, [
		[ 2, 'entries[0].kind', 'unknown value "Grant"; did you mean grant? (allowed: grant, project, research, '
			. 'teaching, admin, other, annual_leave, sick_leave, public_holiday, parental_leave, other_leave)' ],
	], 'timesheets: an unknown kind lists the kinds');

# ---- hints naming the mapping setting
refused(people => qq{person_id,name,fte,employment_start\nP1,Ada,"0,8",2020-01-01\n}, 422,
	'1 error in the people feed; nothing was stored', [
		[ 2, 'fte', 'must be a number, not "0,8" (for a decimal comma set people.decimal_separator = ",")' ],
	], 'a decimal comma: one error with the setting');
refused(people => "person_id;name;fte;employment_start\nP1;Ada;0,8;2020-01-01\nP2;Ben;1;2020-01-01\n", 422,
	'1 error in the people feed; nothing was stored', [
		[ 1, 'person_id;name;fte;employment_start',
			'unknown column: the header is separated by ";", not "," (set people.delimiter = ";")' ],
	], 'semicolons: one error on the header with the setting');
refused(people => "person_id\tname\tfte\temployment_start\nP1\tAda\t1\t2020-01-01\n", 422, undef, [
		[ 1, "person_id\tname\tfte\temployment_start",
			'unknown column: the header is separated by "\t", not "," (set people.delimiter = "\t")' ],
	], 'tabs: the same');
refused(people => "person_id,name,fte,employment_start\nP1,Ada,1,31/01/2020\nP2,Ben,1,12/31/2020\nP3,Cy,1,2020-02-30\n",
	422, undef, [
		[ 2, 'employment_start', 'must be a date YYYY-MM-DD, not "31/01/2020" (for dates written so set people.date_format = "%d/%m/%Y")' ],
		[ 3, 'employment_start', 'must be a date YYYY-MM-DD, not "12/31/2020" (for dates written so set people.date_format = "%m/%d/%Y")' ],
		[ 4, 'employment_start', 'must be a date YYYY-MM-DD' ],
	], 'dd/mm/yyyy and mm/dd/yyyy dates: the setting, with the likely format');

# ---- encodings
my $csv = "person_id,name,fte,employment_start\r\nP1,Zoë,1,2020-01-01\r\n";
my $u16 = 'the file is UTF-16 (%s), not UTF-8: save it as UTF-8';
refused(people => "\xff\xfe" . encode('UTF-16LE', $csv), 400, sprintf($u16, 'little-endian, with a byte-order mark'),
	[], 'UTF-16 LE with a BOM: named, one 400');
refused(people => "\xfe\xff" . encode('UTF-16BE', $csv), 400, sprintf($u16, 'big-endian, with a byte-order mark'),
	[], 'UTF-16 BE with a BOM');
refused(people => encode('UTF-16LE', $csv), 400, sprintf($u16, 'little-endian'), [], 'UTF-16 LE without a BOM (NULs)');
refused(people => encode('UTF-16BE', $csv), 400, sprintf($u16, 'big-endian'), [], 'UTF-16 BE without a BOM (NULs)');
refused(people => "\xff\xfe" . encode('UTF-16LE', '[{"person_id":"P1"}]'), 400,
	'the body is UTF-16 (little-endian, with a byte-order mark), not UTF-8: save it as UTF-8', [],
	'JSON in UTF-16: named', type => 'application/json');
refused(people => encode('latin1', "person_id,name,fte,employment_start\nP1,Zoë Ørsted,1,2020-01-01\nP2,Ada,1,2020-01-01\n"),
	422, undef, [
		[ 2, 'name', 'is not valid UTF-8 (byte 0xeb at offset 2): the file looks like Latin-1 (ISO-8859-1 or '
			. 'Windows-1252); save it as UTF-8' ],
	], 'Latin-1: named');
refused(people => utf8_bytes("person_id,name,fte,employment_start\nP1,Zoë Ørsted") . "\xff,1,2020-01-01\n", 422, undef, [
		[ 2, 'name', 'is not valid UTF-8 (byte 0xff at offset 12)' ],
	], 'UTF-8 with a broken byte: not called Latin-1');

# ---- warnings: people named before the people feed sends them
{
	my ($s, $j) = post_feed($d, people => "person_id,name,fte,employment_start,line_manager_id\n"
		. "M1,Mona,1,2020-01-01,\nS1,Sam,1,2020-01-01,M1\nS2,Sue,1,2020-01-01,NOPE\nS3,Sid,1,2020-01-01,S9\nS9,Syd,1,2020-01-01,\n");
	is $s, 200, 'people naming unknown line managers: 200 (stored)' or diag json_encode($j);
	is_deeply $j, { accepted => 5, created => 5, updated => 0, unchanged => 0, warnings => [
		{ line => 4, field => 'line_manager_id', message => 'unknown person "NOPE" (not in the people feed yet)' },
	] }, '… one warning: NOPE (managers in the same batch are known)';
	is psql($db, q{SELECT line_manager_id FROM people WHERE person_id = 'S2'}), 'NOPE', '… stored as sent';
	($s, $j) = post_feed($d, people => [ { person_id => 'S4', name => 'Stu', fte => 1,
		employment_start => '2020-01-01', line_manager_id => 'GHOST' } ]);
	is_deeply $j->{warnings}, [ { index => 0, field => 'line_manager_id',
		message => 'unknown person "GHOST" (not in the people feed yet)' } ], 'JSON: the warning has the index';
	($s, $j) = post_feed($d, people => [ { person_id => 'S5', name => 'Stella', fte => 1, employment_start => '2020-01-01',
		line_manager_id => 'M1' } ]);
	ok !exists $j->{warnings}, 'no warnings: no "warnings" member' or diag json_encode($j);
	($s, $j) = post_feed($d, delegations => "manager_id,delegate_id,start_date,end_date\nX1,X2,2025-01-01,2025-02-01\nM1,S1,2025-01-01,2025-02-01\n");
	is $s, 200, 'a delegation between unknown people: 200';
	is_deeply $j->{warnings}, [
		{ line => 2, field => 'manager_id', message => 'unknown person "X1" (not in the people feed yet)' },
		{ line => 2, field => 'delegate_id', message => 'unknown person "X2" (not in the people feed yet)' },
	], '… a warning for each';
	($s, $j) = post_feed($d, timesheets => [ { person_id => 'S1', period_start => '2025-01-01', period_end => '2025-01-31',
		submitted_at => '2025-02-03T10:00:00Z', authorised_by => 'BOSS', authorised_at => '2025-02-04T10:00:00Z',
		entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
	is $s, 200, 'a timesheet authorised by an unknown person: 200' or diag json_encode($j);
	is_deeply $j->{warnings}, [ { index => 0, field => 'authorised_by',
		message => 'unknown person "BOSS" (not in the people feed yet)' } ], '… warned';

	my $f = "$EffortTest::TMP/warn-people.csv";
	spew($f, "person_id,name,fte,employment_start,line_manager_id\nS6,Sol,1,2020-01-01,NOBODY\n");
	my ($rc, $out, $err) = effortctl($d, 'ingest', 'people', $f);
	is $rc, 0, 'effortctl ingest with a warning: exit 0';
	is $out, "accepted 1: created 1, updated 0, unchanged 0\n", '… the counts on stdout';
	is $err, "$f:2: warning: line_manager_id: unknown person \"NOBODY\" (not in the people feed yet)\n",
		'… the warning on stderr, compiler-style';
	spew("$f.json", json_encode([ { person_id => 'S7', name => 'Sal', fte => 1, employment_start => '2020-01-01',
		line_manager_id => 'NOBODY' } ]));
	($rc, $out, $err) = effortctl($d, 'ingest', 'people', "$f.json");
	is $err, "$f.json: record 0: warning: line_manager_id: unknown person \"NOBODY\" (not in the people feed yet)\n",
		'… and for JSON, by record';
}

done_testing;
