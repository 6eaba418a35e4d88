# The merge reads the staged records (sql/functions/22_ingest_stage.sql):
#   - a record that repeats an earlier one's key, behind a record effortd
#     refused, is named with the body's indices: "duplicates record 3",
#     record 3 of the body (before, the position among the records staged);
#   - the ingest functions called from SQL with a jsonb batch, two in one
#     transaction: each stores and counts its own batch only;
#   - a person's line manager history gains a row when the manager is first
#     seen or changes, not when only another field changes (before, the
#     history read the people its own upsert had just updated as new).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql psql_value post_feed);

my $db = new_db();
my $d = start_effortd(db => $db, 'db.pool_size' => 1);

sub person {
	my ($i) = @_;
	return { person_id => "P$i", name => "Person $i", fte => 1, employment_start => '2020-01-06' };
}

# ---- a duplicate behind a refused record, JSON and CSV -----------------
{
	my @batch = map { person($_) } 0 .. 5;
	$batch[0]{fte} = 7;                       # effortd refuses it (not staged)
	$batch[5]{person_id} = 'P3';              # the database: repeats record 3
	my ($s, $j) = post_feed($d, 'people', \@batch);
	is $s, 422, 'JSON: a refused record and a duplicate behind it: 422';
	is_deeply [ map { [ $_->{index}, $_->{field} ] } @{ $j->{errors} } ],
		[ [ 0, 'fte' ], [ 5, 'person_id' ] ], '… both, by index' or diag explain $j;
	is $j->{errors}[1]{message}, 'duplicates record 3 of this batch',
		'… the duplicate names the record it repeats by its index in the body';

	my $csv = "person_id,name,fte,employment_start\n" . join '', map {
		my $p = $batch[$_];
		"$p->{person_id},$p->{name},$p->{fte},$p->{employment_start}\n" } 0 .. 5;
	($s, $j) = post_feed($d, 'people', $csv);
	is $s, 422, 'CSV: 422';
	is_deeply [ map { [ $_->{line}, $_->{field}, $_->{message} ] } @{ $j->{errors} }[1] ],
		[ [ 7, 'person_id', 'duplicates record 3 of this batch' ] ], '… the duplicate by its line, the same text'
		or diag explain $j;
	is psql_value($db, 'SELECT count(*) FROM people'), 0, 'nothing stored';

	# Timesheets: the same for their key (person, period).
	($s) = post_feed($d, 'people', [ map { person($_) } 0 .. 1 ]);
	is $s, 200, 'two people stored';
	my @ts = map { { person_id => 'P0', period_start => "2026-0$_-01", period_end => "2026-0$_-28",
		submitted_at => "2026-0$_-28T17:00:00Z", entries => [ { activity => 'admin', kind => 'admin', hours => 10 } ] } } 1 .. 4;
	$ts[0]{entries}[0]{hours} = -1;           # effortd refuses it
	$ts[3]{period_start} = '2026-03-01';      # repeats record 2
	$ts[3]{period_end} = '2026-03-28';
	($s, $j) = post_feed($d, 'timesheets', \@ts);
	is $s, 422, 'timesheets: 422';
	is_deeply [ map { [ $_->{index}, $_->{field} ] } @{ $j->{errors} } ],
		[ [ 0, 'entries[0].hours' ], [ 3, 'period_start' ] ], '… both' or diag explain $j;
	is $j->{errors}[1]{message}, 'duplicates record 2 of this batch', '… by the index in the body';
	is psql_value($db, 'SELECT count(*) FROM timesheets'), 0, '… nothing stored';
}

# ---- from SQL: a jsonb batch, two ingests in one transaction ----------
{
	my @rows = psql($db, q{BEGIN;
SELECT ingest_grants('[{"grant_ref":"G1","title":"One","start_date":"2024-01-01","end_date":"2026-12-31"},
  {"grant_ref":"G2","title":"Two","start_date":"2024-01-01","end_date":"2026-12-31"}]', NULL);
SELECT ingest_assignments('[{"person_id":"P1","grant_ref":"G1","role":"researcher","cost_type":"DI",
  "start_date":"2024-01-01","fte_share":0.50}]', NULL);
COMMIT;});
	my @answers = map { split /\n/, $_->[0] } @rows;   # one record separator at the end only
	is scalar @answers, 2, 'SQL: two ingest functions in one transaction answer' or diag explain \@rows;
	my ($g, $a) = map { EffortTest::json_decode($_) } @answers;
	is_deeply [ @$g{qw(accepted created)} ], [ 2, 2 ], '… the grants: their own two records';
	is_deeply [ @$a{qw(accepted created people)} ], [ 1, 1, ['P1'] ], '… the assignment: its own one';
	is psql_value($db, q{SELECT fte_share::text FROM assignments}), '0.5', '… stored as sent, no trailing zero';
	is psql_value($db, q{SELECT count(*) FROM audit_log WHERE entity IN ('grants', 'assignments')}), 3,
		'… and logged in the audit trail';
}

# ---- line manager history: a row per change of manager only -----------
{
	my $history = sub { psql_value($db, "SELECT count(*) FROM line_manager_history WHERE person_id = 'H1'") };
	my %h = (person_id => 'H1', name => 'Hanna', fte => 1, employment_start => '2020-01-06', line_manager_id => 'P0');
	my ($s) = post_feed($d, 'people', [ {%h} ]);
	is $s, 200, 'history: a new person with a line manager';
	is $history->(), 1, '… one history row';
	($s, my $j) = post_feed($d, 'people', [ { %h, name => 'Hanna B' } ]);
	is_deeply [ $s, $j->{updated} ], [ 200, 1 ], '… the name changed: updated';
	is $history->(), 1, '… and no history row: the manager did not change';
	($s, $j) = post_feed($d, 'people', [ { %h, name => 'Hanna B', line_manager_id => 'P1' } ]);
	is_deeply [ $s, $j->{updated} ], [ 200, 1 ], '… the manager changed: updated';
	is_deeply [ map { $_->[0] } psql($db, "SELECT line_manager_id FROM line_manager_history WHERE person_id = 'H1' ORDER BY valid_from") ],
		[ 'P0', 'P1' ], '… a second history row, the new manager';
}

done_testing;
