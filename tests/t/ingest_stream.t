# Streaming ingest: a feed is read, checked and staged in slices (at most
# 1,000 records or 1 MiB per turn of the event loop) in one transaction.
#   - a feed much larger than a slice: /healthz and reads are answered
#     while it is being read, and it stores what it should;
#   - bad records far into a large batch: the same 422 as ever (each bad
#     record, those effortd finds and those the database finds), nothing
#     stored, JSON (index) and CSV (line);
#   - a client that goes away mid-feed: nothing stored, and the pool's one
#     connection is back (the next feed is stored; no session left open);
#   - the spool folder with large files, read from disk in slices.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Digest::SHA qw(sha256_hex);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);
use EffortTest qw(new_db start_effortd psql psql_value post_feed json_encode spew slurp);

sub person {
	my ($i) = @_;
	return { person_id => sprintf('S%06d', $i), name => "Staff member $i with a longish name",
		email => "staff$i\@example.ac.uk", line_manager_id => undef, fte => 1,
		employment_start => '2020-01-01', employment_end => undef };
}

sub people { [ map { person($_) } 0 .. $_[0] - 1 ] }

sub people_csv {
	my ($n, $edit) = @_;
	my @l = ('person_id,name,email,line_manager_id,fte,employment_start,employment_end');
	for my $i (0 .. $n - 1) {
		my $p = person($i);
		$edit->($i, $p) if $edit;
		push @l, join ',', map { $_ // '' } @$p{qw(person_id name email line_manager_id fte employment_start employment_end)};
	}
	return join("\n", @l) . "\n";
}

my $db = new_db();
my $d = start_effortd(db => $db, 'db.pool_size' => 1, 'log.level' => 'info');
my $token = $d->token('feed');

# ---- a large feed, interleaved with other requests --------------------
{
	my $n = 60_000;
	my $body = json_encode(people($n));
	cmp_ok length $body, '>', 8 << 20, 'the feed is many slices long (over 8 MiB, 60 slices of records)';
	my $out = "$EffortTest::TMP/ingest-stream-$$.out";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		my ($s, $j) = $d->req(POST => '/v1/people', token => $token, body => $body, timeout => 300);
		spew($out, json_encode([ $s, $j ]));
		POSIX::_exit(0);
	}
	# Probe /healthz while the feed is in flight.
	my (@during, $done);
	my $running = sub {
		$done = 1 if !$done && waitpid($pid, WNOHANG) != 0;
		return !$done;
	};
	my $end = time + 300;
	while (time < $end && $running->()) {
		my $t0 = time;
		my ($s) = $d->req(GET => '/healthz', timeout => 10);
		my $t1 = time;
		push @during, [ $s, $t1 - $t0 ] if $running->();
		sleep 0.01;
	}
	waitpid $pid, 0 unless $done;
	my ($s, $j) = @{ EffortTest::json_decode(slurp($out)) };
	is $s, 200, 'the large feed is stored' or diag explain $j;
	is $j->{accepted}, $n, "… all $n records";
	is psql_value($db, 'SELECT count(*) FROM people'), $n, "… $n people in the database";
	my @ok = grep { $_->[0] == 200 } @during;
	cmp_ok scalar @ok, '>=', 10, '/healthz was answered (200) many times before the feed was'
		or diag scalar(@during) . ' probes during the feed';
	my ($max) = sort { $b <=> $a } map { $_->[1] } @during;
	cmp_ok $max // 0, '<', 1.0, sprintf('… none waited a second (slowest %.0f ms)', 1000 * ($max // 0));
	note sprintf "%d probes during the feed, slowest %.1f ms", scalar @during, 1000 * ($max // 0);
}

# ---- bad records far into a large batch: the same 422 ------------------
{
	my $n = 30_000;
	my $batch = people($n);
	$batch->[15_000]{fte} = 7;                                  # effortd: out of range
	$batch->[17_500]{person_id} = $batch->[100]{person_id};     # the database: a duplicate
	$batch->[29_999]{colour} = 'blue';                          # effortd: unknown field
	my $before = psql_value($db, 'SELECT count(*) FROM people');
	psql($db, 'TRUNCATE people CASCADE');
	my ($s, $j) = post_feed($d, 'people', $batch);
	is $s, 422, 'a large batch with three bad records far in: 422';
	is $j->{error}, '3 errors in the people feed; nothing was stored', '… counting them';
	is_deeply [ map { [ $_->{index}, $_->{field} ] } @{ $j->{errors} } ],
		[ [ 15000, 'fte' ], [ 17500, 'person_id' ], [ 29999, 'colour' ] ],
		'… listing each by its index and field, in order' or diag explain $j;
	is $j->{errors}[1]{message}, 'duplicates record 100 of this batch', "… the database's objection too";
	is psql_value($db, 'SELECT count(*) FROM people'), 0, '… and nothing is stored';

	# The same in CSV: lines (header = line 1, record i = line i + 2).
	my $csv = people_csv($n, sub {
		my ($i, $p) = @_;
		$p->{fte} = 7 if $i == 15_000;
		$p->{person_id} = person(100)->{person_id} if $i == 17_500;
		$p->{employment_start} = '2020-13-01' if $i == 29_999;
	});
	($s, $j) = post_feed($d, 'people', $csv);
	is $s, 422, 'CSV: 422';
	is_deeply [ map { [ $_->{line}, $_->{field} ] } @{ $j->{errors} } ],
		[ [ 15002, 'fte' ], [ 17502, 'person_id' ], [ 30001, 'employment_start' ] ],
		'… each bad record by its line' or diag explain $j;
	is psql_value($db, 'SELECT count(*) FROM people'), 0, '… nothing stored';

	# Only the database's objection, far in: 422 from the staged batch.
	$batch = people($n);
	$batch->[25_000]{person_id} = $batch->[3]{person_id};
	($s, $j) = post_feed($d, 'people', $batch);
	is $s, 422, 'a duplicate at record 25,000 only: 422';
	is_deeply $j->{errors}, [ { index => 25000, field => 'person_id',
		message => 'duplicates record 3 of this batch' } ], '… naming it' or diag explain $j;
	is psql_value($db, 'SELECT count(*) FROM people'), 0, '… nothing stored';

	# A syntax error far in: 400 with the line and column, nothing stored.
	my $text = json_encode(people(20_000));
	$text =~ s/"S019000"/"S019000" "x"/ or die;
	($s, $j) = $d->req(POST => '/v1/people', token => $token, body => $text);
	is $s, 400, 'a syntax error at record 19,000: 400';
	like $j->{error}, qr/^invalid JSON at line 1, column \d+: '\}' expected near '"x"'$/, '… saying where';
	is psql_value($db, 'SELECT count(*) FROM people'), 0, '… nothing stored';
}

# ---- a client that goes away mid-feed ----------------------------------
{
	my $n = 80_000;
	my $body = json_encode(people($n));
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $d->port, Proto => 'tcp')
		or die "connect: $!";
	binmode $sock;
	print $sock "POST /v1/people HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $token\r\n"
		. "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n" . $body;
	# Gone as soon as the whole body is sent, before any answer.
	close $sock;
	# The pool has one connection: the next feed gets it only once the
	# abandoned one has given it back.
	my ($s, $j) = post_feed($d, 'people', [ person(1) ]);
	is $s, 200, 'after a client left mid-feed, the next feed is stored (the connection is back)'
		or diag explain $j;
	is psql_value($db, 'SELECT count(*) FROM people'), 1, '… and nothing of the abandoned feed was';
	is psql_value($db, q{SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'effortd' AND state LIKE 'idle in transaction%'}), 0,
		'… no transaction left open';
	psql($db, 'TRUNCATE people CASCADE');
}

