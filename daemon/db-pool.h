/*
 * The asynchronous PostgreSQL pool: a fixed number of non-blocking libpq
 * connections driven by the daemon's libevent loop.  Work is one prepared
 * statement per job (each a transaction of its own); jobs wait in a FIFO
 * queue while every connection is busy.  Nothing here ever blocks.
 *
 * A job's life, and the promises the pool makes about it:
 *
 *   db_query() --> QUEUED --> RUNNING --> callback(DB_OK / DB_ERROR)
 *                    |           |
 *                    |           +--> connection lost: callback(DB_UNAVAILABLE,
 *                    |                outcome_unknown = true)
 *                    +--> no connection / queue full / pool closing:
 *                         callback(DB_UNAVAILABLE)
 *   db_cancel(job): QUEUED -> removed; RUNNING -> a cancel request is sent
 *                   to the server and the statement's result discarded;
 *                   either way the callback runs with DB_CANCELLED.
 *
 *   - The callback runs exactly once per job, and never from inside
 *     db_query() or db_cancel(): failures are reported from the event loop
 *     (or from db_pool_free()).  So the handle db_query() returns is valid
 *     until the callback starts, and a caller may store it first.
 *   - Owners: a job submitted with an owner (db_query_owned(), or while
 *     an owner is current, see db_owner_enter()) is recorded in
 *     owner->job, which is cleared before its callback runs or when it is
 *     cancelled; owner->changed (if set) hears of both.  While a job's
 *     callback runs, its owner is current, so a chain of jobs (store,
 *     then re-audit) stays under the same owner without the code in
 *     between knowing: this is how a request (request.h) always knows the
 *     database job it waits for, and can cancel it when its client goes
 *     away, its deadline passes or the daemon stops.
 *   - db_pool_free() closes the pool: queued jobs and running ones are
 *     cancelled (callbacks with DB_CANCELLED, message "shutting down"),
 *     a session's statement in flight gets a cancel request too,
 *     new jobs fail at once, and the function returns when every
 *     callback has run and every cancel request has been delivered.
 *
 * Adding a kind of job (several statements, or COPY): add a field to
 * struct db_job in db-pool.c for what it carries, a submit function built like
 * db_query_owned() (fill the job, file it under its owner, queue it or
 * report a failure with job_report()), and a branch where conn_send()
 * starts it and conn_busy() reads its results; finish with job_finish()
 * (a result) or conn_drop_job() (a lost connection).  Cancellation,
 * owners and shutdown then work for it unchanged, because they only look
 * at whether a job is QUEUED, RUNNING on a connection or REPORTING.
 * Which server a connection reached (multi-host conninfo):
 * db_pool_conn_server(); host is the name from db.conninfo (the address
 * effortd looked up for it is PQhostaddr()).  After a connect timeout the
 * next attempt starts one host further along the (resolved) host list.
 */
#ifndef DB_H
#define DB_H

#include <stdbool.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "db-statements.h"

enum db_status {
	DB_OK,          /* res holds the statement's result */
	DB_UNAVAILABLE, /* no connection, lost, queue full or timed out */
	DB_ERROR,       /* the statement failed: sqlstate and message */
	DB_CANCELLED,   /* db_cancel() or shutdown; the owner is going away */
};

struct db_result {
	enum db_status status;
	PGresult *res;        /* DB_OK; freed by the pool after the callback */
	const char *sqlstate; /* DB_ERROR */
	const char *message;  /* DB_UNAVAILABLE, DB_ERROR, DB_CANCELLED */
	/* DB_UNAVAILABLE/DB_CANCELLED: the statement had been sent, so it may
	 * have committed (the connection dropped or it was cancelled while
	 * running); false: it never reached the server. */
	bool outcome_unknown;
};

typedef void (*db_cb)(const struct db_result *, void *arg);

struct db_pool_config {
	const char *conninfo;
	int size;
	int queue_max;
	int statement_timeout; /* seconds, 0 = none */
	int connect_timeout;   /* seconds: resolving, connecting, preparing */
	const char *name; /* for the log: "main", "report"; NULL = "main" */
};

