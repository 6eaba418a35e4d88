#!/usr/bin/perl
# Each program is linked with the libraries it uses and no others: effortctl
# without libpq, libcurl, libsystemd or libcsv (the daemon's).  Built in a
# scratch directory with -Wl,--no-as-needed, so that the linker records
# every library on the command line (as a toolchain without --as-needed by
# default does, and gcc here with -fsanitize), and again with --as-needed,
# which keeps only those a program calls: the two lists of NEEDED entries
# (readelf -d) must be the same.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 'tests/lib';
use EffortTest;

my $top = $EffortTest::TOP;
my $scratch = tempdir(CLEANUP => 1);

# Builds effortd and effortctl in $scratch/$name with extra LDFLAGS.
sub build {
	my ($name, $ldflags) = @_;
	my $out = `env -u MAKEFLAGS -u MAKELEVEL -u BUILD -u LDFLAGS make -C '$top' -s -j2 BUILD='$scratch/$name' CFLAGS=-O0 LDFLAGS='$ldflags' '$scratch/$name/effortd' '$scratch/$name/effortctl' 2>&1`;
	is $? >> 8, 0, "make with LDFLAGS=$ldflags: exit 0" or diag $out;
}

# The shared libraries a program names (NEEDED), sorted.
sub needed {
	my ($path) = @_;
	my $out = `readelf -d '$path'`;
	return [ sort $out =~ /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g ];
}

build('all-named', '-Wl,--no-as-needed');
# The objects do not depend on LDFLAGS: the second build only links.
system('cp', '-a', "$scratch/all-named", "$scratch/as-needed") == 0 or die "cp: $?";
unlink "$scratch/as-needed/effortd", "$scratch/as-needed/effortctl";
build('as-needed', '-Wl,--as-needed');

for my $prog (qw(effortd effortctl)) {
	my $named = needed("$scratch/all-named/$prog");
	my $used = needed("$scratch/as-needed/$prog");
	is_deeply $named, $used, "$prog is linked with the libraries it uses and no others"
		or diag "named: @$named\nused:  @$used";
}

my $ctl = join ' ', @{ needed("$scratch/all-named/effortctl") };
unlike $ctl, qr/\b(libpq|libcurl|libsystemd|libcsv)\./, 'effortctl needs none of the daemon\'s libraries'
	or diag $ctl;
my $d = join ' ', @{ needed("$scratch/all-named/effortd") };
like $d, qr/\b$_[.-]/, "effortd needs $_" for qw(libevent libpq libcurl libjansson libcsv libsystemd);
done_testing;
