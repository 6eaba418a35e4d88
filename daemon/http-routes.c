/*
 * The route table: every endpoint effortd serves, its roles, handler and
 * the query parameters it takes.  A parameter not declared here, given
 * twice, or outside its declared values is a 400 (request-query.c).
 */
#include "feed-specs.h"
#include "api-handlers.h"
#include "request.h"
#include "rules.h"

/* A reviewer may only preview a feed (handle_feed checks preview=true). */
#define FEED_ROLES (ROLE_FEED | ROLE_ADMIN | ROLE_REVIEWER)
#define READ_ROLES (ROLE_MANAGER | ROLE_REVIEWER | ROLE_ADMIN)

static const char *const severities[] = { "violation", "warning", NULL };
static const char *const formats[] = { "json", "csv", "html", NULL };
static const char *const statuses[] = { "submitted", "authorised", "rejected",
	NULL };

static const struct query_param q_violations[] = { { "as_of", NULL },
	{ "rule", audit_rules }, { "severity", severities },
	{ "person_id", NULL }, { "grant_ref", NULL }, { NULL, NULL } };
static const struct query_param q_timesheets[] = { { "person_id", NULL },
	{ "month", NULL }, { "status", statuses }, { NULL, NULL } };
static const struct query_param q_report[] = { { "as_of", NULL },
	{ "format", formats }, { NULL, NULL } };
static const struct query_param q_investigators[] = { { "year", NULL },
	{ "as_of", NULL }, { "format", formats }, { NULL, NULL } };
static const struct query_param q_compliance[] = { { "from", NULL },
	{ "to", NULL }, { "as_of", NULL }, { "format", formats },
	{ NULL, NULL } };
static const struct query_param q_audit[] = { { "person_id", NULL },
	{ "timesheet_id", NULL }, { "since", NULL }, { "limit", NULL },
	{ NULL, NULL } };
static const struct query_param q_audit_verify[] = { { "last_id", NULL },
	{ "last_hash", NULL }, { NULL, NULL } };
/* effortctl reminders --dry-run says so explicitly; a preview either way. */
static const char *const one[] = { "1", NULL };
static const struct query_param q_reminders[] = { { "dry_run", one },
	{ NULL, NULL } };
/* POST /v1/<feed>?preview=true: what the batch would do, nothing stored. */
static const char *const true_false[] = { "true", "false", NULL };
static const struct query_param q_feed[] = { { "preview", true_false },
	{ NULL, NULL } };

/* clang-format off */
const struct route routes[] = {
	{ EVHTTP_REQ_GET, "/healthz", 0, handle_healthz, "healthz", NULL, NULL },
	{ EVHTTP_REQ_GET, "/metrics", 0, handle_metrics, "metrics", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/people", FEED_ROLES, handle_feed, "people", &feed_people, q_feed },
	{ EVHTTP_REQ_POST, "/v1/grants", FEED_ROLES, handle_feed, "grants", &feed_grants, q_feed },
	{ EVHTTP_REQ_POST, "/v1/assignments", FEED_ROLES, handle_feed, "assignments", &feed_assignments, q_feed },
	{ EVHTTP_REQ_POST, "/v1/charges", FEED_ROLES, handle_feed, "charges", &feed_charges, q_feed },
	{ EVHTTP_REQ_POST, "/v1/delegations", FEED_ROLES, handle_feed, "delegations", &feed_delegations, q_feed },
	{ EVHTTP_REQ_POST, "/v1/timesheets", FEED_ROLES, handle_feed, "timesheets", &feed_timesheets, q_feed },
	{ EVHTTP_REQ_GET, "/v1/timesheets", READ_ROLES, handle_timesheets, "timesheets_list", NULL, q_timesheets },
	{ EVHTTP_REQ_GET, "/v1/timesheets/{id}/versions", READ_ROLES, handle_versions, "timesheet_versions", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/timesheets/{id}/approve", ROLE_MANAGER, handle_approve, "approve", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/timesheets/{id}/reject", ROLE_MANAGER, handle_reject, "reject", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/approvals", ROLE_MANAGER, handle_approve_many, "approve_many", NULL, NULL },
	{ EVHTTP_REQ_GET, "/v1/violations", READ_ROLES, handle_violations, "violations", NULL, q_violations },
	{ EVHTTP_REQ_GET, "/v1/reports/grants/{id}", ROLE_REVIEWER | ROLE_ADMIN, handle_report_grant, "report_grant", NULL, q_report },
	{ EVHTTP_REQ_GET, "/v1/reports/grants/{id}/evidence", ROLE_REVIEWER | ROLE_ADMIN, handle_report_evidence, "report_evidence", NULL, q_report },
	{ EVHTTP_REQ_GET, "/v1/reports/investigators", ROLE_REVIEWER | ROLE_ADMIN, handle_report_investigators, "report_investigators", NULL, q_investigators },
	{ EVHTTP_REQ_GET, "/v1/reports/compliance", ROLE_REVIEWER | ROLE_ADMIN, handle_report_compliance, "report_compliance", NULL, q_compliance },
	{ EVHTTP_REQ_GET, "/v1/pending", ROLE_MANAGER, handle_pending, "pending", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/me/delegations", ROLE_MANAGER, handle_delegate, "delegate", NULL, NULL },
	{ EVHTTP_REQ_GET, "/v1/me", ROLE_FEED | ROLE_MANAGER | ROLE_REVIEWER | ROLE_ADMIN, handle_me, "me", NULL, NULL },
	{ EVHTTP_REQ_GET, "/v1/tokens", ROLE_ADMIN, handle_tokens_list, "tokens_list", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/tokens", ROLE_ADMIN, handle_token_create, "token_create", NULL, NULL },
	{ EVHTTP_REQ_POST, "/v1/tokens/{id}/revoke", ROLE_ADMIN, handle_token_revoke, "token_revoke", NULL, NULL },
	{ EVHTTP_REQ_GET, "/v1/audit", ROLE_REVIEWER | ROLE_ADMIN, handle_audit_log, "audit_log", NULL, q_audit },
	{ EVHTTP_REQ_GET, "/v1/audit/verify", ROLE_REVIEWER | ROLE_ADMIN, handle_audit_verify, "audit_verify", NULL, q_audit_verify },
	{ EVHTTP_REQ_GET, "/v1/reminders", ROLE_ADMIN, handle_reminders_preview, "reminders", NULL, q_reminders },
	{ EVHTTP_REQ_POST, "/v1/reminders/run", ROLE_ADMIN, handle_reminders_run, "reminders_run", NULL, NULL },
	{ 0, NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */
