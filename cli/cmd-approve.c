/*
 * "effortctl approve ID...": authorises timesheets as the token's person,
 * POST /v1/timesheets/{id}/approve, asking first when stdin is a terminal
 * (unless --yes), after saying which findings are open and whether the
 * approval will be late.  Goes on to the next ID after a refusal; stops
 * when effortd is unavailable.  "approve --clean": every pending timesheet
 * without open findings at once (POST /v1/approvals), after listing them
 * and the others, which are left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "desk.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_approve_exec(struct cmd_run *);

static const struct cmd_option approve_opts[] = {
	{ "yes", 'y', false, NULL, NULL },
	{ "clean", 0, false, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_approve_entry = {
	"approve",
	"[--yes] ID... | --clean [--yes]",
	"Approve (authorise) timesheets as the token's person.",
	"Options:\n"
	"  -y, --yes          do not ask; otherwise each approval is "
	"confirmed\n"
	"                     when standard input is a terminal\n"
	"  --clean            approve every pending timesheet without open\n"
	"                     findings (see 'effortctl pending'); without a\n"
	"                     terminal, --yes is required\n",
	.opts = approve_opts,
	.args_max = -1,
	.exec = cmd_approve_exec,
};

/*
 * Why version id of a versions reply cannot be approved: superseded by a
 * later version, or decided already (in the words of effortd's 409); NULL
 * when it can be.
 */
static char *
undecidable(json_t *versions, long long id)
{
	json_t *v,
	    *last = json_array_get(versions, json_array_size(versions) - 1);
	json_t *decisions = json_object_get(last, "decisions");
	const char *status = json_text(last, "status"), *by;
	size_t i;
	char *why = NULL;

	json_array_foreach(versions, i, v)
	{
		if (json_integer_value(json_object_get(v, "id")) != id ||
		    v == last)
			continue;
		xasprintf(&why,
		    "version %lld is superseded by version %lld "
		    "(timesheet %lld)",
		    (long long)json_integer_value(
		        json_object_get(v, "version")),
		    (long long)json_integer_value(
		        json_object_get(last, "version")),
		    (long long)json_integer_value(json_object_get(last, "id")));
		return why;
	}
	by =
	    json_text(json_array_get(decisions, json_array_size(decisions) - 1),
	        "decided_by");
	if (status != NULL && strcmp(status, "authorised") == 0)
		xasprintf(&why, "already authorised by %s", by ? by : "?");
	else if (status != NULL && strcmp(status, "rejected") == 0)
		xasprintf(&why, "rejected by %s; it waits for a new version",
		    by ? by : "?");
	return why;
}

/*
 * Shows the timesheet, its open findings and whether the approval will be
 * late, then asks "Approve timesheet N? [y/N]"; an exit status.  One that
 * is superseded or decided already is refused without asking.
 */
static int
confirm(struct client *cl, long long id, bool *yes)
{
	struct response resp;
	char *path, *what, *hours, *why;
	const char *person, *name, *start, *end;
	json_t *versions;
	int rc;

	*yes = false;
	xasprintf(&path, "/v1/timesheets/%lld/versions", id);
	xasprintf(&what, "timesheet %lld", id);
	if ((rc = client_get(cl, path, &resp, what)) == EXIT_OK) {
		versions = json_object_get(resp.json, "versions");
		if ((why = undecidable(versions, id)) != NULL) {
			log_error("%s: %s", what, why);
			free(why);
			rc = EXIT_REFUSED;
			goto out;
		}
		person = json_text(resp.json, "person_id");
		name = json_text(resp.json, "name");
		start = json_text(resp.json, "period_start");
		end = json_text(resp.json, "period_end");
		hours = desk_hours(json_object_get(
		    json_array_get(versions, json_array_size(versions) - 1),
		    "total_hours"));
		fprintf(stderr, "Timesheet %lld: %s %s, %s to %s, %s h\n", id,
		    person != NULL ? person : "?", name != NULL ? name : "",
		    start != NULL ? start : "?", end != NULL ? end : "?",
		    hours);
		desk_warn(resp.json);
		fprintf(stderr, "Approve timesheet %lld? [y/N] ", id);
		*yes = desk_answer_yes();
		free(hours);
	}
out:
	response_free(&resp);
	free(path);
	free(what);
	return rc;
}

/* Prints the outcome of a successful approval. */
static void
print_approved(
    const struct cli_ctx *ctx, long long id, const struct response *resp)
{
	if (ctx->format != FORMAT_JSON) {
		printf("approved timesheet %lld\n", id);
	} else if (resp->json != NULL) {
		out_print_json(stdout, resp->body, resp->len);
	} else {
		json_t *doc = json_pack(
		    "{s:I,s:s}", "id", (json_int_t)id, "status", "authorised");

		out_print_json_value(stdout, doc);
		json_decref(doc);
	}
}

static int
approve_one(
    const struct cli_ctx *ctx, struct client *cl, long long id, bool ask)
{
	struct response resp;
	char *path, *what;
	bool yes;
	int rc;

	if (ask && ((rc = confirm(cl, id, &yes)) != EXIT_OK || !yes)) {
		if (rc == EXIT_OK)
			printf("skipped timesheet %lld\n", id);
		return rc;
	}
	xasprintf(&path, "/v1/timesheets/%lld/approve", id);
	xasprintf(&what, "timesheet %lld", id);
	if ((rc = client_post(cl, path, NULL, 0, &resp, what)) == EXIT_OK)
		print_approved(ctx, id, &resp);
	response_free(&resp);
	free(path);
	free(what);
	return rc;
}

/* Whether ids[i] is among the ids before it: "approve 5 5" approves 5
 * once (the second would be refused as already authorised). */
static bool
given_before(const long long *ids, int i)
{
	for (int j = 0; j < i; j++)
		if (ids[j] == ids[i])
			return true;
	return false;
}

static int
cmd_approve_exec(struct cmd_run *run)
{
	const struct cmd_entry *e = run->entry;
	bool yes = cmd_flag(run, "yes"), clean = cmd_flag(run, "clean");
	long long *ids;
	struct client *cl;
	int rc, worst = EXIT_OK, n = run->argc;

	if (clean && n > 0)
		return cli_usage_error(e, "--clean takes no timesheet IDs");
	if (clean && !yes && !isatty(STDIN_FILENO))
		return cli_usage_error(e,
		    "--clean without a terminal to ask on: give --yes to "
		    "approve without asking");
	if (clean)
		return approve_clean(run->ctx, yes, isatty(STDIN_FILENO));
	if (n == 0)
		return cli_usage_error(e, "expected at least one timesheet ID");
	ids = xcalloc((size_t)n, sizeof *ids);
	for (int i = 0; i < n; i++) {
		if (!cli_parse_id(run->argv[i], &ids[i])) {
			free(ids);
			return cli_usage_error(
			    e, "invalid timesheet ID: %s", run->argv[i]);
		}
	}
	if ((rc = cmd_client(run, &cl)) != EXIT_OK) {
		free(ids);
		return rc;
	}
	for (int i = 0; i < n && worst != EXIT_UNAVAILABLE; i++) {
		if (given_before(ids, i))
			continue;
		rc = approve_one(
		    run->ctx, cl, ids[i], !yes && isatty(STDIN_FILENO));
		worst = rc > worst ? rc : worst;
	}
	free(ids);
	return worst;
}
