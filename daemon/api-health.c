/*
 * GET /healthz and GET /metrics: what operators and load balancers poll.
 *
 * /healthz never waits behind other work: when every pool connection is
 * busy or statements are queued (a stalled or saturated database), it
 * answers at once from the pool's state (200, "database": "busy") instead
 * of queueing a ping that would wait for db.statement_timeout.  Otherwise
 * it pings: 200 ok, or 503 when the database is unreachable.  Either way
 * "pools" says which server each pool's connections are on (host or socket
 * directory, port, primary or standby) and, for a report pool on a standby
 * that is up, its replication state (replica_status()).  That question,
 * asked when the report pool can answer at once, comes before the reply,
 * so the roles shown are the server's answer to it (db_pool_conn_server()
 * gives every connection to a server the newest): current just after a
 * promotion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "effortd.h"
#include "api-handlers.h"
#include "metrics.h"
#include "request.h"
#include "xmalloc.h"

/* A /healthz in progress: the main pool's answer while the report pool's
 * replication state is asked for. */
struct health_job {
	struct request *r;
	bool db_ok;
};

/* Whether pool can run a statement at once: up, nothing queued and a
 * connection free.  /healthz and /metrics ask nothing of a pool that
 * cannot, so that they never wait behind a stalled or saturated database. */
static bool
answers_at_once(struct db_pool *pool)
{
	return db_pool_ready(pool) && db_pool_waiting(pool) == 0 &&
	       db_pool_busy(pool) < db_pool_size(pool);
}

static bool
same(json_t *o, const char *key, const char *value)
{
	return strcmp(json_string_value(json_object_get(o, key)), value) == 0;
}

/* The entry of servers for srv, added with no connections if new. */
static json_t *
server_entry(json_t *servers, const struct db_server *srv)
{
	json_t *s;
	size_t k;

	json_array_foreach(servers, k, s)
	{
		if (same(s, "host", srv->host) && same(s, "port", srv->port) &&
		    same(s, "role", srv->role))
			return s;
	}
	s = json_pack("{s:s, s:s, s:s, s:i}", "host", srv->host, "port",
	    srv->port, "role", srv->role, "connections", 0);
	json_array_append_new(servers, s);
	return s;
}

/* {"size", "ready", "servers": [{"host", "port", "role", "connections"}]} */
static json_t *
pool_json(const struct db_pool *p)
{
	json_t *servers = json_array(), *s;
	struct db_server srv;

	for (int i = 0; i < db_pool_size(p); i++) {
		if (!db_pool_conn_server(p, i, &srv))
			continue;
		s = server_entry(servers, &srv);
		json_object_set_new(s, "connections",
		    json_integer(1 + json_integer_value(
		                         json_object_get(s, "connections"))));
	}
	return json_pack("{s:i, s:i, s:o}", "size", db_pool_size(p), "ready",
	    db_pool_ready_count(p), "servers", servers);
}

/* "pools": the main pool and, if configured, the report pool (with its
 * replication state when known: a JSON document, or NULL). */
static json_t *
pools_json(const char *replication)
{
	json_t *pools = json_pack("{s:o}", "main", pool_json(effortd.db));
	json_t *report, *rep;

	if (effortd.report_db != NULL) {
		report = pool_json(effortd.report_db);
		if (replication != NULL &&
		    (rep = json_loads(replication, 0, NULL)) != NULL)
			json_object_set_new(report, "replication", rep);
		json_object_set_new(pools, "report", report);
	}
	return pools;
}

static void
health_reply(struct request *r, bool db_ok, const char *replication)
{
	if (db_ok)
		reply_json(r, 200,
		    json_pack("{s:s, s:s, s:o}", "status", "ok", "database",
		        "ok", "pools", pools_json(replication)));
	else
		reply_json(r, 503,
		    json_pack("{s:s, s:s, s:o}", "status", "degraded",
		        "database", "unavailable", "pools",
		        pools_json(replication)));
}

