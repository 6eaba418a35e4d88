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

static int cmd_delegate_exec(struct cli_ctx *, int, char **);

const struct cmd_entry cmd_delegate_entry = {
	"delegate",
	"--to ID --from YYYY-MM-DD --until YYYY-MM-DD",
	"Let someone authorise your staff's timesheets for a while.",
	"Options:\n"
	"  --to ID            the delegate's person id\n"
	"  --from DATE        first day of the delegation\n"
	"  --until DATE       last day of the delegation (inclusive)\n",
	cmd_delegate_exec,
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
cmd_delegate_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_TO = OPT_CMD_BASE, OPT_FROM, OPT_UNTIL };
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "until", required_argument, NULL, OPT_UNTIL },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_delegate_entry;
	const char *to = NULL, *from = NULL, *until = NULL;
	struct client cl;
	struct date d;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_TO)
			to = optarg;
		else if (c == OPT_FROM)
			from = optarg;
		else if (c == OPT_UNTIL)
			until = optarg;
		else if ((rc = cli_common_option(ctx, e, c, optarg)) !=
		         CLI_OPT_HANDLED)
			return rc;
	}
	if (optind != argc)
		return cli_usage_error(
		    e, "unexpected argument: %s", argv[optind]);
	if (to == NULL || *to == '\0' || from == NULL || until == NULL)
		return cli_usage_error(
		    e, "--to, --from and --until are required");
	if (!date_parse(from, &d) || !date_parse(until, &d))
		return cli_usage_error(e, "dates must be YYYY-MM-DD");
	if ((rc = client_init(&cl, ctx)) != EXIT_OK)
		return rc;
	rc = delegate(ctx, &cl, to, from, until);
	client_free(&cl);
	return rc;
}
