/*
 * Schema migrations: sql/NNN_*.sql applied once each, in order, inside a
 * transaction each and recorded in schema_migrations with a checksum (an
 * applied migration is never edited); then every sql/functions/NN_name.sql, in
 * name order, re-applied on each run.  Runs before the daemon serves, so
 * it uses blocking libpq.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

int migrate_run(const char *conninfo, const char *sql_dir);

#endif
