# An installation upgraded from the first release with packages (commit
# 638b678: migrations 001-005) to this tree's packages, on this machine with
# dpkg, as the IT team does it: the old effortd migrated, serving as the
# effortd user with the sample organisation and a local change
# to the configuration; then dpkg -i of the new packages (the conffile
# changed in between: the local one kept); the running old effortd still
# serving; the new --migrate applying the later migrations to the populated
# database while it serves, the grant, then the new effortd serving the
# same data, with the audit trail still verifying.  The old packages are
# built from git history once into build/deb-old/ (a few minutes).  Needs
# root; run by `make check-deb` after `make deb`.
use strict;
use warnings;

BEGIN {
	$ENV{EFFORTD} = '/usr/sbin/effortd';
	$ENV{EFFORTCTL} = '/usr/bin/effortctl';
}

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(psql effortctl slurp spew sample_file);
use EffortDeb qw(run dpkg installed known mode_owner adjusted_config owned_db serve_installed);

my $TOP = $EffortTest::TOP;
my $TMP = $EffortTest::TMP;
my $DEB_DIR = $ENV{DEB_DIR} // "$TOP/build/deb";
my $OLD_COMMIT = '638b678775281aca3914c72b4c5be13d398043be';
my $OLD_DIR = "$TOP/build/deb-old/" . substr($OLD_COMMIT, 0, 7);
my $CONF = '/etc/effortd/effortd.conf';
my $MIGRATE_CONF = '/etc/effortd/migrate.conf';

die "tests/deb/upgrade.t installs packages: run it as root\n" if $> != 0;
for my $p (qw(effortd effortctl)) {
	die "$p is installed already; dpkg --purge effortd effortctl first\n" if known($p);
}
my @new = grep { !/dbgsym/ } glob "$DEB_DIR/effort{d,ctl}_*.deb";
die "no packages in $DEB_DIR (make deb)\n" unless @new == 2;

# ---- the old packages, built once from git history
unless (glob "$OLD_DIR/effortd_*.deb") {
	my (undef, $git) = run('git', '-C', $TOP, 'cat-file', '-t', $OLD_COMMIT);
	plan skip_all => "commit $OLD_COMMIT is not in this repository's history" unless $git =~ /commit/;
	my $src = "$TMP/old-src";
	mkdir $src or die "mkdir $src: $!";
	my ($rc, $out) = run('sh', '-c', "git -C '$TOP' archive $OLD_COMMIT | tar -C '$src' -xf -");
	die "git archive $OLD_COMMIT: $out" if $rc;
	($rc, $out) = run('env', "DEB_OUT=$OLD_DIR", "$src/scripts/build-deb");
	die "building the packages of $OLD_COMMIT failed:\n$out" if $rc;
}
my @old = grep { !/dbgsym/ } glob "$OLD_DIR/effort{d,ctl}_*.deb";
die "no packages in $OLD_DIR" unless @old == 2;

my @daemons;
END {
	my $st = $?;
	$_->stop('TERM', 15) for grep { $_ } @daemons;
	dpkg('--purge', 'effortd', 'effortctl') if known('effortd') || known('effortctl');
	$? = $st;
}

# ---- the old release installed, migrated, serving the sample organisation
my ($rc, $out) = dpkg('-i', @old);
is $rc, 0, "dpkg -i the packages of $OLD_COMMIT: exit 0" or diag $out;
my ($db, $owner_conninfo, $runtime_conninfo) = owned_db();
spew($MIGRATE_CONF, adjusted_config('db.conninfo' => $owner_conninfo));
chmod 0600, $MIGRATE_CONF;
($rc, $out) = run('/usr/sbin/effortd', '-c', $MIGRATE_CONF, '--migrate');
is $rc, 0, 'the old effortd --migrate (as the owner): exit 0' or diag $out;
is psql($db, 'SELECT string_agg(version, \' \' ORDER BY version) FROM schema_migrations'),
	'001_schema.sql 002_audit_trail.sql 003_audit_statement_triggers.sql 005_spool.sql', '... migrations 001-005';

