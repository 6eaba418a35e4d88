/*
 * Timesheet reads and decisions: GET /v1/timesheets, GET
 * /v1/timesheets/{id}/versions, POST …/approve and …/reject.  The SQL
 * functions (sql/functions/50_timesheets.sql) check visibility and the
 * decision rules and answer {"http_status": N, "error": "…"} to refuse.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "audit.h"
#include "date.h"
#include "effortd.h"
#include "handlers.h"
#include "request.h"

static const char *
viewer(struct request *r)
{
	return r->role == ROLE_MANAGER ? r->person_id : NULL;
}

/* The timesheet id in the path, or NULL (answered 404) if not a number. */
static const char *
path_id(struct request *r)
{
	const char *s = r->arg;

	if (s == NULL || *s == '\0' || strlen(s) > 18 ||
	    strspn(s, "0123456789") != strlen(s)) {
		reply_error(r, 404, "no such timesheet", NULL);
		return NULL;
	}
	return s;
}

static void
list_done(const struct db_result *res, void *arg)
{
	reply_db_json(arg, res);
}

void
handle_timesheets(struct request *r)
{
	const char *person = request_query(r, "person_id");
	const char *month = request_query(r, "month");
	const char *status = request_query(r, "status");
	char first[11] = "";
	struct date d;

	if (month != NULL) {
		if (!month_parse(month, &d)) {
			reply_error(r, 400, "month must be YYYY-MM", NULL);
			return;
		}
		memcpy(first, month, 7);
		memcpy(first + 7, "-01", 4);
	}
	if (status != NULL && strcmp(status, "submitted") != 0 &&
	    strcmp(status, "authorised") != 0 &&
	    strcmp(status, "rejected") != 0) {
		reply_error(r, 400,
		    "status must be submitted, authorised or "
		    "rejected",
		    NULL);
		return;
	}
	const char *params[5] = { person, month ? first : NULL, status,
		viewer(r), effortd.rules_json };
	db_query(effortd.db, STMT_TIMESHEETS_LIST, 5, params, list_done, r);
}

void
handle_versions(struct request *r)
{
	const char *id = path_id(r);

	if (id == NULL)
		return;
	const char *params[3] = { id, viewer(r), effortd.rules_json };
	db_query(effortd.db, STMT_TIMESHEET_VERSIONS, 3, params, list_done, r);
}

static void
decide(struct request *r, const char *decision, const char *reason)
{
	const char *id = path_id(r);

	if (id == NULL)
		return;
	const char *params[6] = { id, decision, r->person_id, reason,
		r->token_id, effortd.rules_json };
	db_query(
	    effortd.db, STMT_TIMESHEET_DECIDE, 6, params, reply_db_change, r);
}

void
handle_approve(struct request *r)
{
	decide(r, "authorised", NULL);
}

void
handle_reject(struct request *r)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(body);
	json_t *doc =
	    json_loadb((const char *)evbuffer_pullup(body, -1), len, 0, NULL);
	const char *reason = json_string_value(json_object_get(doc, "reason"));

	if (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0') {
		json_decref(doc);
		reply_error(r, 422,
		    "a reason is required to reject a timesheet",
		    json_pack("[{s:s, s:s}]", "field", "reason", "message",
		        "is required"));
		return;
	}
	decide(r, "rejected", reason);
	json_decref(doc);
}
