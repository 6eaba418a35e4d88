/*
 * "effortctl token create ROLE [--person ID] [--label TEXT] | list |
 * revoke ID" (role admin): POST /v1/tokens (the new token is printed once,
 * on standard output), GET /v1/tokens (never a token), POST
 * /v1/tokens/{id}/revoke.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "listing.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_token_exec(struct cmd_run *);

static const struct cmd_option token_opts[] = {
	{ "person", 0, true, NULL, NULL },
	{ "label", 0, true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_token_entry = {
	"token",
	"create ROLE [--person ID] [--label TEXT] | list | revoke ID",
	"Create, list and revoke API tokens (admin).",
	"Options (create):\n"
	"  --person ID        the person a manager token acts as (required "
	"for\n"
	"                     manager, refused for other roles)\n"
	"  --label TEXT       a note kept with the token\n"
	"ROLE is feed, manager, reviewer or admin.  The new token is printed "
	"once;\neffortd keeps only its SHA-256.\n",
	.opts = token_opts,
	.args_min = 1,
	.args_max = -1,
	.args_error = "expected create, list or revoke",
	.exec = cmd_token_exec,
};

static const struct column token_columns[] = {
	{ "id", "ID", COL_INT },
	{ "role", "ROLE", COL_TEXT },
	{ "person_id", "PERSON", COL_TEXT },
	{ "label", "LABEL", COL_TEXT },
	{ "created_at", "CREATED", COL_TEXT },
	{ "last_used_at", "LAST_USED", COL_TEXT },
	{ "revoked_at", "REVOKED", COL_TEXT },
};
#define NTOKEN (sizeof token_columns / sizeof token_columns[0])

static int
token_list(const struct cli_ctx *ctx, struct client *cl)
{
	struct response resp;
	int rc;

	if ((rc = client_get(cl, "/v1/tokens", &resp, "tokens")) == EXIT_OK)
		rc = cli_print_list(
		    ctx, &resp, "tokens", token_columns, NTOKEN, "No tokens.");
	response_free(&resp);
	return rc;
}

static int
token_create(const struct cli_ctx *ctx, struct client *cl, const char *role,
    const char *person, const char *label)
{
	json_t *doc = json_pack("{s:s, s:s?, s:s?}", "role", role, "person_id",
	    person, "label", label);
	char *body = json_dumps(doc, JSON_COMPACT);
	struct response resp;
	json_t *tok;
	int rc;

	if (body == NULL)
		fatal("json_dumps failed");
	rc = client_post(
	    cl, "/v1/tokens", body, strlen(body), &resp, "token create");
	tok = json_object_get(resp.json, "token");
	if (rc == EXIT_OK && ctx->format == FORMAT_JSON)
		out_print_json(stdout, resp.body, resp.len);
	else if (rc == EXIT_OK && json_text(tok, "token") != NULL) {
		printf("%s\n", json_text(tok, "token"));
		fprintf(stderr,
		    "effortctl: created %s token %lld; it is shown only "
		    "once\n",
		    role,
		    (long long)json_integer_value(json_object_get(tok, "id")));
	} else if (rc == EXIT_OK) {
		log_error("token create: the reply has no token");
		rc = EXIT_UNAVAILABLE;
	}
	response_free(&resp);
	json_decref(doc);
	free(body);
	return rc;
}

static int
token_revoke(const struct cli_ctx *ctx, struct client *cl, long long id)
{
	struct response resp;
	char *path, *what;
	int rc;

	xasprintf(&path, "/v1/tokens/%lld/revoke", id);
	xasprintf(&what, "token %lld", id);
	rc = client_post(cl, path, NULL, 0, &resp, what);
	if (rc == EXIT_OK && ctx->format == FORMAT_JSON && resp.json != NULL)
		out_print_json(stdout, resp.body, resp.len);
	else if (rc == EXIT_OK)
		printf("revoked token %lld\n", id);
	response_free(&resp);
	free(path);
	free(what);
	return rc;
}

/* Checks the arguments of a subcommand; an exit status or CLI_OPT_HANDLED. */
static int
check_args(const struct cmd_entry *e, const char *sub, int nargs,
    const char *person, const char *label)
{
	int want = strcmp(sub, "list") == 0 ? 1 : 2;

	if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "revoke") != 0)
		return cli_usage_error(e, "unknown subcommand: %s", sub);
	if (nargs != want)
		return cli_usage_error(
		    e, "wrong number of arguments for %s", sub);
	if (strcmp(sub, "create") != 0 && (person != NULL || label != NULL))
		return cli_usage_error(
		    e, "--person and --label are for create");
	return CLI_OPT_HANDLED;
}

static int
cmd_token_exec(struct cmd_run *run)
{
	const struct cmd_entry *e = run->entry;
	const char *person = cmd_value(run, "person"),
	           *label = cmd_value(run, "label"), *sub = run->argv[0];
	struct client *cl;
	long long id = 0;
	int rc;

	if ((rc = cli_check_utf8(e, "--person", person)) != CLI_OPT_HANDLED ||
	    (rc = cli_check_utf8(e, "--label", label)) != CLI_OPT_HANDLED)
		return rc;
	if ((rc = check_args(e, sub, run->argc, person, label)) !=
	    CLI_OPT_HANDLED)
		return rc;
	if (strcmp(sub, "create") == 0 &&
	    (rc = cli_check_utf8(e, "ROLE", run->argv[1])) != CLI_OPT_HANDLED)
		return rc;
	if (strcmp(sub, "revoke") == 0 && !cli_parse_id(run->argv[1], &id))
		return cli_usage_error(e, "invalid token ID: %s", run->argv[1]);
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		return token_list(run->ctx, cl);
	if (strcmp(sub, "create") == 0)
		return token_create(run->ctx, cl, run->argv[1], person, label);
	return token_revoke(run->ctx, cl, id);
}
