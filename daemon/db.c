/*
 * The asynchronous libpq pool.  Each connection is a small state machine
 * (enum conn_state) advanced by conn_step() from socket events and timers:
 *
 *   DOWN --connect--> CONNECTING --ok--> PREPARING --ok--> IDLE <--> BUSY
 *     ^                    |                 |                 ^ |     |
 *     +---- backoff <------+-----------------+--------------- HELD <---+
 *
 * HELD: a session (db_session_*) owns the connection for a transaction
 * of several steps; its own small state machine (enum session_state) is
 * advanced by session_step() on the connection's socket events.
 *
 * Connections are non-blocking; statements are prepared in one pipeline
 * when a connection comes up.  A job that finds no ready connection waits
 * in a bounded FIFO; when every connection is down, jobs fail at once
 * with DB_UNAVAILABLE so that clients get a 503 they may safely retry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "db-hosts.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

enum conn_state {
	CONN_DOWN,
	CONN_CONNECTING,
	CONN_PREPARING,
	CONN_IDLE,
	CONN_BUSY,
	CONN_HELD
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
	struct db_conn *conn;
	enum session_state state;
	bool rollback_sent; /* ENDING */
	db_session_cb step_cb, sent_cb;
	void *arg;
	PGresult *last;
};

struct db_job {
	enum stmt_id stmt;
	int nparams;
	char **values;
	db_cb cb;
	void *arg;
	struct db_session *session; /* a session waiting for a connection */
	TAILQ_ENTRY(db_job) entry;
};
TAILQ_HEAD(job_queue, db_job);

struct db_conn {
	struct db_pool *pool;
	int index;
	enum conn_state state;
	PGconn *pg;
	struct event *rev, *wev, *timer;
	struct db_job *job;  /* BUSY: the job in flight */
	PGresult *last;      /* BUSY: the result so far */
	bool prepare_failed; /* PREPARING: a prepare failed */
	double backoff;      /* seconds before the next attempt */
	bool outage_logged;  /* DOWN: a failed attempt was logged since up */
	int host_shift;      /* hosts skipped after connect timeouts */

	struct db_session *session; /* HELD: its owner */
};

struct db_pool {
	struct event_base *base;
	char *name, *conninfo, *options;
	int size, queue_max, connect_timeout, statement_timeout, waiting;
	struct db_conn *conns;
	struct job_queue queue;
};

static void conn_step(struct db_conn *);
static void conn_fail(struct db_conn *, const char *);
static void pool_dispatch(struct db_pool *);
static void session_attach(struct db_conn *, struct db_job *);
static void session_step(struct db_conn *);
static void session_lost(struct db_conn *, const char *);

static void
job_finish(struct db_job *job, const struct db_result *r)
{
	job->cb(r, job->arg);
	for (int i = 0; i < job->nparams; i++)
		free(job->values[i]);
	free(job->values);
	free(job);
}

static void
job_unavailable(struct db_job *job, const char *why)
{
	struct db_result r = { .status = DB_UNAVAILABLE, .message = why };

	job_finish(job, &r);
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_step(arg);
}

/* CONNECTING for db.connect_timeout: libpq has no per-host timeout in
 * asynchronous mode, so the next attempt starts one host further on (a
 * host that drops packets must not hide the ones after it). */
static void
conn_timeout(struct db_conn *c)
{
	char why[512];
	const char *host = PQhost(c->pg), *port = PQport(c->pg);

	snprintf(why, sizeof why, "timed out connecting to %s port %s",
	    host ? host : "?", port ? port : "?");
	c->host_shift++;
	conn_fail(c, why);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_DOWN)
		conn_step(c);
	else if (c->state == CONN_CONNECTING)
		conn_timeout(c);
	else
		conn_fail(c, "timed out");
}

