# Database host names are resolved without blocking (evdns) and libpq is
# handed the address (hostaddr): host=localhost reaches PostgreSQL over
# TCP at 127.0.0.1; in a multi-host conninfo a name that does not resolve
# is skipped; when nothing resolves, effortd keeps answering (/healthz
# 503 at once) and says why.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql json_encode);

# A private cluster that also listens on 127.0.0.1 (trust, as pg-private sets up).
my $pg = EffortTest::private_cluster();
my $db = new_db(cluster => $pg);
psql($db, q{ALTER SYSTEM SET listen_addresses = '127.0.0.1'});
$pg->stop;
$pg->start;
my $port = $pg->port;
my $name = $db->name;

# ---- host=localhost: resolved by effortd, connected over TCP
{
	my $d = start_effortd(db => $db, 'db.conninfo' => "host=localhost port=$port dbname=$name user=postgres");
	my ($s) = $d->req(GET => '/healthz');
	is $s, 200, 'host=localhost: effortd connects';
	my @addr = psql($db, q{SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'effortd'});
	is_deeply [ map { $_->[0] } @addr ], ['127.0.0.1'], '… over TCP to 127.0.0.1 (the address it looked up)';
	is $d->stop('TERM', 15), 0, '… and stops with exit 0';
}

# ---- a multi-host conninfo: the name that does not resolve is skipped
{
	my $sock = $pg->host;
	my $d = start_effortd(db => $db, 'log.level' => 'debug',
		'db.conninfo' => "host=no-such-host.invalid,$sock port=$port,$port dbname=$name user=postgres");
	my ($s) = $d->req(GET => '/healthz');
	is $s, 200, 'host=no-such-host.invalid,SOCKETDIR: effortd connects through the socket';
	is $d->stop('TERM', 15), 0, '… and stops with exit 0';
}

# ---- nothing resolves: the loop keeps serving, the reason is logged
{
	my $d = start_effortd(db => $db, wait => 0, 'log.level' => 'debug', 'db.connect_timeout' => 2,
		'db.conninfo' => "host=no-such-host.invalid port=$port dbname=$name user=postgres password=s3cret");
	my $end = time + 10;
	my $s = 0;
	while (time < $end) {
		($s) = $d->req(GET => '/healthz', timeout => 2);
		last if $s == 503;
		sleep 0.2;
	}
	is $s, 503, 'host=no-such-host.invalid: /healthz answers 503';
	my $t0 = time;
	($s) = $d->req(GET => '/healthz', timeout => 3);
	cmp_ok time - $t0, '<', 1, '… at once (no lookup blocks the loop)';
	$end = time + 10;
	sleep 0.2 until $d->log_text =~ /cannot resolve no-such-host\.invalid|timed out while resolving/ || time > $end;
	like $d->log_text, qr/cannot resolve no-such-host\.invalid|timed out while resolving/, '… and the log says why';
	unlike $d->log_text, qr/s3cret/, '… without the password';
	is $d->stop('TERM', 15), 0, 'SIGTERM while resolving: exit 0';
}

done_testing;
