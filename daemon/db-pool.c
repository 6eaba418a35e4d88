/*
 * The asynchronous libpq pool.  Each connection is a small state machine
 * (enum pool_conn_state) advanced by pool_conn_step() from socket events and
 * timers:
 *
 *   DOWN -> RESOLVING -> CONNECTING -> PREPARING -> IDLE <--> BUSY
 *     ^         |            |             |             ^ |    |
 *     +-- backoff <----------+-------------+------------ HELD <--+
 *
 * HELD: a session (db_session_*) owns the connection for a transaction
 * of several steps; its own small state machine (enum session_state) is
 * advanced by session_step() on the connection's socket events.
 *
 * RESOLVING looks the conninfo's host names up with evdns (db-addr.c);
 * the three states before IDLE share one deadline, db.connect_timeout,
 * and BUSY has db.statement_timeout plus a margin.  Connections are
 * non-blocking; statements are prepared in one pipeline when a connection
 * comes up.  A job that finds no ready connection waits in a bounded
 * FIFO; when every connection is down, jobs fail at once with
 * DB_UNAVAILABLE.  Jobs' lives, handles, owners and cancellation are
 * described in db-pool.h; failures and cancellations are reported from one
 * event (pool->report_ev), never from inside the call that caused them.
 * A running statement is cancelled with PQcancel() on a short-lived
 * thread (libpq 15 has no non-blocking cancel; PQcancel opens its own
 * connection to the server and may block), so the loop never waits.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/dns.h>

#include "db-hosts.h"
#include "db-pool.h"
#include "db-addr.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define MAX_CONN_PARAMS 72 /* keywords of a conninfo, and ours */
#define CANCEL_GRACE    5  /* seconds a cancelled statement may take to stop */
#define CANCEL_WAIT     5  /* seconds db_pool_free waits for cancel threads */

enum pool_conn_state {
	POOL_CONN_DOWN,
	POOL_CONN_RESOLVING,
	POOL_CONN_CONNECTING,
	POOL_CONN_PREPARING,
	POOL_CONN_IDLE,
	POOL_CONN_BUSY,
	POOL_CONN_HELD
};

enum session_state {
	SESSION_QUEUED,  /* waiting for a connection */
	SESSION_READY,   /* holds one; no step in flight */
	SESSION_RUNNING, /* a statement (or COPY end) in flight */
	SESSION_COPY,    /* COPY FROM STDIN taking data */
	SESSION_ENDING,  /* ended: draining results, then ROLLBACK */
	SESSION_BROKEN,  /* the connection was lost */
};

struct db_session {
	struct db_pool *pool;
	struct pool_conn *conn;
	enum session_state state;
	bool rollback_sent; /* ENDING */
	db_session_cb step_cb, sent_cb;
	void *arg;
	PGresult *last;
};

enum job_state {
	JOB_QUEUED,    /* in pool->queue */
	JOB_RUNNING,   /* on a connection (cb NULL: cancelled, result unread) */
	JOB_REPORTING, /* in pool->reports: result set, callback pending */
};

struct db_job {
	struct db_pool *pool;
	enum job_state state;
	enum stmt_id stmt;
	int nparams;
	char **values;
	db_cb cb;
	void *arg;
	struct db_owner *owner;  /* or NULL */
	struct db_result result; /* JOB_REPORTING */
	char message[160];
	struct db_session *session; /* a session waiting for a connection */
	TAILQ_ENTRY(db_job) entry;
};
TAILQ_HEAD(job_queue, db_job);

struct pool_conn {
	struct db_pool *pool;
	int index;
	enum pool_conn_state state;
	PGconn *pg;
	struct db_lookup *lookup; /* RESOLVING */
	struct event *rev, *wev, *timer;
	struct db_job *job;  /* BUSY: the job in flight */
	PGresult *last;      /* BUSY: the result so far */
	bool prepare_failed; /* PREPARING: a prepare failed */
	double backoff;      /* seconds before the next attempt */
	bool outage_logged;  /* DOWN: a failed attempt was logged since up */
	int host_shift;      /* hosts skipped after connect timeouts */
	unsigned long heard; /* pool->answers when the server last answered */

	struct db_session *session; /* HELD: its owner */
};

struct db_pool {
	struct event_base *base;
	struct db_target *target;
	char *name; /* for the log: "main", "report" */
	int size, queue_max, connect_timeout, statement_timeout, waiting;
	unsigned long answers; /* answers heard on its connections so far */
	bool closing;          /* db_pool_free() runs: no new work */
	struct pool_conn *conns;
	struct job_queue queue;   /* QUEUED */
	struct job_queue reports; /* REPORTING */
	struct event *report_ev;
};

/* The resolver all pools share, and how many pools use it. */
static struct evdns_base *dns;
static int dns_users;
/* The owner db_query() files new jobs under. */
static struct db_owner *current_owner;
/* PQcancel threads still running. */
static pthread_mutex_t cancel_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cv = PTHREAD_COND_INITIALIZER;
static int cancels_running;

static void pool_conn_step(struct pool_conn *);
static void pool_conn_fail(struct pool_conn *, const char *);
static void pool_dispatch(struct db_pool *);
static void session_attach(struct pool_conn *, struct db_job *);
static void session_step(struct pool_conn *);
static void session_lost(struct pool_conn *, const char *);

struct db_owner *
db_owner_enter(struct db_owner *owner)
{
	struct db_owner *previous = current_owner;

	current_owner = owner;
	return previous;
}

