# Hostile feed records, fourth round: values that passed the field checks
# and were stored although they hold nothing or hide what they are.  Each
# case is sent as JSON and, where CSV can carry it, as CSV: both must
# answer the same 422 naming the record (index or line), the field and the
# reason, and store nothing (no feed row, no audit-trail row).
#   - ids (person_id, grant_ref, activity, line_manager_id, manager_id,
#     delegate_id, authorised_by) with a blank at either end or an
#     invisible character: "P1 " or "P\u200b1" is another person than the
#     "P1" it prints as (CSV's reader trims unquoted cells, so a JSON "P1 "
#     was stored where the same CSV cell was P1);
#   - required text (name, title, activity) of nothing but blanks: JSON
#     stored "   " as a name, where CSV's blank cell is "is required";
#   - C1 control characters (U+0080 to U+009F) and the Unicode line and
#     paragraph separators in free text, which docs/api.md excludes ("no
#     control character but tab (no CR or LF)");
#   - a timesheet of 100,001 entries, whose repeated activity was looked
#     for in quadratic time on the event loop.
# Accepted, as RULES.md validates them no further: a timesheet with no
# entries (its 0 h are the rules' to flag) and charged hours beyond the
# month's (overcharged_month flags them; refusing them would hide the
# payroll's claim from the audit).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Encode qw(encode_utf8);
use Test::More;
use EffortTest qw(new_db start_effortd psql_value post_feed row_counts json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);

