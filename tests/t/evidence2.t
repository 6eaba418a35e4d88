# Evidence that cannot be bent past the audit trail: what a compromised
# effortd, connected as its runtime role (effort_grant_runtime), can and
# cannot do to timesheet versions, entries, decisions, the line manager
# history, audit_pending and audit_log; that a REPEATABLE READ writer racing
# another commit cannot fork the chain; that concurrent writers, a rollback
# after staging and a crash while a flush waits leave no gap, duplicate or
# fork; and what GET /v1/audit/verify (audit_verify) says about each kind
# of tampering by the owner.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep);
use POSIX ();
use EffortTest qw(new_db start_effortd psql post_feed json_encode json_decode private_cluster wait_for month_ago);

my $db = new_db();
my $d = start_effortd(db => $db);
my $role = "effortd_ev2_$$";
my $rt = $db->runtime_role($role);

my ($s, $j) = post_feed($d, people => [
	{ person_id => 'M1', name => 'Manager One', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'P1', name => 'Person One', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-01' },
	{ person_id => 'X9', name => 'Someone Else', fte => 1, employment_start => '2020-01-01' } ]);
is $s, 200, 'people: 200' or diag json_encode($j);
($s, $j) = post_feed($d, timesheets => [ { person_id => 'P1', period_start => '2025-01-01', period_end => '2025-01-31',
	submitted_at => '2025-02-01T10:00:00Z', authorised_by => 'M1', authorised_at => '2025-02-03T10:00:00Z',
	entries => [ { kind => 'research', activity => 'r', hours => 150 } ] } ]);
is $s, 200, 'a timesheet, authorised: 200' or diag json_encode($j);
my $ts = psql($db, q{SELECT max(timesheet_id) FROM timesheets});

# SQL as the runtime role: 'ok' or the error.
sub as_rt {
	my ($sql) = @_;
	my @r = eval { EffortTest::psql_cluster($rt, $db->name, $sql) };
	return $@ ? $@ : 'ok';
}
# Everything the evidence is: versions, entries, decisions, line managers.
sub evidence {
	return scalar psql($db, q{SELECT md5(concat_ws('|',
		(SELECT string_agg(t::text, ',' ORDER BY timesheet_id) FROM timesheets t),
		(SELECT string_agg(e::text, ',' ORDER BY timesheet_id, position) FROM timesheet_entries e),
		(SELECT string_agg(d::text, ',' ORDER BY decision_id) FROM timesheet_decisions d),
		(SELECT string_agg(h::text, ',' ORDER BY person_id, valid_from) FROM line_manager_history h),
		(SELECT string_agg(p::text, ',' ORDER BY person_id) FROM people p)))});
}
sub trail_rows { scalar psql($db, q{SELECT count(*) FROM audit_log}) }
sub verify { json_decode(scalar psql($db, q{SELECT audit_verify()})) }

# An attack that changes evidence must leave a trail row; one that leaves
# none must have changed nothing.  Either way nothing stays staged and the
# chain verifies.
sub not_hidden {
	my ($name, $sql, %a) = @_;
	my ($ev, $n) = (evidence(), trail_rows());
	my $r = as_rt($sql);
	my ($ev2, $n2) = (evidence(), trail_rows());
	ok $ev2 eq $ev || $n2 > $n, "$name: evidence unchanged or logged" or diag "result: $r";
	like $r, $a{refused}, "$name: refused" if $a{refused};
	is psql($db, q{SELECT count(*) FROM audit_pending}), 0, "$name: nothing left in audit_pending";
	is verify()->{ok}, JSON::PP::true, "$name: the chain verifies";
	return $r;
}

# ---------------------------------------------------------------- entries and versions
not_hidden('UPDATE an entry of a stored version', q{UPDATE timesheet_entries SET hours = 100},
	refused => qr/permission denied for table timesheet_entries/);
not_hidden('DELETE the entries of a stored version', q{DELETE FROM timesheet_entries},
	refused => qr/permission denied for table timesheet_entries/);
not_hidden('INSERT an entry into a stored version',
	qq{INSERT INTO timesheet_entries VALUES ($ts, 1, 'grant', 'G-FAKE', 20)},
	refused => qr/timesheet $ts: the entries of a stored version cannot be changed/);
not_hidden('SET CONSTRAINTS ALL IMMEDIATE (an early flush), then an entry more', qq{BEGIN;
	INSERT INTO timesheets (person_id, period_start, period_end, version, submitted_at, total_hours)
	VALUES ('P1', '2025-03-01', '2025-03-31', 1, '2025-04-01', 0);
	SET CONSTRAINTS ALL IMMEDIATE;
	INSERT INTO timesheet_entries VALUES (currval('timesheets_timesheet_id_seq'), 0, 'grant', 'G-LATE', 99);
	COMMIT;}, refused => qr/the entries of a stored version cannot be changed/);
not_hidden('UPDATE a stored version (submitted_at)', q{UPDATE timesheets SET submitted_at = submitted_at - interval '10 days'},
	refused => qr/permission denied for table timesheets/);
not_hidden('DELETE a decision', q{DELETE FROM timesheet_decisions}, refused => qr/permission denied for table timesheet_decisions/);
not_hidden('UPDATE a decision (decided_by, decided_at)',
	q{UPDATE timesheet_decisions SET decided_by = 'X9', decided_at = decided_at - interval '1 day'},
	refused => qr/permission denied for table timesheet_decisions/);
not_hidden('UPDATE the line manager history', q{UPDATE line_manager_history SET line_manager_id = 'X9'},
	refused => qr/permission denied for table line_manager_history/);
not_hidden('DELETE the line manager history', q{DELETE FROM line_manager_history},
	refused => qr/permission denied for table line_manager_history/);
not_hidden('INSERT a backdated line manager', q{INSERT INTO line_manager_history VALUES ('P1', 'X9', '2019-01-01')},
	refused => qr/line_manager_history: valid_from must be the time the row is written \(.*\), not 2019-01-01/);
not_hidden('INSERT a version received long ago', q{INSERT INTO timesheets (person_id, period_start, period_end, version,
	submitted_at, total_hours, received_at) VALUES ('P1', '2025-05-01', '2025-05-31', 1, '2025-06-01', 0, '2025-06-01')},
	refused => qr/timesheets: received_at must be the time the row is written/);
not_hidden('INSERT an approval recorded on time, long ago', qq{INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by,
	decided_at, source, recorded_at) VALUES ($ts, 'authorised', 'M1', '2025-02-03', 'approval', '2025-02-03')},
	refused => qr/timesheet_decisions: recorded_at must be the time the row is written/);
