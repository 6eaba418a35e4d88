# Reminders that could not be delivered are tried again the same day
# (daemon/job-reminders.c): a mail the SMTP relay did not take gives its
# items' claims back (reminders_release) and the daily timer tries again
# after notify.retry_seconds, doubling; once the relay (a real Postfix,
# private to this test, as in reminders_smtp.t) is back, each item arrives
# exactly once, also with two effortd instances retrying on one database.
# POST /v1/reminders/run gives back what it could not deliver too, and the
# timer picks it up.  A timer run the database does not answer (PostgreSQL
# stopped) is tried again as well, instead of waiting for tomorrow.  Needs
# root and postfix installed (scripts/install-deps).
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode wait_for month_ago);
use EffortPostfix;

plan skip_all => 'needs root: the test starts a private Postfix (run as root, as CI does)' if $> != 0;
plan skip_all => 'postfix is not installed (scripts/install-deps installs it)' unless -x '/usr/sbin/postfix';

# ---------------------------------------------------------------- a private Postfix, not started yet
my $postfix = EffortPostfix->new;
my $port = $postfix->port;
pass("a private Postfix configured for 127.0.0.1:$port, not started");
sub delivered { $postfix->delivered }
sub postfix_start { $postfix->start }
sub postfix_stop { $postfix->stop }
# The mails delivered to address.
sub mails_to { my ($a) = @_; scalar grep { /^To: \Q$a\E\r?$/m } delivered() }

# ---------------------------------------------------------------- effortd, on a cluster of its own
my $pg = EffortTest::private_cluster();
my $db = new_db(cluster => $pg);
my %notify = (
	'notify.smtp_url' => "smtp://127.0.0.1:$port",
	'notify.from' => 'Effort Audit <effortd@example.ac.uk>',
	'notify.sendmail' => '',
	'notify.max_senders' => 2,
	'notify.smtp_timeout' => 2,
	'notify.retry_seconds' => 1,
	'db.connect_timeout' => 2,
);
my $d = start_effortd(db => $db, %notify);
my $admin = $d->token('admin');

my ($p1s, $p1e, $p3s, $p3e) = map { @{ month_ago($db, $_) }{qw(start end)} } 1, 3;
sub ok_feed {
	my ($f, $body, $name) = @_;
	my ($s, $j) = post_feed($d, $f => $body);
	is $s, 200, $name or diag json_encode($j);
}
# A member of staff who owes one month: one item, one message.
sub staff {
	my ($id, $email) = @_;
	ok_feed(people => [ { person_id => $id, name => "Staff $id", email => $email, line_manager_id => 'RM', fte => 1,
		employment_start => '2015-01-01' } ], "setup: $id <$email>");
	ok_feed(assignments => [ { person_id => $id, grant_ref => 'EP/T/1', role => 'researcher', cost_type => 'DI',
		start_date => $p1s, end_date => $p1e, fte_share => 0.5 } ], "setup: $id on the grant in $p1s, without a timesheet");
}
ok_feed(people => [
	{ person_id => 'RM', name => 'Rita Manager', email => 'rita@example.ac.uk', fte => 1, employment_start => '2015-01-01' },
	{ person_id => 'R1', name => 'Ray One', email => 'ray@example.ac.uk', line_manager_id => 'RM', fte => 1, employment_start => '2015-01-01' },
], 'setup: a manager and one of her staff');
ok_feed(grants => [ { grant_ref => 'EP/T/1', title => 'T', start_date => '2020-01-01', end_date => '2099-12-31' } ], 'setup: a grant');
ok_feed(timesheets => [ { person_id => 'R1', period_start => $p3s, period_end => $p3e, submitted_at => "${p3e}T09:00:00Z",
	entries => [ { kind => 'research', activity => 'research', hours => 160 } ] } ], "setup: R1's overdue $p3s timesheet");
staff('R2', 'rose@example.ac.uk');

sub claims { scalar psql($db, "SELECT count(*) FROM reminder_claims WHERE recipient_id IN ($_[0])") }

# ---------------------------------------------------------------- POST /v1/reminders/run, the relay down
my ($s, $j) = $d->req(POST => '/v1/reminders/run', token => $admin, timeout => 30);
is $s, 200, 'POST /v1/reminders/run with the relay down: 200';
is_deeply $j->{mail}, { sent => 0, failed => 2, skipped => 0 }, '… both mails failed' or diag json_encode($j);
is_deeply [ sort map { "$_->{recipient_id} " . join ',', map { $_->{item} } @{ $_->{items} } } @{ $j->{messages} } ],
	[ "R2 missing:$p1s", 'RM timesheet:' . psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'R1'}) ],
	'… each item names its claim';
is claims(q{'RM', 'R2'}), 0, '… and their claims were given back (none left for today)';
like $d->log_text, qr/reminders: the message to RM was not delivered; its 1 item\(s\) are given back for the next run/,
	'… logged with the recipient id (RM)';
