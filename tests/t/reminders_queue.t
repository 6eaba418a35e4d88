# Reminder mails go through a bounded queue: at most notify.max_senders
# mail commands run at once, the other messages wait their turn, and every
# one is sent.  The command here records how many copies of it run.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(time);
use EffortTest qw(new_db start_effortd psql post_feed json_encode effortctl slurp spew);

my $tmp = "$EffortTest::TMP/remq-$$";
mkdir $tmp or die "$tmp: $!";
my $cmd = "$tmp/slow-sendmail";
# Each run: registers itself, notes how many run now, reads the message,
# takes 0.3 s, leaves.
spew($cmd, <<"EOF");
#!/bin/sh
d=$tmp
touch "\$d/run.\$\$"
ls "\$d" | grep -c '^run\\.' >>"\$d/concurrency"
cat >"\$d/mail.\$\$"
sleep 0.3
rm -f "\$d/run.\$\$"
EOF
chmod 0755, $cmd;

my $db = new_db();
my $d = start_effortd(db => $db, 'notify.sendmail' => $cmd, 'notify.max_senders' => 2);
my $today = psql($db, q{SELECT (now() AT TIME ZONE 'Europe/London')::date});
my ($start, $end) = @{ (psql($db, qq{SELECT (date_trunc('month', DATE '$today') - interval '2 month')::date,
	(date_trunc('month', DATE '$today') - interval '1 day')::date}))[0] };
my @staff = map { "Q$_" } 1 .. 6;
my ($s, $j) = post_feed($d, people => [
	{ person_id => 'QM', name => 'Quinn Manager', fte => 1, employment_start => '2015-01-01' },
	map { { person_id => $_, name => "Staff $_", email => lc($_) . '@example.ac.uk', line_manager_id => 'QM',
		fte => 1, employment_start => '2015-01-01' } } @staff ]);
is $s, 200, 'setup: six staff with an email address' or diag json_encode($j);
($s) = post_feed($d, grants => [ { grant_ref => 'EP/Q/1', title => 'Q', start_date => '2020-01-01', end_date => '2099-12-31' } ]);
is $s, 200, 'setup: a grant';
($s, $j) = post_feed($d, assignments => [ map { { person_id => $_, grant_ref => 'EP/Q/1', role => 'researcher',
	cost_type => 'DI', start_date => $start, end_date => $end, fte_share => 0.5 } } @staff ]);
is $s, 200, "setup: each on the grant $start..$end, without timesheets" or diag json_encode($j);

my $t0 = time;
my ($rc, $out, $err) = effortctl($d, 'reminders');
my $took = time - $t0;
is $rc, 0, 'effortctl reminders: exit 0' or diag "$out$err";
like $out, qr/mail 6 sent, 0 failed/, '… six mails sent' or diag $out;
my @mails = glob "$tmp/mail.*";
is scalar @mails, 6, 'six messages reached the command';
my @seen = grep { /\S/ } split /\n/, slurp("$tmp/concurrency");
is scalar @seen, 6, 'the command ran six times';
my ($most) = sort { $b <=> $a } @seen;
cmp_ok $most, '<=', 2, "never more than notify.max_senders (2) at once (at most $most)";
cmp_ok $took, '>=', 0.85, sprintf('… so six 0.3 s sends take three rounds (%.2f s)', $took);

done_testing;
