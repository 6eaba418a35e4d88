/* The route table: every endpoint effortd serves, its roles and handler. */
#include "feed.h"
#include "handlers.h"
#include "request.h"

#define FEED_ROLES (ROLE_FEED | ROLE_ADMIN)
#define READ_ROLES (ROLE_MANAGER | ROLE_REVIEWER | ROLE_ADMIN)

/* clang-format off */
const struct route routes[] = {
	{ EVHTTP_REQ_GET, "/healthz", 0, handle_healthz, "healthz", NULL },
	{ EVHTTP_REQ_GET, "/metrics", 0, handle_metrics, "metrics", NULL },
	{ EVHTTP_REQ_POST, "/v1/people", FEED_ROLES, handle_feed, "people", &feed_people },
	{ EVHTTP_REQ_POST, "/v1/grants", FEED_ROLES, handle_feed, "grants", &feed_grants },
	{ EVHTTP_REQ_POST, "/v1/assignments", FEED_ROLES, handle_feed, "assignments", &feed_assignments },
	{ EVHTTP_REQ_POST, "/v1/charges", FEED_ROLES, handle_feed, "charges", &feed_charges },
	{ EVHTTP_REQ_POST, "/v1/delegations", FEED_ROLES, handle_feed, "delegations", &feed_delegations },
	{ EVHTTP_REQ_POST, "/v1/timesheets", FEED_ROLES, handle_feed, "timesheets", &feed_timesheets },
	{ EVHTTP_REQ_GET, "/v1/timesheets", READ_ROLES, handle_timesheets, "timesheets_list", NULL },
	{ EVHTTP_REQ_GET, "/v1/timesheets/{id}/versions", READ_ROLES, handle_versions, "timesheet_versions", NULL },
	{ EVHTTP_REQ_POST, "/v1/timesheets/{id}/approve", ROLE_MANAGER, handle_approve, "approve", NULL },
	{ EVHTTP_REQ_POST, "/v1/timesheets/{id}/reject", ROLE_MANAGER, handle_reject, "reject", NULL },
	{ EVHTTP_REQ_POST, "/v1/approvals", ROLE_MANAGER, handle_approve_many, "approve_many", NULL },
	{ EVHTTP_REQ_GET, "/v1/violations", READ_ROLES, handle_violations, "violations", NULL },
	{ EVHTTP_REQ_GET, "/v1/reports/grants/{id}", ROLE_REVIEWER | ROLE_ADMIN, handle_report_grant, "report_grant", NULL },
	{ EVHTTP_REQ_GET, "/v1/reports/grants/{id}/evidence", ROLE_REVIEWER | ROLE_ADMIN, handle_report_evidence, "report_evidence", NULL },
	{ EVHTTP_REQ_GET, "/v1/reports/investigators", ROLE_REVIEWER | ROLE_ADMIN, handle_report_investigators, "report_investigators", NULL },
	{ EVHTTP_REQ_GET, "/v1/reports/compliance", ROLE_REVIEWER | ROLE_ADMIN, handle_report_compliance, "report_compliance", NULL },
	{ EVHTTP_REQ_GET, "/v1/pending", ROLE_MANAGER, handle_pending, "pending", NULL },
	{ EVHTTP_REQ_POST, "/v1/me/delegations", ROLE_MANAGER, handle_delegate, "delegate", NULL },
	{ EVHTTP_REQ_GET, "/v1/tokens", ROLE_ADMIN, handle_tokens_list, "tokens_list", NULL },
	{ EVHTTP_REQ_POST, "/v1/tokens", ROLE_ADMIN, handle_token_create, "token_create", NULL },
	{ EVHTTP_REQ_POST, "/v1/tokens/{id}/revoke", ROLE_ADMIN, handle_token_revoke, "token_revoke", NULL },
	{ EVHTTP_REQ_GET, "/v1/audit", ROLE_REVIEWER | ROLE_ADMIN, handle_audit_log, "audit_log", NULL },
	{ EVHTTP_REQ_GET, "/v1/audit/verify", ROLE_REVIEWER | ROLE_ADMIN, handle_audit_verify, "audit_verify", NULL },
	{ EVHTTP_REQ_GET, "/v1/reminders", ROLE_ADMIN, handle_reminders_preview, "reminders", NULL },
	{ EVHTTP_REQ_POST, "/v1/reminders/run", ROLE_ADMIN, handle_reminders_run, "reminders_run", NULL },
	{ 0, NULL, 0, NULL, NULL, NULL }
};
/* clang-format on */