not_hidden('INSERT an approval decided long ago, recorded now', qq{INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by,
	decided_at, source) VALUES ($ts, 'authorised', 'M1', '2025-02-03', 'approval')},
	refused => qr/timesheet_decisions: an approval is decided when it is recorded \(.*\), not 2025-02-03/);
not_hidden('INSERT a manager\'s delegation recorded long ago', q{INSERT INTO delegations (manager_id, delegate_id, start_date,
	end_date, source, recorded_at) VALUES ('M1', 'X9', '2025-01-01', '2025-12-31', 'manager', '2025-01-01')},
	refused => qr/delegations: recorded_at must be the time the row is written/);
# A line manager written to the history directly (the runtime role may
# insert there, dated now) is in the trail: the rules read the history to
# judge who may authorise (a review found it unlogged).
{
	my $n = psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'line_manager_history'});
	is as_rt(q{INSERT INTO line_manager_history VALUES ('P1', 'X9', now())}), 'ok',
		'the runtime role writes a line manager into the history, dated now';
	is psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'line_manager_history'}), $n + 1, '… one trail row';
	is psql($db, q{SELECT concat_ws(' ', action, entity_key ->> 'person_id', after ->> 'line_manager_id') FROM audit_log
		WHERE entity = 'line_manager_history' ORDER BY id DESC LIMIT 1}), 'created P1 X9', '… saying who and whom';
	is as_rt(q{INSERT INTO line_manager_history VALUES ('P1', 'M1', now())}), 'ok', '… and back to M1';
	is verify()->{ok}, JSON::PP::true, '… the chain verifies';
}

# A token's hash cannot be changed (the trail leaves hashes out: a new
# secret for someone's token would go unseen; a review found it).
not_hidden('UPDATE a token\'s hash', q{UPDATE tokens SET token_hash = sha256('eff_x')},
	refused => qr/permission denied for table tokens/);
