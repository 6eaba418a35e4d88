/*
 * GET /v1/violations: the findings as of a date.  Today's come from the
 * kept findings table; any other as_of is evaluated on the fly by the rule
 * SQL without touching what is kept.  Managers see only their own staff.
 * rule and severity are checked against their declared values (http-routes.c).
 */
#include "effortd.h"
#include "api-handlers.h"
#include "effortd-replica.h"
#include "request.h"

static void
done(const struct db_result *res, void *arg)
{
	reply_db_json(arg, res);
}

void
handle_violations(struct request *r)
{
	const char *as_of = request_query(r, "as_of");
	const char *severity = request_query(r, "severity");

	if (!request_date_ok(r, "as_of"))
		return;
	const char *params[7] = { as_of, effortd.rules_json,
		request_query(r, "rule"), severity,
		request_query(r, "person_id"), request_query(r, "grant_ref"),
		r->role == ROLE_MANAGER ? r->person_id : NULL };
	/* An explicit as_of is read-only work: the replica may do it. */
	replica_query(as_of != NULL ? effortd_read_pool() : effortd.db,
	    STMT_VIOLATIONS, 7, params, done, r);
}
