# The spool folder: files renamed into spool.dir are ingested each in one
# transaction and moved to done/, or to failed/ with a .errors file naming
# each bad line; .tmp files and other names are left alone; a file seen
# again after a restart (effortd died before moving it) is not stored twice.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Copy qw(copy);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql row_counts load_sample slurp spew sample_file wait_for);

my $dir = "$EffortTest::TMP/spool-$$";
mkdir $dir or die "$dir: $!";

# Written elsewhere, renamed in (as SFTP and rsync drops do).
sub drop {
	my ($name, $content) = @_;
	spew("$dir/.incoming-$name", $content);
	rename "$dir/.incoming-$name", "$dir/$name" or die "rename: $!";
}

my $db = new_db();
my $d = start_effortd(db => $db, 'spool.dir' => $dir, 'spool.interval' => 1);
ok -d "$dir/done" && -d "$dir/failed", 'effortd creates done/ and failed/';

# ---- a partly written file and unrelated names are ignored
spew("$dir/people-2026-11.csv.tmp", "person_id,name,fte,employment_start\nX1,Half writ");
spew("$dir/notes.txt", "not a feed\n");
spew("$dir/people.csv", "person_id,name\n");    # no "-": not a spool name

# ---- the whole sample organisation, all files at once, in any order
my %file = (people => 'csv', grants => 'json', assignments => 'csv', delegations => 'json',
	charges => 'csv', timesheets => 'json');
for my $feed (reverse sort keys %file) {
	drop("$feed-2026-11.$file{$feed}", slurp(sample_file($feed, $file{$feed})));
}
ok wait_for(sub { -f "$dir/done/timesheets-2026-11.json" && -f "$dir/done/people-2026-11.csv"
			&& !grep { -f "$dir/$_-2026-11.$file{$_}" } keys %file }, 30),
	'every sample file ends in done/' or diag `ls -R $dir`, $d->log_text;

# The same as loading the sample over HTTP into another database.
my $ref = new_db();
my $r = start_effortd(db => $ref);
load_sample($r, format => \%file);
is_deeply row_counts($db), row_counts($ref), 'the spool stored exactly what POSTing the sample stores';
is psql($db, q{SELECT string_agg(file_name || ':' || feed || ':' || records, ' ' ORDER BY ingested_at, file_name) FROM spool_files}),
	join(' ', map { "$_-2026-11.$file{$_}:$_:" . psql($ref, "SELECT count(*) FROM " . ($_ eq 'timesheets' ? 'timesheets' : $_)) }
		qw(people grants assignments delegations charges timesheets)),
	'the ledger has one row per file, in load order, with its record count';
ok -f "$dir/people-2026-11.csv.tmp", 'the .tmp file is left where it is';
ok -f "$dir/notes.txt" && -f "$dir/people.csv", 'other names are left alone';
ok !-e "$dir/done/people-2026-11.csv.tmp", '… and not ingested';
is psql($db, q{SELECT count(*) FROM people WHERE person_id = 'X1'}), 0, 'no record of the .tmp file';

# ---- a bad file: failed/ and a .errors file naming each bad line
my $before = row_counts($db);
drop('grants-bad.csv', join("\n", 'grant_ref,title,funder,start_date,end_date',
		'G/OK/1,Fine grant,EPSRC,2025-01-01,2026-12-31',
		'G/BAD/2,Bad dates,EPSRC,2025-13-01,2026-12-31',
		'G/OK/3,Another fine one,NERC,2025-01-01,2026-12-31',
		'G/BAD/4,Ends before it starts,AHRC,2026-01-01,2025-12-31') . "\n");
ok wait_for(sub { -f "$dir/failed/grants-bad.csv" }), 'a file with bad lines goes to failed/';
my $errors = -f "$dir/failed/grants-bad.csv.errors" ? slurp("$dir/failed/grants-bad.csv.errors") : '';
like $errors, qr/^grants-bad\.csv: 2 errors in the grants feed; nothing was stored$/m, '.errors: the reason first';
like $errors, qr/^line 3: start_date: /m, '.errors names line 3';
like $errors, qr/^line 5: end_date: /m, '.errors names line 5';
is scalar(() = $errors =~ /^line /mg), 2, '… and only the two bad lines';
is_deeply row_counts($db), $before, 'nothing of the bad file was stored (not even its good lines)';
is psql($db, q{SELECT count(*) FROM spool_files WHERE file_name = 'grants-bad.csv'}), 0, '… nor claimed in the ledger';

