# Evidence that cannot be bent (RULES.md, "Clarifications (second
# edition)"), the data half: numbers stored exactly, text that is UTF-8
# without NUL or control characters (and addresses that look like ones), no
# line manager means nobody may authorise, the five version rules of POST
# /v1/timesheets (with the sample's E1001 and with a fresh timesheet), and
# delegations that count from when they were recorded.  Every refusal is
# checked for its status, record, field and that nothing was stored.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed load_sample slurp sample_file json_encode clear_of_midnight);

my $db = new_db();
clear_of_midnight($db, 300);
my $d = start_effortd(db => $db);
my $reviewer = $d->token('reviewer');

# [index or line, field] of each error of a 422.
sub errs {
	my ($j) = @_;
	return ref $j eq 'HASH' ? [ map { [ $_->{index} // $_->{line}, $_->{field} ] } @{ $j->{errors} // [] } ] : $j;
}
sub message { my ($j) = @_; ref $j eq 'HASH' ? $j->{errors}[0]{message} // '' : '' }
sub counts { my ($j) = @_; ref $j eq 'HASH' ? [ @$j{qw(accepted created updated unchanged)} ] : $j }

# The row counts of the tables the feeds and approvals write, in one query
# (row_counts of EffortTest, one psql for all).
sub stored {
	my ($dbx) = @_;
	return scalar psql($dbx, 'SELECT concat_ws(\' \', ' . join(', ', map { "(SELECT count(*) FROM $_)" }
		qw(people line_manager_history grants assignments charges delegations timesheets timesheet_entries
		   timesheet_decisions)) . ')');
}

# Posts a feed that must be refused: 422 with exactly the errors $want
# ([index or line, field]), the first message matching $like, nothing stored.
sub refused {
	my ($dd, $dbx, $name, $feed, $body, $want, $like, %o) = @_;
	my $before = stored($dbx);
	my ($s, $j) = post_feed($dd, $feed, $body, %o);
	is $s, 422, "$name: 422" or diag json_encode($j);
	is_deeply errs($j), $want, "$name: record and field" or diag json_encode($j);
	like message($j), $like, "$name: message" if defined $like;
	is stored($dbx), $before, "$name: nothing stored";
	return $j;
}
sub ok_feed {
	my ($dd, $feed, $body, $name, %o) = @_;
	my ($s, $j) = post_feed($dd, $feed, $body, %o);
	is $s, 200, "$name: 200" or diag json_encode($j);
	return $j;
}

# A UTC timestamp relative to now, e.g. utc('-1 day').
sub utc {
	my ($dbx, $delta) = @_;
	return scalar psql($dbx, qq{SELECT to_char(now() AT TIME ZONE 'UTC' + interval '$delta', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')});
}
my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my $tomorrow = psql($db, qq{SELECT DATE '$today' + 1});

# Findings as of a date other than today (evaluated on the fly):
# [rule, period_start, hours] of one person, optionally one rule.
sub findings {
	my ($dd, $as_of, $person, $rule) = @_;
	my ($s, $j) = $dd->req(GET => '/v1/violations', token => $dd->token('reviewer'),
		query => { as_of => $as_of, person_id => $person, $rule ? (rule => $rule) : () });
	return [ map { [ $_->{rule}, $_->{period_start}, sprintf('%.2f', $_->{hours}) ] } @{ $j->{violations} // [] } ];
}

ok_feed($d, people => [
	{ person_id => 'M0', name => 'Grace Hopper', email => 'g.hopper@example.org', fte => 1, employment_start => '2010-01-01' },
], 'setup: a manager');

# ================================================================ 1. stored exactly
refused($d, $db, 'JSON fte with 7 decimals', people => [
	{ person_id => 'P1', name => 'Ada', fte => 0.1234567, employment_start => '2024-01-01' } ],
	[ [ 0, 'fte' ] ], qr/^at most 6 decimals$/);
refused($d, $db, 'CSV fte with 7 decimals', people =>
	"person_id,name,fte,employment_start\nP1,Ada,0.6666667,2024-01-01\n",
	[ [ 2, 'fte' ] ], qr/^at most 6 decimals$/);
refused($d, $db, 'fte 0', people => [
	{ person_id => 'P1', name => 'Ada', fte => 0, employment_start => '2024-01-01' } ],
	[ [ 0, 'fte' ] ], qr/out of range \(more than 0 to 1\)/);
refused($d, $db, 'CSV fte_share with 7 decimals', assignments =>
	"person_id,grant_ref,role,cost_type,start_date,fte_share\nP1,G1,researcher,DI,2025-01-01,0.9999999\n",
	[ [ 2, 'fte_share' ] ], qr/^at most 6 decimals$/);
refused($d, $db, 'JSON fte_fraction with 7 decimals', charges => [
	{ person_id => 'P1', grant_ref => 'G1', month => '2025-01', fte_fraction => 0.5000001 } ],
	[ [ 0, 'fte_fraction' ] ], qr/^at most 6 decimals$/);
refused($d, $db, 'CSV charge hours with 3 decimals', charges =>
	"person_id,grant_ref,month,hours\nP1,G1,2025-01,10.125\n", [ [ 2, 'hours' ] ], qr/^at most 2 decimals$/);
refused($d, $db, 'JSON entry hours with 3 decimals', timesheets => [
	{ person_id => 'M0', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-01T09:00:00Z',
	  entries => [ { kind => 'research', activity => 'research', hours => 7.555 } ] } ],
	[ [ 0, 'entries[0].hours' ] ], qr/^at most 2 decimals$/);

# Stored as sent, from JSON and from CSV.
ok_feed($d, people => [
	{ person_id => 'P6', name => 'Two-thirds', line_manager_id => 'M0', fte => 0.6667, employment_start => '2024-01-01' },
	{ person_id => 'P7', name => 'Nearly full', line_manager_id => 'M0', fte => 1, employment_start => '2024-01-01' },
	{ person_id => 'P8', name => 'Full', line_manager_id => 'M0', fte => 1, employment_start => '2024-01-01' },
], 'people with fte 0.6667');
ok_feed($d, people => "person_id,name,line_manager_id,fte,employment_start\nP9,Sixth,M0,0.166667,2024-01-01\n", 'CSV fte 0.166667');
ok_feed($d, assignments => [
	{ person_id => 'P7', grant_ref => 'G1', role => 'researcher', cost_type => 'DI', start_date => '2025-01-01',
	  end_date => '2025-01-31', fte_share => 0.9999 },
	{ person_id => 'P8', grant_ref => 'G1', role => 'researcher', cost_type => 'DI', start_date => '2025-01-01',
	  end_date => '2025-01-31', fte_share => 1 },
	{ person_id => 'P9', grant_ref => 'G1', role => 'researcher', cost_type => 'DA', start_date => '2025-01-01',
	  end_date => '2025-01-31', fte_share => 0 },
], 'assignments with fte_share 0.9999, 1 and 0');
ok_feed($d, charges => "person_id,grant_ref,month,fte_fraction\nP6,G1,2025-01,0.50004\n", 'CSV fte_fraction 0.50004');
is_deeply [ psql($db, q{SELECT person_id, fte::text FROM people WHERE person_id IN ('P6', 'P9') ORDER BY 1}) ],
	[ [ 'P6', '0.6667' ], [ 'P9', '0.166667' ] ], 'fte stored exactly as sent';
is_deeply [ psql($db, q{SELECT person_id, fte_share::text FROM assignments ORDER BY 1}) ],
	[ [ 'P7', '0.9999' ], [ 'P8', '1' ], [ 'P9', '0' ] ], 'fte_share stored exactly as sent (0 allowed)';
is psql($db, q{SELECT fte_fraction::text FROM charges WHERE person_id = 'P6'}), '0.50004', 'fte_fraction stored exactly as sent';

# The findings use the exact figures: 0.6667 x 37.5 h x 23 weekdays / 5 =
# 115.005375 h contracted in January 2025 (0.667 would make 115.06); a
# share of 0.9999 is not the 100 % exemption from timesheets.
ok_feed($d, timesheets => [
	{ person_id => 'P6', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-01T09:00:00Z',
	  entries => [ { kind => 'research', activity => 'research', hours => 100 } ] } ], 'P6: 100 h in January 2025');
is_deeply findings($d, '2025-06-01', 'P6', 'hours_incomplete'), [ [ 'hours_incomplete', '2025-01-01', '15.01' ] ],
	'hours_incomplete from fte 0.6667: 15.01 h short';
is_deeply findings($d, '2025-06-01', 'P7', 'timesheet_missing'), [ [ 'timesheet_missing', '2025-01-01', '172.50' ] ],
	'fte_share 0.9999: timesheets are needed';
is_deeply findings($d, '2025-06-01', 'P8', 'timesheet_missing'), [], 'fte_share 1: exempt';

# ================================================================ 2. text
my $people_hdr = "person_id,name,email,fte,employment_start\n";
refused($d, $db, 'CSV email with a Latin-1 byte', people => "${people_hdr}T1,Ana,caf\xe9\@example.org,1,2024-01-01\n",
	[ [ 2, 'email' ] ], qr/^is not valid UTF-8 \(byte 0xe9 at offset 3\): the file looks like Latin-1 \(ISO-8859-1 or Windows-1252\); save it as UTF-8$/);
refused($d, $db, 'CSV name with a Latin-1 byte', people => "${people_hdr}T1,Jos\xe9,,1,2024-01-01\n",
	[ [ 2, 'name' ] ], qr/^is not valid UTF-8/);
refused($d, $db, 'CSV name with a NUL byte', people => "${people_hdr}T1,Ab\0cd,,1,2024-01-01\n",
	[ [ 2, 'name' ] ], qr/^contains a NUL character$/);
refused($d, $db, 'CSV date with a NUL byte', people => "${people_hdr}T1,Abe,,1,2024-01-01\0junk\n",
	[ [ 2, 'employment_start' ] ], qr/^contains a NUL character$/);
# (once: a cell that is no number is not also "is required")
refused($d, $db, 'CSV number with a NUL byte', people => "${people_hdr}T1,Abe,,1\0,2024-01-01\n",
	[ [ 2, 'fte' ] ], qr/^contains a NUL character$/);
refused($d, $db, 'CSV timesheet activity with an overlong UTF-8 form', timesheets =>
	"person_id,period_start,period_end,submitted_at,kind,activity,hours\n"
	. "M0,2025-01-01,2025-01-31,2025-02-01T09:00:00Z,research,a\xc0\xafb,10\n",
	[ [ 2, 'entries[0].activity' ] ], qr/^is not valid UTF-8 \(byte 0xc0 at offset 1\)$/);
refused($d, $db, 'CSV grant title with a CR', grants =>
	"grant_ref,title,start_date,end_date\nG7,\"a\rb\",2024-01-01,2025-01-01\n",
	[ [ 2, 'title' ] ], qr/^contains the control character 0x0d at offset 1$/);
{
	my $before = stored($db);
	my ($s, $j) = post_feed($d, people => qq{[{"person_id":"T1","name":"Jos\xe9","fte":1,"employment_start":"2024-01-01"}]},
		type => 'application/json');
	is $s, 400, 'JSON with a Latin-1 byte: 400 (unparseable)' or diag json_encode($j);
	like ref $j ? $j->{error} : $j, qr/^invalid JSON at line 1, column \d+: /, '… with line and column';
	is stored($db), $before, '… nothing stored';
}
refused($d, $db, 'JSON \u0000 in a name', people => [ { person_id => 'T1', name => "Ab\x{0}cd", fte => 1, employment_start => '2024-01-01' } ],
	[ [ 0, 'name' ] ], qr/^contains a NUL character$/);
refused($d, $db, 'JSON \u0000 in a date', people => [ { person_id => 'T1', name => 'Abe', fte => 1, employment_start => "2024-01-01\x{0}x" } ],
	[ [ 0, 'employment_start' ] ], qr/^contains a NUL character$/);
refused($d, $db, 'JSON \u0000 in an entry', timesheets => [
	{ person_id => 'M0', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-01T09:00:00Z',
	  entries => [ { kind => 'research', activity => "r\x{0}", hours => 10 } ] } ],
	[ [ 0, 'entries[0].activity' ] ], qr/^contains a NUL character$/);
refused($d, $db, 'JSON newline in a name', people => [ { person_id => 'T1', name => "Ada\nByron", fte => 1, employment_start => '2024-01-01' } ],
	[ [ 0, 'name' ] ], qr/^contains the control character 0x0a at offset 3$/);
refused($d, $db, 'JSON escape character in a reason', timesheets => [
	{ person_id => 'M0', period_start => '2025-01-01', period_end => '2025-01-31', submitted_at => '2025-02-01T09:00:00Z',
	  amendment_reason => "x\x{1b}[2J", entries => [ { kind => 'research', activity => 'r', hours => 10 } ] } ],
	[ [ 0, 'amendment_reason' ] ], qr/control character 0x1b/);
for my $bad ('no-at.example.org', 'two@@example.org', 'a@b@example.org', '@example.org', 'ann@', 'ann smith@example.org',
	"ann\t\@example.org", "ann\@example.org\r\nBcc: all\@example.org") {
	(my $shown = $bad) =~ s/([\r\n\t])/sprintf '\\x%02x', ord $1/ge;
	refused($d, $db, "email \"$shown\"", people => [ { person_id => 'T1', name => 'Abe', email => $bad, fte => 1,
		employment_start => '2024-01-01' } ], [ [ 0, 'email' ] ], qr/address|control character/);
}
ok_feed($d, people => [ { person_id => 'T2', name => "Zoë\tØrsted", email => 'zoë.ørsted@example.org', fte => 1,
	employment_start => '2024-01-01' } ], 'a tab in a name and UTF-8 in an address');
is psql($db, q{SELECT name || '|' || email FROM people WHERE person_id = 'T2'}), "Zoë\tØrsted|zoë.ørsted\@example.org",
	'… stored as sent';

# ================================================================ 3. no line manager
ok_feed($d, people => [
	{ person_id => 'LM', name => 'Line Manager', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'LD', name => 'HR delegate', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'NM', name => 'Soon unmanaged', line_manager_id => 'LM', fte => 1, employment_start => '2020-01-01' },
], 'setup: NM managed by LM');
ok_feed($d, delegations => [ { manager_id => 'LM', delegate_id => 'LD', start_date => '2026-01-01', end_date => '2027-12-31' } ],
	'setup: LM delegates to LD (HR feed)');
sub month_ts {
	my ($person, $m, $extra) = @_;
	my $end = psql($db, "SELECT (DATE '$m-01' + interval '1 month' - interval '1 day')::date");
	return { person_id => $person, period_start => "$m-01", period_end => $end, submitted_at => "${end}T16:30:00Z",
		entries => [ { kind => 'research', activity => 'research', hours => 100 } ], %{ $extra // {} } };
}
ok_feed($d, timesheets => [ month_ts('NM', '2026-07', { authorised_by => 'LM', authorised_at => '2026-08-03T09:00:00Z' }),
	month_ts('NM', '2026-08'), month_ts('NM', '2026-09'), month_ts('NM', '2026-10') ],
	'NM: July authorised by LM, August to October waiting');
ok_feed($d, people => [ { person_id => 'NM', name => 'Soon unmanaged', line_manager_id => undef, fte => 1,
	employment_start => '2020-01-01' } ], 'the people feed sets NM\'s line_manager_id to null');
{
	my $oct = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'NM' AND period_start = '2026-10-01'});
	my $before = stored($db);
	for my $who ('LM', 'LD') {
		my ($s, $j) = $d->req(POST => "/v1/timesheets/$oct/approve", token => $d->token('manager', $who));
		is $s, 403, "$who (the former manager / their delegate) approving NM: 403" or diag json_encode($j);
	}
	is stored($db), $before, '… nothing stored';
	my ($s, $j) = $d->req(GET => '/v1/pending', token => $d->token('manager', 'LM'));
	is_deeply [ map { $_->{person_id} } @{ $j->{pending} // [] } ], [], 'NM is in nobody\'s queue';
}
ok_feed($d, timesheets => [ month_ts('NM', '2026-08', { authorised_by => 'LM', authorised_at => '2026-09-03T09:00:00Z' }),
	month_ts('NM', '2026-09', { authorised_by => 'LM', authorised_at => utc($db, '1 minute') }) ],
	'the feed records authorisations by LM while NM has no line manager');
is_deeply [ map { $_->[1] } @{ findings($d, $tomorrow, 'NM', 'authorisation_invalid') } ], [ '2026-08-01', '2026-09-01' ],
	'both are authorisation_invalid (the former manager is not revived); July, recorded before, stays valid';

# ================================================================ 4. open-ended assignments
# (every rule's figures: tests/sql/rules_07_evidence.sql)
ok_feed($d, grants => [ { grant_ref => 'G5', title => 'Ended in March', start_date => '2024-01-01', end_date => '2025-03-31' } ],
	'setup: G5 ends on 31 March 2025');
ok_feed($d, people => [ { person_id => 'OE', name => 'Open ended', fte => 1, employment_start => '2020-01-01' } ], 'setup: OE');
ok_feed($d, assignments => [ { person_id => 'OE', grant_ref => 'G5', role => 'researcher', cost_type => 'DI',
	start_date => '2025-01-01', fte_share => 0.5 }, { person_id => 'OE', grant_ref => 'G6', role => 'researcher',
	cost_type => 'DI', start_date => '2025-06-01', end_date => '2025-06-30', fte_share => 0.5 } ],
	'OE on G5 without end_date (and on G6 in June)');
is_deeply [ map { $_->[1] } @{ findings($d, '2025-09-01', 'OE', 'timesheet_missing') } ],
	[ '2025-01-01', '2025-02-01', '2025-03-01', '2025-06-01' ],
	'timesheet_missing: the open-ended assignment ends with its grant (no April, May, July, August)';

# ================================================================ 5. versions (a fresh timesheet)
ok_feed($d, people => [
	{ person_id => 'FM', name => 'Fresh Manager', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'F1', name => 'Fresh', line_manager_id => 'FM', fte => 1, employment_start => '2020-01-01' },
], 'setup: F1 managed by FM');
my @e1 = ({ kind => 'research', activity => 'research', hours => 160 }, { kind => 'admin', activity => 'admin', hours => 12.5 });
my @e2 = ({ kind => 'research', activity => 'research', hours => 150 }, { kind => 'sick_leave', activity => 'sick_leave', hours => 22.5 });
my @e4 = ({ kind => 'research', activity => 'research', hours => 172.5 });
my $v1 = { person_id => 'F1', period_start => '2026-01-01', period_end => '2026-01-31', submitted_at => '2026-02-02T10:00:00Z',
	entries => \@e1, authorised_by => 'FM', authorised_at => '2026-02-05T10:00:00Z' };
my $v2 = { person_id => 'F1', period_start => '2026-01-01', period_end => '2026-01-31', submitted_at => '2026-02-10T10:00:00Z',
	entries => \@e2, amendment_reason => 'sick, not admin' };
sub f1 { [ psql($db, q{SELECT c.version, coalesce(c.decision, 'submitted'), (SELECT count(*) FROM timesheets
	WHERE person_id = 'F1') FROM current_timesheets c WHERE person_id = 'F1'}) ]->[0] }
is_deeply counts(ok_feed($d, timesheets => [$v1], 'F1 v1, authorised')), [ 1, 1, 0, 0 ], '… created';
is_deeply counts(ok_feed($d, timesheets => [$v2], 'F1 v2, amended')), [ 1, 0, 1, 0 ], '… updated';
# Rule 1.
is_deeply counts(ok_feed($d, timesheets => [$v1], 'rule 1: v1 re-sent as it was, with its authorisation')), [ 1, 0, 0, 1 ],
	'… unchanged';
is_deeply counts(ok_feed($d, timesheets => [ { %$v1, authorised_by => undef, authorised_at => undef } ],
	'rule 1: v1 re-sent without authorisation')), [ 1, 0, 0, 1 ], '… unchanged';
is_deeply f1(), [ 2, 'submitted', 2 ], '… v2 stays current and unauthorised; no new version';
is_deeply counts(ok_feed($d, timesheets => [ { %$v2, submitted_at => '2026-02-11T10:00:00Z' } ],
	'rule 1: v2\'s entries with a later submitted_at')), [ 1, 0, 0, 1 ], '… unchanged (no version for the same entries)';
is_deeply counts(ok_feed($d, timesheets => [ { %$v2, submitted_at => '2026-02-09T10:00:00Z' } ],
	'rule 1: v2\'s entries with an earlier submitted_at')), [ 1, 0, 0, 1 ], '… unchanged';
# Rule 2.
refused($d, $db, 'rule 2: other entries submitted before v2', timesheets => [ { %$v2, submitted_at => '2026-02-09T10:00:00Z',
	entries => \@e4 } ], [ [ 0, 'submitted_at' ] ], qr/^version 2, submitted 2026-02-10T10:00:00Z, is newer$/);
refused($d, $db, 'rule 2: v1 changed but sent with v1\'s submitted_at', timesheets => [ { %$v1, entries => \@e4,
	authorised_by => undef, authorised_at => undef } ], [ [ 0, 'submitted_at' ] ], qr/^version 2, submitted .* is newer$/);
# Rule 3.
refused($d, $db, 'rule 3: v1\'s entries later, with v1\'s authorisation', timesheets => [ { %$v1,
	submitted_at => '2026-02-12T10:00:00Z', amendment_reason => 'back' } ], [ [ 0, 'authorised_at' ] ],
	qr/^this authorisation is recorded for version 1; an amendment must be authorised afresh$/);
is_deeply counts(ok_feed($d, timesheets => [ { %$v1, submitted_at => '2026-02-12T10:00:00Z', authorised_by => undef,
	authorised_at => undef } ], 'a revert: v1\'s entries, submitted later, unauthorised')), [ 1, 0, 1, 0 ], '… version 3';
refused($d, $db, 'rule 3: v3 (= v1\'s entries) given v1\'s authorisation', timesheets => [ { %$v1,
	submitted_at => '2026-02-12T10:00:00Z' } ], [ [ 0, 'authorised_at' ] ], qr/recorded for version 1/);
is_deeply f1(), [ 3, 'submitted', 3 ], 'v3 current, unauthorised';
# Rule 4.
{
	my $v3id = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'F1' AND version = 3});
	my ($s, $j) = $d->req(POST => "/v1/timesheets/$v3id/reject", token => $d->token('manager', 'FM'),
		body => { reason => 'admin hours?' });
	is $s, 200, 'FM rejects v3' or diag json_encode($j);
}
refused($d, $db, 'rule 4: the feed authorises the rejected v3', timesheets => [ { %$v1, submitted_at => '2026-02-12T10:00:00Z',
	authorised_at => '2026-03-01T10:00:00Z' } ], [ [ 0, 'authorised_by' ] ],
	qr/^version 3 of this timesheet was rejected by FM at .*; a feed may not authorise it/);
is_deeply counts(ok_feed($d, timesheets => [ { %$v2, entries => \@e4, submitted_at => '2026-03-02T10:00:00Z' } ],
	'a new version answers the rejection')), [ 1, 0, 1, 0 ], '… version 4';
is_deeply f1(), [ 4, 'submitted', 4 ], '… which starts unauthorised';
# Rule 5.
my $v4 = { %$v2, entries => \@e4, submitted_at => '2026-03-02T10:00:00Z' };
refused($d, $db, 'rule 5: authorised_at two days ahead', timesheets => [ { %$v4, authorised_by => 'FM',
	authorised_at => utc($db, '2 days') } ], [ [ 0, 'authorised_at' ] ], qr/is more than one day after effortd received it/);
refused($d, $db, 'rule 5: submitted_at two days ahead', timesheets => [ { %$v4, entries => \@e1,
	submitted_at => utc($db, '2 days') } ], [ [ 0, 'submitted_at' ] ], qr/is more than one day after effortd received it/);
is_deeply counts(ok_feed($d, timesheets => [ { %$v4, authorised_by => 'FM', authorised_at => utc($db, '1 hour') } ],
	'rule 1/5: v4 authorised an hour ahead (clock skew)')), [ 1, 0, 1, 0 ], '… the authorisation recorded (updated)';
is_deeply f1(), [ 4, 'authorised', 4 ], '… on v4, no new version';

# ================================================================ 6. delegations count from when they were recorded
ok_feed($d, people => [
	{ person_id => 'DM', name => 'Delegating Manager', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'DX', name => 'Self-service delegate', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'DF', name => 'HR delegate', fte => 1, employment_start => '2010-01-01' },
	{ person_id => 'DS', name => 'Staff', line_manager_id => 'DM', fte => 1, employment_start => '2020-01-01' },
], 'setup: DS managed by DM');
my $dm = $d->token('manager', 'DM');
for my $start ('2020-01-01', scalar psql($db, qq{SELECT DATE '$today' - 1})) {
	my $before = stored($db);
	my ($s, $j) = $d->req(POST => '/v1/me/delegations', token => $dm,
		body => { delegate_id => 'DX', start_date => $start, end_date => $tomorrow });
	is $s, 422, "a manager's delegation from $start: 422" or diag json_encode($j);
	is_deeply errs($j), [ [ undef, 'start_date' ] ], '… on start_date';
	like message($j), qr/^\Q$start\E is before today \(\Q$today\E\): a delegation cannot be back-dated$/, '… saying so';
	is stored($db), $before, '… nothing stored';
}
# DX authorises DS's October before DM delegates to DX (today): invalid,
# and the delegation made afterwards does not mend it.
ok_feed($d, timesheets => [ month_ts('DS', '2026-10', { authorised_by => 'DX', authorised_at => utc($db, '-1 second') }),
	month_ts('DS', '2026-09'), month_ts('DS', '2026-08', { authorised_by => 'DF', authorised_at => '2026-10-05T09:00:00Z' }) ],
	'DS: October authorised by DX, August by DF, neither a delegate yet');
is_deeply [ map { $_->[1] } @{ findings($d, $tomorrow, 'DS', 'authorisation_invalid') } ], [ '2026-08-01', '2026-10-01' ],
	'both authorisation_invalid';
{
	my ($s, $j) = $d->req(POST => '/v1/me/delegations', token => $dm,
		body => { delegate_id => 'DX', start_date => $today, end_date => $tomorrow });
	is $s, 200, 'DM delegates to DX from today: 200' or diag json_encode($j);
}
ok_feed($d, delegations => [ { manager_id => 'DM', delegate_id => 'DF', start_date => '2026-10-01', end_date => '2026-10-31' } ],
	'the HR feed records DF as DM\'s delegate for October');
ok_feed($d, timesheets => [ month_ts('DS', '2026-09', { authorised_by => 'DX', authorised_at => utc($db, '1 second') }) ],
	'DS: September authorised by DX after the delegation');
is_deeply [ map { $_->[1] } @{ findings($d, $tomorrow, 'DS', 'authorisation_invalid') } ], [ '2026-10-01' ],
	'October stays invalid (authorised before the delegation was recorded); August mended by the HR feed; September valid';

# ================================================================ 5. versions: the sample's E1001
{
	my $sdb = new_db();
	my $sd = start_effortd(db => $sdb);
	ok eval { load_sample($sd) }, 'sample: loads' or diag $@;
	my ($s, $j) = post_feed($sd, timesheets => slurp(sample_file('amendments', 'csv')));
	is $s, 200, 'sample: the amendment of E1001 December 2025 loads' or diag json_encode($j);
	my $e1001 = sub { [ psql($sdb, q{SELECT c.version, coalesce(c.decision, 'submitted'),
		(SELECT count(*) FROM timesheets WHERE person_id = 'E1001' AND period_start = '2025-12-01')
		FROM current_timesheets c WHERE person_id = 'E1001' AND period_start = '2025-12-01'}) ]->[0] };
	my $overdue = [ [ 'authorisation_overdue', '2025-12-01', '172.50' ] ];
	is_deeply findings($sd, '2026-10-01', 'E1001', 'authorisation_overdue'), $overdue, 'sample: E1001 December overdue';
	my $n = psql($sdb, 'SELECT count(*) FROM timesheets');
	($s, $j) = post_feed($sd, timesheets => slurp(sample_file('timesheets', 'json')), type => 'application/json');
	is $s, 200, 'rule 1: sample/timesheets.json re-sent: 200' or diag json_encode($j);
	is_deeply [ @$j{qw(created updated)} ], [ 0, 0 ], '… nothing created or updated';
	is $j->{unchanged}, $j->{accepted}, '… every record unchanged';
	is psql($sdb, 'SELECT count(*) FROM timesheets'), $n, '… no new version';
	is_deeply $e1001->(), [ 2, 'submitted', 2 ], '… the amendment (version 2) stays current, unauthorised';
	is_deeply findings($sd, '2026-10-01', 'E1001', 'authorisation_overdue'), $overdue, '… its authorisation_overdue stays';
	($s, $j) = post_feed($sd, timesheets => slurp(sample_file('amendments', 'csv')));
	is_deeply counts($j), [ 1, 0, 0, 1 ], 'rule 1: the amendment re-sent: unchanged';

	my ($v1s) = grep { $_->{person_id} eq 'E1001' && $_->{period_start} eq '2025-12-01' }
		@{ EffortTest::json_decode(slurp(sample_file('timesheets', 'json'))) };
	my @amended = ({ kind => 'grant', activity => 'EP/X012345/1', hours => 120 },
		{ kind => 'annual_leave', activity => 'annual_leave', hours => 22.5 },
		{ kind => 'public_holiday', activity => 'public_holiday', hours => 15 },
		{ kind => 'sick_leave', activity => 'sick_leave', hours => 15 });
	refused($sd, $sdb, 'E1001 rule 2: other entries submitted before version 2', timesheets => [ { %$v1s,
		authorised_by => undef, authorised_at => undef, entries => [ { kind => 'grant', activity => 'EP/X012345/1', hours => 172.5 } ],
		submitted_at => '2026-01-15T10:00:00Z' } ], [ [ 0, 'submitted_at' ] ],
		qr/^version 2, submitted 2026-02-10T11:00:00Z, is newer$/);
	refused($sd, $sdb, 'E1001 rule 3: version 1 with its authorisation, submitted later', timesheets => [ { %$v1s,
		submitted_at => '2026-02-20T10:00:00Z', amendment_reason => 'back to version 1' } ], [ [ 0, 'authorised_at' ] ],
		qr/recorded for version 1/);
	refused($sd, $sdb, 'E1001 rule 3: version 2\'s entries with version 1\'s authorisation', timesheets => [ { %$v1s,
		entries => \@amended } ], [ [ 0, 'authorised_at' ] ], qr/recorded for version 1/);
	refused($sd, $sdb, 'E1001 rule 5: authorised_at two days ahead', timesheets => [ { %$v1s, entries => \@amended,
		submitted_at => '2026-02-10T11:00:00Z', authorised_at => utc($sdb, '2 days') } ], [ [ 0, 'authorised_at' ] ],
		qr/more than one day after/);
	my $v2id = psql($sdb, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'E1001' AND period_start = '2025-12-01' AND version = 2});
	($s, $j) = $sd->req(POST => "/v1/timesheets/$v2id/reject", token => $sd->token('manager', 'E0101'),
		body => { reason => 'which days were sick leave?' });
	is $s, 200, 'E0101 rejects version 2' or diag json_encode($j);
	refused($sd, $sdb, 'E1001 rule 4: the feed authorises the rejected version 2', timesheets => [ { %$v1s, entries => \@amended,
		submitted_at => '2026-02-10T11:00:00Z', authorised_at => '2026-03-02T09:00:00Z' } ], [ [ 0, 'authorised_by' ] ],
		qr/^version 2 of this timesheet was rejected by E0101/);
	my @v3 = (@amended[0 .. 2], { kind => 'sick_leave', activity => 'sick_leave', hours => 7.5 },
		{ kind => 'annual_leave', activity => 'other_leave', hours => 7.5 });
	$v3[4]{kind} = 'other_leave';
	($s, $j) = post_feed($sd, timesheets => [ { %$v1s, entries => \@v3, submitted_at => '2026-03-03T09:00:00Z',
		authorised_by => undef, authorised_at => undef, amendment_reason => 'one day sick, one other leave' } ]);
	is_deeply counts($j), [ 1, 0, 1, 0 ], 'E1001: version 3 answers the rejection' or diag json_encode($j);
	($s, $j) = post_feed($sd, timesheets => [ { %$v1s, entries => \@v3, submitted_at => '2026-03-03T09:00:00Z',
		authorised_at => '2026-03-04T09:00:00Z' } ]);
	is_deeply counts($j), [ 1, 0, 1, 0 ], 'rule 1: version 3\'s entries with a fresh authorisation: recorded' or diag json_encode($j);
	is_deeply $e1001->(), [ 3, 'authorised', 3 ], '… on version 3';
	($s, $j) = post_feed($sd, timesheets => slurp(sample_file('timesheets', 'json')), type => 'application/json');
	is_deeply [ @$j{qw(created updated)} ], [ 0, 0 ], 'sample/timesheets.json re-sent once more: nothing changes';
	is_deeply $e1001->(), [ 3, 'authorised', 3 ], '… version 3 stays current and authorised';
	is_deeply findings($sd, '2026-10-01', 'E1001', 'authorisation_late'),
		[ [ 'authorisation_late', '2025-12-01', '172.50' ] ], '… and its authorisation is late (deadline 2026-02-28), not overdue';
}

done_testing;
