#!/usr/bin/perl
# SIGHUP applies db.queue_max (and db.connect_timeout), both marked "reload"
# in docs/configuration.md, to the report pool (db.report_conninfo) as well
# as to the main pool: with the report pool's one connection stuck on a lock,
# the statements that queue behind it are refused 503 "database queue full"
# beyond the running configuration's db.queue_max, not the start-up one.
use strict;
use warnings;
use utf8;
use Test::More;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd psql json_encode json_decode slurp spew clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $tmp = $EffortTest::TMP;
# An explicit as_of (the report pool) of today reads the findings table.
my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});

# An ACCESS EXCLUSIVE lock on findings until unlocked.
sub lock_findings { $db->lock_table('findings', 60) }
sub unlock_findings { $db->unlock_table($_[0], 'findings') }

sub waiting_on_lock {
	return psql($db, q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'effortd'
		AND wait_event_type = 'Lock' AND query LIKE '%violations_list%'}) + 0;
}

# A child that GETs today's violations with an explicit as_of (the report
# pool) and
# writes "status body" to $file.
sub reader {
	my ($d, $token, $file) = @_;
	my $pid = fork // die "fork: $!";
	return $pid if $pid;
	my ($s, $j) = eval { $d->req(GET => '/v1/violations', query => { as_of => $today },
			token => $token, timeout => 60) };
	spew($file, sprintf("%d %s\n", $s // 599, ref $j ? json_encode($j) : ($j // '')));
	_exit(0);
}

# Three reports at once on a report pool of one connection stuck on the lock:
# one runs, the others queue (or are refused). Returns the statuses, sorted,
# and the bodies of the 503s.
sub three_reports {
	my ($d, $tag) = @_;
	my $token = $d->token('reviewer');
	my ($s0) = $d->req(GET => '/v1/violations', query => { as_of => $today }, token => $token);
	is $s0, 200, "$tag: a report without the lock: 200 (the token is cached)";
	my $locker = lock_findings();
	my @pids;
	push @pids, reader($d, $token, "$tmp/rpr-$tag-1");
	my $end = time + 10;
	sleep 0.05 until waiting_on_lock() >= 1 || time > $end;
	for my $i (2, 3) {
		push @pids, reader($d, $token, "$tmp/rpr-$tag-$i");
		sleep 0.5;
	}
	unlock_findings($locker);
	waitpid $_, 0 for @pids;
	my (@status, @refusals);
	for my $i (1 .. 3) {
		my ($s, $body) = split ' ', slurp("$tmp/rpr-$tag-$i"), 2;
		push @status, $s;
		push @refusals, (eval { json_decode($body)->{error} } // $body) if $s != 200;
	}
	return ([ sort @status ], \@refusals);
}

my %opt = ('db.pool_size' => 1, 'db.queue_max' => 1, 'db.report_conninfo' => $db->conninfo,
	'db.report_wait_ms' => 0, 'auth.cache_seconds' => 600, 'audit.sweep_interval' => 0);
my $d = start_effortd(db => $db, %opt);
my $end = time + 10;
sleep 0.1 until $d->log_text =~ /audit sweep:/ || time > $end;

# Started with db.queue_max = 1: the third report is refused.
my ($status, $refusals) = three_reports($d, 'start');
is_deeply $status, [ 200, 200, 503 ], 'queue_max 1: one report runs, one waits, the third is refused 503';
like $refusals->[0] // '', qr/database/, 'the refusal says the database is busy or unavailable';

# SIGHUP with db.queue_max = 10: all three are answered.
$d->write_config($d->options, 'db.queue_max' => 10);
$d->signal('HUP');
$end = time + 10;
sleep 0.1 until $d->log_text =~ /configuration reloaded/ || time > $end;
like $d->log_text, qr/configuration reloaded/, 'SIGHUP: the new db.queue_max is taken';
($status, $refusals) = three_reports($d, 'reloaded');
is_deeply $status, [ 200, 200, 200 ], 'after the reload (queue_max 10) the report pool queues all three'
    or diag explain $refusals;

is $d->stop, 0, 'effortd stops with exit 0';
done_testing;