void
db_owner_leave(struct db_owner *previous)
{
	current_owner = previous;
}

void
db_owner_forget(struct db_owner *owner)
{
	if (current_owner == owner)
		current_owner = NULL;
}

/* The job no longer works for its owner (done or cancelled). */
static void
job_disown(struct db_job *job)
{
	struct db_owner *owner = job->owner;

	if (owner != NULL && owner->job == job) {
		owner->job = NULL;
		if (owner->changed != NULL)
			owner->changed(owner);
	}
}

static void
job_free(struct db_job *job)
{
	for (int i = 0; i < job->nparams; i++)
		free(job->values[i]);
	free(job->values);
	free(job);
}

/* Runs the callback (once) under the job's owner, then frees the job. */
static void
job_finish(struct db_job *job, const struct db_result *r)
{
	struct db_owner *previous;

	job_disown(job);
	if (job->cb != NULL) {
		previous = db_owner_enter(job->owner);
		job->cb(r, job->arg);
		db_owner_leave(previous);
	}
	job_free(job);
}

/* Queues job's callback with status and why, for the report event. */
static void
job_report(struct db_job *job, enum db_status status, const char *why,
    bool outcome_unknown)
{
	struct db_pool *p = job->pool;

	snprintf(job->message, sizeof job->message, "%s", why);
	job->result = (struct db_result){ .status = status,
		.message = job->message,
		.outcome_unknown = outcome_unknown };
	job->state = JOB_REPORTING;
	TAILQ_INSERT_TAIL(&p->reports, job, entry);
	event_active(p->report_ev, 0, 0);
}

/* Takes the callback off a running (cancelled) job into a new job that
 * reports; the running one finishes silently. */
static struct db_job *
job_split(struct db_job *job)
{
	struct db_job *reporter = xcalloc(1, sizeof *reporter);

	reporter->pool = job->pool;
	reporter->cb = job->cb;
	reporter->arg = job->arg;
	job->cb = NULL;
	return reporter;
}

static void
on_reports(evutil_socket_t fd, short what, void *arg)
{
	struct db_pool *p = arg;
	struct db_job *job;

	(void)fd;
	(void)what;
	while ((job = TAILQ_FIRST(&p->reports)) != NULL) {
		TAILQ_REMOVE(&p->reports, job, entry);
		job_finish(job, &job->result);
	}
}

static void *
cancel_main(void *arg)
{
	PGcancel *cancel = arg;
	char err[256];

	/* If it fails, the statement's grace timer drops the connection. */
	if (!PQcancel(cancel, err, sizeof err))
		log_warn("a database cancel request failed: %s", err);
	PQfreeCancel(cancel);
	pthread_mutex_lock(&cancel_mu);
	cancels_running--;
	pthread_cond_broadcast(&cancel_cv);
	pthread_mutex_unlock(&cancel_mu);
	return NULL;
}

/* Asks the server to cancel c's running statement, off the loop. */
static void
pool_conn_send_cancel(struct pool_conn *c)
{
	PGcancel *cancel = PQgetCancel(c->pg);
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t all, old;
	int rc;

	if (cancel == NULL)
		return;
	pthread_mutex_lock(&cancel_mu);
	cancels_running++;
	pthread_mutex_unlock(&cancel_mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals are the loop's: the thread starts with all of them blocked
	 * (at shutdown, when the loop no longer takes SIGTERM, one delivered
	 * to this thread would find the default action). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&thread, &attr, cancel_main, cancel);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_warn("database connection %d: cannot start a cancel "
		         "request: %s",
		    c->index, strerror(rc));
		PQfreeCancel(cancel);
		pthread_mutex_lock(&cancel_mu);
		cancels_running--;
		pthread_mutex_unlock(&cancel_mu);
	}
}

/* Waits (at shutdown, the loop stopped) for cancel requests in flight. */
static void
cancels_wait(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CANCEL_WAIT;
	pthread_mutex_lock(&cancel_mu);
	while (cancels_running > 0 &&
	       pthread_cond_timedwait(&cancel_cv, &cancel_mu, &until) == 0)
		;
	if (cancels_running > 0)
		log_warn("%d database cancel request(s) still pending",
		    cancels_running);
	pthread_mutex_unlock(&cancel_mu);
}

void
db_cancel(struct db_job *job, const char *why)
{
	struct db_pool *p;

	if (job == NULL)
		return;
	p = job->pool;
	job_disown(job);
	job->owner = NULL;
	switch (job->state) {
	case JOB_QUEUED:
		TAILQ_REMOVE(&p->queue, job, entry);
		p->waiting--;
		job_report(job, DB_CANCELLED, why, false);
		break;
	case JOB_RUNNING:
		for (int i = 0; i < p->size; i++) {
			struct pool_conn *c = &p->conns[i];
			if (c->job != job || job->cb == NULL)
				continue;
			struct timeval grace = { CANCEL_GRACE, 0 };
			log_debug("database connection %d: cancelling %s (%s)",
			    c->index, statements[job->stmt].name, why);
			job_report(job_split(job), DB_CANCELLED, why, true);
			pool_conn_send_cancel(c);
			evtimer_add(c->timer, &grace);
		}
		break;
	case JOB_REPORTING:
		break; /* its callback is already due */
	}
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_conn_step(arg);
}

static const char *const state_names[] = { "down", "resolving", "connecting",
	"preparing", "idle", "busy", "held by a session" };

