# One refusal protocol between SQL and C: a statement's jsonb value is a
# refusal when it is an object with an integer "http_status" and a string
# "error" (whatever other keys it has, in whatever order jsonb puts them),
# and a document otherwise.  A reply that cannot be built from what the
# SQL returned is a 500 with a logged reason; effortd keeps running.
# (SQL functions are replaced in this test's own database to get answers
# the real ones never give.)
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use EffortTest qw(new_db start_effortd psql post_feed json_encode);

my $db = new_db();
my $d = start_effortd(db => $db);
my $admin = $d->token('admin');

sub tokens_list_returns {
	my ($json) = @_;
	psql($db, qq{CREATE OR REPLACE FUNCTION tokens_list() RETURNS jsonb LANGUAGE sql STABLE
		AS \$\$ SELECT '$json'::jsonb \$\$});
}

# ---- a refusal with a key that jsonb orders before "error"
tokens_list_returns('{"at": "2026-01-01", "error": "not now", "http_status": 409}');
my ($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 409, 'a refusal whose first key is not "error" is still a refusal: 409';
is_deeply $j, { error => 'not now' }, '… with its message';

# ---- a refusal with per-record errors
tokens_list_returns('{"error": "2 problems", "errors": [{"index": 0, "field": "x", "message": "bad"}], "http_status": 422}');
($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 422, 'a refusal with errors: its status';
is_deeply $j, { error => '2 problems', errors => [ { index => 0, field => 'x', message => 'bad' } ] },
	'… its message and its errors';

# ---- "error" without "http_status" is a document, not a refusal
tokens_list_returns('{"error": "a field called error", "tokens": []}');
($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 200, 'an object with "error" but no "http_status" is a document: 200';
is_deeply $j, { error => 'a field called error', tokens => [] }, '… answered as it is';

# ---- a status outside 400..599 is not a refusal
tokens_list_returns('{"error": "odd", "http_status": 200}');
($s) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 200, 'http_status 200 is no refusal';

# ---- "http_status" below the top, or as a value: a document.  (effortd
# parses only an answer whose text holds the key; these are parsed and
# found to be documents.)
tokens_list_returns('{"note": "http_status", "tokens": [{"error": "inner", "http_status": 409}]}');
($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 200, 'a refusal nested in a document, and "http_status" as a value: 200';
is_deeply $j, { note => 'http_status', tokens => [ { error => 'inner', http_status => 409 } ] },
	'… answered as it is';

# ---- a refusal's text inside a string: a document, sent unparsed
tokens_list_returns(q({"note": "{\\"error\\": \\"x\\", \\"http_status\\": 409}", "tokens": []}));
($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 200, 'a refusal written inside a string: 200';
is_deeply $j, { note => '{"error": "x", "http_status": 409}', tokens => [] }, '… answered as it is';

# ---- no value at all: 500, logged
psql($db, q{CREATE OR REPLACE FUNCTION tokens_list() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT NULL::jsonb $$});
($s, $j) = $d->req(GET => '/v1/tokens', token => $admin);
is $s, 500, 'a NULL answer: 500';
is_deeply $j, { error => 'internal error' }, '… internal error';
like $d->log_text, qr/tokens_list: the statement returned no value/, '… and the log says why';

# ---- a store whose answer lacks the keys of the reply: 500, not an exit
psql($db, q{CREATE OR REPLACE FUNCTION ingest_people(p_batch jsonb, p_token bigint,
	p_check_only boolean DEFAULT false) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"people": []}'::jsonb $$});
($s, $j) = post_feed($d, people => [ { person_id => 'P1', name => 'P One', fte => 1, employment_start => '2020-01-06' } ]);
is $s, 500, 'a feed answer without accepted/created/...: 500';
is_deeply $j, { error => 'internal error' }, '… internal error';
like $d->log_text, qr/people: the 200 reply could not be built/, '… the log says why';
ok $d->alive, 'effortd is still running';
($s) = $d->req(GET => '/healthz');
is $s, 200, '… and answers';

done_testing;