/* Watches the connection's socket: for reading always, writing on demand. */
static void
conn_watch(struct db_conn *c, bool want_write)
{
	int fd = PQsocket(c->pg);

	/* While connecting, libpq may close one socket and open another (the
	 * next host of a multi-host conninfo, or the same host again), and
	 * the new one often gets the old one's number: watch it afresh. */
	if (c->rev == NULL || event_get_fd(c->rev) != fd ||
	    c->state == CONN_CONNECTING) {
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

static void
conn_close(struct db_conn *c)
{
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
		if (p->conns[i].state != CONN_DOWN)
			return true;
	return false;
}

/* Drops the connection and schedules a reconnect with backoff. */
static void
conn_fail(struct db_conn *c, const char *why)
{
	struct db_pool *p = c->pool;
	struct timeval tv;
	struct db_job *job;

	if (c->state == CONN_IDLE || c->state == CONN_BUSY ||
	    c->state == CONN_PREPARING || c->state == CONN_HELD) {
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
	conn_close(c);
	c->state = CONN_DOWN;
	session_lost(c, why);
	if ((job = c->job) != NULL) {
		c->job = NULL;
		job_unavailable(job, "database connection lost");
	}
	tv.tv_sec = (long)c->backoff;
	tv.tv_usec = (long)((c->backoff - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->timer, &tv);
	c->backoff = c->backoff * 2 > 5 ? 5 : c->backoff * 2;
	if (!pool_any_up(p)) {
		while ((job = TAILQ_FIRST(&p->queue)) != NULL) {
			TAILQ_REMOVE(&p->queue, job, entry);
			p->waiting--;
			job_unavailable(job, "database unavailable");
		}
	}
}

static void
conn_start(struct db_conn *c)
{
	const char *keys[8] = { "dbname", "options", "application_name",
		"client_encoding" };
	const char *vals[8] = { c->pool->conninfo, c->pool->options, "effortd",
		"UTF8" };
	struct timeval tv = { c->pool->connect_timeout, 0 };
	struct db_hosts h;
	int n = 4;

	/* Later keywords override the expanded conninfo's. */
	db_hosts_rotated(c->pool->conninfo, c->host_shift, &h);
	if (h.host != NULL) {
		keys[n] = "host";
		vals[n++] = h.host;
	}
	if (h.hostaddr != NULL) {
		keys[n] = "hostaddr";
		vals[n++] = h.hostaddr;
	}
	if (h.port != NULL) {
		keys[n] = "port";
		vals[n++] = h.port;
	}
	c->pg = PQconnectStartParams(keys, vals, 1);
	db_hosts_clear(&h);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_fail(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	c->state = CONN_CONNECTING;
	evtimer_add(c->timer, &tv);
	conn_watch(c, true);
}

/* PREPARING: sends every statement's Parse in one pipeline. */
static void
conn_prepare(struct db_conn *c)
{
	PQsetnonblocking(c->pg, 1);
	if (PQenterPipelineMode(c->pg) != 1) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	for (int i = 0; i < STMT_COUNT; i++) {
		if (!PQsendPrepare(c->pg, statements[i].name, statements[i].sql,
		        statements[i].nparams, NULL)) {
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
	}
	PQpipelineSync(c->pg);
	c->prepare_failed = false;
	c->state = CONN_PREPARING;
	conn_watch(c, PQflush(c->pg) == 1);
}

static void
conn_connecting(struct db_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_watch(c, false);
		break;
	case PGRES_POLLING_WRITING:
		conn_watch(c, true);
		break;
	case PGRES_POLLING_OK:
		evtimer_del(c->timer);
		conn_prepare(c);
		break;
	default:
		conn_fail(c, PQerrorMessage(c->pg));
	}
}

/* Reads what is available; returns false when the connection broke. */
static bool
conn_read(struct db_conn *c)
{
	if (PQflush(c->pg) == -1 || !PQconsumeInput(c->pg)) {
		conn_fail(c, PQerrorMessage(c->pg));
		return false;
	}
	return true;
}

/* Whether the server a connection reached is a primary or a standby: its
 * in_hot_standby report (PostgreSQL 14 and later; it changes to "off" on
 * promotion). */
static const char *
conn_role(const struct db_conn *c)
{
	const char *hs = PQparameterStatus(c->pg, "in_hot_standby");

	if (hs == NULL)
		return "unknown";
	return strcmp(hs, "on") == 0 ? "standby" : "primary";
}

static void
conn_log_ready(const struct db_conn *c)
{
	if (c->outage_logged || c->backoff > 0.1)
		log_info("%s database connection %d ready on %s port %s (%s)",
		    c->pool->name, c->index, PQhost(c->pg), PQport(c->pg),
		    conn_role(c));
	else
		log_debug("%s database connection %d ready on %s port %s (%s)",
		    c->pool->name, c->index, PQhost(c->pg), PQport(c->pg),
		    conn_role(c));
}

static void
conn_preparing(struct db_conn *c)
{
	PGresult *r;

	if (!conn_read(c))
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
			PQexitPipelineMode(c->pg);
			if (c->prepare_failed) {
				conn_fail(c, "statements could not be prepared"
				             " (is the schema migrated?)");
				return;
			}
			conn_log_ready(c);
			c->outage_logged = false;
			c->state = CONN_IDLE;
			c->backoff = 0.1;
			pool_dispatch(c->pool);
			return;
		}
	}
	conn_watch(c, PQflush(c->pg) == 1);
}

static void
conn_finish_job(struct db_conn *c)
{
	struct db_job *job = c->job;
	PGresult *res = c->last;
	struct db_result r = { .status = DB_OK, .res = res };

	c->job = NULL;
	c->last = NULL;
	c->state = CONN_IDLE;
	evtimer_del(c->timer);
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
		/* A timed-out statement is the database being unavailable. */
		if (strcmp(r.sqlstate, "57014") == 0)
			r.status = DB_UNAVAILABLE;
	}
	job_finish(job, &r);
	if (res != NULL)
		PQclear(res);
	pool_dispatch(c->pool);
}

static void
conn_busy(struct db_conn *c)
{
	PGresult *r;

	if (!conn_read(c))
		return;
	while (!PQisBusy(c->pg)) {
		if ((r = PQgetResult(c->pg)) == NULL) {
			conn_finish_job(c);
			return;
		}
		if (c->last != NULL)
			PQclear(c->last);
		c->last = r;
	}
	conn_watch(c, PQflush(c->pg) == 1);
}

/* The one transition function: advances c from its current state. */
static void
conn_step(struct db_conn *c)
{
	switch (c->state) {
	case CONN_DOWN:
		conn_start(c);
		break;
	case CONN_CONNECTING:
		conn_connecting(c);
		break;
	case CONN_PREPARING:
		conn_preparing(c);
		break;
	case CONN_BUSY:
		conn_busy(c);
		break;
	case CONN_HELD:
		session_step(c);
		break;
	case CONN_IDLE:
		/* Input while idle: a notice or the server closing. */
		if (conn_read(c) && PQstatus(c->pg) == CONNECTION_BAD)
			conn_fail(c, "server closed the connection");
		break;
	}
}

static void
conn_send(struct db_conn *c, struct db_job *job)
{
	const struct statement *s = &statements[job->stmt];

	if (job->session != NULL) {
		session_attach(c, job);
		return;
	}
	c->job = job;
	c->state = CONN_BUSY;
	if (c->pool->statement_timeout > 0) {
		/* The server enforces statement_timeout; this catches a
		 * server that stopped answering altogether. */
		struct timeval tv = { c->pool->statement_timeout + 5, 0 };
		evtimer_add(c->timer, &tv);
	}
	if (!PQsendQueryPrepared(c->pg, s->name, job->nparams,
	        (const char *const *)job->values, NULL, NULL, 0)) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_watch(c, PQflush(c->pg) == 1);
}

static void
pool_dispatch(struct db_pool *p)
{
	struct db_job *job;

	for (int i = 0; i < p->size && !TAILQ_EMPTY(&p->queue); i++) {
		if (p->conns[i].state != CONN_IDLE)
			continue;
		job = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, job, entry);
		p->waiting--;
		conn_send(&p->conns[i], job);
	}
}

void
db_query(struct db_pool *p, enum stmt_id stmt, int nparams,
    const char *const *values, db_cb cb, void *arg)
{
	struct db_job *job = xcalloc(1, sizeof *job);

	job->stmt = stmt;
	job->cb = cb;
	job->arg = arg;
	job->nparams = nparams;
	job->values = xcalloc((size_t)nparams + 1, sizeof *job->values);
	for (int i = 0; i < nparams; i++)
		job->values[i] = values[i] ? xstrdup(values[i]) : NULL;
	if (!pool_any_up(p)) {
		job_unavailable(job, "database unavailable");
		return;
	}
	if (p->waiting >= p->queue_max) {
		job_unavailable(job, "database queue full");
		return;
	}
	TAILQ_INSERT_TAIL(&p->queue, job, entry);
	p->waiting++;
	pool_dispatch(p);
}

struct db_pool *
db_pool_new(struct event_base *base, const struct db_pool_config *cfg)
{
	struct db_pool *p = xcalloc(1, sizeof *p);

	p->base = base;
	p->name = xstrdup(cfg->name != NULL ? cfg->name : "main");
	p->conninfo = xstrdup(cfg->conninfo);
	xasprintf(&p->options, "-c statement_timeout=%ds -c TimeZone=UTC",
	    cfg->statement_timeout);
	p->size = cfg->size;
	p->queue_max = cfg->queue_max;
	p->connect_timeout = cfg->connect_timeout;
	p->statement_timeout = cfg->statement_timeout;
	TAILQ_INIT(&p->queue);
	p->conns = xcalloc((size_t)p->size, sizeof *p->conns);
	for (int i = 0; i < p->size; i++) {
		struct db_conn *c = &p->conns[i];
		c->pool = p;
		c->index = i;
		c->backoff = 0.1;
		c->timer = evtimer_new(base, on_timer, c);
		conn_start(c);
	}
	return p;
}

void
db_pool_free(struct db_pool *p)
{
	struct db_job *job;

	if (p == NULL)
		return;
	while ((job = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, job, entry);
		job_unavailable(job, "shutting down");
	}
	for (int i = 0; i < p->size; i++) {
		struct db_conn *c = &p->conns[i];
		if (c->job != NULL)
			job_unavailable(c->job, "shutting down");
		session_lost(c, "shutting down");
		conn_close(c);
		event_free(c->timer);
	}
	free(p->conns);
	free(p->name);
	free(p->conninfo);
	free(p->options);
	free(p);
}

bool
db_pool_ready(const struct db_pool *p)
{
	for (int i = 0; i < p->size; i++)
		if (p->conns[i].state == CONN_IDLE ||
		    p->conns[i].state == CONN_BUSY ||
		    p->conns[i].state == CONN_HELD)
			return true;
	return false;
}

int
db_pool_busy(const struct db_pool *p)
{
	int n = 0;

	for (int i = 0; i < p->size; i++)
		n += p->conns[i].state == CONN_BUSY ||
		     p->conns[i].state == CONN_HELD;
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
		n += p->conns[i].state == CONN_IDLE ||
		     p->conns[i].state == CONN_BUSY ||
		     p->conns[i].state == CONN_HELD;
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
session_attach(struct db_conn *c, struct db_job *job)
{
	struct db_session *s = job->session;
	struct db_result r = { .status = DB_OK };
	db_session_cb cb = s->step_cb;

	free(job->values);
	free(job);
	c->state = CONN_HELD;
	c->session = s;
	s->conn = c;
	s->state = SESSION_READY;
	s->step_cb = NULL;
	cb(s, &r, s->arg);
}

/* The connection went away under the session (conn_fail, shutdown). */
static void
session_lost(struct db_conn *c, const char *why)
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

/* A step is in flight: the same guard as conn_send's, for a server that
 * stopped answering (or a commit waiting for a synchronous standby, which
 * statement_timeout does not cancel): the connection fails, the step
 * reports DB_UNAVAILABLE. */
static void
session_arm(struct db_conn *c)
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
	struct db_conn *c = s->conn;

	free(s);
	c->session = NULL;
	evtimer_del(c->timer);
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		conn_fail(c, "a session left its transaction open");
		return;
	}
	c->state = CONN_IDLE;
	conn_watch(c, false);
	pool_dispatch(c->pool);
}