/* CONNECTING for db.connect_timeout: libpq has no per-host timeout in
 * asynchronous mode, so the next attempt starts one host further on (a
 * host that drops packets must not hide the ones after it). */
static void
pool_conn_timeout(struct pool_conn *c)
{
	char why[512];
	const char *host = PQhost(c->pg), *port = PQport(c->pg);

	snprintf(why, sizeof why, "timed out connecting to %s port %s",
	    host ? host : "?", port ? port : "?");
	c->host_shift++;
	pool_conn_fail(c, why);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pool_conn *c = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (c->state == POOL_CONN_DOWN) {
		pool_conn_step(c);
		return;
	}
	if (c->state == POOL_CONN_CONNECTING) {
		pool_conn_timeout(c);
		return;
	}
	snprintf(why, sizeof why, "timed out while %s", state_names[c->state]);
	pool_conn_fail(c, why);
}

/* Watches the connection's socket: for reading always, writing on demand. */
static void
pool_conn_watch(struct pool_conn *c, bool want_write)
{
	int fd = PQsocket(c->pg);

	if (fd < 0) {
		pool_conn_fail(c, "no socket");
		return;
	}
	/* While connecting, libpq may close one socket and open another (the
	 * next host of a multi-host conninfo, or the same host again), and
	 * the new one often gets the old one's number: watch it afresh. */
	if (c->rev == NULL || event_get_fd(c->rev) != fd ||
	    c->state == POOL_CONN_CONNECTING) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		c->rev = event_new(
		    c->pool->base, fd, EV_READ | EV_PERSIST, on_socket, c);
		c->wev = event_new(c->pool->base, fd, EV_WRITE, on_socket, c);
		event_add(c->rev, NULL);
	}
	if (want_write)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
}

/* Flushes what libpq has buffered and watches for what comes next. */
static void
pool_conn_flush(struct pool_conn *c)
{
	int pending = PQflush(c->pg);

	if (pending == -1)
		pool_conn_fail(c, PQerrorMessage(c->pg));
	else
		pool_conn_watch(c, pending == 1);
}

static void
pool_conn_close(struct pool_conn *c)
{
	db_lookup_cancel(c->lookup);
	c->lookup = NULL;
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	if (c->last != NULL)
		PQclear(c->last);
	c->last = NULL;
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
}

static bool
pool_any_up(const struct db_pool *p)
{
	for (int i = 0; i < p->size; i++)
		if (p->conns[i].state != POOL_CONN_DOWN)
			return true;
	return false;
}

/* The connection's job is over without a result. */
static void
pool_conn_drop_job(struct pool_conn *c, const char *why)
{
	struct db_job *job = c->job;

	c->job = NULL;
	if (job == NULL)
		return;
	if (job->cb == NULL) /* cancelled: already reported */
		job_free(job);
	else
		job_report(job, DB_UNAVAILABLE, why, true);
}

