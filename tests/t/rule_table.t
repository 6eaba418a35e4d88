#!/usr/bin/perl
# One table of the audit rules (names, severities, clauses) in
# common/rules.c, checked against docs/rules.md (its table and headings) and
# the rule SQL (the rules it names); one place for the rule settings'
# defaults, effortd's option table (rules.*), checked against what the SQL
# uses when a setting is missing (effort_rule_defaults after --migrate), and
# no other SQL file reading a setting or holding a default.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use EffortTest qw(new_db psql slurp);

my $top = $EffortTest::TOP;
my $effortd = $EffortTest::EFFORTD;

# ---------------------------------------------------------------- rule table
my $c = slurp("$top/common/rules.c");
my @table;
push @table, [ $1, $2, $3 ] while $c =~ /X\("(\w+)",\s*"([\w ]+)",\s*"([^"]*)"\)/g;
cmp_ok scalar(@table), '==', 14, 'common/rules.c: 14 rules';

my $doc = slurp("$top/docs/rules.md");
my @doc_rows = map { [ split /\s*\|\s*/, s/^\|\s*|\s*\|\s*$//gr, -1 ] }
	grep { /^\| [a-z_]+ \|/ && !/^\| rule \|/ } split /\n/, ($doc =~ /## The rules at a glance\n(.*?)\n## /s)[0] // '';
is_deeply [ map { [ @$_[0 .. 2] ] } @doc_rows ], \@table,
	'docs/rules.md "The rules at a glance" is the table of common/rules.c, in its order';

my %heading;    # rule -> clause cited in its heading ('' none)
for ($doc =~ /^### (.+)$/mg) {
	my ($names, $clause) = /^([\w\/ ]+?)\s*(?:\((.*)\))?$/ or next;
	$heading{$_} = $clause // '' for split m{\s*/\s*}, $names;
}
is_deeply [ sort keys %heading ], [ sort map { $_->[0] } @table ], 'docs/rules.md has a heading for every rule, and no other';
for my $r (@table) {
	my ($name, undef, $clause) = @$r;
	if ($clause eq '') {
		is $heading{$name}, '', "$name: its heading cites no clause, as the table";
	} else {
		like $heading{$name} // '', qr/^\Q$clause\E\b|^"\Q$clause\E"/, "$name: its heading cites $clause";
	}
}

# The rule SQL names every rule of the table in its rule CTEs, and no other.
my $sql = slurp("$top/sql/functions/30_rules.sql");
my ($rules_sql) = $sql =~ /\nCREATE FUNCTION effort_rule_stages(.*)\nfindings AS \(/s;
ok defined $rules_sql, '30_rules.sql has its engine';
my %named = map { $_ => 1 } ($rules_sql // '') =~ /'([a-z]+_[a-z_]+)'/g;
delete $named{co_i};    # the role
is_deeply [ sort keys %named ], [ sort map { $_->[0] } @table ],
	'the rule SQL raises exactly the rules of the table';

# ---------------------------------------------------------------- defaults
my %default;
for (split /\n/, `$effortd --list-options`) {
	my ($path, $type, $def) = split /\t/;
	$default{$1} = [ $type, $def ] if $path =~ /^rules\.(\w+)$/;
}
cmp_ok scalar(keys %default), '==', 9, 'the option table has the nine rule settings';
my $db = new_db();
my $json = EffortTest::json_decode(scalar psql($db, 'SELECT effort_rule_defaults()'));
is_deeply [ sort keys %$json ], [ sort keys %default ], 'effort_rule_defaults() has every rule setting';
for my $k (sort keys %default) {
	my ($type, $def) = @{ $default{$k} };
	if ($type eq 'string') {
		is $json->{$k}, $def, "$k: the SQL default is the option table's";
	} else {
		is $json->{$k} + 0, $def + 0, "$k: the SQL default is the option table's";
	}
}
is scalar(psql($db, q{SELECT standard_weekly_hours || ' ' || timezone || ' ' || reminder_days
	FROM effort_rule_settings('2025-01-01', '{}')})), '37.5 Europe/London 14',
	'effort_rule_settings fills in missing settings from them';
is scalar(psql($db, q{SELECT standard_weekly_hours || ' ' || timezone
	FROM effort_rule_settings('2025-01-01', '{"standard_weekly_hours": 35, "timezone": "UTC"}')})),
	'35 UTC', '... and keeps the ones given';

# Only effort_rule_settings reads a setting (p_params->>...) and holds no literal default.
my @readers;
# (60_audit_log.sql is issue 12's this round: its one reading, the time zone
# of effortctl audit's dates, is left to it.)
for my $f (grep { !/60_audit_log/ } glob "$top/sql/functions/*.sql") {
	my $t = slurp($f);
	$t =~ s/^CREATE FUNCTION effort_rule_settings.*?^\$\$;//ms;
	push @readers, $f =~ s{.*/}{}r while $t =~ /p_params\s*->>/g;
}
is_deeply \@readers, [], 'no SQL function but effort_rule_settings reads a rule setting';

done_testing;