struct db_pool;
struct db_job; /* a handle: valid until its callback starts */

/* Who a job works for: see "Owners" above. */
struct db_owner {
	struct db_job *job; /* the owner's job in flight, or NULL */
	void (*changed)(struct db_owner *); /* job set or cleared; or NULL */
};

struct db_pool *db_pool_new(struct event_base *, const struct db_pool_config *);
/* Cancels every job (see above), closes the connections, frees the pool. */
void db_pool_free(struct db_pool *);
/* Runs statement stmt with text parameters (NULL = SQL NULL); the job is
 * filed under the current owner, if any. */
struct db_job *db_query(struct db_pool *, enum stmt_id stmt, int nparams,
    const char *const *values, db_cb cb, void *arg);
/* The same, filed under owner (NULL: none, whatever is current). */
struct db_job *db_query_owned(struct db_pool *, struct db_owner *owner,
    enum stmt_id stmt, int nparams, const char *const *values, db_cb cb,
    void *arg);
/* Cancels job (NULL: nothing); its callback runs with DB_CANCELLED. */
void db_cancel(struct db_job *, const char *why);
/* Makes owner current for the jobs db_query() submits until the matching
 * db_owner_leave() (they nest); returns the previous one for it. */
struct db_owner *db_owner_enter(struct db_owner *owner);
void db_owner_leave(struct db_owner *previous);
/* The owner is going away: it is current no more. */
void db_owner_forget(struct db_owner *owner);

/* The resolver the pools share (NULL while no pool exists): also the
 * identity provider's (auth-oidc-keys.c). */
struct evdns_base *db_dns_base(void);
bool db_pool_ready(const struct db_pool *);
int db_pool_busy(const struct db_pool *);
int db_pool_waiting(const struct db_pool *);
int db_pool_size(const struct db_pool *);
int db_pool_ready_count(const struct db_pool *);
void db_pool_set_limits(struct db_pool *, int queue_max, int connect_timeout);

/*
 * Sessions: one pooled connection held by one caller for a transaction of
 * several steps (statements and a COPY), e.g. a feed staged record by
 * record.  A session waits in the queue like a job; open's callback gets
 * DB_OK once it holds a connection (or the job's failure).  Each step's
 * callback gets the step's last result; a COPY ... FROM STDIN step
 * answers DB_OK with a PGRES_COPY_IN result, then takes data until
 * db_session_copy_end.  db_session_end, called exactly once from any
 * state (also from a callback), rolls back whatever is open and gives
 * the connection back; no callback follows it.
 */
struct db_session;
typedef void (*db_session_cb)(
    struct db_session *, const struct db_result *, void *arg);

/* The session, or NULL when the callback has already reported a refusal. */
struct db_session *db_session_open(struct db_pool *, db_session_cb, void *arg);
void db_session_exec(struct db_session *, const char *sql, int nparams,
    const char *const *values, db_session_cb);
/* Queues COPY data; false if the connection is gone. */
bool db_session_copy_put(struct db_session *, const char *data, size_t len);
/* Sends what is queued: 0 all sent, 1 not yet (cb follows once it is),
 * -1 the connection is gone (a pending step reports it). */
int db_session_flush(struct db_session *, db_session_cb);
void db_session_copy_end(struct db_session *, db_session_cb);
void db_session_end(struct db_session *);

/* The server a ready connection is on. */
struct db_server {
	const char *host; /* host name, address or socket directory */
	const char *port;
	const char *role; /* "primary", "standby" or "unknown" */
};
/* Connection i of the pool (0 <= i < db_pool_size): false unless it is up
 * (idle or busy); else *out, valid until the pool next runs.  role is what
 * the server said when it last answered any of the pool's connections to
 * it (a promotion reaches a connection only with its next statement's
 * answer, so an idle connection's own word may be out of date). */
bool db_pool_conn_server(const struct db_pool *, int i, struct db_server *out);

#endif