/* Drops the connection and schedules a reconnect with backoff. */
static void
pool_conn_fail(struct pool_conn *c, const char *why)
{
	struct db_pool *p = c->pool;
	struct timeval tv;
	struct db_job *job;

	if (c->state == POOL_CONN_IDLE || c->state == POOL_CONN_BUSY ||
	    c->state == POOL_CONN_PREPARING || c->state == POOL_CONN_HELD) {
		log_warn("database connection %d lost: %s", c->index, why);
		metrics_reconnect();
		c->outage_logged = false;
	} else if (!c->outage_logged) {
		/* The first failed attempt of an outage says why (libpq names
		 * each host it tried); the retries are debug. */
		log_warn("%s database connection %d: cannot connect, retrying:"
		         " %s",
		    p->name, c->index, why);
		c->outage_logged = true;
	} else
		log_debug("database connection %d failed: %s", c->index, why);
	pool_conn_close(c);
	c->state = POOL_CONN_DOWN;
	session_lost(c, why);
	pool_conn_drop_job(c, "the database connection was lost while the "
	                      "statement ran");
	evtimer_del(c->timer);
	if (p->closing)
		return;
	tv.tv_sec = (long)c->backoff;
	tv.tv_usec = (long)((c->backoff - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->timer, &tv);
	c->backoff = c->backoff * 2 > 5 ? 5 : c->backoff * 2;
	if (!pool_any_up(p)) {
		while ((job = TAILQ_FIRST(&p->queue)) != NULL) {
			TAILQ_REMOVE(&p->queue, job, entry);
			p->waiting--;
			job_report(
			    job, DB_UNAVAILABLE, "database unavailable", false);
		}
	}
}

static void
pool_conn_connect(
    struct pool_conn *c, const char *const *keys, const char *const *vals)
{
	const char *k[MAX_CONN_PARAMS], *v[MAX_CONN_PARAMS];
	char *rotated[MAX_CONN_PARAMS] = { NULL };
	int n = 0, hosts = 0;

	/* After connect timeouts, start further along the host list. */
	for (; keys[n] != NULL && n < MAX_CONN_PARAMS - 1; n++)
		if ((strcmp(keys[n], "host") == 0 ||
		        strcmp(keys[n], "hostaddr") == 0) &&
		    db_hosts_list_count(vals[n]) > hosts)
			hosts = db_hosts_list_count(vals[n]);
	for (int i = 0; i < n; i++) {
		k[i] = keys[i];
		v[i] = vals[i];
		if (hosts > 1 && c->host_shift % hosts != 0 &&
		    (strcmp(keys[i], "host") == 0 ||
		        strcmp(keys[i], "hostaddr") == 0 ||
		        strcmp(keys[i], "port") == 0) &&
		    (rotated[i] = db_hosts_rotate_list(
		         vals[i], hosts, c->host_shift % hosts)) != NULL)
			v[i] = rotated[i];
	}
	k[n] = v[n] = NULL;
	c->pg = PQconnectStartParams(k, v, 0);
	for (int i = 0; i < n; i++)
		free(rotated[i]);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		pool_conn_fail(
		    c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	c->state = POOL_CONN_CONNECTING;
	pool_conn_watch(c, true);
}

static void
pool_conn_resolved(const char *const *keys, const char *const *vals,
    const char *error, void *arg)
{
	struct pool_conn *c = arg;

	c->lookup = NULL;
	if (error != NULL)
		pool_conn_fail(c, error);
	else
		pool_conn_connect(c, keys, vals);
}

/* DOWN: resolves the host names if there are any, then connects; the
 * connect timeout covers everything until IDLE. */
static void
pool_conn_start(struct pool_conn *c)
{
	struct db_pool *p = c->pool;
	struct timeval tv = { p->connect_timeout, 0 };
	const char *const *keys, *const *vals;

	evtimer_add(c->timer, &tv);
	if (db_target_has_names(p->target)) {
		c->state = POOL_CONN_RESOLVING;
		c->lookup = db_lookup_start(
		    p->target, p->base, dns, pool_conn_resolved, c);
		return;
	}
	db_target_params(p->target, &keys, &vals);
	pool_conn_connect(c, keys, vals);
}

/* PREPARING: sends every statement's Parse in one pipeline. */
static void
pool_conn_prepare(struct pool_conn *c)
{
	if (PQsetnonblocking(c->pg, 1) != 0 ||
	    PQenterPipelineMode(c->pg) != 1) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	for (int i = 0; i < STMT_COUNT; i++) {
		if (!PQsendPrepare(c->pg, statements[i].name, statements[i].sql,
		        statements[i].nparams, NULL)) {
			pool_conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
	}
	if (PQpipelineSync(c->pg) != 1) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	c->prepare_failed = false;
	c->state = POOL_CONN_PREPARING;
	pool_conn_flush(c);
}

static void
pool_conn_connecting(struct pool_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		pool_conn_watch(c, false);
		break;
	case PGRES_POLLING_WRITING:
		pool_conn_watch(c, true);
		break;
	case PGRES_POLLING_OK:
		pool_conn_prepare(c);
		break;
	default:
		pool_conn_fail(c, PQerrorMessage(c->pg));
	}
}

/* Reads what is available; returns false when the connection broke. */
static bool
pool_conn_read(struct pool_conn *c)
{
	if (PQflush(c->pg) == -1 || !PQconsumeInput(c->pg)) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return false;
	}
	return true;
}

/* The server answered on c (its ReadyForQuery, with any parameter
 * reports before it, has been read): what c knows of it is the pool's
 * newest. */
static void
pool_conn_heard(struct pool_conn *c)
{
	c->heard = ++c->pool->answers;
}

static bool
pool_conn_up(const struct pool_conn *c)
{
	return c->state == POOL_CONN_IDLE || c->state == POOL_CONN_BUSY ||
	       c->state == POOL_CONN_HELD;
}

static bool
same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The up connection of c's pool on the same server (host, address and
 * port) as c that heard from it last: c itself or a newer one. */
static const struct pool_conn *
pool_conn_newest_on_server(const struct pool_conn *c)
{
	const struct pool_conn *newest = c, *o;

	for (int i = 0; i < c->pool->size; i++) {
		o = &c->pool->conns[i];
		if (pool_conn_up(o) && o->heard > newest->heard &&
		    same_text(PQhost(o->pg), PQhost(c->pg)) &&
		    same_text(PQhostaddr(o->pg), PQhostaddr(c->pg)) &&
		    same_text(PQport(o->pg), PQport(c->pg)))
			newest = o;
	}
	return newest;
}

/* Whether the server a connection reached is a primary or a standby: its
 * in_hot_standby report (PostgreSQL 14 and later; it changes to "off" on
 * promotion, and a connection receives the change only when it next runs
 * a statement: see db_pool_conn_server()). */
static const char *
pool_conn_role(const struct pool_conn *c)
{
	const char *hs = PQparameterStatus(c->pg, "in_hot_standby");

	if (hs == NULL)
		return "unknown";
	return strcmp(hs, "on") == 0 ? "standby" : "primary";
}

static void
pool_conn_log_ready(const struct pool_conn *c)
{
	if (c->outage_logged || c->backoff > 0.1)
		log_info("%s database connection %d ready on %s port %s (%s)",
		    c->pool->name, c->index, PQhost(c->pg), PQport(c->pg),
		    pool_conn_role(c));
	else
		log_debug("%s database connection %d ready on %s port %s (%s)",
		    c->pool->name, c->index, PQhost(c->pg), PQport(c->pg),
		    pool_conn_role(c));
}

/* The pipeline of prepares ended (its sync arrived). */
static void
pool_conn_prepared(struct pool_conn *c)
{
	if (PQexitPipelineMode(c->pg) != 1) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->prepare_failed) {
		pool_conn_fail(c, "statements could not be prepared"
		                  " (is the schema migrated?)");
		return;
	}
	pool_conn_heard(c);
	pool_conn_log_ready(c);
	c->outage_logged = false;
	evtimer_del(c->timer);
	c->state = POOL_CONN_IDLE;
	c->backoff = 0.1;
	pool_dispatch(c->pool);
}

