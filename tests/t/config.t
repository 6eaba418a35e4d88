#!/usr/bin/perl
# The configuration: one option table in daemon/config.c, checked against
# the sample conf/effortd.conf and docs/configuration.md; start-up errors
# name file, line and reason; SIGHUP applies new rules without a restart.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd post_feed slurp spew);


my $effortd = $EffortTest::EFFORTD;
my $top = $EffortTest::TOP;

# --list-options: path, type, default, reload|restart
my @opts = map { [ split /\t/ ] } grep { /\S/ } split /\n/, `$effortd --list-options`;
is $? >> 8, 0, '--list-options exits 0';
cmp_ok scalar @opts, '>=', 20, 'the option table lists every setting';

my $conf = slurp("$top/conf/effortd.conf");
my $doc = slurp("$top/docs/configuration.md");
my %group;
my $g = '';
for (split /\n/, $conf) {
	next if /^\s*#/;
	$g = $1, next if /^\s*(\w+)\s*=\s*\{\s*$/;
	$group{"$g.$1"} = $2 if $g ne '' && /^\s*(\w+)\s*=\s*("?[^;]*"?)\s*;/;
}
for my $o (@opts) {
	my ($path, $type, $def, $reload) = @$o;
	ok exists $group{$path}, "$path is in conf/effortd.conf";
	(my $v = $group{$path} // '') =~ s/^"(.*)"$/$1/;
	if ($path ne 'db.sql_dir') {
		my $text = $type =~ /^(?:string|group|list)$/;
		is $v + 0, $def + 0, "$path: conf/effortd.conf shows the default" if !$text;
		is $v, $def, "$path: conf/effortd.conf shows the default" if $text;
	}
	like $doc, qr/^\| `\Q$path\E` \| \Q$type\E \| [^|]+ \| \Q$reload\E \|/m,
		"$path is documented in docs/configuration.md as $type, $reload";
}
is scalar(keys %group), scalar(@opts), 'the sample has no setting the table lacks';

# The sample itself is valid.
my $out = `$effortd -c $top/conf/effortd.conf --check-config 2>&1`;
is $? >> 8, 0, 'conf/effortd.conf passes --check-config' or diag $out;

# Bad values stop start-up with file:line: reason.
my $dir = $EffortTest::TMP;
my @bad = (
	[ "rules = {\n  standard_weekly_hours = -1.0;\n};\n", 2, qr/rules\.standard_weekly_hours: -1 is out of range/ ],
	[ "rules = {\n\n  cap_year_start_month = 13;\n};\n", 3, qr/rules\.cap_year_start_month: 13 is out of range \(1 to 12\)/ ],
	[ "rules = { timezone = \"Mars/Olympus\"; };\n", 1, qr/rules\.timezone: unknown time zone "Mars\/Olympus"/ ],
	[ "listen = {\n port = \"x\";\n};\n", 2, qr/listen\.port: must be an integer/ ],
	[ "rules = {\n tolerance = 1;\n};\n", 2, qr/unknown setting "rules\.tolerance"/ ],
	[ "log = { level = \"loud\"; };\n", 1, qr/log\.level: unknown level "loud"/ ],
	[ "db = {\n pool_size = ;\n};\n", 2, qr/syntax error/ ],
);
my $i = 0;
for my $b (@bad) {
	my ($text, $line, $why) = @$b;
	my $f = "$dir/bad-" . ++$i . '.conf';
	spew($f, $text);
	my $o = `$effortd -c $f --check-config 2>&1`;
	is $? >> 8, 1, "bad config $i: exit 1";
	like $o, qr/\Q$f\E:$line: /, "bad config $i: names $f:$line" or diag $o;
	like $o, $why, "bad config $i: says why" or diag $o;
	$o = `timeout 10 $effortd -c $f 2>&1`;
	is $? >> 8, 1, "bad config $i: the daemon does not start";
}
$out = `$effortd -c $dir/does-not-exist.conf --check-config 2>&1`;
is $? >> 8, 1, 'missing config file: exit 1';
like $out, qr/does-not-exist\.conf: cannot read file/, 'missing config file: says so';

# SIGHUP applies a changed rule; the conninfo is never logged.
my $db = new_db();
my $d = start_effortd(db => $db);
my $feed = $d->token('feed');
post_feed($d, people => [ { person_id => 'E0001', name => 'Mona Lisa', fte => 1, employment_start => '2020-01-01' },
	{ person_id => 'E1002', name => 'Ada Byron', fte => 1, line_manager_id => 'E0001', employment_start => '2020-01-01' } ]);
my ($s) = post_feed($d, timesheets => [ { person_id => 'E1002', period_start => '2025-01-01',
	period_end => '2025-01-31', submitted_at => '2025-02-03T10:00:00Z',
	entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ]);
is $s, 200, 'a January timesheet of 150 h';
my $rev = $d->token('reviewer');
my $q = '/v1/violations?as_of=2025-03-01&rule=hours_incomplete';
my (undef, $j) = $d->req(GET => $q, token => $rev);
is_deeply [ map { $_->{hours} + 0 } @{ $j->{violations} } ], [22.5], 'hours_incomplete 22.5 h with the default tolerance';

$d->write_config($d->options, 'rules.all_hours_tolerance' => 30);
$d->signal('HUP');
my $ok = 0;
for (1 .. 50) {
	(undef, $j) = $d->req(GET => $q, token => $rev);
	$ok = 1, last if @{ $j->{violations} } == 0;
	select undef, undef, undef, 0.1;
}
ok $ok, 'after SIGHUP with all_hours_tolerance = 30 the finding is gone';
like $d->log_text, qr/configuration reloaded/, 'the reload is logged';

$d->write_config($d->options, 'listen.port' => $d->port + 1);
$d->signal('HUP');
select undef, undef, undef, 0.5;
($s) = $d->req(GET => '/healthz');
is $s, 200, 'a reload that changes listen.port keeps serving on the old port';
like $d->log_text, qr/reload refused.*listen\.port changed and needs a restart/, '… and says why';
unlike $d->log_text, qr/\Q${\ $db->conninfo}\E|dbname=/, 'the log never shows the conninfo';
is $d->stop, 0, 'SIGTERM: exit 0';

done_testing;
