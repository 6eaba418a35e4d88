# Reminder mail submitted over SMTP (notify.smtp_url) to a real Postfix
# that this test runs privately on loopback (its own configuration and
# queue under the test's tmp folder, a free port, delivery to a Maildir
# read here): the mails arrive with their headers, body and envelope;
# notify.smtp_url wins over notify.sendmail; a refused recipient, a relay
# that is down and one that never answers are logged and counted as
# failed while effortd keeps serving, their items given back so that a
# later run sends them again (reminders_retry.t: the timer's retries); a
# relay slow to take the end of the
# message does not stall effortd's event loop; --check-config refuses a
# malformed URL and the smtp settings that do not go together.  Needs
# root (Postfix starts as root) and postfix installed (scripts/install-deps).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode slurp spew wait_for month_ago clear_of_midnight);
use EffortPostfix;

plan skip_all => 'needs root: the test starts a private Postfix (run as root, as CI does)' if $> != 0;
plan skip_all => 'postfix is not installed (scripts/install-deps installs it)' unless -x '/usr/sbin/postfix';

my $tmp = $EffortTest::TMP;
my $effortd = $EffortTest::EFFORTD;

# ---------------------------------------------------------------- --check-config
{
	my $n = 0;
	my $check = sub {
		my ($text) = @_;
		my $f = "$tmp/smtp-check-" . ++$n . '.conf';
		spew($f, $text);
		my $out = `$effortd -c $f --check-config 2>&1`;
		return ($? >> 8, $out, $f);
	};
	my $url = sub { qq{notify = { from = "effortd\@example.ac.uk"; smtp_url = "$_[0]"; };\n} };
	for my $case (
		[ 'http://relay.example.ac.uk', qr/notify\.smtp_url: must be empty or an smtp:\/\/ or smtps:\/\/ URL/ ],
		[ 'relay.example.ac.uk:25', qr/notify\.smtp_url: must be empty or an smtp:\/\/ or smtps:\/\/ URL/ ],
		[ 'smtp://', qr/notify\.smtp_url: cannot be read as a URL \(No host part in the URL\)/ ],
		[ 'smtp://relay.example.ac.uk:99999', qr/notify\.smtp_url: cannot be read as a URL \(Port number/ ],
		[ 'smtp://mailer:s3cr3t@relay.example.ac.uk:587',
			qr/notify\.smtp_url: must not hold a user or password: use notify\.smtp_user and notify\.smtp_password_file/ ],
		[ 'smtp://relay.example.ac.uk/inbox', qr/notify\.smtp_url: must have no path, query or fragment/ ],
	) {
		my ($u, $why) = @$case;
		my ($rc, $out, $f) = $check->($url->($u));
		is $rc, 1, "--check-config refuses notify.smtp_url = \"$u\": exit 1";
		like $out, qr/\Q$f\E:1: $why/, '… naming the file, line, field and reason' or diag $out;
		unlike $out, qr/s3cr3t/, '… and never showing a password' if $u =~ /s3cr3t/;
	}
	my ($rc, $out) = $check->(qq{notify = { smtp_url = "smtp://127.0.0.1:25"; };\n});
	is $rc, 1, 'notify.smtp_url without notify.from: exit 1';
	like $out, qr/notify\.from must be set with notify\.smtp_url \(it is the envelope sender\)/, '… says why' or diag $out;
	($rc, $out) = $check->(qq{notify = { smtp_url = "smtp://127.0.0.1:25"; from = "Effort audit"; };\n});
	is $rc, 1, 'a notify.from without an address: exit 1';
	like $out, qr/notify\.from: no mail address in it for the envelope sender/, '… says why' or diag $out;
	my $pw = "$tmp/smtp-password";
	spew($pw, "Pa55-w0rd\n");
	my $auth = qq{from = "effortd\@example.ac.uk"; smtp_user = "effortd"; smtp_password_file = "$pw";};
	($rc, $out) = $check->(qq{notify = { smtp_url = "smtp://relay.example.ac.uk:587"; $auth };\n});
	is $rc, 1, 'a user and password over a plain connection: exit 1';
	like $out, qr/notify\.smtp_user: a password is sent only over TLS: use smtps:\/\/ or notify\.smtp_starttls = 1/,
		'… says why' or diag $out;
	($rc, $out) = $check->(qq{notify = { smtp_url = "smtp://relay.example.ac.uk:587"; smtp_starttls = 1; $auth };\n});
	is $rc, 0, 'STARTTLS with a user and a password file: ok' or diag $out;
	unlike $out, qr/Pa55-w0rd/, '… the password is not shown';
	($rc, $out) = $check->(qq{notify = { smtp_url = "smtps://relay.example.ac.uk"; from = "a\@example.ac.uk"; smtp_user = "effortd"; smtp_password_file = "$tmp/none"; };\n});
	is $rc, 1, 'a password file that cannot be read: exit 1';
	like $out, qr/notify\.smtp_password_file: cannot read "\Q$tmp\E\/none": No such file or directory/, '… says which and why' or diag $out;
	($rc, $out) = $check->(qq{notify = { smtp_url = "smtps://relay.example.ac.uk"; from = "a\@example.ac.uk"; smtp_user = "effortd"; };\n});
	is $rc, 1, 'a user without a password file: exit 1';
	like $out, qr/notify\.smtp_user and notify\.smtp_password_file go together/, '… says why' or diag $out;
}

# ---------------------------------------------------------------- a private Postfix
# (EffortPostfix): refused@example.ac.uk is refused at RCPT; a second
# listener ($slow_port) waits 3 s before it answers the end of a message.
my $slow_port = EffortTest::free_port();
my $postfix = EffortPostfix->new(
	recipient_restrictions => 'check_recipient_access inline:{ {refused@example.ac.uk = 550 5.1.1 no such person here} }, '
		. 'permit_mynetworks, reject',
	extra_listeners => { $slow_port => ' -o smtpd_end_of_data_restrictions=sleep,3,permit' });
$postfix->start;
my ($port, $pf) = ($postfix->port, $postfix->dir);
pass("a private Postfix on 127.0.0.1:$port (config $pf/conf)");
sub delivered { $postfix->delivered }
sub count_delivered { scalar(() = $postfix->delivered) }

# ---------------------------------------------------------------- effortd and its reminders
my $db = new_db();
clear_of_midnight($db, 300);
my $sendmail_dir = "$tmp/sendmail-$$";
mkdir $sendmail_dir or die "$sendmail_dir: $!";
my %notify = (
	'notify.smtp_url' => "smtp://127.0.0.1:$port",
	'notify.from' => 'Effort Audit <effortd@example.ac.uk>',
	'notify.sendmail' => "$EffortTest::TOP/tests/data/fake-sendmail $sendmail_dir -t -i",
	'notify.max_senders' => 1,
	'notify.smtp_timeout' => 5,
);
my $d = start_effortd(db => $db, %notify);
my $admin = $d->token('admin');

my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my ($p1s, $p1e, $p3s, $p3e) = map { @{ month_ago($db, $_) }{qw(start end)} } 1, 3;
sub ok_feed {
	my ($f, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $f => $body);
	is $s, 200, $name or diag json_encode($j);
}
sub staff {
	my ($id, $name, $email) = @_;
	ok_feed(people => [ { person_id => $id, name => $name, email => $email, line_manager_id => 'RM', fte => 1,
		employment_start => '2015-01-01' } ], "setup: $id <$email>");
	ok_feed(assignments => [ { person_id => $id, grant_ref => 'EP/S/1', role => 'researcher', cost_type => 'DI',
		start_date => $p1s, end_date => $p1e, fte_share => 0.5 } ], "setup: $id on the grant in $p1s, without a timesheet");
}
ok_feed(people => [
	{ person_id => 'RM', name => 'Rita Manager', email => 'rita@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'R1', name => 'Ray One', email => 'ray@example.ac.uk', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' },
], 'setup: a manager and one of her staff');
ok_feed(grants => [ { grant_ref => 'EP/S/1', title => 'S', start_date => '2020-01-01', end_date => '2099-12-31' } ], 'setup: a grant');
ok_feed(timesheets => [ { person_id => 'R1', period_start => $p3s, period_end => $p3e, submitted_at => "${p3e}T09:00:00Z",
	entries => [ { kind => 'research', activity => 'research', hours => 160 } ] } ], "setup: R1's overdue $p3s timesheet");
staff('R2', 'Rose Two', 'rose@example.ac.uk');

# Sends today's reminders now; (status, the mail summary, seconds taken).
sub run_now {
	my ($daemon) = @_;
	my $t0 = time;
	my ($s, $j) = $daemon->req(POST => '/v1/reminders/run', token => $admin, timeout => 60);
	return ($s, ref $j ? $j->{mail} : $j, time - $t0);
}

my ($s, $mail) = run_now($d);
is $s, 200, 'POST /v1/reminders/run: 200';
is_deeply $mail, { sent => 2, failed => 0, skipped => 0 }, '… two mails sent (the relay took both, one at a time)'
	or diag json_encode($mail);
ok wait_for(sub { count_delivered() >= 2 }, 20), '… and Postfix delivered both to the mailbox'
	or diag slurp("$pf/maillog");
my @mails = delivered();
my ($to_rm) = grep { /^To: rita\@example\.ac\.uk\r?$/m } @mails;
my ($to_r2) = grep { /^To: rose\@example\.ac\.uk\r?$/m } @mails;
ok $to_rm && $to_r2, 'one to the manager, one to R2' or diag join "\n----\n", @mails;
$to_rm //= '';
$to_r2 //= '';
like $to_rm, qr/^Return-Path: <effortd\@example\.ac\.uk>$/m, 'the envelope sender: the address of notify.from';
like $to_rm, qr/^Delivered-To: rita\@example\.ac\.uk$/m, 'the envelope recipient: the person\'s email';
like $to_r2, qr/^Delivered-To: rose\@example\.ac\.uk$/m, '… for R2 too';
like $to_rm, qr/^From: Effort Audit <effortd\@example\.ac\.uk>$/m, 'From: notify.from';
like $to_rm, qr/^Subject: effortd: 1 timesheet awaits your authorisation$/m, 'the subject';
like $to_rm, qr/^Content-Type: text\/plain; charset=UTF-8$/m, 'plain UTF-8 text';
like $to_rm, qr/^Auto-Submitted: auto-generated$/m, 'Auto-Submitted: auto-generated';
like $to_rm, qr/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/m, 'a Date: header';
like $to_rm, qr/^Message-ID: <[\d.]+\.effortd\@example\.ac\.uk>$/m, 'a Message-ID: in the sender\'s domain';
like $to_rm, qr/\n\nDear Rita Manager,\n\nThese timesheets await your authorisation.*\n  - timesheet \d+: R1 Ray One, \Q$p3s\E to \Q$p3e\E, 160\.00 h; deadline [\d-]+ \(OVERDUE by \d+ days?\)\n/s,
	'the digest, line by line';
like $to_r2, qr/^Subject: effortd: 1 month without a timesheet$/m, 'R2: one month owed';
# Postfix writes its log line after the delivery: wait for it too.
my $logged = qr/from=<effortd\@example\.ac\.uk>.*\n(?:.*\n)*.*to=<rita\@example\.ac\.uk>, relay=virtual.*status=sent/;
ok wait_for(sub { slurp("$pf/maillog") =~ $logged }, 10), 'Postfix logged the envelope and the delivery'
	or diag slurp("$pf/maillog");
is scalar(() = glob "$sendmail_dir/*"), 0, 'notify.smtp_url wins: notify.sendmail was not run';
like $d->log_text, qr/reminders for $today: 2 message\(s\); mail 2 sent, 0 failed/,
	'the run is logged';

# ---------------------------------------------------------------- a refused recipient
staff('R5', 'Reg Five', 'refused@example.ac.uk');
($s, $mail) = run_now($d);
is $s, 200, 'a recipient the relay refuses: 200';
is_deeply $mail, { sent => 0, failed => 1, skipped => 0 }, '… counted as failed' or diag json_encode($mail);
like $d->log_text, qr/mail to refused\@example\.ac\.uk: the SMTP relay smtp:\/\/127\.0\.0\.1:$port did not take it: RCPT failed: 550\n/,
	'… and logged with the relay\'s reply';
my ($hs) = $d->req(GET => '/healthz');
is $hs, 200, '… effortd keeps serving';
is count_delivered(), 2, '… nothing more was delivered';
is psql($db, q{SELECT count(*) FROM reminder_claims WHERE recipient_id = 'R5'}), 0,
	'… and its item was given back: later runs try it again';

# Reloads effortd with other notify settings; true when it says so.
sub reload_with {
	my (%o) = @_;
	my $before = () = $d->log_text =~ /configuration reloaded/g;
	$d->write_config($d->options, %o);
	$d->signal('HUP');
	return wait_for(sub { (() = $d->log_text =~ /configuration reloaded/g) > $before }, 10);
}

# ---------------------------------------------------------------- a relay that is down
my $closed = EffortTest::free_port();
ok reload_with('notify.smtp_url' => "smtp://127.0.0.1:$closed"), 'SIGHUP: notify.smtp_url now a closed port';
staff('R6', 'Rob Six', 'rob@example.ac.uk');
my $took;
($s, $mail, $took) = run_now($d);
is_deeply [ $s, $mail ], [ 200, { sent => 0, failed => 2, skipped => 0 } ],
	'a relay that is down: R6\'s mail and R5\'s again, counted as failed'
	or diag json_encode($mail);
cmp_ok $took, '<', 5, sprintf('… within notify.smtp_timeout (%.1f s)', $took);
like $d->log_text, qr/mail to rob\@example\.ac\.uk: the SMTP relay smtp:\/\/127\.0\.0\.1:$closed did not take it: .*Couldn't connect to server/,
	'… logged';
($hs) = $d->req(GET => '/healthz');
is $hs, 200, '… effortd keeps serving';

# ---------------------------------------------------------------- a relay that never answers
my $mute = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 8, Proto => 'tcp') or die "listen: $!";
ok reload_with('notify.smtp_url' => 'smtp://127.0.0.1:' . $mute->sockport, 'notify.smtp_timeout' => 2,
		'notify.max_senders' => 4),
	'SIGHUP: a relay that accepts the connection and never greets, notify.smtp_timeout = 2, 4 senders';
