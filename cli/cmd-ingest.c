/*
 * "effortctl ingest FEED FILE": sends a JSON or CSV feed file (or stdin)
 * to POST /v1/<feed>.  A feed is one transaction, so on 422 nothing was
 * stored and every bad record is listed, compiler-style:
 * "FILE:LINE: FIELD: MESSAGE" for CSV, "FILE: record INDEX: FIELD: MESSAGE"
 * for JSON.  A stored feed's warnings (people it names that effortd does
 * not know yet) are listed the same way, with "warning: " before FIELD.
 *
 * With --preview the batch goes to POST /v1/<feed>?preview=true: checked,
 * applied and re-audited in a transaction that is rolled back, and the
 * findings it would open and resolve are printed as a table (and its
 * warnings as above); exit 1 when it would open a violation, so that a
 * payroll run can gate on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "client.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_ingest_exec(struct cmd_run *);

static const char *const input_formats[] = { "json", "csv", NULL };

static const struct cmd_option ingest_opts[] = {
	{ "format", 0, true, input_formats,
	    "invalid --format: %s (csv or json)" },
	{ "preview", 0, false, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_ingest_entry = {
	"ingest",
	"[--format csv|json] [--preview] FEED FILE",
	"Send a feed file (JSON or CSV) to effortd in one transaction.",
	"FEED is people, grants, assignments, charges, timesheets or\n"
	"delegations.  FILE is a .json or .csv file, or - for standard input.\n"
	"Prints \"accepted N: created C, updated U, unchanged X\"; when the\n"
	"server rejects the feed (nothing is stored) prints each bad record\n"
	"on standard error as FILE:LINE: FIELD: MESSAGE (CSV) or\n"
	"FILE: record INDEX: FIELD: MESSAGE (JSON).  Warnings of a stored\n"
	"feed (people it names that effortd does not know yet) go to\n"
	"standard error as FILE:LINE: warning: FIELD: MESSAGE.\n\n"
	"Options:\n"
	"  --format csv|json  the input's format (after the command, --format\n"
	"                     is the input's; by default the FILE's\n"
	"                     extension, else JSON when its first non-blank\n"
	"                     character is [ or {, else CSV); --format before\n"
	"                     the command sets the output's\n"
	"  --preview          store nothing: print what the feed would create,\n"
	"                     update and leave unchanged, and the findings it\n"
	"                     would open and resolve (CHANGE opened or\n"
	"                     resolved); exit 1 when it would open a\n"
	"                     violation, 0 when not (findings of severity\n"
	"                     warning may open)\n",
	.opts = ingest_opts,
	.args_min = 2,
	.args_max = 2,
	.args_error = "expected FEED and FILE",
	.exec = cmd_ingest_exec,
};

static const char *const feeds[] = { "people", "grants", "assignments",
	"charges", "timesheets", "delegations" };

enum input_format { INPUT_UNKNOWN, INPUT_JSON, INPUT_CSV };

static const struct column result_columns[] = {
	{ "accepted", "ACCEPTED", COL_INT },
	{ "created", "CREATED", COL_INT },
	{ "updated", "UPDATED", COL_INT },
	{ "unchanged", "UNCHANGED", COL_INT },
};

/* --preview: one row per finding, opened or resolved. */
static const struct column preview_columns[] = {
	{ "change", "CHANGE", COL_TEXT },
	{ "rule", "RULE", COL_TEXT },
	{ "severity", "SEVERITY", COL_TEXT },
	{ "person_id", "PERSON", COL_TEXT },
	{ "grant_ref", "GRANT", COL_TEXT },
	{ "period_start", "START", COL_TEXT },
	{ "period_end", "END", COL_TEXT },
	{ "hours", "HOURS", COL_HOURS },
	{ "detail", "DETAIL", COL_TEXT },
};

/* Reads all of a file, or stdin for "-"; NULL (reported) on error. */
static char *
read_input(const char *file, size_t *len)
{
	FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	char *buf = NULL;
	size_t alloc = 0, n;

	*len = 0;
	if (fp == NULL) {
		log_error("%s: %s", file, strerror(errno));
		return NULL;
	}
	do {
		if (alloc - *len < 65536) {
			alloc = alloc == 0 ? 65536 : alloc * 2;
			buf = xrealloc(buf, alloc + 1);
		}
		n = fread(buf + *len, 1, alloc - *len, fp);
		*len += n;
	} while (n > 0);
	if (ferror(fp)) {
		log_error("%s: %s", file, strerror(errno));
		free(buf);
		buf = NULL;
	} else
		buf[*len] = '\0';
	if (fp != stdin)
		fclose(fp);
	return buf;
}