is as_rt(q{UPDATE tokens SET last_used_at = now() WHERE false}), 'ok', '… its other columns may be written';
# A runtime role granted by an older release (UPDATE on the whole table)
# loses it at the next migration, before effort_grant_runtime is run again.
psql($db, qq{GRANT UPDATE ON tokens TO "$role"});
like as_rt(q{UPDATE tokens SET token_hash = token_hash WHERE false}), qr/^ok$/, 'setup: UPDATE on tokens granted as before';
my ($rc, $out) = EffortTest::migrate($db);
is $rc, 0, 'effortd --migrate: 0' or diag $out;
like as_rt(q{UPDATE tokens SET token_hash = sha256('eff_x')}), qr/permission denied for table tokens/,
	'… and after it the hash may not be written';
is as_rt(q{UPDATE tokens SET last_used_at = now() WHERE false}), 'ok', '… its other columns may';

# The trail's trigger functions run as the owner (SECURITY DEFINER): the
# runtime role may not attach them to a table of its own, such as a
# temporary "timesheets" whose rows would be staged as a stored version's
# "created" row, letting an entry into that authorised version pass the
# entries guard (a review found it).  Nor do they serve any table outside
# the schema, whoever attached them.
for my $fn (qw(effort_audit_stmt effort_audit_flush effort_entries_guard effort_recorded_now_guard)) {
	like as_rt(qq{CREATE TEMP TABLE timesheets (timesheet_id bigint, person_id text, period_start date, version int);
		CREATE TRIGGER f AFTER INSERT ON pg_temp.timesheets REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
		EXECUTE FUNCTION public.$fn('timesheet_id')}), qr/permission denied for function (public\.)?$fn/,
		"the runtime role may not attach $fn to a table of its own";
}
not_hidden('a temporary "timesheets" staged by the trail\'s trigger, then an entry into the stored version', qq{BEGIN;
	CREATE TEMP TABLE timesheets (timesheet_id bigint, person_id text, period_start date, version int);
	CREATE TRIGGER f AFTER INSERT ON pg_temp.timesheets REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	  EXECUTE FUNCTION public.effort_audit_stmt('timesheet_id', 'person_id', 'period_start', 'version');
	INSERT INTO pg_temp.timesheets VALUES ($ts, 'P1', '2025-01-01', 1);
	INSERT INTO public.timesheet_entries (timesheet_id, position, kind, activity, hours) VALUES ($ts, 2, 'grant', 'G-FORGED', 72.5);
	COMMIT;}, refused => qr/permission denied for function (public\.)?effort_audit_stmt/);
eval { psql($db, qq{BEGIN;
	CREATE TEMP TABLE timesheets (timesheet_id bigint, person_id text, period_start date, version int);
	CREATE TRIGGER f AFTER INSERT ON pg_temp.timesheets REFERENCING NEW TABLE AS effort_new FOR EACH STATEMENT
	  EXECUTE FUNCTION public.effort_audit_stmt('timesheet_id');
	INSERT INTO pg_temp.timesheets VALUES ($ts, 'P1', '2025-01-01', 1);
	COMMIT;}) };
like $@, qr/effort_audit_stmt: pg_temp_\d+\.timesheets is not a table of the trail/,
	'as the owner, attached to a temporary table: it refuses to stage its rows';
is psql($db, q{SELECT count(*) FROM audit_pending}), 0, '… nothing staged';

# A new version with its entries, in one transaction, is what effortd does:
# allowed, and logged with exactly the entries stored.
is as_rt(q{BEGIN;
	INSERT INTO timesheets (person_id, period_start, period_end, version, submitted_at, total_hours)
	VALUES ('P1', '2025-01-01', '2025-01-31', 2, '2025-02-01', 150);
	SAVEPOINT s;
	INSERT INTO timesheet_entries VALUES (currval('timesheets_timesheet_id_seq'), 0, 'research', 'r', 150);
	RELEASE s;
	COMMIT;}), 'ok', 'a new version and its entries in one transaction (entries in a savepoint): allowed';
is psql($db, q{SELECT after -> 'entries' FROM audit_log WHERE entity = 'timesheets' ORDER BY id DESC LIMIT 1}),
	'[{"kind": "research", "hours": 150.00, "activity": "r"}]', '… and logged with them';

# ---------------------------------------------------------------- staging and the trail
not_hidden('skip the flush by setting effortd.audit_armed', q{BEGIN; SET LOCAL effortd.audit_armed = 'on';
	INSERT INTO timesheet_decisions (timesheet_id, decision, decided_by, decided_at, source)
	VALUES ((SELECT max(timesheet_id) FROM timesheets), 'authorised', 'M1', '2025-02-03', 'feed'); COMMIT;});
