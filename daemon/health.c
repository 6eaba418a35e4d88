/* GET /healthz and GET /metrics: what operators and load balancers poll. */
#include <stdio.h>
#include <string.h>

#include "effortd.h"
#include "handlers.h"
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
	db_query(effortd.db, STMT_PING, 0, NULL, ping_done, r);
}

void
handle_metrics(struct request *r)
{
	char body[1024];
	int n;

	n = snprintf(body, sizeof body,
	    "# HELP effortd_requests_in_flight HTTP requests not yet answered.\n"
	    "# TYPE effortd_requests_in_flight gauge\n"
	    "effortd_requests_in_flight %d\n"
	    "# HELP effortd_db_connections_busy Pool connections running a statement.\n"
	    "# TYPE effortd_db_connections_busy gauge\n"
	    "effortd_db_connections_busy %d\n"
	    "# HELP effortd_db_jobs_waiting Statements waiting for a connection.\n"
	    "# TYPE effortd_db_jobs_waiting gauge\n"
	    "effortd_db_jobs_waiting %d\n"
	    "# HELP effortd_db_up Whether a database connection is ready.\n"
	    "# TYPE effortd_db_up gauge\n"
	    "effortd_db_up %d\n",
	    effortd.inflight, db_pool_busy(effortd.db),
	    db_pool_waiting(effortd.db), db_pool_ready(effortd.db) ? 1 : 0);
	reply_text(r, 200, "text/plain; version=0.0.4", body, (size_t)n);
}
