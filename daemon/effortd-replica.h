/*
 * Reads that may run on a hot standby (db.report_conninfo), with the
 * fallback to the primary and read-your-writes: daemon/effortd-replica.c.
 */
#ifndef REPLICA_H
#define REPLICA_H

#include "db-pool.h"

/*
 * db_query() for read-only work.  When pool is effortd.report_db the read
 * goes to the standby once it has replayed every commit acknowledged
 * before this call (waiting at most db.report_wait_ms), else to the
 * primary; when the report pool is down, to the primary at once.  Any
 * other pool: plain db_query().  cb is called exactly once.
 */
void replica_query(struct db_pool *pool, enum stmt_id stmt, int nparams,
    const char *const *values, db_cb cb, void *arg);

#endif
