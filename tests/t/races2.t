#!/usr/bin/perl
# The re-audit's scope against concurrent writes, on two effortd instances
# sharing one database.  After every stored write effortd re-audits the
# people whose findings it can change (the "people" of its answer) in a
# transaction of its own, after its COMMIT.  A grant reaches the people
# assigned to it or with hours recorded on it, a delegation the people its
# manager ever line-managed: when that reach was read by the write itself,
# before its COMMIT, a person connected meanwhile through another instance
# (an assignment, a timesheet, a line manager change), whose own re-audit
# ran before the write committed, was re-audited by neither with the
# write seen.
#
# Each interleaving is forced: the first write is paused at its commit (a
# deferred trigger the test adds to its table waits for an advisory lock
# the test holds), everything else it does done, while the other write is
# stored and answered through the other instance; then the first commits
# and answers.  After both answered, with no full sweep in between, the
# kept findings (the open rows of findings, what GET /v1/violations
# answers, also with ?as_of=today) must equal a fresh evaluation of the
# rules (audit_findings).
# Races (they failed while the write read its reach): 1 and 2 (a grant's),
# 4 (a delegation feed's manager's), 5 (POST /v1/me/delegations').  No
# race, documented: 3 and 6 (1 and 4 mirrored: the paused write's own
# re-audit, after its COMMIT, sees the other write) and 7 (an approval
# re-audits its own person, after its COMMIT).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode json_decode wait_for clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $a = start_effortd(db => $db);
my $b = start_effortd(db => $db);
my $feed = $a->token('feed');
my $reviewer = $a->token('reviewer');

# Holds the advisory lock of $sql in a psql child of its own until
# release; returns once it is held.
sub hold { $db->hold($_[0], 'races2_holder') }
sub release { $db->release_held($_[0], 'races2_holder') }

# Pauses the next transaction that writes $table at its COMMIT: a deferred
# trigger waits there for advisory lock 7801, held here until resume.  It
# fires before the audit trail's flush (queued after the rows' events), so
# the paused transaction holds no lock another write needs to commit.
# Only the first such transaction waits (it takes 7802 for itself).
sub pause_commit {
	my ($table) = @_;
	psql($db, qq{
		CREATE OR REPLACE FUNCTION races2_pause() RETURNS trigger LANGUAGE plpgsql AS \$f\$
		BEGIN
			IF pg_try_advisory_xact_lock(7802) THEN
				PERFORM pg_advisory_xact_lock_shared(7801);
			END IF;
			RETURN NULL;
		END \$f\$;
		CREATE CONSTRAINT TRIGGER races2_pause AFTER INSERT OR UPDATE ON $table
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION races2_pause();
	});
	return { table => $table, holder => hold('SELECT pg_advisory_lock(7801)') };
}

# Whether a transaction waits at its commit for the pause (a feed's
# COMMIT; a decision's or a delegation's one statement, which commits as
# it ends).
sub commit_paused {
	return wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_locks
		WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND locktype = 'advisory' AND objid = 7801 AND NOT granted}) }, 10);
}

sub resume {
	my ($pause) = @_;
	release($pause->{holder});
}

# Drops the pause's trigger once the paused transaction has ended.
sub unpause {
	my ($pause) = @_;
	psql($db, "DROP TRIGGER races2_pause ON $pause->{table}; DROP FUNCTION races2_pause()");
}

