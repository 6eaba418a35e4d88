#!/usr/bin/perl
# The operator's documentation (README.md, docs/operations.md,
# docs/configuration.md, the man pages, docs/effortctl.md) checked against
# what effortd and effortctl do: every default in the settings table, every
# setting, file and option the pages name, every metric and its type, the
# log messages quoted, the exit statuses, the version in the log, and the
# backup/restore round trip of "Backup and restore" (the audit trail still
# verifies and goes on chaining).  tests/t/config.t already checks each
# setting's type and reload class; failover.t and replication.t the
# failover.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd effortctl load_sample psql_value slurp);

my $effortd = $EffortTest::EFFORTD;
my $top = $EffortTest::TOP;
my %doc = map { $_ => slurp("$top/$_") } qw(README.md docs/operations.md docs/configuration.md
    docs/effortd.8 docs/effortctl.1 docs/effortctl.md);
(my $man8 = $doc{'docs/effortd.8'}) =~ s/\\-/-/g;

# ---- every default in docs/configuration.md is the option table's
my @opts = map { [ split /\t/, $_, -1 ] } grep { /\S/ } split /\n/, `$effortd --list-options`;
cmp_ok scalar @opts, '>=', 50, '--list-options lists the settings';
my %opt = map { $_->[0] => $_ } @opts;
for my $o (@opts) {
	my ($path, $type, $def) = @$o;
	my ($shown) = $doc{'docs/configuration.md'} =~ /^\| `\Q$path\E` \| \w+ \| (.*?) \| (?:reload|restart) \|/m;
	ok defined $shown, "$path has a row in docs/configuration.md" or next;
	if ($path eq 'db.sql_dir') {
		is $shown, q{build's `sql/`}, 'db.sql_dir: documented as the build\'s sql/';
		like $def, qr{\A/.*/sql\z}, 'db.sql_dir: the compiled-in default is a sql/ directory';
		next;
	}
	is $shown, ($def eq '' ? '`""`' : "`$def`"), "$path: docs/configuration.md shows the default $def";
}

# ---- every setting the operator's pages name exists
my $groups = join '|', qw(listen db limits auth log audit notify spool tls oidc rules);
for my $f (qw(README.md docs/operations.md docs/effortd.8 docs/effortctl.md)) {
	my %named = map { $_ => 1 } $doc{$f} =~ /(?<![\w\/.-])((?:$groups)\.[a-z_]+)\b(?!\.md)/g;
	ok exists $opt{$_}, "$f names the setting $_, which exists" for sort keys %named;
}

# ---- files, scripts and tests the pages point to exist
for my $f (qw(README.md docs/operations.md docs/configuration.md)) {
	my %path = map { $_ => 1 } $doc{$f} =~ m{\b((?:tests/t/\w+\.t|scripts/[\w-]+|docs/[\w-]+\.(?:md|yaml|[18])|systemd/[\w.]+|conf/[\w.]+))\b}g;
	ok -e "$top/$_", "$f points to $_, which exists" for sort keys %path;
}

# ---- --migrate is shown with the owner's migrate.conf, never with the
# runtime role's effortd.conf (which PostgreSQL refuses: no CREATE on public)
for my $f (qw(README.md docs/operations.md)) {
	my @bad = $doc{$f} =~ m{^(.*-c /etc/effortd/effortd\.conf --migrate.*)$}mg;
	is_deeply \@bad, [], "$f runs --migrate with migrate.conf, not effortd.conf";
}

# ---- effortd's command line: --help, the man page, exit statuses, version
my $help = `$effortd --help 2>&1`;
is $? >> 8, 0, 'effortd --help exits 0';
my %help_long = map { $_ => 1 } $help =~ /(--[a-z][a-z-]+)/g;
my ($man_opts) = $man8 =~ /^\.SH OPTIONS\n(.*?)^\.SH /ms;
my %man_long = map { $_ => 1 } $man_opts =~ /(--[a-z][a-z-]+)/g;
ok $man_long{$_}, "effortd.8 documents $_ (effortd --help)" for sort keys %help_long;
ok $help_long{$_}, "effortd --help lists $_ (effortd.8)" for sort keys %man_long;
my $version = `$effortd --version`;
is $? >> 8, 0, 'effortd --version exits 0';
like $version, qr/\Aeffortd (\d+\.\d+\.\d+)\n\z/, 'effortd --version: "effortd X.Y.Z"';
my ($v) = $version =~ /(\d+\.\d+\.\d+)/;
my ($changelog_v) = slurp("$top/debian/changelog") =~ /\A\S+ \(([^)]+)\)/;
is $v, $changelog_v, 'the version is debian/changelog\'s top entry (the packages\' version)';
like $doc{'docs/effortd.8'}, qr/^\.TH EFFORTD 8 "\d+" "effortd \Q$v\E"/m, 'effortd.8 is of this version';
like $doc{'docs/effortctl.1'}, qr/^\.TH EFFORTCTL 1 "\d+" "effortctl \Q$v\E"/m, 'effortctl.1 is of this version';
my $ctl_version = `$EffortTest::EFFORTCTL --version`;
is $ctl_version, "effortctl $v\n", 'effortctl --version is the same version';
my ($man_exit) = $man8 =~ /^\.SH EXIT STATUS\n(.*?)^\.SH /ms;
like $man_exit, qr/0 on success, 1 on a configuration, database or start-up error, 2 on a usage\s+error/,
    'effortd.8: exit statuses 0, 1, 2';