/* JSON when the first non-blank character (after a BOM) is [ or {. */
static enum input_format
sniff(const char *buf, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
		i++;
	if (i < len && (buf[i] == '[' || buf[i] == '{'))
		return INPUT_JSON;
	return INPUT_CSV;
}

static enum input_format
by_extension(const char *file)
{
	const char *dot = strrchr(file, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return INPUT_UNKNOWN;
	if (strcasecmp(dot, ".json") == 0)
		return INPUT_JSON;
	if (strcasecmp(dot, ".csv") == 0)
		return INPUT_CSV;
	return INPUT_UNKNOWN;
}

/* One bad record: "FILE:LINE: FIELD: MESSAGE" or "FILE: record N: ...". */
static void
print_error(const char *file, enum input_format fmt, const struct api_error *e)
{
	const char *field = e->field != NULL ? e->field : "";
	const char *sep = e->field != NULL ? ": " : "";

	if (e->line >= 0 && (fmt == INPUT_CSV || e->index < 0))
		fprintf(stderr, "%s:%lld: %s%s%s\n", file, e->line, field, sep,
		    e->message);
	else if (e->index >= 0)
		fprintf(stderr, "%s: record %lld: %s%s%s\n", file, e->index,
		    field, sep, e->message);
	else
		fprintf(stderr, "%s: %s%s%s\n", file, field, sep, e->message);
}

/* A stored feed's warnings: "FILE:LINE: warning: FIELD: MESSAGE". */
static void
print_warnings(const char *file, json_t *reply)
{
	json_t *w;
	size_t i;

	json_array_foreach(json_object_get(reply, "warnings"), i, w)
	{
		json_t *line = json_object_get(w, "line");
		const char *field =
		    json_string_value(json_object_get(w, "field")) ?: "";
		const char *message =
		    json_string_value(json_object_get(w, "message")) ?: "";
		if (line != NULL)
			fprintf(stderr, "%s:%lld: warning: %s: %s\n", file,
			    (long long)json_integer_value(line), field,
			    message);
		else
			fprintf(stderr, "%s: record %lld: warning: %s: %s\n",
			    file,
			    (long long)json_integer_value(
			        json_object_get(w, "index")),
			    field, message);
	}
}

static void
print_result(const struct cli_ctx *ctx, const struct response *resp)
{
	json_t *j = resp->json;
	struct table *t;

	if (ctx->format == FORMAT_JSON) {
		out_print_json(stdout, resp->body, resp->len);
		return;
	}
	if (ctx->format == FORMAT_CSV) {
		t = out_table_new(result_columns, 4, FORMAT_CSV);
		out_table_add_json(t, j);
		out_table_print(t, stdout, NULL);
		out_table_free(t);
		return;
	}
	printf("accepted %lld: created %lld, updated %lld, unchanged %lld\n",
	    (long long)json_integer_value(json_object_get(j, "accepted")),
	    (long long)json_integer_value(json_object_get(j, "created")),
	    (long long)json_integer_value(json_object_get(j, "updated")),
	    (long long)json_integer_value(json_object_get(j, "unchanged")));
}

/* Adds the findings of list (opened or resolved) to t; returns how many
 * are violations. */
static size_t
preview_rows(struct table *t, json_t *list, const char *change)
{
	size_t i, violations = 0;
	json_t *f, *row;

	json_array_foreach(list, i, f)
	{
		const char *sev = json_text(f, "severity");

		row = json_deep_copy(f);
		json_object_set_new(row, "change", json_string(change));
		out_table_add_json(t, row);
		json_decref(row);
		if (sev != NULL && strcmp(sev, "violation") == 0)
			violations++;
	}
	return violations;
}

/* --preview: the counts, then opened and resolved findings as one table.
 * Returns EXIT_FOUND when a violation would open, else EXIT_OK. */
static int
print_preview(const struct cli_ctx *ctx, const struct response *resp)
{
	json_t *j = resp->json, *opened = json_object_get(j, "opened"),
	       *resolved = json_object_get(j, "resolved");
	struct table *t = out_table_new(preview_columns,
	    sizeof preview_columns / sizeof preview_columns[0], ctx->format);
	size_t violations = preview_rows(t, opened, "opened");

	preview_rows(t, resolved, "resolved");
	if (ctx->format == FORMAT_JSON)
		out_print_json(stdout, resp->body, resp->len);
	else if (ctx->format == FORMAT_CSV)
		out_table_print(t, stdout, NULL);
	else {
		printf("preview, nothing stored: accepted %lld: would create "
		       "%lld, update %lld, leave %lld unchanged\n",
		    (long long)json_integer_value(
		        json_object_get(j, "accepted")),
		    (long long)json_integer_value(
		        json_object_get(j, "created")),
		    (long long)json_integer_value(
		        json_object_get(j, "updated")),
		    (long long)json_integer_value(
		        json_object_get(j, "unchanged")));
		if (out_table_rows(t) > 0) {
			printf("\n");
			out_table_print(t, stdout, NULL);
			printf("\n");
		}
		printf("as of %s: would open %zu finding%s (%zu violation%s), "
		       "resolve %zu\n",
		    json_text(j, "as_of") ? json_text(j, "as_of") : "today",
		    json_array_size(opened),
		    json_array_size(opened) == 1 ? "" : "s", violations,
		    violations == 1 ? "" : "s", json_array_size(resolved));
	}
	out_table_free(t);
	return violations > 0 ? EXIT_FOUND : EXIT_OK;
}

/* Sends the feed and reports the outcome; returns an exit status. */
static int
ingest(const struct cli_ctx *ctx, struct client *cl, const char *feed,
    const char *file, enum input_format fmt, const char *buf, size_t len,
    bool preview)
{
	struct response resp;
	char *path, *what;
	int rc;

	xasprintf(&path, "/v1/%s%s", feed, preview ? "?preview=true" : "");
	xasprintf(&what, "ingest %s %s", feed, file);
	if (client_request(cl, HTTP_POST, path,
	        fmt == INPUT_CSV ? "text/csv" : "application/json", buf, len,
	        &resp) != 0) {
		response_report(cl, &resp, what);
		rc = EXIT_UNAVAILABLE;
	} else if ((rc = response_exit_status(&resp)) != EXIT_OK) {
		size_t n = resp.nerrors;

		for (size_t i = 0; i < n; i++)
			print_error(file, fmt, &resp.errors[i]);
		resp.nerrors = 0; /* printed already */
		response_report(cl, &resp, what);
		resp.nerrors = n;
		if (resp.status == 422 || resp.status == 400)
			log_error("nothing was stored");
	} else if (!json_is_object(resp.json)) {
		log_error(
		    "%s: effortd sent a reply that is not a JSON object", what);
		rc = EXIT_UNAVAILABLE;
	} else if (preview) {
		rc = print_preview(ctx, &resp);
		print_warnings(file, resp.json);
	} else {
		print_result(ctx, &resp);
		print_warnings(file, resp.json);
	}
	response_free(&resp);
	free(path);
	free(what);
	return rc;
}

static bool
known_feed(const char *feed)
{
	for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
		if (strcmp(feed, feeds[i]) == 0)
			return true;
	}
	return false;
}

static int
cmd_ingest_exec(struct cmd_run *run)
{
	const char *format = cmd_value(run, "format");
	enum input_format fmt = INPUT_UNKNOWN;
	const char *feed = run->argv[0], *file = run->argv[1];
	struct client *cl;
	char *buf;
	size_t len;
	int rc;

	if (format != NULL)
		fmt = strcmp(format, "json") == 0 ? INPUT_JSON : INPUT_CSV;
	if (!known_feed(feed))
		return cli_usage_error(run->entry,
		    "unknown feed: %s (people, grants, "
		    "assignments, charges, timesheets or "
		    "delegations)",
		    feed);
	if (fmt == INPUT_UNKNOWN)
		fmt = by_extension(file);
	if ((buf = read_input(file, &len)) == NULL)
		return EXIT_USAGE;
	if (fmt == INPUT_UNKNOWN)
		fmt = sniff(buf, len);
	if ((rc = cmd_client(run, &cl)) == EXIT_OK)
		rc = ingest(run->ctx, cl, feed, file, fmt, buf, len,
		    cmd_flag(run, "preview"));
	free(buf);
	return rc;
}
