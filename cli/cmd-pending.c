/*
 * "effortctl pending": the manager's queue, GET /v1/pending -- the
 * timesheets of their staff (and of managers who delegated to them)
 * awaiting authorisation, soonest deadline first, overdue ones marked,
 * with the contracted hours and the open findings on each.
 */
#include <stdio.h>

#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "desk.h"
#include "listing.h"

static int cmd_pending_exec(struct cmd_run *);

const struct cmd_entry cmd_pending_entry = {
	"pending",
	"",
	"List the timesheets awaiting your authorisation, with their "
	"findings.",
	"",
	.args_max = 0,
	.exec = cmd_pending_exec,
};

static const struct column pending_columns[] = {
	{ "id", "ID", COL_INT },
	{ "person_id", "PERSON", COL_TEXT },
	{ "name", "NAME", COL_TEXT },
	{ "period_start", "START", COL_TEXT },
	{ "period_end", "END", COL_TEXT },
	{ "total_hours", "HOURS", COL_HOURS },
	{ "contracted_hours", "CONTRACTED", COL_HOURS },
	{ "deadline", "DEADLINE", COL_TEXT },
	{ "days_left", "DAYS_LEFT", COL_INT },
	{ "mark", "", COL_TEXT },
	{ "open_findings", "FINDINGS", COL_TEXT },
};

/*
 * Adds "mark": "OVERDUE" to the overdue ones and "open_findings", the
 * findings as one text ("none" when clean), for table and CSV.
 */
static void
mark_items(json_t *list)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		char *text = desk_findings_text(json_object_get(v, "findings"));

		json_object_set_new(v, "mark",
		    json_string(json_is_true(json_object_get(v, "overdue"))
		                    ? "OVERDUE"
		                    : ""));
		json_object_set_new(v, "open_findings", json_string(text));
		free(text);
	}
}

static int
cmd_pending_exec(struct cmd_run *run)
{
	struct client *cl;
	int rc;

	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	if ((rc = client_get(cl, "/v1/pending", &run->resp, "pending")) ==
	    EXIT_OK) {
		mark_items(json_object_get(run->resp.json, "pending"));
		rc = cli_print_list(run->ctx, &run->resp, "pending",
		    pending_columns,
		    sizeof pending_columns / sizeof pending_columns[0],
		    "Nothing awaits your authorisation.");
	}
	return rc;
}
