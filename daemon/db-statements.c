/*
 * The statements effortd prepares on each connection.  Every statement
 * calls one SQL function (sql/functions/NN_name.sql) and returns one row with
 * one column, usually a jsonb document.
 */
#include "db-statements.h"

const struct statement statements[STMT_COUNT] = {
	[STMT_PING] = { "ping", "SELECT 1", 0 },
	/* token hash (hex), rules json -> role, person_id, token_id, left_on */
	[STMT_AUTH] = { "auth", "SELECT * FROM effort_auth($1, $2::jsonb)", 2 },
	/* issuer, subject, match, claim, value, group roles, rules json */
	[STMT_OIDC_SIGNIN] = { "oidc_signin",
	    "SELECT effort_oidc_signin($1, $2, $3, $4, $5, $6::text[], "
	    "$7::jsonb)",
	    7 },
	/* batch (jsonb), token_id, check only */
	[STMT_INGEST_PEOPLE] = { "ingest_people",
	    "SELECT ingest_people($1::jsonb, $2::bigint, $3::boolean)", 3 },
	[STMT_INGEST_GRANTS] = { "ingest_grants",
	    "SELECT ingest_grants($1::jsonb, $2::bigint, $3::boolean)", 3 },
	[STMT_INGEST_ASSIGNMENTS] = { "ingest_assignments",
	    "SELECT ingest_assignments($1::jsonb, $2::bigint, $3::boolean)",
	    3 },
	[STMT_INGEST_CHARGES] = { "ingest_charges",
	    "SELECT ingest_charges($1::jsonb, $2::bigint, $3::boolean)", 3 },
	[STMT_INGEST_DELEGATIONS] = { "ingest_delegations",
	    "SELECT ingest_delegations($1::jsonb, $2::bigint, $3::boolean)",
	    3 },
	[STMT_INGEST_TIMESHEETS] = { "ingest_timesheets",
	    "SELECT ingest_timesheets($1::jsonb, $2::bigint, $3::boolean)", 3 },
	/* person, month, status, viewer manager id, rules json */
	[STMT_TIMESHEETS_LIST] = { "timesheets_list",
	    "SELECT timesheets_list($1, $2::date, $3, $4, $5::jsonb)", 5 },
	/* timesheet id, viewer manager id, rules json */
	[STMT_TIMESHEET_VERSIONS] = { "timesheet_versions",
	    "SELECT timesheet_versions($1::bigint, $2, $3::jsonb)", 3 },
	/* id, decision, manager person, reason, token_id, rules json */
	[STMT_TIMESHEET_DECIDE] = { "timesheet_decide",
	    "SELECT timesheet_decide($1::bigint, $2, $3, $4, $5::bigint, $6::jsonb)",
	    6 },
	/* as_of (NULL = today), rules json, rule, severity, person, grant,
	 * manager
	 */
	[STMT_VIOLATIONS] = { "violations",
	    "SELECT violations_list($1::date, $2::jsonb, $3, $4, $5, $6, $7)",
	    7 },
	/* rules json, people (the JSON array a store or a decision answered,
	 * read by effort_reaudit_people; NULL: everyone) */
	[STMT_AUDIT_SWEEP] = { "audit_sweep",
	    "SELECT audit_sweep(NULL, $1::jsonb, "
	    "effort_reaudit_people($2::jsonb))",
	    2 },
	/* grant ref, as_of (NULL = today), rules json */
	[STMT_REPORT_GRANT] = { "report_grant",
	    "SELECT report_grant($1, $2::date, $3::jsonb)", 3 },
	[STMT_REPORT_EVIDENCE] = { "report_grant_evidence",
	    "SELECT report_grant_evidence($1, $2::date, $3::jsonb)", 3 },
	/* year, as_of, rules json */
	[STMT_REPORT_INVESTIGATORS] = { "report_investigators",
	    "SELECT report_investigators($1::int, $2::date, $3::jsonb)", 3 },
	/* from, to, as_of, rules json */
	[STMT_REPORT_COMPLIANCE] = { "report_compliance",
	    "SELECT report_compliance($1::date, $2::date, $3::date, $4::jsonb)",
	    4 },
	/* manager person, rules json */
	[STMT_PENDING] = { "pending", "SELECT pending_list($1, $2::jsonb)", 2 },
	/* manager, delegate, start, end, token_id, rules json */
	[STMT_DELEGATION_CREATE] = { "delegation_create",
	    "SELECT delegation_create($1, $2, $3::date, $4::date, $5::bigint, "
	    "$6::jsonb)",
	    6 },
	[STMT_TOKENS_LIST] = { "tokens_list", "SELECT tokens_list()", 0 },
	/* hash (hex), role, person, label, acting token_id, rules json */
	[STMT_TOKEN_ISSUE] = { "token_issue",
	    "SELECT token_issue($1, $2, $3, $4, $5::bigint, $6::jsonb)", 6 },
	/* token id, acting token_id */
	[STMT_TOKEN_REVOKE] = { "token_revoke",
	    "SELECT token_revoke($1::bigint, $2::bigint)", 2 },
	/* person, timesheet id, since, limit, rules json */
	[STMT_AUDIT_LOG] = { "audit_log",
	    "SELECT audit_list($1, $2::bigint, $3::date, $4::int, $5::jsonb)",
	    5 },
	/* last id and last hash (hex) kept from an earlier verify, or NULLs */
	[STMT_AUDIT_VERIFY] = { "audit_verify",
	    "SELECT audit_verify($1::bigint, $2)", 2 },
	/* config file, settings before, settings after */
	[STMT_AUDIT_CONFIG] = { "audit_config",
	    "SELECT audit_config_reload($1, $2::jsonb, $3::jsonb)", 3 },
	/* rules json, claim (false: a dry run) */
	[STMT_REMINDERS] = { "reminders",
	    "SELECT reminders($1::jsonb, $2::boolean)", 2 },
	/* recipient, items (JSON array of claim keys), day */
	[STMT_REMINDERS_RELEASE] = { "reminders_release",
	    "SELECT reminders_release($1, $2::jsonb, $3::date)", 3 },
	/* batch, token_id, check only, feed, file name, size, sha256 */
	[STMT_SPOOL_INGEST] = { "spool_ingest",
	    "SELECT spool_ingest($1::jsonb, $2::bigint, $3::boolean, $4, $5, "
	    "$6::bigint, $7)",
	    7 },
	/* open findings by rule and severity */
	[STMT_METRICS_FINDINGS] = { "metrics_findings",
	    "SELECT metrics_findings()", 0 },
	/* ids (a JSON array), manager person, token_id, rules json */
	[STMT_APPROVE_MANY] = { "approve_many",
	    "SELECT approve_many($1::jsonb, $2, $3::bigint, $4::jsonb)", 4 },
	/* the primary's WAL position (fails on a standby) */
	[STMT_WAL_LSN] = { "wal_lsn",
	    "SELECT pg_current_wal_insert_lsn()::text", 0 },
	/* lsn, most milliseconds to wait */
	[STMT_REPLICA_WAIT] = { "replica_wait",
	    "SELECT replica_wait_replay($1::pg_lsn, $2::int)", 2 },
	[STMT_REPLICA_STATUS] = { "replica_status", "SELECT replica_status()",
	    0 },
};
