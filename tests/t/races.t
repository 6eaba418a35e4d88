#!/usr/bin/perl
# Races between several effortd instances sharing one database, each
# forced into one interleaving (a row or table lock held by the test while
# the requests queue behind it), so that every run takes the same path:
# the answers, what is stored and the findings afterwards.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use POSIX ();
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode json_decode wait_for);

my $db = new_db();
my $a = start_effortd(db => $db);
my $b = start_effortd(db => $db);
my $feed = $a->token('feed');

# Holds the rows $sql selects FOR UPDATE in a transaction of its own (a
# child psql) until row_unlock; returns once they are locked.
sub row_lock {
	my ($sql, $plain) = @_;
	return $db->hold($plain ? $sql : "$sql FOR UPDATE", 'races_holder');
}

sub row_unlock { $db->release_held($_[0], 'races_holder') }

# Pauses the next feed to open its transaction (BEGIN, then
# feed_stage_open, which readies the session's staging table) until
# unpause: feed_stage_open is replaced for the while by a copy that first
# waits for an advisory lock the test holds (a feed running the copy when
# unpause puts the original back finishes the copy).  Only the first feed
# waits (it takes a second advisory lock for its transaction); feeds after
# it pass.
my $stage_open = psql_value($db, q{SELECT pg_get_functiondef('feed_stage_open()'::regprocedure)});
sub pause_next_feed {
	(my $paused = $stage_open) =~ s/^BEGIN$/BEGIN
	IF pg_try_advisory_xact_lock(7702) THEN
		PERFORM pg_advisory_xact_lock_shared(7701);
	END IF;/m or die "races.t: feed_stage_open has no BEGIN line:\n$stage_open";
	psql($db, $paused);
	return row_lock('SELECT pg_advisory_lock(7701)', 1);
}

# Waits until the paused feed waits.
sub feed_paused {
	return wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_locks
		WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND locktype = 'advisory' AND objid = 7701 AND NOT granted}) }, 10);
}

sub unpause {
	my ($holder) = @_;
	psql($db, $stage_open);
	row_unlock($holder);
}

# Backends of this database waiting for a lock (of the kinds given: by
# default a row's or a transaction's).
sub lock_waiters {
	my (@kinds) = @_;
	@kinds = qw(transactionid tuple) unless @kinds;
	my $in = join ', ', map { "'$_'" } @kinds;
	return psql_value($db, qq{SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'
		  AND wait_event IN ($in)});
}

# The kept findings (GET /v1/violations) and a fresh evaluation of today
# (audit_findings with the rule settings' defaults, as these instances
# run, sorted as GET sorts; ?as_of=today would answer the kept ones), without
# first_detected_at, for comparison.
sub kept_and_fresh {
	my ($d, $token) = @_;
	my ($s1, $kept) = $d->req(GET => '/v1/violations', token => $token);
	die "violations: $s1" unless $s1 == 200;
	my $fresh = json_decode(psql_value($db, q{SELECT coalesce(jsonb_agg(to_jsonb(a)
		ORDER BY a.person_id COLLATE "C", a.period_start, a.rule COLLATE "C",
		         a.grant_ref COLLATE "C" NULLS FIRST, a.period_end), '[]')
		FROM audit_findings(NULL, '{}') a}));
	my $strip = sub { [ map { my %v = %$_; delete @v{qw(first_detected_at resolved_at)}; \%v } @{ $_[0] } ] };
	return ($strip->($kept->{violations}), $strip->($fresh));
}