is psql($db, q{SELECT count(*) FROM timesheet_decisions d WHERE NOT EXISTS (SELECT 1 FROM audit_log a
	WHERE a.entity = 'timesheet_decisions' AND (a.after ->> 'decision_id')::bigint = d.decision_id)}), 0,
	'every decision stored is in the trail';
not_hidden('DELETE the staged rows before commit', q{BEGIN; UPDATE people SET name = 'Renamed' WHERE person_id = 'X9';
	DELETE FROM audit_pending WHERE xid = txid_current(); COMMIT;}, refused => qr/permission denied for table audit_pending/);
not_hidden('UPDATE the staged rows before commit', q{BEGIN; UPDATE people SET name = 'Renamed' WHERE person_id = 'X9';
	UPDATE audit_pending SET after = before WHERE xid = txid_current(); COMMIT;}, refused => qr/permission denied for table audit_pending/);
# A temporary table of the same name comes first in the session's search_path.
not_hidden('a temporary audit_pending', q{BEGIN;
	CREATE TEMP TABLE audit_pending (xid bigint DEFAULT txid_current(), seq bigint GENERATED ALWAYS AS IDENTITY,
		action text, entity text, entity_key jsonb, before jsonb, after jsonb, arm boolean DEFAULT false);
	UPDATE people SET name = 'Temp Renamed' WHERE person_id = 'X9'; COMMIT;});
is psql($db, q{SELECT after ->> 'name' FROM audit_log WHERE entity = 'people' ORDER BY id DESC LIMIT 1}),
	psql($db, q{SELECT name FROM people WHERE person_id = 'X9'}), '… the trail has the name stored';
not_hidden('a temporary timesheet_entries while a version is stored', q{BEGIN;
	CREATE TEMP TABLE timesheet_entries (timesheet_id bigint, position int, kind text, activity text, hours numeric);
	INSERT INTO timesheets (person_id, period_start, period_end, version, submitted_at, total_hours)
	VALUES ('P1', '2025-02-01', '2025-02-28', 1, '2025-03-01', 140);
	INSERT INTO public.timesheet_entries VALUES (currval('timesheets_timesheet_id_seq'), 0, 'research', 'r', 140);
	INSERT INTO timesheet_entries VALUES (currval('timesheets_timesheet_id_seq'), 0, 'grant', 'G-FAKE', 140);
	COMMIT;});
is psql($db, q{SELECT after -> 'entries' FROM audit_log WHERE entity = 'timesheets' ORDER BY id DESC LIMIT 1}),
	'[{"kind": "research", "hours": 140.00, "activity": "r"}]', '… the trail has the entries stored, not the temporary ones';
not_hidden('a temporary audit_log', q{BEGIN; CREATE TEMP TABLE audit_log (id bigint, at timestamptz, actor jsonb, action text,
	entity text, entity_key jsonb, before jsonb, after jsonb, prev_hash bytea, hash bytea);
	UPDATE people SET name = 'Temp Log' WHERE person_id = 'X9'; COMMIT;});