`$effortd --no-such-option 2>&1`;
is $? >> 8, 2, 'effortd: a usage error exits 2';
`$effortd -c $EffortTest::TMP/absent.conf --check-config 2>&1`;
is $? >> 8, 1, 'effortd: a configuration error exits 1';

# ---- metrics: docs/operations.md's table is what GET /metrics exports
my $db = new_db();
my $d = start_effortd(db => $db);
like $d->log_text, qr/^effortd: info: effortd \Q$v\E listening on 127\.0\.0\.1:\Q${\ $d->port }\E$/m,
    'the log names the version an instance runs ("effortd X.Y.Z listening on ...")';
load_sample($d);
my ($s, $metrics) = $d->req(GET => '/metrics');
is $s, 200, 'GET /metrics: 200';
my %type = $metrics =~ /^# TYPE (effortd_\w+) (\w+)$/mg;
my %doc_type = $doc{'docs/operations.md'} =~ /^\| `(effortd_\w+)` \| (\w+) \|/mg;
cmp_ok scalar keys %doc_type, '>=', 15, 'docs/operations.md has the metrics table';
# (the report pool's replication state only with db.report_conninfo:
# replication.t)
is $type{$_}, $doc_type{$_}, "metric $_ is exported as a $doc_type{$_}"
	for grep { !/^effortd_report_(?:replica_up|in_recovery|replay_lag_bytes|last_replayed_commit_age_seconds)$/ } sort keys %doc_type;
