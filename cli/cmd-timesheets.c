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

static int cmd_timesheets_exec(struct cli_ctx *, int, char **);

const struct cmd_entry cmd_timesheets_entry = {
	"timesheets",
	"[--person ID] [--month YYYY-MM] [--status STATUS]",
	"List the latest version of each timesheet.",
	"Options:\n"
	"  --person ID        only this person's timesheets\n"
	"  --month YYYY-MM    only timesheets for this month\n"
	"  --status STATUS    submitted, authorised or rejected\n",
	cmd_timesheets_exec,
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
cmd_timesheets_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_PERSON = OPT_CMD_BASE, OPT_MONTH, OPT_STATUS };
	static const struct option longopts[] = {
		{ "person", required_argument, NULL, OPT_PERSON },
		{ "month", required_argument, NULL, OPT_MONTH },
		{ "status", required_argument, NULL, OPT_STATUS },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_timesheets_entry;
	const char *person = NULL, *month = NULL, *status = NULL;
	struct client cl;
	struct response resp;
	struct date d;
	char *path;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_PERSON)
			person = optarg;
		else if (c == OPT_MONTH)
			month = optarg;
		else if (c == OPT_STATUS)
			status = optarg;
		else if ((rc = cli_common_option(ctx, e, c, optarg)) !=
		         CLI_OPT_HANDLED)
			return rc;
	}
	if (optind != argc)
		return cli_usage_error(
		    e, "unexpected argument: %s", argv[optind]);
	if (month != NULL && !month_parse(month, &d))
		return cli_usage_error(
		    e, "invalid --month: %s (YYYY-MM)", month);
	if ((rc = client_init(&cl, ctx)) != EXIT_OK)
		return rc;
	path = xstrdup("/v1/timesheets");
	client_query_add(&path, "person_id", person);
	client_query_add(&path, "month", month);
	client_query_add(&path, "status", status);
	if ((rc = client_get(&cl, path, &resp, "timesheets")) == EXIT_OK)
		rc = print_timesheets(ctx, &resp);
	response_free(&resp);
	free(path);
	client_free(&cl);
	return rc;
}
