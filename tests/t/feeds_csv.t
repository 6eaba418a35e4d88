# Every feed accepted as CSV (Content-Type: text/csv): counts, exact
# database contents, re-sending changes nothing; RFC 4180 quoting, an
# embedded newline, CRLF line endings, a UTF-8 byte-order mark; the sample
# organisation's CSV files give the same database as its JSON files.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed slurp sample_file load_sample);

my $db = new_db();
my $d = start_effortd(db => $db);

sub counts { my ($n, $c, $u, $x) = @_; [ $n, $c, $u, $x ] }

sub csv_ok {
	my ($feed, $csv, $want, $name) = @_;
	my $bytes = $csv;
	utf8::encode($bytes);
	my ($s, $j) = post_feed($d, $feed, $bytes);
	is $s, 200, "$name: 200" or diag explain $j;
	is_deeply ref $j eq 'HASH' ? [ @$j{qw(accepted created updated unchanged)} ] : $j, $want, "$name: counts";
}

# ---- people: quoted fields, an embedded comma, doubled quotes, UTF-8, empty = null
my $people = <<'CSV';
person_id,name,email,line_manager_id,fte,employment_start,employment_end
P0,"Hopper, Grace",,,0.8,2010-09-01,2030-08-31
P1,"Ada ""Countess"" Byron",a.byron@example.ac.uk,P0,1.0,2020-01-06,
P2,Zoë Ørsted,z.orsted@example.ac.uk,P0,0.5,2024-02-29,
CSV
csv_ok(people => $people, counts(3, 3, 0, 0), 'people.csv');
is_deeply [ psql($db, q{SELECT person_id, name, email, line_manager_id, fte::text, employment_start::text,
	employment_end::text FROM people ORDER BY person_id}) ], [
	[ 'P0', 'Hopper, Grace', undef, undef, '0.8', '2010-09-01', '2030-08-31' ],
	[ 'P1', 'Ada "Countess" Byron', 'a.byron@example.ac.uk', 'P0', '1', '2020-01-06', undef ],
	[ 'P2', 'Zoë Ørsted', 'z.orsted@example.ac.uk', 'P0', '0.5', '2024-02-29', undef ],
], 'people.csv: rows';
csv_ok(people => $people, counts(3, 0, 0, 3), 'people.csv resent');

# The same people with CRLF line endings and a byte-order mark: unchanged.
(my $crlf = $people) =~ s/\n/\r\n/g;
csv_ok(people => "\x{feff}$crlf", counts(3, 0, 0, 3), 'people.csv with BOM and CRLF');
is psql($db, 'SELECT count(*) FROM people'), 3, 'BOM + CRLF: no new people';
is psql($db, q{SELECT count(*) FROM people WHERE person_id LIKE '%' || chr(65279) || '%'
	OR employment_start IS NULL OR name LIKE '%' || chr(13) || '%'}), 0, 'BOM + CRLF: nothing leaked into values';

# Header columns in another order, last line without a newline.
csv_ok(people => "fte,person_id,name,employment_start\n0.6,P3,Charles Babbage,2021-05-04",
	counts(1, 1, 0, 0), 'people.csv: columns in any order, no final newline');
is_deeply [ psql($db, q{SELECT name, fte::text, email FROM people WHERE person_id = 'P3'}) ],
	[ [ 'Charles Babbage', '0.6', undef ] ], 'people.csv: absent columns are null';

