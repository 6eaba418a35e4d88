package EffortDeb;

# Helpers for the tests of the Debian packages installed on this machine
# (tests/deb/*.t, run as root by `make check-deb`): dpkg and its database,
# file modes, the installed configuration adjusted for a test, a database
# with the owner and runtime roles as postinst tells the administrator to
# make them, and the installed effortd serving as the effortd user.
#
#   use lib "$FindBin::Bin/../lib";
#   use EffortDeb qw(run dpkg installed known mode_owner adjusted_config);

use strict;
use warnings;

use Exporter qw(import);
use POSIX ();
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db slurp spew);

our @EXPORT_OK = qw(run dpkg installed known mode_owner adjusted_config owned_db serve_installed);

our $CONF = '/etc/effortd/effortd.conf';

# (exit code, output) of a command; stderr joined to stdout.
sub run {
	my (@cmd) = @_;
	return EffortTest::_run(@cmd);
}

# dpkg, waiting for the lock another administrator's apt may hold.
sub dpkg {
	my (@args) = @_;
	my $end = time + 900;
	while (1) {
		my ($rc, $out) = run('dpkg', @args);
		return ($rc, $out) if $rc == 0 || $out !~ /lock/i || time > $end;
		sleep 5;
	}
}

sub installed {
	my ($pkg) = @_;
	my ($rc, $out) = run('dpkg-query', '-W', '-f=${db:Status-Status}', $pkg);
	return $rc == 0 && $out eq 'installed';
}

# Installed, or its configuration files still there.
sub known {
	my ($pkg) = @_;
	my ($rc, $out) = run('dpkg-query', '-W', '-f=${db:Status-Status}', $pkg);
	return $rc == 0 && $out ne '' && $out ne 'not-installed';
}

# "0640 root:effortd", or "missing".
sub mode_owner {
	my ($path) = @_;
	my @st = stat $path or return 'missing';
	return sprintf '%04o %s:%s', $st[2] & 07777, scalar getpwuid($st[4]) // $st[4],
		scalar getgrgid($st[5]) // $st[5];
}

# The installed configuration with the settings a test installation needs
# changed ("group.key" => value; the key must already be set in the file).
sub adjusted_config {
	my (%set) = @_;
	my $text = slurp($CONF);
	for my $k (sort keys %set) {
		my ($group, $name) = split /\./, $k;
		my $value = $set{$k} =~ /\A\d+\z/ ? $set{$k} : qq{"$set{$k}"};
		$text =~ s/(^\Q$group\E\s*=\s*\{.*?^\s*\Q$name\E\s*=\s*)[^;]*;/$1$value;/ms
			or die "$k not found in $CONF";
	}
	return $text;
}

# A database owned by the role effortd_owner, with the runtime role effortd
# (both made if missing), whose socket the effortd user can reach:
# (db, owner's conninfo, runtime conninfo).
sub owned_db {
	my $db = new_db(migrate => 0);
	my $c = $db->cluster;
	chmod 0711, $c->host;    # the effortd user reaches the socket; the data stays 0700
	EffortTest::psql_cluster($c, 'postgres', q{DO $$BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'effortd_owner') THEN CREATE ROLE effortd_owner LOGIN; END IF;
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'effortd') THEN CREATE ROLE effortd LOGIN; END IF;
		END$$; } . qq{ALTER DATABASE "${\ $db->name}" OWNER TO effortd_owner});
	my $owner = $c->conninfo($db->name) =~ s/user=\S+/user=effortd_owner/r;
	my $runtime = $c->conninfo($db->name) =~ s/user=\S+/user=effortd/r;
	return ($db, $owner, $runtime);
}

# The installed /usr/sbin/effortd serving as the effortd user from a copy of
# the installed configuration ($path, with %set changed: at least
# db.conninfo and listen.port); an EffortTest::Daemon (not yet answering).
sub serve_installed {
	my ($db, $path, %set) = @_;
	spew($path, adjusted_config(%set));
	chown 0, scalar getgrnam('effortd'), $path;
	chmod 0640, $path;
	my $log = "$path.log";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $log;
		open STDERR, '>>', $log;
		exec 'setpriv', '--reuid=effortd', '--regid=effortd', '--init-groups', '/usr/sbin/effortd', '-c',
			$path or POSIX::_exit(127);
	}
	return bless { db => $db, port => $set{'listen.port'}, conf => $path, log => $log, pid => $pid,
		options => {} }, 'EffortTest::Daemon';
}

1;