staff('R7', 'Ria Seven', 'ria@example.ac.uk');
($s, $mail, $took) = run_now($d);
is_deeply [ $s, $mail ], [ 200, { sent => 0, failed => 3, skipped => 0 } ],
	'a relay that never answers: R7\'s mail and R5\'s and R6\'s again, counted as failed'
	or diag json_encode($mail);
cmp_ok $took, '>=', 1.9, sprintf('… after notify.smtp_timeout (%.1f s)', $took);
cmp_ok $took, '<', 5, '… not much later';
like $d->log_text, qr/mail to ria\@example\.ac\.uk: the SMTP relay .* did not take it: .*timed out after \d+ milliseconds/, '… logged';
close $mute;

# ---------------------------------------------------------------- a slow relay does not stall effortd
# The relay waits 3 s before it answers the end of the message (where
# libcurl itself waits for the reply): meanwhile effortd answers at once.
ok reload_with('notify.smtp_url' => "smtp://127.0.0.1:$slow_port", 'notify.smtp_timeout' => 10,
		'notify.max_senders' => 4),
	'SIGHUP: a relay slow to take the end of the message';
staff('R8', 'Roy Eight', 'roy@example.ac.uk');
my $pid = fork // die "fork: $!";
if ($pid == 0) {
	my ($cs, $cm) = run_now($d);
	# R8's, and R6's and R7's given back; R5's refused again
	POSIX::_exit($cs == 200 && $cm->{sent} == 3 && $cm->{failed} == 1 ? 0 : 1);
}
my ($worst, $polls, $t0) = (0, 0, time);
sleep 0.3;
while (time - $t0 < 2.5) {
	my $t = time;
	($hs) = $d->req(GET => '/healthz', timeout => 5);
	$worst = time - $t if time - $t > $worst;
	$polls++;
	sleep 0.05;
}
waitpid $pid, 0;
is $?, 0, 'the mails went through the slow relay: R8\'s, and R6\'s and R7\'s at last';
cmp_ok time - $t0, '>=', 3, '… taking its 3 s';
cmp_ok $worst, '<', 0.5, sprintf('… while GET /healthz answered %d times, the slowest in %.3f s', $polls, $worst);
ok wait_for(sub { grep { /^To: roy\@example\.ac\.uk\r?$/m } delivered() }, 15), '… and was delivered';

# ---------------------------------------------------------------- stopping with a mail in flight
# With limits.drain_timeout = 0 the run is not waited for: the mail,
# waiting for the slow relay's reply, is abandoned (no leak, no crash).
ok reload_with('notify.smtp_url' => "smtp://127.0.0.1:$slow_port", 'notify.smtp_timeout' => 10, 'limits.drain_timeout' => 0),
	'SIGHUP: limits.drain_timeout = 0';
staff('R9', 'Rae Nine', 'rae@example.ac.uk');
$pid = fork // die "fork: $!";
if ($pid == 0) { run_now($d); POSIX::_exit(0) }
sleep 1.5;    # the mail is waiting for the relay's reply to its end
$t0 = time;
is $d->stop, 0, 'SIGTERM: effortd exits 0';
cmp_ok time - $t0, '<', 5, sprintf('… within the relay\'s delay (%.1f s)', time - $t0);
like $d->log_text, qr/shutting down/, '… abandoning the run';
waitpid $pid, 0;

$postfix->stop;
ok !IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1), 'the private Postfix is stopped';

done_testing;