static void
pool_conn_preparing(struct pool_conn *c)
{
	PGresult *r;

	if (!pool_conn_read(c))
		return;
	/* In a pipeline each command's results end with a NULL; two NULLs in
	 * a row mean nothing more has arrived yet. */
	int nulls = 0;
	while (!PQisBusy(c->pg) && nulls < 2) {
		if ((r = PQgetResult(c->pg)) == NULL) {
			nulls++;
			continue;
		}
		nulls = 0;
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_FATAL_ERROR) {
			log_error("preparing statements: %s",
			    PQresultErrorMessage(r));
			c->prepare_failed = true;
		}
		PQclear(r);
		if (st == PGRES_PIPELINE_SYNC) {
			pool_conn_prepared(c);
			return;
		}
	}
	pool_conn_flush(c);
}

/*
 * A prepared statement whose function's result changed after it was
 * prepared (a newer release's --migrate while this one serves): PostgreSQL
 * refuses it on this connection for good, before running it.
 */
static bool
statement_out_of_date(const struct db_result *r)
{
	return strcmp(r->sqlstate, "0A000") == 0 &&
	       strstr(r->message, "cached plan must not change result type") !=
	           NULL;
}

static void
pool_conn_finish_job(struct pool_conn *c)
{
	struct db_job *job = c->job;
	PGresult *res = c->last;
	struct db_result r = { .status = DB_OK, .res = res };
	bool out_of_date = false;

	c->job = NULL;
	c->last = NULL;
	c->state = POOL_CONN_IDLE;
	evtimer_del(c->timer);
	pool_conn_heard(c);
	if (res == NULL || PQresultStatus(res) == PGRES_FATAL_ERROR) {
		r.status = DB_ERROR;
		r.sqlstate =
		    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		r.message =
		    res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		        : PQerrorMessage(c->pg);
		if (r.sqlstate == NULL)
			r.sqlstate = "XX000";
		if (r.message == NULL)
			r.message = "unknown error";
		/* A timed-out statement is the database being unavailable
		 * (rolled back: nothing of it was stored). */
		if (strcmp(r.sqlstate, "57014") == 0)
			r.status = DB_UNAVAILABLE;
		/* Nothing of it ran: safe to retry, once the connection is
		 * made again with every statement prepared afresh. */
		if ((out_of_date = statement_out_of_date(&r)))
			r.status = DB_UNAVAILABLE;
	}
	/* Dropped first: the job's callback may queue more work. */
	if (out_of_date)
		pool_conn_fail(c, "a prepared statement is out of date (its "
		                  "function changed: the schema was migrated); "
		                  "preparing them again");
	job_finish(job, &r); /* a cancelled job's callback has run already */
	if (res != NULL)
		PQclear(res);
	pool_dispatch(c->pool);
}

static void
pool_conn_busy(struct pool_conn *c)
{
	PGresult *r;

	if (!pool_conn_read(c))
		return;
	while (!PQisBusy(c->pg)) {
		if ((r = PQgetResult(c->pg)) == NULL) {
			pool_conn_finish_job(c);
			return;
		}
		if (c->last != NULL)
			PQclear(c->last);
		c->last = r;
	}
	pool_conn_flush(c);
}

/* The one transition function: advances c from its current state. */
static void
pool_conn_step(struct pool_conn *c)
{
	switch (c->state) {
	case POOL_CONN_DOWN:
		pool_conn_start(c);
		break;
	case POOL_CONN_RESOLVING:
		break; /* pool_conn_resolved() moves on */
	case POOL_CONN_CONNECTING:
		pool_conn_connecting(c);
		break;
	case POOL_CONN_PREPARING:
		pool_conn_preparing(c);
		break;
	case POOL_CONN_BUSY:
		pool_conn_busy(c);
		break;
	case POOL_CONN_HELD:
		session_step(c);
		break;
	case POOL_CONN_IDLE:
		/* Input while idle: a notice or the server closing. */
		if (pool_conn_read(c) && PQstatus(c->pg) == CONNECTION_BAD)
			pool_conn_fail(c, "server closed the connection");
		break;
	}
}

static void
pool_conn_send(struct pool_conn *c, struct db_job *job)
{
	const struct statement *s = &statements[job->stmt];

	if (job->session != NULL) {
		session_attach(c, job);
		return;
	}
	c->job = job;
	job->state = JOB_RUNNING;
	c->state = POOL_CONN_BUSY;
	if (c->pool->statement_timeout > 0) {
		/* The server enforces statement_timeout; this catches a
		 * server that stopped answering altogether. */
		struct timeval tv = { c->pool->statement_timeout + 5, 0 };
		evtimer_add(c->timer, &tv);
	}
	if (!PQsendQueryPrepared(c->pg, s->name, job->nparams,
	        (const char *const *)job->values, NULL, NULL, 0)) {
		/* Nothing reached the server: the job can wait for another
		 * connection. */
		c->job = NULL;
		job->state = JOB_QUEUED;
		TAILQ_INSERT_HEAD(&c->pool->queue, job, entry);
		c->pool->waiting++;
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	pool_conn_flush(c);
}

static void
pool_dispatch(struct db_pool *p)
{
	struct db_job *job;

	for (int i = 0; i < p->size && !TAILQ_EMPTY(&p->queue); i++) {
		if (p->conns[i].state != POOL_CONN_IDLE)
			continue;
		job = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, job, entry);
		p->waiting--;
		pool_conn_send(&p->conns[i], job);
	}
}

