/*
 * The daemon's shared state: the event loop, the configuration in force,
 * the database pool and the HTTP server.  One instance, `effortd`.
 */
#ifndef EFFORTD_H
#define EFFORTD_H

#include <stdbool.h>

#include <event2/event.h>
#include <event2/http.h>

#include "config.h"
#include "db-pool.h"

struct effortd {
	struct event_base *base;
	const char *config_path;
	struct config cfg;
	char *rules_json; /* cfg.rules as the JSON the rule SQL takes */
	struct db_pool *db;
	struct db_pool *report_db; /* db.report_conninfo, or NULL */
	struct evhttp *http;
	int inflight;  /* requests not yet answered */
	bool draining; /* shutting down: answer what is in flight, then exit */
};

extern struct effortd effortd;

/*
 * The pool for read-only work that may run on a replica (reports and
 * violations as of an explicit date): db.report_conninfo's, else the main.
 */
struct db_pool *effortd_read_pool(void);

#endif
