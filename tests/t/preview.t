# POST /v1/<feed>?preview=true and effortctl ingest --preview against a
# real effortd and PostgreSQL (issue 18): on the sample organisation, for
# every feed, a batch that opens findings and one that resolves them are
# previewed and then posted for real; the preview's counts and its opened
# and resolved findings (rule, severity, person, grant, period, hours,
# detail) equal what the real POST then does to the findings table, and
# after the preview nothing is stored (every table's rows and content, the
# audit trail's length and last hash, audit_pending).  Also: a preview
# beside a real feed on the same rows (both succeed, the real one stored,
# and it waits no longer behind a preview than behind a real feed of the
# same size); roles (reviewer may preview, manager may not); the strict
# preview parameter; a refused batch; CSV; effortctl's table and exit
# codes.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use POSIX ();
use Test::More;
use Time::HiRes qw(time);
use EffortTest qw(new_db start_effortd psql psql_value post_feed load_sample effortctl json_encode json_decode spew);

my $db = new_db();
my $d = start_effortd(db => $db, 'db.pool_size' => 4);
load_sample($d);
my $feed = $d->token('feed');
my $reviewer = $d->token('reviewer');
$d->token($_) for qw(admin);
$d->token('manager', 'E0001');
# The full sweep effortd starts with is over (it opens the sample's
# findings): from here on only the feeds change findings.
for (1 .. 100) {
	last if $d->log_text =~ /audit sweep: /;
	select undef, undef, undef, 0.1;
}
like $d->log_text, qr/audit sweep: /, 'setup: the first full sweep is done';

# ---------------------------------------------------------------- helpers

# Everything a preview must leave as it was: every table's row count and
# content (tokens: the count, its last_used_at moves with every request),
# the audit trail's length and last hash, and no gap in the audit trail's
# or the findings' numbering (the merge may draw other sequences, e.g.
# timesheet ids: as a refused feed).  One statement: one snapshot, and one
# psql instead of one for each table and figure (40 states of about 65
# psql runs each took 71 of this file's 78 s).
my @tables = map { $_->[0] } psql($db,
	q{SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1});
my $stored_state_sql = join "\nUNION ALL ", (map {
		(qq{SELECT '$_ rows', count(*)::text FROM "$_"},
		 $_ eq 'tokens' ? () : qq{SELECT '$_ content', md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM "$_" t})
	} @tables),
	q{SELECT 'audit trail last hash', (SELECT encode(hash, 'hex') FROM audit_log ORDER BY id DESC LIMIT 1)},
	map {
		my ($t, $id) = @$_;
		my $seq = psql_value($db, "SELECT pg_get_serial_sequence('$t', '$id')");
		qq{SELECT '$t next id', last_value::text FROM $seq};
	} ([ audit_log => 'id' ], [ findings => 'finding_id' ]);
sub stored_state {
	return { map { $_->[0] => $_->[1] } psql($db, $stored_state_sql) };
}
is scalar(keys %{ stored_state() }), 2 * @tables - 1 + 3,
	'setup: the stored state has every table\'s rows and content, the last hash and two sequences';

sub finding_key {
	my ($f) = @_;
	return join '|', $f->{rule}, $f->{person_id}, $f->{grant_ref} // '', $f->{period_start}, $f->{period_end};
}

# A finding as compared: hours with two decimals (findings keep numeric(10,2)).
sub finding {
	my ($f) = @_;
	return { (map { $_ => $f->{$_} } qw(rule severity person_id grant_ref period_start period_end detail)),
		hours => sprintf('%.2f', $f->{hours}) };
}

# The open findings, by identity.
sub open_findings {
	my %open;
	for my $r (psql($db, q{SELECT rule, severity, person_id, grant_ref, period_start, period_end, hours, detail
		FROM findings WHERE resolved_at IS NULL})) {
		my %f;
		@f{qw(rule severity person_id grant_ref period_start period_end hours detail)} = @$r;
		$open{ finding_key(\%f) } = finding(\%f);
	}
	return \%open;
}

sub sorted_findings {
	return [ map { finding($_) } sort { finding_key($a) cmp finding_key($b) } @_ ];
}

