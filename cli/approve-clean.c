/*
 * "effortctl approve --clean": the manager's queue (GET /v1/pending) split
 * into the clean timesheets -- no open finding but their own authorisation
 * being due or overdue -- and the others; the clean ones are listed (late
 * ones marked), confirmed on a terminal, and approved in one request
 * (POST /v1/approvals), which checks and records each on its own; the
 * others are listed with their findings and left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "desk.h"
#include "log.h"
#include "xmalloc.h"

static const struct column queue_columns[] = {
	{ "id", "ID", COL_INT },
	{ "person_id", "PERSON", COL_TEXT },
	{ "name", "NAME", COL_TEXT },
	{ "period_start", "START", COL_TEXT },
	{ "period_end", "END", COL_TEXT },
	{ "total_hours", "HOURS", COL_HOURS },
	{ "deadline", "DEADLINE", COL_TEXT },
	{ "mark", "", COL_TEXT },
	{ "open_findings", "FINDINGS", COL_TEXT },
};
#define NQUEUE (sizeof queue_columns / sizeof queue_columns[0])

/* Splits the queue into clean and other items, each marked for printing. */
static void
split_queue(json_t *pending, json_t *clean, json_t *other)
{
	json_t *v;
	size_t i;

	json_array_foreach(pending, i, v)
	{
		char *text = desk_findings_text(json_object_get(v, "findings"));
		bool late = json_is_true(json_object_get(v, "late"));

		json_object_set_new(v, "mark", json_string(late ? "LATE" : ""));
		json_object_set_new(v, "open_findings", json_string(text));
		free(text);
		json_array_append(
		    json_is_true(json_object_get(v, "clean")) ? clean : other,
		    v);
	}
}

static void
print_queue(FILE *fp, json_t *items)
{
	struct table *t = out_table_new(queue_columns, NQUEUE, FORMAT_TABLE);
	json_t *v;
	size_t i;

	json_array_foreach(items, i, v) out_table_add_json(t, v);
	out_table_print(t, fp, "  ");
	out_table_free(t);
}

/* Prints the clean and other timesheets; false when none is clean. */
static bool
show_queue(FILE *fp, json_t *clean, json_t *other)
{
	size_t nclean = json_array_size(clean), nlate = 0, i;
	char *count;
	json_t *v;

	json_array_foreach(clean, i, v) nlate +=
	    json_is_true(json_object_get(v, "late"));
	if (nclean > 0) {
		count = desk_count(
		    (long long)nclean, "clean timesheet", "clean timesheets");
		fprintf(fp, "%s to approve:\n", count);
		print_queue(fp, clean);
		free(count);
		if (nlate > 0) {
			count = desk_count(
			    (long long)nlate, "approval", "approvals");
			fprintf(fp,
			    "  %s marked LATE will be recorded after the "
			    "deadline (authorisation_late).\n",
			    count);
			free(count);
		}
	} else {
		fprintf(fp, "No clean timesheet awaits your authorisation.\n");
	}
	if (json_array_size(other) > 0) {
		count = desk_count((long long)json_array_size(other),
		    "timesheet", "timesheets");
		fprintf(fp, "\n%s with open findings, left alone:\n", count);
		print_queue(fp, other);
		free(count);
	}
	return nclean > 0;
}

/* The ids of items as {"timesheet_ids": [...]}, serialised. */
static char *
ids_body(json_t *items)
{
	json_t *ids = json_array(), *v;
	size_t i;
	char *body;

	json_array_foreach(items, i, v)
	    json_array_append(ids, json_object_get(v, "id"));
	json_t *doc = json_pack("{s:o}", "timesheet_ids", ids);

	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return body;
}

/* Reports the reply of POST /v1/approvals; an exit status. */
static int
report_approvals(const struct cli_ctx *ctx, const struct response *resp)
{
	json_t *approved = json_object_get(resp->json, "approved");
	json_t *refused = json_object_get(resp->json, "refused"), *v;
	size_t i;

	if (!json_is_array(approved) || !json_is_array(refused)) {
		log_error("approvals: reply has no \"approved\" and "
		          "\"refused\" arrays");
		return EXIT_UNAVAILABLE;
	}
	if (ctx->format == FORMAT_JSON)
		out_print_json(stdout, resp->body, resp->len);
	else {
		json_array_foreach(approved, i, v) printf(
		    "approved timesheet %lld (%s, %s to %s)\n",
		    (long long)json_integer_value(json_object_get(v, "id")),
		    json_text(v, "person_id") ? json_text(v, "person_id") : "?",
		    json_text(v, "period_start") ? json_text(v, "period_start")
		                                 : "?",
		    json_text(v, "period_end") ? json_text(v, "period_end")
		                               : "?");
	}
	json_array_foreach(refused, i, v) log_error(
	    "timesheet %lld: %s (HTTP %lld)",
	    (long long)json_integer_value(json_object_get(v, "id")),
	    json_text(v, "error") ? json_text(v, "error") : "refused",
	    (long long)json_integer_value(json_object_get(v, "http_status")));
	return json_array_size(refused) > 0 ? EXIT_REFUSED : EXIT_OK;
}

static int
approve_listed(const struct cli_ctx *ctx, struct client *cl, json_t *clean)
{
	struct response resp;
	char *body = ids_body(clean);
	int rc;

	rc = client_post(
	    cl, "/v1/approvals", body, strlen(body), &resp, "approve --clean");
	if (rc == EXIT_OK)
		rc = report_approvals(ctx, &resp);
	response_free(&resp);
	free(body);
	return rc;
}

/* Asks on the terminal whether to approve the clean ones. */
static bool
confirm_clean(json_t *clean)
{
	size_t n = json_array_size(clean);
	char *count = desk_count((long long)n, "timesheet", "timesheets");

	fflush(stdout);
	if (n == 1)
		fprintf(stderr, "Approve this timesheet? [y/N] ");
	else
		fprintf(stderr, "Approve these %s? [y/N] ", count);
	free(count);
	return desk_answer_yes();
}

int
approve_clean(struct cli_ctx *ctx, bool yes, bool ask)
{
	struct client cl;
	struct response resp;
	json_t *clean = json_array(), *other = json_array();
	int rc;

	if ((rc = client_init(&cl, ctx)) != EXIT_OK)
		goto out;
	rc = client_get(&cl, "/v1/pending", &resp, "approve --clean");
	if (rc == EXIT_OK) {
		split_queue(
		    json_object_get(resp.json, "pending"), clean, other);
		bool any = show_queue(
		    ctx->format == FORMAT_JSON ? stderr : stdout, clean, other);

		if (any && (yes || !ask || confirm_clean(clean)))
			rc = approve_listed(ctx, &cl, clean);
		else if (any)
			fprintf(stderr, "approved nothing\n");
	}
	response_free(&resp);
	client_free(&cl);
out:
	json_decref(clean);
	json_decref(other);
	return rc;
}