struct db_job *
db_query_owned(struct db_pool *p, struct db_owner *owner, enum stmt_id stmt,
    int nparams, const char *const *values, db_cb cb, void *arg)
{
	struct db_job *job = xcalloc(1, sizeof *job);

	job->pool = p;
	job->stmt = stmt;
	job->cb = cb;
	job->arg = arg;
	job->owner = owner;
	job->nparams = nparams;
	job->values = xcalloc((size_t)nparams + 1, sizeof *job->values);
	for (int i = 0; i < nparams; i++)
		job->values[i] = values[i] ? xstrdup(values[i]) : NULL;
	if (owner != NULL) {
		owner->job = job;
		if (owner->changed != NULL)
			owner->changed(owner);
	}
	if (p->closing)
		job_report(job, DB_UNAVAILABLE, "shutting down", false);
	else if (!pool_any_up(p))
		job_report(job, DB_UNAVAILABLE, "database unavailable", false);
	else if (p->waiting >= p->queue_max)
		job_report(job, DB_UNAVAILABLE, "database queue full", false);
	else {
		job->state = JOB_QUEUED;
		TAILQ_INSERT_TAIL(&p->queue, job, entry);
		p->waiting++;
		pool_dispatch(p);
	}
	return job;
}

struct db_job *
db_query(struct db_pool *p, enum stmt_id stmt, int nparams,
    const char *const *values, db_cb cb, void *arg)
{
	return db_query_owned(p, current_owner, stmt, nparams, values, cb, arg);
}

struct db_pool *
db_pool_new(struct event_base *base, const struct db_pool_config *cfg)
{
	struct db_pool *p = xcalloc(1, sizeof *p);
	char options[96], err[256];
	const char *keys[] = { "options", "application_name", "client_encoding",
		NULL };
	const char *vals[] = { options, "effortd", "UTF8", NULL };

	snprintf(options, sizeof options,
	    "-c statement_timeout=%ds -c TimeZone=UTC", cfg->statement_timeout);
	p->target = db_target_new(cfg->conninfo, keys, vals, err, sizeof err);
	if (p->target == NULL) /* config.c checks conninfo; still, no exit */
		p->target = db_target_new("", keys, vals, err, sizeof err);
	if (dns_users++ == 0)
		dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	p->base = base;
	p->name = xstrdup(cfg->name != NULL ? cfg->name : "main");
	p->size = cfg->size;
	p->queue_max = cfg->queue_max;
	p->connect_timeout = cfg->connect_timeout;
	p->statement_timeout = cfg->statement_timeout;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->reports);
	p->report_ev = event_new(base, -1, 0, on_reports, p);
	p->conns = xcalloc((size_t)p->size, sizeof *p->conns);
	for (int i = 0; i < p->size; i++) {
		struct pool_conn *c = &p->conns[i];
		c->pool = p;
		c->index = i;
		c->backoff = 0.1;
		c->timer = evtimer_new(base, on_timer, c);
		pool_conn_start(c);
	}
	return p;
}

/* Shutdown: every job is cancelled and reported; see db-pool.h. */
void
db_pool_free(struct db_pool *p)
{
	struct db_job *job;

	if (p == NULL)
		return;
	p->closing = true;
	while ((job = TAILQ_FIRST(&p->queue)) != NULL)
		db_cancel(job, "shutting down");
	for (int i = 0; i < p->size; i++) {
		struct pool_conn *c = &p->conns[i];
		if (c->job != NULL && c->job->cb != NULL)
			db_cancel(c->job, "shutting down");
		/* A session's statement in flight (a feed's merge or COMMIT)
		 * is cancelled too: closed, its backend would run on, holding
		 * its locks, and commit once they were free, after its client
		 * was answered 503 (tests/t/races.t). */
		if (c->state == POOL_CONN_HELD && c->pg != NULL &&
		    PQtransactionStatus(c->pg) == PQTRANS_ACTIVE)
			pool_conn_send_cancel(c);
		session_lost(c, "shutting down");
		pool_conn_close(c);
		c->state = POOL_CONN_DOWN;
		pool_conn_drop_job(c, "shutting down");
		event_free(c->timer);
	}
	on_reports(-1, 0, p); /* callbacks may add more: all run here */
	cancels_wait();
	event_free(p->report_ev);
	free(p->conns);
	db_target_free(p->target);
	free(p->name);
	free(p);
	if (--dns_users == 0) {
		evdns_base_free(dns, 0);
		dns = NULL;
		db_lookup_forget_orphans();
	}
}

struct evdns_base *
db_dns_base(void)
{
	return dns;
}

bool
db_pool_ready(const struct db_pool *p)
{
	for (int i = 0; i < p->size; i++)
		if (pool_conn_up(&p->conns[i]))
			return true;
	return false;
}

int
db_pool_busy(const struct db_pool *p)
{
	int n = 0;

	for (int i = 0; i < p->size; i++)
		n += p->conns[i].state == POOL_CONN_BUSY ||
		     p->conns[i].state == POOL_CONN_HELD;
	return n;
}

int
db_pool_waiting(const struct db_pool *p)
{
	return p->waiting;
}

int
db_pool_size(const struct db_pool *p)
{
	return p->size;
}

