/*
 * Reads that may run on a hot standby (db.report_conninfo): reports and
 * violations as of an explicit date.  replica_query() chooses the server:
 *
 *   - no report pool, or the caller passed the main pool: the main pool;
 *   - the report pool has no connection up (the standby is down): the
 *     main pool, at once (the fallback);
 *   - db.report_wait_ms = 0: the report pool, however far it lags;
 *   - otherwise read-your-writes, a small state machine:
 *
 *       RS_LSN   ask the primary for its WAL position (every commit
 *                acknowledged before this read is at or before it)
 *       RS_WAIT  let the standby wait, at most db.report_wait_ms, until
 *                it has replayed that far
 *       RS_READ  run the read: on the standby if it caught up (or the
 *                primary could not be asked: the primary is down, the
 *                standby is all there is), else on the primary
 *
 * Every path ends in exactly one db_query() whose callback is the caller's,
 * so the caller sees one result as with db_query().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effortd.h"
#include "log.h"
#include "metrics.h"
#include "effortd-replica.h"
#include "xmalloc.h"

enum replica_step { RS_LSN, RS_WAIT, RS_READ };

struct replica_job {
	enum replica_step step;
	enum stmt_id stmt;
	int nparams;
	char **values;
	db_cb cb;
	void *arg;
};

static void
job_free(struct replica_job *j)
{
	for (int i = 0; i < j->nparams; i++)
		free(j->values[i]);
	free(j->values);
	free(j);
}

/* RS_READ: hands the read to pool with the caller's callback. */
static void
job_read(struct replica_job *j, struct db_pool *pool)
{
	metrics_report_read(pool == effortd.report_db);
	db_query(pool, j->stmt, j->nparams, (const char *const *)j->values,
	    j->cb, j->arg);
	job_free(j);
}

/* The one transition function: res is the answer to the current step. */
static void
replica_step(const struct db_result *res, void *arg)
{
	struct replica_job *j = arg;
	char wait_ms[16];

	if (res->status != DB_OK && effortd.draining) {
		/* Shutting down: the pools may be going; stop here. */
		j->cb(res, j->arg);
		job_free(j);
		return;
	}
	switch (j->step) {
	case RS_LSN:
		if (res->status != DB_OK || PQntuples(res->res) != 1) {
			log_debug("report read: the primary's WAL position is "
			          "unknown (%s); reading from the standby",
			    res->message ? res->message : "no answer");
			j->step = RS_READ;
			job_read(j, effortd.report_db);
			return;
		}
		j->step = RS_WAIT;
		snprintf(wait_ms, sizeof wait_ms, "%d",
		    effortd.cfg.db_report_wait_ms);
		const char *params[2] = { PQgetvalue(res->res, 0, 0), wait_ms };
		db_query(effortd.report_db, STMT_REPLICA_WAIT, 2, params,
		    replica_step, j);
		return;
	case RS_WAIT:
		j->step = RS_READ;
		if (res->status == DB_OK && PQntuples(res->res) == 1 &&
		    strcmp(PQgetvalue(res->res, 0, 0), "t") == 0) {
			job_read(j, effortd.report_db);
			return;
		}
		log_info("report read: the standby has not replayed the "
		         "primary's last commit within %d ms%s; reading from "
		         "the primary",
		    effortd.cfg.db_report_wait_ms,
		    res->status == DB_OK ? "" : " (it did not answer)");
		job_read(j, effortd.db);
		return;
	case RS_READ:
		break;
	}
	abort(); /* RS_READ never waits for an answer */
}

void
replica_query(struct db_pool *pool, enum stmt_id stmt, int nparams,
    const char *const *values, db_cb cb, void *arg)
{
	struct replica_job *j;

	if (pool != effortd.report_db || effortd.report_db == NULL) {
		db_query(pool, stmt, nparams, values, cb, arg);
		return;
	}
	if (!db_pool_ready(effortd.report_db)) {
		log_debug("report read: the report pool is down; reading from "
		          "the primary");
		metrics_report_read(false);
		db_query(effortd.db, stmt, nparams, values, cb, arg);
		return;
	}
	if (effortd.cfg.db_report_wait_ms == 0) {
		metrics_report_read(true);
		db_query(effortd.report_db, stmt, nparams, values, cb, arg);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->step = RS_LSN;
	j->stmt = stmt;
	j->cb = cb;
	j->arg = arg;
	j->nparams = nparams;
	j->values = xcalloc((size_t)nparams + 1, sizeof *j->values);
	for (int i = 0; i < nparams; i++)
		j->values[i] = values[i] ? xstrdup(values[i]) : NULL;
	db_query(effortd.db, STMT_WAL_LSN, 0, NULL, replica_step, j);
}
