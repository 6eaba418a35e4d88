# Reminders: a manager gets a digest of the timesheets due or overdue, staff
# a note of the months they still owe; through a sendmail-compatible command
# (tests/data/fake-sendmail writes each message to a folder) and a webhook
# (a local HTTP server forked here).  effortctl reminders --dry-run shows
# them; a second run the same day, or another instance, sends nothing; the
# daily timer sends at notify.hour; a message whose mail or webhook failed
# gives its items back, and the next run sends them again.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode json_decode effortctl slurp month_ago clear_of_midnight);

my $tmp = $EffortTest::TMP;
my $mail = "$tmp/mail-$$";
mkdir $mail or die "$mail: $!";
my $hooks = "$tmp/hooks-$$";
mkdir $hooks or die "$hooks: $!";

# ---------------------------------------------------------------- the webhook receiver
my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16, ReuseAddr => 1, Proto => 'tcp')
	or die "listen: $!";
my $hook_port = $listen->sockport;
my $hook_pid = fork // die "fork: $!";
if ($hook_pid == 0) {
	$SIG{TERM} = sub { POSIX::_exit(0) };    # not EffortTest's clean-up
	my $n = 0;
	while (my $c = $listen->accept) {
		local $/ = "\r\n";
		my ($len, $line) = (0);
		my $first = <$c>;
		while (defined($line = <$c>) && $line ne "\r\n") {
			$len = $1 if $line =~ /^Content-Length:\s*(\d+)/i;
		}
		my $body = '';
		read $c, $body, $len;
		my $status = $body =~ /"recipient_id":"FAIL"/ ? '500 Nope' : '200 OK';
		open my $fh, '>', sprintf('%s/%03d.json', $hooks, ++$n);
		print $fh "$first$body";
		close $fh;
		print $c "HTTP/1.1 $status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		close $c;
	}
	POSIX::_exit(0);
}
close $listen;
END { local $?; kill 'TERM', $hook_pid if $hook_pid; waitpid $hook_pid, 0 if $hook_pid }

my $db = new_db();
my %notify = ('notify.sendmail' => "$EffortTest::TOP/tests/data/fake-sendmail $mail -t -i",
	'notify.webhook_url' => "http://127.0.0.1:$hook_port/hooks/effortd?src=test",
	'notify.from' => 'effortd@example.ac.uk');
my $d = start_effortd(db => $db, %notify);

clear_of_midnight($db, 300);    # a run's claims are for the day it runs
my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my ($P1, $P2, $P3) = map { month_ago($db, $_) } 1 .. 3;
sub ok_feed {
	my ($f, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $f => $body);
	is $s, 200, $name or diag json_encode($j);
}
ok_feed(people => [
	{ person_id => 'RM', name => 'Rita Manager', email => 'rita@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'R1', name => 'Ray One', email => 'ray@example.ac.uk', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'R2', name => 'Rose Two', email => 'rose@example.ac.uk', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'R3', name => 'Rob Three', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' },
], 'setup: a manager and three staff (R3 without an email address)');
ok_feed(grants => [ { grant_ref => 'EP/R/1', title => 'R', start_date => '2020-01-01', end_date => '2099-12-31' } ], 'setup: a grant');
ok_feed(assignments => [ map { { person_id => $_, grant_ref => 'EP/R/1', role => 'researcher', cost_type => 'DI',
	start_date => $P2->{start}, end_date => $P1->{end}, fte_share => 0.5 } } qw(R2 R3) ],
	"setup: R2 and R3 on the grant for $P2->{start}..$P1->{end}, with no timesheets");
ok_feed(timesheets => [ { person_id => 'R1', period_start => $P3->{start}, period_end => $P3->{end},
	submitted_at => "$P2->{start}T09:00:00Z", entries => [ { kind => 'research', activity => 'research', hours => 160 } ] } ],
	"setup: R1's $P3->{start} timesheet, unauthorised past its deadline $P3->{deadline}");
my $ts = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'R1'});
my $overdue_by = psql($db, "SELECT DATE '$today' - DATE '$P3->{deadline}'");
$overdue_by .= $overdue_by == 1 ? ' day' : ' days';