int
db_pool_ready_count(const struct db_pool *p)
{
	int n = 0;

	for (int i = 0; i < p->size; i++)
		n += pool_conn_up(&p->conns[i]);
	return n;
}

void
db_pool_set_limits(struct db_pool *p, int queue_max, int connect_timeout)
{
	p->queue_max = queue_max;
	p->connect_timeout = connect_timeout;
}

/* Sessions ------------------------------------------------------------- */

static const struct db_result session_gone = { .status = DB_UNAVAILABLE,
	.message = "database connection lost" };

/* A session job failed in the queue (pool down, queue full, shutdown). */
static void
session_refused(const struct db_result *r, void *arg)
{
	struct db_session *s = arg;
	db_session_cb cb = s->step_cb;

	s->state = SESSION_BROKEN;
	s->step_cb = NULL;
	cb(s, r, s->arg);
}

static void
session_attach(struct pool_conn *c, struct db_job *job)
{
	struct db_session *s = job->session;
	struct db_result r = { .status = DB_OK };
	db_session_cb cb = s->step_cb;

	free(job->values);
	free(job);
	c->state = POOL_CONN_HELD;
	c->session = s;
	s->conn = c;
	s->state = SESSION_READY;
	s->step_cb = NULL;
	cb(s, &r, s->arg);
}

/* The connection went away under the session (pool_conn_fail, shutdown). */
static void
session_lost(struct pool_conn *c, const char *why)
{
	struct db_session *s = c->session;
	db_session_cb cb;

	(void)why;
	if (s == NULL)
		return;
	c->session = NULL;
	s->conn = NULL;
	if (s->last != NULL)
		PQclear(s->last);
	s->last = NULL;
	if (s->state == SESSION_ENDING) {
		free(s);
		return;
	}
	s->state = SESSION_BROKEN;
	cb = s->step_cb ? s->step_cb : s->sent_cb;
	s->step_cb = s->sent_cb = NULL;
	if (cb != NULL)
		cb(s, &session_gone, s->arg);
}

/* A step is in flight: the same guard as pool_conn_send's, for a server that
 * stopped answering (or a commit waiting for a synchronous standby, which
 * statement_timeout does not cancel): the connection fails, the step
 * reports DB_UNAVAILABLE. */
static void
session_arm(struct pool_conn *c)
{
	if (c->pool->statement_timeout > 0) {
		struct timeval tv = { c->pool->statement_timeout + 5, 0 };
		evtimer_add(c->timer, &tv);
	}
}

/* Gives the connection back to the pool and frees the session. */
static void
session_release(struct db_session *s)
{
	struct pool_conn *c = s->conn;

	free(s);
	c->session = NULL;
	evtimer_del(c->timer);
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		pool_conn_fail(c, "a session left its transaction open");
		return;
	}
	c->state = POOL_CONN_IDLE;
	pool_conn_watch(c, false);
	pool_dispatch(c->pool);
}

/* ENDING and nothing in flight: ROLLBACK if a transaction is open. */
static void
session_ending(struct db_session *s)
{
	struct pool_conn *c = s->conn;

	if (!s->rollback_sent && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		s->rollback_sent = true;
		session_arm(c);
		if (!PQsendQuery(c->pg, "ROLLBACK")) {
			pool_conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		pool_conn_watch(c, PQflush(c->pg) == 1);
		return;
	}
	session_release(s);
}

/* A step's results are complete (or a COPY is ready for data). */
static void
session_step_done(struct db_session *s)
{
	PGresult *res = s->last;
	struct db_result r = { .status = DB_OK, .res = res };
	db_session_cb cb = s->step_cb;

	s->last = NULL;
	evtimer_del(s->conn->timer);
	pool_conn_heard(s->conn);
	if (s->state == SESSION_ENDING) {
		if (res != NULL)
			PQclear(res);
		session_ending(s);
		return;
	}
	s->step_cb = NULL;
	s->state = res != NULL && PQresultStatus(res) == PGRES_COPY_IN
	               ? SESSION_COPY
	               : SESSION_READY;
	if (res == NULL || PQresultStatus(res) == PGRES_FATAL_ERROR) {
		r.status = DB_ERROR;
		r.sqlstate =
		    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		r.message =
		    res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		        : PQerrorMessage(s->conn->pg);
		if (r.sqlstate == NULL)
			r.sqlstate = "XX000";
		if (r.message == NULL)
			r.message = "unknown error";
		if (strcmp(r.sqlstate, "57014") == 0)
			r.status = DB_UNAVAILABLE;
	}
	cb(s, &r, s->arg);
	if (res != NULL)
		PQclear(res);
}

/* HELD: the socket is readable or writable. */
static void
session_step(struct pool_conn *c)
{
	struct db_session *s = c->session;
	struct db_result ok = { .status = DB_OK };
	db_session_cb cb;
	PGresult *r;
	int f;

	if (!pool_conn_read(c))
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		pool_conn_fail(c, "server closed the connection");
		return;
	}
	if (s->state == SESSION_RUNNING || s->state == SESSION_ENDING) {
		while (!PQisBusy(c->pg)) {
			if ((r = PQgetResult(c->pg)) == NULL) {
				session_step_done(s);
				return;
			}
			if (s->last != NULL)
				PQclear(s->last);
			s->last = r;
			if (PQresultStatus(r) != PGRES_COPY_IN)
				continue;
			if (s->state == SESSION_RUNNING) {
				session_step_done(s);
				return;
			}
			if (PQputCopyEnd(c->pg, "abandoned") != 1) {
				pool_conn_fail(c, PQerrorMessage(c->pg));
				return;
			}
		}
	}
	if ((f = PQflush(c->pg)) == -1) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	pool_conn_watch(c, f == 1);
	if (f == 0 && s->sent_cb != NULL) {
		cb = s->sent_cb;
		s->sent_cb = NULL;
		cb(s, &ok, s->arg);
	}
}