static void
replication_done(const struct db_result *res, void *arg)
{
	struct health_job *h = arg;
	bool ok = res->status == DB_OK && PQntuples(res->res) == 1;

	health_reply(h->r, h->db_ok, ok ? PQgetvalue(res->res, 0, 0) : NULL);
	free(h);
}

static void
ping_done(const struct db_result *res, void *arg)
{
	struct request *r = arg;
	struct db_pool *rp = effortd.report_db;
	struct health_job *h;

	/* The report pool's state only when it can answer at once. */
	if (rp == NULL || !answers_at_once(rp)) {
		health_reply(r, res->status == DB_OK, NULL);
		return;
	}
	h = xcalloc(1, sizeof *h);
	h->r = r;
	h->db_ok = res->status == DB_OK;
	db_query(rp, STMT_REPLICA_STATUS, 0, NULL, replication_done, h);
}

void
handle_healthz(struct request *r)
{
	struct db_pool *db = effortd.db;

	if (db_pool_ready(db) && !answers_at_once(db)) {
		reply_json(r, 200,
		    json_pack("{s:s, s:s, s:i, s:i, s:o}", "status", "ok",
		        "database", "busy", "busy", db_pool_busy(db), "waiting",
		        db_pool_waiting(db), "pools", pools_json(NULL)));
		return;
	}
	db_query(db, STMT_PING, 0, NULL, ping_done, r);
}

static void
gauges(struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP effortd_requests_in_flight HTTP requests not yet answered.\n"
	    "# TYPE effortd_requests_in_flight gauge\n"
	    "effortd_requests_in_flight %d\n"
	    "# HELP effortd_db_connections_busy Pool connections running a statement.\n"
	    "# TYPE effortd_db_connections_busy gauge\n"
	    "effortd_db_connections_busy %d\n"
	    "# HELP effortd_db_connections_ready Pool connections up (idle or busy).\n"
	    "# TYPE effortd_db_connections_ready gauge\n"
	    "effortd_db_connections_ready %d\n"
	    "# HELP effortd_db_jobs_waiting Statements waiting for a connection.\n"
	    "# TYPE effortd_db_jobs_waiting gauge\n"
	    "effortd_db_jobs_waiting %d\n"
	    "# HELP effortd_db_up Whether a database connection is ready.\n"
	    "# TYPE effortd_db_up gauge\n"
	    "effortd_db_up %d\n",
	    effortd.inflight, db_pool_busy(effortd.db),
	    db_pool_ready_count(effortd.db), db_pool_waiting(effortd.db),
	    db_pool_ready(effortd.db) ? 1 : 0);
}

/* Findings by rule and severity from the document metrics_findings(). */
static void
findings(struct evbuffer *out, const char *doc)
{
	json_t *list = json_loads(doc, 0, NULL), *f;
	size_t i;

	evbuffer_add_printf(out,
	    "# HELP effortd_findings_open Open audit findings, by rule and severity.\n"
	    "# TYPE effortd_findings_open gauge\n");
	json_array_foreach(list, i, f)
	{
		evbuffer_add_printf(out,
		    "effortd_findings_open{rule=\"%s\",severity=\"%s\"} %lld\n",
		    json_string_value(json_object_get(f, "rule")),
		    json_string_value(json_object_get(f, "severity")),
		    (long long)json_integer_value(json_object_get(f, "open")));
	}
	json_decref(list);
}

/* The report pool's replication state from the document replica_status()
 * (NULL: it did not answer, or the pool is down), when a report pool is
 * configured. */
