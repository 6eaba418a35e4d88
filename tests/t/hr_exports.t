# HR and payroll exports as they really come (issue 18): sample/hr's people
# export (its own column names, semicolons, decimal commas, dd/mm/yyyy, an
# extra column, blank rows, BOM and CRLF) is refused with one clear error
# without a mapping, with exact errors under a partial one, and loads with
# sample/hr/people.conf (included and applied by SIGHUP) into exactly the
# rows of sample/people.csv; a timesheet export maps its entry columns; the
# spool folder reads with the mapping; a bad mapping stops start-up with
# file:line: reason.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed slurp spew json_encode);

my $top = $EffortTest::TOP;
my $tmp = $EffortTest::TMP;
my $effortd = $EffortTest::EFFORTD;
my $export = slurp("$top/sample/hr/people.csv");

sub errors_of {
	my ($j) = @_;
	return [ map { [ $_->{line}, $_->{field}, $_->{message} ] } @{ $j->{errors} // [] } ];
}

# The people of sample/people.csv, as psql shows them stored.
my @want;
{
	my ($hdr, @rows) = split /\n/, slurp("$top/sample/people.csv");
	for (@rows) {
		utf8::decode($_);
		my @c = split /,/, $_, -1;
		push @want, [ map { $_ eq '' ? undef : $_ } @c ];
	}
}
my $people_sql = 'SELECT person_id, name, email, line_manager_id, fte::text, employment_start::text, '
	. 'employment_end::text FROM people ORDER BY person_id';

# ---- without a mapping: one error, naming the setting
my $db = new_db();
my $d = start_effortd(db => $db);
my ($s, $j) = post_feed($d, people => $export);
is $s, 422, 'the HR export without a mapping: 422';
is_deeply errors_of($j), [ [ 1, 'Employee Number;Full Name;Work Email;Manager Number;Department;FTE;Start Date;Leaving Date',
	'unknown column: the header is separated by ";", not "," (set people.delimiter = ";")' ] ],
	'… one error on the header: the delimiter setting' or diag json_encode($j);
is psql($db, 'SELECT count(*) FROM people'), 0, '… nothing stored';
$d->stop;

# ---- a mapping that gives only the delimiter: every header problem once
$d = start_effortd(db => $db, 'people.delimiter' => ';');
($s, $j) = post_feed($d, people => $export);
is $s, 422, 'the HR export with only people.delimiter: 422';
my $skip = 'unknown column (map it to a field in people.columns, or skip it with people.ignore_columns)';
is_deeply errors_of($j), [
	[ 1, 'Employee Number', $skip ], [ 1, 'Full Name', $skip ], [ 1, 'Work Email', $skip ],
	[ 1, 'Manager Number', $skip ], [ 1, 'Department', $skip ],
	[ 1, 'FTE', 'unknown column; did you mean fte?' ],
	[ 1, 'Start Date', $skip ], [ 1, 'Leaving Date', $skip ],
	[ 1, 'person_id', 'missing column' ], [ 1, 'name', 'missing column' ],
	[ 1, 'employment_start', 'missing column' ],
], '… each column once on the header, no row repeats them' or diag json_encode($j);
$d->stop;

# ---- columns and delimiter, but no decimal or date setting: per-cell hints
my %columns = (person_id => 'Employee Number', name => 'Full Name', email => 'Work Email',
	line_manager_id => 'Manager Number', fte => 'FTE', employment_start => 'Start Date',
	employment_end => 'Leaving Date');
$d = start_effortd(db => $db, 'people.delimiter' => ';', 'people.columns' => \%columns,
	'people.ignore_columns' => ['Department']);
($s, $j) = post_feed($d, people => $export);
is $s, 422, 'the HR export without decimal and date settings: 422';
my $errs = errors_of($j);
is scalar(@$errs), 41, '… two errors per person (fte and employment_start), employment_end once';
is_deeply $errs->[0], [ 2, 'fte', 'must be a number, not "1,0" (for a decimal comma set people.decimal_separator = ",")' ],
	'… the decimal comma, with the setting';
is_deeply $errs->[1], [ 2, 'employment_start', 'must be a date YYYY-MM-DD, not "01/09/2009" '
	. '(for dates written so set people.date_format = "%d/%m/%Y")' ], '… the date, with the setting';
is_deeply [ grep { $_->[1] eq 'employment_end' } @$errs ], [ [ 22, 'employment_end', 'must be a date YYYY-MM-DD, not '
	. '"30/06/2026" (for dates written so set people.date_format = "%d/%m/%Y")' ] ], '… Laura Fischer\'s leaving date';
$d->stop;

# ---- with sample/hr/people.conf, applied by SIGHUP: the export loads
$d = start_effortd(db => $db);
spew($d->{conf}, EffortTest::config_text(%{ $d->{options} }) . qq{\@include "$top/sample/hr/people.conf"\n});
my $out = `$effortd -c $d->{conf} --check-config 2>&1`;
is $out, "$d->{conf}: ok\n", 'the configuration with sample/hr/people.conf included passes --check-config';
$d->signal('HUP');
my $reloaded = 0;
for (1 .. 100) {
	$reloaded = 1, last if $d->log_text =~ /configuration reloaded/;
	select undef, undef, undef, 0.05;
}
ok $reloaded, 'SIGHUP: reloaded';
($s, $j) = post_feed($d, people => $export);
is $s, 200, 'the HR export with its mapping: 200' or diag json_encode($j);
is_deeply $j, { accepted => 20, created => 20, updated => 0, unchanged => 0 },
	'… 20 people created (blank rows skipped, no warnings: every manager is in the file)' or diag json_encode($j);
is_deeply [ psql($db, $people_sql) ], \@want, '… exactly the people of sample/people.csv';
($s, $j) = post_feed($d, people => $export);
is_deeply [ $s, @$j{qw(accepted created updated unchanged)} ], [ 200, 20, 0, 0, 20 ], 'sent again: unchanged';

# effortd's own column names are still understood (with the feed's
# delimiter, decimal separator and date format)
($s, $j) = post_feed($d, people => "person_id;Full Name;fte;employment_start\nE1006;George Li;0,6;03/02/2020\n");
is_deeply [ $s, @$j{qw(updated)} ], [ 200, 1 ], 'own and mapped names mixed: 200, one updated' or diag json_encode($j);
is psql($db, q{SELECT fte::text || ' ' || employment_start FROM people WHERE person_id = 'E1006'}), '0.6 2020-02-03',
	'… 0,6 and 03/02/2020 stored as 0.6 and 2020-02-03';
($s, $j) = post_feed($d, people => "Employee Number;person_id;Full Name;FTE;Start Date\nE1;E1;Ann;1;01/01/2020\n");
is_deeply errors_of($j), [ [ 1, 'person_id', 'column appears twice: "Employee Number" is person_id too' ] ],
	'a mapped column and the own name together: twice';
($s, $j) = post_feed($d, people => "Employee Number;Full Name;FTE;Start Date\nE1;Ann;1.5;31/02/2020\n");
is_deeply errors_of($j), [
	[ 2, 'fte', 'must be a number with a decimal comma (people.decimal_separator), not "1.5"' ],
	[ 2, 'employment_start', 'must be a date written as people.date_format says ("%d/%m/%Y") or YYYY-MM-DD, not "31/02/2020"' ],
], 'a point under a decimal comma, a date that does not exist: refused, naming the settings';
($s, $j) = post_feed($d, people => "Employee Number;FTE;Start Date\nE1;1;01/01/2020\nE2;1;01/01/2020\n");
is_deeply errors_of($j), [ [ 1, 'name', 'missing column "Full Name" (people.columns)' ] ],
	'a mapped column missing: once, by its mapped name';
($s, $j) = post_feed($d, people => "Employee Numbr;Full Name;FTE;Start Date\nE1;Ann;1;01/01/2020\n");
is_deeply errors_of($j), [ [ 1, 'Employee Numbr', 'unknown column; did you mean "Employee Number" (person_id)?' ] ],
	'a misspelt mapped column: did you mean the mapped name';
$d->stop;

# ---- a timesheet export: entry columns mapped, "|" and dd.mm.yyyy
$db = new_db();
my $spool = "$tmp/hr-spool";
mkdir $spool;
$d = start_effortd(db => $db, 'spool.dir' => $spool, 'spool.interval' => 1,
	'timesheets.delimiter' => '|', 'timesheets.decimal_separator' => ',', 'timesheets.date_format' => '%d.%m.%Y',
	'timesheets.columns' => { person_id => 'Staff', period_start => 'From', period_end => 'To',
		submitted_at => 'Submitted', kind => 'Type', activity => 'Code', hours => 'Hours' },
	'timesheets.ignore_columns' => [ 'Cost Centre', 'Notes' ]);
post_feed($d, people => [ { person_id => 'S1', name => 'Sam', fte => 1, employment_start => '2020-01-01' } ]);
my $ts = "Staff|From|To|Submitted|Type|Code|Hours|Cost Centre|Notes\r\n"
	. "S1|01.01.2025|31.01.2025|2025-02-03T10:00:00Z|grant|EP/X012345/1|120,5|CC1|\r\n"
	. "||||||||\r\n"
	. "S1|1.1.2025|31.1.2025|2025-02-03T10:00:00Z|annual_leave|annual_leave|52|CC1|two weeks\r\n";
($s, $j) = post_feed($d, timesheets => $ts);
is $s, 200, 'a timesheet export with mapped entry columns: 200' or diag json_encode($j);
is_deeply [ @$j{qw(accepted created)} ], [ 1, 1 ], '… one timesheet';
is_deeply [ psql($db, q{SELECT t.period_start::text, t.period_end::text, e.kind, e.activity, e.hours::text
	FROM timesheets t JOIN timesheet_entries e USING (timesheet_id) ORDER BY e.hours}) ], [
	[ '2025-01-01', '2025-01-31', 'annual_leave', 'annual_leave', '52.00' ],
	[ '2025-01-01', '2025-01-31', 'grant', 'EP/X012345/1', '120.50' ],
], '… its entries, hours with a decimal comma';

# The spool folder reads the same way.
spew("$spool/timesheets-feb.csv.tmp", "Staff|From|To|Submitted|Type|Code|Hours|Cost Centre|Notes\n"
	. "S1|01.02.2025|28.02.2025|2025-03-03T10:00:00Z|research|research|150,75||\n");
rename "$spool/timesheets-feb.csv.tmp", "$spool/timesheets-feb.csv";
my $done = 0;
for (1 .. 200) {
	$done = 1, last if -e "$spool/done/timesheets-feb.csv" || -e "$spool/failed/timesheets-feb.csv";
	select undef, undef, undef, 0.05;
}
ok -e "$spool/done/timesheets-feb.csv", 'a spooled timesheet export with the mapping: done/'
	or diag(-e "$spool/failed/timesheets-feb.csv.errors" ? slurp("$spool/failed/timesheets-feb.csv.errors") : 'not taken');
is psql($db, q{SELECT e.hours::text FROM timesheets t JOIN timesheet_entries e USING (timesheet_id)
	WHERE t.period_start = '2025-02-01'}), '150.75', '… stored: 150,75 h';
$d->stop;

# ---- a bad mapping stops start-up with file:line: reason
my @bad = (
	[ "people = {\n columns = { persn_id = \"Number\"; };\n};\n", 2,
		'people.columns: persn_id is not a field of the people feed (person_id, name, email, line_manager_id, fte, '
		. 'employment_start, employment_end)' ],
	[ "people = {\n columns = { person_id = \"A\"; name = \"A\"; };\n};\n", 2,
		'people.columns: person_id and name are both mapped to "A"' ],
	[ "people = {\n columns = { name = \"person_id\"; };\n};\n", 2,
		'people.columns: name = "person_id": "person_id" is another field\'s own name' ],
	[ "people = {\n columns = { person_id = 5; };\n};\n", 2, 'people.columns: person_id must be a string' ],
	[ "people = {\n columns = \"person_id\";\n};\n", 2,
		'people.columns: must be a group { field = "column"; }' ],
	[ "charges = {\n\n ignore_columns = [ 1, 2 ];\n};\n", 3, 'charges.ignore_columns: each name must be a string' ],
	[ "charges = {\n ignore_columns = \"Notes\";\n};\n", 2,
		'charges.ignore_columns: must be a list of column names [ "column" ]' ],
	[ "charges = {\n ignore_columns = [ \"Notes\", \"\" ];\n};\n", 2, 'charges.ignore_columns: an empty column name' ],
	[ "grants = {\n delimiter = \":\";\n};\n", 2, 'grants.delimiter: must be ",", ";", "|" or "\t"' ],
	[ "grants = {\n decimal_separator = \"\x27\";\n};\n", 2, 'grants.decimal_separator: must be "." or ","' ],
	[ "people = {\n date_format = \"%d/%m/%y\";\n};\n", 2,
		'people.date_format: %y is not allowed (%d, %m, %b, %Y, %%)' ],
	[ "people = {\n date_format = \"%d/%m\";\n};\n", 2,
		'people.date_format: must have one day (%d), one month (%m or %b) and one year (%Y)' ],
	[ "people = {\n colums = {};\n};\n", 2, 'unknown setting "people.colums"' ],
	[ "people = {\n columns = { person_id = { x = \"y\"; }; };\n};\n", 2, 'people.columns: person_id must be a string' ],
);
my $i = 0;
for my $b (@bad) {
	my ($text, $line, $why) = @$b;
	my $f = "$tmp/hr-bad-" . ++$i . '.conf';
	spew($f, $text);
	my $o = `$effortd -c $f --check-config 2>&1`;
	is $? >> 8, 1, "bad mapping $i: exit 1";
	like $o, qr/\Q$f:$line: $why\E$/m, "bad mapping $i: $why" or diag $o;
}

done_testing;