# ---- the spool folder, large files ---------------------------------------
{
	my $dir = "$EffortTest::TMP/ingest-stream-spool-$$";
	mkdir $dir or die "$dir: $!";
	$d->stop;
	$d = start_effortd(db => $db, 'db.pool_size' => 1, 'spool.dir' => $dir, 'spool.interval' => 1);
	my $n = 40_000;
	my $json = json_encode(people($n));
	my $bad = people(30_000);
	$bad->[29_000]{fte} = -1;
	for ([ "people-big.json", $json ], [ "people-bad.json", json_encode($bad) ]) {
		spew("$dir/.incoming", $_->[1]);
		rename "$dir/.incoming", "$dir/$_->[0]" or die "rename: $!";
	}
	my $end = time + 120;
	sleep 0.2 while time < $end && !(-f "$dir/done/people-big.json" && -f "$dir/failed/people-bad.json");
	ok -f "$dir/done/people-big.json", sprintf('a %.1f MiB spool file is stored (done/)', length($json) / 2**20);
	is psql_value($db, 'SELECT count(*) FROM people'), $n, "… its $n records";
	is psql_value($db, q{SELECT size || ':' || sha256 || ':' || records FROM spool_files
		WHERE file_name = 'people-big.json'}), length($json) . ':' . sha256_hex($json) . ":$n",
		'… claimed in the ledger with its size and SHA-256, read piece by piece';
	ok -f "$dir/failed/people-bad.json", 'a large spool file with a bad record far in: failed/';
	like slurp("$dir/failed/people-bad.json.errors"),
		qr/^people-bad\.json: 1 error in the people feed; nothing was stored\nrecord 29000: fte: /,
		'… its .errors names the record';
}

done_testing();
