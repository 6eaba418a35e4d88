package EffortTest;

# Helpers for effortd's integration tests (tests/t/*.t): databases in a real
# PostgreSQL cluster, a real build/effortd per test, HTTP requests, psql and
# effortctl.  Core Perl modules only.
#
#   use lib 'tests/lib';
#   use EffortTest;
#   my $db = EffortTest::new_db();                  # fresh, migrated database
#   my $d  = EffortTest::start_effortd(db => $db, 'limits.max_body' => 4096);
#   my ($status, $json) = $d->req(POST => '/v1/people', token => $d->token('feed'),
#                                 body => [ {...} ]);
#   my @rows = EffortTest::psql($db, 'SELECT person_id, fte FROM people');
#   my ($rc, $out, $err) = EffortTest::effortctl($d, 'timesheets', '--format', 'csv');
#
# The cluster is the one in the environment (PGHOST/PGPORT/PGUSER, as set by
# scripts/run-tests); when there is none (a .t run on its own with prove), a
# private one is started for the test file and removed at the end.
# EffortTest::private_cluster() starts an extra private cluster for tests that
# stop and start PostgreSQL or change its settings.  make check runs two test
# files at once on the shared cluster: a test looks only at its own database
# in pg_locks (database = its oid) and pg_stat_activity (datname =
# current_database()), and names the roles it makes with its pid.  Every daemon still running at the end is sent
# SIGTERM, and a daemon that does not exit with status 0 fails the test file;
# so does one the test stopped itself that exited 99 (AddressSanitizer's
# report under make check-asan).

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(basename dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Open3 qw(open3);
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Symbol qw(gensym);
use Test::More ();
use Test2::API ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(new_db start_effortd psql psql_value psql_explained effortctl private_cluster replicated_cluster post_feed
    load_sample sample_file row_counts json_decode json_encode slurp spew wait_for
    parse_csv post_bg collect_bg month_ago clear_of_midnight);

our $TOP = $ENV{EFFORT_TOP} // abs_path(dirname(__FILE__) . '/../..');
our $EFFORTD = $ENV{EFFORTD} // "$TOP/build/effortd";
our $EFFORTCTL = $ENV{EFFORTCTL} // "$TOP/build/effortctl";
our $SAMPLE = "$TOP/sample";
our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

my $own_tmp;
our $TMP = $ENV{EFFORT_TMP} // do {
	$own_tmp = tempdir('effortd-t.XXXXXX', TMPDIR => 1, CLEANUP => 0);
	$own_tmp;
};
chmod 0755, $TMP;    # the postgres user must reach clusters in it as root

# Test names and diagnostics are UTF-8 (test files "use utf8").
{
	my $tb = Test::More->builder;
	binmode $_, ':encoding(UTF-8)' for $tb->output, $tb->failure_output, $tb->todo_output;
}

# Killed (prove's timeout, Ctrl-C) or writing to a closed pipe: still run
# the END cleanup, so no effortd or private PostgreSQL is left behind.
$SIG{$_} = sub { exit 1 } for qw(TERM INT HUP);
$SIG{PIPE} = 'IGNORE';

my $test_name = lc basename($0, '.t');
$test_name =~ s/[^a-z0-9]+/_/g;
my $db_seq = 0;
my @daemons;     # every daemon started
my @clusters;    # private clusters started here (stopped at the end)
my $default_cluster;

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { $JSON->decode($_[0]) }

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "$path: $!";
	local $/;
	my $s = <$fh>;
	return $s // '';
}

sub spew {
	my ($path, $text) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $text;
	close $fh or die "$path: $!";
}

sub _run {
	my (@cmd) = @_;
	my $out = '';
	my $pid = open3(my $in, my $fh, undef, @cmd);
	close $in;
	local $/;
	$out = <$fh> // '';
	waitpid $pid, 0;
	return ($? >> 8, $out);
}

# ---------------------------------------------------------------- clusters