/* ENDING and nothing in flight: ROLLBACK if a transaction is open. */
static void
session_ending(struct db_session *s)
{
	struct db_conn *c = s->conn;

	if (!s->rollback_sent && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		s->rollback_sent = true;
		session_arm(c);
		if (!PQsendQuery(c->pg, "ROLLBACK")) {
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		conn_watch(c, PQflush(c->pg) == 1);
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
session_step(struct db_conn *c)
{
	struct db_session *s = c->session;
	struct db_result ok = { .status = DB_OK };
	db_session_cb cb;
	PGresult *r;
	int f;

	if (!conn_read(c))
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_fail(c, "server closed the connection");
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
				conn_fail(c, PQerrorMessage(c->pg));
				return;
			}
		}
	}
	if ((f = PQflush(c->pg)) == -1) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_watch(c, f == 1);
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

	s->pool = p;
	s->state = SESSION_QUEUED;
	s->step_cb = cb;
	s->arg = arg;
	job->session = s;
	job->cb = session_refused;
	job->arg = s;
	if (!pool_any_up(p)) {
		job_unavailable(job, "database unavailable");
		return NULL;
	}
	if (p->waiting >= p->queue_max) {
		job_unavailable(job, "database queue full");
		return NULL;
	}
	TAILQ_INSERT_TAIL(&p->queue, job, entry);
	p->waiting++;
	pool_dispatch(p);
	return s;
}

