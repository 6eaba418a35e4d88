/*
 * The asynchronous PostgreSQL pool: a fixed number of non-blocking libpq
 * connections driven by the daemon's libevent loop.  Work is one prepared
 * statement per job (each a transaction of its own); jobs wait in a FIFO
 * queue while every connection is busy.  Nothing here ever blocks.
 */
#ifndef DB_H
#define DB_H

#include <stdbool.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "statements.h"

enum db_status {
	DB_OK,          /* res holds the statement's result */
	DB_UNAVAILABLE, /* no connection, lost, queue full or timed out */
	DB_ERROR,       /* the statement failed: sqlstate and message */
};

struct db_result {
	enum db_status status;
	PGresult *res;        /* DB_OK; freed by the pool after the callback */
	const char *sqlstate; /* DB_ERROR */
	const char *message;  /* DB_UNAVAILABLE, DB_ERROR */
};

typedef void (*db_cb)(const struct db_result *, void *arg);

struct db_pool_config {
	const char *conninfo;
	int size;
	int queue_max;
	int statement_timeout; /* seconds, 0 = none */
	int connect_timeout;   /* seconds */
	const char *name; /* for the log: "main", "report"; NULL = "main" */
};

struct db_pool;

struct db_pool *db_pool_new(struct event_base *, const struct db_pool_config *);
/* Stops accepting work; queued jobs fail, running ones finish. */
void db_pool_free(struct db_pool *);
/* Runs statement stmt with text parameters (NULL = SQL NULL). */
void db_query(struct db_pool *, enum stmt_id stmt, int nparams,
    const char *const *values, db_cb cb, void *arg);
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
 * (idle or busy); else *out, valid until the pool next runs. */
bool db_pool_conn_server(const struct db_pool *, int i, struct db_server *out);

#endif
