/*
 * "effortctl timesheets": lists the latest version of each timesheet,
 * GET /v1/timesheets filtered by person, month and status.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "date.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_timesheets_exec(struct cmd_run *);

static const struct cmd_option timesheets_opts[] = {
	{ "person", 0, true, NULL, NULL },
	{ "month", 0, true, NULL, NULL },
	{ "status", 0, true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_timesheets_entry = {
	"timesheets",
	"[--person ID] [--month YYYY-MM] [--status STATUS]",
	"List the latest version of each timesheet.",
	"Options:\n"
	"  --person ID        only this person's timesheets\n"
	"  --month YYYY-MM    only timesheets for this month\n"
	"  --status STATUS    submitted, authorised or rejected\n",
	.opts = timesheets_opts,
	.args_max = 0,
	.exec = cmd_timesheets_exec,
};

static const struct column timesheet_columns[] = {
	{ "id", "ID", COL_INT },
	{ "person_id", "PERSON", COL_TEXT },
	{ "period_start", "START", COL_TEXT },
	{ "period_end", "END", COL_TEXT },
	{ "version", "VER", COL_INT },
	{ "status", "STATUS", COL_TEXT },
	{ "total_hours", "HOURS", COL_HOURS },
	{ "submitted_at", "SUBMITTED", COL_TEXT },
	{ "authorised_by", "AUTHORISED_BY", COL_TEXT },
	{ "authorised_at", "AUTHORISED_AT", COL_TEXT },
	{ "deadline", "DEADLINE", COL_TEXT },
};

static int
print_timesheets(const struct cli_ctx *ctx, struct response *resp)
{
	json_t *list = json_object_get(resp->json, "timesheets"), *ts;
	struct table *t;
	size_t i;

	if (ctx->format == FORMAT_JSON) {
		out_print_json(stdout, resp->body, resp->len);
		return EXIT_OK;
	}
	if (!json_is_array(list)) {
		log_error("timesheets: reply has no \"timesheets\" array");
		return EXIT_UNAVAILABLE;
	}
	t = out_table_new(timesheet_columns,
	    sizeof timesheet_columns / sizeof timesheet_columns[0],
	    ctx->format);
	json_array_foreach(list, i, ts) out_table_add_json(t, ts);
	if (ctx->format == FORMAT_TABLE && out_table_rows(t) == 0)
		printf("No timesheets found.\n");
	else
		out_table_print(t, stdout, NULL);
	out_table_free(t);
	return EXIT_OK;
}

static int
cmd_timesheets_exec(struct cmd_run *run)
{
	const char *month = cmd_value(run, "month");
	struct client *cl;
	struct date d;
	char *path;
	int rc;

	if (month != NULL && !month_parse(month, &d))
		return cli_usage_error(
		    run->entry, "invalid --month: %s (YYYY-MM)", month);
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	path = xstrdup("/v1/timesheets");
	client_query_add(&path, "person_id", cmd_value(run, "person"));
	client_query_add(&path, "month", month);
	client_query_add(&path, "status", cmd_value(run, "status"));
	if ((rc = client_get(cl, path, &run->resp, "timesheets")) == EXIT_OK)
		rc = print_timesheets(run->ctx, &run->resp);
	free(path);
	return rc;
}