void
db_session_exec(struct db_session *s, const char *sql, int nparams,
    const char *const *values, db_session_cb cb)
{
	struct db_conn *c = s->conn;

	if (c == NULL || s->state != SESSION_READY) {
		cb(s, &session_gone, s->arg);
		return;
	}
	s->step_cb = cb;
	s->state = SESSION_RUNNING;
	session_arm(c);
	/* Without parameters: the simple protocol, so that sql may hold
	 * several statements. */
	if (nparams == 0 ? !PQsendQuery(c->pg, sql)
	                 : !PQsendQueryParams(c->pg, sql, nparams, NULL, values,
	                       NULL, NULL, 0)) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_watch(c, PQflush(c->pg) == 1);
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
	struct db_conn *c = s->conn;
	int f;

	if (c == NULL)
		return -1;
	if ((f = PQflush(c->pg)) == -1) {
		conn_fail(c, PQerrorMessage(c->pg));
		return -1;
	}
	if (f == 1) {
		s->sent_cb = cb;
		conn_watch(c, true);
	}
	return f;
}

void
db_session_copy_end(struct db_session *s, db_session_cb cb)
{
	struct db_conn *c = s->conn;

	if (c == NULL || s->state != SESSION_COPY) {
		cb(s, &session_gone, s->arg);
		return;
	}
	s->step_cb = cb;
	s->state = SESSION_RUNNING;
	session_arm(c);
	if (PQputCopyEnd(c->pg, NULL) != 1) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_watch(c, PQflush(c->pg) == 1);
}

void
db_session_end(struct db_session *s)
{
	struct db_conn *c = s->conn;
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
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		conn_watch(c, PQflush(c->pg) == 1);
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
	const struct db_conn *c;

	if (i < 0 || i >= p->size)
		return false;
	c = &p->conns[i];
	if (c->state != CONN_IDLE && c->state != CONN_BUSY &&
	    c->state != CONN_HELD)
		return false;
	out->host = PQhost(c->pg);
	out->port = PQport(c->pg);
	out->role = conn_role(c);
	return true;
}
