# The benchmark (bench/run, docs/performance.md) as a smoke test: the whole
# run at 100 staff must complete and print every figure, with effortd (and
# the psql and pgbench steps standing for it) connected as the runtime role
# effort_grant_runtime gives its privileges (the default); and the
# BENCH_ROLE=owner comparison, AB_ONLY, as the owner, its figures written
# nowhere (RESULTS set and empty).  No timings are asserted; only that each
# measurement ran and the results file matches.
use strict;
use warnings;
use utf8;

use Test::More;
use lib 'tests/lib';
use EffortTest qw(slurp);

my $results = "$EffortTest::TMP/bench-results-$$.txt";
local $ENV{STAFF} = 100;
local $ENV{MONTHS} = 12;
# (f)'s pgbench: 64 new sessions each plan their first call; under load a
# 1-s window could end before any had finished one ("0 transactions").
local $ENV{DURATION} = 3;
local $ENV{NAIVE} = 200;
local $ENV{DURABLE} = 0;
local $ENV{BURST} = 1 << 20;
# (the default, a quarter of the machine's memory, is for the figures)
local $ENV{SHARED_BUFFERS} = 128;
local $ENV{RESULTS} = $results;
local $ENV{EFFORTD} = $EffortTest::EFFORTD;
local $ENV{TMPDIR} = $EffortTest::TMP;

my $out = `$EffortTest::TOP/bench/run 2>&1`;
is($? >> 8, 0, 'bench/run at 100 staff exits 0') or diag($out);

my $num = qr/\d+(?:\.\d+)?/;
like($out, qr/^effortd benchmark, .* \(durable=off, shared_buffers=128 MB\)$/m, 'the server\'s durability and shared_buffers');
like($out, qr/^organisation: 100 staff x 12 months: (\d+) timesheets, (\d+) entries/m, 'organisation size');
like($out, qr/^effortd connected as effortd \(the runtime role, effort_grant_runtime\); migrations, \(b\), \(c\), VACUUM ANALYZE as the owner postgres$/m,
	'effortd served as the runtime role, every connection of its pool');
like($out, qr/^\(a\) effortd ingest over HTTP .*: $num s, $num rows\/s$/m, '(a) ingest rows/s');
like($out, qr/^\(b\) COPY .*: $num s, $num rows\/s$/m, '(b) COPY rows/s');
like($out, qr/^\(c\) naive INSERT per row .*: $num s, $num rows\/s$/m, '(c) naive rows/s');
like($out, qr/ratio a\/b = $num\s+ratio a\/c = $num/, 'ratios a/b and a/c');
like($out, qr/^    CPU: PostgreSQL $num s in \(a\), $num s in \(b\); effortd $num s in \(a\)$/m, 'CPU of (a) and (b)');
like($out, qr/^\(d\) full audit sweep as of 2026-10-01: $num ms, the median of 5 \($num to $num ms, nothing changed between them\) -> .*"open": \d+/m,
	'(d) full audit: the median of five sweeps, with the fastest and the slowest');