ok exists $doc_type{$_}, "metric $_ is documented in docs/operations.md" for sort keys %type;
my %doc_labels;
for my $row (grep { /^\| `effortd_/ } split /\n/, $doc{'docs/operations.md'}) {
	my (undef, $name, undef, $labels) = split /\|/, $row;
	my ($m) = $name =~ /`(\w+)`/;
	$doc_labels{$m} = [ $labels =~ /`(\w+)`/g ];
}
for my $m (qw(effortd_http_requests_total effortd_http_request_duration_seconds
	effortd_records_ingested_total effortd_findings_open)) {
	my ($sample) = $metrics =~ /^(\Q$m\E(?:_bucket)?\{[^}]*\})/m;
	ok defined $sample, "$m has a sample after the sample organisation is loaded" or next;
	my @labels = sort grep { $_ ne 'le' } $sample =~ /(\w+)="/g;
	is_deeply \@labels, [ sort @{ $doc_labels{$m} // [] } ], "$m: labels as documented";
}
like $metrics, qr/^effortd_http_request_duration_seconds_bucket\{route="people",le="0\.005"\}/m,
    'request duration buckets start at 5 ms';
like $metrics, qr/^effortd_http_request_duration_seconds_bucket\{route="people",le="10"\}/m,
    'and go to 10 s';

# ---- log messages docs/operations.md quotes are the ones effortd writes
my $src = join '', map { slurp($_) } glob("$top/daemon/*.c"), glob("$top/sql/functions/*.sql");
$src =~ s/"\s*\n\s*"//g;    # C string literals continued on the next line
(my $ops = $doc{'docs/operations.md'}) =~ s/\s+/ /g;
for my $msg ('statements could not be prepared (is the schema migrated?)',
	'database unavailable; nothing was stored, safe to retry', 'the client went away',
	'effortd is shutting down; ', 'too many connections', 'JSON nested deeper than ',
	"the standby has not replayed the primary's last commit within",
	'sign-in with the identity provider is unavailable', 'access ended with the employment',
	'API tokens still work; retry in') {
	ok index($ops, $msg) >= 0, "docs/operations.md quotes \"$msg\"";
	ok index($src, $msg) >= 0, "effortd says \"$msg\"";
}

# ---- effortctl's exit statuses: the tables, cli/cli.h and what it does
my %enum = slurp("$top/cli/cli.h") =~ /^\s*(EXIT_\w+) = (\d+),/mg;
my @codes = sort values %enum;
is_deeply \@codes, [ 0 .. 4 ], 'cli/cli.h: exit statuses 0 to 4';
my @md = $doc{'docs/effortctl.md'} =~ /^\| (\d) \| /mg;
is_deeply \@md, \@codes, 'docs/effortctl.md "Exit status" lists each of them';
my ($ctl_exit) = $doc{'docs/effortctl.1'} =~ /^\.SH EXIT STATUS\n(.*?)^\.SH /ms;
my @man = $ctl_exit =~ /^\.B (\d)$/mg;
is_deeply \@man, \@codes, 'effortctl.1 EXIT STATUS lists each of them';
my ($rc) = effortctl($d, 'timesheets', '--no-such-option');
is $rc, $enum{EXIT_USAGE}, 'effortctl: a bad option exits 2 (usage)';
($rc) = effortctl($d, { token => 'eff_' . ('0' x 64) }, 'timesheets');
is $rc, $enum{EXIT_REFUSED}, 'effortctl: an unknown token (401) exits 3';
($rc) = effortctl($d, { token => $d->token('feed') }, 'timesheets');
is $rc, $enum{EXIT_REFUSED}, 'effortctl: a feed token reading timesheets (403) exits 3';
my $closed = EffortTest::free_port();
($rc, undef, my $err) = effortctl(undef, { token => 'eff_x', env => { EFFORTCTL_URL => "http://127.0.0.1:$closed" } },
	'timesheets');
is $rc, $enum{EXIT_UNAVAILABLE}, 'effortctl: effortd not running exits 4';
like $err, qr/cannot connect to effortd at http:\/\/127\.0\.0\.1:$closed: connection refused \(is effortd running\?\)/,
    'and says so as docs/effortctl.md shows';
($rc, my $out) = effortctl($d, 'audit', 'verify');
is $rc, $enum{EXIT_OK}, 'effortctl audit verify of an intact trail exits 0';

# ---- Backup and restore: pg_dump -Fc, createdb, pg_restore, --migrate,
# the audit trail still verifies and goes on chaining
my ($s1, $before) = $d->req(GET => '/v1/audit/verify', token => $d->token('admin'));
is $s1, 200, 'audit verify before the backup: 200';
ok $before->{ok}, 'the trail verifies before the backup';
my $dump = "$EffortTest::TMP/docs_ops-effortd.dump";
my %pgenv = $db->cluster->env;
{
	local %ENV = (%ENV, %pgenv);
	system('pg_dump', '-Fc', '-f', $dump, $db->name) == 0 or BAIL_OUT('pg_dump failed');
}
my $restored = new_db(migrate => 0);    # createdb: an empty database
{
	local %ENV = (%ENV, %pgenv);
	is system('pg_restore', '-d', $restored->name, $dump), 0, 'pg_restore -d into the empty database: exit 0';
}
my ($mrc, $mout) = EffortTest::migrate($restored);
is $mrc, 0, 'effortd --migrate after the restore: exit 0';
unlike $mout, qr/applied migration/, 'and it applies nothing (a no-op when the versions match)';
my $d2 = start_effortd(db => $restored);
my ($s2, $after) = $d2->req(GET => '/v1/audit/verify', token => $d->token('admin'));    # restored with the rest
is $s2, 200, 'audit verify after the restore: 200';
ok $after->{ok}, 'the restored trail verifies';
is $after->{last_hash}, $before->{last_hash}, 'with the same last hash';
my ($sp) = $d2->req(POST => '/v1/people', token => $d2->token('feed'),
	body => [ { person_id => 'R0001', name => 'After Restore', fte => 1, employment_start => '2024-01-01' } ]);
is $sp, 200, 'a feed on the restored database: 200';
my ($s3, $chained) = $d2->req(GET => '/v1/audit/verify', token => $d2->token('admin'));
ok $chained->{ok}, 'the trail still verifies after new rows';
cmp_ok $chained->{rows}, '>', $after->{rows}, 'and has grown';
is psql_value($restored, q{SELECT count(*) FROM people WHERE person_id = 'R0001'}), 1, 'the new person is stored';
unlink $dump;

is $d2->stop, 0, 'the restored effortd stops with exit 0';
is $d->stop, 0, 'effortd stops with exit 0 on SIGTERM';
done_testing;
