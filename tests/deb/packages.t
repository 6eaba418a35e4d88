# The Debian packages (make deb) installed on this machine with dpkg -i:
# the files, user, modes and enabled unit they promise; the installed
# effortd migrating (as the owner role) and serving (as the effortd user,
# from a copy of the installed configuration pointed at a private
# PostgreSQL) and the installed effortctl talking to it; the configuration
# kept across an upgrade and a reinstall; dpkg --remove keeping it; then
# dpkg --purge leaves nothing but the database.  Needs root; run by
# `make check-deb` after `make deb`.
use strict;
use warnings;

BEGIN {
	# EffortTest's helpers run the INSTALLED programs.
	$ENV{EFFORTD} = '/usr/sbin/effortd';
	$ENV{EFFORTCTL} = '/usr/bin/effortctl';
}

use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Compare qw(compare);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db psql effortctl slurp spew sample_file);
use EffortDeb qw(run dpkg installed known mode_owner adjusted_config serve_installed);

my $TOP = $EffortTest::TOP;
my $TMP = $EffortTest::TMP;
my $DEB_DIR = $ENV{DEB_DIR} // "$TOP/build/deb";
my $CONF = '/etc/effortd/effortd.conf';
my $MIGRATE_CONF = '/etc/effortd/migrate.conf';
my $UNIT = '/lib/systemd/system/effortd.service';
my $WANTS = '/etc/systemd/system/multi-user.target.wants/effortd.service';

die "tests/deb/packages.t installs packages: run it as root\n" if $> != 0;
my ($deb_d) = grep { !/dbgsym/ } glob "$DEB_DIR/effortd_*.deb";
my ($deb_ctl) = grep { !/dbgsym/ } glob "$DEB_DIR/effortctl_*.deb";
die "no packages in $DEB_DIR (make deb)\n" unless $deb_d && $deb_ctl;
for my $p (qw(effortd effortctl)) {
	die "$p is installed already; dpkg --purge effortd effortctl first\n" if known($p);
}
die "a user or group effortd exists already; this test checks that the package creates it\n"
	if defined getpwnam('effortd') || defined getgrnam('effortd');

my $daemon;
END {
	my $st = $?;
	$daemon->stop('TERM', 15) if $daemon;
	# Never leave the packages installed, whatever happened above.
	if (known('effortd') || known('effortctl')) {
		dpkg('--purge', 'effortd', 'effortctl');
	}
	$? = $st;
}

# Every path named *effort* under the system trees (temporary directories
# aside): what a package could leave behind.
sub effort_paths {
	my ($rc, $out) = run('find', qw(/etc /usr /var /opt /srv -xdev), '(', '-path', '/var/tmp',
		'-o', '-path', '/var/lib/postgresql', ')', '-prune', '-o', '-name', '*effort*', '-print');
	return join "\n", sort grep { length } split /\n/, $out;
}

sub gunzip_text {
	my ($path) = @_;
	my $text = '';
	gunzip($path => \$text) or return "gunzip $path: $GunzipError";
	return $text;
}

my $before = effort_paths();

# ---- install
my ($rc, $out) = dpkg('-i', $deb_d, $deb_ctl);
is $rc, 0, 'dpkg -i effortd effortctl: exit 0' or diag $out;
ok installed('effortd') && installed('effortctl'), 'both packages are installed';
like $out, qr{^\s*effortd -c /etc/effortd/migrate\.conf --migrate$}m,
	'postinst prints the migrate command (as the owner)';
like $out, qr{^\s*psql -U effortd_owner -d effortd -c "SELECT effort_grant_runtime\('effortd'\)"$}m,
	'postinst prints the grant of the runtime role';
my (undef, $files) = run('dpkg-query', '-L', 'effortd', 'effortctl');
my @owned = grep { m{effort} } split /\n/, $files;

# ---- the user
my @pw = getpwnam('effortd');
ok @pw, 'the effortd user exists';
my $gid = getgrnam('effortd');
ok defined $gid, 'the effortd group exists';
cmp_ok $pw[2], '<', 1000, 'effortd is a system user (uid below 1000)';
is $pw[3], $gid, 'its primary group is effortd';
is $pw[7], '/var/lib/effortd', 'its home is /var/lib/effortd';
is $pw[8], '/usr/sbin/nologin', 'it cannot log in';
is mode_owner('/var/lib/effortd'), '0750 effortd:effortd', '/var/lib/effortd: 0750 effortd:effortd';