# Previews $body, checks that nothing was stored, posts it for real and
# checks that the preview said what the real POST did.  Returns the preview.
sub preview_then_post {
	my ($name, $feed_name, $body, %o) = @_;
	my $before = stored_state();
	my $open_before = open_findings();
	my ($s, $p) = $d->req(POST => "/v1/$feed_name?preview=true", token => $o{token} // $feed,
		body => $body, type => $o{type});
	is $s, 200, "$name: preview 200" or diag json_encode($p);
	is_deeply stored_state(), $before, "$name: nothing stored by the preview (rows, content, audit trail)";
	is $p->{preview}, JSON::PP::true, "$name: the reply says preview";
	my ($s2, $real) = $d->req(POST => "/v1/$feed_name", token => $feed, body => $body, type => $o{type});
	is $s2, 200, "$name: the real POST 200" or diag json_encode($real);
	is_deeply { map { $_ => $p->{$_} } qw(accepted created updated unchanged) }, $real,
		"$name: the preview's counts are the real POST's";
	my $open_after = open_findings();
	my @opened = map { $open_after->{$_} } grep { !$open_before->{$_} } keys %$open_after;
	my @resolved = map { $open_before->{$_} } grep { !$open_after->{$_} } keys %$open_before;
	is_deeply sorted_findings(@{ $p->{opened} }), sorted_findings(@opened),
		"$name: opened as the real POST opened (" . scalar(@opened) . ')';
	is_deeply sorted_findings(@{ $p->{resolved} }), sorted_findings(@resolved),
		"$name: resolved as the real POST resolved (" . scalar(@resolved) . ')';
	return $p;
}

sub rules_of {
	my ($list) = @_;
	my %r = map { ($_->{rule} => 1) } @$list;
	return join ',', sort keys %r;
}

# ---------------------------------------------------------------- every feed

my $ts_short = { person_id => 'E1001', period_start => '2026-10-01', period_end => '2026-10-31',
	submitted_at => '2026-10-31T16:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 100 } ] };
my $ts_aziz = { person_id => 'E1012', period_start => '2026-10-01', period_end => '2026-10-31',
	submitted_at => '2026-10-31T16:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 165 } ] };
my $p = preview_then_post('timesheets (short October, a missing one sent)', timesheets => [ $ts_short, $ts_aziz ]);
is rules_of($p->{opened}), 'hours_incomplete', '… opens hours_incomplete';
is_deeply [ map { "$_->{person_id} $_->{period_start} $_->{hours}" } @{ $p->{opened} } ],
	[ 'E1001 2026-10-01 65' ], '… for E1001, October 2026, 65 h';
is rules_of($p->{resolved}), 'timesheet_missing', '… resolves timesheet_missing';
is_deeply [ map { "$_->{person_id} $_->{period_start} $_->{hours}" } @{ $p->{resolved} } ],
	[ 'E1012 2026-10-01 165' ], '… of E1012, October 2026, 165 h';
is_deeply [ @$p{qw(accepted created updated unchanged)} ], [ 2, 2, 0, 0 ], '… 2 created';

$p = preview_then_post('timesheets (the short one amended)', timesheets => [ { %$ts_short,
	submitted_at => '2026-11-02T09:00:00Z',
	entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 165 } ] }, $ts_aziz ]);
is rules_of($p->{resolved}), 'hours_incomplete', '… resolves hours_incomplete';
is_deeply [ @$p{qw(accepted created updated unchanged)} ], [ 2, 0, 1, 1 ], '… 1 updated, 1 unchanged';

$p = preview_then_post('charges (over the recorded hours)', charges => [
	{ person_id => 'E1001', grant_ref => 'EP/X012345/1', month => '2026-11', fte_fraction => 1 },
	{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 1 } ]);
is rules_of($p->{opened}), 'activity_missing,unevidenced_charge', '… opens activity_missing and unevidenced_charge';
ok((grep { $_->{person_id} eq 'E1002' && $_->{rule} eq 'unevidenced_charge' && $_->{hours} == 33 } @{ $p->{opened} }),
	'… E1002 September 2026: 33 h unevidenced');
$p = preview_then_post('charges (back as they were)', charges => [
	{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 0.8 } ]);
is rules_of($p->{resolved}), 'unevidenced_charge', '… resolves it';

my %ep = (grant_ref => 'EP/X012345/1', title => 'Verified compilers for safety-critical avionics',
	funder => 'EPSRC', start_date => '2023-04-01');
