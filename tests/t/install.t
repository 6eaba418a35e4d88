#!/usr/bin/perl
# make install (README "Other systems: make install"): the installed effortd
# finds its SQL where install put it (db.sql_dir compiled in as
# $(DATADIR)/sql, not the source tree's sql/), and the files install
# writes: migrations and functions, the example configuration naming the
# same folder, the unit with the installed path, the man pages.  Installed
# into a scratch DESTDIR, built there; nothing outside it is touched.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 'tests/lib';
use EffortTest qw(slurp);

my $top = $EffortTest::TOP;
my $dest = tempdir(CLEANUP => 1);
my $prefix = '/opt/effortd-install-test';
# A build of its own (the suite's build/ or build-asan/ stays as it is).
my $out = `env -u MAKEFLAGS -u MAKELEVEL -u BUILD make -C '$top' -s install BUILD='$dest/build' PREFIX=$prefix DESTDIR='$dest' 2>&1`;
is $? >> 8, 0, 'make install PREFIX=/opt/effortd-install-test DESTDIR=…: exit 0' or diag $out;

my $effortd = "$dest$prefix/sbin/effortd";
ok -x $effortd, 'effortd installed in $(PREFIX)/sbin';
ok -x "$dest$prefix/bin/effortctl", 'effortctl installed in $(PREFIX)/bin';
my ($sql_dir) = map { (split /\t/)[2] } grep { /^db\.sql_dir\t/ } split /\n/, `$effortd --list-options`;
is $sql_dir, "$prefix/share/effortd/sql", 'the installed effortd looks for its SQL in $(DATADIR)/sql';
my @migrations = map { s{.*/}{}r } glob "$top/sql/*.sql";
is_deeply [ map { s{.*/}{}r } glob "$dest$prefix/share/effortd/sql/*.sql" ], \@migrations, '… where every migration is';
is scalar(() = glob "$dest$prefix/share/effortd/sql/functions/*.sql"), scalar(() = glob "$top/sql/functions/*.sql"),
	'… and every function file';
like slurp("$dest/etc/effortd/effortd.conf.example"), qr{^\s*sql_dir\s*=\s*"\Q$prefix\E/share/effortd/sql";}m,
	'the example configuration names the same folder';
like slurp("$dest/lib/systemd/system/effortd.service"), qr{^ExecStart=\Q$prefix\E/sbin/effortd }m,
	'the unit starts the installed effortd';
ok -f "$dest$prefix/share/man/man8/effortd.8" && -f "$dest$prefix/share/man/man1/effortctl.1", 'the man pages';
like `$effortd --version`, qr/^effortd \d/, 'the installed effortd runs';
# The build the tests use keeps the source tree's sql/.
my ($built) = map { (split /\t/)[2] } grep { /^db\.sql_dir\t/ } split /\n/, `$EffortTest::EFFORTD --list-options`;
is $built, "$top/sql", "the tree's own effortd still reads the tree's sql/";

done_testing;