# ---- the configuration
is mode_owner($CONF), '0640 root:effortd', "$CONF: 0640 root:effortd";
(undef, $out) = run('dpkg-query', '-W', '-f=${Conffiles}', 'effortd');
like $out, qr{^\s*\Q$CONF\E [0-9a-f]{32}$}m, "$CONF is a conffile";
(undef, $out) = run('dpkg-statoverride', '--list', $CONF);
is $out, "root effortd 640 $CONF\n", 'its owner and mode are a dpkg stat override';
like slurp($CONF), qr{^\s*sql_dir\s*=\s*"/usr/share/effortd/sql";}m, 'sql_dir is /usr/share/effortd/sql';

# ---- programs, SQL, unit, manuals, documents
is mode_owner('/usr/sbin/effortd'), '0755 root:root', '/usr/sbin/effortd';
is mode_owner('/usr/bin/effortctl'), '0755 root:root', '/usr/bin/effortctl';
my $version = (split /_/, (split m{/}, $deb_d)[-1])[1];
(undef, $out) = run('/usr/sbin/effortd', '--version');
is $out, "effortd $version\n", "effortd --version is the package's ($version)";
(undef, $out) = run('/usr/sbin/effortd', '--list-options');
like $out, qr{^db\.sql_dir\tstring\t/usr/share/effortd/sql\t}m, 'the compiled-in sql_dir is the installed one';
for my $dir ('sql', 'sql/functions') {
	my @src = map { (split m{/})[-1] } glob "$TOP/$dir/*.sql";
	my @inst = map { (split m{/})[-1] } glob "/usr/share/effortd/$dir/*.sql";
	is_deeply \@inst, \@src, "/usr/share/effortd/$dir holds every $dir/*.sql";
	my @differ = grep { compare("$TOP/$dir/$_", "/usr/share/effortd/$dir/$_") != 0 } @src;
	is "@differ", '', "... each identical to the source";
}
my $unit = slurp($UNIT);
like $unit, qr{^ExecStart=/usr/sbin/effortd -c /etc/effortd/effortd\.conf$}m, "$UNIT runs /usr/sbin/effortd";
unlike $unit, qr{/usr/local}, '... and names nothing under /usr/local';
# Every program the unit runs comes with effortd, an essential package, or
# one effortd depends on (a minimal system has no /bin/kill without procps,
# and systemctl reload would fail).
{
	my (undef, $depends) = run('dpkg-query', '-W', '-f=${Depends}', 'effortd');
	my %dep = map { /^\s*([a-z0-9.+-]+)/ ? ($1 => 1) : () } split /[,|]/, $depends;
	for my $prog (sort { $a cmp $b } keys %{ { map { $_ => 1 } $unit =~ /^Exec\w+=[-@+!:]*(\S+)/mg } }) {
		my (undef, $owner) = run('dpkg-query', '-S', $prog);
		my ($pkg) = $owner =~ /^([a-z0-9.+-]+)(?::\w+)?: /;
		$pkg //= '(none)';
		my (undef, $essential) = run('dpkg-query', '-W', '-f=${Essential}', $pkg);
		ok $pkg eq 'effortd' || $essential eq 'yes' || $dep{$pkg},
			"the unit's $prog comes with $pkg, which effortd depends on" or diag "Depends: $depends";
	}
}
is readlink($WANTS), $UNIT, 'the unit is enabled (multi-user.target wants it)';
like gunzip_text('/usr/share/man/man8/effortd.8.gz'), qr/^\.TH EFFORTD 8/m, 'man page effortd(8)';
like gunzip_text('/usr/share/man/man1/effortctl.1.gz'), qr/^\.TH EFFORTCTL 1/m, 'man page effortctl(1)';
ok -f "/usr/share/doc/$_/copyright", "/usr/share/doc/$_/copyright" for qw(effortd effortctl);
ok -f '/usr/share/doc/effortd/operations.md.gz', 'the operations guide the postinst message names';
(undef, $out) = run('setpriv', '--reuid=effortd', '--regid=effortd', '--init-groups',
	'/usr/sbin/effortd', '--check-config');
is $out, "$CONF: ok\n", 'the effortd user can read the installed configuration (--check-config)';