$p = preview_then_post('grants (ended early)', grants => [ { %ep, end_date => '2026-08-31' } ]);
is rules_of($p->{opened}), 'outside_grant_period', '… opens outside_grant_period';
cmp_ok scalar @{ $p->{opened} }, '>=', 5, '… for everyone on it';
$p = preview_then_post('grants (end restored)', grants => [ { %ep, end_date => '2027-03-31' } ]);
is rules_of($p->{resolved}), 'outside_grant_period', '… resolves them';

my %asg = (person_id => 'E0002', grant_ref => 'BB/Z501234/1', role => 'researcher', cost_type => 'DI',
	start_date => '2026-09-01', fte_share => 0.2);
$p = preview_then_post('assignments (a new one)', assignments => [ { %asg, end_date => '2027-03-31' } ]);
is rules_of($p->{opened}), 'timesheet_missing', '… opens timesheet_missing';
is scalar @{ $p->{opened} }, 3, '… September to November 2026';
$p = preview_then_post('assignments (ended in September)', assignments => [ { %asg, end_date => '2026-09-30' } ]);
is rules_of($p->{resolved}), 'timesheet_missing', '… resolves October and November';
is scalar @{ $p->{resolved} }, 2, '… two of them';

my %dlg = (manager_id => 'E0102', delegate_id => 'E0103', start_date => '2026-07-20');
$p = preview_then_post('delegations (shortened)', delegations => [ { %dlg, end_date => '2026-07-25' } ]);
is rules_of($p->{opened}), 'authorisation_invalid', '… opens authorisation_invalid';
$p = preview_then_post('delegations (restored)', delegations => [ { %dlg, end_date => '2026-08-31' } ]);
is rules_of($p->{resolved}), 'authorisation_invalid', '… resolves it';

my %aziz = (person_id => 'E1012', name => 'Mohammed Aziz', email => 'm.aziz@example.ac.uk',
	line_manager_id => 'E0104', fte => 1, employment_start => '2023-09-01');
$p = preview_then_post('people (a leaver)', people => [ { %aziz, employment_end => '2026-10-31' } ]);
is rules_of($p->{resolved}), 'timesheet_missing', '… resolves November’s timesheet_missing';
$p = preview_then_post('people (stays after all)', people => [ { %aziz, employment_end => undef } ]);
is rules_of($p->{opened}), 'timesheet_missing', '… opens it again';

# CSV, with a reviewer token.
my $csv = "person_id,grant_ref,month,fte_fraction,hours\nE1003,EP/X012345/1,2026-10,0.9,\n";
$p = preview_then_post('charges as CSV, previewed by a reviewer', charges => $csv, type => 'text/csv',
	token => $reviewer);
cmp_ok scalar @{ $p->{opened} }, '>', 0, '… opens findings';

# Nothing touched: the preview opens and resolves nothing.
$p = preview_then_post('a batch that changes nothing', charges => [
	{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 0.8 } ]);
is_deeply [ @$p{qw(accepted created updated unchanged)} ], [ 1, 0, 0, 1 ], '… 1 unchanged';
is_deeply [ $p->{opened}, $p->{resolved} ], [ [], [] ], '… nothing opened or resolved';
like $p->{as_of}, qr/^\d{4}-\d\d-\d\d$/, '… as of a date';
{
	my (undef, undef, $res) = $d->req(POST => '/v1/charges?preview=true', token => $feed, body => [
		{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 0.8 } ]);
	like $res->{content}, qr/\A\{"preview":true,"as_of":"\d{4}-\d\d-\d\d","accepted":1,"created":0,"updated":0,"unchanged":1,"opened":\[\],"resolved":\[\]\}\z/,
		'… the reply’s members in docs/api.md’s order';
}

# Warnings (people the batch names that effortd does not know yet) come
# with the preview as with the real POST.
{
	my $before = stored_state();
	my ($s, $j) = $d->req(POST => '/v1/people?preview=true', token => $feed,
		body => [ { %aziz, line_manager_id => 'E0999' } ]);
	is $s, 200, 'a preview naming an unknown line manager: 200';
	is_deeply $j->{warnings}, [ { index => 0, field => 'line_manager_id',
		message => 'unknown person "E0999" (not in the people feed yet)' } ], '… with the warning';
	is_deeply stored_state(), $before, '… nothing stored';
}

# ---------------------------------------------------------------- refusals

