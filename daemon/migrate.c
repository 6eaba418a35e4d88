/*
 * effortd --migrate: brings the database schema up to date.  Numbered
 * migrations (sql/NNN_name.sql) run once each in a transaction of their
 * own and are recorded with their SHA-256 in schema_migrations; a recorded
 * migration whose file has since changed stops the run.  Then the function
 * files (sql/functions/NN_name.sql: rules, ingest, reads) are re-applied, all
 * in one transaction.  An advisory lock keeps two instances from migrating at
 * once.  A database holding a migration this effortd does not have (migrated
 * by a newer one) is refused before anything is applied.  This runs before
 * serving, so blocking libpq is fine here.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "digest.h"
#include "log.h"
#include "migrate.h"
#include "xmalloc.h"

#define MIGRATE_LOCK "7046372001"

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static int
is_migration(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 8 && strspn(d->d_name, "0123456789") == 3 &&
	       d->d_name[3] == '_' && strcmp(d->d_name + n - 4, ".sql") == 0;
}

static int
is_sql(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && d->d_name[0] != '.' &&
	       strcmp(d->d_name + n - 4, ".sql") == 0;
}

/* Runs SQL text with no parameters; logs and returns -1 on failure. */
static int
exec(PGconn *pg, const char *sql, const char *what)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_error("%s: %s", what, PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* 1 applied, 0 not yet, -1 applied with another checksum or error. */
static int
applied(PGconn *pg, const char *name, const char *sum)
{
	const char *params[1] = { name };
	PGresult *res = PQexecParams(pg,
	    "SELECT checksum FROM schema_migrations "
	    "WHERE version = $1",
	    1, NULL, params, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = -1;
	else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), sum) == 0)
		rc = 1;
	else if (PQntuples(res) == 1) {
		log_error("migration %s was edited after it was applied; add a "
		          "new migration instead",
		    name);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int
apply_migration(PGconn *pg, const char *dir, const char *name)
{
	char *path, *sql, sum[65];
	size_t len;
	int rc;

	xasprintf(&path, "%s/%s", dir, name);
	if ((sql = read_file(path, &len)) == NULL) {
		log_error("cannot read %s", path);
		free(path);
		return -1;
	}
	sha256_hex(sql, len, sum);
	if ((rc = applied(pg, name, sum)) == 0) {
		const char *params[2] = { name, sum };
		PGresult *res;
		rc = exec(pg, "BEGIN", name);
		if (rc == 0)
			rc = exec(pg, sql, path);
		if (rc == 0) {
			res = PQexecParams(pg,
			    "INSERT INTO schema_migrations "
			    "(version, checksum) VALUES ($1, $2)",
			    2, NULL, params, NULL, NULL, 0);
			rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
			PQclear(res);
		}
		rc = exec(pg, rc == 0 ? "COMMIT" : "ROLLBACK", name) == 0 ? rc
		                                                          : -1;
		if (rc == 0)
			log_info("applied migration %s", name);
	} else if (rc == 1)
		rc = 0;
	free(sql);
	free(path);
	return rc;
}

/*
 * The rule settings' defaults come from the option table (config.c) only:
 * handed to the function files, which keep them as effort_rule_defaults()
 * (30_rules.sql), in a setting of this transaction.
 */
static int
pass_rule_defaults(PGconn *pg)
{
	char *json = config_rules_defaults_json();
	char *lit = PQescapeLiteral(pg, json, strlen(json));
	char *sql;
	int rc;

	if (lit == NULL) {
		log_error("rule defaults: %s", PQerrorMessage(pg));
		free(json);
		return -1;
	}
	xasprintf(
	    &sql, "SELECT set_config('effortd.rule_defaults', %s, true)", lit);
	rc = exec(pg, sql, "rule defaults");
	free(sql);
	PQfreemem(lit);
	free(json);
	return rc;
}

static int
apply_functions(PGconn *pg, const char *dir)
{
	struct dirent **names;
	char *fdir, *path, *sql;
	size_t len;
	int n, rc;

	xasprintf(&fdir, "%s/functions", dir);
	if ((n = scandir(fdir, &names, is_sql, alphasort)) < 0) {
		log_error("cannot read %s", fdir);
		free(fdir);
		return -1;
	}
	rc = exec(pg, "BEGIN", "functions");
	if (rc == 0)
		rc = pass_rule_defaults(pg);
	for (int i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", fdir, names[i]->d_name);
		if (rc == 0 && (sql = read_file(path, &len)) != NULL) {
			rc = exec(pg, sql, path);
			free(sql);
		} else if (rc == 0) {
			log_error("cannot read %s", path);
			rc = -1;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	free(fdir);
	rc = exec(pg, rc == 0 ? "COMMIT" : "ROLLBACK", "functions") == 0 ? rc
	                                                                 : -1;
	return rc;
}

/*
 * A database migrated by a newer effortd holds a migration this one does
 * not have: its functions would replace the newer ones (or fail half way
 * with an error that does not say why).  Refused, naming the first such
 * migration; -1 then or on error, else 0.
 */
static int
refuse_newer(PGconn *pg, const char *dir, struct dirent **names, int n)
{
	PGresult *res = PQexec(
	    pg, "SELECT version FROM schema_migrations ORDER BY version");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("schema_migrations: %s", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
		const char *version = PQgetvalue(res, row, 0);
		int known = 0;

		for (int i = 0; i < n && !known; i++)
			known = strcmp(names[i]->d_name, version) == 0;
		if (!known) {
			log_error(
			    "the database has migration %s, which this "
			    "effortd does not have (%s): it was migrated by "
			    "a newer effortd; run that one's --migrate",
			    version, dir);
			rc = -1;
		}
	}
	PQclear(res);
	return rc;
}

static int
apply_all(PGconn *pg, const char *dir)
{
	struct dirent **names;
	int n, rc;

	if ((n = scandir(dir, &names, is_migration, alphasort)) < 0) {
		log_error("cannot read %s", dir);
		return -1;
	}
	rc = refuse_newer(pg, dir, names, n);
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = apply_migration(pg, dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return rc == 0 ? apply_functions(pg, dir) : rc;
}

int
migrate_run(const char *conninfo, const char *sql_dir)
{
	PGconn *pg = PQconnectdb(conninfo);
	int rc;

	if (PQstatus(pg) != CONNECTION_OK) {
		log_error(
		    "cannot connect to the database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	rc = exec(pg, "SET client_min_messages = warning", "setup");
	if (rc == 0)
		rc = exec(
		    pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", "lock");
	if (rc == 0)
		rc = exec(pg,
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    "version text PRIMARY KEY, checksum text NOT NULL, "
		    "applied_at timestamptz NOT NULL DEFAULT now())",
		    "setup");
	if (rc == 0)
		rc = apply_all(pg, sql_dir);
	PQfinish(pg);
	if (rc == 0)
		log_info("database schema is up to date");
	return rc == 0 ? 0 : 1;
}
