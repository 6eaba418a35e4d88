package OidcProvider;

# The OpenID Connect provider of the OIDC tests (tests/t/oidc*.t): the npm
# package oidc-provider (tests/oidc/, installed by scripts/install-deps)
# run by Debian's Node.js on loopback over HTTPS, with a certificate for
# "localhost" made here with openssl.  Tokens come from the provider's own
# endpoints only: the device grant with the user's approval scripted
# against its pages (curl with a cookie jar), refresh, and client
# credentials for a token meant for another audience.
#
#   my $p = OidcProvider->new(accounts => { alice => { employee_id => 'P1', groups => [] } });
#   my $t = $p->device_token('alice');            # {access_token, refresh_token, ...}
#   $p->restart(rotate => 1);                      # new signing keys, new kids
#   $p->stop; $p->freeze; $p->thaw;

use strict;
use warnings;

use File::Path qw(make_path);
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

use EffortTest ();

my $seq = 0;
my @all;

sub new {
	my ($class, %a) = @_;
	my $dir = "$EffortTest::TMP/oidc-" . EffortTest::free_port() . '-' . ++$seq;
	make_path($dir);
	my $self = bless { dir => $dir, port => $a{port} // EffortTest::free_port(),
		host => $a{host} // 'localhost', accounts => $a{accounts} // {},
		keys_from => $a{keys_from} }, $class;
	$self->_cert;
	if ($self->{keys_from}) {   # the same signing keys as another provider
		EffortTest::spew("$dir/keys.json", EffortTest::slurp("$self->{keys_from}{dir}/keys.json"));
	}
	push @all, $self;
	$self->start;
	return $self;
}

sub dir     { $_[0]{dir} }
sub issuer  { "https://$_[0]{host}:$_[0]{port}" }
sub ca_file { "$_[0]{dir}/ca.crt" }
sub pid     { $_[0]{pid} }

# A CA and a server certificate for localhost (and 127.0.0.1) it signs.
sub _cert {
	my ($self) = @_;
	my $d = $self->{dir};
	for my $cmd (
		"openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=effortd-test-ca -keyout $d/ca.key -out $d/ca.crt",
		"openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout $d/server.key -out $d/server.csr",
		"printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > $d/ext.cnf && openssl x509 -req -in $d/server.csr -CA $d/ca.crt -CAkey $d/ca.key -CAcreateserial -days 2 -extfile $d/ext.cnf -out $d/server.crt",
	) {
		my $out = `$cmd 2>&1`;
		die "$cmd: $out" if $?;
	}
}

sub start {
	my ($self, %a) = @_;
	unlink "$self->{dir}/ready";
	EffortTest::spew("$self->{dir}/config.json", JSON::PP->new->canonical->encode({
		port => $self->{port} + 0, host => $self->{host}, cert => "$self->{dir}/server.crt",
		key => "$self->{dir}/server.key", accounts => $self->{accounts},
		listen => $self->{host} =~ /^[\d.]+\z/ ? $self->{host} : '127.0.0.1',
		rotate => $a{rotate} ? JSON::PP::true : JSON::PP::false }));
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$self->{dir}/provider.log";
		open STDERR, '>>', "$self->{dir}/provider.log";
		exec 'node', "$EffortTest::TOP/tests/oidc/provider.mjs", $self->{dir} or POSIX::_exit(127);
	}
	$self->{pid} = $pid;
	my $end = time + 90;
	while (time < $end) {
		return $self if -e "$self->{dir}/ready";
		if (waitpid($pid, WNOHANG) == $pid) {
			delete $self->{pid};
			die "the OIDC provider exited: " . EffortTest::slurp("$self->{dir}/provider.log");
		}
		sleep 0.1;
	}
	die "the OIDC provider did not start within 90 s: " . EffortTest::slurp("$self->{dir}/provider.log");
}

sub stop {
	my ($self) = @_;
	my $pid = delete $self->{pid} or return;
	kill 'CONT', $pid;
	kill 'TERM', $pid;
	waitpid $pid, 0;
}