{
	my $before = stored_state();
	my ($s, $j) = $d->req(POST => '/v1/charges?preview=true', token => $feed, body => [
		{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 1 },
		{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 0.5 } ]);
	is $s, 422, 'a preview of a batch the feed refuses: 422, as a real POST';
	is_deeply $j->{errors}, [ { index => 1, field => 'month', message => 'duplicates record 0 of this batch' } ],
		'… the same errors';
	is_deeply stored_state(), $before, '… nothing stored';

	($s, $j) = $d->req(POST => '/v1/people?preview=maybe', token => $feed, body => [ { %aziz } ]);
	is $s, 400, 'preview=maybe: 400';
	is $j->{error}, 'preview must be true or false', '… preview must be true or false';
	is_deeply $j->{errors}, [ { parameter => 'preview', message => 'preview must be true or false' } ],
		'… naming the parameter';
	($s, $j) = $d->req(POST => '/v1/people?preview=true&preview=true', token => $feed, body => [ { %aziz } ]);
	is $s, 400, 'preview twice: 400';
	is $j->{error}, 'query parameter "preview" given more than once', '… given more than once';
	($s, $j) = $d->req(POST => '/v1/people?dry_run=1', token => $feed, body => [ { %aziz } ]);
	is $s, 400, 'another parameter: 400';
	is $j->{error}, 'unknown query parameter "dry_run"; /v1/people takes preview', '… naming the one it takes';
	is_deeply stored_state(), $before, 'nothing stored by the refused requests';

	($s, $j) = $d->req(POST => '/v1/people?preview=false', token => $feed,
		body => [ { %aziz, name => 'M. Aziz' } ]);
	is $s, 200, 'preview=false: a real POST';
	is_deeply $j, { accepted => 1, created => 0, updated => 1, unchanged => 0 }, '… stored, as without it';
	is psql($db, q{SELECT name FROM people WHERE person_id = 'E1012'}), 'M. Aziz', '… the name changed';
}

# ---------------------------------------------------------------- locks

# In one transaction as effortd runs a preview: the merge, then
# ingest_preview.  No advisory lock is held (not the audit trail's, not the
# sweep's); what a real feed's COMMIT would do next (the deferred audit
# trail flush, fired here by SET CONSTRAINTS) takes the audit trail's.
{
	my $before = stored_state();
	my @rows = psql($db, q{
		BEGIN;
		SELECT jsonb_array_length(ingest_preview(ingest_charges(
			'[{"person_id": "E1002", "grant_ref": "EP/X012345/1", "month": "2026-09", "fte_fraction": 1}]',
			NULL), '{}') -> 'opened');
		SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
		SET CONSTRAINTS ALL IMMEDIATE;
		SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
		   AND ((classid::bigint << 32) | objid::bigint) = 7046372004;
		ROLLBACK;
	});
	is join(' ', map { split /\s+/, $_->[0] } @rows), '1 0 1',
		'merge and ingest_preview hold no advisory lock; the commit’s audit trail flush would take its lock';
	my $after = stored_state();
	is $after->{'audit_log next id'}, $before->{'audit_log next id'} + 1,
		'… and draw the audit trail’s ids (which a preview never does: checked after each above)';
	delete $_->{'audit_log next id'} for $before, $after;
	is_deeply $after, $before, '… nothing stored';
}

# ---------------------------------------------------------------- roles

{
	my $before = stored_state();
	for my $f (qw(people grants assignments charges delegations timesheets)) {
		my ($s, $j) = $d->req(POST => "/v1/$f?preview=true", token => $reviewer, body => []);
		is $s, 200, "a reviewer previewing $f: 200";
		($s, $j) = $d->req(POST => "/v1/$f", token => $reviewer, body => []);
		is $s, 403, "a reviewer POSTing $f for real: 403";
		is $j->{error}, 'this needs a feed or admin token', '… this needs a feed or admin token';
		($s, $j) = $d->req(POST => "/v1/$f?preview=false", token => $reviewer, body => []);
		is $s, 403, "… also with preview=false";
		($s, $j) = $d->req(POST => "/v1/$f?preview=true", token => $d->token('manager', 'E0001'), body => []);
		is $s, 403, "a manager previewing $f: 403";
		is $j->{error}, 'this needs a feed, reviewer or admin token', '… naming the roles that may preview';
	}
	my ($s, $j) = $d->req(POST => '/v1/people?preview=true', token => $d->token('admin'), body => [ { %aziz } ]);
	is $s, 200, 'an admin previewing: 200';
	is_deeply stored_state(), $before, 'nothing stored by any of them';
}