static void
replication(struct evbuffer *out, const char *doc)
{
	json_t *st = doc != NULL ? json_loads(doc, 0, NULL) : NULL;
	json_t *age = json_object_get(st, "last_replayed_commit_age_seconds");

	evbuffer_add_printf(out,
	    "# HELP effortd_report_replica_up Whether the report pool's "
	    "server (db.report_conninfo) answered.\n"
	    "# TYPE effortd_report_replica_up gauge\n"
	    "effortd_report_replica_up %d\n",
	    st != NULL);
	if (st == NULL)
		return;
	evbuffer_add_printf(out,
	    "# HELP effortd_report_in_recovery Whether the report pool's "
	    "server is a standby (0: a primary, as after a promotion).\n"
	    "# TYPE effortd_report_in_recovery gauge\n"
	    "effortd_report_in_recovery %d\n"
	    "# HELP effortd_report_replay_lag_bytes WAL the standby has "
	    "received but not replayed yet.\n"
	    "# TYPE effortd_report_replay_lag_bytes gauge\n"
	    "effortd_report_replay_lag_bytes %lld\n",
	    json_is_true(json_object_get(st, "in_recovery")),
	    (long long)json_integer_value(
	        json_object_get(st, "replay_lag_bytes")));
	if (json_is_number(age))
		evbuffer_add_printf(out,
		    "# HELP effortd_report_last_replayed_commit_age_seconds "
		    "Seconds since the primary committed the last transaction "
		    "the standby replayed (grows while the primary commits "
		    "nothing).\n"
		    "# TYPE effortd_report_last_replayed_commit_age_seconds "
		    "gauge\n"
		    "effortd_report_last_replayed_commit_age_seconds %.3f\n",
		    json_number_value(age));
	json_decref(st);
}

/* A /metrics scrape in progress: the open findings (the main pool's
 * answer, or NULL) while the report pool's state is asked for. */
struct metrics_job {
	struct request *r;
	char *findings;
};

/* The one place that answers a scrape: the counters, gauges, findings
 * and (with a report pool, known = its state was asked for) replication. */
static void
metrics_reply(
    struct request *r, const char *findings_doc, bool known, const char *rep)
{
	struct evbuffer *out = evbuffer_new();
	size_t len;

	gauges(out);
	metrics_render(out);
	if (findings_doc != NULL)
		findings(out, findings_doc);
	if (known)
		replication(out, rep);
	len = evbuffer_get_length(out);
	reply_text(r, 200, "text/plain; version=0.0.4",
	    (const char *)evbuffer_pullup(out, -1), len);
	evbuffer_free(out);
}

static void
metrics_replication_done(const struct db_result *res, void *arg)
{
	struct metrics_job *m = arg;
	bool ok = res->status == DB_OK && PQntuples(res->res) == 1 &&
	          !PQgetisnull(res->res, 0, 0);

	metrics_reply(
	    m->r, m->findings, true, ok ? PQgetvalue(res->res, 0, 0) : NULL);
	free(m->findings);
	free(m);
}

static void
findings_done(const struct db_result *res, void *arg)
{
	struct request *r = arg;
	struct db_pool *rp = effortd.report_db;
	bool ok = res->status == DB_OK && PQntuples(res->res) == 1;
	const char *doc = ok ? PQgetvalue(res->res, 0, 0) : NULL;
	struct metrics_job *m;

	if (rp == NULL || (db_pool_ready(rp) && !answers_at_once(rp))) {
		/* No report pool, or one busy: its state is not asked for. */
		metrics_reply(r, doc, false, NULL);
		return;
	}
	if (!db_pool_ready(rp)) {
		metrics_reply(r, doc, true, NULL);
		return;
	}
	m = xcalloc(1, sizeof *m);
	m->r = r;
	m->findings = doc != NULL ? xstrdup(doc) : NULL;
	db_query(rp, STMT_REPLICA_STATUS, 0, NULL, metrics_replication_done, m);
}

void
handle_metrics(struct request *r)
{
	struct db_pool *db = effortd.db;

	/* Like /healthz: a scrape never queues behind a stalled database. */
	if (!answers_at_once(db)) {
		struct db_result down = { .status = DB_UNAVAILABLE };
		findings_done(&down, r);
		return;
	}
	db_query(db, STMT_METRICS_FINDINGS, 0, NULL, findings_done, r);
}
