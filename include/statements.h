/*
 * The SQL statements effortd runs, prepared on every pool connection.
 * Each is a call of a function in sql/functions/: the SQL lives there,
 * parameters always travel separately from the text.
 */
#ifndef STATEMENTS_H
#define STATEMENTS_H

enum stmt_id {
	STMT_PING,
	STMT_AUTH,
	STMT_INGEST_PEOPLE,
	STMT_INGEST_GRANTS,
	STMT_INGEST_ASSIGNMENTS,
	STMT_INGEST_CHARGES,
	STMT_INGEST_DELEGATIONS,
	STMT_INGEST_TIMESHEETS,
	STMT_TIMESHEETS_LIST,
	STMT_TIMESHEET_VERSIONS,
	STMT_TIMESHEET_DECIDE,
	STMT_VIOLATIONS,
	STMT_AUDIT_SWEEP,
	STMT_COUNT
};

struct statement {
	const char *name;
	const char *sql;
	int nparams;
};

extern const struct statement statements[STMT_COUNT];

#endif