# ---- grants: an embedded newline in a quoted field is read (RFC 4180) but
# refused in text, as every control character but tab (RULES.md, second
# edition), with the line the record starts on; the rows after it keep
# their physical line numbers.
my $grants_nl = qq{grant_ref,title,funder,start_date,end_date\r\n}
	. qq{EP/X012345/1,"Verified compilers:\r\nsafety-critical avionics",EPSRC,2023-04-01,2026-03-31\r\n}
	. qq{NE/Y000123/1,"Peat, carbon and ""water""",,2024-01-01,2027-12-31\r\n}
	. qq{NE/Y000999/1,"Bad\tdates",,2024-01-01,2023-12-31\r\n};
{
	my ($s, $j) = post_feed($d, grants => $grants_nl);
	is $s, 422, 'grants.csv with a newline inside a title: 422';
	is_deeply [ map { [ $_->{line}, $_->{field}, $_->{message} ] } @{ $j->{errors} // [] } ],
		[ [ 2, 'title', 'contains the control character 0x0d at offset 19' ],
		  [ 5, 'end_date', 'end_date is before start_date' ] ],
		'… line 2, title (the record after it on line 5; a tab is not refused)' or diag explain $j;
	is psql($db, 'SELECT count(*) FROM grants'), 0, '… nothing stored';
}
my $grants = qq{grant_ref,title,funder,start_date,end_date\r\n}
	. qq{EP/X012345/1,"Verified compilers:\tsafety-critical avionics",EPSRC,2023-04-01,2026-03-31\r\n}
	. qq{NE/Y000123/1,"Peat, carbon and ""water""",,2024-01-01,2027-12-31\r\n};
csv_ok(grants => $grants, counts(2, 2, 0, 0), 'grants.csv (a tab inside a title)');
is_deeply [ psql($db, q{SELECT grant_ref, title, funder, start_date::text, end_date::text FROM grants ORDER BY 1}) ], [
	[ 'EP/X012345/1', "Verified compilers:\tsafety-critical avionics", 'EPSRC', '2023-04-01', '2026-03-31' ],
	[ 'NE/Y000123/1', 'Peat, carbon and "water"', undef, '2024-01-01', '2027-12-31' ],
], 'grants.csv: rows, the tab kept inside the title';
csv_ok(grants => $grants, counts(2, 0, 0, 2), 'grants.csv resent');

# ---- assignments
my $assignments = <<'CSV';
person_id,grant_ref,role,cost_type,start_date,end_date,fte_share,estimated_hours_per_year
P1,EP/X012345/1,researcher,DI,2024-01-01,2025-12-31,0.5,
P0,EP/X012345/1,pi,DA,2023-04-01,,0.1,165.5
CSV
csv_ok(assignments => $assignments, counts(2, 2, 0, 0), 'assignments.csv');
is_deeply [ psql($db, q{SELECT person_id, role, cost_type, start_date::text, end_date::text, fte_share::text,
	estimated_hours_per_year::text FROM assignments ORDER BY 1}) ], [
	[ 'P0', 'pi', 'DA', '2023-04-01', undef, '0.1', '165.50' ],
	[ 'P1', 'researcher', 'DI', '2024-01-01', '2025-12-31', '0.5', undef ],
], 'assignments.csv: rows';
(my $a2 = $assignments) =~ s/researcher,DI/fellow,DI/;
csv_ok(assignments => $a2, counts(2, 0, 1, 1), 'assignments.csv, one changed');

# ---- delegations
csv_ok(delegations => "manager_id,delegate_id,start_date,end_date\nP0,P2,2025-07-01,2025-08-31\n",
	counts(1, 1, 0, 0), 'delegations.csv');
is_deeply [ psql($db, q{SELECT manager_id, delegate_id, start_date::text, end_date::text FROM delegations}) ],
	[ [ 'P0', 'P2', '2025-07-01', '2025-08-31' ] ], 'delegations.csv: rows';

# ---- charges: fte_fraction or hours, the other column empty
my $charges = <<'CSV';
person_id,grant_ref,month,fte_fraction,hours
P1,EP/X012345/1,2025-01,0.5,
P1,NE/Y000123/1,2025-01,,86.25
CSV
csv_ok(charges => $charges, counts(2, 2, 0, 0), 'charges.csv');
is_deeply [ psql($db, q{SELECT grant_ref, month::text, fte_fraction::text, hours::text FROM charges ORDER BY 1}) ], [
	[ 'EP/X012345/1', '2025-01-01', '0.5', undef ],
	[ 'NE/Y000123/1', '2025-01-01', undef, '86.25' ],
], 'charges.csv: rows';
csv_ok(charges => $charges, counts(2, 0, 0, 2), 'charges.csv resent');

# ---- timesheets: entries as repeated rows, record columns repeated
my $timesheets = <<'CSV';
person_id,period_start,period_end,submitted_at,authorised_by,authorised_at,amendment_reason,kind,activity,hours
P1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,P0,2025-02-10T09:00:00Z,,grant,EP/X012345/1,80
P1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,P0,2025-02-10T09:00:00Z,,teaching,teaching,12
P1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,P0,2025-02-10T09:00:00Z,,annual_leave,annual_leave,22.5
P1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,P0,2025-02-10T09:00:00Z,,research,research,58
P2,2025-02-01,2025-02-14,2025-02-14T17:00:00Z,,,,project,"OUTREACH, phase 2",37.5
P2,2025-02-01,2025-02-14,2025-02-14T17:00:00Z,,,,sick_leave,sick_leave,0.25
CSV
csv_ok(timesheets => $timesheets, counts(2, 2, 0, 0), 'timesheets.csv');
is_deeply [ psql($db, q{SELECT person_id, period_start::text, period_end::text, version,
	to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), total_hours::text
	FROM timesheets ORDER BY person_id}) ], [
	[ 'P1', '2025-01-01', '2025-01-31', 1, '2025-02-03 10:00:00', '172.50' ],
	[ 'P2', '2025-02-01', '2025-02-14', 1, '2025-02-14 17:00:00', '37.75' ],
], 'timesheets.csv: one timesheet per person and period';
is_deeply [ psql($db, q{SELECT t.person_id, e.kind, e.activity, e.hours::text FROM timesheet_entries e
	JOIN timesheets t USING (timesheet_id) ORDER BY t.person_id, e.position}) ], [
	[ 'P1', 'grant', 'EP/X012345/1', '80.00' ],
	[ 'P1', 'teaching', 'teaching', '12.00' ],
	[ 'P1', 'annual_leave', 'annual_leave', '22.50' ],
	[ 'P1', 'research', 'research', '58.00' ],
	[ 'P2', 'project', 'OUTREACH, phase 2', '37.50' ],
	[ 'P2', 'sick_leave', 'sick_leave', '0.25' ],
], 'timesheets.csv: entries in row order';
is_deeply [ psql($db, q{SELECT t.person_id, d.decided_by, to_char(d.decided_at AT TIME ZONE 'UTC',
	'YYYY-MM-DD HH24:MI:SS') FROM timesheet_decisions d JOIN timesheets t USING (timesheet_id)}) ],
	[ [ 'P1', 'P0', '2025-02-10 09:00:00' ] ], 'timesheets.csv: the authorisation';
(my $ts_crlf = $timesheets) =~ s/\n/\r\n/g;
csv_ok(timesheets => "\x{feff}$ts_crlf", counts(2, 0, 0, 2), 'timesheets.csv resent with BOM and CRLF');
is psql($db, 'SELECT count(*) FROM timesheets'), 2, 'timesheets.csv: no new version';

# ---- the sample organisation: CSV gives exactly what JSON gives
my %dump = (
	people => q{SELECT person_id, name, email, line_manager_id, fte, employment_start, employment_end FROM people ORDER BY 1},
	grants => q{SELECT grant_ref, title, funder, start_date, end_date FROM grants ORDER BY 1},
	assignments => q{SELECT person_id, grant_ref, start_date, end_date, role, cost_type, fte_share,
		estimated_hours_per_year FROM assignments ORDER BY 1, 2, 3},
	delegations => q{SELECT manager_id, delegate_id, start_date, end_date FROM delegations ORDER BY 1, 2, 3},
	charges => q{SELECT person_id, grant_ref, month, fte_fraction, hours FROM charges ORDER BY 1, 2, 3},
	timesheets => q{SELECT person_id, period_start, period_end, version, submitted_at, amendment_reason, total_hours
		FROM timesheets ORDER BY 1, 2, 3, 4},
	timesheet_entries => q{SELECT t.person_id, t.period_start, t.version, e.position, e.kind, e.activity, e.hours
		FROM timesheet_entries e JOIN timesheets t USING (timesheet_id) ORDER BY 1, 2, 3, 4},
	timesheet_decisions => q{SELECT t.person_id, t.period_start, t.version, d.decision, d.decided_by, d.decided_at, d.source
		FROM timesheet_decisions d JOIN timesheets t USING (timesheet_id) ORDER BY 1, 2, 3, d.decision_id},
);
my (%from);
for my $fmt (qw(json csv)) {
	my $sdb = new_db();
	my $sd = start_effortd(db => $sdb);
	my $res = eval { load_sample($sd, format => $fmt) };
	ok $res, "sample loads from .$fmt" or diag $@;
	my ($s, $j) = $sd->req(POST => '/v1/timesheets', token => $sd->token('feed'),
		body => slurp(sample_file('amendments', $fmt)), type => $fmt eq 'csv' ? 'text/csv' : 'application/json');
	is $s, 200, "sample amendments.$fmt: 200" or diag explain $j;
	$from{$fmt} = { map { $_ => [ psql($sdb, $dump{$_}) ] } keys %dump };
	if ($fmt eq 'csv') {
		for my $feed (qw(people grants assignments delegations charges timesheets)) {
			is_deeply [ @{ $res->{$feed}[1] }{qw(created updated)} ],
				[ scalar @{ $from{csv}{$feed} }, 0 ], "sample $feed.csv: all created"
				if $res && $feed ne 'timesheets';
		}
	}
}
for my $t (sort keys %dump) {
	ok scalar @{ $from{json}{$t} }, "sample: $t not empty";
	is_deeply $from{csv}{$t}, $from{json}{$t}, "sample: $t from CSV = from JSON";
}

done_testing;
