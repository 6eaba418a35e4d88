# Shutdown in order: SIGTERM stops accepting, lets running requests finish
# up to limits.drain_timeout, then cancels the rest (running statements
# with a cancel request, queued jobs removed) and answers them 503, frees
# the pools and only then the HTTP server.  Whatever is in flight, effortd
# exits 0 (under ASan too: this once aborted in evhttp_send): a report on
# the report pool, the audit sweep, a reminders run waiting for its mail
# command, a feed's transaction; SIGHUP with a configuration that does not
# load keeps the running one, and neither SIGHUP nor a second SIGTERM
# while draining changes how long the drain takes.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX qw(_exit);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed private_cluster json_encode json_decode slurp spew month_ago);

my $db = new_db();

# An ACCESS EXCLUSIVE lock on findings for $secs seconds, and its end.
sub lock_findings { $db->lock_table('findings', $_[0]) }
sub unlock_findings { $db->unlock_table($_[0], 'findings') }

# effortd's violations statements waiting for the lock (not its sweeps).
sub waiting_on_lock {
	return psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'effortd'
		AND wait_event_type = 'Lock' AND query LIKE '%violations_list%'}) + 0;
}

# A child that GETs /v1/violations and writes "status elapsed body" to $file.
sub reader {
	my ($d, $token, $file) = @_;
	my $pid = fork // die "fork: $!";
	return $pid if $pid;
	my $t0 = time;
	my ($s, $j) = eval { $d->req(GET => '/v1/violations', token => $token, timeout => 60) };
	spew($file, sprintf("%d %.2f %s\n", $s // 599, time - $t0, ref $j ? json_encode($j) : ($j // '')));
	_exit(0);
}

sub outcome {
	my ($file) = @_;
	my ($s, $t, $body) = split ' ', slurp($file), 3;
	my $j = eval { json_decode($body) };
	return ($s, $t, $j);
}

my $tmp = $EffortTest::TMP;

# The first audit sweep runs a second after start; each case lets it pass
# ($d->first_sweep_done) before the lock, so that it does not hold a pool
# connection behind it.

# ---- 1. the abort: requests stuck on a lock, SIGTERM, drain timeout passes
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 2, 'db.statement_timeout' => 60,
		'limits.drain_timeout' => 2);
	my $token = $d->token('reviewer');
	$d->first_sweep_done;
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	is $s, 200, 'violations answer before the lock (and the token is cached)';
	my $locker = lock_findings(40);
	my @kids;
	for my $k (1 .. 3) {    # two run (pool_size 2), one waits in the queue
		my $f = "$tmp/shutdown-$$-stuck-$k";
		push @kids, [ reader($d, $token, $f), $f ];
	}
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 2 || time > $end;
	is waiting_on_lock(), 2, 'two statements wait on the lock, a third request waits in the queue';
	sleep 0.3;
	my $t0 = time;
	$d->signal('TERM');
	sleep 0.5;
	my $refused = !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Timeout => 1);
	ok $refused, 'after SIGTERM no new connection is accepted';
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	is $st, 0, 'effortd exits 0 with statements stuck on a lock' or diag $d->log_text;
	cmp_ok $took, '<', 6, sprintf('… once the drain timeout (2 s) passed (%.1f s)', $took);
	for (@kids) {
		waitpid $_->[0], 0;
		my ($cs, $secs, $j) = outcome($_->[1]);
		is $cs, 503, "a request still waiting at the drain timeout gets 503 (after $secs s)";
		like ref $j ? $j->{error} : '', qr/shutting down/, '… saying effortd is shutting down'
			or diag explain $j;
	}
	$end = time + 5;
	sleep 0.05 while waiting_on_lock() > 0 && time < $end;
	is waiting_on_lock(), 0, 'the running statements were cancelled on the server';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
	like $d->log_text, qr/cancelled 3 request\(s\)/, 'the log says how many requests were cancelled';
	unlock_findings($locker);
}

# ---- 2. a running request that finishes within the drain timeout is answered
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 2, 'db.statement_timeout' => 60,
		'limits.drain_timeout' => 10);
	my $token = $d->token('reviewer');
	$d->first_sweep_done;
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	is $s, 200, 'second daemon answers';
	my $locker = lock_findings(2);
	my $f = "$tmp/shutdown-$$-drained";
	my $kid = reader($d, $token, $f);
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 1 || time > $end;
	my $t0 = time;
	$d->signal('TERM');
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	is $st, 0, 'SIGTERM with a request that finishes in time: exit 0';
	cmp_ok $took, '<', 8, sprintf('… as soon as it was answered (%.1f s)', $took);
	waitpid $kid, 0;
	my ($cs, $secs, $j) = outcome($f);
	is $cs, 200, 'the request in flight got its real answer';
	is ref $j && ref $j->{violations}, 'ARRAY', '… the violations list' or diag explain $j;
	waitpid $locker, 0;
}