# ---- the database: the two commands postinst printed, then serve
my $db = new_db(migrate => 0);
my $c = $db->cluster;
chmod 0711, $c->host;    # the effortd user reaches the socket; the data stays 0700
EffortTest::psql_cluster($c, 'postgres', 'CREATE ROLE effortd_owner LOGIN; CREATE ROLE effortd LOGIN; '
	. qq{ALTER DATABASE "${\ $db->name}" OWNER TO effortd_owner});
my $owner_conninfo = $c->conninfo($db->name) =~ s/user=\S+/user=effortd_owner/r;
spew($MIGRATE_CONF, adjusted_config('db.conninfo' => $owner_conninfo));
chmod 0600, $MIGRATE_CONF;
($rc, $out) = run('/usr/sbin/effortd', '-c', $MIGRATE_CONF, '--migrate');
is $rc, 0, 'effortd -c /etc/effortd/migrate.conf --migrate: exit 0' or diag $out;
is psql($db, q{SELECT tableowner FROM pg_tables WHERE tablename = 'people'}), 'effortd_owner',
	'the schema belongs to the owner role';
{
	local %ENV = (%ENV, PGHOST => $c->host, PGPORT => $c->port);
	($rc, $out) = run('psql', '-X', '-q', '-U', 'effortd_owner', '-d', $db->name, '-c',
		"SELECT effort_grant_runtime('effortd')");
}
is $rc, 0, q{psql -U effortd_owner -c "SELECT effort_grant_runtime('effortd')": exit 0} or diag $out;

my $port = EffortTest::free_port();
my $serve_conf = "$TMP/effortd.conf";
$daemon = serve_installed($db, $serve_conf, 'db.conninfo' => $c->conninfo($db->name) =~ s/user=\S+/user=effortd/r,
	'listen.port' => $port);
my ($log, $pid) = @$daemon{qw(log pid)};
ok $daemon->wait_health(200, 20), '/usr/sbin/effortd serves as the effortd user: /healthz 200'
	or diag slurp($log);
(undef, $out) = run('ps', '-o', 'user=', '-p', $pid);
is $out =~ s/\s+//gr, 'effortd', '... its process runs as effortd';

# ---- the installed effortctl
for my $feed (@EffortTest::FEEDS) {
	($rc, $out, my $err) = effortctl($daemon, { token => $daemon->token('feed') }, 'ingest', $feed,
		sample_file($feed, 'csv'));
	is $rc, 0, "effortctl ingest $feed sample/$feed.csv: exit 0" or diag $err;
}
my $people = psql($db, 'SELECT count(*) FROM people');
is $people, 20, 'the 20 people of the sample are stored';
($rc, $out) = effortctl($daemon, 'timesheets', '--person', 'E0002', '--format', 'csv');
is $rc, 0, 'effortctl timesheets --person E0002: exit 0';
my @lines = split /\n/, $out;
shift @lines;    # the header
is scalar(grep { /,E0002,/ } @lines), scalar @lines, '... lists only E0002' or diag $out;
is scalar @lines, psql($db, q{SELECT count(DISTINCT period_start) FROM timesheets WHERE person_id = 'E0002'}),
	'... one line per month' or diag $out;
($rc, $out) = effortctl($daemon, 'violations', '--as-of', '2025-06-01', '--summary');
is $rc, 1, 'effortctl violations --as-of 2025-06-01 --summary: exit 1 (the sample has problems)';
my ($found) = $out =~ /^(\d+) found as of 2025-06-01\.$/m;
my $counted = 0;
$counted += $1 while $out =~ /^[a-z_]+\s+(?:violation|warning)\s+(\d+)$/mg;
ok $out =~ /\ARULE\s+SEVERITY\s+COUNT\n/ && $found && $found == $counted,
	'... and prints the summary table: counts per rule adding up to the total found' or diag $out;
{
	local %ENV = (%ENV, PGHOST => $c->host, PGPORT => $c->port);
	($rc, $out) = run('psql', '-X', '-q', '-U', 'effortd', '-d', $db->name, '-c', 'DELETE FROM audit_log');
}
like $out, qr/permission denied for table audit_log/, 'the runtime role may not rewrite the audit trail';