# ---------------------------------------------------------------- beside a real feed

# A batch big enough to take a while: 100 people on the EP grant, 24
# months of charges each (2,400 records, the same rows in both batches).
{
	my @people = map { { person_id => sprintf('P%04d', $_), name => "Person $_", fte => 1,
		employment_start => '2020-01-06', line_manager_id => 'E0101' } } 1 .. 100;
	my ($s) = post_feed($d, people => \@people);
	is $s, 200, 'setup: 100 more people';
	($s) = post_feed($d, assignments => [ map { { person_id => $_->{person_id}, grant_ref => 'EP/X012345/1',
		role => 'researcher', cost_type => 'DI', start_date => '2025-01-01', end_date => '2026-12-31',
		fte_share => 1 } } @people ]);
	is $s, 200, 'setup: their assignments';
	my $charges = sub {
		my ($fte) = @_;
		return [ map { my $p = $_->{person_id};
			map { { person_id => $p, grant_ref => 'EP/X012345/1',
				month => sprintf('%04d-%02d', 2025 + int(($_ - 1) / 12), ($_ - 1) % 12 + 1),
				fte_fraction => $fte } } 1 .. 24 } @people ];
	};
	($s) = post_feed($d, charges => $charges->(0.5));
	is $s, 200, 'setup: 2,400 charges';

	# Runs the first request in a child and, once it is under way, the
	# second here; returns both (status, seconds) and the second's reply.
	my $side_by_side = sub {
		my ($first_path, $first_body, $second_body) = @_;
		my $out = "$EffortTest::TMP/preview-side-$$.json";
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			my $t0 = time;
			my ($s1) = $d->req(POST => $first_path, token => $feed, body => $first_body, timeout => 120);
			spew($out, json_encode([ $s1, $t0, time ]));
			POSIX::_exit(0);
		}
		select undef, undef, undef, 0.05;
		my $t0 = time;
		my ($s2, $j2) = $d->req(POST => '/v1/charges', token => $feed, body => $second_body, timeout => 120);
		my $t2 = time;
		waitpid $pid, 0;
		my $first = json_decode(EffortTest::slurp($out));
		unlink $out;
		ok $first->[2] > $t0 && $first->[1] < $t2, '… the two requests ran at the same time';
		return ($first, [ $s2, $t2 - $t0 ], $j2);
	};

	my (@behind_preview, @behind_real);
	for my $round (1 .. 3) {
		my ($first, $second, $j) = $side_by_side->('/v1/charges?preview=true', $charges->(0.6), $charges->(0.7));
		is $first->[0], 200, "round $round: the preview beside a real feed: 200";
		is $second->[0], 200, "round $round: the real feed beside the preview: 200";
		is $j->{updated}, 2400, '… all 2,400 updated';
		is psql($db, q{SELECT count(*) FROM charges WHERE person_id LIKE 'P%' AND fte_fraction = 0.7}), 2400,
			'… and stored (the preview’s 0.6 nowhere)';
		push @behind_preview, $second->[1];
		($first, $second, $j) = $side_by_side->('/v1/charges', $charges->(0.6), $charges->(0.5));
		is $first->[0], 200, "round $round: a real feed of the same size first: 200";
		is $second->[0], 200, "round $round: the real feed behind it: 200";
		push @behind_real, $second->[1];
	}
	@behind_preview = sort { $a <=> $b } @behind_preview;
	@behind_real = sort { $a <=> $b } @behind_real;
	my ($med_p, $med_r) = ($behind_preview[1], $behind_real[1]);
	diag sprintf('a real feed of 2,400 charges beside a preview of 2,400: %.3f s (median of 3); '
		. 'beside a real feed of 2,400: %.3f s', $med_p, $med_r);
	cmp_ok $med_p, "<=", $med_r * 2 + 0.5,
		'a real feed waits no longer behind a preview than behind a real feed of the same size (at most twice as long + 0.5 s: the machine is shared)';
}

# ---------------------------------------------------------------- effortctl

