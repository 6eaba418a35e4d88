# TLS on the listener: a self-signed certificate made with openssl; curl
# trusts it through --cacert; plain HTTP on the TLS port gets nowhere;
# SIGHUP loads a new certificate for new connections without dropping the
# listener; a broken certificate on reload keeps the old one.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Copy qw(copy);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd spew);

my $dir = "$EffortTest::TMP/tls-$$";
mkdir $dir or die "$dir: $!";

sub make_cert {
	my ($name) = @_;
	my $out = `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$name" -addext "subjectAltName=IP:127.0.0.1" -keyout $dir/$name.key -out $dir/$name.crt 2>&1`;
	die "openssl req: $out" if $?;
}
make_cert('first');
make_cert('second');
copy("$dir/first.crt", "$dir/server.crt");
copy("$dir/first.key", "$dir/server.key");

my $d = start_effortd(db => new_db(), 'tls.cert' => "$dir/server.crt", 'tls.key' => "$dir/server.key", wait => 0);
my $url = 'https://127.0.0.1:' . $d->port;

sub curl {
	my ($ca, $path) = @_;
	my $out = `curl -s -m 5 --cacert $dir/$ca.crt -w '\\n%{http_code}' $url$path 2>&1`;
	my @l = split /\n/, $out;
	my $code = pop @l;
	return ($code, join "\n", @l);
}

my $end = time + 20;
my ($code, $body) = (0, '');
while (time < $end) {
	($code, $body) = curl('first', '/healthz');
	last if $code eq '200';
	sleep 0.2;
}
is $code, '200', 'HTTPS /healthz with the certificate trusted: 200' or diag $d->log_text;
like $body, qr/"status":"ok"/, '… the usual body';
($code) = curl('second', '/healthz');
is $code, '000', 'a client trusting another certificate refuses the connection';
my ($s) = $d->req(GET => '/healthz', timeout => 3);
isnt $s, 200, "plain HTTP on the TLS port gets no answer (got $s)";
like $d->log_text, qr/TLS certificate loaded from \Q$dir\E\/server\.crt/, 'the log names the certificate';

# ---- SIGHUP with a new certificate
copy("$dir/second.crt", "$dir/server.crt");
copy("$dir/second.key", "$dir/server.key");
$d->signal('HUP');
$end = time + 10;
while (time < $end) {
	($code) = curl('second', '/healthz');
	last if $code eq '200';
	sleep 0.2;
}
is $code, '200', 'after SIGHUP, new connections get the new certificate';
($code) = curl('first', '/healthz');
is $code, '000', '… and no longer the old one';

# ---- a broken certificate on reload: the current one stays
spew("$dir/server.crt", "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
$d->signal('HUP');
sleep 1;
ok $d->alive, 'SIGHUP with a broken certificate: still running';
like $d->log_text, qr/TLS: keeping the previous certificate: loading certificate \Q$dir\E\/server\.crt/, '… and says so';
($code) = curl('second', '/healthz');
is $code, '200', '… serving with the previous certificate';

# ---- a broken certificate at start-up: no start
my $bad = start_effortd(db => $d->db, 'tls.cert' => "$dir/server.crt", 'tls.key' => "$dir/second.key", wait => 0);
$end = time + 10;
sleep 0.1 while $bad->alive && time < $end;
ok !$bad->alive, 'a broken certificate stops start-up';
like $bad->log_text, qr/TLS: loading certificate/, '… saying why';
$bad->stop;

done_testing;