# ---- an upgrade: a newer effortd (this package repacked as VERSION+t1 with
# one more line in its configuration) replaces the unchanged conffile, keeps
# its owner and mode and the user; then a local change survives a reinstall
my $newer = "$TMP/effortd_${version}+t1.deb";
{
	my $tree = "$TMP/repack";
	($rc, $out) = run('dpkg-deb', '-R', $deb_d, $tree);
	die "dpkg-deb -R: $out" if $rc;
	my $control = slurp("$tree/DEBIAN/control") =~ s/^Version: .*$/Version: $version+t1/mr;
	spew("$tree/DEBIAN/control", $control);
	spew("$tree$CONF", slurp("$tree$CONF") . "# packaged in $version+t1\n");
	($rc, $out) = run('dpkg-deb', '--root-owner-group', '-b', $tree, $newer);
	die "dpkg-deb -b: $out" if $rc;
}
($rc, $out) = dpkg('-i', $newer);
is $rc, 0, "dpkg -i effortd $version+t1 (an upgrade): exit 0" or diag $out;
like $out, qr{effort_grant_runtime}, '... postinst prints the database steps again';
like slurp($CONF), qr/^# packaged in \Q$version\E\+t1$/m, 'the unchanged conffile is replaced by the new one';
is mode_owner($CONF), '0640 root:effortd', '... and is still 0640 root:effortd';
is +(getpwnam('effortd'))[2], $pw[2], 'the effortd user is the same';
unlike slurp('/var/lib/dpkg/info/effortd.postinst'), qr/try-restart|deb-systemd-invoke (?:re)?start/,
	'postinst neither starts nor restarts effortd on upgrade (the database is migrated first)';
is join('|', slurp('/var/lib/dpkg/info/effortd.prerm') =~ /^(.*)\n\s*deb-systemd-invoke stop/mg),
	'if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then',
	'... and prerm stops it only on removal';
like slurp('/var/lib/dpkg/info/effortd.postinst'), qr/^\s*systemctl --system daemon-reload/m,
	'... while postinst has systemd read the new unit';
ok $daemon->alive, 'effortd still serves';

spew($CONF, slurp($CONF) . "# a local change\n");
($rc, $out) = dpkg('-i', $newer);
is $rc, 0, 'dpkg -i of the same package again: exit 0' or diag $out;
like slurp($CONF), qr/^# a local change$/m, 'the local change to the conffile is kept';
is mode_owner($CONF), '0640 root:effortd', '... still 0640 root:effortd';
ok !glob("$CONF.dpkg-*"), '... with no .dpkg-new/.dpkg-dist beside it';

is $daemon->stop('TERM', 15), 0, 'SIGTERM: effortd exits 0';
undef $daemon;

# ---- remove: the programs go, the configuration and the user stay
($rc, $out) = dpkg('--remove', 'effortd', 'effortctl');
is $rc, 0, 'dpkg --remove effortd effortctl: exit 0' or diag $out;
ok !-e '/usr/sbin/effortd' && !-e '/usr/bin/effortctl', 'the programs are gone';
like slurp($CONF), qr/^# a local change$/m, 'the configuration stays, with its local change';
ok defined getpwnam('effortd'), 'the effortd user stays';

# ---- purge: nothing but the database is left
($rc, $out) = dpkg('--purge', 'effortd', 'effortctl');
is $rc, 0, 'dpkg --purge effortd effortctl: exit 0' or diag $out;
ok !installed('effortd') && !installed('effortctl'), 'neither is installed';
is join("\n", grep { -e $_ || -l $_ } @owned), '', 'no file of the packages is left';
ok !-e '/etc/effortd', '/etc/effortd is gone (conffile and migrate.conf)';
ok !-e '/var/lib/effortd', "/var/lib/effortd (the user's home) is gone";
ok !-l $WANTS, 'the unit is no longer enabled';
ok !defined getpwnam('effortd'), 'the effortd user is gone';
ok !defined getgrnam('effortd'), 'the effortd group is gone';
(undef, $out) = run('dpkg-statoverride', '--list', $CONF);
is $out, '', 'the stat override is gone';
is effort_paths(), $before, 'no path named *effort* is left under /etc /usr /var /opt /srv';
is psql($db, 'SELECT count(*) FROM people'), $people, 'the database is untouched: the people are there';
cmp_ok psql($db, 'SELECT count(*) FROM audit_log'), '>', 0, '... and the audit trail';

done_testing;
