/*
 * "effortctl ingest FEED FILE": sends a JSON or CSV feed file (or stdin)
 * to POST /v1/<feed>.  A feed is one transaction, so on 422 nothing was
 * stored and every bad record is listed, compiler-style:
 * "FILE:LINE: FIELD: MESSAGE" for CSV, "FILE: record INDEX: FIELD: MESSAGE"
 * for JSON.  A stored feed's warnings (people it names that effortd does
 * not know yet) are listed the same way, with "warning: " before FIELD.
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

static int cmd_ingest_exec(struct cli_ctx *, int, char **);

const struct cmd_entry cmd_ingest_entry = {
	"ingest",
	"[--format csv|json] FEED FILE",
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
	"                     the command sets the output's\n",
	cmd_ingest_exec,
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

/* Sends the feed and reports the outcome; returns an exit status. */
static int
ingest(const struct cli_ctx *ctx, struct client *cl, const char *feed,
    const char *file, enum input_format fmt, const char *buf, size_t len)
{
	struct response resp;
	char *path, *what;
	int rc;

	xasprintf(&path, "/v1/%s", feed);
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
cmd_ingest_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *e = &cmd_ingest_entry;
	enum input_format fmt = INPUT_UNKNOWN;
	const char *feed, *file;
	struct client cl;
	char *buf;
	size_t len;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			fmt = INPUT_JSON;
		else if (c == OPT_FORMAT && strcmp(optarg, "csv") == 0)
			fmt = INPUT_CSV;
		else if (c == OPT_FORMAT)
			return cli_usage_error(
			    e, "invalid --format: %s (csv or json)", optarg);
		else if ((rc = cli_common_option(ctx, e, c, optarg)) !=
		         CLI_OPT_HANDLED)
			return rc;
	}
	if (argc - optind != 2)
		return cli_usage_error(e, "expected FEED and FILE");
	feed = argv[optind];
	file = argv[optind + 1];
	if (!known_feed(feed))
		return cli_usage_error(e,
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
	if ((rc = client_init(&cl, ctx)) == EXIT_OK) {
		rc = ingest(ctx, &cl, feed, file, fmt, buf, len);
		client_free(&cl);
	}
	free(buf);
	return rc;
}
