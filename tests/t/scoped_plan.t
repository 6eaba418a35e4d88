# A re-audit of one person reads that person's rows, not the organisation:
# every table the rule stages read is reached by index for the scope (issue
# 13: "no stage that scans every person for a scope of one").  An
# organisation of 3,000 people with a year of payroll charges each is
# written as the owner and analysed; the scoped sweep (audit_sweep with one
# person, the generic plan effortd's re-audits run) is explained with
# auto_explain (ANALYZE, nested statements, NOTICE level) and no plan node
# may read more than a handful of rows of a person-keyed table.  The
# unknown people's charges (activity_missing) once hashed every person
# for each scope: 8 ms of a 10 ms re-audit at 50,000 staff.  The same
# holds for the ingest of one timesheet, which once hashed the whole
# people table to learn whether its one person was known: 8-10 ms of an
# 18-21 ms POST at 50,000 staff; and a people feed of one person, whose
# warnings (an unknown line manager, a cycle of line managers) hashed the
# people table, 8-17 ms of a 19-21 ms POST: a temporary staging table has
# no statistics, so the planner guessed 1,270 staged records.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db psql psql_explained);

my $db = new_db();
my $N = 3000;

psql($db, <<"SQL");
INSERT INTO grants (grant_ref, title, start_date, end_date)
VALUES ('EP/S000001/1', 'Scoped grant', '2020-01-01', '2030-12-31');
INSERT INTO people (person_id, name, fte, employment_start)
SELECT 'P' || lpad(g::text, 5, '0'), 'Person ' || g, 1, '2020-01-06'
  FROM generate_series(1, $N) g;
INSERT INTO charges (person_id, grant_ref, month, hours)
SELECT 'P' || lpad(g::text, 5, '0'), 'EP/S000001/1', m::date, 10
  FROM generate_series(1, $N) g,
       generate_series('2025-01-01'::date, '2025-12-01'::date, interval '1 month') m;
ANALYZE;
SQL
is psql($db, 'SELECT count(*) FROM charges'), 12 * $N, "an organisation of $N people, 12 charges each";

# Six scoped sweeps in one session (a cached plan is generic from the
# sixth execution at the latest; audit_sweep asks for it at once).
my $sweeps = join '', map { sprintf "SELECT audit_sweep('2026-01-01', NULL, ARRAY['P%05d']);\n", $_ * 401 } 1 .. 6;
my ($notices, $status) = psql_explained($db, $sweeps, log_analyze => 'on', log_timing => 'off');
is $status, 0, 'six scoped sweeps of one person each' or diag $notices;
like $notices, qr/Query Text: WITH overtaken AS MATERIALIZED/, "… explained (the sweep's statement)";
my @charges_read = $notices =~ /on charges \w+ .*?actual rows=12 loops=1/g;
ok scalar(@charges_read) >= 6, "… each read its person's 12 charges by index" or diag $notices;

# The person-keyed tables the rules read.
my $rule_tables = join '|', qw(people charges timesheets timesheet_entries timesheet_decisions
	timesheet_latest timesheet_latest_grant_entries assignments line_manager_history);

# Every node that read a person-keyed table more than 100 rows, with the
# rows it read.
sub wide_reads {
	my ($plans, $most) = @_;
	$most //= 100;
	my @wide;
	while ($plans =~ /(\S+(?: \S+)*? on ($rule_tables|findings) \w+)[^\n]*?actual rows=(\d+) loops=(\d+)/g) {
		push @wide, "$1: $3 rows x $4" if $3 * $4 > $most;
	}
	return \@wide;
}
is_deeply wide_reads($notices), [], 'no node read more than 100 rows of a person-keyed table' or diag join "\n", @{ wide_reads($notices) };

# The ingest of one timesheet, then of a new version of it (the current
# version found and compared), as a feed of one record stages it.
my $ts = sub {
	my ($hours) = @_;
	return qq([{"person_id": "P01234", "period_start": "2025-03-01", "period_end": "2025-03-31",
		"submitted_at": "2025-03-31T16:00:00Z", "amendment_reason": "plan test",
		"entries": [{"kind": "grant", "activity": "EP/S000001/1", "hours": $hours}]}]);
};
my $ingests = join '', map { "SELECT ingest_timesheets('" . $ts->($_) . "'::jsonb, NULL);\n" } 10, 12;
($notices, $status) = psql_explained($db, $ingests, log_analyze => 'on', log_timing => 'off');
is $status, 0, 'two versions of one timesheet ingested' or diag $notices;
like $notices, qr/Query Text: INSERT INTO effort_ts_plan/, "… explained (the ingest's plan of the records)";
is psql($db, "SELECT max(version) FROM timesheets WHERE person_id = 'P01234'"), 2, '… version 2 stored';
is_deeply wide_reads($notices), [], '… and no node read more than 100 rows of a person-keyed table'
	or diag join "\n", @{ wide_reads($notices) };