sub grant {
	local %ENV = (%ENV, PGHOST => $db->cluster->host, PGPORT => $db->cluster->port);
	return run('psql', '-X', '-q', '-U', 'effortd_owner', '-d', $db->name, '-c', "SELECT effort_grant_runtime('effortd')");
}
($rc, $out) = grant();
is $rc, 0, 'the grant of the runtime role: exit 0' or diag $out;

# The administrator's change: the database to serve from (a local conffile).
spew($CONF, adjusted_config('db.conninfo' => $runtime_conninfo));
my $port = EffortTest::free_port();
my $old = serve_installed($db, "$TMP/old.conf", 'db.conninfo' => $runtime_conninfo, 'listen.port' => $port);
push @daemons, $old;
ok $old->wait_health(200, 20), 'the old effortd serves as the effortd user' or diag slurp("$TMP/old.conf.log");
for my $feed (@EffortTest::FEEDS) {
	($rc, undef, my $err) = effortctl($old, { token => $old->token('feed') }, 'ingest', $feed, sample_file($feed, 'csv'));
	is $rc, 0, "the old effortctl ingest $feed: exit 0" or diag $err;
}
my ($s, $body);
my %before = (people => scalar psql($db, 'SELECT count(*) FROM people'),
	timesheets => scalar psql($db, 'SELECT count(*) FROM timesheets'),
	decisions => scalar psql($db, 'SELECT count(*) FROM timesheet_decisions'),
	audit => scalar psql($db, 'SELECT count(*) FROM audit_log'));
($s, my $violations) = $old->req(GET => '/v1/violations', query => { as_of => '2025-06-01' }, token => $old->token('reviewer'));
is $s, 200, 'the old effortd lists the violations as of 2025-06-01';

# ---- the upgrade: the new packages over the old
# apt installs a package from a repository only when its version is higher
# than the installed one's (the version is debian/changelog's, which
# effortd and effortctl print too).
{
	my ($old_v) = $old[0] =~ m{_([^_/]+)_[^_/]+\.deb\z};
	my ($new_v) = $new[0] =~ m{_([^_/]+)_[^_/]+\.deb\z};
	($rc) = run('dpkg', '--compare-versions', $new_v, 'gt', $old_v);
	is $rc, 0, "this tree's version ($new_v) is higher than that of $OLD_COMMIT ($old_v)";
}
($rc, $out) = dpkg('--force-confold', '-i', @new);
is $rc, 0, 'dpkg -i this tree\'s packages over them (--force-confold): exit 0' or diag $out;
like slurp($CONF), qr/\Q$runtime_conninfo\E/, 'the local configuration is kept';
is mode_owner($CONF), '0640 root:effortd', '... 0640 root:effortd';
isnt mode_owner("$CONF.dpkg-dist"), 'missing', "... the new release's beside it ($CONF.dpkg-dist)";
like mode_owner("$CONF.dpkg-dist"), qr/^0[0-7][0-7]0 /, '... which others cannot read';
($rc, $out) = run('setpriv', '--reuid=effortd', '--regid=effortd', '--init-groups', '/usr/sbin/effortd',
	'--check-config');
is $out, "$CONF: ok\n", 'the new effortd takes the kept configuration (the unit\'s ExecStartPre)';
unlike slurp('/var/lib/dpkg/info/effortd.postinst'), qr/try-restart|deb-systemd-invoke (?:re)?start/,
	'postinst restarts nothing: the new effortd would not serve the unmigrated database (503)';
ok $old->alive, 'the old effortd still runs';

