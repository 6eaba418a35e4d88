/*
 * "effortctl reject ID --reason TEXT": rejects a timesheet as the token's
 * person, POST /v1/timesheets/{id}/reject with {"reason": TEXT}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_reject_exec(struct cli_ctx *, int, char **);

const struct cmd_entry cmd_reject_entry = {
	"reject",
	"ID --reason TEXT",
	"Reject a timesheet, saying why.",
	"Options:\n"
	"  -r, --reason TEXT  why it is rejected (required; the person sees "
	"it)\n",
	cmd_reject_exec,
};

static bool
utf8_valid(const char *s)
{
	json_t *v = json_string(s);

	json_decref(v);
	return v != NULL;
}

static int
reject(const struct cli_ctx *ctx, struct client *cl, long long id,
    const char *reason)
{
	json_t *doc = json_pack("{s:s}", "reason", reason);
	char *body = json_dumps(doc, JSON_COMPACT), *path, *what;
	struct response resp;
	int rc;

	if (body == NULL)
		fatal("json_dumps failed");
	xasprintf(&path, "/v1/timesheets/%lld/reject", id);
	xasprintf(&what, "timesheet %lld", id);
	rc = client_post(cl, path, body, strlen(body), &resp, what);
	if (rc == EXIT_OK && ctx->format == FORMAT_JSON && resp.json != NULL)
		out_print_json(stdout, resp.body, resp.len);
	else if (rc == EXIT_OK)
		printf("rejected timesheet %lld\n", id);
	response_free(&resp);
	json_decref(doc);
	free(body);
	free(path);
	free(what);
	return rc;
}

static int
cmd_reject_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_reject_entry;
	const char *reason = NULL;
	struct client cl;
	long long id;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hr:", longopts, NULL)) != -1) {
		if (c == 'r')
			reason = optarg;
		else if ((rc = cli_common_option(ctx, e, c, optarg)) !=
		         CLI_OPT_HANDLED)
			return rc;
	}
	if (argc - optind != 1)
		return cli_usage_error(e, "expected one timesheet ID");
	if (!cli_parse_id(argv[optind], &id))
		return cli_usage_error(
		    e, "invalid timesheet ID: %s", argv[optind]);
	if (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0')
		return cli_usage_error(e, "--reason is required");
	if (!utf8_valid(reason))
		return cli_usage_error(e, "--reason is not valid UTF-8");
	if ((rc = client_init(&cl, ctx)) != EXIT_OK)
		return rc;
	rc = reject(ctx, &cl, id, reason);
	client_free(&cl);
	return rc;
}
