/*
 * Timesheet reads and decisions: GET /v1/timesheets, GET
 * /v1/timesheets/{id}/versions, POST …/approve and …/reject.  The SQL
 * functions (sql/functions/50_timesheets.sql) check visibility and the
 * decision rules and answer {"http_status": N, "error": "…"} to refuse.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "job-reaudit.h"
#include "date.h"
#include "effortd.h"
#include "feed-specs.h"
#include "feed-validate.h"
#include "api-handlers.h"
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
			reply_param_error(r, "month", "month must be YYYY-MM");
			return;
		}
		memcpy(first, month, 7);
		memcpy(first + 7, "-01", 4);
	}
	if (status != NULL && strcmp(status, "submitted") != 0 &&
	    strcmp(status, "authorised") != 0 &&
	    strcmp(status, "rejected") != 0) {
		reply_param_error(r, "status",
		    "status must be submitted, authorised or rejected");
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

/* A reject's body.  Its reason is free text as a feed's (feed-specs.c): no
 * control character but tab, at most the feeds' text limit. */
static const struct field_spec reject_fields[] = {
	{ "reason", FT_STRING, F_REQUIRED, NULL, 1, FEED_TEXT_MAX },
	{ NULL, 0, 0, NULL, 0, 0 },
};
#define reason_field (reject_fields[0])

/* A reject body's reason (doc as request_body_object left it), or NULL
 * when it answered 400 or 422. */
static const char *
reject_reason(struct request *r, json_t *doc)
{
	json_t *value = json_object_get(doc, "reason");
	const char *reason = json_string_value(value);
	const char *why;
	char msg[256];

	if (doc == NULL)
		return NULL;
	if (json_is_null(value) || value == NULL ||
	    (reason != NULL && reason[strspn(reason, " \t\r\n")] == '\0')) {
		reply_field_error(r, 422,
		    "a reason is required to reject a timesheet", "reason",
		    "is required");
	} else if ((why = feed_field_problem(
	                &reason_field, value, msg, sizeof msg)) != NULL) {
		reply_field_error(r, 422, "invalid reason", "reason", why);
	} else
		return reason;
	return NULL;
}

void
handle_reject(struct request *r)
{
	json_t *doc = request_body_object(r, reject_fields);
	const char *reason = reject_reason(r, doc);

	if (reason != NULL)
		decide(r, "rejected", reason);
	json_decref(doc);
}

/* The most ids one POST /v1/approvals takes. */
#define APPROVE_MANY_MAX 1000

/* POST /v1/approvals's body (request_body_object reads only the names;
 * approve_many_errors checks the array). */
static const struct field_spec approve_many_fields[] = {
	{ "timesheet_ids", FT_STRING, F_REQUIRED, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

/*
 * Checks {"timesheet_ids": [positive integers]}: NULL when it is fine,
 * else the 422 errors array.
 */
static json_t *
approve_many_errors(json_t *doc)
{
	json_t *ids = json_object_get(doc, "timesheet_ids"), *v;
	json_t *errors = json_array();
	char field[64];
	size_t i;

	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > APPROVE_MANY_MAX) {
		/* that alone: not one error per id of any number of them */
		json_array_append_new(errors,
		    json_pack("{s:s, s:s}", "field", "timesheet_ids", "message",
		        "must be an array of 1 to 1000 timesheet ids"));
		return errors;
	}
	json_array_foreach(ids, i, v)
	{
		if (json_is_integer(v) && json_integer_value(v) > 0)
			continue;
		snprintf(field, sizeof field, "timesheet_ids[%zu]", i);
		json_array_append_new(
		    errors, json_pack("{s:s, s:s}", "field", field, "message",
		                "must be a positive integer (a timesheet id)"));
	}
	if (json_array_size(errors) == 0) {
		json_decref(errors);
		return NULL;
	}
	return errors;
}

void
handle_approve_many(struct request *r)
{
	json_t *doc = request_body_object(r, approve_many_fields);
	json_t *errors;
	char *ids;

	if (doc == NULL)
		return;
	if ((errors = approve_many_errors(doc)) != NULL) {
		json_decref(doc);
		reply_error(r, 422, "invalid approvals", errors);
		return;
	}
	ids = json_dumps(json_object_get(doc, "timesheet_ids"), JSON_COMPACT);
	json_decref(doc);
	const char *params[4] = { ids, r->person_id, r->token_id,
		effortd.rules_json };
	db_query(effortd.db, STMT_APPROVE_MANY, 4, params, reply_db_change, r);
	free(ids);
}
