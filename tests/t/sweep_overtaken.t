# A full audit sweep holds up feeds only while it reconciles, not while it
# evaluates everyone (sql/functions/40_audit.sql, migration 019):
#   - a timesheet POSTed while a full sweep evaluates is answered at once,
#     its person re-audited (a missing month resolved);
#   - the full sweep, whose evaluation began before the POST and still has
#     the month missing, leaves that person's findings to the re-audit: the
#     month is not opened again, and the sweep's "open" counts them;
#   - everyone else is reconciled by the full sweep as before (a charge
#     stored behind effortd's back during the evaluation is not in it; one
#     stored before is);
#   - the marks are gone once the full sweep is done, and a re-audit
#     outside a full sweep writes none;
#   - a feed whose re-audit has more than 1,000 people (a month's charges)
#     evaluates them the same way, first, and holds up other feeds only
#     while it reconciles: everyone's plan for half the people or more,
#     the scope's generic plan for fewer.
# The evaluation is made slow for the test: audit_findings is replaced by
# a copy that sleeps first when it evaluates everyone or more than 100
# people (a re-audit of more than 1,000 evaluates them in two halves;
# STABLE: it reads what its caller's statement saw when it began).
# Before, the POST waited for the whole full sweep or re-audit.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql psql_value post_feed post_bg collect_bg json_encode json_decode slurp spew wait_for);

my $SLEEP = 5;    # the full sweep's evaluation, made this long

my $db = new_db();
my $d = start_effortd(db => $db, 'audit.sweep_interval' => 0);
# (effortd's own full sweep, a second after it starts, is done before the
# test's)
ok wait_for(sub { $d->log_text =~ /audit sweep: / }, 10), "effortd's first full sweep is done";
my $G = 'EP/O000001/1';
# X and Y, and 2,400 more (W0001...) for the large re-audits at the end
my @many = map { sprintf 'W%04d', $_ } 1 .. 2400;
is((post_feed($d, people => [ { person_id => 'M', name => 'Manager', fte => 1, employment_start => '2015-01-05' },
	map { { person_id => $_, name => "Worker $_", line_manager_id => 'M', fte => 1, employment_start => '2015-01-05' } } qw(X Y), @many ]))[0],
	200, 'setup: people');
is((post_feed($d, grants => [ { grant_ref => $G, title => 'Overtaken', start_date => '2020-01-01', end_date => '2099-12-31' } ]))[0],
	200, 'setup: grant');
is((post_feed($d, assignments => [ map { { person_id => $_, grant_ref => $G, role => 'researcher', cost_type => 'DI',
	start_date => '2025-01-01', end_date => '2025-06-30', fte_share => 0.5 } } qw(X Y) ]))[0], 200, 'setup: assignments');

sub open_findings {
	my ($person, $rule) = @_;
	psql_value($db, qq{SELECT string_agg(to_char(period_start, 'YYYY-MM'), ',' ORDER BY period_start)
	                     FROM findings WHERE resolved_at IS NULL AND person_id = '$person' AND rule = '$rule'}) // '';
}
# A full sweep as effortd's with the default rule settings.
my $FULL_SWEEP = q{SELECT audit_sweep(NULL, '{}', NULL)};

psql($db, $FULL_SWEEP);
is open_findings('X', 'timesheet_missing'), '2025-01,2025-02,2025-03,2025-04,2025-05,2025-06',
	'a first full sweep: X has no timesheet for January to June 2025';
is open_findings('Y', 'timesheet_missing'), open_findings('X', 'timesheet_missing'), '… nor has Y';

# A charge of Y's stored behind effortd's back (no re-audit): only a full
# sweep finds it.
psql($db, qq{INSERT INTO charges (person_id, grant_ref, month, hours) VALUES ('Y', '$G', '2025-02-01', 40)});
is open_findings('Y', 'activity_missing'), '', "Y's charge stored behind effortd's back: no finding yet";

psql($db, qq{
	CREATE OR REPLACE FUNCTION audit_findings(p_as_of date, p_params jsonb, p_people text[] DEFAULT NULL,
		p_from text DEFAULT NULL, p_to text DEFAULT NULL)
	RETURNS TABLE (rule text, severity text, person_id text, grant_ref text,
	               period_start date, period_end date, hours numeric, detail text)
	LANGUAGE plpgsql STABLE AS \$f\$
	BEGIN
		IF p_people IS NULL OR cardinality(p_people) > 100 THEN
			PERFORM pg_sleep($SLEEP);
		END IF;
		RETURN QUERY SELECT (s.finding).* FROM effort_rule_stages(p_as_of, p_params, p_people, p_from, p_to) s
		              WHERE s.stage = 'finding';
	END \$f\$;
});

# ---- a full sweep evaluating; a POST meanwhile ---------------------------------
my $result = "$EffortTest::TMP/overtaken-$$.json";
my $t_sweep = time;
my $pid = fork // die "fork: $!";
if (!$pid) {
	my $ok = eval { spew($result, psql_value($db, $FULL_SWEEP)); 1 };
	print STDERR $@ unless $ok;
	_exit($ok ? 0 : 1);
}
ok wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_stat_activity
	WHERE datname = current_database() AND wait_event = 'PgSleep'}) >= 1 }, 10),
	'the full sweep is evaluating';
# Y's second charge arrives after the evaluation began: it is not in it.
psql($db, qq{INSERT INTO charges (person_id, grant_ref, month, hours) VALUES ('Y', '$G', '2025-05-01', 30)});

