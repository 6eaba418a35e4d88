/*
 * The spool folder (spool.dir): feed files dropped there by rename —
 * people-*.csv, timesheets-*.json and so on — are ingested each in one
 * transaction, with a ledger that makes a restart never store a file
 * twice, then moved to done/ or to failed/ with a <name>.errors file.
 */
#ifndef SPOOL_H
#define SPOOL_H

/* Starts polling when spool.dir is set; -1 if the folder is unusable. */
int spool_start(void);
void spool_stop(void);

#endif