# ---- the new migrations on the populated database, the old effortd serving
($rc, $out) = run('/usr/sbin/effortd', '-c', $MIGRATE_CONF, '--migrate');
is $rc, 0, 'the new effortd --migrate on the populated database: exit 0' or diag $out;
my @later = grep { !/^00[1-5]_/ } map { (split m{/})[-1] } glob "$TOP/sql/*.sql";
is_deeply [ $out =~ /applied migration (\S+)/g ], \@later, '... applies the later migrations: ' . "@later";
($rc, $out) = grant();
is $rc, 0, '... and the grant again: exit 0' or diag $out;
# operations.md, Upgrading, step 4: "migrations only add, so the old
# binary keeps working against the new schema until it is replaced".  The
# first packaged release does not: its token look-up (SELECT * FROM
# effort_auth($1)), prepared before the migration changed the function's
# columns, fails on each connection until it is restarted (0A000 "cached
# plan must not change result type", a 500).  A token not looked up before
# (none cached) shows it; this tree's effortd answers 503 once per
# connection and prepares again (tests/t/deploy.t).
TODO: {
	local $TODO = 'the first packaged release answers 500 after --migrate until restarted (fixed since)';
	my $fresh = $old->token('manager', 'E0101');
	my @failed;
	for my $n (1 .. 6) {
		($s) = $old->req(GET => '/v1/violations', query => { as_of => '2025-06-01' }, token => $fresh);
		push @failed, $s if $s != 200;
	}
	is "@failed", '', 'the old effortd still answers with a token it has not looked up before'
		or diag grep { /error/ } split /\n/, slurp("$TMP/old.conf.log");
}
ok $old->wait_health(200, 5), 'the old effortd still answers /healthz 200';

# ---- the new effortd: the same data, the audit trail verifies
is $old->stop('TERM', 15), 0, 'the old effortd stops (exit 0)';
my $new = serve_installed($db, "$TMP/new.conf", 'db.conninfo' => $runtime_conninfo, 'listen.port' => $port);
push @daemons, $new;
ok $new->wait_health(200, 20), 'the new effortd serves' or diag slurp("$TMP/new.conf.log");
is psql($db, 'SELECT count(*) FROM people'), $before{people}, "the $before{people} people are there";
is psql($db, 'SELECT count(*) FROM timesheets'), $before{timesheets}, "the $before{timesheets} timesheet versions";
is psql($db, 'SELECT count(*) FROM timesheet_decisions'), $before{decisions}, "the $before{decisions} decisions";
cmp_ok psql($db, 'SELECT count(*) FROM audit_log'), '>=', $before{audit}, 'the audit trail';
($s, $body) = $new->req(GET => '/v1/audit/verify', token => $new->token('admin'));
ok $s == 200 && $body->{ok}, 'the audit trail verifies' or diag explain $body;
($s, my $after) = $new->req(GET => '/v1/violations', query => { as_of => '2025-06-01' }, token => $new->token('reviewer'));
is $s, 200, 'the new effortd lists the violations as of 2025-06-01';
my $keys = sub { join "\n", sort map { join ' ', $_->{rule}, $_->{person_id}, $_->{period_start} // '' } @{ $_[0]{violations} // [] } };
is $keys->($after), $keys->($violations), '... the same findings as the old one';
($rc, undef, my $err) = effortctl($new, { token => $new->token('feed') }, 'ingest', 'timesheets',
	sample_file('timesheets', 'csv'));
is $rc, 0, 'the new effortctl ingests the sample timesheets again: exit 0' or diag $err;
is $new->stop('TERM', 15), 0, 'the new effortd stops (exit 0)';

# ---- purge: the kept configuration and the new release's copy go too
($rc, $out) = dpkg('--purge', 'effortd', 'effortctl');
is $rc, 0, 'dpkg --purge effortd effortctl: exit 0' or diag $out;
ok !-e '/etc/effortd', '/etc/effortd is gone (the local configuration, .dpkg-dist, migrate.conf)';
ok !defined getpwnam('effortd'), 'the effortd user is gone';
is psql($db, 'SELECT count(*) FROM people'), $before{people}, 'the database is untouched';

done_testing;