like($out, qr/^\(d\) .*"as_of": "2026-10-01"/m, '(d) the sweep audits the fixed AS_OF, the day after the data');
# The machine's speed beside each sweep, and the sweep against it.
my ($d_med, $d_lo, $d_hi) = $out =~ /^\(d\) full audit sweep .*: ($num) ms, the median of 5 \(($num) to ($num) ms/m;
my ($r_med, $r_lo, $r_hi, $q_med, $q_lo, $q_hi) = $out =~ /^    the machine's speed \(bench\/reference before each sweep\): ($num) ms, median \(($num) to ($num)\); sweep \/ reference ($num), median \(($num) to ($num)\)$/m;
ok(defined $q_hi && $r_lo > 0 && $r_lo <= $r_med && $r_med <= $r_hi && $q_lo <= $q_med && $q_med <= $q_hi,
	'(d) the reference before each sweep, and the ratio of each sweep to it') or diag($out);
ok(defined $q_hi && $q_lo <= $d_hi / $r_lo + 0.01 && $q_hi >= $d_lo / $r_hi - 0.01, '(d) the ratios lie within the sweeps over the references');
like($out, qr/^\(e\) re-audit after one change: POST of one timesheet end to end p50 $num ms, p99 $num ms \((\d+) POSTs of different people, beside a feed of (\d+) changed batches of \d+\); scoped sweep alone p50 $num ms, p99 $num ms/m,
	'(e) re-audit latency');
my ($e_posts, $e_batches) = $out =~ /^\(e\) .*\((\d+) POSTs of different people, beside a feed of (\d+) changed/m;
cmp_ok($e_posts // 0, '>=', 50, '(e) at least 50 POSTs of one timesheet');
cmp_ok($e_batches // 0, '>=', 1, '(e) beside at least one concurrent batch');
like($out, qr/^    a month-end batch \(one month's timesheets of (\d+) people spread over the organisation, one POST\): \d+, \d+ and \d+ ms$/m,
	'(e) three month-end batches');
my ($m_people) = $out =~ /^    a month-end batch \(one month's timesheets of (\d+) people/m;
cmp_ok($m_people // 0, '>=', 90, '(e) a month-end batch holds (nearly) everyone at 100 staff');
like($out, qr/^\(f\) GET \/v1\/violations\?person_id=.*: $num req\/s, p50 $num ms, p99 $num ms$/m, '(f) wrk figures');
like($out, qr/pgbench .*: $num tps, latency average $num ms/, '(f) pgbench figures');
like($out, qr/ratio f\/pgbench = $num/, 'ratio f/pgbench');
like($out, qr/^    paced at 0\.55 x pgbench's rate: $num req\/s \($num x pgbench\), p50 $num ms, p99 $num ms$/m,
	'(f) paced, open loop, at 0.55 x pgbench\'s rate: the rate reached and its latencies');
like($out, qr/^    pgbench at that rate \(-R\): $num tps, p50 $num ms, p99 $num ms$/m, '(f) the reference at that rate');
like($out, qr/^\(g\) effortd peak RSS \(VmHWM\): $num MiB$/m, '(g) peak RSS');
like($out, qr/^\(h\) burst: 4 concurrent people feeds of $num MiB .*: $num s$/m, '(h) burst');
like($out, qr/^    \/healthz every 10 ms during the burst \(\d+ probes, 0 not 200\): p50 $num ms, p99 $num ms, max $num ms$/m,
	'(h) /healthz probe figures, every probe answered 200');
like($out, qr/^    the same probe, effortd idle after the burst \(\d+ probes\): p50 $num ms, p99 $num ms, max $num ms$/m,
	'(h) the probe against the idle daemon');
like($out, qr/^    effortd RSS: before $num MiB, peak $num MiB \(peak minus the four bodies: -?$num MiB\), 10 s after $num MiB$/m,
	'(h) RSS figures');
ok(-s $results, 'results file written');
my $file = -e $results ? slurp($results) : '';
ok(index($out, $file) >= 0, 'the results file holds what was printed');

{
	local $ENV{BENCH_ROLE} = 'owner';
	local $ENV{AB_ONLY} = 1;
	local $ENV{RESULTS} = '';    # set and empty: printed, written nowhere
	my $owner = `$EffortTest::TOP/bench/run 2>&1`;
	is($? >> 8, 0, 'BENCH_ROLE=owner AB_ONLY=1 RESULTS= exits 0') or diag($owner);
	like($owner, qr/^\(a\) $num s, \(b\) $num s, a\/b $num; PostgreSQL CPU \(a\) $num s, \(b\) $num s; effortd CPU \(a\) $num s$/m,
		'AB_ONLY: (a) and (b) with their CPU');
	like($owner, qr/^effortd connected as postgres \(the owner\); migrations, \(b\), \(c\), VACUUM ANALYZE as the owner postgres$/m,
		'BENCH_ROLE=owner: effortd served as the owner');
}
{
	# A failure after PostgreSQL started (a results file that cannot be
	# written): the run exits non-zero, whatever the clean-up does after.
	local $ENV{AB_ONLY} = 1;
	local $ENV{RESULTS} = "$EffortTest::TMP/no-such-directory-$$/results.txt";
	my $failed = `$EffortTest::TOP/bench/run 2>&1`;
	isnt($? >> 8, 0, 'AB_ONLY=1 with a RESULTS that cannot be written: exits non-zero') or diag($failed);
	like($failed, qr/no-such-directory-\d+\/results\.txt: No such file or directory/, '… naming the file');
}
{
	local $ENV{SHARED_BUFFERS} = '1GB';
	my $bad = `$EffortTest::TOP/bench/run 2>&1`;
	isnt($? >> 8, 0, 'SHARED_BUFFERS=1GB is refused');
	like($bad, qr/SHARED_BUFFERS must be a whole number of MB/, 'naming the setting');
}
{
	local $ENV{BENCH_ROLE} = 'superuser';
	my $bad = `$EffortTest::TOP/bench/run 2>&1`;
	isnt($? >> 8, 0, 'BENCH_ROLE=superuser is refused');
	like($bad, qr/BENCH_ROLE must be runtime or owner/, 'naming the setting');
}

done_testing();
