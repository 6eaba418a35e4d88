# The audit trail: a change through every feed is logged with who, before
# and after; approvals, rejections, delegations, tokens created and revoked
# and a configuration reload too; GET /v1/audit and effortctl audit log
# filter it; the hash chain verifies, and after a row is altered as the
# database owner effortctl audit verify fails naming that row.  effortd
# running as a runtime role (effort_grant_runtime) serves feeds normally,
# and PostgreSQL refuses that role UPDATE, DELETE and TRUNCATE on the log.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode effortctl);

my $db = new_db();
my $d = start_effortd(db => $db);
my $feed = $d->token('feed');
my $feed_id = psql($db, q{SELECT max(token_id) FROM tokens WHERE role = 'feed'});
my $reviewer = $d->token('reviewer');

sub ok_feed {
	my ($f, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $f => $body);
	is $s, 200, $name or diag json_encode($j);
}
sub audit {
	my (%q) = @_;
	my ($s, $j) = $d->req(GET => '/v1/audit', token => $reviewer, query => \%q);
	is $s, 200, 'GET /v1/audit' . (%q ? '?' . join('&', map { "$_=$q{$_}" } sort keys %q) : '') . ': 200';
	return $j->{entries} // [];
}
# Numbers as numbers (JSON 1.000 arrives as 1).
sub norm { my ($v) = @_; defined $v && $v =~ /\A-?\d+(?:\.\d+)?\z/ ? $v + 0 : $v }
# The last logged row of an entity: [action, key, before, after, actor].
sub last_row {
	my ($entity) = @_;
	my ($e) = grep { $_->{entity} eq $entity } reverse @{ audit() };
	return $e;
}

# ---------------------------------------------------------------- every feed: created, then updated
my @feeds = (
	[ people => { person_id => 'P1', name => 'Pat', line_manager_id => 'PM', fte => 1, employment_start => '2020-01-01' },
	  { fte => 0.5 }, { person_id => 'P1' }, 'fte', '1.000', '0.500' ],
	[ grants => { grant_ref => 'EP/A/1', title => 'A grant', start_date => '2020-01-01', end_date => '2030-12-31' },
	  { title => 'A better grant' }, { grant_ref => 'EP/A/1' }, 'title', 'A grant', 'A better grant' ],
	[ assignments => { person_id => 'P1', grant_ref => 'EP/A/1', role => 'researcher', cost_type => 'DI',
		start_date => '2024-01-01', end_date => '2025-12-31', fte_share => 0.5 },
	  { fte_share => 0.25 }, { person_id => 'P1', grant_ref => 'EP/A/1', start_date => '2024-01-01' }, 'fte_share', '0.500', '0.250' ],
	[ charges => { person_id => 'P1', grant_ref => 'EP/A/1', month => '2025-01', hours => 80 },
	  { hours => 60 }, { person_id => 'P1', grant_ref => 'EP/A/1', month => '2025-01-01' }, 'hours', '80.00', '60.00' ],
	[ delegations => { manager_id => 'PM', delegate_id => 'PD', start_date => '2025-01-01', end_date => '2025-01-31' },
	  { end_date => '2025-02-28' }, { manager_id => 'PM', delegate_id => 'PD', start_date => '2025-01-01' }, 'end_date', '2025-01-31', '2025-02-28' ],
);
ok_feed(people => [ { person_id => 'PM', name => 'Pam Manager', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'PD', name => 'Phil Delegate', fte => 1, employment_start => '2015-01-01' } ], 'setup: managers');
for my $f (@feeds) {
	my ($name, $rec, $change, $key, $field, $old, $new) = @$f;
	ok_feed($name => [$rec], "$name: a record created");
	my $e = last_row($name);
	is $e->{action}, 'created', "$name: logged as created";
	is_deeply $e->{key}, $key, "$name: with its key";
	ok !defined $e->{before}, "$name: no before";
	is norm($e->{after}{$field}), norm($old), "$name: after has $field = $old";
	is_deeply [ @{ $e->{actor} }{qw(role token_id person_id)} ], [ 'feed', $feed_id + 0, undef ], "$name: by the feed token";
	my $n = scalar @{ audit() };
	ok_feed($name => [$rec], "$name: the same record again");
	is scalar @{ audit() }, $n, "$name: an unchanged record logs nothing";
	ok_feed($name => [ { %$rec, %$change } ], "$name: the record changed");
	$e = last_row($name);
	is $e->{action}, 'updated', "$name: logged as updated";
	is norm($e->{before}{$field}), norm($old), "$name: before $field = $old";
	is norm($e->{after}{$field}), norm($new), "$name: after $field = $new";
}

