# A private Postfix for the reminder tests (reminders_smtp.t,
# reminders_retry.t): its configuration, queue and log under the test's
# tmp folder, listening on loopback ports of its own (the system's port 25
# listener removed, no chroot), delivering mail for example.ac.uk to the
# Maildir $pf->box (a virtual mailbox).  Postfix starts as root: the tests
# skip without it.
#
#   my $pf = EffortPostfix->new(recipient_restrictions => '...',
#                               extra_listeners => { $port => ' -o ...' });
#   $pf->start; $pf->port; $pf->delivered; $pf->maillog; $pf->stop;
package EffortPostfix;

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use EffortTest qw(slurp spew wait_for);

my @running;    # stopped at exit, whatever the test did
END { local $?; $_->stop for @running }

# Configures it; not started.  recipient_restrictions: the
# smtpd_recipient_restrictions (default: loopback clients only);
# extra_listeners: more ports, each with the smtpd options it adds.
sub new {
	my ($class, %opt) = @_;
	my $dir = "$EffortTest::TMP/postfix-$$-" . scalar(@running);
	my $self = bless { dir => $dir, port => EffortTest::free_port(), up => 0 }, $class;
	push @running, $self;
	mkdir $_ or die "$_: $!" for $dir, "$dir/conf", "$dir/queue", "$dir/data", "$dir/mail";
	chmod 0755, $dir;
	my ($nobody_uid, $nobody_gid) = (getpwnam('nobody'))[2, 3];
	chown $nobody_uid, $nobody_gid, "$dir/mail";
	chown scalar getpwnam('postfix'), -1, "$dir/data";
	spew("$dir/conf/master.cf", slurp('/etc/postfix/master.cf'));
	my $restrictions = $opt{recipient_restrictions} // 'permit_mynetworks, reject';
	spew("$dir/conf/main.cf", <<"EOF");
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = relay.effortd-test.invalid
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
smtputf8_enable = no
virtual_mailbox_domains = example.ac.uk
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:$nobody_uid
virtual_gid_maps = static:$nobody_gid
smtpd_recipient_restrictions = $restrictions
EOF
	my %listeners = (($self->{port} => ''), %{ $opt{extra_listeners} // {} });
	my $ok = $self->postconf('-F', '*/*/chroot = n') && $self->postconf('-M#', 'smtp/inet');
	$ok &&= $self->postconf('-M', "127.0.0.1:$_/inet = 127.0.0.1:$_ inet n - n - - smtpd$listeners{$_}")
		for sort keys %listeners;
	BAIL_OUT("the private Postfix could not be configured in $dir") unless $ok;
	return $self;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }
sub postconf { my $self = shift; system('/usr/sbin/postconf', '-c', "$self->{dir}/conf", @_) == 0 }
sub slurp_if { -e $_[0] ? slurp($_[0]) : '' }
sub maillog { slurp_if("$_[0]{dir}/maillog") }
sub answers { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$_[0]{port}", Timeout => 1) }

# The mails delivered so far, in the order of their file names.
sub delivered { map { slurp($_) } sort glob "$_[0]{dir}/mail/box/new/*" }

sub start {
	my ($self) = @_;
	my $dir = $self->{dir};
	my $ok = system("/usr/sbin/postfix -c $dir/conf start >$dir/start.log 2>&1") == 0;
	$self->{up} = $ok;
	BAIL_OUT('the private Postfix did not start: ' . slurp_if("$dir/start.log") . $self->maillog)
		unless $ok && wait_for(sub { $self->answers }, 15);
	return 1;
}

# Stops it and waits until its master is gone and its port refuses.
sub stop {
	my ($self) = @_;
	return unless $self->{up};
	$self->{up} = 0;
	my $pid = slurp_if("$self->{dir}/queue/pid/master.pid") =~ /(\d+)/ ? $1 : undef;
	system('/usr/sbin/postfix', '-c', "$self->{dir}/conf", 'stop');
	wait_for(sub { !kill 0, $pid }, 10) if $pid;
	wait_for(sub { !$self->answers }, 10);
}

1;
