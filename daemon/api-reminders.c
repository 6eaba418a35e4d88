/*
 * GET /v1/reminders (today's reminders, not sent) and POST
 * /v1/reminders/run (send them now, answered when every send has
 * finished): the HTTP side of the daily reminders (job-reminders.c).
 */
#include "api-handlers.h"
#include "job-reminders.h"
#include "request.h"

static void
run_done(const struct reminders_outcome *o, void *arg)
{
	struct request *r = arg;

	switch (o->end) {
	case REMINDERS_SENT:
		reply_json(r, 200, o->summary);
		break;
	case REMINDERS_DB_FAILED:
		reply_db_failure(r, o->db);
		break;
	case REMINDERS_STOPPED:
		reply_error(r, 503,
		    "effortd stopped; some reminders may not have been sent",
		    NULL);
		break;
	}
}

void
handle_reminders_run(struct request *r)
{
	reminders_run(run_done, r);
}

static void
preview_done(const struct db_result *res, void *arg)
{
	reply_db_json(arg, res);
}

void
handle_reminders_preview(struct request *r)
{
	reminders_preview(preview_done, r);
}
