/*
 * The manager's side of approvals: GET /v1/pending, the queue of their
 * staff's (and delegators' staff's) timesheets awaiting authorisation, and
 * POST /v1/me/delegations, a manager delegating their own staff.  The SQL
 * is in sql/functions/62_approvals.sql.
 */
#include <string.h>

#include <event2/buffer.h>

#include "job-reaudit.h"
#include "date.h"
#include "effortd.h"
#include "api-handlers.h"
#include "feed-specs.h"
#include "request.h"

static void
pending_done(const struct db_result *res, void *arg)
{
	reply_db_json(arg, res);
}

void
handle_pending(struct request *r)
{
	const char *params[2] = { r->person_id, effortd.rules_json };

	db_query(effortd.db, STMT_PENDING, 2, params, pending_done, r);
}

/* A string member that is a date, or NULL (and *bad = key). */
static const char *
date_member(json_t *doc, const char *key, const char **bad)
{
	const char *v = json_string_value(json_object_get(doc, key));
	struct date d;

	if (v == NULL || !date_parse(v, &d)) {
		if (*bad == NULL)
			*bad = key;
		return NULL;
	}
	return v;
}

/* POST /v1/me/delegations's body (the fields are checked below). */
static const struct field_spec delegation_fields[] = {
	{ "delegate_id", FT_STRING, F_REQUIRED, NULL, 1, FEED_TEXT_MAX },
	{ "start_date", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "end_date", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 },
};

void
handle_delegate(struct request *r)
{
	json_t *doc = request_body_object(r, delegation_fields);
	const char *bad = NULL, *delegate, *start, *end;

	if (doc == NULL)
		return;
	delegate = json_string_value(json_object_get(doc, "delegate_id"));
	if (delegate == NULL || *delegate == '\0')
		bad = "delegate_id";
	start = date_member(doc, "start_date", &bad);
	end = date_member(doc, "end_date", &bad);
	if (bad != NULL) {
		reply_field_error(r, 422, "invalid delegation", bad,
		    strcmp(bad, "delegate_id") == 0
		        ? "is required (a person_id)"
		        : "must be a date YYYY-MM-DD");
		json_decref(doc);
		return;
	}
	const char *params[6] = { r->person_id, delegate, start, end,
		r->token_id, effortd.rules_json };
	db_query(
	    effortd.db, STMT_DELEGATION_CREATE, 6, params, reply_db_change, r);
	json_decref(doc);
}