my $n = trail_rows();
like as_rt(q{SELECT pg_advisory_xact_lock(7046372004); INSERT INTO audit_log
	SELECT v.id, v.at, v.actor, v.action, v.entity, v.entity_key, v.before, v.after, v.prev_hash,
	       audit_hash(ROW(v.id, v.at, v.actor, v.action, v.entity, v.entity_key, v.before, v.after, v.prev_hash, NULL)::audit_log)
	  FROM (SELECT nextval('audit_log_id_seq') AS id, now() AS at,
	               '{"role": "admin", "person_id": "BOSS", "db_user": "postgres"}'::jsonb AS actor,
	               'authorised' AS action, 'timesheet_decisions' AS entity, '{}'::jsonb AS entity_key,
	               NULL::jsonb AS before, '{"decided_by": "BOSS"}'::jsonb AS after,
	               (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS prev_hash) v}),
	qr/permission denied for (table audit_log|sequence audit_log_id_seq)/, 'a forged trail row, chained correctly: refused';
like as_rt(q{SELECT audit_append('deleted', 'timesheets', '{}', '{}', NULL, '{"db_user": "postgres"}')}),
	qr/permission denied/, 'audit_append called directly: refused';
like as_rt(q{SELECT nextval('audit_log_id_seq')}), qr/permission denied for sequence audit_log_id_seq/,
	'nextval of the trail\'s ids: refused';
is trail_rows(), $n, '… no row was added';

# ---------------------------------------------------------------- effortd as the runtime role
# Everything effortd itself writes still works with these guards: feeds
# (a line manager, versions with entries, an authorisation, a delegation),
# approvals, rejections, a manager's delegation, tokens.
{
	my $dr = start_effortd(db => $db, 'db.conninfo' => $rt->conninfo($db->name));
	my ($ls, $le) = @{ month_ago($db, 1) }{qw(start end)};
	my $n0 = trail_rows();
	my $ok = sub {
		my ($what, $st, $body) = @_;
		is $st, 200, "effortd as the runtime role: $what: 200" or diag json_encode($body);
	};
	$ok->('people', post_feed($dr, people => [
		{ person_id => 'R5', name => 'Run Five', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-01' },
		{ person_id => 'R6', name => 'Run Six', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-01' } ]));
	# (a change is dated when it is stored, later in the transaction than
	# its start: within the guard's bounds)
	$ok->('a line manager change', post_feed($dr, people => [
		{ person_id => 'R5', name => 'Run Five', line_manager_id => 'X9', fte => 1, employment_start => '2020-01-01' } ]));
	$ok->('and back', post_feed($dr, people => [
		{ person_id => 'R5', name => 'Run Five', line_manager_id => 'M1', fte => 1, employment_start => '2020-01-01' } ]));
	is psql($db, q{SELECT string_agg(line_manager_id, ',' ORDER BY valid_from) FROM line_manager_history WHERE person_id = 'R5'}),
		'M1,X9,M1', '… the history has both changes';
	$ok->('timesheets', post_feed($dr, timesheets => [
		{ person_id => 'R5', period_start => $ls, period_end => $le, submitted_at => "${le}T20:00:00Z",
		  entries => [ { kind => 'research', activity => 'r', hours => 100 } ] },
		{ person_id => 'R6', period_start => $ls, period_end => $le, submitted_at => "${le}T20:00:00Z",
		  entries => [ { kind => 'research', activity => 'r', hours => 90 } ] },
		{ person_id => 'R6', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-01T10:00:00Z',
		  authorised_by => 'M1', authorised_at => '2025-02-02T10:00:00Z',
		  entries => [ { kind => 'research', activity => 'r', hours => 150 } ] } ]));
	$ok->('a changed version', post_feed($dr, timesheets => [
		{ person_id => 'R6', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-05T10:00:00Z',
		  amendment_reason => 'typo', entries => [ { kind => 'research', activity => 'r', hours => 151 } ] } ]));
	$ok->('delegations', post_feed($dr, delegations => [
		{ manager_id => 'M1', delegate_id => 'X9', start_date => '2025-01-01', end_date => '2025-01-31' } ]));
	my ($r5, $r6) = map { scalar psql($db, qq{SELECT timesheet_id FROM timesheets WHERE person_id = '$_' AND period_start = '$ls'}) } qw(R5 R6);
	my $m1 = $dr->token('manager', 'M1');
	$ok->('an approval', $dr->req(POST => "/v1/timesheets/$r5/approve", token => $m1));
	$ok->('a rejection', $dr->req(POST => "/v1/timesheets/$r6/reject", token => $m1, body => { reason => 'no' }));
	my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
	$ok->('a manager\'s delegation', $dr->req(POST => '/v1/me/delegations', token => $m1,
		body => { delegate_id => 'X9', start_date => $today, end_date => $today }));
	my $admin = $dr->token('admin');
	my ($ts2, $tj) = $dr->req(POST => '/v1/tokens', token => $admin, body => { role => 'reviewer', label => 'ev2' });
	$ok->('a token', $ts2, $tj);
	$ok->('its revocation', $dr->req(POST => "/v1/tokens/$tj->{token}{id}/revoke", token => $admin));
	my $entities = join ',', map { $_->[0] } psql($db, qq{SELECT DISTINCT entity FROM audit_log WHERE id > $n0 ORDER BY 1});
	is $entities, 'delegations,line_manager_history,people,timesheet_decisions,timesheets,tokens', '… all in the trail';
	is psql($db, qq{SELECT string_agg(DISTINCT actor ->> 'db_user', ',') FROM audit_log WHERE id > $n0}), $role,
		'… written as the runtime role';
	is psql($db, q{SELECT count(*) FROM audit_pending}), 0, '… nothing left staged';
	is verify()->{ok}, JSON::PP::true, '… the chain verifies';
	$dr->stop;
}

# ---------------------------------------------------------------- what PostgreSQL refuses anyway
for my $t ([ 'SET session_replication_role = replica', qr/permission denied to set parameter/ ],
	[ 'ALTER TABLE timesheets DISABLE TRIGGER ALL', qr/must be owner of table timesheets/ ],
	[ 'ALTER TABLE timesheet_entries DISABLE TRIGGER timesheet_entries_guard', qr/must be owner/ ],
	[ 'DROP TRIGGER audit_timesheet_decisions_insert ON timesheet_decisions', qr/must be owner/ ],
	[ 'TRUNCATE timesheet_decisions', qr/permission denied for table timesheet_decisions/ ],
	[ 'TRUNCATE audit_log', qr/permission denied for table audit_log/ ],
	[ 'UPDATE audit_log SET actor = actor', qr/permission denied for table audit_log/ ],
	[ 'DELETE FROM audit_log', qr/permission denied for table audit_log/ ],
	[ 'UPDATE audit_head SET flushes = 0', qr/permission denied for table audit_head/ ],
	[ q{CREATE OR REPLACE FUNCTION effort_audit_stmt() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$},
	  qr/permission denied for schema public|must be owner/ ],
	[ q{SELECT setval('audit_log_id_seq', 1)}, qr/permission denied for sequence/ ]) {
	not_hidden($t->[0], $t->[0], refused => $t->[1]);
}

# ---------------------------------------------------------------- concurrency
# A REPEATABLE READ transaction whose snapshot predates another commit's
# flush: it must not chain to the hash its snapshot sees.
{
	my $pid = fork // die;
	if (!$pid) {
		my $r = as_rt(q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1; SELECT pg_sleep(1.5);
			UPDATE people SET name = 'Repeatable' WHERE person_id = 'X9'; COMMIT;});
		EffortTest::spew("$EffortTest::TMP/ev2_rr_$$", $r);
		POSIX::_exit(0);
	}
	sleep 0.5;
	is as_rt(q{UPDATE people SET name = 'Read Committed' WHERE person_id = 'P1'}), 'ok', 'a write committed meanwhile';
	waitpid $pid, 0;
	my $r = EffortTest::slurp("$EffortTest::TMP/ev2_rr_$pid");
	like $r, qr/could not serialize access/, 'the REPEATABLE READ writer fails with a serialization error';
	my $v = verify();
	is $v->{ok}, JSON::PP::true, '… and the chain has no fork' or diag json_encode($v);
}
# Eight writers at once, each committing several changes.
{
	my $before = trail_rows();
	my @pids;
	for my $w (1 .. 8) {
		my $pid = fork // die;
		if (!$pid) {
			as_rt(join '', map { "INSERT INTO people (person_id, name, fte, employment_start) VALUES ('C${w}_$_', 'c', 1, '2020-01-01');" } 1 .. 10);
			POSIX::_exit(0);
		}
		push @pids, $pid;
	}
	waitpid $_, 0 for @pids;
	is trail_rows() - $before, 80, 'eight concurrent writers: 80 rows logged';
	is psql($db, q{SELECT count(DISTINCT coalesce(prev_hash, '\x'::bytea)) = count(*) FROM audit_log}), 't', '… no two rows share a predecessor (no fork)';
	is verify()->{ok}, JSON::PP::true, '… the chain verifies';
}
# A rollback after staging leaves nothing behind.
is as_rt(q{BEGIN; UPDATE people SET name = 'Rolled Back' WHERE person_id = 'X9'; ROLLBACK;}), 'ok', 'a rollback after staging';
is psql($db, q{SELECT count(*) FROM audit_log WHERE after ->> 'name' = 'Rolled Back'}), 0, '… nothing logged';
is psql($db, q{SELECT count(*) FROM audit_pending}), 0, '… nothing staged';

# A backend killed (kill -9) while its flush waits for the chain's lock: the
# server restarts; the change is not stored, nothing is in the trail, the
# next write chains on.
SKIP: {
	skip 'kill -9 of a PostgreSQL backend needs root or the postgres user', 6 unless $> == 0 || getpwuid($>) eq 'postgres';
	my $pc = private_cluster();
	my $cdb = new_db(cluster => $pc);
	psql($cdb, q{INSERT INTO people (person_id, name, fte, employment_start) VALUES ('K1', 'k', 1, '2020-01-01')});
	# The private cluster runs with synchronous_commit off: a crash may lose
	# what was committed in the last moments (data and trail together).
	psql($cdb, q{CHECKPOINT});
	my $holder = fork // die;
	if (!$holder) {
		eval { EffortTest::psql($cdb, q{BEGIN; SELECT pg_advisory_xact_lock(7046372004); SELECT pg_sleep(30); COMMIT;}) };
		POSIX::_exit(0);
	}
	ok wait_for(sub { psql($cdb, q{SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND locktype = 'advisory' AND granted}) > 0 }),
		'another session holds the chain\'s lock';
	my $writer = fork // die;
	if (!$writer) {
		eval { EffortTest::psql($cdb, q{SET application_name = 'ev2_writer'; UPDATE people SET name = 'Crashed' WHERE person_id = 'K1'}) };
		POSIX::_exit(0);
	}
	my $backend;
	ok wait_for(sub { $backend = psql($cdb, q{SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ev2_writer'
		AND wait_event_type = 'Lock'}) }), 'the writer\'s flush waits for the lock';
	kill 'KILL', $backend;
	waitpid $_, 0 for $writer, $holder;
	ok wait_for(sub { eval { psql($cdb, q{SELECT 1}) } }, 60), 'PostgreSQL is back after the crash';
	is psql($cdb, q{SELECT name FROM people WHERE person_id = 'K1'}), 'k', 'the change was not stored';
	psql($cdb, q{UPDATE people SET name = 'After' WHERE person_id = 'K1'});
	is_deeply [ map { $_->[0] } psql($cdb, q{SELECT after ->> 'name' FROM audit_log ORDER BY id}) ], [ 'k', 'After' ],
		'the trail: the insert and the next change, nothing of the crashed one';
	is psql($cdb, q{SELECT audit_verify() ->> 'ok'}), 'true', '… and it verifies';
}

# ---------------------------------------------------------------- verify and the owner's tampering
# Each tampering inside a transaction that is rolled back.
# (audit_verify's arguments: the last row kept from an earlier verify.)
sub tampered {
	my ($sql, $kept_args) = @_;
	my @r = psql($db, qq{BEGIN; $sql; SELECT audit_verify(@{[ $kept_args // '' ]}); ROLLBACK;});
	return json_decode($r[-1][0]);
}
my ($k) = psql($db, q{SELECT id FROM audit_log ORDER BY id OFFSET 5 LIMIT 1});
my $k0 = $k->[0];
my $next = psql($db, qq{SELECT min(id) FROM audit_log WHERE id > $k0});
my $first = psql($db, q{SELECT min(id) FROM audit_log});
my $second = psql($db, qq{SELECT min(id) FROM audit_log WHERE id > $first});
my $v = tampered(qq{UPDATE audit_log SET after = jsonb_set(after, '{name}', '"Forged"') WHERE id = $k0});
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $k0 ], 'a row\'s payload edited: named';
like $v->{reason}, qr/row $k0 does not match its hash: it was altered/, '… altered';
$v = tampered(qq{DELETE FROM audit_log WHERE id = $k0});
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $next ], 'a row deleted: the row after it named';
$v = tampered(qq{UPDATE audit_log SET id = -id WHERE id IN ($k0, $next); UPDATE audit_log SET id = CASE WHEN id = -$k0 THEN $next ELSE $k0 END WHERE id < 0});
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $k0 ], 'two rows swapped: the first named';
$v = tampered(qq{UPDATE audit_log SET actor = '{"db_user": "nobody"}' WHERE id = $k0; UPDATE audit_log a SET hash = audit_hash(a) WHERE id = $k0});
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $next ], 'a row rewritten with its hash recomputed: the row after it named';
like $v->{reason}, qr/prev_hash is not the hash of row $k0: a row between them was removed or row $k0 was rewritten/, '… naming the rewritten row';
$v = tampered(qq{DELETE FROM audit_log WHERE id = $first});
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $second ], 'the chain\'s first row deleted: named';
like $v->{reason}, qr/row $second is the first but has a prev_hash/, '… rows before it removed';
$v = tampered(qq{DELETE FROM audit_log WHERE id = $first; UPDATE audit_log SET prev_hash = NULL WHERE id = $second});
is $v->{ok}, JSON::PP::false, 'the chain\'s start replaced (first row deleted, the next one made the start): detected';
# The end of the chain cut off, or the whole chain rebuilt: it still links
# up; only the last row of an earlier verify, kept elsewhere, shows it.
my $reviewer = $d->token('reviewer');
my $kept = verify();
my ($kid, $khash) = @$kept{qw(last_id last_hash)};
my $prev = psql($db, qq{SELECT max(id) FROM audit_log WHERE id < $kid});
$v = tampered(qq{DELETE FROM audit_log WHERE id = $kid});
is $v->{ok}, JSON::PP::true, 'the last row deleted (the tail cut): the chain alone still verifies';
$v = tampered(qq{DELETE FROM audit_log WHERE id = $kid}, "$kid, '$khash'");
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $kid ], '… given the last row kept: named';
like $v->{reason}, qr/row $kid, whose hash an earlier verify gave, is gone: the trail was cut short or rebuilt/, '… gone';
my $rebuild = qq{UPDATE audit_log SET actor = '{"db_user": "nobody"}' WHERE id = $prev;
	UPDATE audit_log a SET hash = audit_hash(a) WHERE id = $prev;
	UPDATE audit_log a SET prev_hash = (SELECT hash FROM audit_log WHERE id = $prev) WHERE id = $kid;
	UPDATE audit_log a SET hash = audit_hash(a) WHERE id = $kid};
is tampered($rebuild)->{ok}, JSON::PP::true, 'the chain rebuilt from a row on (every later hash recomputed): the chain alone verifies';
$v = tampered($rebuild, "$kid, '$khash'");
is_deeply [ @$v{qw(ok first_broken_id)} ], [ JSON::PP::false, $kid ], 'the chain rebuilt from a row on: named given the last row kept';
like $v->{reason}, qr/row $kid no longer has the hash an earlier verify gave \($khash\): the trail was rebuilt up to it/, '… rebuilt';
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $reviewer, query => { last_id => $kid, last_hash => $khash });
is_deeply [ $s, $j->{ok}, $j->{first_broken_id} ], [ 200, JSON::PP::true, undef ], 'GET /v1/audit/verify?last_id&last_hash: intact'
	or diag json_encode($j);
for my $q ([ { last_id => $kid }, 'last_id and last_hash go together' ],
	[ { last_id => 'x', last_hash => $khash }, 'last_id must be a number' ],
	[ { last_id => $kid, last_hash => uc $khash }, 'last_hash must be 64 lowercase hex digits (a SHA-256)' ]) {
	($s, $j) = $d->req(GET => '/v1/audit/verify', token => $reviewer, query => $q->[0]);
	is_deeply [ $s, $j->{error} ], [ 400, $q->[1] ], "GET /v1/audit/verify?" . join('&', map { "$_=$q->[0]{$_}" } sort keys %{ $q->[0] }) . ': 400';
}
my ($rc, $out) = EffortTest::effortctl($d, { token => $reviewer }, 'audit', 'verify', '--last-id', $kid, '--last-hash', $khash);
is $rc, 0, 'effortctl audit verify --last-id --last-hash: intact, exit 0' or diag $out;
($rc, $out) = EffortTest::effortctl($d, { token => $reviewer }, 'audit', 'verify', '--last-id', $kid);
is $rc, 2, '… --last-id alone: usage error (exit 2)' or diag $out;
# Now for real: the owner removes the last row.
psql($db, qq{DELETE FROM audit_log WHERE id = $kid});
($rc, $out) = EffortTest::effortctl($d, { token => $reviewer }, 'audit', 'verify');
is $rc, 0, 'the owner cut the last row: effortctl audit verify alone cannot tell (exit 0)';
($rc, $out) = EffortTest::effortctl($d, { token => $reviewer }, 'audit', 'verify', '--last-id', $kid, '--last-hash', $khash);
is $rc, 1, '… with the last row kept: exit 1' or diag $out;
like $out, qr/audit trail BROKEN at row $kid: row $kid, whose hash an earlier verify gave, is gone/, '… naming it';

done_testing;
