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
	STMT_REPORT_GRANT,
	STMT_REPORT_EVIDENCE,
	STMT_REPORT_INVESTIGATORS,
	STMT_REPORT_COMPLIANCE,
	STMT_PENDING,
	STMT_DELEGATION_CREATE,
	STMT_TOKENS_LIST,
	STMT_TOKEN_ISSUE,
	STMT_TOKEN_REVOKE,
	STMT_AUDIT_LOG,
	STMT_AUDIT_VERIFY,
	STMT_AUDIT_CONFIG,
	STMT_REMINDERS,
	STMT_SPOOL_INGEST,
	STMT_METRICS_FINDINGS,
	STMT_COUNT
};

struct statement {
	const char *name;
	const char *sql;
	int nparams;
};

extern const struct statement statements[STMT_COUNT];

#endif