my $t = time;
my ($s, $j) = post_feed($d, timesheets => [ { person_id => 'X', period_start => '2025-03-01', period_end => '2025-03-31',
	submitted_at => '2025-04-01T09:00:00Z', entries => [ { kind => 'grant', activity => $G, hours => 80 },
	{ kind => 'research', activity => 'research', hours => 80 } ] } ]);
my $took = time - $t;
is $s, 200, "X's March timesheet POSTed while the full sweep evaluates: 200" or diag json_encode($j);
cmp_ok $took, '<', $SLEEP / 2, sprintf('… answered in %.2f s, not after the full sweep (%d s)', $took, $SLEEP);
is open_findings('X', 'timesheet_missing'), '2025-01,2025-02,2025-04,2025-05,2025-06', "… X's March re-audited: resolved";
is psql_value($db, q{SELECT string_agg(DISTINCT person_id, ',') FROM audit_sweep_overtaken}), 'X',
	'… and X marked as overtaken';

# ---- the full sweep reconciles ------------------------------------------------
waitpid $pid, 0;
is $?, 0, 'the full sweep ends';
cmp_ok time - $t_sweep, '>=', $SLEEP, '… after its evaluation';
my $sweep = json_decode(slurp($result));
is open_findings('X', 'timesheet_missing'), '2025-01,2025-02,2025-04,2025-05,2025-06',
	"X's March is not opened again by the full sweep's older evaluation";
is psql_value($db, q{SELECT count(*) FROM findings WHERE person_id = 'X' AND rule = 'timesheet_missing' AND period_start = '2025-03-01'}), 1,
	'… one row for it, the resolved one';
is open_findings('Y', 'activity_missing'), '2025-02', "Y's charge stored before the evaluation: found by the full sweep";
is $sweep->{opened}, 1, '… the sweep opened that one finding' or diag json_encode($sweep);
is $sweep->{open}, psql_value($db, 'SELECT count(*) FROM findings WHERE resolved_at IS NULL'),
	"… its \"open\" counts every open finding, X's too";
is psql_value($db, 'SELECT count(*) FROM audit_sweep_overtaken'), 0, 'the marks are deleted by the full sweep';

# ---- outside a full sweep --------------------------------------------------------
($s, $j) = post_feed($d, timesheets => [ { person_id => 'Y', period_start => '2025-04-01', period_end => '2025-04-30',
	submitted_at => '2025-05-01T09:00:00Z', entries => [ { kind => 'grant', activity => $G, hours => 80 },
	{ kind => 'research', activity => 'research', hours => 80 } ] } ]);
is $s, 200, "Y's April POSTed with no full sweep running: 200" or diag json_encode($j);
is open_findings('Y', 'timesheet_missing'), '2025-01,2025-02,2025-03,2025-05,2025-06', '… re-audited';
is psql_value($db, 'SELECT count(*) FROM audit_sweep_overtaken'), 0, '… and no mark written';
is open_findings('Y', 'activity_missing'), '2025-02,2025-05',
	"… the re-audit of Y finds the charge stored during the evaluation, which the full sweep had not";

# ---- a large re-audit evaluating; a POST meanwhile ------------------------------
# A month's charges of 1,300 of the 2,403 people (half or more: everyone
# evaluated), then of the other 1,100 (fewer than half: the scope's
# generic plan).  Each month of X's POSTed meanwhile is answered at once
# and stays resolved.
# (charged: each case's month, X's charge thus new each time)
my @large = ([ 'everyone evaluated', [ @many[0 .. 1299] ], '2025-05', '2025-03' ],
	[ 'the generic plan', [ @many[1300 .. 2399] ], '2025-06', '2025-04' ]);
for my $case (@large) {
	my ($how, $people, $month, $charged) = @$case;
	my $n = @$people;
	# (X charged too: X's findings are the re-audit's to reconcile)
	my $bg = post_bg($d, charges => [ map { { person_id => $_, grant_ref => $G, month => $charged, hours => 10 } } 'X', @$people ]);
	ok wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event = 'PgSleep'}) >= 1 }, 10),
		"charges of X and $n people ($how): their re-audit is evaluating";
	my $t = time;
	my ($s, $j) = post_feed($d, timesheets => [ { person_id => 'X', period_start => "$month-01",
		period_end => $month eq '2025-05' ? '2025-05-31' : '2025-06-30', submitted_at => '2025-07-01T09:00:00Z',
		entries => [ { kind => 'grant', activity => $G, hours => 80 }, { kind => 'research', activity => 'research', hours => 80 } ] } ]);
	my $took = time - $t;
	is $s, 200, "… X's $month POSTed meanwhile: 200" or diag json_encode($j);
	cmp_ok $took, '<', $SLEEP / 2, sprintf('… answered in %.2f s, not after the charges\' re-audit (%d s)', $took, $SLEEP);
	unlike open_findings('X', 'timesheet_missing'), qr/$month/, "… X's $month re-audited: resolved";
	my ($cs, $cj) = collect_bg($bg);
	is $cs, 200, "the charges of X and $n people: 200" or diag json_encode($cj);
	unlike open_findings('X', 'timesheet_missing'), qr/$month/, "… X's $month not opened again by their older evaluation";
	is psql_value($db, qq{SELECT count(*) FROM findings WHERE resolved_at IS NULL AND rule = 'activity_missing'
		AND person_id BETWEEN '$people->[0]' AND '$people->[-1]'}), $n, "… every one of the $n charged found";
	is psql_value($db, 'SELECT count(*) FROM audit_sweep_overtaken'), 0, '… and the marks deleted';
}
is open_findings('X', 'timesheet_missing'), '2025-01,2025-02,2025-04', "X's months after all that";

done_testing;