# The same name refused again (a nightly export): the first refusal and
# its .errors are kept, the second beside them.
drop('grants-bad.csv', "grant_ref,title,funder,start_date,end_date\nG/BAD/9,Backwards,EPSRC,2025-01-01,2024-12-31\n");
ok wait_for(sub { -f "$dir/failed/grants-bad.csv.1" }), 'refused again under the same name: kept as failed/grants-bad.csv.1'
	or diag `ls $dir/failed`;
like slurp("$dir/failed/grants-bad.csv.1.errors"), qr/^line 2: end_date: /m, '… with its own .errors';
is slurp("$dir/failed/grants-bad.csv.errors"), $errors, '… the first .errors untouched';
like slurp("$dir/failed/grants-bad.csv"), qr/G\/BAD\/4/, '… and the first file too';

# Malformed CSV and a file over limits.max_body: failed/ too.
drop('people-broken.csv', qq{person_id,name\n"P1,unterminated\n});
ok wait_for(sub { -f "$dir/failed/people-broken.csv.errors" }), 'malformed CSV goes to failed/';
like slurp("$dir/failed/people-broken.csv.errors"), qr/malformed CSV at line 2/, '… saying where';
drop('timesheets-deep.json', '[' x 100 . ']' x 100);
ok wait_for(sub { -f "$dir/failed/timesheets-deep.json.errors" }), 'JSON nested too deep goes to failed/';
like slurp("$dir/failed/timesheets-deep.json.errors"), qr/nested deeper than 32/, '… saying why';
# A JSON file that is not an array: refused once 1 MiB of it is read, not
# read whole (up to limits.max_body) to be refused the same.
drop('people-object.json', '{"a":"' . ('x' x (8 << 20)) . '"}');
ok wait_for(sub { -f "$dir/failed/people-object.json.errors" }), 'an 8 MiB JSON object goes to failed/';
like slurp("$dir/failed/people-object.json.errors"), qr/expected a JSON array of records/, '… saying why';

# ---- restart: a file seen again is not stored twice
my $people_updated = psql($db, q{SELECT max(updated_at) FROM people});
$d->stop;
# As if effortd had died between the commit and the move.
copy("$dir/done/people-2026-11.csv", "$dir/people-2026-11.csv") or die "copy: $!";
my $d2 = start_effortd(db => $db, 'spool.dir' => $dir, 'spool.interval' => 1);
ok wait_for(sub { !-f "$dir/people-2026-11.csv" }), 'after a restart the file is taken again';
ok -f "$dir/done/people-2026-11.csv.1", '… and moved to done/, beside the copy kept there (people-2026-11.csv.1)'
	or diag `ls $dir/done`;
like $d2->log_text, qr/people-2026-11\.csv was already ingested/, '… as already ingested';
is psql($db, q{SELECT count(*) FROM spool_files WHERE file_name = 'people-2026-11.csv'}), 1, 'one ledger row';
is psql($db, q{SELECT max(updated_at) FROM people}), $people_updated, 'no person row was written again';
is_deeply row_counts($db), $before, 'nothing was stored twice';

# Same name, different content: a new file, ingested.
drop('people-2026-11.csv', "person_id,name,email,fte,employment_start\nP9001,New Starter,new\@example.ac.uk,1,2026-11-01\n");
ok wait_for(sub { psql($db, q{SELECT count(*) FROM people WHERE person_id = 'P9001'}) == 1 }),
	'the same name with new content is ingested';
ok wait_for(sub { psql($db, q{SELECT count(*) FROM spool_files WHERE file_name = 'people-2026-11.csv'}) == 2 }),
	'… with a ledger row of its own';
ok wait_for(sub { -f "$dir/done/people-2026-11.csv.2" }), '… kept in done/ as people-2026-11.csv.2';
like slurp("$dir/done/people-2026-11.csv.2"), qr/P9001/, '… with its content';
is slurp("$dir/done/people-2026-11.csv"), slurp(sample_file('people', 'csv')),
	'… and the file first sent under that name is still done/people-2026-11.csv (not replaced)';

# /metrics counts the files.
my ($s, $m) = $d2->req(GET => '/metrics');
like $m, qr/^effortd_spool_files_total\{outcome="duplicate"\} 1$/m, 'metrics: one duplicate';
like $m, qr/^effortd_spool_files_total\{outcome="done"\} 1$/m, 'metrics: one stored since the restart';
like $m, qr/^effortd_records_ingested_total\{feed="people"\} 1$/m, 'metrics: its one record';

# A spool folder that cannot be used stops start-up.
my $bad = start_effortd(db => $db, 'spool.dir' => "$dir/no/such/folder", wait => 0);
my $end = time + 10;
sleep 0.1 while $bad->alive && time < $end;
ok !$bad->alive, 'a missing spool folder stops start-up';
like $bad->log_text, qr/spool: cannot create/, '… saying why';
$bad->stop;

done_testing;