# Timesheets: a version with its entries; an authorisation; a new version.
my $ts = { person_id => 'P1', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-01T10:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/A/1', hours => 60 }, { kind => 'research', activity => 'research', hours => 26.25 } ] };
ok_feed(timesheets => [$ts], 'timesheets: version 1');
my $e = last_row('timesheets');
is $e->{action}, 'created', 'timesheets: version 1 logged';
is_deeply $e->{after}{entries}, [ { kind => 'grant', activity => 'EP/A/1', hours => 60 }, { kind => 'research', activity => 'research', hours => 26.25 } ],
	'… with its entries';
my $v1 = $e->{after}{timesheet_id};
my $pm = $d->token('manager', 'PM');
my ($s, $j) = $d->req(POST => "/v1/timesheets/$v1/approve", token => $pm);
is $s, 200, 'PM approves version 1';
$e = last_row('timesheet_decisions');
is $e->{action}, 'authorised', 'the approval is logged as authorised';
is_deeply [ @{ $e->{actor} }{qw(role person_id)} ], [ 'manager', 'PM' ], '… by the manager token of PM';
is $e->{after}{decided_by}, 'PM', '… decided_by PM';
ok_feed(timesheets => [ { %$ts, amendment_reason => 'typo', entries => [ { kind => 'grant', activity => 'EP/A/1', hours => 86.25 } ] } ],
	'timesheets: version 2 with an amendment reason');
$e = last_row('timesheets');
is_deeply [ $e->{key}{version}, $e->{after}{amendment_reason} ], [ 2, 'typo' ], 'version 2 logged with its reason';
my $v2 = $e->{after}{timesheet_id};
($s) = $d->req(POST => "/v1/timesheets/$v2/reject", token => $pm, body => { reason => 'all on one grant?' });
is $s, 200, 'PM rejects version 2';
$e = last_row('timesheet_decisions');
is_deeply [ $e->{action}, $e->{after}{reason} ], [ 'rejected', 'all on one grant?' ], 'the rejection is logged with its reason';
($s) = $d->req(POST => '/v1/me/delegations', token => $pm, body => { delegate_id => 'PD', start_date => '2099-01-01', end_date => '2099-01-31' });
is $s, 200, 'PM delegates through the API';
$e = last_row('delegations');
is_deeply [ $e->{action}, $e->{actor}{role}, $e->{actor}{person_id} ], [ 'created', 'manager', 'PM' ], '… logged, by PM';

# History filters.
is_deeply [ map { "$_->{entity} $_->{action}" } @{ audit(timesheet_id => $v1) } ],
	[ 'timesheets created', 'timesheet_decisions authorised', 'timesheets created', 'timesheet_decisions rejected' ],
	'?timesheet_id: every version of the timesheet and their decisions';
is_deeply [ map { $_->{entity} } grep { $_->{entity} ne 'timesheets' && $_->{entity} ne 'timesheet_decisions' } @{ audit(person_id => 'PD') } ],
	[ qw(people line_manager_history delegations delegations delegations) ], '?person_id=PD: their record, their line manager and the delegations to them';
is scalar @{ audit(since => '2999-01-01') }, 0, '?since in the future: nothing';
{
	# ?limit: the latest N, and "more" says older changes match too
	my $all = audit(person_id => 'PD');
	my $n = @$all;
	my ($s2, $j2) = $d->req(GET => '/v1/audit', token => $reviewer, query => { person_id => 'PD', limit => $n - 1 });
	is_deeply [ $s2, [ map { $_->{id} } @{ $j2->{entries} } ], $j2->{more} ],
		[ 200, [ map { $_->{id} } @$all[ 1 .. $#$all ] ], JSON::PP::true ],
		"?limit=@{[ $n - 1 ]} of $n: the latest, oldest first, and more: true" or diag json_encode($j2);
	($s2, $j2) = $d->req(GET => '/v1/audit', token => $reviewer, query => { person_id => 'PD', limit => $n });
	is_deeply [ scalar @{ $j2->{entries} }, $j2->{more} ], [ $n, JSON::PP::false ], "?limit=$n of $n: all, and more: false";
	my ($rc, $out, $err) = effortctl($d, { token => $reviewer }, 'audit', 'log', '--person', 'PD', '--limit', $n - 1);
	is $rc, 0, 'effortctl audit log --limit short of them all: exit 0';
	is $err, 'effortctl: only the latest ' . ($n - 1) . " changes are shown; older ones match too (--limit N, or --since YYYY-MM-DD)\n",
		'… and says older ones match too';
}
($s) = $d->req(GET => '/v1/audit', token => $pm);
is $s, 403, 'a manager reading the audit trail: 403';
{
	my ($rc, $out) = effortctl($d, { token => $reviewer }, 'audit', 'log', '--timesheet', $v1);
	is $rc, 0, 'effortctl audit log --timesheet: exit 0';
	like $out, qr/^\s*\d+\s+\S+\s+manager PM \(token \d+\)\s+authorised\s+timesheet_decisions\s/m, '… the approval, by PM';
	($rc, $out) = effortctl($d, { token => $reviewer }, 'audit', 'log', '--person', 'P1');
	like $out, qr/feed \(token $feed_id\)\s+updated\s+people\s+\{"person_id":"P1"\}\s+fte: 1 -> 0\.5$/m, 'effortctl audit log --person: an update shows field: old -> new';
}

# Tokens created and revoked; a configuration reload.
{
	my ($rc, $out) = effortctl($d, 'token', 'create', 'reviewer', '--label', 'audit test');
	is $rc, 0, 'effortctl token create';
	my $id = psql($db, q{SELECT token_id FROM tokens WHERE label = 'audit test'});
	$e = last_row('tokens');
	is_deeply [ $e->{action}, $e->{key}{token_id}, $e->{actor}{role} ], [ 'created', $id, 'admin' ], 'the new token is logged, by the admin';
	ok !exists $e->{after}{token_hash}, '… without its hash';
	($rc) = effortctl($d, 'token', 'revoke', $id);
	is $rc, 0, 'effortctl token revoke';
	$e = last_row('tokens');
	is_deeply [ $e->{action}, $e->{key}{token_id} ], [ 'revoked', $id ], 'the revocation is logged';
	ok !defined $e->{before}{revoked_at} && defined $e->{after}{revoked_at}, '… with revoked_at before and after';
}
{
	my %o = $d->options;
	$d->write_config(%o, 'rules.reminder_days' => 21,
		'notify.webhook_url' => 'http://hooks.example.ac.uk:8443/T0/B1/s3cr3t?key=s3cr3t');
	my $n = psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'config'});
	$d->signal('HUP');
	my $end = time + 10;
	sleep 0.1 while time < $end && psql($db, q{SELECT count(*) FROM audit_log WHERE entity = 'config'}) == $n;
	$e = last_row('config');
	is $e->{action}, 'reloaded', 'SIGHUP: the reload is logged';
	is_deeply [ $e->{before}{'rules.reminder_days'}, $e->{after}{'rules.reminder_days'} ], [ 14, 21 ], '… with the settings before and after';
	ok !grep({ /conninfo/ } keys %{ $e->{after} }), '… never a connection string';
	# Reviewers read the trail: a webhook's path and query may be its
	# receiver's secret, so only where it goes is kept.
	is_deeply [ $e->{before}{'notify.webhook_url'}, $e->{after}{'notify.webhook_url'} ],
		[ '', 'http://hooks.example.ac.uk:8443/…' ], '… the webhook without its path and query';
	unlike psql($db, q{SELECT after::text FROM audit_log WHERE entity = 'config' ORDER BY id DESC LIMIT 1}), qr/s3cr3t/,
		'… nowhere the secret in it';
}

# ---------------------------------------------------------------- the chain
my ($rc, $out, $err) = effortctl($d, { token => $reviewer }, 'audit', 'verify');
is $rc, 0, 'effortctl audit verify: exit 0' or diag "$out$err";
my ($rows, $last_id) = @{ (psql($db, q{SELECT count(*), max(id) FROM audit_log}))[0] };
my $last_hash = psql($db, "SELECT encode(hash, 'hex') FROM audit_log WHERE id = $last_id");
is $out, "audit trail intact: $rows rows, last id $last_id, last hash $last_hash\n", "… intact, $rows rows, and the last id and hash to keep";
is psql($db, 'SELECT count(*) FROM audit_log a WHERE a.prev_hash IS DISTINCT FROM (SELECT b.hash FROM audit_log b WHERE b.id < a.id ORDER BY b.id DESC LIMIT 1)'), 0,
	'each row carries the hash of the row before';
my $victim = psql($db, q{SELECT min(id) FROM audit_log WHERE entity = 'charges' AND action = 'updated'});
psql($db, qq{UPDATE audit_log SET after = jsonb_set(after, '{hours}', '"6.00"') WHERE id = $victim});
($rc, $out, $err) = effortctl($d, { token => $reviewer }, 'audit', 'verify');
is $rc, 1, 'after the owner altered a row in SQL: effortctl audit verify exits 1';
like $out, qr/^audit trail BROKEN at row $victim: row $victim does not match its hash/m, "… naming row $victim";
($s, $j) = $d->req(GET => '/v1/audit/verify', token => $d->token('admin'));
is_deeply [ $s, $j->{ok} ? 1 : 0, $j->{first_broken_id} ], [ 200, 0, $victim ], 'GET /v1/audit/verify says the same';
psql($db, qq{DELETE FROM audit_log WHERE id = $victim});
($rc, $out) = effortctl($d, { token => $reviewer }, 'audit', 'verify');
my $next = psql($db, "SELECT min(id) FROM audit_log WHERE id > $victim");
like $out, qr/BROKEN at row $next: row $next: prev_hash is not the hash of row \d+/, "a deleted row: the next one ($next) is named";
is $d->stop, 0, 'effortd stops';

# ---------------------------------------------------------------- the runtime role
my $db2 = new_db();
my $role = "effortd_rt_$$";
psql($db2, qq{DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
	CREATE ROLE "$role" LOGIN NOSUPERUSER; END IF; END \$\$});
is psql($db2, qq{SELECT effort_grant_runtime('$role')}), "granted the runtime privileges to $role", 'effort_grant_runtime as the owner';
is psql($db2, qq{SELECT effort_grant_runtime('$role')}), "granted the runtime privileges to $role", '… re-runnable';
my $c = $db2->cluster;
my $rt = EffortTest::Cluster->new(host => $c->host, port => $c->port, user => $role);
my $dr = start_effortd(db => $db2, 'db.conninfo' => $rt->conninfo($db2->name));
is psql($db2, q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'effortd' AND usename = '} . $role . q{'}) > 0 ? 1 : 0, 1,
	'effortd is connected as the runtime role';
($s, $j) = post_feed($dr, people => [ { person_id => 'R1', name => 'Run Time', fte => 1, employment_start => '2020-01-01' } ]);
is $s, 200, 'a feed through effortd running as the runtime role: 200' or diag json_encode($j);
($s, $j) = post_feed($dr, timesheets => [ { person_id => 'R1', period_start => '2025-01-01', period_end => '2025-01-31',
	submitted_at => '2025-02-01T10:00:00Z', entries => [ { kind => 'research', activity => 'r', hours => 172.5 } ] } ]);
is $s, 200, '… and a timesheet: 200' or diag json_encode($j);
($s, $j) = post_feed($dr, timesheets => [ map { { person_id => 'R1', period_start => "2025-0$_-01",
	period_end => "2025-0$_-28", submitted_at => '2025-10-01T10:00:00Z',
	entries => [ { kind => 'research', activity => 'r', hours => 150 } ] } } 2 .. 4 ]);
is $s, 200, '… and a batch of three, flushed to the trail in one statement: 200' or diag json_encode($j);
is psql($db2, q{SELECT string_agg(DISTINCT actor ->> 'db_user', ',') FROM audit_log WHERE entity IN ('people', 'timesheets')}), $role,
	'the audit rows were written by the runtime role';
sub as_runtime {
	my ($sql) = @_;
	my @r = eval { EffortTest::psql_cluster($rt, $db2->name, $sql) };
	return $@ ? $@ : 'ok';
}
like as_runtime('UPDATE audit_log SET action = action'), qr/permission denied for table audit_log/, 'the runtime role: UPDATE audit_log refused by PostgreSQL';
like as_runtime('DELETE FROM audit_log'), qr/permission denied for table audit_log/, 'the runtime role: DELETE FROM audit_log refused';
like as_runtime('TRUNCATE audit_log'), qr/permission denied for table audit_log/, 'the runtime role: TRUNCATE audit_log refused';
is as_runtime('SELECT count(*) FROM audit_log'), 'ok', 'the runtime role may read it';
($rc, $out) = effortctl($dr, { token => $dr->token('reviewer') }, 'audit', 'verify');
is $rc, 0, 'the chain written by the runtime role verifies';
my $row = psql($db2, q{SELECT max(id) FROM audit_log WHERE entity = 'people'});
psql($db2, qq{UPDATE audit_log SET actor = '{"db_user": "nobody"}' WHERE id = $row});
($rc, $out) = effortctl($dr, { token => $dr->token('reviewer') }, 'audit', 'verify');
is $rc, 1, 'the owner (superuser) may UPDATE it, and then verify exits 1';
like $out, qr/BROKEN at row $row:/, "… naming row $row";

done_testing;
