/*
 * GET /healthz and GET /metrics: what operators and load balancers poll.
 *
 * /healthz never waits behind other work: when every pool connection is
 * busy or statements are queued (a stalled or saturated database), it
 * answers at once from the pool's state (200, "database": "busy") instead
 * of queueing a ping that would wait for db.statement_timeout.  Otherwise
 * it pings: 200 ok, or 503 when the database is unreachable.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "effortd.h"
#include "handlers.h"
#include "metrics.h"
#include "request.h"

static void
ping_done(const struct db_result *res, void *arg)
{
	struct request *r = arg;

	if (res->status == DB_OK)
		reply_json(r, 200,
		    json_pack("{s:s, s:s}", "status", "ok", "database", "ok"));
	else
		reply_json(r, 503,
		    json_pack("{s:s, s:s}", "status", "degraded", "database",
		        "unavailable"));
}

void
handle_healthz(struct request *r)
{
	struct db_pool *db = effortd.db;

	if (db_pool_ready(db) &&
	    (db_pool_waiting(db) > 0 || db_pool_busy(db) >= db_pool_size(db))) {
		reply_json(r, 200,
		    json_pack("{s:s, s:s, s:i, s:i}", "status", "ok",
		        "database", "busy", "busy", db_pool_busy(db), "waiting",
		        db_pool_waiting(db)));
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

static void
findings_done(const struct db_result *res, void *arg)
{
	struct request *r = arg;
	struct evbuffer *out = evbuffer_new();
	bool ok = res->status == DB_OK && PQntuples(res->res) == 1;
	size_t len;

	gauges(out);
	metrics_render(out);
	if (ok)
		findings(out, PQgetvalue(res->res, 0, 0));
	len = evbuffer_get_length(out);
	reply_text(r, 200, "text/plain; version=0.0.4",
	    (const char *)evbuffer_pullup(out, -1), len);
	evbuffer_free(out);
}

void
handle_metrics(struct request *r)
{
	struct db_pool *db = effortd.db;

	/* Like /healthz: a scrape never queues behind a stalled database. */
	if (!db_pool_ready(db) || db_pool_waiting(db) > 0 ||
	    db_pool_busy(db) >= db_pool_size(db)) {
		struct db_result down = { .status = DB_UNAVAILABLE };
		findings_done(&down, r);
		return;
	}
	db_query(db, STMT_METRICS_FINDINGS, 0, NULL, findings_done, r);
}
