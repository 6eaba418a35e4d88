/*
 * Keeping findings fresh.  After a feed or a decision is stored, the
 * people it touched are re-evaluated before the client is answered; a full
 * sweep runs every audit.sweep_interval seconds and a minute after local
 * midnight in the organisation's zone, so deadlines turn over by
 * themselves.  The SQL side (audit_sweep) takes advisory locks so that
 * several effortd instances never sweep at once, and queues a full sweep
 * ahead of the scoped sweeps that arrive after it, so that steady feed
 * traffic cannot starve it; the full sweep, and a re-audit of more than
 * 1,000 people, hold up re-audits only while they reconcile, not while
 * they evaluate (40_audit.sql).  A full sweep that
 * fails (e.g. its lock wait timed out) is tried again after
 * SWEEP_RETRY_SECONDS, not at the next interval or midnight.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job-reaudit.h"
#include "job-clock.h"
#include "effortd.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

struct rescore {
	audit_done_cb done;
	void *arg;
};

/* A failed full sweep is tried again this soon (or at its next time). */
#define SWEEP_RETRY_SECONDS 10

static struct event *sweep_timer;
static double sweep_started;
static bool sweep_failed;
static bool sweep_running; /* a full sweep's statement is in flight */
static bool sweep_again;   /* another as soon as it is done */

static void
rescored(const struct db_result *res, void *arg)
{
	struct rescore *p = arg;

	if (res->status != DB_OK && res->status != DB_CANCELLED)
		log_warn("re-audit failed (%s); the next sweep will catch up",
		    res->message);
	p->done(res->status == DB_OK, p->arg);
	free(p);
}

void
audit_rescore(json_t *people, audit_done_cb done, void *arg)
{
	struct rescore *p;
	char *s;

	if (json_array_size(people) == 0) {
		done(true, arg);
		return;
	}
	if ((s = json_dumps(people, JSON_COMPACT)) == NULL) {
		log_error("re-audit: the people list cannot be encoded");
		done(false, arg);
		return;
	}
	p = xmalloc(sizeof *p);
	p->done = done;
	p->arg = arg;
	const char *params[2] = { effortd.rules_json, s };
	db_query(effortd.db, STMT_AUDIT_SWEEP, 2, params, rescored, p);
	free(s);
}

static void
swept(const struct db_result *res, void *arg)
{
	(void)arg;
	if (res->status == DB_OK) {
		log_info("audit sweep: %s", PQgetvalue(res->res, 0, 0));
		if (strstr(PQgetvalue(res->res, 0, 0), "\"skipped\"") == NULL)
			metrics_sweep(metrics_now() - sweep_started);
	} else if (effortd.draining)
		log_info("audit sweep stopped: effortd is shutting down (the "
		         "next start sweeps)");
	else
		log_warn("audit sweep failed: %s; trying again in %d s",
		    res->message, SWEEP_RETRY_SECONDS);
	sweep_failed = res->status != DB_OK;
	sweep_running = false;
	if (!effortd.draining)
		audit_timer_start();
	if (sweep_again) {
		sweep_again = false;
		audit_sweep_soon();
	}
}

/* Seconds from now until the next 00:01 local time (job-clock.c: the
 * days the clocks change are 23 or 25 hours long). */
long
sweep_seconds_to_midnight(time_t now)
{
	return seconds_until_local(now, 0, 1);
}

/*
 * Seconds until the next sweep: the interval, or local midnight + 60 s,
 * whichever comes first; after a failed sweep at most SWEEP_RETRY_SECONDS.
 */
static long
next_sweep_delay(void)
{
	long interval = effortd.cfg.sweep_interval;
	long to_midnight = sweep_seconds_to_midnight(time(NULL));

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
	sweep_running = true;
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

/*
 * A full sweep in a second (a reload changed the rule settings, and the
 * kept findings are the old ones'); one in flight began with the old
 * settings, so another follows it.
 */
void
audit_sweep_soon(void)
{
	struct timeval tv = { 1, 0 };

	if (sweep_timer == NULL || effortd.draining)
		return;
	if (sweep_running) {
		sweep_again = true;
		return;
	}
	evtimer_add(sweep_timer, &tv); /* (re-adding moves it) */
}

void
audit_timer_stop(void)
{
	if (sweep_timer != NULL)
		event_free(sweep_timer);
	sweep_timer = NULL;
}