sub restart {
	my ($self, %a) = @_;
	$self->stop;
	$self->start(%a);
}

# The provider stops answering (its connections hang) until thaw.
sub freeze { kill 'STOP', $_[0]{pid} }
sub thaw   { kill 'CONT', $_[0]{pid} }

# The kids of the provider's current keys (its JWKS, first the newest).
sub kids {
	my ($self) = @_;
	my $keys = JSON::PP->new->decode(EffortTest::slurp("$self->{dir}/keys.json"));
	return map { $_->{kid} } @$keys;
}

# curl against the provider: (HTTP status, body).  $jar: a cookie jar.
sub curl {
	my ($self, $url, %a) = @_;
	my @cmd = ('curl', '-s', '-m', '20', '--cacert', $self->ca_file, '-w', '\n%{http_code}');
	push @cmd, '-b', $a{jar}, '-c', $a{jar}, '-L' if $a{jar};
	push @cmd, map { ('--data-urlencode', "$_=$a{form}{$_}") } sort keys %{ $a{form} } if $a{form};
	push @cmd, $url =~ m{^https://} ? $url : $self->issuer . $url;
	open my $fh, '-|', @cmd or die "curl: $!";
	local $/;
	my $out = <$fh> // '';
	close $fh;
	$out =~ s/\n(\d{3})\z// or return (0, $out);
	return ($1, $out);
}

sub _json {
	my ($self, $status, $body) = @_;
	my $j = eval { JSON::PP->new->decode($body) };
	die "the provider answered $status: $body" unless ref $j;
	return $j;
}

# The device grant's first step: {device_code, user_code, verification_uri, ...}.
sub device_authorization {
	my ($self, %a) = @_;
	return $self->_json($self->curl('/device/auth', form => { client_id => $a{client} // 'effortctl',
		scope => 'openid offline_access effortd' }));
}

# The user's side: opens the verification page, enters the user code,
# confirms, signs in as $account and consents; dies unless the provider
# says the sign-in succeeded.
sub approve {
	my ($self, $user_code, $account) = @_;
	my $jar = "$self->{dir}/jar-" . ++$seq;
	my (undef, $page) = $self->curl('/device', jar => $jar);
	my ($xsrf) = $page =~ /name="xsrf" value="([^"]+)"/ or die "no xsrf on the device page: $page";
	(undef, $page) = $self->curl('/device', jar => $jar,
		form => { xsrf => $xsrf, user_code => $user_code, confirm => 'yes' });
	for (1 .. 4) {
		my ($prompt) = $page =~ /name="prompt" value="([^"]+)"/ or last;
		my ($action) = $page =~ /<form[^>]*action="([^"]+)"/ or die "no form: $page";
		(undef, $page) = $self->curl($action, jar => $jar,
			form => { prompt => $prompt, login => $account, password => 'any' });
	}
	unlink $jar;
	die "the provider did not confirm the sign-in: $page" unless $page =~ /<title>Sign-in Success<\/title>/;
	return 1;
}

# The device grant's token request: (status, JSON).
sub device_poll {
	my ($self, $device_code, %a) = @_;
	my ($s, $b) = $self->curl('/token', form => { client_id => $a{client} // 'effortctl',
		grant_type => 'urn:ietf:params:oauth:grant-type:device_code', device_code => $device_code });
	return ($s, $self->_json($s, $b));
}

# A whole device grant for $account: the token response.
sub device_token {
	my ($self, $account, %a) = @_;
	my $da = $self->device_authorization(%a);
	$self->approve($da->{user_code}, $account);
	my ($s, $t) = $self->device_poll($da->{device_code}, %a);
	die "token request answered $s" unless $s == 200;
	return $t;
}

# A client-credentials token for resource $resource ("urn:other": another audience).
sub robot_token {
	my ($self, $resource) = @_;
	my ($s, $b) = $self->curl('/token', form => { grant_type => 'client_credentials',
		client_id => 'robot', client_secret => 'robot-secret', scope => 'effortd',
		resource => $resource });
	return $self->_json($s, $b);
}

END {
	local $?;
	$_->stop for @all;
}

1;