# ---- 3. a client that goes away: its statement is cancelled at once
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 1, 'db.statement_timeout' => 60);
	my $token = $d->token('reviewer');
	$d->first_sweep_done;
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	my $locker = lock_findings(30);
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port) or die "connect: $!";
	print $sock "GET /v1/violations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\n\r\n";
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 1 || time > $end;
	is waiting_on_lock(), 1, 'a request waits on the lock';
	close $sock;
	$end = time + 10;
	sleep 0.05 while waiting_on_lock() > 0 && time < $end;
	is waiting_on_lock(), 0, 'its client disconnected: the statement was cancelled';
	like $d->log_text, qr/client went away/, '… and the log says why';
	unlock_findings($locker);
	($s) = $d->req(GET => '/v1/violations', token => $token, timeout => 10);
	is $s, 200, 'the connection serves the next request';
	is $d->stop('TERM', 15), 0, 'then SIGTERM: exit 0';
}

# effortd's statements (any) waiting for a lock, and the audit sweep's.
sub statements_waiting {
	my ($like) = @_;
	return psql($db, qq{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'effortd' AND wait_event_type = 'Lock' AND query LIKE '$like'}) + 0;
}

# ---- 4. SIGHUP with a configuration that does not load: effortd serves on
{
	my $d = start_effortd(db => $db);
	my $token = $d->token('reviewer');
	my $conf = slurp($d->conf);
	spew($d->conf, "listen = { port = ;\n");
	$d->signal('HUP');
	my $end = time + 10;
	sleep 0.05 until $d->log_text =~ /reload failed/ || time > $end;
	like $d->log_text, qr/reload failed, keeping the running configuration: .*\.conf:1: syntax error/,
		'SIGHUP with a configuration that does not parse: the reload fails, saying where';
	ok $d->alive, '… effortd runs on';
	my ($s) = $d->req(GET => '/v1/violations', token => $token);
	is $s, 200, '… and serves';
	unlink $d->conf;
	$d->signal('HUP');
	$end = time + 10;
	sleep 0.05 until (() = $d->log_text =~ /reload failed/g) == 2 || time > $end;
	like $d->log_text, qr/reload failed, keeping the running configuration: .*cannot read/,
		'SIGHUP with the configuration file gone: the reload fails';
	($s) = $d->req(GET => '/healthz');
	is $s, 200, '… and effortd serves on';
	spew($d->conf, $conf);
	is $d->stop('TERM', 15), 0, 'then SIGTERM: exit 0';
}

# ---- 5. while draining: SIGHUP (a bad configuration, then a good one) and
# a second SIGTERM change nothing: the request in flight is still given
# limits.drain_timeout, then answered 503, and effortd exits 0
{
	my $d = start_effortd(db => $db, 'db.pool_size' => 2, 'db.statement_timeout' => 60,
		'limits.drain_timeout' => 3);
	my $token = $d->token('reviewer');
	$d->first_sweep_done;
	my $locker = lock_findings(40);
	my $f = "$tmp/shutdown-$$-signals";
	my $kid = reader($d, $token, $f);
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() == 1 || time > $end;
	my $t0 = time;
	$d->signal('TERM');
	sleep 0.3;
	my $conf = slurp($d->conf);
	spew($d->conf, "listen = { port = ;\n");
	$d->signal('HUP');
	sleep 0.3;
	spew($d->conf, $conf);
	$d->signal('HUP');
	sleep 0.3;
	$d->signal('TERM');
	sleep 0.3;
	ok $d->alive, 'SIGTERM, SIGHUP (a bad configuration), SIGHUP, SIGTERM: still draining';
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	is $st, 0, '… then exit 0' or diag $d->log_text;
	cmp_ok $took, '>=', 2.5, sprintf('… after the drain timeout (3 s) of the first SIGTERM (%.1f s)', $took);
	cmp_ok $took, '<', 8, '… and not much later';
	waitpid $kid, 0;
	my ($cs, $secs, $j) = outcome($f);
	is $cs, 503, 'the request in flight got 503';
	like ref $j ? $j->{error} : '', qr/shutting down/, '… saying effortd is shutting down';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
	unlock_findings($locker);
}

