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

static int cmd_reject_exec(struct cmd_run *);

static const struct cmd_option reject_opts[] = {
	{ "reason", 'r', true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_reject_entry = {
	"reject",
	"ID --reason TEXT",
	"Reject a timesheet, saying why.",
	"Options:\n"
	"  -r, --reason TEXT  why it is rejected (required; the person sees "
	"it)\n",
	.opts = reject_opts,
	.args_min = 1,
	.args_max = 1,
	.args_error = "expected one timesheet ID",
	.exec = cmd_reject_exec,
};

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
cmd_reject_exec(struct cmd_run *run)
{
	const struct cmd_entry *e = run->entry;
	const char *reason = cmd_value(run, "reason");
	struct client *cl;
	long long id;
	int rc;

	if (!cli_parse_id(run->argv[0], &id))
		return cli_usage_error(
		    e, "invalid timesheet ID: %s", run->argv[0]);
	if (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0')
		return cli_usage_error(e, "--reason is required");
	if ((rc = cli_check_utf8(e, "--reason", reason)) != CLI_OPT_HANDLED)
		return rc;
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	return reject(run->ctx, cl, id, reason);
}
