/*
 * "effortctl delegate --to ID --from D --until D": a manager delegates the
 * authorisation of their staff, POST /v1/me/delegations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "date.h"
#include "log.h"

static int cmd_delegate_exec(struct cmd_run *);

static const struct cmd_option delegate_opts[] = {
	{ "to", 0, true, NULL, NULL },
	{ "from", 0, true, NULL, NULL },
	{ "until", 0, true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_delegate_entry = {
	"delegate",
	"--to ID --from YYYY-MM-DD --until YYYY-MM-DD",
	"Let someone authorise your staff's timesheets for a while.",
	"Options:\n"
	"  --to ID            the delegate's person id\n"
	"  --from DATE        first day of the delegation\n"
	"  --until DATE       last day of the delegation (inclusive)\n",
	.opts = delegate_opts,
	.args_max = 0,
	.exec = cmd_delegate_exec,
};

static int
delegate(const struct cli_ctx *ctx, struct client *cl, const char *to,
    const char *from, const char *until)
{
	json_t *doc = json_pack("{s:s, s:s, s:s}", "delegate_id", to,
	    "start_date", from, "end_date", until);
	char *body = json_dumps(doc, JSON_COMPACT);
	struct response resp;
	int rc;

	if (body == NULL)
		fatal("json_dumps failed");
	rc = client_post(
	    cl, "/v1/me/delegations", body, strlen(body), &resp, "delegate");
	if (rc == EXIT_OK && ctx->format == FORMAT_JSON && resp.json != NULL)
		out_print_json(stdout, resp.body, resp.len);
	else if (rc == EXIT_OK)
		printf("delegated to %s from %s until %s\n", to, from, until);
	response_free(&resp);
	json_decref(doc);
	free(body);
	return rc;
}

static int
cmd_delegate_exec(struct cmd_run *run)
{
	const struct cmd_entry *e = run->entry;
	const char *to = cmd_value(run, "to"), *from = cmd_value(run, "from"),
	           *until = cmd_value(run, "until");
	struct client *cl;
	struct date d;
	int rc;

	if (to == NULL || *to == '\0' || from == NULL || until == NULL)
		return cli_usage_error(
		    e, "--to, --from and --until are required");
	if (!date_parse(from, &d) || !date_parse(until, &d))
		return cli_usage_error(e, "dates must be YYYY-MM-DD");
	if ((rc = cli_check_utf8(e, "--to", to)) != CLI_OPT_HANDLED)
		return rc;
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	return delegate(run->ctx, cl, to, from, until);
}