struct db_session *
db_session_open(struct db_pool *p, db_session_cb cb, void *arg)
{
	struct db_session *s = xcalloc(1, sizeof *s);
	struct db_job *job = xcalloc(1, sizeof *job);
	const char *refusal = p->closing        ? "shutting down"
	                      : !pool_any_up(p) ? "database unavailable"
	                      : p->waiting >= p->queue_max
	                          ? "database queue full"
	                          : NULL;

	s->pool = p;
	s->state = SESSION_QUEUED;
	s->step_cb = cb;
	s->arg = arg;
	job->pool = p;
	job->session = s;
	job->cb = session_refused;
	job->arg = s;
	if (refusal != NULL) {
		/* db-pool.h: a refusal is reported before this returns NULL. */
		struct db_result r = { .status = DB_UNAVAILABLE,
			.message = refusal };
		job_finish(job, &r);
		return NULL;
	}
	job->state = JOB_QUEUED;
	TAILQ_INSERT_TAIL(&p->queue, job, entry);
	p->waiting++;
	pool_dispatch(p);
	return s;
}

/*
 * A step begins: the session must be in state want (else cb hears that
 * it is gone and NULL is returned); it is then running, with cb to hear
 * the step's result and the step's deadline armed.
 */
static struct pool_conn *
session_step_begin(
    struct db_session *s, enum session_state want, db_session_cb cb)
{
	struct pool_conn *c = s->conn;

	if (c == NULL || s->state != want) {
		cb(s, &session_gone, s->arg);
		return NULL;
	}
	s->step_cb = cb;
	s->state = SESSION_RUNNING;
	session_arm(c);
	return c;
}

/* The step's command was handed to libpq (sent: libpq accepted it). */
static void
session_step_sent(struct pool_conn *c, bool sent)
{
	if (!sent) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	pool_conn_watch(c, PQflush(c->pg) == 1);
}

void
db_session_exec(struct db_session *s, const char *sql, int nparams,
    const char *const *values, db_session_cb cb)
{
	struct pool_conn *c = session_step_begin(s, SESSION_READY, cb);

	if (c == NULL)
		return;
	/* Without parameters: the simple protocol, so that sql may hold
	 * several statements. */
	session_step_sent(c, nparams == 0
	                         ? PQsendQuery(c->pg, sql) == 1
	                         : PQsendQueryParams(c->pg, sql, nparams, NULL,
	                               values, NULL, NULL, 0) == 1);
}

bool
db_session_copy_put(struct db_session *s, const char *data, size_t len)
{
	if (s->conn == NULL || s->state != SESSION_COPY)
		return false;
	return PQputCopyData(s->conn->pg, data, (int)len) == 1;
}

int
db_session_flush(struct db_session *s, db_session_cb cb)
{
	struct pool_conn *c = s->conn;
	int f;

	if (c == NULL)
		return -1;
	if ((f = PQflush(c->pg)) == -1) {
		pool_conn_fail(c, PQerrorMessage(c->pg));
		return -1;
	}
	if (f == 1) {
		s->sent_cb = cb;
		pool_conn_watch(c, true);
	}
	return f;
}

void
db_session_copy_end(struct db_session *s, db_session_cb cb)
{
	struct pool_conn *c = session_step_begin(s, SESSION_COPY, cb);

	if (c != NULL)
		session_step_sent(c, PQputCopyEnd(c->pg, NULL) == 1);
}

void
db_session_end(struct db_session *s)
{
	struct pool_conn *c = s->conn;
	struct db_job *job;

	s->step_cb = s->sent_cb = NULL;
	switch (s->state) {
	case SESSION_QUEUED:
		TAILQ_FOREACH(job, &s->pool->queue, entry)
		{
			if (job->session == s) {
				TAILQ_REMOVE(&s->pool->queue, job, entry);
				s->pool->waiting--;
				free(job);
				break;
			}
		}
		free(s);
		break;
	case SESSION_BROKEN:
		free(s);
		break;
	case SESSION_READY:
		s->state = SESSION_ENDING;
		session_ending(s);
		break;
	case SESSION_COPY:
		s->state = SESSION_ENDING;
		if (PQputCopyEnd(c->pg, "abandoned") != 1) {
			pool_conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		pool_conn_watch(c, PQflush(c->pg) == 1);
		break;
	case SESSION_RUNNING:
		s->state = SESSION_ENDING;
		break;
	case SESSION_ENDING:
		break;
	}
}

bool
db_pool_conn_server(const struct db_pool *p, int i, struct db_server *out)
{
	const struct pool_conn *c;

	if (i < 0 || i >= p->size)
		return false;
	c = &p->conns[i];
	if (!pool_conn_up(c))
		return false;
	out->host = PQhost(c->pg);
	out->port = PQport(c->pg);
	/* The newest word from the server on any of the pool's connections
	 * to it: an idle connection's own report may predate a promotion. */
	out->role = pool_conn_role(pool_conn_newest_on_server(c));
	return true;
}
