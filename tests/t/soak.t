# The short soak in make check: scripts/soak for 60 s (`make soak` runs
# the full 10 minutes).  Four feed clients, managers, reviewers and sweeps
# while PostgreSQL restarts, SIGHUPs and dropped connections come in, then
# SIGTERM with work in flight; see scripts/soak for what it checks.
use strict;
use warnings;
use FindBin;

$ENV{SOAK_SECONDS} = 60;
exec $^X, "$FindBin::Bin/../../scripts/soak" or die "scripts/soak: $!";