like $d->log_text, qr/reminders: the message to R2 was not delivered/, '… and (R2)';
unlike $d->log_text, qr/Dear |You still owe/, '… never with the message';
is $d->stop, 0, 'effortd stops: exit 0';

# ---------------------------------------------------------------- the timer retries until the relay is back
# Two instances on one database, notify.hour the current hour: both run
# at start-up, fail, and try again after 1, 2, 4 … s.
my ($hour, $min, $sec) = @{ (psql($db, q{SELECT extract(hour FROM x)::int, extract(minute FROM x)::int, extract(second FROM x)::int
	FROM (SELECT now() AT TIME ZONE 'Europe/London' AS x) y}))[0] };
# (the rest of the test, to its last start-up run, takes under a minute
# here, longer under ASan on a loaded machine: two minutes of margin)
if ($min >= 58) { sleep((60 - $min) * 60 - $sec + 1); $hour = ($hour + 1) % 24 }
my %timer = (%notify, 'notify.enabled' => 1, 'notify.hour' => $hour);
my @d = map { start_effortd(db => $db, %timer) } 1 .. 2;
$d = $d[0];
ok wait_for(sub { (() = $d[0]->log_text =~ /trying again in \d+ s/g) >= 2
		&& (() = $d[1]->log_text =~ /trying again in \d+ s/g) >= 2 }, 30),
	'both instances: the run at notify.hour could not deliver, tried again, could not'
	or diag $d[0]->log_text;
like $d[0]->log_text, qr/reminders: some messages were not delivered; trying again in 1 s\n(?:.*\n)*.*trying again in 2 s/,
	'… after notify.retry_seconds (1 s), then twice that';
is scalar(delivered()), 0, 'nothing delivered while the relay is down';
postfix_start();
pass('the relay is back');
ok wait_for(sub { mails_to('rita@example.ac.uk') && mails_to('rose@example.ac.uk') }, 30),
	'a retry delivered both mails' or diag $d[0]->log_text, $d[1]->log_text;
sleep 5;    # any further retry would have come by now
is mails_to('rita@example.ac.uk'), 1, '… exactly one to RM';
is mails_to('rose@example.ac.uk'), 1, '… exactly one to R2';
is scalar(delivered()), 2, '… and nothing else';
is_deeply [ psql($db, q{SELECT recipient_id, item, count(*) FROM reminder_claims GROUP BY 1, 2 ORDER BY 1, 2}) ],
	[ [ 'R2', "missing:$p1s", 1 ], [ 'RM', 'timesheet:' . psql($db, q{SELECT timesheet_id FROM timesheets WHERE person_id = 'R1'}), 1 ] ],
	'the claim table: one row per item';
($s, $j) = $d->req(POST => '/v1/reminders/run', token => $admin);
is_deeply [ $s, scalar @{ $j->{messages} } ], [ 200, 0 ], 'a run now sends nothing more';

# ---------------------------------------------------------------- POST /v1/reminders/run's failures, retried by the timer
staff('R3', 'reg@example.ac.uk');
postfix_stop();
($s, $j) = $d->req(POST => '/v1/reminders/run', token => $admin, timeout => 30);
is_deeply [ $s, $j->{mail} ], [ 200, { sent => 0, failed => 1, skipped => 0 } ],
	'POST /v1/reminders/run with the relay down again: R3\'s mail failed' or diag json_encode($j);
is claims(q{'R3'}), 0, '… its claim given back';
postfix_start();
ok wait_for(sub { mails_to('reg@example.ac.uk') }, 30), 'the timer\'s retry delivered it once the relay was back'
	or diag $d->log_text;
sleep 4;
is mails_to('reg@example.ac.uk'), 1, '… exactly once';
is claims(q{'R3'}), 1, '… and it is claimed';
is_deeply [ map { $_->stop } @d ], [ 0, 0 ], 'both instances stop: exit 0';

# ---------------------------------------------------------------- the database down at notify.hour
$d = start_effortd(db => $db, %notify);
staff('R4', 'rex@example.ac.uk');
is $d->stop, 0, 'effortd stops: exit 0';
$pg->stop;
$d = start_effortd(db => $db, %timer, wait => 0);
# (its log appears once the child has started)
ok wait_for(sub { (eval { $d->log_text } // '') =~ /reminders: the database did not answer.*\n(?:.*\n)*.*reminders: the database did not answer; trying again in \d+ s/ }, 30),
	'PostgreSQL stopped at notify.hour: the run is tried again' or diag $d->log_text;
$pg->start;
ok wait_for(sub { mails_to('rex@example.ac.uk') }, 40), 'once PostgreSQL is back, a retry delivered the reminder'
	or diag $d->log_text;
sleep 3;
is mails_to('rex@example.ac.uk'), 1, '… exactly once';
is scalar(delivered()), 4, '… and nothing else again';
is claims(q{'R4'}), 1, '… and it is claimed';
is $d->stop, 0, 'effortd stops: exit 0';

postfix_stop();
done_testing;