{
	my $dir = $EffortTest::TMP;
	spew("$dir/preview-bad.json", json_encode([
		{ person_id => 'E1002', grant_ref => 'EP/X012345/1', month => '2026-09', fte_fraction => 1 } ]));
	spew("$dir/preview-ok.csv", "person_id,grant_ref,month,fte_fraction,hours\nE1002,EP/X012345/1,2026-09,0.8,\n");
	my $before = stored_state();
	my ($rc, $out, $err) = effortctl($d, { token => $feed }, 'ingest', '--preview', 'charges', "$dir/preview-bad.json");
	is $rc, 1, 'effortctl ingest --preview of a batch that opens a violation: exit 1' or diag $err;
	like $out, qr/^preview, nothing stored: accepted 1: would create 0, update 1, leave 0 unchanged\n\n/,
		'… the counts first';
	like $out, qr/^CHANGE\s+RULE\s+SEVERITY\s+PERSON\s+GRANT\s+START\s+END\s+HOURS\s+DETAIL\s*$/m, '… a table';
	like $out, qr/^opened\s+unevidenced_charge\s+violation\s+E1002\s+EP\/X012345\/1\s+2026-09-01\s+2026-09-30\s+33\.00\s+September 2026: 165\.00 h charged to EP\/X012345\/1, 132\.00 h recorded\s*$/m,
		'… the opened finding with its hours and detail';
	like $out, qr/^as of \d{4}-\d\d-\d\d: would open 1 finding \(1 violation\), resolve 0\n\z/m, '… and the totals';
	is_deeply stored_state(), $before, '… nothing stored';

	($rc, $out, $err) = effortctl($d, { token => $reviewer }, 'ingest', '--preview', 'charges', "$dir/preview-ok.csv");
	is $rc, 0, 'effortctl ingest --preview of a batch that opens nothing (a reviewer token): exit 0' or diag $err;
	my $as_of = qr/\d{4}-\d\d-\d\d/;
	like $out, qr/\Apreview, nothing stored: accepted 1: would create 0, update 0, leave 1 unchanged\nas of $as_of: would open 0 findings \(0 violations\), resolve 0\n\z/,
		'… the counts and the totals, no table';

	spew("$dir/preview-warnings.json", json_encode([ { person_id => 'E0003', grant_ref => 'BB/Z501234/1',
		role => 'researcher', cost_type => 'DI', start_date => '2026-10-01', end_date => '2027-03-31',
		fte_share => 0.2 } ]));
	($rc, $out, $err) = effortctl($d, { token => $feed }, 'ingest', '--preview', 'assignments',
		"$dir/preview-warnings.json");
	is $rc, 0, 'effortctl ingest --preview of a batch that opens only warnings: exit 0' or diag $err;
	my @opened = $out =~ /^opened\s+timesheet_missing\s+warning\s+E0003\s+-\s+(\S+)\s/mg;
	is_deeply \@opened, [ '2026-10-01', '2026-11-01' ], '… the two warnings listed (October, November 2026)';
	like $out, qr/^as of $as_of: would open 2 findings \(0 violations\), resolve 0\n\z/m, '… no violation';

	spew("$dir/preview-unknown.json", json_encode([ { %aziz, line_manager_id => 'E0999' } ]));
	($rc, $out, $err) = effortctl($d, { token => $feed }, 'ingest', '--preview', 'people', "$dir/preview-unknown.json");
	is $err, qq{$dir/preview-unknown.json: record 0: warning: line_manager_id: unknown person "E0999" (not in the people feed yet)\n},
		'effortctl ingest --preview prints the warnings on standard error';

	($rc, $out) = effortctl($d, { token => $feed }, '--format', 'csv', 'ingest', '--preview', 'charges',
		"$dir/preview-bad.json");
	is $rc, 1, 'effortctl --format csv ingest --preview: exit 1';
	like $out, qr/\Achange,rule,severity,person_id,grant_ref,period_start,period_end,hours,detail\r?\nopened,unevidenced_charge,violation,E1002,EP\/X012345\/1,2026-09-01,2026-09-30,33(\.00)?,/,
		'… the table as CSV';

	($rc, $out, $err) = effortctl($d, { token => $feed }, 'ingest', '--help');
	like $out, qr/--preview/, 'ingest --help documents --preview';
	like $out, qr/^  1  --preview: it would open at least one violation$/m, "… and its exit status 1";
	is_deeply stored_state(), $before, 'nothing stored by effortctl --preview';

	($rc, $out, $err) = effortctl($d, { token => $d->token('manager', 'E0001') }, 'ingest', '--preview', 'charges',
		"$dir/preview-ok.csv");
	is $rc, 3, 'effortctl ingest --preview with a manager token: exit 3';
}

done_testing;
