#!/usr/bin/perl
# db.report_conninfo: reports and violations asked for an explicit as_of are
# served from the second pool (a read replica in production; here a second
# database holding the sample organisation stands in for it), while feeds,
# tokens and today's violations stay on db.conninfo.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use EffortTest qw(new_db start_effortd load_sample post_feed psql);

# The "replica": a database with the sample organisation, loaded through a
# daemon of its own.
my $replica = new_db();
my $loader = start_effortd(db => $replica);
load_sample($loader);
is $loader->stop, 0, 'the sample is loaded into the stand-in replica';

# The primary: one person, no grants.
my $primary = new_db();
my $d = start_effortd(db => $primary, 'db.report_conninfo' => $replica->conninfo);
my ($s) = post_feed($d, people => [ { person_id => 'P1', name => 'Only Person', fte => 1,
	employment_start => '2020-01-01' } ]);
is $s, 200, 'a feed is accepted';
is psql($primary, 'SELECT count(*) FROM people'), 1, '… and stored on the primary';
is psql($replica, q{SELECT count(*) FROM people WHERE person_id = 'P1'}), 0, '… not on the replica';

my $rev = $d->token('reviewer');
my ($st, $j) = $d->req(GET => '/v1/reports/grants/ES%2FW009876%2F1?as_of=2026-10-01', token => $rev);
is $st, 200, 'a grant report for a grant only the replica has: 200 (served by the report pool)';
is $j->{grant}{grant_ref} // $j->{grant_ref}, 'ES/W009876/1', '… for that grant' or diag explain $j;

($st, $j) = $d->req(GET => '/v1/violations?as_of=2026-10-01', token => $rev);
is $st, 200, 'violations with an explicit as_of: 200';
my $want = psql($replica, q{SELECT count(*) FROM audit_findings('2026-10-01', '{}')});
cmp_ok $want, '>', 10, "the replica's audit as of 2026-10-01 has the sample's findings";
is scalar @{ $j->{violations} }, $want, "… and those are what effortd answers";

($st, $j) = $d->req(GET => '/v1/violations', token => $rev);
is $st, 200, "today's violations: 200";
is_deeply $j->{violations}, [], '… from the primary, which has none';

# Without report_conninfo the same report is the primary's: 404.
my $plain = start_effortd(db => $primary);
($st) = $plain->req(GET => '/v1/reports/grants/ES%2FW009876%2F1?as_of=2026-10-01',
	token => $plain->token('reviewer'));
is $st, 404, 'without db.report_conninfo the report reads the primary: 404';

is $d->stop, 0, 'SIGTERM: exit 0 with two pools';
is $plain->stop, 0, 'SIGTERM: exit 0';
done_testing;
