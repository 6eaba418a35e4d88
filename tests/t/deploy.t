#!/usr/bin/perl
# effortd --migrate as an upgrade meets it (docs/operations.md, Upgrading):
# two runs at once (the advisory lock: each migration applied once, both
# exit 0); a run while an instance serves (it keeps serving); a migration
# that fails half way (nothing of it is left, the run stops before the
# functions, a corrected file applies on the next run); and a database
# migrated by a newer effortd (a migration this effortd does not have):
# refused, naming it, with nothing re-applied over the newer functions.
use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path);
use POSIX qw(:sys_wait_h);
use Time::HiRes ();
use lib 'tests/lib';
use EffortTest qw(new_db psql start_effortd load_sample slurp spew);

my $TOP = $EffortTest::TOP;
my $TMP = $EffortTest::TMP;

# A copy of the tree's sql/ to add migrations to.
sub sql_copy {
	my ($name) = @_;
	my $dir = "$TMP/sql-$name";
	make_path("$dir/functions");
	copy($_, "$dir/" . (split m{/})[-1]) or die "copy $_: $!" for glob "$TOP/sql/*.sql";
	copy($_, "$dir/functions/" . (split m{/})[-1]) or die "copy $_: $!" for glob "$TOP/sql/functions/*.sql";
	return $dir;
}

# effortd --migrate on $db reading $sql_dir (default the tree's): (exit, output).
sub migrate_with {
	my ($db, $sql_dir) = @_;
	my $conf = "$TMP/deploy-migrate-" . $db->name . '.conf';
	spew($conf, EffortTest::config_text('db.conninfo' => $db->conninfo, 'db.sql_dir' => $sql_dir // "$TOP/sql",
		'log.level' => 'info'));
	return EffortTest::_run($EffortTest::EFFORTD, '-c', $conf, '--migrate');
}