is((post_feed($d, people => [
	{ person_id => 'M1', name => 'Grace Hopper', fte => 1, employment_start => '2010-09-01' },
	{ person_id => 'P1', name => 'Ada Byron', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-06' },
]))[0], 200, 'setup: people');
is((post_feed($d, grants => [ { grant_ref => 'GR/1', title => 'Compilers', funder => 'EPSRC',
	start_date => '2023-04-01', end_date => '2027-03-31' } ]))[0], 200, 'setup: grants');

# What a refused request must leave alone: the feeds' tables and the trail.
sub stored_state {
	my $n = row_counts($db);
	$n->{audit_log} = psql_value($db, 'SELECT count(*) FROM audit_log');
	return $n;
}

# Posts $body (a Perl structure: JSON; a string: CSV, sent as UTF-8) and checks the 422:
# its first error names $where (index or line) and $field, its message
# matches $message, and nothing was stored.
sub refused {
	my ($name, $feed, $body, $where, $field, $message) = @_;
	my $before = stored_state();
	my ($s, $j) = post_feed($d, $feed, ref $body ? $body : encode_utf8($body));
	is $s, 422, "$name: 422" or diag json_encode($j);
	my ($e) = @{ (ref $j eq 'HASH' && $j->{errors}) || [ {} ] };
	my ($key) = keys %$where;
	is_deeply { $key => $e->{$key}, field => $e->{field} }, { %$where, field => $field },
		"$name: names the record and $field";
	like $e->{message} // '', $message, "$name: says why";
	is_deeply stored_state(), $before, "$name: nothing stored (feeds, audit trail)";
}

sub person { +{ person_id => 'Q1', name => 'Charles Babbage', fte => 1, employment_start => '2020-01-01', @_ } }
my $PEOPLE_CSV = "person_id,name,fte,employment_start\n";
sub timesheet {
	+{ person_id => 'P1', period_start => '2025-03-01', period_end => '2025-03-31',
	   submitted_at => '2025-04-01T09:00:00Z',
	   entries => [ { kind => 'grant', activity => 'GR/1', hours => 100 } ], @_ }
}
my $TS_CSV = "person_id,period_start,period_end,submitted_at,kind,activity,hours\n";

# ---- ids: no blank at either end, no invisible character.  CSV's reader
# trims an unquoted cell, so only a quoted one keeps the blank.
refused('person_id "Q1 "', people => [ person(person_id => 'Q1 ') ], { index => 0 }, 'person_id',
	qr/^begins or ends with a blank/);
refused('person_id " Q1" in CSV (quoted)', people => $PEOPLE_CSV . qq{" Q1",Charles Babbage,1,2020-01-01\n},
	{ line => 2 }, 'person_id', qr/^begins or ends with a blank/);
refused('person_id "Q\x{200b}1" (a zero-width space)', people => [ person(person_id => "Q\x{200b}1") ],
	{ index => 0 }, 'person_id', qr/^contains the invisible character U\+200B at offset 1/);
refused('a CSV row beginning with a byte-order mark', people => "$PEOPLE_CSV\x{feff}Q1,Charles Babbage,1,2020-01-01\n",
	{ line => 2 }, 'person_id', qr/^contains the invisible character U\+FEFF at offset 0/);
refused('person_id "Q\x{202e}1" (right-to-left override)', people => [ person(person_id => "Q\x{202e}1") ],
	{ index => 0 }, 'person_id', qr/^contains the invisible character U\+202E/);
# Every default-ignorable code point shows nothing: each of these made a
# person "P1" followed by it, another than P1 that prints as P1.
for my $cp (0x61c, 0x115f, 0x17b4, 0x180b, 0x2800, 0x3164, 0xfe0f, 0xffa0, 0xfff9, 0x1bca0, 0x1d173, 0xe0001,
	0xe0041, 0xe0100) {
	my $hex = sprintf '%04X', $cp;
	refused("person_id \"Q1\" and U+$hex", people => [ person(person_id => 'Q1' . chr $cp) ],
		{ index => 0 }, 'person_id', qr/^contains the invisible character U\+$hex at offset 2$/);
}
refused('person_id "Q1" and U+E0041 in CSV', people => $PEOPLE_CSV . "Q1\x{e0041},Charles Babbage,1,2020-01-01\n",
	{ line => 2 }, 'person_id', qr/^contains the invisible character U\+E0041 at offset 2$/);
refused('line_manager_id "M1\t"', people => [ person(line_manager_id => "M1\t") ], { index => 0 },
	'line_manager_id', qr/^contains the control character 0x09 at offset 2/);
refused('grant_ref "GR/1 " of a charge', charges => [ { person_id => 'P1', grant_ref => 'GR/1 ',
	month => '2025-01', hours => 10 } ], { index => 0 }, 'grant_ref', qr/^begins or ends with a blank/);
refused('delegate_id "\x{a0}P1" (a no-break space)', delegations => [ { manager_id => 'M1', delegate_id => "\x{a0}P1",
	start_date => '2025-07-01', end_date => '2025-08-31' } ], { index => 0 }, 'delegate_id',
	qr/^begins or ends with a blank/);
refused('authorised_by " M1"', timesheets => [ timesheet(authorised_by => ' M1', authorised_at => '2025-04-02T09:00:00Z') ],
	{ index => 0 }, 'authorised_by', qr/^begins or ends with a blank/);
# "a" and "a " are one activity to a reader: the second passed the "no
# activity twice" check and was stored beside the first.
refused('activities "admin" and "admin "', timesheets => [ timesheet(entries => [
	{ kind => 'admin', activity => 'admin', hours => 1 }, { kind => 'admin', activity => 'admin ', hours => 2 } ]) ],
	{ index => 0 }, 'entries[1].activity', qr/^begins or ends with a blank/);
refused('activity "admin " in CSV (quoted)', timesheets => $TS_CSV
	. qq{P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,admin,"admin ",2\n}, { line => 2 }, 'entries[0].activity',
	qr/^begins or ends with a blank/);

# ---- required text of nothing but blanks: JSON stored it, CSV said "is
# required" (its reader trims the cell to nothing).
refused('name "   "', people => [ person(name => '   ') ], { index => 0 }, 'name', qr/^must not be blank$/);
refused('name "\t" in CSV (quoted)', people => $PEOPLE_CSV . qq{Q1,"\t",1,2020-01-01\n}, { line => 2 }, 'name',
	qr/^must not be blank$/);
refused('person_id "  "', people => [ person(person_id => '  ') ], { index => 0 }, 'person_id', qr/^must not be blank$/);
refused('grant title " "', grants => [ { grant_ref => 'GR/2', title => ' ', start_date => '2025-01-01',
	end_date => '2025-12-31' } ], { index => 0 }, 'title', qr/^must not be blank$/);
refused('activity " "', timesheets => [ timesheet(entries => [ { kind => 'admin', activity => ' ', hours => 1 } ]) ],
	{ index => 0 }, 'entries[0].activity', qr/^must not be blank$/);

# ---- control characters beyond ASCII: C1 (U+0080 to U+009F) and the line
# and paragraph separators, in JSON and CSV alike.
refused('name with U+0085 (next line)', people => [ person(name => "Charles\x{85}Babbage") ], { index => 0 }, 'name',
	qr/^contains the control character U\+0085 at offset 7$/);
refused('name with U+0085 in CSV', people => $PEOPLE_CSV . "Q1,Charles\x{85}Babbage,1,2020-01-01\n", { line => 2 },
	'name', qr/^contains the control character U\+0085 at offset 7$/);
refused('title with U+2028 (line separator)', grants => [ { grant_ref => 'GR/2', title => "Wheat\x{2028}Barley",
	start_date => '2025-01-01', end_date => '2025-12-31' } ], { index => 0 }, 'title',
	qr/^contains the line separator U\+2028 at offset 5$/);
refused('amendment_reason with U+2029 (paragraph separator)', timesheets => [ timesheet(amendment_reason => "a\x{2029}b") ],
	{ index => 0 }, 'amendment_reason', qr/^contains the line separator U\+2029 at offset 1$/);
refused('name with U+2028 in CSV', people => $PEOPLE_CSV . "Q1,Charles\x{2028}Babbage,1,2020-01-01\n", { line => 2 },
	'name', qr/^contains the line separator U\+2028 at offset 7$/);

# ---- a CSV cell of 2 MB: refused on its head (the first 64 KiB, cut at a
# character's start), not copied and checked whole on the event loop; an
# "é" across the cut is not taken for invalid UTF-8.
refused('a CSV name of 2 MB ("x" and a million "é")', people => $PEOPLE_CSV . 'Q1,x' . ("\x{e9}" x 1_000_000)
	. ",1,2020-01-01\n", { line => 2 }, 'name', qr/^longer than 1000 bytes \(UTF-8\)$/);

# ---- a timesheet of 1,000 entries is taken, of 1,001 refused on
# "entries" before any entry is checked: one of 100,000 rows of CSV (4.7
# MB, grouped into one timesheet) held the event loop a third of a
# second (60,000 entries, when each was compared with every earlier one:
# /healthz unanswered for 36 s).  Its last entry repeats the first
# activity, which is not reached.
{
	my @entries = map { +{ kind => 'admin', activity => "a$_", hours => 0 } } 1 .. 1000;
	my ($s, $j) = post_feed($d, timesheets => [ timesheet(person_id => 'P1', period_start => '2025-05-01',
		period_end => '2025-05-31', entries => \@entries) ]);
	is $s, 200, 'a timesheet of 1,000 entries: 200' or diag json_encode($j);
}
refused('a timesheet of 1,001 entries', timesheets => [ timesheet(entries => [
	(map { +{ kind => 'admin', activity => "a$_", hours => 0 } } 1 .. 1001) ]) ], { index => 0 }, 'entries',
	qr/^more than 1000 entries; a timesheet has one per activity, at most 1000$/);
refused('a timesheet of 100,001 rows of CSV, the last repeating the first activity', timesheets => $TS_CSV
	. join('', map { "P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,admin,a$_,0\n" } 0 .. 99_999)
	. "P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,admin,a0,1\n", { line => 2 }, 'entries',
	qr/^more than 1000 entries; a timesheet has one per activity, at most 1000$/);

# ---- what stays accepted: the limits themselves, a blank inside an id or
# a name, text with marks right-to-left scripts use.
my ($s, $j) = post_feed($d, people => [
	person(person_id => 'Q 2', name => "\x{5d3}\x{5d5}\x{5d3} \x{200f}\x{5db}\x{5d4}\x{5df}"),
	person(person_id => 'Q3', name => "Zoë\tPlain", employment_start => '2024-02-29') ]);
is $s, 200, 'an id with a blank inside, a Hebrew name with a right-to-left mark, a tab inside a name: 200'
	or diag json_encode($j);
is psql_value($db, "SELECT name FROM people WHERE person_id = 'Q 2'"), "\x{5d3}\x{5d5}\x{5d3} \x{200f}\x{5db}\x{5d4}\x{5df}",
	'… stored as sent';
($s, $j) = post_feed($d, timesheets => $TS_CSV . "P1,2025-03-01,2025-03-31,2025-04-01T09:00:00Z,admin, admin ,2\n");
is $s, 200, 'CSV: an unquoted activity " admin " is read as admin (the reader trims it)' or diag json_encode($j);
is psql_value($db, "SELECT activity FROM timesheet_entries WHERE activity LIKE '%admin%'"), 'admin', '… stored as admin';

# A timesheet with no entries and a charge above the month's hours are
# stored: the rules flag them (hours_incomplete, overcharged_month).
($s, $j) = post_feed($d, timesheets => [ timesheet(period_start => '2025-02-01', period_end => '2025-02-28', entries => []) ]);
is $s, 200, 'a timesheet with entries []: 200' or diag json_encode($j);
is psql_value($db, "SELECT count(*) FROM timesheets WHERE period_start = '2025-02-01' AND total_hours = 0"), 1,
	'… stored as a version of 0 h';
($s, $j) = post_feed($d, charges => [ { person_id => 'P1', grant_ref => 'GR/1', month => '2025-02', hours => 744 } ]);
is $s, 200, '744 h charged for February 2025: 200' or diag json_encode($j);
is psql_value($db, "SELECT count(*) FROM findings WHERE rule = 'overcharged_month' AND person_id = 'P1'
	AND period_start = '2025-02-01' AND resolved_at IS NULL"), 1, '… and flagged overcharged_month';

done_testing;