# In the background, with the first instance's feed token unless given
# (EffortTest::post_bg); collect waits for the answer.
sub post_bg { EffortTest::post_bg(@_[0 .. 2], token => $feed, @_[3 .. $#_]) }
sub collect { EffortTest::collect_bg(@_) }

my @people = (
	{ person_id => 'M1', name => 'Mary One', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'M2', name => 'Mark Two', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'M3', name => 'Mina Three', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'E1', name => 'Eve One', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M1' },
	{ person_id => 'E2', name => 'Eli Two', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M1' },
	{ person_id => 'E3', name => 'Ezra Three', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M1' },
);
my ($s, $j) = post_feed($a, people => \@people, token => $feed);
is $s, 200, 'people stored' or diag json_encode($j);

# ---- 1. Two charges batches updating the same rows in opposite orders,
# one through each instance: they must wait for each other, not deadlock
# (40P01, answered 500).
{
	my @months = ('2026-01', '2026-02', '2026-03');
	($s, $j) = post_feed($a, charges => [ map { { person_id => 'E1', grant_ref => 'G1', month => $_, hours => 10 } } @months ]);
	is $s, 200, 'three charges stored';
	my $holder = row_lock(q{SELECT 1 FROM charges WHERE month = '2026-03-01'});
	# first: January, March (held: it waits), February; second: February, January
	my $first = post_bg($a, charges => [ map { { person_id => 'E1', grant_ref => 'G1', month => $_, hours => 11 } } @months[0, 2, 1] ]);
	ok wait_for(sub { lock_waiters() >= 1 }, 10), 'the first batch waits for the held March row';
	my $second = post_bg($b, charges => [ map { { person_id => 'E1', grant_ref => 'G1', month => $_, hours => 12 } } @months[1, 0] ]);
	ok wait_for(sub { lock_waiters() >= 2 }, 10), 'the second batch waits too';
	row_unlock($holder);
	my ($s1, $j1) = collect($first);
	my ($s2, $j2) = collect($second);
	is $s1, 200, 'the first batch is stored (no deadlock)' or diag json_encode($j1);
	is $s2, 200, 'the second batch is stored (no deadlock)' or diag json_encode($j2);
	unlike $a->log_text . $b->log_text, qr/40P01|deadlock/, 'no deadlock in the logs';
	is_deeply [ map { $_->[0] } psql($db, q{SELECT hours FROM charges ORDER BY month}) ],
		[ $s2 == 200 ? ('12.00', '12.00', '11.00') : ('11.00', '11.00', '11.00') ],
		'the charges are those of the batch stored last';
}

# Stores $person's October timesheet (150 research hours, their only one)
# through A; returns its id.
sub store_october {
	my ($person) = @_;
	my ($st, $jj) = post_feed($a, timesheets => [ { person_id => $person, period_start => '2026-10-01',
		period_end => '2026-10-31', submitted_at => '2026-11-02T09:00:00Z',
		entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
	is $st, 200, "$person October timesheet stored" or diag json_encode($jj);
	return psql_value($db, qq{SELECT timesheet_id FROM timesheets WHERE person_id = '$person'});
}

# ---- 2. A people feed moving E2 to M2 has begun (its transaction is
# open: the body is being staged) when M1, still E2's line manager,
# approves E2's October timesheet through the other instance.  The
# approval is answered 200; once the feed is stored the authorisation must
# stay valid: the change is in force from when it was stored, after the
# approval, not from when the feed's transaction began.
{
	my $id = store_october('E2');
	my $pause = pause_next_feed();
	my $move = post_bg($a, people => [ { %{ $people[4] }, line_manager_id => 'M2' } ]);
	ok feed_paused(), 'the people feed has begun';
	my ($s2, $j2) = $b->req(POST => "/v1/timesheets/$id/approve", token => $b->token('manager', 'M1'));
	is $s2, 200, 'M1 approves E2 October through B meanwhile' or diag json_encode($j2);
	unpause($pause);
	my ($s1, $j1) = collect($move);
	is $s1, 200, 'the people feed (E2 to M2) is stored' or diag json_encode($j1);
	is psql_value($db, q{SELECT effort_line_manager_at('E2', decided_at) FROM timesheet_decisions
		WHERE timesheet_id = } . $id), 'M1', 'the history says M1 managed E2 when the approval was recorded';
	my ($kept, $fresh) = kept_and_fresh($a, $a->token('reviewer'));
	is_deeply [ grep { $_->{person_id} eq 'E2' && $_->{rule} eq 'authorisation_invalid' } @$fresh ], [],
		'no authorisation_invalid for the approval answered 200' or diag explain $fresh;
	is_deeply $kept, $fresh, 'the kept findings equal a fresh evaluation';
}

# ---- 3. Two people feeds change E1's line manager at once: the one that
# began first (to M2) is stored last, after the other (to M3).  The people
# table and the line manager history must agree that M2 manages E1: M2
# may approve E1's timesheet, M3 may not.
{
	my $id = store_october('E1');
	my $pause = pause_next_feed();
	my $first = post_bg($a, people => [ { %{ $people[3] }, line_manager_id => 'M2' } ]);
	ok feed_paused(), 'the feed moving E1 to M2 has begun';
	my ($s2, $j2) = post_feed($b, people => [ { %{ $people[3] }, line_manager_id => 'M3' } ]);
	is $s2, 200, 'E1 moved to M3 through B meanwhile' or diag json_encode($j2);
	unpause($pause);
	my ($s1, $j1) = collect($first);
	is $s1, 200, 'the feed moving E1 to M2 is stored last' or diag json_encode($j1);
	is psql_value($db, q{SELECT line_manager_id FROM people WHERE person_id = 'E1'}), 'M2',
		'people: M2 manages E1';
	is psql_value($db, q{SELECT effort_line_manager_at('E1', now())}), 'M2',
		'the line manager history agrees: M2 manages E1 now';
	my ($s3, $j3) = $b->req(POST => "/v1/timesheets/$id/approve", token => $b->token('manager', 'M3'));
	is $s3, 403, 'M3 may not approve E1 October' or diag json_encode($j3);
	($s3, $j3) = $a->req(POST => "/v1/timesheets/$id/approve", token => $a->token('manager', 'M2'));
	is $s3, 200, 'M2 approves it' or diag json_encode($j3);
	my ($kept, $fresh) = kept_and_fresh($a, $a->token('reviewer'));
	is_deeply [ grep { $_->{rule} eq 'authorisation_invalid' } @$fresh ], [], 'no authorisation_invalid'
		or diag explain $fresh;
	is_deeply $kept, $fresh, 'the kept findings equal a fresh evaluation';
}

# ---- 4. A people batch of E1, E2 and E3 and a timesheets batch of E1
# and E2 at once, on two instances, with E2 held: the people feed must lock
# its people in key order, as the timesheets feed does, so that neither
# waits for the other while holding what the other needs.  (It locked them
# in the order of its plan, here the table's: E3, E2 then E1, the last two
# updated above; the timesheets batch, holding E1, waited for E2 and the
# people batch, holding E2, for E1: a deadlock, answered 500.)
{
	my $holder = row_lock(q{SELECT 1 FROM people WHERE person_id = 'E2'});
	my $pf = post_bg($a, people => [ map { { %$_, name => "$_->{name} (renamed)" } } @people[3, 4, 5] ]);
	ok wait_for(sub { lock_waiters() >= 1 }, 10), 'the people batch waits for E2';
	my $tf = post_bg($b, timesheets => [ map { { person_id => $_, period_start => '2026-09-01', period_end => '2026-09-30',
		submitted_at => '2026-10-01T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 140 } ] } } qw(E1 E2) ]);
	ok wait_for(sub { lock_waiters() >= 2 }, 10), 'the timesheets batch waits too';
	row_unlock($holder);
	my ($s1, $j1) = collect($pf);
	my ($s2, $j2) = collect($tf);
	is $s1, 200, 'the people batch is stored' or diag json_encode($j1);
	is $s2, 200, 'the timesheets batch is stored' or diag json_encode($j2);
	unlike $a->log_text . $b->log_text, qr/40P01|deadlock/, 'no deadlock in the logs';
	is psql_value($db, q{SELECT count(*) FROM people WHERE name LIKE '%(renamed)'}), 3, 'the three people renamed';
	is psql_value($db, q{SELECT count(*) FROM timesheets WHERE period_start = '2026-09-01'}), 2, 'the two timesheets stored';
}

my $m1 = $a->token('manager', 'M1');

# ---- 5. The same timesheet version posted by two feeds at once, one
# through each instance (the first paused as it begins): the first to be
# stored creates it, the other finds it unchanged; with other entries and
# the same submitted_at, the later one stored is version 2.
{
	my $v = { person_id => 'E3', period_start => '2026-08-01', period_end => '2026-08-31',
		submitted_at => '2026-09-01T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 160 } ] };
	my $pause = pause_next_feed();
	my $first = post_bg($a, timesheets => [$v]);
	ok feed_paused(), 'the first feed has begun';
	my ($s2, $j2) = post_feed($b, timesheets => [$v]);
	is_deeply [ $s2, @{$j2}{qw(created updated unchanged)} ], [ 200, 1, 0, 0 ], 'the second creates it';
	unpause($pause);
	my ($s1, $j1) = collect($first);
	is_deeply [ $s1, @{$j1}{qw(created updated unchanged)} ], [ 200, 0, 0, 1 ], 'the first finds it unchanged';

	my $w = { %$v, period_start => '2026-07-01', period_end => '2026-07-31', submitted_at => '2026-08-01T09:00:00Z' };
	$pause = pause_next_feed();
	$first = post_bg($a, timesheets => [ { %$w, entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
	ok feed_paused(), 'July: the first feed has begun';
	($s2, $j2) = post_feed($b, timesheets => [$w]);
	is_deeply [ $s2, @{$j2}{qw(created updated unchanged)} ], [ 200, 1, 0, 0 ], 'July: the second creates version 1';
	unpause($pause);
	($s1, $j1) = collect($first);
	is_deeply [ $s1, @{$j1}{qw(created updated unchanged)} ], [ 200, 0, 1, 0 ], 'July: the first stores version 2';
	is_deeply [ map { "@$_" } psql($db, q{SELECT version, total_hours FROM timesheets
		WHERE person_id = 'E3' AND period_start = '2026-07-01' ORDER BY version}) ],
		[ '1 160.00', '2 150.00' ], 'July: two versions, numbered in the order stored';
}

# ---- 6. Approve and reject of one timesheet at once, by the line manager
# and a delegate, through two instances (queued behind a held lock on the
# person): exactly one decision is stored, the other is a 409.
{
	($s, $j) = post_feed($a, delegations => [ { manager_id => 'M1', delegate_id => 'M2', start_date => '2026-01-01', end_date => '2027-12-31' } ]);
	is $s, 200, 'M1 delegates to M2' or diag json_encode($j);
	my $id = psql_value($db, q{SELECT max(timesheet_id) FROM timesheets WHERE person_id = 'E3' AND period_start = '2026-08-01'});
	my $holder = row_lock(q{SELECT 1 FROM people WHERE person_id = 'E3'});
	my $approve = post_bg($a, undef, undef, path => "/v1/timesheets/$id/approve", token => $m1);
	ok wait_for(sub { lock_waiters() >= 1 }, 10), 'the approval waits';
	my $reject = post_bg($b, undef, { reason => 'hours look wrong' }, path => "/v1/timesheets/$id/reject",
		token => $b->token('manager', 'M2'));
	ok wait_for(sub { lock_waiters() >= 2 }, 10), 'the rejection waits too';
	row_unlock($holder);
	my ($s1, $j1) = collect($approve);
	my ($s2, $j2) = collect($reject);
	is $s1, 200, 'the approval, first in the queue, is stored' or diag json_encode($j1);
	is_deeply [ $s2, $j2->{error} ], [ 409, 'already authorised by M1' ], 'the rejection is refused 409'
		or diag json_encode($j2);
	is psql_value($db, "SELECT string_agg(decision, ',') FROM timesheet_decisions WHERE timesheet_id = $id"),
		'authorised', 'one decision stored';
}

# ---- 7. A new version of a timesheet and its approval at once: the
# version, first in the queue, is stored; the approval of the superseded
# version is a 409.  Then the reverse order: the approval first, and the
# new version without an amendment_reason is a 422.
{
	my $v = { person_id => 'E3', period_start => '2026-06-01', period_end => '2026-06-30',
		submitted_at => '2026-07-01T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 160 } ] };
	($s, $j) = post_feed($a, timesheets => [$v]);
	is $s, 200, 'June version 1';
	my $id = psql_value($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'E3' AND period_start = '2026-06-01'});
	my $v2 = { %$v, submitted_at => '2026-07-02T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 161 } ] };
	my $holder = row_lock(q{SELECT 1 FROM people WHERE person_id = 'E3'});
	my $feedjob = post_bg($a, timesheets => [$v2]);
	ok wait_for(sub { lock_waiters() >= 1 }, 10), 'the new version waits';
	my $approve = post_bg($b, undef, undef, path => "/v1/timesheets/$id/approve", token => $b->token('manager', 'M1'));
	ok wait_for(sub { lock_waiters() >= 2 }, 10), 'the approval waits too';
	row_unlock($holder);
	my ($s1, $j1) = collect($feedjob);
	my ($s2, $j2) = collect($approve);
	is $s1, 200, 'the new version is stored' or diag json_encode($j1);
	is $s2, 409, 'the approval of version 1 is refused 409' or diag json_encode($j2);
	like $j2->{error}, qr/^version 1 is superseded by version 2/, '… as superseded';

	my $id2 = psql_value($db, q{SELECT max(timesheet_id) FROM timesheets WHERE person_id = 'E3' AND period_start = '2026-06-01'});
	my $v3 = { %$v, submitted_at => '2026-07-03T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 162 } ] };
	$holder = row_lock(q{SELECT 1 FROM people WHERE person_id = 'E3'});
	$approve = post_bg($b, undef, undef, path => "/v1/timesheets/$id2/approve", token => $b->token('manager', 'M1'));
	ok wait_for(sub { lock_waiters() >= 1 }, 10), 'the approval of version 2 waits';
	$feedjob = post_bg($a, timesheets => [$v3]);
	ok wait_for(sub { lock_waiters() >= 2 }, 10), 'version 3 waits too';
	row_unlock($holder);
	($s2, $j2) = collect($approve);
	($s1, $j1) = collect($feedjob);
	is $s2, 200, 'the approval of version 2 is stored' or diag json_encode($j2);
	is_deeply [ $s1, map { $_->{field} } @{ $j1->{errors} // [] } ], [ 422, 'amendment_reason' ],
		'version 3 without an amendment_reason is refused 422' or diag json_encode($j1);
	is psql_value($db, q{SELECT max(version) FROM timesheets WHERE person_id = 'E3' AND period_start = '2026-06-01'}), 2,
		'nothing of version 3 stored';
}

# ---- 8. SIGTERM of an instance while a feed it runs waits to commit (the
# audit trail's lock, held here): the drain timeout passes, the feed is
# cancelled and answered 503 saying the outcome is unknown; whatever the
# answer, the database holds the batch only when it says so, and the
# trail verifies.
{
	my $c = start_effortd(db => $db, 'limits.drain_timeout' => 1);
	my $cfeed = $c->token('feed');    # (a token is logged: before the lock)
	my $holder = row_lock('SELECT pg_advisory_lock(7046372004)', 1);
	my $job = post_bg($c, grants => [ { grant_ref => 'G9', title => 'Stopped', start_date => '2026-01-01', end_date => '2027-12-31' } ],
		token => $cfeed);
	ok wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND locktype = 'advisory'
		AND classid = 1 AND objid = 2751404708 AND NOT granted}) }, 10), 'the grants feed waits to commit';
	$c->signal('TERM');
	my ($s1, $j1) = collect($job);
	is $s1, 503, 'the feed is answered 503' or diag json_encode($j1);
	like $j1->{error}, qr/whether it was stored is unknown/, '… saying the outcome is unknown';
	is $c->stop('TERM', 20), 0, 'the instance exits 0' or diag $c->log_text;
	sleep 0.3;
	row_unlock($holder);
	ok wait_for(sub { !psql_value($db, q{SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'COMMIT' AND state = 'active'}) }, 10),
		'no backend of the stopped instance is left committing';
	is psql_value($db, q{SELECT count(*) FROM grants WHERE grant_ref = 'G9'}), 0,
		'its COMMIT was cancelled with the request: nothing stored after effortd stopped';
}

# ---- 9. Two people feeds bring the same new person, N1, with different
# line managers: the first (A0 and N1, to M2) waits for A0, held here
# uncommitted, while the second (N1, to M3) creates N1; the first then
# updates N1 to M2.  The history must end where the people table does.
{
	my $holder = row_lock(q{INSERT INTO people (person_id, name, fte, employment_start)
		VALUES ('A0', 'Held', 1, '2020-01-06')}, 1);
	my $first = post_bg($a, people => [
		{ person_id => 'A0', name => 'Ann Zero', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M1' },
		{ person_id => 'N1', name => 'Ned One', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M2' } ]);
	ok wait_for(sub { lock_waiters() >= 1 }, 10), 'the first feed waits for A0';
	my ($s2, $j2) = post_feed($b, people => [
		{ person_id => 'N1', name => 'Ned One', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M3' } ]);
	is_deeply [ $s2, $j2->{created} ], [ 200, 1 ], 'the second creates N1, managed by M3' or diag json_encode($j2);
	row_unlock($holder);
	my ($s1, $j1) = collect($first);
	is_deeply [ $s1, @{$j1}{qw(created updated)} ], [ 200, 1, 1 ], 'the first creates A0 and moves N1 to M2'
		or diag json_encode($j1);
	is psql_value($db, q{SELECT line_manager_id FROM people WHERE person_id = 'N1'}), 'M2', 'people: M2 manages N1';
	is psql_value($db, q{SELECT effort_line_manager_at('N1', now())}), 'M2',
		'the line manager history agrees: M2 manages N1 now';
	my $rows = psql_value($db, q{SELECT count(*) FROM line_manager_history});
	($s, $j) = post_feed($a, people => [ @people[0, 1], { person_id => 'N1', name => 'Ned One', fte => 1,
		employment_start => '2020-01-06', line_manager_id => 'M2' } ]);
	is $s, 200, 'people sent again (M1 and M2 without a manager, N1 as stored)';
	is psql_value($db, q{SELECT count(*) FROM line_manager_history}), $rows, '… adds no history';
}

# ---- 10. A manager and their delegate approve the same two timesheets
# at once in opposite orders (POST /v1/approvals), through two instances:
# the people are locked in key order, so one list waits for the other;
# the first approves both, the second is refused both (409).
{
	my @ids;
	for my $who (qw(A0 E3)) {
		($s, $j) = post_feed($a, timesheets => [ { person_id => $who, period_start => '2026-05-01', period_end => '2026-05-31',
			submitted_at => '2026-06-01T09:00:00Z', entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
		is $s, 200, "$who May stored" or diag json_encode($j);
		push @ids, psql_value($db, "SELECT timesheet_id FROM timesheets WHERE person_id = '$who' AND period_start = '2026-05-01'") + 0;
	}
	my $holder = row_lock(q{SELECT 1 FROM people WHERE person_id = 'E3'});
	my $mine = post_bg($a, undef, { timesheet_ids => [@ids] }, path => '/v1/approvals', token => $m1);
	ok wait_for(sub { lock_waiters() >= 1 }, 10), "the manager's list waits";
	my $theirs = post_bg($b, undef, { timesheet_ids => [ reverse @ids ] }, path => '/v1/approvals',
		token => $b->token('manager', 'M2'));
	ok wait_for(sub { lock_waiters() >= 2 }, 10), "the delegate's list waits too";
	row_unlock($holder);
	my ($s1, $j1) = collect($mine);
	my ($s2, $j2) = collect($theirs);
	is_deeply [ $s1, scalar @{ $j1->{approved} }, scalar @{ $j1->{refused} } ], [ 200, 2, 0 ],
		'the manager approves both' or diag json_encode($j1);
	is_deeply [ $s2, scalar @{ $j2->{approved} }, map { $_->{http_status} } @{ $j2->{refused} } ], [ 200, 0, 409, 409 ],
		'the delegate is refused both, 409' or diag json_encode($j2);
	is psql_value($db, 'SELECT count(*) FROM timesheet_decisions WHERE timesheet_id IN (' . join(',', @ids) . ')'), 2,
		'two decisions stored';
}

# ---- After every race: the trail verifies; the kept findings equal a
# fresh evaluation once a sweep ran.
{
	my $admin = $a->token('admin');
	my ($s1, $j1) = $b->req(GET => '/v1/audit/verify', token => $admin);
	ok $s1 == 200 && $j1->{ok}, 'the audit trail verifies' or diag json_encode($j1);
	my ($kept, $fresh) = kept_and_fresh($b, $admin);
	is_deeply $kept, $fresh, 'the kept findings equal a fresh evaluation';
}

done_testing;
