# effortctl against a real effortd: ingest (summary, exit 0), a bad CSV
# (FILE:LINE: FIELD: MESSAGE lines, exit 3), timesheets --format csv, --help,
# exit codes for usage errors and an unreachable server.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql effortctl spew sample_file json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);
my $dir = $EffortTest::TMP;

my ($rc, $out, $err) = effortctl(undef, '--help');
is $rc, 0, 'effortctl --help: exit 0';
like $out, qr/usage: effortctl/, '--help prints the usage on stdout';
like $out, qr/\bingest\b/, '--help lists ingest';

($rc, $out, $err) = effortctl(undef, 'no-such-command');
is $rc, 2, 'unknown command: exit 2';
($rc, $out, $err) = effortctl($d, 'ingest', 'wizards', "$dir/nothing.csv");
is $rc, 2, 'ingest of an unknown feed: exit 2';

# ---- ingest: JSON and CSV, summary on stdout
my $people = "$dir/people-$$.csv";
spew($people, "person_id,name,line_manager_id,fte,employment_start\n"
	. "P0,\"Hopper, Grace\",,1,2010-09-01\nP1,Ada Byron,P0,1,2020-01-06\nP2,Alan Turing,P0,0.5,2020-01-06\n");
($rc, $out, $err) = effortctl($d, { token => $d->token('feed') }, 'ingest', 'people', $people);
is $rc, 0, 'ingest people CSV: exit 0' or diag $err;
like $out, qr/accepted\D*3\b.*created\D*3\b.*updated\D*0\b.*unchanged\D*0\b/s, 'ingest: the summary' or diag $out;
is psql($db, 'SELECT count(*) FROM people'), 3, 'the people are stored';
($rc, $out, $err) = effortctl($d, 'ingest', 'people', $people);
is $rc, 0, 'ingest again: exit 0';
like $out, qr/accepted\D*3\b.*created\D*0\b.*updated\D*0\b.*unchanged\D*3\b/s, 'ingest again: all unchanged' or diag $out;

my $ts = "$dir/timesheets-$$.json";
spew($ts, json_encode([
	{ person_id => 'P1', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-03T10:00:00Z',
	  entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 150 }, { kind => 'public_holiday', activity => 'public_holiday', hours => 7.5 },
	               { kind => 'teaching', activity => 'teaching', hours => 15 } ],
	  authorised_by => 'P0', authorised_at => '2025-02-10T09:00:00Z' },
	{ person_id => 'P2', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-03T10:00:00Z',
	  entries => [ { kind => 'research', activity => 'research', hours => 86.25 } ] },
]));
($rc, $out, $err) = effortctl($d, 'ingest', 'timesheets', $ts);
is $rc, 0, 'ingest timesheets JSON: exit 0' or diag $err;
like $out, qr/accepted\D*2\b.*created\D*2\b/s, 'ingest timesheets: summary';

# ---- a bad CSV: FILE:LINE: FIELD: MESSAGE on stderr, exit 3, nothing stored
my $bad = "$dir/bad-$$.csv";
spew($bad, "person_id,period_start,period_end,submitted_at,kind,activity,hours\n"
	. "P1,2025-02-01,2025-02-28,2025-03-01T09:00:00Z,grant,EP/X012345/1,100\n"
	. "P1,2025-02-01,2025-02-28,2025-03-01T09:00:00Z,nap,sleep,50\n"
	. "P2,2025-02-01,2025-02-28,2025-03-01T09:00:00Z,research,research,-4\n");
my $n = psql($db, 'SELECT count(*) FROM timesheets');
($rc, $out, $err) = effortctl($d, 'ingest', 'timesheets', $bad);
is $rc, 3, 'ingest of a bad CSV: exit 3';
my @lines = grep { /\S/ } split /\n/, $err;
ok((grep { /^\Q$bad\E:3: entries\[1\]\.kind: \S/ } @lines), 'FILE:3: entries[1].kind: MESSAGE') or diag $err;
ok((grep { /^\Q$bad\E:4: entries\[0\]\.hours: \S/ } @lines), 'FILE:4: entries[0].hours: MESSAGE') or diag $err;
is psql($db, 'SELECT count(*) FROM timesheets'), $n, 'nothing stored';

# A bad JSON file: errors name the record.
my $badj = "$dir/bad-$$.json";
spew($badj, json_encode([ { person_id => 'P9', name => 'X', fte => 2, employment_start => '2020-01-01' } ]));
($rc, $out, $err) = effortctl($d, 'ingest', 'people', $badj);
is $rc, 3, 'ingest of a bad JSON file: exit 3';
like $err, qr/\Q$badj\E.*\b0\b.*fte/, 'the error names the file, record 0 and the field' or diag $err;

# ---- timesheets --format csv
($rc, $out, $err) = effortctl($d, 'timesheets', '--format', 'csv');
is $rc, 0, 'timesheets --format csv: exit 0' or diag $err;
my @csv = grep { length } split /\r?\n/, $out;
like $csv[0] // '', qr/^(?=.*\bperson_id\b)(?=.*\bperiod_start\b)(?=.*\bstatus\b)/, 'a header row' or diag $out;
is scalar @csv, 3, 'one row per timesheet' or diag $out;
my ($p1) = grep { /^(?:[^,]*,)*P1,/ || /^P1,/ } @csv[1 .. $#csv];
ok $p1, 'a row for P1' or diag $out;
like $p1 // '', qr/2025-01-01/, 'P1 row: the period';
like $p1 // '', qr/\b172\.50?\b/, 'P1 row: total hours 172.5';
like $p1 // '', qr/\bauthorised\b/, 'P1 row: status authorised';

($rc, $out, $err) = effortctl($d, 'timesheets', '--format', 'json');
is $rc, 0, 'timesheets --format json: exit 0';
my $js = eval { EffortTest::json_decode($out) };
ok $js, 'valid JSON' or diag $out;

($rc, $out, $err) = effortctl($d, 'timesheets', '--format', 'yaml');
is $rc, 2, 'an unknown --format: exit 2';

# ---- refused and unavailable
($rc, $out, $err) = effortctl($d, { token => 'eff_unknown' }, 'timesheets');
is $rc, 3, 'an unknown token: exit 3 (401)';
($rc, $out, $err) = effortctl($d, { token => $d->token('feed') }, 'violations');
is $rc, 3, 'a feed token reading violations: exit 3 (403)';
($rc, $out, $err) = effortctl(undef, { token => 'x', env => { EFFORTCTL_URL => 'http://127.0.0.1:' . EffortTest::free_port() } }, 'timesheets');
is $rc, 4, 'nothing listening: exit 4';

# ---- violations: 0 when none, 1 when some
($rc, $out, $err) = effortctl($d, { token => $d->token('reviewer') }, 'violations', '--as-of', '2025-01-20');
is $rc, 0, 'violations as of 2025-01-20 (none yet): exit 0' or diag "$out$err";
($rc, $out, $err) = effortctl($d, { token => $d->token('reviewer') }, 'violations', '--as-of', '2025-06-01');
is $rc, 1, 'violations as of 2025-06-01 (P2 unauthorised past its deadline): exit 1' or diag "$out$err";
like $out, qr/authorisation_overdue/, '… lists authorisation_overdue';

done_testing;