# A people feed of one person, with its warnings, as effortd runs them in
# the feed's transaction: P00100 now line-managed by P00200.
my $person = q([{"person_id": "P00100", "name": "Person 100", "line_manager_id": "P00200",
	"fte": 1, "employment_start": "2020-01-06"}]);
($notices, $status) = psql_explained($db, "BEGIN;\nSELECT ingest_feed('people', '$person'::jsonb, NULL, false);\n"
	. "SELECT ingest_warnings('people');\nCOMMIT;\n", log_analyze => 'on', log_timing => 'off');
is $status, 0, 'a people feed of one person, and its warnings' or diag $notices;
like $notices, qr/Query Text: WITH RECURSIVE up/, "… explained (the line managers' cycle check)";
is psql($db, "SELECT line_manager_id FROM people WHERE person_id = 'P00100'"), 'P00200', '… stored';
is_deeply wide_reads($notices), [], '… and no node read more than 100 rows of a person-keyed table'
	or diag join "\n", @{ wide_reads($notices) };

# A large re-audit (over 1,000 people: evaluated before the sweep's lock,
# in parts planned generic) reads its people's rows, each once, and its
# parts name no person range: passed as parameters, the range conditions
# a half of everyone reads its tables by were planned as if any range
# might come; at 10,000 staff the scope then looked like a person or two
# and the line manager periods were computed again for every timesheet,
# 33 s for a part of 1,000 people instead of 0.5 s (this organisation is
# too small for that plan: the query text shows the constants).  Here
# 1,100 of the 3,000 people, three months of authorised timesheets each.
psql($db, <<"SQL");
UPDATE people SET line_manager_id = 'P03000' WHERE person_id <= 'P01200';
INSERT INTO line_manager_history (person_id, line_manager_id, valid_from)
SELECT person_id, 'P03000', now() FROM people WHERE person_id <= 'P01200';
INSERT INTO timesheets (person_id, period_start, period_end, version, submitted_at, total_hours)
SELECT p.person_id, m::date, (m + interval '1 month - 1 day')::date, 1, m + interval '1 month', 150
  FROM people p, generate_series('2025-01-01'::date, '2025-03-01'::date, interval '1 month') m
 WHERE p.person_id <= 'P01200';
INSERT INTO timesheet_entries (timesheet_id, position, kind, activity, hours)
SELECT t.timesheet_id, x.pos, x.kind, x.activity, x.hours
  FROM timesheets t,
       (VALUES (0, 'grant', 'EP/S000001/1', 10), (1, 'research', 'R', 140)) x(pos, kind, activity, hours)
 WHERE t.person_id <= 'P01200';
INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by, decided_at, source)
SELECT t.timesheet_id, 'authorised', 'P03000', t.submitted_at + interval '1 day', 'feed'
  FROM timesheets t WHERE t.person_id <= 'P01200';
ANALYZE;
SQL
is psql($db, q{SELECT count(*) FROM timesheet_latest WHERE decision = 'authorised'}), 3600,
	'3,600 authorised timesheets of 1,200 people';
($notices, $status) = psql_explained($db, "SET max_parallel_workers_per_gather = 0;\n"
	. "SELECT audit_sweep('2026-01-01', NULL, ARRAY(SELECT person_id FROM people WHERE person_id <= 'P01100'));\n",
	log_analyze => 'on', log_timing => 'off');
is $status, 0, 'a re-audit of 1,100 people' or diag $notices;
like $notices, qr/Query Text: SELECT \* FROM audit_findings\(p_as_of, p_params, p_people\)/,
	"… explained (a part's evaluation, generic)";
is_deeply wide_reads($notices, 12 * 1100), [], '… and no node read more than 12 rows per person of a person-keyed table'
	or diag join "\n", @{ wide_reads($notices, 12 * 1100) };

# The reconcile holds no rule query: a full sweep's reconcile statement is
# planned anew at every sweep (a custom plan), and while it held the
# evaluation of a scoped sweep as a branch not run for a full one, every
# full sweep planned the whole rule query again for nothing: 11-34 ms of
# a sweep at 10,000 staff.  Its plan, and a scoped sweep's, reads findings
# and the overtaken marks only.
sub reconcile_plans {
	my ($plans) = @_;
	my @statements = split /^psql:[^\n]*NOTICE:  duration: [^\n]*\n/m, $plans;
	return grep { /^Query Text: WITH overtaken AS MATERIALIZED/ } @statements;
}
($notices, $status) = psql_explained($db, "SELECT audit_sweep('2026-01-01', NULL);\n"
	. "SELECT audit_sweep('2026-01-01', NULL, ARRAY['P00401']);\n");
is $status, 0, 'a full sweep, then a scoped one' or diag $notices;
my @reconciles = reconcile_plans($notices);
is scalar(@reconciles), 2, '… two reconcile statements explained' or diag $notices;
for my $i (0, 1) {
	my @rule_reads = ($reconciles[$i] // '') =~ / on ($rule_tables|grants) /g;
	is_deeply \@rule_reads, [], ('the full', 'the scoped')[$i] . " sweep's reconcile reads no table of the rules"
		or diag $reconciles[$i];
}

done_testing;
