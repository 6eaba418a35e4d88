# Approvals end to end: approve/reject happy paths, every refusal with its
# status code (not their staff 403, self 403, period not ended 409,
# superseded 409, already authorised 409, rejected 409, submitted_at still
# to come 409), delegation inside and outside its dates (POST
# /v1/me/delegations and effortctl delegate),
# the pending queue (GET /v1/pending, effortctl pending), and an amendment
# after approval leaving the new version unauthorised and reported by the
# audit engine.  Months are computed from today: P1 is last month, P3 three
# months ago (its deadline, the end of P1, has passed).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode effortctl month_ago clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $d = start_effortd(db => $db);

my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my ($P0, $P1, $P2, $P3) = map { month_ago($db, $_) } 0 .. 3;
note "today $today; P1 $P1->{start}, P3 $P3->{start} (deadline $P3->{deadline})";

my $submitted = psql($db, q{SELECT to_char((now() - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
sub ts {
	my ($p, $m, $hours, %x) = @_;
	return { person_id => $p, period_start => $m->{start}, period_end => $m->{end},
		submitted_at => $submitted,
		entries => [ { kind => 'research', activity => 'research', hours => $hours } ], %x };
}
sub ok_feed {
	my ($feed, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $feed => $body);
	is $s, 200, $name or diag json_encode($j);
}
sub ts_id {
	my ($p, $m, $v) = @_;
	return scalar psql($db, "SELECT timesheet_id FROM timesheets WHERE person_id = '$p'
		AND period_start = '$m->{start}'" . ($v ? " AND version = $v" : ' ORDER BY version DESC LIMIT 1'));
}

ok_feed(people => [
	{ person_id => 'AM', name => 'Ann Manager', email => 'am@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'BM', name => 'Bob Manager', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'DD', name => 'Dee Delegate', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'S1', name => 'Sam One', line_manager_id => 'AM', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'S2', name => 'Sue Two', line_manager_id => 'AM', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'S3', name => 'Sid Three', line_manager_id => 'BM', fte => 1, employment_start => '2015-01-01' },
], 'setup: people');
ok_feed(timesheets => [ ts('S1', $P1, 150), ts('S1', $P0, 40), ts('S1', $P3, 160), ts('S2', $P1, 150),
	ts('S2', $P2, 150), ts('S3', $P1, 150), ts('S3', $P2, 150), ts('AM', $P1, 150) ], 'setup: timesheets');

my $am = $d->token('manager', 'AM');
my $bm = $d->token('manager', 'BM');
my $dd = $d->token('manager', 'DD');
sub decide {
	my ($token, $id, $what, $body) = @_;
	return $d->req(POST => "/v1/timesheets/$id/$what", token => $token, defined $body ? (body => $body) : ());
}

# ---------------------------------------------------------------- the queue
{
	my ($s, $j) = $d->req(GET => '/v1/pending', token => $am);
	is $s, 200, 'GET /v1/pending as AM: 200';
	is_deeply [ map { [ $_->{person_id}, $_->{period_start}, $_->{deadline}, $_->{days_left}, $_->{overdue} ? 1 : 0, $_->{via} ] } @{ $j->{pending} } ],
		[ [ 'S1', $P3->{start}, $P3->{deadline}, $P3->{days_left}, 1, 'line_manager' ],
		  [ 'S2', $P2->{start}, $P2->{deadline}, $P2->{days_left}, 0, 'line_manager' ],
		  [ 'S1', $P1->{start}, $P1->{deadline}, $P1->{days_left}, 0, 'line_manager' ],
		  [ 'S2', $P1->{start}, $P1->{deadline}, $P1->{days_left}, 0, 'line_manager' ] ],
		"AM's queue: their staff's ended, undecided timesheets, soonest deadline first (not this month's, not AM's own, not BM's staff)";
	is $j->{pending}[0]{total_hours}, 160, '… with total hours';
	($s) = $d->req(GET => '/v1/pending', token => $d->token('reviewer'));
	is $s, 403, 'GET /v1/pending as a reviewer: 403';
	my ($rc, $out) = effortctl($d, { token => $am }, 'pending');
	is $rc, 0, 'effortctl pending: exit 0';
	like $out, qr/^\s*ID\s+PERSON\s+NAME\s+START\s+END\s+HOURS\s+CONTRACTED\s+DEADLINE\s+DAYS_LEFT\s+FINDINGS/m, '… a table with the columns';
	like $out, qr/^\s*\d+\s+S1\s+Sam One\s+\Q$P3->{start}\E\s+\Q$P3->{end}\E\s+160\.00\s+[\d.]+\s+\Q$P3->{deadline}\E\s+$P3->{days_left}\s+OVERDUE\s/m,
		'… the overdue one marked OVERDUE with its negative days left';
	unlike $out, qr/S2.*OVERDUE/, '… the others not';
	($rc, $out) = effortctl($d, { token => $bm }, '--format', 'csv', 'pending');
	is $rc, 0, 'effortctl --format csv pending: exit 0';
	like $out, qr/^id,person_id,name,period_start,period_end,total_hours,contracted_hours,deadline,days_left,mark,open_findings\r?\n/, '… CSV header';
}

# ---------------------------------------------------------------- refusals
my ($s, $j) = decide($am, ts_id('S3', $P1), 'approve');
is $s, 403, "AM approving BM's staff: 403";
is $j->{error}, "you are not the line manager of this timesheet's owner, nor an active delegate of their manager",
	'… saying so without naming anyone';
($s, $j) = decide($am, ts_id('AM', $P1), 'approve');
is $s, 403, 'AM approving their own timesheet: 403';
like $j->{error}, qr/your own timesheet/, '… saying so';
($s, $j) = decide($am, ts_id('S1', $P0), 'approve');
is $s, 409, "approving this month's timesheet (period not ended): 409";
like $j->{error}, qr/the period ends on \Q$P0->{end}\E/, '… saying when it ends';
($s, $j) = decide($am, 999999, 'approve');
is $s, 404, 'approving a timesheet that does not exist: 404';
is psql($db, 'SELECT count(*) FROM timesheet_decisions'), 0, 'no refusal recorded anything';

# ---------------------------------------------------------------- approve, then again
my $s1p1 = ts_id('S1', $P1);
($s, $j) = decide($am, $s1p1, 'approve');
is $s, 200, 'AM approves S1\'s last month: 200' or diag json_encode($j);
is $j->{timesheet}{status}, 'authorised', '… status authorised';
is $j->{timesheet}{authorised_by}, 'AM', '… by AM';
($s, $j) = decide($am, $s1p1, 'approve');
is $s, 409, 'approving it again: 409';
like $j->{error}, qr/already authorised by AM/, '… already authorised by AM';
($s, $j) = decide($am, $s1p1, 'reject', { reason => 'changed my mind' });
is $s, 409, 'rejecting an authorised timesheet: 409';

# ---------------------------------------------------------------- superseded
my $v1 = ts_id('S2', $P1, 1);
ok_feed(timesheets => [ ts('S2', $P1, 155) ], 'S2 sends a second version of last month');
my $v2 = ts_id('S2', $P1, 2);
($s, $j) = decide($am, $v1, 'approve');
is $s, 409, 'approving the superseded version 1: 409';
like $j->{error}, qr/version 1 is superseded by version 2 \(timesheet $v2\)/, '… naming the current version';
($s, $j) = decide($am, $v2, 'approve');
is $s, 200, 'approving version 2: 200';

# ---------------------------------------------------------------- reject
my $s2p2 = ts_id('S2', $P2);
($s, $j) = decide($am, $s2p2, 'reject', {});
is $s, 422, 'rejecting without a reason: 422';
is $j->{errors}[0]{field}, 'reason', '… on reason';
for my $bad ([ 5, 'must be a string' ], [ [ 'x' ], 'must be a string' ], [ undef, 'is required' ], [ " \t", 'is required' ]) {
	($s, $j) = decide($am, $s2p2, 'reject', { reason => $bad->[0] });
	is_deeply [ $s, $j->{errors} ], [ 422, [ { field => 'reason', message => $bad->[1] } ] ],
		'a reason of ' . json_encode($bad->[0]) . ": 422 $bad->[1]" or diag json_encode($j);
}
($s, $j) = decide($am, $s2p2, 'reject', { reason => 'teaching hours missing' });
is $s, 200, 'AM rejects S2\'s P2 with a reason: 200';
is $j->{timesheet}{status}, 'rejected', '… status rejected';
is $j->{timesheet}{rejected_reason}, 'teaching hours missing', '… with the reason';
($s, $j) = decide($am, $s2p2, 'approve');
is $s, 409, 'approving a rejected timesheet: 409';
like $j->{error}, qr/^rejected by AM; it waits for a new version$/, '… it waits for a new version';
($s, $j) = decide($am, $s2p2, 'reject', { reason => 'again' });
is $s, 409, 'rejecting it again: 409';
ok_feed(timesheets => [ ts('S2', $P2, 162.5) ], 'S2 sends a corrected version');
($s, $j) = decide($am, ts_id('S2', $P2), 'approve');
is $s, 200, 'the new version can be approved: 200';

# ---------------------------------------------------------------- effortctl approve / reject
{
	my $id = ts_id('S3', $P1);
	my ($rc, $out, $err) = effortctl($d, { token => $am }, 'approve', '--yes', $id);
	is $rc, 3, "effortctl approve of another manager's staff: exit 3";
	like $err, qr/not the line manager/, '… with the server\'s message';
	($rc, $out) = effortctl($d, { token => $bm }, 'approve', '--yes', $id);
	is $rc, 0, 'effortctl approve --yes by BM: exit 0';
	is $out, "approved timesheet $id\n", '… says so';
	($rc, $out, $err) = effortctl($d, { token => $bm }, 'reject', ts_id('S3', $P2), '--reason', 'wrong grant');
	is $rc, 0, 'effortctl reject --reason: exit 0';
	is psql($db, "SELECT decision || ' ' || reason FROM timesheet_decisions WHERE timesheet_id = " . ts_id('S3', $P2)),
		'rejected wrong grant', '… recorded with the reason';
}

# ---------------------------------------------------------------- delegation inside and outside its dates
ok_feed(timesheets => [ ts('S3', $P2, 151) ], 'S3 sends a new P2 version after the rejection');
my $s3p2 = ts_id('S3', $P2);
my ($yesterday, $ago30, $in30, $tomorrow) = map { scalar psql($db, "SELECT DATE '$today' + $_") } -1, -30, 30, 1;
($s, $j) = decide($dd, $s3p2, 'approve');
is $s, 403, 'DD (no delegation) approving S3: 403';
# A manager's own delegation cannot be back-dated (RULES.md, second edition).
($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm,
	body => { delegate_id => 'DD', start_date => $ago30, end_date => $yesterday });
is $s, 422, 'BM delegates to DD for a period that ended yesterday: 422' or diag json_encode($j);
is_deeply [ map { $_->{field} } @{ $j->{errors} // [] } ], [ 'start_date' ], '… on start_date';
is psql($db, q{SELECT count(*) FROM delegations WHERE delegate_id = 'DD'}), 0, '… nothing stored';
($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm,
	body => { delegate_id => 'DD', start_date => $tomorrow, end_date => $in30 });
is $s, 200, 'BM delegates to DD from tomorrow: 200' or diag json_encode($j);
is_deeply $j->{delegation}, { manager_id => 'BM', delegate_id => 'DD', start_date => $tomorrow, end_date => $in30 },
	'… the delegation as stored';
($s, $j) = decide($dd, $s3p2, 'approve');
is $s, 403, 'DD approving S3 outside the delegation\'s dates: 403';
{
	my ($ps, $pj) = $d->req(GET => '/v1/pending', token => $dd);
	is_deeply $pj->{pending}, [], "… and DD's queue is empty";
}
my ($rc, $out, $err) = effortctl($d, { token => $bm }, 'delegate', '--to', 'DD', '--from', $today, '--until', $in30);
is $rc, 0, 'effortctl delegate --to DD --from today --until +30: exit 0' or diag $err;
is $out, "delegated to DD from $today until $in30\n", '… says so';
{
	my ($ps, $pj) = $d->req(GET => '/v1/pending', token => $dd);
	is_deeply [ map { [ $_->{id}, $_->{via} ] } @{ $pj->{pending} } ], [ [ $s3p2, 'delegation' ] ],
		"DD's queue now has S3's timesheet, via the delegation";
}
($s, $j) = decide($dd, $s3p2, 'approve');
is $s, 200, 'DD approving S3 inside the delegation: 200';
is $j->{timesheet}{authorised_by}, 'DD', '… authorised by DD';
($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm, body => { delegate_id => 'BM', start_date => $today, end_date => $in30 });
is $s, 422, 'delegating to oneself: 422';
($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm, body => { delegate_id => 'XX', start_date => $today, end_date => $in30 });
is $s, 422, 'delegating to an unknown person: 422';
like $j->{error}, qr/unknown person "XX"/, '… saying so';
($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm, body => { delegate_id => 'DD', start_date => 'soon', end_date => $in30 });
is $s, 422, 'a delegation with a bad date: 422';
is $j->{errors}[0]{field}, 'start_date', '… on start_date';
($s, $j) = $d->req(POST => '/v1/me/delegations', token => $bm, body => { delegate_id => 'DD', start_date => $in30, end_date => $today });
is $s, 422, 'a delegation ending before it starts: 422';
($s) = $d->req(POST => '/v1/me/delegations', token => $d->token('feed'), body => { delegate_id => 'DD', start_date => $today, end_date => $in30 });
is $s, 403, 'a feed token on /v1/me/delegations: 403';

# ---------------------------------------------------------------- an amendment after approval
my $s1p3 = ts_id('S1', $P3);
($s, $j) = decide($am, $s1p3, 'approve');
is $s, 200, 'AM approves S1\'s P3 (late)';
sub rules_for {
	my ($p, $m) = @_;
	my ($st, $jj) = $d->req(GET => '/v1/violations', token => $d->token('reviewer'), query => { person_id => $p });
	return [ map { "$_->{rule} $_->{severity}" } grep { $_->{period_start} eq $m->{start} && $_->{rule} =~ /^authorisation/ } @{ $jj->{violations} } ];
}
is_deeply rules_for('S1', $P3), [ 'authorisation_late violation' ], 'the audit engine: authorisation_late';
{
	my ($fs, $fj) = post_feed($d, timesheets => [ ts('S1', $P3, 165) ]);
	is $fs, 422, 'amending the authorised timesheet without amendment_reason: 422';
}
ok_feed(timesheets => [ ts('S1', $P3, 165, amendment_reason => 'forgot a day') ], 'S1 amends P3 with a reason');
my $s1p3v2 = ts_id('S1', $P3);
isnt $s1p3v2, $s1p3, 'a new version';
($s, $j) = $d->req(GET => "/v1/timesheets/$s1p3v2/versions", token => $am);
is_deeply [ map { [ $_->{version}, $_->{status} ] } @{ $j->{versions} } ], [ [ 1, 'authorised' ], [ 2, 'submitted' ] ],
	'version 1 stays authorised, version 2 is unauthorised';
is_deeply rules_for('S1', $P3), [ 'authorisation_overdue violation' ],
	'the audit engine reports the new version: authorisation_overdue (the deadline has passed)';
# P1 of S1 was approved in time; amend it too: due or nothing, by the deadline.
ok_feed(timesheets => [ ts('S1', $P1, 151, amendment_reason => 'sick day') ], 'S1 amends last month with a reason');
is_deeply rules_for('S1', $P1), $P1->{days_left} <= 14 ? [ 'authorisation_due warning' ] : [],
	"last month's new version: authorisation_due only within 14 days of its deadline ($P1->{days_left} days left)";
{
	my ($ps, $pj) = $d->req(GET => '/v1/pending', token => $am);
	my ($row) = grep { $_->{id} == $s1p3v2 } @{ $pj->{pending} };
	ok $row && $row->{overdue}, "the amended version is back in AM's queue, overdue";
}
($rc, $out) = effortctl($d, { token => $am }, 'timesheet', $s1p3v2);
is $rc, 0, 'effortctl timesheet ID: exit 0';
like $out, qr/Version 1 \(authorised\).*Version 2 \(submitted\)/s, '… shows both versions';
like $out, qr/Amendment reason: forgot a day/, '… and the amendment reason';


# ---------------------------------------------------------------- submitted ahead of the clock
# A feed may send submitted_at up to a day ahead of effortd's clock (clock
# skew); authorised now, the authorisation would be timestamped before the
# submission (authorisation_invalid), so the approval waits for it (409).
# Rejecting it is allowed.
ok_feed(people => [ { person_id => 'S4', name => 'Sol Four', line_manager_id => 'AM', fte => 1,
	employment_start => '2015-01-01' } ], 'S4, managed by AM');
{
	my $ahead = psql($db, q{SELECT to_char((now() + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
	ok_feed(timesheets => [ ts('S4', $P1, 150, submitted_at => $ahead) ], "S4's last month, submitted_at an hour ahead");
	my $id = ts_id('S4', $P1);
	($s, $j) = decide($am, $id, 'approve');
	is $s, 409, 'approving it before its submitted_at: 409';
	is $j->{error}, "it was submitted at $ahead, after this moment; it cannot be authorised before then",
		'… saying when it was submitted';
	is psql($db, "SELECT count(*) FROM timesheet_decisions WHERE timesheet_id = $id"), 0, '… and nothing recorded';
	($s, $j) = $d->req(POST => '/v1/approvals', token => $am, body => { timesheet_ids => [ 0 + $id ] });
	is $s, 200, 'POST /v1/approvals with it: 200' or diag "$s " . json_encode($j);
	is_deeply [ map { [ $_->{id}, $_->{http_status} ] } @{ $j->{refused} } ], [ [ $id, 409 ] ], '… refused there too, 409';
	($s, $j) = decide($am, $id, 'reject', { reason => 'wrong month' });
	is $s, 200, 'rejecting it: 200' or diag json_encode($j);
}

done_testing;