# In the background, with the first instance's feed token unless given
# (EffortTest::post_bg); collect waits for the answer.
sub post_bg { EffortTest::post_bg(@_[0 .. 2], token => $feed, @_[3 .. $#_]) }
sub collect { EffortTest::collect_bg(@_) }

# The kept findings of $person (the open rows of findings, what GET
# /v1/violations answers without as_of, or with today's date) and a fresh
# evaluation of the rules as of today (audit_findings, with the rule
# settings' defaults, as these instances run), each a sorted list of
# "rule period_start period_end grant severity hours detail".
sub kept_and_fresh {
	my ($person) = @_;
	my $cond = defined $person ? "person_id = '$person'" : 'true';
	my $people = defined $person ? "ARRAY['$person']" : 'NULL';
	my $line = q{concat_ws(' ', person_id, rule, period_start, period_end, coalesce(grant_ref, '-'), severity,
		round(hours, 2), detail)};
	my @kept = map { $_->[0] } psql($db, "SELECT $line FROM findings WHERE resolved_at IS NULL AND $cond ORDER BY 1");
	my @fresh = map { $_->[0] } psql($db, "SELECT $line FROM audit_findings(NULL, '{}', $people) ORDER BY 1");
	return (\@kept, \@fresh);
}

# The full sweeps the two instances logged so far.
sub full_sweeps {
	my $n = () = ($a->log_text . $b->log_text) =~ /audit sweep: \{/g;
	return $n;
}

# The rule, period start and grant of each finding of kept_and_fresh's.
sub rules_of {
	my ($list) = @_;
	return [ map { my @w = split / /; join ' ', @w[1, 2], $w[4] eq '-' ? () : $w[4] } @$list ];
}

# A timestamp $min minutes from now, in UTC, as the feeds take it.
sub utc_in {
	my ($min) = @_;
	return scalar psql($db, qq{SELECT to_char((now() + interval '$min minutes') AT TIME ZONE 'UTC',
		'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
}

# Races the paused write against the other (a code ref, run meanwhile);
# returns the answers of both.
sub race {
	my (%o) = @_;
	my $sweeps = full_sweeps();
	my $pause = pause_commit($o{table});
	my $first = post_bg($a, $o{feed}, $o{body}, %{ $o{opts} // {} });
	ok commit_paused(), "$o{name}: the first write waits at its COMMIT, its re-audit's scope decided";
	my @second = $o{meanwhile}->();
	resume($pause);
	my @first = collect($first);
	unpause($pause);
	is full_sweeps(), $sweeps, "$o{name}: no full sweep ran meanwhile";
	return (\@first, \@second);
}

my @people = (
	(map { { person_id => $_, name => "Manager $_", fte => 1, employment_start => '2020-01-06' } } qw(MA MB MC XD)),
	(map { { person_id => $_, name => "Staff $_", fte => 1, employment_start => '2020-01-06', line_manager_id => 'MA' } }
		qw(P1 P2 P3 P4 P5 P6 P7)),
);
my ($s, $j) = post_feed($a, people => \@people);
is $s, 200, 'people stored' or diag json_encode($j);
($s, $j) = post_feed($a, grants => [ map { { grant_ref => $_, title => "Grant $_", funder => 'EPSRC',
	start_date => '2025-01-01', end_date => '2026-06-30' } } qw(G1 G2 G5) ]);
is $s, 200, 'grants stored' or diag json_encode($j);
# Both instances' first full sweeps (a second after they started) are done.
ok wait_for(sub { full_sweeps() >= 2 }, 20), 'the first full sweeps ran';

# ---- 1. A grants feed moves G1's end from 2026-06 to 2025-03 (paused at
# its COMMIT) while an assignments feed assigns P1 to G1, open-ended (to
# the grant's end), 0.5 FTE, DI: every month of it to the grant's end
# needs a timesheet.  The assignment's re-audit did not see the new end;
# the grants feed's reach was read before P1 was assigned.
{
	my ($first, $second) = race(name => 'grants/assignments', table => 'grants', feed => 'grants',
		body => [ { grant_ref => 'G1', title => 'Grant G1', funder => 'EPSRC', start_date => '2025-01-01',
			end_date => '2025-03-31' } ],
		meanwhile => sub { post_feed($b, assignments => [ { person_id => 'P1', grant_ref => 'G1', role => 'researcher',
			cost_type => 'DI', start_date => '2025-01-01', fte_share => 0.5 } ]) });
	is $second->[0], 200, 'the assignment of P1 to G1 is stored meanwhile' or diag json_encode($second->[1]);
	is $first->[0], 200, 'the grants feed is stored' or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P1');
	is_deeply rules_of($fresh), [ map { "timesheet_missing 2025-0$_-01" } 1 .. 3 ],
		'fresh: P1 needs timesheets January to March 2025 (G1 ends in March)';
	is_deeply $kept, $fresh, 'P1: the kept findings equal a fresh evaluation';
}

# ---- 2. A grants feed moves G2's start from 2025-01 to 2025-06 (paused)
# while a timesheets feed records P2's March 2025 hours on G2: March is
# now outside G2's period.
{
	my ($first, $second) = race(name => 'grants/timesheets', table => 'grants', feed => 'grants',
		body => [ { grant_ref => 'G2', title => 'Grant G2', funder => 'EPSRC', start_date => '2025-06-01',
			end_date => '2026-06-30' } ],
		meanwhile => sub { post_feed($b, timesheets => [ { person_id => 'P2', period_start => '2025-03-01',
			period_end => '2025-03-31', submitted_at => '2025-04-01T09:00:00Z',
			entries => [ { kind => 'grant', activity => 'G2', hours => 80 },
			             { kind => 'research', activity => 'research', hours => 78.75 } ] } ]) });
	is $second->[0], 200, "P2's March timesheet is stored meanwhile" or diag json_encode($second->[1]);
	is $first->[0], 200, 'the grants feed is stored' or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P2');
	ok((grep { $_ eq 'outside_grant_period 2025-03-01 G2' } @{ rules_of($fresh) }),
		'fresh: the March hours on G2 are outside its period') or diag explain $fresh;
	is_deeply $kept, $fresh, 'P2: the kept findings equal a fresh evaluation';
}

# ---- 3. (1 mirrored, no race) an assignments feed assigns P5 to G5
# (paused) while a grants feed moves G5's end to 2025-02: the grants
# feed's re-audit misses P5, but the assignment's, after its COMMIT, sees
# the new end.
{
	my ($first, $second) = race(name => 'assignments/grants', table => 'assignments', feed => 'assignments',
		body => [ { person_id => 'P5', grant_ref => 'G5', role => 'researcher', cost_type => 'DI',
			start_date => '2025-01-01', fte_share => 0.5 } ],
		meanwhile => sub { post_feed($b, grants => [ { grant_ref => 'G5', title => 'Grant G5', funder => 'EPSRC',
			start_date => '2025-01-01', end_date => '2025-02-28' } ]) });
	is $second->[0], 200, 'G5 moved meanwhile' or diag json_encode($second->[1]);
	is $first->[0], 200, 'the assignment is stored' or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P5');
	is_deeply rules_of($fresh), [ map { "timesheet_missing 2025-0$_-01" } 1 .. 2 ], 'fresh: January and February';
	is_deeply $kept, $fresh, 'P5: the kept findings equal a fresh evaluation';
}

# P3 and P4 have an October 2025 timesheet each, authorised by XD two
# hours from now (a feed may date an authorisation up to a day after it
# is received): invalid while MA, who never delegated to XD, manages them
# then.
my $ts_xd = sub {
	my ($who) = @_;
	return { person_id => $who, period_start => '2025-10-01', period_end => '2025-10-31',
		submitted_at => '2025-11-03T09:00:00Z', authorised_by => 'XD', authorised_at => utc_in(120),
		entries => [ { kind => 'research', activity => 'research', hours => 172.5 } ] };
};
($s, $j) = post_feed($a, timesheets => [ $ts_xd->('P3') ]);
is $s, 200, 'P3 October 2025, authorised by XD, stored' or diag json_encode($j);

# ---- 4. A delegations feed records MB delegating to XD (paused) while a
# people feed moves P3 from MA to MB: from now on MB manages P3, so XD's
# authorisation (made two hours from now) is MB's delegate's.  The
# people feed's re-audit did not see the delegation; the delegations
# feed's reach (whom MB ever managed) was read before P3 moved.
{
	my ($kept0) = kept_and_fresh('P3');
	ok((grep { $_ eq 'authorisation_invalid 2025-10-01' } @{ rules_of($kept0) }),
		'before: the authorisation by XD is invalid') or diag explain $kept0;
	my ($first, $second) = race(name => 'delegations/people', table => 'delegations', feed => 'delegations',
		body => [ { manager_id => 'MB', delegate_id => 'XD', start_date => '2025-01-01', end_date => '2027-12-31' } ],
		meanwhile => sub { post_feed($b, people => [ { %{ $people[6] }, line_manager_id => 'MB' } ]) });
	is $second->[0], 200, 'P3 moved to MB meanwhile' or diag json_encode($second->[1]);
	is $first->[0], 200, 'the delegations feed is stored' or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P3');
	is_deeply [ grep { /authorisation_invalid/ } @{ rules_of($fresh) } ], [],
		'fresh: the authorisation is valid (MB manages P3 then; XD is his delegate)' or diag explain $fresh;
	is_deeply $kept, $fresh, 'P3: the kept findings equal a fresh evaluation';
}

# ---- 5. MC delegates to XD himself (POST /v1/me/delegations, from today:
# it counts for authorisations recorded after it; paused) while a people
# feed moves P4 from MA to MC and a timesheets feed records P4's October
# authorised by XD: both see no delegation.
{
	my $today = psql_value($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
	my ($first, $second) = race(name => 'own delegation/people', table => 'delegations', feed => undef,
		body => { delegate_id => 'XD', start_date => $today, end_date => '2027-12-31' },
		opts => { path => '/v1/me/delegations', token => $a->token('manager', 'MC') },
		meanwhile => sub {
			my ($s1, $j1) = post_feed($b, people => [ { %{ $people[7] }, line_manager_id => 'MC' } ]);
			is $s1, 200, 'P4 moved to MC meanwhile' or diag json_encode($j1);
			post_feed($b, timesheets => [ $ts_xd->('P4') ]);
		});
	is $second->[0], 200, 'P4 October, authorised by XD, stored meanwhile' or diag json_encode($second->[1]);
	is $first->[0], 200, "MC's delegation is stored" or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P4');
	is_deeply [ grep { /authorisation_invalid/ } @{ rules_of($fresh) } ], [],
		'fresh: the authorisation is valid (recorded after the delegation)' or diag explain $fresh;
	is_deeply $kept, $fresh, 'P4: the kept findings equal a fresh evaluation';
}

# ---- 6. (4 mirrored, no race) a people feed moves P6 from MA to MB
# (paused) while a delegations feed ends MB's delegation to XD yesterday
# and records one of MB to MC: P6's own re-audit, after its COMMIT, sees
# them.  P6's October is authorised by MC two hours from now.
{
	($s, $j) = post_feed($a, timesheets => [ { %{ $ts_xd->('P6') }, authorised_by => 'MC' } ]);
	is $s, 200, 'P6 October, authorised by MC, stored' or diag json_encode($j);
	my ($first, $second) = race(name => 'people/delegations', table => 'people', feed => 'people',
		body => [ { %{ $people[9] }, line_manager_id => 'MB' } ],
		meanwhile => sub { post_feed($b, delegations => [
			{ manager_id => 'MB', delegate_id => 'MC', start_date => '2025-01-01', end_date => '2027-12-31' } ]) });
	is $second->[0], 200, 'MB delegates to MC meanwhile' or diag json_encode($second->[1]);
	is $first->[0], 200, 'P6 moved to MB' or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P6');
	is_deeply [ grep { /authorisation_invalid/ } @{ rules_of($fresh) } ], [], 'fresh: the authorisation is valid'
		or diag explain $fresh;
	is_deeply $kept, $fresh, 'P6: the kept findings equal a fresh evaluation';
}

# ---- 7. (no race) XD, MA's delegate, approves P7's October (paused)
# while a delegations feed ends that delegation yesterday: the approval
# was allowed when it was checked, and is invalid once both are stored.
# Both re-audit P7 (the approval its own person, the delegation whom MA
# manages), each after its COMMIT.
{
	($s, $j) = post_feed($a, delegations => [
		{ manager_id => 'MA', delegate_id => 'XD', start_date => '2025-01-01', end_date => '2027-12-31' } ]);
	is $s, 200, 'MA delegates to XD' or diag json_encode($j);
	($s, $j) = post_feed($a, timesheets => [ { person_id => 'P7', period_start => '2025-10-01', period_end => '2025-10-31',
		submitted_at => '2025-11-03T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 172.5 } ] } ]);
	is $s, 200, 'P7 October stored' or diag json_encode($j);
	my $id = psql_value($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'P7'});
	my $yesterday = psql_value($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date - 1});
	my ($first, $second) = race(name => 'approval/delegations', table => 'timesheet_decisions', feed => undef, body => undef,
		opts => { path => "/v1/timesheets/$id/approve", token => $a->token('manager', 'XD') },
		meanwhile => sub { post_feed($b, delegations => [
			{ manager_id => 'MA', delegate_id => 'XD', start_date => '2025-01-01', end_date => $yesterday } ]) });
	is $second->[0], 200, 'the delegation ends yesterday, meanwhile' or diag json_encode($second->[1]);
	is $first->[0], 200, 'XD approves P7 October' or diag json_encode($first->[1]);
	my ($kept, $fresh) = kept_and_fresh('P7');
	ok((grep { /authorisation_invalid/ } @{ rules_of($fresh) }), 'fresh: the approval is invalid')
		or diag explain $fresh;
	is_deeply $kept, $fresh, 'P7: the kept findings equal a fresh evaluation';
}

# ---- Everyone, and the trail.
{
	my ($s1, $j1) = $b->req(GET => '/v1/audit/verify', token => $a->token('admin'));
	ok $s1 == 200 && $j1->{ok}, 'the audit trail verifies' or diag json_encode($j1);
	my ($kept, $fresh) = kept_and_fresh(undef);
	is_deeply $kept, $fresh, 'everyone: the kept findings equal a fresh evaluation';
}

done_testing;
