/*
 * Keeping findings fresh.  After a feed or a decision is stored, the
 * people it touched are re-evaluated before the client is answered; a full
 * sweep runs every audit.sweep_interval seconds and a minute after local
 * midnight in the organisation's zone, so deadlines turn over by
 * themselves.  The SQL side (audit_sweep) takes advisory locks so that
 * several effortd instances never sweep at once, and queues a full sweep
 * ahead of the scoped sweeps that arrive after it, so that steady feed
 * traffic cannot starve it; a full sweep that fails (e.g. its lock wait
 * timed out) is tried again after SWEEP_RETRY_SECONDS, not at the next
 * interval or midnight.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "effortd.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "xmalloc.h"

struct pending_reply {
	struct request *r;
	json_t *out;
};

/* A failed full sweep is tried again this soon (or at its next time). */
#define SWEEP_RETRY_SECONDS 10

static struct event *sweep_timer;
static double sweep_started;
static bool sweep_failed;

static void
rescored(const struct db_result *res, void *arg)
{
	struct pending_reply *p = arg;

	if (res->status != DB_OK)
		log_warn("re-audit after %s failed (%s); the next sweep will "
		         "catch up",
		    p->r->route->name, res->message);
	reply_json(p->r, 200, p->out);
	free(p);
}

void
audit_then_reply(struct request *r, json_t *out)
{
	struct pending_reply *p = xmalloc(sizeof *p);
	json_t *people = json_incref(json_object_get(out, "people"));
	char *s = json_dumps(people ? people : json_null(), JSON_ENCODE_ANY);

	json_object_del(out, "people");
	p->r = r;
	p->out = out;
	if (people == NULL || json_array_size(people) == 0) {
		struct db_result ok = { .status = DB_OK };
		rescored(&ok, p);
	} else {
		const char *params[2] = { effortd.rules_json, s };
		db_query(effortd.db, STMT_AUDIT_SWEEP, 2, params, rescored, p);
	}
	json_decref(people);
	free(s);
}

/*
 * The callback of a change: a refusal from the SQL is answered as it is;
 * otherwise the people in its "people" are re-audited, then 200.
 */
void
db_reply_then_audit(const struct db_result *res, void *arg)
{
	struct request *r = arg;
	json_t *out;

	if (res->status != DB_OK || PQntuples(res->res) != 1) {
		reply_db_failure(r, res);
		return;
	}
	out = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	if (out == NULL || json_object_get(out, "http_status") != NULL) {
		json_decref(out);
		reply_db_json(r, res); /* the refusal, as the SQL gave it */
		return;
	}
	audit_then_reply(r, out);
}

static void
swept(const struct db_result *res, void *arg)
{
	(void)arg;
	if (res->status == DB_OK) {
		log_info("audit sweep: %s", PQgetvalue(res->res, 0, 0));
		if (strstr(PQgetvalue(res->res, 0, 0), "\"skipped\"") == NULL)
			metrics_sweep(metrics_now() - sweep_started);
	} else
		log_warn("audit sweep failed: %s; trying again in %d s",
		    res->message, SWEEP_RETRY_SECONDS);
	sweep_failed = res->status != DB_OK;
	audit_timer_start();
}

/*
 * Seconds until the next sweep: the interval, or local midnight + 60 s,
 * whichever comes first; after a failed sweep at most SWEEP_RETRY_SECONDS.
 */
static long
next_sweep_delay(void)
{
	long interval = effortd.cfg.sweep_interval;
	time_t now = time(NULL);
	struct tm lt;
	long to_midnight;

	setenv("TZ", effortd.cfg.rules.timezone, 1);
	tzset();
	localtime_r(&now, &lt);
	to_midnight =
	    86400 - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec) + 60;
	if (to_midnight > 86400)
		to_midnight -= 86400;
	if (interval <= 0 || to_midnight < interval)
		interval = to_midnight;
	if (sweep_failed && interval > SWEEP_RETRY_SECONDS)
		return SWEEP_RETRY_SECONDS;
	return interval;
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	const char *params[2] = { effortd.rules_json, NULL };

	(void)fd;
	(void)what;
	(void)arg;
	sweep_started = metrics_now();
	db_query(effortd.db, STMT_AUDIT_SWEEP, 2, params, swept, NULL);
}

void
audit_timer_start(void)
{
	static bool started;
	struct timeval tv = { started ? next_sweep_delay() : 1, 0 };

	started = true;
	if (sweep_timer == NULL)
		sweep_timer = evtimer_new(effortd.base, on_sweep, NULL);
	evtimer_add(sweep_timer, &tv);
}

void
audit_timer_stop(void)
{
	if (sweep_timer != NULL)
		event_free(sweep_timer);
	sweep_timer = NULL;
}