package EffortTest::Cluster {

	sub new {
		my ($class, %a) = @_;
		return bless {%a}, $class;
	}
	sub host { $_[0]{host} }
	sub port { $_[0]{port} }
	sub user { $_[0]{user} // 'postgres' }

	sub conninfo {
		my ($self, $dbname) = @_;
		return "host=$self->{host} port=$self->{port} dbname=$dbname user=" . $self->user;
	}

	# The environment psql needs to reach this cluster.
	sub env {
		my ($self) = @_;
		return (PGHOST => $self->{host}, PGPORT => $self->{port}, PGUSER => $self->user);
	}

	# Private clusters only.
	sub stop {
		my ($self) = @_;
		die "not a private cluster" unless $self->{dir};
		my ($rc, $out) = EffortTest::_run("$EffortTest::TOP/scripts/pg-private", 'stop', $self->{dir});
		die "pg-private stop: $out" if $rc;
		$self->{running} = 0;
	}

	sub start {
		my ($self) = @_;
		die "not a private cluster" unless $self->{dir};
		my ($rc, $out) = EffortTest::_run("$EffortTest::TOP/scripts/pg-private", 'start', $self->{dir},
			$self->{port} // ());
		die "pg-private start: $out" if $rc;
		$out =~ /PGHOST=(\S+) PGPORT=(\d+)/ or die "pg-private start: unexpected output: $out";
		@$self{qw(host port)} = ($1, $2);
		$self->{running} = 1;
		return $self;
	}

	sub destroy {
		my ($self) = @_;
		return unless $self->{dir};
		eval { $self->stop } if $self->{running};
		File::Path::remove_tree($self->{dir});
		delete $self->{dir};
	}
}

my $cluster_seq = 0;

# A new private cluster (scripts/pg-private) for this test file, stopped and
# removed at the end.  $c->stop / $c->start stop and restart PostgreSQL on
# the same socket and port.
sub private_cluster {
	my $dir = "$TMP/c" . $$ . '_' . ++$cluster_seq;
	my $c = EffortTest::Cluster->new(dir => $dir);
	$c->start;
	push @clusters, $c;
	return $c;
}

# A primary and a hot standby streaming from it (scripts/pg-cluster), for
# this test file, stopped and removed at the end.  replicated_cluster(sync =>
# 1) makes the replication synchronous.  $rc->node('a') / $rc->node('b') are
# EffortTest::Cluster objects (new_db(cluster => $rc->node('a')), psql);
# $rc->conninfo($dbname, %kv) is the multi-host string naming both;
# $rc->stop_node($n, immediate => 1), $rc->start_node($n), $rc->promote($n);
# $rc->wait_replayed('b') waits until b has replayed all a has written.
package EffortTest::Replicated {

	sub _pgc {
		my ($self, @args) = @_;
		my ($rc, $out) = EffortTest::_run("$EffortTest::TOP/scripts/pg-cluster", @args);
		die "pg-cluster @args: $out" if $rc;
		return $out;
	}

	sub new {
		my ($class, %a) = @_;
		my $self = bless { dir => $a{dir} }, $class;
		my $out = $self->_pgc('start', $self->{dir}, $a{sync} ? '--sync' : ());
		while ($out =~ /^node (\w+) (\S+) (\d+)$/mg) {
			$self->{nodes}{$1} = EffortTest::Cluster->new(host => $2, port => $3);
		}
		die "pg-cluster start: unexpected output: $out" unless keys %{ $self->{nodes} } == 2;
		return $self;
	}

	sub node { $_[0]{nodes}{ $_[1] } // die "no node $_[1]" }

	sub conninfo {
		my ($self, $dbname, %kv) = @_;
		my @n = map { $self->{nodes}{$_} } sort keys %{ $self->{nodes} };
		return join ' ', 'host=' . join(',', map { $_->host } @n), 'port=' . join(',', map { $_->port } @n),
			"dbname=$dbname", 'user=postgres', map { "$_=$kv{$_}" } sort keys %kv;
	}

	sub stop_node {
		my ($self, $n, %a) = @_;
		$self->_pgc('stop', $self->{dir}, $n, $a{immediate} ? '--immediate' : ());
	}
	sub start_node { $_[0]->_pgc('start-node', $_[0]{dir}, $_[1]) }
	sub promote    { $_[0]->_pgc('promote', $_[0]{dir}, $_[1]) }

	# Waits (up to 30 s) until standby $n has replayed what the other node
	# (the primary) has written; true if it did.
	sub wait_replayed {
		my ($self, $n) = @_;
		my ($p) = grep { $_ ne $n } keys %{ $self->{nodes} };
		my ($lsn) = EffortTest::psql_cluster($self->node($p), 'postgres', 'SELECT pg_current_wal_lsn()');
		my $end = Time::HiRes::time() + 30;
		while (Time::HiRes::time() < $end) {
			my ($r) = EffortTest::psql_cluster($self->node($n), 'postgres',
				"SELECT pg_last_wal_replay_lsn() >= '$lsn->[0]'");
			return 1 if $r->[0] eq 't';
			Time::HiRes::sleep(0.05);
		}
		return 0;
	}

	sub destroy {
		my ($self) = @_;
		return unless $self->{dir};
		eval { $self->_pgc('stop', $self->{dir}, '--immediate') };
		File::Path::remove_tree($self->{dir});
		delete $self->{dir};
	}
}

sub replicated_cluster {
	my (%a) = @_;
	my $rc = EffortTest::Replicated->new(dir => "$TMP/r" . $$ . '_' . ++$cluster_seq, %a);
	push @clusters, $rc;
	return $rc;
}

sub default_cluster {
	return $default_cluster if $default_cluster;
	if ($ENV{PGHOST} && $ENV{PGPORT}) {
		$default_cluster = EffortTest::Cluster->new(host => $ENV{PGHOST}, port => $ENV{PGPORT},
			user => $ENV{PGUSER} // 'postgres');
	} else {
		$default_cluster = private_cluster();
	}
	return $default_cluster;
}

# ---------------------------------------------------------------- databases

package EffortTest::DB {
	sub name    { $_[0]{name} }
	sub cluster { $_[0]{cluster} }
	sub conninfo { $_[0]{cluster}->conninfo($_[0]{name}) }

	# Holds an ACCESS EXCLUSIVE lock on $table for $secs seconds (hold's
	# child); returns once it is granted, with the child's pid.
	sub lock_table {
		my ($self, $table, $secs) = @_;
		return $self->hold("LOCK TABLE $table IN ACCESS EXCLUSIVE MODE", "lock_$table", $secs);
	}

	# A login role $role (made if missing) given effort_grant_runtime's
	# privileges on this database, as effortd's runtime role; returns a
	# cluster handle that connects as it (->conninfo($db->name)).
	sub runtime_role {
		my ($self, $role) = @_;
		EffortTest::psql($self, qq{DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
			CREATE ROLE "$role" LOGIN NOSUPERUSER; END IF; END \$\$});
		EffortTest::psql($self, qq{SELECT effort_grant_runtime('$role')});
		my $c = $self->cluster;
		return EffortTest::Cluster->new(host => $c->host, port => $c->port, user => $role);
	}

	# Runs $sql in a transaction of a psql child of its own, named
	# application_name $app, which then sleeps holding what $sql took (row,
	# table and advisory locks) for $secs seconds (60) or until
	# release_held; returns once it sleeps (past $sql, so it holds them).
	sub hold {
		my ($self, $sql, $app, $secs) = @_;
		$secs //= 60;
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			local %ENV = (%ENV, $self->cluster->env, PGDATABASE => $self->name);
			open STDERR, '>', '/dev/null';    # it is terminated
			{ exec 'psql', '-X', '-q', '-o', '/dev/null', '-c',
				"BEGIN; SET application_name = '$app'; $sql; SELECT pg_sleep($secs); COMMIT;" };
			POSIX::_exit(127);
		}
		EffortTest::wait_for(sub { EffortTest::psql_value($self, qq{SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = '$app' AND wait_event = 'PgSleep'}) }, 10)
			or die "$app: what it holds was not taken";
		return $pid;
	}

	# Ends hold's child $pid named $app, its backend too.
	sub release_held {
		my ($self, $pid, $app) = @_;
		EffortTest::psql($self, qq{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = '$app'});
		waitpid $pid, 0;
	}

	# Ends lock_table's holder $pid, its backend too (pg_sleep does not
	# notice psql go).
	sub unlock_table {
		my ($self, $pid, $table) = @_;
		$self->release_held($pid, "lock_$table");
	}
}

sub _config_value {
	my ($v) = @_;
	return '{ ' . join(' ', map { "$_ = " . _config_value($v->{$_}) . ';' } sort keys %$v) . ' }'
		if ref $v eq 'HASH';
	return '[ ' . join(', ', map { _config_value($_) } @$v) . ' ]' if ref $v eq 'ARRAY';
	return 'true'  if ref $v && ref $v eq 'SCALAR' && $$v;
	return 'false' if ref $v && ref $v eq 'SCALAR';
	return $v if defined $v && $v =~ /\A-?\d+(?:\.\d+)?\z/;
	(my $s = $v // '') =~ s/(["\\])/\\$1/g;
	return qq{"$s"};
}

# libconfig text from "group.key" => value pairs (a hash ref: a group of
# settings, an array ref: a list).
sub config_text {
	my (%opt) = @_;
	my %groups;
	for my $k (sort keys %opt) {
		my ($g, $n) = $k =~ /\A(\w+)\.(\w+)\z/ or die "config key $k: want group.name";
		$groups{$g}{$n} = $opt{$k};
	}
	my $text = "# written by tests/lib/EffortTest.pm\n";
	for my $g (sort keys %groups) {
		$text .= "$g = {\n";
		$text .= "\t$_ = " . _config_value($groups{$g}{$_}) . ";\n" for sort keys %{ $groups{$g} };
		$text .= "};\n";
	}
	return $text;
}

# Runs effortd --migrate on a database; returns (exit code, output).
sub migrate {
	my ($db) = @_;
	my $conf = "$TMP/migrate-$db->{name}.conf";
	spew($conf, config_text('db.conninfo' => $db->conninfo, 'db.pool_size' => 1,
			'db.sql_dir' => "$TOP/sql", 'log.level' => 'warning'));
	return _run($EFFORTD, '-c', $conf, '--migrate');
}

# A fresh database with a unique name, migrated by effortd --migrate.
# Options: cluster => (default: the environment's), migrate => 0 to skip.
sub new_db {
	my (%a) = @_;
	my $c = $a{cluster} // default_cluster();
	my $name = "t_${test_name}_$$" . '_' . ++$db_seq;
	my $db = bless { name => $name, cluster => $c }, 'EffortTest::DB';
	psql_cluster($c, 'postgres', qq{CREATE DATABASE "$name"});
	if ($a{migrate} // 1) {
		my ($rc, $out) = migrate($db);
		die "effortd --migrate of $name failed (exit $rc):\n$out" if $rc;
	}
	return $db;
}

sub psql_cluster {
	my ($c, $dbname, $sql) = @_;
	local %ENV = (%ENV, $c->env, PGDATABASE => $dbname);
	delete $ENV{PGOPTIONS};
	my $err = gensym;
	my $pid = open3(my $in, my $out, $err, 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
		'-F', "\x1f", '-R', "\x1e", '-P', 'null=\\N', '-f', '-');
	binmode $in, ':raw';
	my $bytes = $sql;
	utf8::encode($bytes) if utf8::is_utf8($bytes);
	print $in $bytes;
	close $in;
	my ($o, $e);
	{
		local $/;
		$o = <$out> // '';
		$e = <$err> // '';
	}
	waitpid $pid, 0;
	die "psql on $dbname failed: $e\nSQL: $sql\n" if $?;
	utf8::decode($o);
	$o =~ s/\n\z//;
	my @rows;
	for my $r (split /\x1e/, $o) {
		$r =~ s/\A\n//;
		next if $r eq '';
		push @rows, [ map { $_ eq '\\N' ? undef : $_ } split /\x1f/, $r, -1 ];
	}
	return @rows;
}

# psql($db, $sql): the rows as array refs (NULL = undef).  In scalar context:
# the first column of the first row.
sub psql {
	my ($db, $sql) = @_;
	my @rows = psql_cluster($db->{cluster}, $db->{name}, $sql);
	return wantarray ? @rows : (@rows ? $rows[0][0] : undef);
}

sub psql_value { scalar psql(@_) }

# Runs $sql in one psql session on $db as the owner with auto_explain
# loaded: every statement's plan, nested ones too (those of functions and
# triggers), comes back as a NOTICE; %opt sets auto_explain's options
# (analyze => 1: with the rows each node read).  Returns the session's
# output, NOTICEs and results together (one pipe: a large plan output
# cannot block the session), and psql's exit status.
sub psql_explained {
	my ($db, $sql, %opt) = @_;
	my $set = join '', map { "SET auto_explain.$_ = $opt{$_};\n" } sort keys %opt;
	local %ENV = (%ENV, $db->{cluster}->env, PGDATABASE => $db->{name});
	delete $ENV{PGOPTIONS};
	my $pid = open3(my $in, my $out, undef, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-');
	print $in <<"SQL";
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
$set$sql
SQL
	close $in;
	my $output = do { local $/; <$out> } // '';
	waitpid $pid, 0;
	return ($output, $? >> 8);
}

# A test whose expected answers are computed from today must not straddle
# the organisation's midnight (Europe/London): the reminders claimed "for
# today", a delegation that may not start before today.  When that midnight
# is less than $seconds away on the database's clock, this waits until it
# has passed (and says so); a suite started at 23:59 then runs on the new
# day instead of failing half-way.
sub clear_of_midnight {
	my ($db, $seconds) = @_;
	my $left = psql($db, q{SELECT ceil(extract(epoch FROM date_trunc('day', x) + interval '1 day' - x))
		FROM (SELECT now() AT TIME ZONE 'Europe/London' AS x) n});
	return if $left >= $seconds;
	Test::More::diag("$left s to midnight in Europe/London: waiting for the new day, as this test needs $seconds s of one day");
	sleep $left + 1;
}

# The month $n months before this one (0: this one), today being the
# organisation's (Europe/London): { start, end, deadline (effort_deadline
# with the default two months), days_left (from today to the deadline) }.
# The first call waits, if need be, for a day that lasts the test's next
# five minutes (clear_of_midnight).
my $midnight_cleared;
sub month_ago {
	my ($db, $n) = @_;
	clear_of_midnight($db, 300) unless $midnight_cleared++;
	my ($row) = psql($db, qq{SELECT s, e, effort_deadline(e, 2), effort_deadline(e, 2) - today
		FROM (SELECT (now() AT TIME ZONE 'Europe/London')::date AS today) t,
		LATERAL (SELECT (date_trunc('month', today) - interval '$n month')::date AS s) m,
		LATERAL (SELECT (s + interval '1 month' - interval '1 day')::date AS e) l});
	return { start => $row->[0], end => $row->[1], deadline => $row->[2], days_left => $row->[3] };
}

# Polls $what every 0.1 s until it is true (1) or $timeout seconds (20)
# have passed (0).
sub wait_for {
	my ($what, $timeout) = @_;
	my $end = time + ($timeout // 20);
	while (time < $end) {
		return 1 if $what->();
		sleep 0.1;
	}
	return 0;
}

# Row counts of the tables the feeds write, for "nothing was stored" checks
# (one psql for all of them).
sub row_counts {
	my ($db) = @_;
	my @tables = qw(people line_manager_history grants assignments charges delegations
		timesheets timesheet_entries timesheet_decisions);
	my ($row) = psql($db, 'SELECT ' . join(', ', map { "(SELECT count(*) FROM $_)" } @tables));
	my %n;
	@n{@tables} = @$row;
	return \%n;
}

# ---------------------------------------------------------------- daemons

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
		Listen => 1, ReuseAddr => 1) or die "no free port: $!";
	my $p = $s->sockport;
	close $s;
	return $p;
}

package EffortTest::Daemon {
	use POSIX qw(:sys_wait_h);
	use Time::HiRes qw(sleep time);

	sub url  { "http://127.0.0.1:$_[0]{port}" }
	sub port { $_[0]{port} }
	sub pid  { $_[0]{pid} }
	sub db   { $_[0]{db} }
	sub conf { $_[0]{conf} }
	sub log_text { EffortTest::slurp($_[0]{log}) }

	# Waits (up to 10 s) for the first full audit sweep, which runs a
	# second after start.  Until a full sweep as of today has finished,
	# GET /v1/violations for today is evaluated on the fly (no
	# first_detected_at): a test of the kept findings waits for it.
	sub first_sweep_done {
		my ($self) = @_;
		my $end = time + 10;
		sleep 0.1 until $self->log_text =~ /audit sweep:/ || time > $end;
		return $self->log_text =~ /audit sweep:/ ? 1 : 0;
	}

	# The config options this daemon runs with ("group.key" => value).
	sub options { %{ $_[0]{options} } }

	# Rewrites the config file (does not signal).
	sub write_config {
		my ($self, %opt) = @_;
		$self->{options} = {%opt};
		EffortTest::spew($self->{conf}, EffortTest::config_text(%opt));
	}

	# A token for a role (cached): effortd --create-token ROLE [--person ID].
	sub token {
		my ($self, $role, $person) = @_;
		my $key = join ':', $role, $person // '';
		return $self->{tokens}{$key} //= do {
			my @cmd = ($EffortTest::EFFORTD, '-c', $self->{conf}, '--create-token', $role,
				defined $person ? ('--person', $person) : ());
			my $pid = IPC::Open3::open3(my $in, my $out, undef, @cmd);
			close $in;
			local $/;
			my $o = <$out> // '';
			waitpid $pid, 0;
			die "@cmd: exit " . ($? >> 8) . ": $o" if $?;
			my @l = grep { /\S/ } split /\n/, $o;
			die "@cmd printed no token" unless @l;
			(my $t = $l[-1]) =~ s/\s+//g;
			$t;
		};
	}

	sub alive {
		my ($self) = @_;
		return 0 if defined $self->{exit};
		my $r = waitpid $self->{pid}, WNOHANG;
		if ($r == $self->{pid}) {
			$self->{wstatus} = $?;
			$self->{exit} = WIFEXITED($?) ? WEXITSTATUS($?) : 128 + WTERMSIG($?);
			return 0;
		}
		return 1;
	}

	# (status, decoded JSON body or raw text, HTTP::Tiny response)
	# Options: token, body (ref → JSON, string → raw), type (Content-Type),
	# headers (hash ref), query (hash ref).
	sub req {
		my ($self, $method, $path, %a) = @_;
		my %h = %{ $a{headers} // {} };
		$h{Authorization} = "Bearer $a{token}" if defined $a{token};
		my %o = (headers => \%h);
		if (exists $a{body}) {
			my $b = $a{body};
			if (ref $b) {
				$o{content} = EffortTest::json_encode($b);
				$h{'Content-Type'} //= $a{type} // 'application/json';
			} else {
				$o{content} = $b;
				$h{'Content-Type'} //= $a{type} // 'application/json';
			}
		}
		my $url = $self->url . $path;
		if ($a{query}) {
			my $q = HTTP::Tiny->www_form_urlencode($a{query});
			$url .= ($url =~ /\?/ ? '&' : '?') . $q if length $q;
		}
		my $http = HTTP::Tiny->new(timeout => $a{timeout} // 30, keep_alive => 0);
		my $res = $http->request($method, $url, \%o);
		my $content = $res->{content} // '';
		my $ct = $res->{headers}{'content-type'} // '';
		my $data = $content;
		if ($ct =~ m{json}i || $content =~ /\A\s*[\[{]/) {
			$data = eval { EffortTest::json_decode($content) } // $content;
		}
		return ($res->{status}, $data, $res);
	}

	# Polls GET /healthz until it answers $want (default 200); true if it did.
	sub wait_health {
		my ($self, $want, $timeout) = @_;
		$want //= 200;
		$timeout //= 15;
		my $end = time + $timeout;
		while (time < $end) {
			return 0 unless $self->alive;
			my ($s) = $self->req(GET => '/healthz', timeout => 2);
			return 1 if $s == $want;
			sleep 0.1;
		}
		return 0;
	}

	sub signal {
		my ($self, $sig) = @_;
		kill $sig, $self->{pid} if $self->alive;
	}

	# SIGTERM (or $sig) and wait up to $timeout s; returns the exit status
	# (128+signal when killed by one; undef if it would not stop, then KILLed).
	sub stop {
		my ($self, $sig, $timeout) = @_;
		$self->{stop_requested} = 1;
		return $self->{exit} unless $self->alive;
		kill $sig // 'TERM', $self->{pid};
		my $end = time + ($timeout // 15);
		while (time < $end) {
			return $self->{exit} unless $self->alive;
			sleep 0.05;
		}
		kill 'KILL', $self->{pid};
		waitpid $self->{pid}, 0;
		$self->{exit} = undef;
		$self->{killed} = 1;
		return undef;
	}
}

# Starts build/effortd on a free port with a config for $a{db} plus the given
# "group.key" => value overrides; waits for /healthz 200 (unless wait => 0).
sub start_effortd {
	my (%a) = @_;
	my $db = delete $a{db} // new_db();
	my $wait = delete $a{wait} // 1;
	my $port = free_port();
	my $n = @daemons + 1;
	my $base = "$TMP/effortd-$db->{name}-$n";
	my %opt = (
		'listen.address' => '127.0.0.1',
		'listen.port' => $port,
		'db.conninfo' => $db->conninfo,
		'db.pool_size' => 2,
		'db.sql_dir' => "$TOP/sql",
		'log.level' => 'info',
		%a,
	);
	$port = $opt{'listen.port'};
	my $d = bless { db => $db, port => $port, conf => "$base.conf", log => "$base.log",
		options => \%opt }, 'EffortTest::Daemon';
	$d->write_config(%opt);

	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$SIG{PIPE} = 'DEFAULT';
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $d->{log};
		open STDERR, '>>', $d->{log};
		exec $EFFORTD, '-c', $d->{conf} or POSIX::_exit(127);
	}
	$d->{pid} = $pid;
	push @daemons, $d;
	if ($wait && !$d->wait_health(200, 20)) {
		my $why = $d->alive ? 'did not answer /healthz 200 within 20 s'
			: "exited with status $d->{exit}";
		Test::More::fail("effortd starts and answers GET /healthz 200");
		die "effortd $why; its log:\n" . $d->log_text;
	}
	return $d;
}

# ---------------------------------------------------------------- effortctl

# effortctl($d, [\%opt,] @args) → (exit code, stdout, stderr).  Talks to $d
# through EFFORTCTL_URL / EFFORTCTL_TOKEN (token: $opt{token}, default an
# admin token; token => undef for none); $opt{stdin} is fed to it,
# $opt{env} adds environment.
sub effortctl {
	my ($d, @args) = @_;
	my %o = ref $args[0] eq 'HASH' ? %{ shift @args } : ();
	my $token = exists $o{token} ? $o{token} : ($d ? $d->token('admin') : undef);
	local %ENV = %ENV;
	delete @ENV{qw(EFFORTCTL_URL EFFORTCTL_TOKEN)};
	$ENV{EFFORTCTL_URL} = $d->url if $d;
	$ENV{EFFORTCTL_TOKEN} = $token if defined $token;
	%ENV = (%ENV, %{ $o{env} // {} });
	my $outf = File::Temp->new(DIR => $TMP);
	my $errf = File::Temp->new(DIR => $TMP);
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$SIG{PIPE} = 'DEFAULT';
		if (defined $o{stdin}) {
			my $inf = "$outf.in";
			spew($inf, $o{stdin});
			open STDIN, '<', $inf;
		} else {
			open STDIN, '<', '/dev/null';
		}
		open STDOUT, '>', "$outf";
		open STDERR, '>', "$errf";
		exec $EFFORTCTL, @args or POSIX::_exit(127);
	}
	waitpid $pid, 0;
	my $rc = WIFEXITED($?) ? WEXITSTATUS($?) : 128 + WTERMSIG($?);
	my ($out, $err) = (slurp("$outf"), slurp("$errf"));
	unlink "$outf.in";
	utf8::decode($out);
	utf8::decode($err);
	return ($rc, $out, $err);
}

# The rows of an RFC 4180 text, strictly: CRLF records, quoted fields with
# doubled quotes; dies on anything else (a bare LF, an unterminated quote).
sub parse_csv {
	my ($text) = @_;
	my (@rows, @row, $f);
	my $i = 0;
	my $n = length $text;
	while ($i < $n) {
		$f = '';
		if (substr($text, $i, 1) eq '"') {
			$i++;
			while (1) {
				my $j = index($text, '"', $i);
				die "unterminated quote" if $j < 0;
				$f .= substr($text, $i, $j - $i);
				$i = $j + 1;
				if (substr($text, $i, 1) eq '"') { $f .= '"'; $i++; next }
				last;
			}
		} else {
			($f) = substr($text, $i) =~ /\A([^,\r\n"]*)/;
			$i += length $f;
		}
		push @row, $f;
		my $c = substr($text, $i, 1);
		if ($c eq ',') { $i++; next }
		die "bare LF at $i" if $c eq "\n";
		die "expected CRLF at $i" unless substr($text, $i, 2) eq "\r\n";
		$i += 2;
		push @rows, [@row];
		@row = ();
	}
	return @rows;
}

# effortctl_tty($d, {token, answers, env, dir}, @args): effortctl at a
# terminal (a pseudo-terminal for its stdin, stdout and stderr), run in
# $o{dir} if given, with $o{env} added; each "[y/N] " prompt gets the next
# of @{$o{answers}} ("n" when they run out).  Returns (exit status, all it
# wrote, CR LF as LF).
sub effortctl_tty {
	my ($d, $o, @args) = @_;
	require IO::Pty;
	my $pty = IO::Pty->new;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$pty->make_slave_controlling_terminal;
		my $tty = $pty->slave;
		close $pty;
		open STDIN, '<&', $tty; open STDOUT, '>&', $tty; open STDERR, '>&', $tty;
		$ENV{EFFORTCTL_URL} = $d->url;
		$ENV{EFFORTCTL_TOKEN} = $o->{token};
		%ENV = (%ENV, %{ $o->{env} // {} });
		if (defined $o->{dir}) { chdir $o->{dir} or die "chdir $o->{dir}: $!" }
		exec $EFFORTCTL, @args or POSIX::_exit(127);
	}
	$pty->close_slave;
	my ($seen, @a) = ('', @{ $o->{answers} // [] });
	my $rin = '';
	vec($rin, fileno($pty), 1) = 1;
	while (1) {
		my $n = select(my $r = $rin, undef, undef, 20);
		last if $n <= 0;
		my $got = sysread $pty, my $buf, 65536;
		last unless $got;
		$seen .= $buf;
		if ($seen =~ /\[y\/N\] \z/) {
			my $ans = @a ? shift @a : 'n';
			syswrite $pty, "$ans\n";
		}
	}
	waitpid $pid, 0;
	my $rc = WIFEXITED($?) ? WEXITSTATUS($?) : 255;
	$seen =~ s/\r\n/\n/g;
	utf8::decode($seen);
	return ($rc, $seen);
}

# post_feed($d, $feed, $body, %opt): POST /v1/$feed with a feed token (or
# $opt{token}); $body is a Perl structure (sent as JSON) or a string, sent as
# text/csv unless $opt{type} says otherwise.  Returns (status, decoded body).
sub post_feed {
	my ($d, $feed, $body, %o) = @_;
	my $type = $o{type} // (ref $body ? 'application/json' : 'text/csv');
	my ($s, $j) = $d->req(POST => "/v1/$feed", token => $o{token} // $d->token('feed'),
		body => $body, type => $type);
	return ($s, $j);
}

# POSTs $body to /v1/$feedname on $d (or $o{path} instead, its $body
# optional) in a child, the token $o{token} (default: $d's feed token, made
# before the fork); returns a handle for collect_bg, which waits for the
# child and returns (status, decoded body).  For tests that hold a request
# in flight while they do something else (races.t, races2.t).
sub post_bg {
	my ($d, $feedname, $body, %o) = @_;
	my $token = $o{token} // $d->token('feed');
	my $f = "$TMP/bg-$test_name-$$-" . int(rand(1e9));
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		my ($st, $jj) = $o{path}
			? $d->req(POST => $o{path}, token => $token, defined $body ? (body => $body) : (), timeout => 60)
			: post_feed($d, $feedname, $body, token => $token);
		spew($f, json_encode([ $st, $jj ]));
		POSIX::_exit(0);
	}
	return [ $pid, $f ];
}

sub collect_bg {
	my ($h) = @_;
	waitpid $h->[0], 0;
	return @{ json_decode(slurp($h->[1])) };
}

# ---------------------------------------------------------------- sample

our @FEEDS = qw(people grants assignments delegations charges timesheets);

sub sample_file {
	my ($feed, $ext) = @_;
	return "$SAMPLE/$feed." . ($ext // 'json');
}

# Posts the sample organisation's feeds (load order) to $d; format 'json',
# 'csv', or a hash ref feed => format.  Returns { feed => [status, body] }
# and dies on any answer but 200.
sub load_sample {
	my ($d, %a) = @_;
	my $fmt = $a{format} // 'json';
	my $token = $a{token} // $d->token('feed');
	my %res;
	for my $feed (@{ $a{feeds} // \@FEEDS }) {
		my $f = ref $fmt ? $fmt->{$feed} // 'json' : $fmt;
		my $body = slurp(sample_file($feed, $f));
		my ($s, $j) = $d->req(POST => "/v1/$feed", token => $token, body => $body,
			type => $f eq 'csv' ? 'text/csv' : 'application/json');
		die "loading sample $feed.$f: $s " . (ref $j ? json_encode($j) : $j) . "\n" unless $s == 200;
		$res{$feed} = [ $s, $j ];
	}
	return \%res;
}

# ---------------------------------------------------------------- the end

my $ending_done = 0;

sub _finish {
	my ($ctx, $exit_ref) = @_;
	return if $ending_done++;
	my @bad;
	for my $d (@daemons) {
		next unless defined $d->{pid};
		if (!$d->alive) {
			push @bad, "effortd (pid $d->{pid}) exited unexpectedly with status $d->{exit}; log $d->{log}"
				unless $d->{stop_requested};
			# A daemon the test stopped itself may not have exited 99,
			# AddressSanitizer's report (make check-asan's exitcode): a
			# leak or an error found as it shut down.
			push @bad, "effortd (pid $d->{pid}) stopped with status 99, a sanitizer's report; log $d->{log}"
				if $d->{stop_requested} && ($d->{exit} // 0) == 99;
			next;
		}
		my $st = $d->stop('TERM', 15);
		if (!defined $st) {
			push @bad, "effortd (pid $d->{pid}) did not exit within 15 s of SIGTERM; killed";
		} elsif ($st != 0) {
			push @bad, "effortd (pid $d->{pid}) exited with status $st after SIGTERM";
		}
	}
	for my $c (@clusters) {
		eval { $c->destroy };
	}
	remove_tree($own_tmp) if $own_tmp && !$ENV{KEEP_TMP};
	if (@bad) {
		if ($ctx) {
			$ctx->diag($_) for @bad;
		} else {
			print STDERR "# $_\n" for @bad;
		}
		$$exit_ref = 1 if $exit_ref && !$$exit_ref;
	}
}

# Runs after the test's last line, before Test::More fixes the exit code.
Test2::API::test2_add_callback_exit(sub {
	my ($ctx, $real, $new) = @_;
	_finish($ctx, $new);
});

END {
	# Fallback when the test died before Test2's exit callbacks.
	my $st = $?;
	_finish(undef, undef);
	$? = $st;
}

1;
