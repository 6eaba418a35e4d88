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
	my $for = $plain ? '' : ' FOR UPDATE';
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		local %ENV = (%ENV, $db->cluster->env, PGDATABASE => $db->name);
		open STDERR, '>', '/dev/null';    # it is terminated
		{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-c',
			"BEGIN; SET application_name = 'races_holder'; $sql$for; SELECT pg_sleep(60); COMMIT;" };
		POSIX::_exit(127);
	}
	wait_for(sub { psql_value($db, q{SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'races_holder' AND query LIKE '%pg_sleep%'}) }, 10)
		or die 'the row lock was not taken';
	return $pid;
}

sub row_unlock {
	my ($pid) = @_;
	psql($db, q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'races_holder'});
	waitpid $pid, 0;
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

# POSTs $body to /v1/$feedname on $d in a child; returns a handle for
# collect().
sub post_bg {
	my ($d, $feedname, $body, %o) = @_;
	my $f = "$EffortTest::TMP/races-$$-" . int(rand(1e9));
	my $pid = fork // die;
	if (!$pid) {
		my ($st, $jj) = $o{path}
			? $d->req(POST => $o{path}, token => $o{token}, defined $body ? (body => $body) : ())
			: post_feed($d, $feedname, $body, token => $o{token} // $feed);
		EffortTest::spew($f, json_encode([ $st, $jj ]));
		POSIX::_exit(0);
	}
	return [ $pid, $f ];
}

sub collect {
	my ($h) = @_;
	waitpid $h->[0], 0;
	return @{ json_decode(EffortTest::slurp($h->[1])) };
}

my @people = (
	{ person_id => 'M1', name => 'Mary One', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'M2', name => 'Mark Two', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'M3', name => 'Mina Three', fte => 1, employment_start => '2020-01-06' },
	{ person_id => 'E1', name => 'Eve One', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M1' },
	{ person_id => 'E2', name => 'Eli Two', fte => 1, employment_start => '2020-01-06', line_manager_id => 'M1' },
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

done_testing;