# ---- 6. SIGTERM while the audit sweep waits on a lock: exit 0 at once, the
# sweep's statement cancelled
{
	my $locker = lock_findings(40);
	my $d = start_effortd(db => $db, 'db.statement_timeout' => 60);
	my $end = time + 10;
	sleep 0.05 until statements_waiting('%audit_sweep%') == 1 || time > $end;
	is statements_waiting('%audit_sweep%'), 1, 'the first audit sweep waits on the lock';
	my $t0 = time;
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	is $st, 0, 'SIGTERM during the sweep: exit 0' or diag $d->log_text;
	cmp_ok $took, '<', 3, sprintf('… at once (%.1f s)', $took);
	$end = time + 5;
	sleep 0.05 while statements_waiting('%audit_sweep%') > 0 && time < $end;
	is statements_waiting('%audit_sweep%'), 0, '… its statement cancelled on the server';
	like $d->log_text, qr/audit sweep stopped: effortd is shutting down/, '… as the log says';
	unlike $d->log_text, qr/audit sweep failed.*trying again/, '… not promising another try';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
	unlock_findings($locker);
}

# ---- 7. SIGTERM while a report waits on the report pool (read-your-writes
# on): 503 at the drain timeout, exit 0
{
	my $d = start_effortd(db => $db, 'db.statement_timeout' => 60, 'limits.drain_timeout' => 2,
		'db.report_conninfo' => $db->conninfo, 'db.report_wait_ms' => 1000);
	my $token = $d->token('reviewer');
	$d->first_sweep_done;
	my ($s) = $d->req(GET => '/v1/violations?as_of=2026-10-01', token => $token);
	is $s, 200, 'a report before the lock: 200 (and the token is cached)';
	my $locker = $db->lock_table('people', 40);
	my $f = "$tmp/shutdown-$$-report";
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		my ($s, $j) = eval { $d->req(GET => '/v1/violations?as_of=2026-10-01', token => $token, timeout => 60) };
		spew($f, sprintf("%d 0 %s\n", $s // 599, ref $j ? json_encode($j) : ($j // '')));
		_exit(0);
	}
	my $end = time + 10;
	sleep 0.05 until statements_waiting('%violations%') == 1 || time > $end;
	is statements_waiting('%violations%'), 1, 'a report (violations as of a date) waits on the lock, on the report pool'
		or diag explain [ psql($db, q{SELECT application_name, state, wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity WHERE datname = current_database()}) ];
	my $t0 = time;
	my $st = $d->stop('TERM', 20);
	is $st, 0, 'SIGTERM: exit 0' or diag $d->log_text;
	cmp_ok time - $t0, '<', 6, '… once the drain timeout passed';
	waitpid $pid, 0;
	my ($cs, undef, $j) = outcome($f);
	is $cs, 503, 'the report got 503';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
	$db->unlock_table($locker, 'people');
}

# ---- 8. SIGTERM while a reminders run waits for a mail command that never
# ends: the run is answered 503 at the drain timeout, the command is
# stopped, effortd exits 0
{
	my $d = start_effortd(db => $db, 'limits.drain_timeout' => 2, 'notify.from' => 'effortd@example.ac.uk',
		'notify.sendmail' => 'exec sleep 60');
	my ($start, $end_date) = @{ month_ago($db, 3) }{qw(start end)};
	my ($s) = post_feed($d, people => [
		{ person_id => 'SM', name => 'Sam Manager', email => 'sam@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
		{ person_id => 'S1', name => 'Sid One', line_manager_id => 'SM', fte => 1, employment_start => '2015-01-01' } ]);
	is $s, 200, 'setup: a manager with an email address and one of their staff';
	($s) = post_feed($d, timesheets => [ { person_id => 'S1', period_start => $start, period_end => $end_date,
		submitted_at => "${end_date}T09:00:00Z", entries => [ { kind => 'research', activity => 'research', hours => 160 } ] } ]);
	is $s, 200, "setup: S1's $start timesheet, unauthorised past its deadline";
	my $admin = $d->token('admin');
	my $f = "$tmp/shutdown-$$-mail";
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		my ($st, $j) = eval { $d->req(POST => '/v1/reminders/run', token => $admin, timeout => 60) };
		spew($f, sprintf("%d 0 %s\n", $st // 599, ref $j ? json_encode($j) : ($j // '')));
		_exit(0);
	}
	my $end = time + 10;
	my $sleeper;
	until (($sleeper) = grep { /\bsleep 60\b/ } `ps -o pid=,args= --ppid ${\ $d->pid }` or time > $end) { sleep 0.05 }
	ok $sleeper, 'the mail command runs' or diag $d->log_text;
	($sleeper) = ($sleeper // '') =~ /^\s*(\d+)/;
	my $t0 = time;
	is $d->stop('TERM', 20), 0, 'SIGTERM: exit 0' or diag $d->log_text;
	cmp_ok time - $t0, '<', 6, '… once the drain timeout passed';
	waitpid $pid, 0;
	my ($cs) = outcome($f);
	is $cs, 503, 'the reminders run got 503';
	$end = time + 5;
	sleep 0.05 while $sleeper && kill(0, $sleeper) && time < $end;
	ok !($sleeper && kill 0, $sleeper), '… and the mail command was stopped';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
}

# ---- 9. SIGTERM while a feed's transaction waits on a lock: 503 at the
# drain timeout, nothing of it stored, exit 0
{
	my $d = start_effortd(db => $db, 'db.statement_timeout' => 60, 'limits.drain_timeout' => 2);
	my $feed = $d->token('feed');
	my ($s) = post_feed($d, people => [ { person_id => 'SF0', name => 'Before', fte => 1, employment_start => '2015-01-01' } ]);
	is $s, 200, 'a feed before the lock: 200 (and the token is cached)';
	$d->first_sweep_done;
	my $locker = $db->lock_table('people', 40);
	my $f = "$tmp/shutdown-$$-feed";
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		my $batch = [ map { { person_id => "SF$_", name => "Feed $_", fte => 1, employment_start => '2015-01-01' } } 1 .. 500 ];
		my ($st, $j) = eval { $d->req(POST => '/v1/people', token => $feed, body => $batch, timeout => 60) };
		spew($f, sprintf("%d 0 %s\n", $st // 599, ref $j ? json_encode($j) : ($j // '')));
		_exit(0);
	}
	my $end = time + 10;
	sleep 0.05 until statements_waiting('%') == 1 || time > $end;
	is statements_waiting('%'), 1, 'the feed waits on the lock';
	my $t0 = time;
	is $d->stop('TERM', 20), 0, 'SIGTERM: exit 0' or diag $d->log_text;
	cmp_ok time - $t0, '<', 6, '… once the drain timeout passed';
	waitpid $pid, 0;
	my ($cs, undef, $j) = outcome($f);
	is $cs, 503, 'the feed got 503' or diag explain $j;
	$db->unlock_table($locker, 'people');
	is psql($db, q{SELECT count(*) FROM people WHERE person_id LIKE 'SF%' AND person_id <> 'SF0'}) + 0, 0,
		'… and nothing of it is stored';
	unlike $d->log_text, qr/AddressSanitizer|runtime error|assert/i, 'no sanitizer report or assertion';
}

# ---- 10. signals while the pools are freed, after the loop: the audit
# sweep waits on a lock and the server does not take the cancel request
# (its postmaster stopped), so freeing the pool waits for the cancel for
# up to 5 s; SIGHUP and SIGTERM meanwhile change nothing (SIGHUP once
# killed effortd there: the loop's signal events were freed first, which
# put back the default actions)
{
	my $pc = private_cluster();
	my $pdb = new_db(cluster => $pc);
	my $locker = $pdb->lock_table('findings', 60);
	my $d = start_effortd(db => $pdb, 'db.statement_timeout' => 60);
	my $sweeps = sub {
		psql($pdb, q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'effortd' AND wait_event_type = 'Lock' AND query LIKE '%audit_sweep%'}) + 0;
	};
	my $end = time + 10;
	sleep 0.05 until $sweeps->() == 1 || time > $end;
	is $sweeps->(), 1, 'a private cluster: the first audit sweep waits on the lock';
	my ($postmaster) = split /\n/, slurp("$pc->{dir}/data/postmaster.pid");
	kill 'STOP', $postmaster;
	my $t0 = time;
	$d->signal('TERM');
	$end = time + 5;
	sleep 0.05 until $d->log_text =~ /shutting down/ || time > $end;
	sleep 0.5;    # past the loop: freeing the main pool, waiting for the cancel
	$d->signal('HUP');
	sleep 0.3;
	$d->signal('TERM');
	my $st = $d->stop('TERM', 20);
	my $took = time - $t0;
	kill 'CONT', $postmaster;
	is $st, 0, 'SIGHUP and SIGTERM while the pool waits for a cancel request: exit 0 all the same'
		or diag $d->log_text;
	cmp_ok $took, '<', 10, sprintf('… after at most the 5 s the cancel is waited for (%.1f s)', $took);
	like $d->log_text, qr/1 database cancel request\(s\) still pending/, '… which the log says it gave up on';
	unlike $d->log_text, qr/configuration reloaded/, '… and SIGHUP reloaded nothing';
	$pdb->unlock_table($locker, 'findings');
}

done_testing;