# A digest of every function's definition in the public schema.
sub functions_digest {
	my ($db) = @_;
	return psql($db, q{SELECT md5(string_agg(pg_get_functiondef(p.oid), '' ORDER BY p.oid))
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')});
}

my @migrations = map { (split m{/})[-1] } glob "$TOP/sql/*.sql";

# ---- two --migrate at once on an empty database
{
	my $db = new_db(migrate => 0);
	my $conf = "$TMP/deploy-twice.conf";
	spew($conf, EffortTest::config_text('db.conninfo' => $db->conninfo, 'db.sql_dir' => "$TOP/sql"));
	my @kids;
	for my $n (1, 2) {
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			open STDOUT, '>', "$TMP/deploy-twice-$n.log";
			open STDERR, '>&', \*STDOUT;
			exec $EffortTest::EFFORTD, '-c', $conf, '--migrate' or POSIX::_exit(127);
		}
		push @kids, $pid;
	}
	my @rc = map { waitpid($_, 0); $? >> 8 } @kids;
	is "@rc", '0 0', 'two effortd --migrate at once on an empty database: both exit 0'
		or diag slurp("$TMP/deploy-twice-1.log") . slurp("$TMP/deploy-twice-2.log");
	my $logs = slurp("$TMP/deploy-twice-1.log") . slurp("$TMP/deploy-twice-2.log");
	my $applied = () = $logs =~ /applied migration/g;
	is $applied, scalar @migrations, '... each migration applied once between them';
	is psql($db, 'SELECT count(*) FROM schema_migrations'), scalar @migrations, '... and recorded once';
}

# ---- --migrate while an instance serves: it keeps serving, nothing is lost
my $db = new_db();
my $d = start_effortd(db => $db);
load_sample($d);
my $people = psql($db, 'SELECT count(*) FROM people');
my ($rc, $out) = migrate_with($db);
is $rc, 0, '--migrate while an instance serves: exit 0' or diag $out;
unlike $out, qr/applied migration/, '... applying no migration (a no-op but for the functions)';
my ($s, $body) = $d->req(GET => '/v1/violations', query => { as_of => '2025-06-01' }, token => $d->token('reviewer'));
is $s, 200, '... the instance still answers GET /v1/violations 200';
($s, $body) = $d->req(POST => '/v1/people', token => $d->token('feed'), body => slurp(EffortTest::sample_file('people', 'json')));
is $s, 200, '... and stores a feed (the sample people again: unchanged)';
is ref $body && $body->{unchanged}, $people, "... all $people unchanged";
($s, $body) = $d->req(GET => '/v1/audit/verify', token => $d->token('admin'));
ok $s == 200 && $body->{ok}, '... and the audit trail verifies';

# ---- a migration that fails half way
{
	my $dir = sql_copy('broken');
	spew("$dir/099_broken.sql", "CREATE TABLE deploy_half (x int);\nINSERT INTO deploy_half VALUES (1);\n"
		. "SELECT 1 / 0;\n");
	my $before = functions_digest($db);
	($rc, $out) = migrate_with($db, $dir);
	is $rc, 1, 'a migration failing half way: --migrate exits 1';
	like $out, qr{099_broken\.sql: ERROR:  division by zero}, '... naming the file and the error';
	is psql($db, q{SELECT to_regclass('deploy_half') IS NULL}), 't', '... nothing of it is left (its table is gone)';
	is psql($db, q{SELECT count(*) FROM schema_migrations WHERE version = '099_broken.sql'}), 0,
		'... it is not recorded as applied';
	unlike $out, qr/schema is up to date/, '... nor is the schema said to be up to date';
	is functions_digest($db), $before, '... the functions untouched';
	ok $d->wait_health(200, 10), '... the instance still serves';
	spew("$dir/099_broken.sql", "CREATE TABLE deploy_half (x int);\n");
	($rc, $out) = migrate_with($db, $dir);
	is $rc, 0, 'the corrected migration: --migrate exits 0' or diag $out;
	like $out, qr/applied migration 099_broken\.sql/, '... and applies it';
	psql($db, q{DROP TABLE deploy_half; DELETE FROM schema_migrations WHERE version = '099_broken.sql'});
}

# ---- a database migrated by a newer effortd
{
	my $dir = sql_copy('newer');
	spew("$dir/098_newer.sql", "CREATE TABLE deploy_newer (x int);\n");
	($rc, $out) = migrate_with($db, $dir);
	is $rc, 0, 'a newer effortd migrates (098_newer.sql)' or diag $out;
	# What the newer release's functions would be: one marked as its own.
	psql($db, q{CREATE OR REPLACE FUNCTION effort_today(p_params jsonb) RETURNS date
		LANGUAGE sql AS $$SELECT DATE '2001-01-01'$$});
	my $newer = functions_digest($db);
	($rc, $out) = migrate_with($db);
	is $rc, 1, 'this (older) effortd --migrate on that database: exit 1';
	like $out, qr/^effortd: error: the database has migration 098_newer\.sql, which this effortd does not have \(\Q$TOP\E\/sql\): it was migrated by a newer effortd; run that one's --migrate$/m,
		'... saying the database is newer and naming the migration' or diag $out;
	is functions_digest($db), $newer, "... and leaves the newer release's functions as they are";
	unlike $out, qr/schema is up to date/, '... nor says the schema is up to date';
	psql($db, q{DROP TABLE deploy_newer; DELETE FROM schema_migrations WHERE version = '098_newer.sql'});
	($rc, $out) = migrate_with($db);
	is $rc, 0, 'without it, --migrate runs again (exit 0)' or diag $out;
	isnt psql($db, q{SELECT effort_today('{}')}), '2001-01-01', '... re-applying the functions';
}

# ---- a function's result changed under a running instance (as a newer
# release's --migrate may do while the previous release still serves, the
# rolling upgrade of operations.md): PostgreSQL refuses the statement
# prepared before it on that connection for good ("cached plan must not
# change result type"); effortd answers 503 (safe to retry) and connects
# again, preparing it afresh, instead of a 500 for every request after
{
	my $db2 = new_db();
	my $e = start_effortd(db => $db2, 'db.pool_size' => 2, 'auth.cache_seconds' => 60);
	my $admin = $e->token('admin');
	my @before = map { ($e->req(GET => '/v1/audit/verify', token => $admin))[0] } 1 .. 4;
	is "@before", '200 200 200 200', 'GET /v1/audit/verify: 200 on both connections';
	psql($db2, q{ALTER FUNCTION audit_verify(bigint, text) RENAME TO audit_verify_jsonb;
		CREATE FUNCTION audit_verify(bigint DEFAULT NULL, text DEFAULT NULL) RETURNS json LANGUAGE sql
		AS 'SELECT audit_verify_jsonb($1, $2)::json'});
	my (@statuses, $body);
	for (1 .. 40) {
		(my $st, $body) = $e->req(GET => '/v1/audit/verify', token => $admin);
		push @statuses, $st;
		last if @statuses >= 3 && "@statuses[-3..-1]" eq '200 200 200';
		Time::HiRes::sleep(0.1);
	}
	is +(grep { $_ == 500 } @statuses), 0, 'after audit_verify returns json: no 500' or diag "@statuses";
	is "@statuses[-3..-1]", '200 200 200', '... 200 again once the connections are made again' or diag "@statuses";
	ok ref $body && $body->{ok}, '... with the verification';
	cmp_ok +(grep { $_ == 503 } @statuses), '<=', 2, '... after at most one 503 per connection' or diag "@statuses";
	like $e->log_text, qr/database connection \d lost: a prepared statement is out of date \(its function changed: the schema was migrated\); preparing them again/,
		'... the log says why';
	is $e->stop, 0, 'that instance stops cleanly (exit 0)';
}

# ---- migration 024 on a database at 023 (docs/operations.md, Upgrading):
# the views it makes again keep their privileges; an operator's view over
# one of them stops it, changing nothing.
{
	my $db = new_db(migrate => 0);
	my $pre = sql_copy('pre024');
	unlink "$pre/024_id_collation.sql" or die "unlink: $!";
	my ($rc, $out) = migrate_with($db, $pre);
	is $rc, 0, 'a database migrated up to 023: exit 0' or diag $out;
	my $role = "deploy_reader_$$";
	my $collation = q{SELECT coalesce(collname, 'the database''s') FROM pg_attribute a LEFT JOIN pg_collation k
		ON k.oid = a.attcollation AND a.attcollation <> 100
		WHERE a.attrelid = 'people'::regclass AND a.attname = 'person_id'};
	my $acl = q{SELECT string_agg(relname || ' ' || array_to_string(relacl, ','), '; ' ORDER BY relname)
		FROM pg_class WHERE relname IN ('current_timesheets', 'assignments_effective')};
	psql($db, qq{CREATE ROLE $role; GRANT SELECT ON current_timesheets TO $role;
		GRANT SELECT ON assignments_effective TO PUBLIC;
		CREATE VIEW operator_sheets AS SELECT person_id FROM current_timesheets});
	my $acl_before = psql($db, $acl);

	($rc, $out) = migrate_with($db);
	is $rc, 1, '024 with an operator\'s view over current_timesheets: exit 1';
	like $out, qr/024_id_collation\.sql: ERROR:  cannot drop view current_timesheets because other objects depend on it/,
		'... saying it cannot drop the view';
	is psql($db, q{SELECT count(*) FROM schema_migrations WHERE version = '024_id_collation.sql'}), 0,
		'... not recorded';
	is psql($db, $collation), "the database's", '... and person_id keeps the database\'s collation';

	psql($db, 'DROP VIEW operator_sheets');
	($rc, $out) = migrate_with($db);
	is $rc, 0, 'the view dropped: 024 applies, exit 0' or diag $out;
	is psql($db, $collation), 'C', '... person_id is COLLATE "C"';
	is psql($db, $acl), $acl_before, '... the views have the privileges they had';
	like $acl_before, qr/^assignments_effective [^;]*,=r\//, '... (PUBLIC\'s on assignments_effective)';
	like $acl_before, qr/; current_timesheets [^;]*\b\Q$role\E=r\//, '... (a role\'s on current_timesheets)';
	psql($db, "REVOKE ALL ON current_timesheets FROM $role; DROP ROLE $role");
}

is $d->stop, 0, 'the instance stops cleanly (exit 0)';
done_testing;