# ---------------------------------------------------------------- dry run
my ($rc, $out, $err) = effortctl($d, 'reminders', '--dry-run');
is $rc, 0, 'effortctl reminders --dry-run: exit 0' or diag $err;
my @lines = grep { /\S/ } split /\n/, $out;
like $lines[0], qr/^RECIPIENT\s+EMAIL\s+KIND\s+ITEM$/, '… a table';
is_deeply [ map { [ (split /\s{2,}/)[0 .. 2] ] } @lines[1 .. $#lines] ],
	[ [ 'R2', 'rose@example.ac.uk', 'staff' ], [ 'R2', 'rose@example.ac.uk', 'staff' ],
	  [ 'R3', '-', 'staff' ], [ 'R3', '-', 'staff' ], [ 'RM', 'rita@example.ac.uk', 'manager' ] ],
	'… R2 and R3 owe two months each; RM has one timesheet to authorise' or diag $out;
like $out, qr/^RM .*timesheet $ts: R1 Ray One, \Q$P3->{start}\E to \Q$P3->{end}\E, 160\.00 h; deadline \Q$P3->{deadline}\E \(OVERDUE by $overdue_by\)$/m,
	"… RM's item: the overdue timesheet";
like $out, qr/^R2 .*\Q$P2->{start}\E to \Q$P2->{end}\E: no timesheet for [\d.]+ contracted hours; deadline \Q$P2->{deadline}\E/m,
	"… R2's item: $P2->{start}";
is scalar(() = glob "$mail/*.eml"), 0, 'a dry run sends no mail';
is psql($db, 'SELECT count(*) FROM reminder_claims'), 0, '… and claims nothing';
($rc) = effortctl($d, { token => $d->token('reviewer') }, 'reminders', '--dry-run');
is $rc, 3, 'a reviewer may not see reminders: exit 3';

# ---------------------------------------------------------------- the run
($rc, $out, $err) = effortctl($d, 'reminders');
is $rc, 0, 'effortctl reminders (send now): exit 0' or diag "$out$err";
like $out, qr/^sent 3 message\(s\) for $today: mail 2 sent, 0 failed, 1 without address; webhook 3 sent, 0 failed$/m,
	'… 3 messages: 2 mails (R3 has no address), 3 webhooks';
my @mails = sort map { slurp($_) } glob "$mail/*.eml";
is scalar @mails, 2, 'two mails in the folder';
my ($to_rm) = grep { /^To: rita\@example\.ac\.uk$/m } @mails;
my ($to_r2) = grep { /^To: rose\@example\.ac\.uk$/m } @mails;
ok $to_rm, 'a mail to the manager';
like $to_rm, qr/^From: effortd\@example\.ac\.uk$/m, '… From: notify.from';
like $to_rm, qr/^Subject: effortd: 1 timesheet awaits your authorisation$/m, '… its subject';
like $to_rm, qr/^Content-Type: text\/plain; charset=UTF-8$/m, '… plain UTF-8 text';
like $to_rm, qr/\n\nDear Rita Manager,\n\nThese timesheets await your authorisation.*\n  - timesheet $ts: R1 Ray One.*OVERDUE by $overdue_by\)\n/s,
	'… the digest';
ok $to_r2, 'a mail to R2';
like $to_r2, qr/^Subject: effortd: 2 months without a timesheet$/m, '… two months owed';
like $to_r2, qr/  - \Q$P2->{start}\E to .*\n  - \Q$P1->{start}\E to /, '… both listed, oldest first';
is slurp((glob "$mail/*.args")[0]), "-t -i\n", 'the command got its arguments';
my @hooks = map { slurp($_) } sort glob "$hooks/*.json";
is scalar @hooks, 3, 'the webhook got three POSTs';
like $hooks[0], qr{^POST /hooks/effortd\?src=test HTTP/1\.1\r\n}, '… to the path and query of notify.webhook_url';
my @bodies = map { json_decode((split /\r\n/, $_, 2)[1]) } @hooks;
is_deeply [ sort map { "$_->{recipient_id} $_->{kind} " . scalar @{ $_->{items} } } @bodies ],
	[ 'R2 staff 2', 'R3 staff 2', 'RM manager 1' ], '… one per recipient, with the items';
my ($rm) = grep { $_->{recipient_id} eq 'RM' } @bodies;
is_deeply [ @{ $rm->{items}[0] }{qw(timesheet_id person_id deadline overdue)}, $rm->{day} ],
	[ $ts, 'R1', $P3->{deadline}, JSON::PP::true, $today ], "… RM's: the timesheet, its deadline, overdue, and the day";
is psql($db, 'SELECT count(*) FROM reminder_claims'), 5, 'five items claimed for today';

# ---------------------------------------------------------------- never twice the same day
($rc, $out) = effortctl($d, 'reminders');
is $rc, 0, 'a second run the same day: exit 0';
like $out, qr/^sent 0 message\(s\) for $today: mail 0 sent/m, '… sends nothing';
my $d2 = start_effortd(db => $db, %notify);
my ($s, $j) = $d2->req(POST => '/v1/reminders/run', token => $d2->token('admin'));
is_deeply [ $s, scalar @{ $j->{messages} } ], [ 200, 0 ], 'another effortd instance on the same database: sends nothing';
is scalar(() = glob "$mail/*.eml"), 2, 'still two mails';
is scalar(() = glob "$hooks/*.json"), 3, 'still three webhook POSTs';

# ---------------------------------------------------------------- the daily timer
# A new overdue timesheet; a daemon with notify.enabled and notify.hour =
# the current local hour sends it by itself (just after start-up).
my ($hour, $min, $sec) = @{ (psql($db, q{SELECT extract(hour FROM x)::int, extract(minute FROM x)::int, extract(second FROM x)::int
	FROM (SELECT now() AT TIME ZONE 'Europe/London' AS x) y}))[0] };
if ($min == 59 && $sec > 45) { sleep 61 - $sec; $hour = ($hour + 1) % 24 }
ok_feed(people => [ { person_id => 'R4', name => 'Ria Four', email => 'ria@example.ac.uk', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' } ],
	'setup: R4');
ok_feed(timesheets => [ { person_id => 'R4', period_start => $P3->{start}, period_end => $P3->{end},
	submitted_at => "$P2->{start}T09:00:00Z", entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ],
	"setup: R4's overdue $P3->{start} timesheet");
my $d3 = start_effortd(db => $db, %notify, 'notify.enabled' => 1, 'notify.hour' => $hour);
my $end = time + 15;
sleep 0.2 while time < $end && scalar(() = glob "$mail/*.eml") < 3;
@mails = map { slurp($_) } glob "$mail/*.eml";
is scalar @mails, 3, "notify.enabled = 1, notify.hour = $hour (now): the daily run sends the new item by itself";
my @new = grep { /R4 Ria Four/ } @mails;
is scalar @new, 1, '… to RM, with R4\'s timesheet';
unlike $new[0] // '', qr/R1 Ray One/, '… and not the item already sent today';
# The run is logged once the mail command and the webhook have both finished.
$end = time + 10;
sleep 0.1 until $d3->log_text =~ /reminders for $today: 1 message\(s\)/ || time > $end;
like $d3->log_text, qr/reminders for $today: 1 message\(s\)/, '… and logs it';

# A failing mail command and webhook: exit 4, counted as failed.
$d3->stop;
my $d4 = start_effortd(db => $db, %notify, 'notify.sendmail' => 'exit 3');
ok_feed(people => [ { person_id => 'R5', name => 'Rex', email => 'rex@example.ac.uk', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' } ], 'setup: R5');
ok_feed(timesheets => [ { person_id => 'R5', period_start => $P3->{start}, period_end => $P3->{end},
	submitted_at => "$P2->{start}T09:00:00Z", entries => [ { kind => 'research', activity => 'research', hours => 150 } ] } ], "setup: R5's overdue timesheet");
($rc, $out) = effortctl($d4, 'reminders');
is $rc, 4, 'a mail command that fails: effortctl reminders exits 4';
like $out, qr/mail 0 sent, 1 failed/, '… counted as failed';
like $d4->log_text, qr/mail command failed \(exit status 3\)/, '… and logged';
my $ts5 = psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'R5'});
is psql($db, "SELECT count(*) FROM reminder_claims WHERE item = 'timesheet:$ts5'"), 0,
	'… its item given back for the next run (the webhook got it, the mail did not)';
like $d4->log_text, qr/reminders: the message to RM was not delivered; its 1 item\(s\) are given back/,
	'… logged with the recipient id';
$d4->stop;

# A webhook that answers 500: the message's items are given back too, and
# the next run sends them again.
my $d5 = start_effortd(db => $db, %notify);
ok_feed(people => [ { person_id => 'FAIL', name => 'Fay', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' } ],
	'setup: FAIL, without an email address (the webhook answers 500 for FAIL)');
ok_feed(assignments => [ { person_id => 'FAIL', grant_ref => 'EP/R/1', role => 'researcher', cost_type => 'DI',
	start_date => $P1->{start}, end_date => $P1->{end}, fte_share => 0.5 } ], "setup: FAIL owes $P1->{start}");
for my $n (1, 2) {
	($s, $j) = $d5->req(POST => '/v1/reminders/run', token => $d5->token('admin'));
	is_deeply [ $s, [ map { $_->{recipient_id} } @{ $j->{messages} } ], $j->{webhook}{failed} ],
		[ 200, [ 'FAIL', ($n == 1 ? 'RM' : ()) ], 1 ],
		$n == 1 ? 'a webhook that answers 500: counted as failed' : '… the next run sends FAIL\'s again'
		or diag json_encode($j);
	is psql($db, q{SELECT count(*) FROM reminder_claims WHERE recipient_id = 'FAIL'}), 0, '… its item given back';
}
like $d5->log_text, qr/reminders: the message to FAIL was not delivered; its 1 item\(s\) are given back/, '… logged';

done_testing;
