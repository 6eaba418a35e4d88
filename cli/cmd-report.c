/*
 * "effortctl report": the funding-assurance reports of GET /v1/reports/...
 * (docs/reports.md) as JSON, CSV or HTML, to standard output or a file.
 *
 *   effortctl report grant REF | evidence REF | investigators --year Y |
 *                    compliance --from D --to D
 *                    [--format json|csv|html] [--as-of D] [-o FILE]
 *
 * The grant reference is URL-encoded into the path (EP%2FX012345%2F1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "cli.h"
#include "client.h"
#include "date.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_report_exec(struct cmd_run *);

static const struct cmd_option report_opts[] = {
	{ "as-of", 0, true, NULL, NULL },
	{ "year", 0, true, NULL, NULL },
	{ "from", 0, true, NULL, NULL },
	{ "to", 0, true, NULL, NULL },
	{ "output", 'o', true, NULL, NULL },
	{ "format", 0, true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_report_entry = {
	"report",
	"grant REF | evidence REF | investigators --year YYYY |\n"
	"       compliance --from YYYY-MM-DD --to YYYY-MM-DD\n"
	"       [--format json|csv|html] [--as-of YYYY-MM-DD] [-o FILE]",
	"Funding-assurance reports: grant reconciliation, evidence pack, "
	"investigator cap, compliance.",
	"Reports:\n"
	"  grant REF            charged, recorded and evidenced hours per "
	"person and month\n"
	"  evidence REF         every timesheet version on the grant, with "
	"decisions and\n"
	"                       audit-log rows\n"
	"  investigators        grant hours against the 1650-hour cap "
	"(--year: the cap\n"
	"                       year starting in that year)\n"
	"  compliance           timesheets required, submitted, authorised, "
	"late, overdue,\n"
	"                       missing; findings by rule (--from, --to)\n"
	"Options:\n"
	"  --format FORMAT      json (default), csv or html\n"
	"  --as-of YYYY-MM-DD   evaluate as of this date (default: today)\n"
	"  --year YYYY          investigators: the cap year's start year\n"
	"  --from, --to DATE    compliance: the period\n"
	"  -o, --output FILE    write the report to FILE instead of standard "
	"output\n",
	.opts = report_opts,
	.args_max = -1,
	.exec = cmd_report_exec,
};

struct report_query {
	const char *format, *as_of, *year, *from, *to, *output;
};

static int
check_date(const char *opt, const char *v)
{
	struct date d;

	if (v != NULL && !date_parse(v, &d))
		return cli_usage_error(
		    &cmd_report_entry, "invalid %s: %s (YYYY-MM-DD)", opt, v);
	return CLI_OPT_HANDLED;
}

/* A --year is four digits from 1900, as effortd takes it (its 400 would
 * make a typo exit 3). */
static int
check_year(const char *v)
{
	if (v != NULL && (strlen(v) != 4 || strspn(v, "0123456789") != 4))
		return cli_usage_error(
		    &cmd_report_entry, "invalid --year: %s (YYYY)", v);
	if (v != NULL && strcmp(v, "1900") < 0)
		return cli_usage_error(&cmd_report_entry,
		    "invalid --year: %s (YYYY, from 1900)", v);
	return CLI_OPT_HANDLED;
}

/* The format from --format, else the global one (table means json). */
static int
check_format(struct cli_ctx *ctx, struct report_query *q)
{
	if (q->format == NULL)
		q->format = ctx->format_set && ctx->format == FORMAT_CSV
		                ? "csv"
		                : "json";
	if (strcmp(q->format, "json") != 0 && strcmp(q->format, "csv") != 0 &&
	    strcmp(q->format, "html") != 0)
		return cli_usage_error(&cmd_report_entry,
		    "invalid --format: %s (json, csv or html)", q->format);
	return CLI_OPT_HANDLED;
}

/* The query from the command's options, checked. */
static int
read_options(const struct cmd_run *run, struct report_query *q)
{
	int rc;

	q->as_of = cmd_value(run, "as-of");
	q->year = cmd_value(run, "year");
	q->from = cmd_value(run, "from");
	q->to = cmd_value(run, "to");
	q->output = cmd_value(run, "output");
	q->format = cmd_value(run, "format");
	if ((rc = check_format(run->ctx, q)) != CLI_OPT_HANDLED ||
	    (rc = check_year(q->year)) != CLI_OPT_HANDLED ||
	    (rc = check_date("--as-of", q->as_of)) != CLI_OPT_HANDLED ||
	    (rc = check_date("--from", q->from)) != CLI_OPT_HANDLED ||
	    (rc = check_date("--to", q->to)) != CLI_OPT_HANDLED)
		return rc;
	return CLI_OPT_HANDLED;
}

/* "/v1/reports/grants/EP%2FX012345%2F1[/evidence]". */
static char *
grant_path(const char *ref, bool evidence)
{
	char *enc = evhttp_uriencode(ref, -1, 0), *path;

	if (enc == NULL)
		fatal("evhttp_uriencode failed");
	xasprintf(
	    &path, "/v1/reports/grants/%s%s", enc, evidence ? "/evidence" : "");
	free(enc);
	return path;
}

/* The request path for the report named in args, or NULL (usage error). */
static char *
report_path(int nargs, char **args, const struct report_query *q)
{
	const char *what = nargs > 0 ? args[0] : "";
	int want =
	    strcmp(what, "grant") == 0 || strcmp(what, "evidence") == 0 ? 2 : 1;
	char *path = NULL;

	if (nargs != want)
		return NULL;
	if (want == 2)
		path = grant_path(args[1], strcmp(what, "evidence") == 0);
	else if (strcmp(what, "investigators") == 0 && q->year != NULL) {
		path = xstrdup("/v1/reports/investigators");
		client_query_add(&path, "year", q->year);
	} else if (strcmp(what, "compliance") == 0 && q->from != NULL &&
	           q->to != NULL) {
		path = xstrdup("/v1/reports/compliance");
		client_query_add(&path, "from", q->from);
		client_query_add(&path, "to", q->to);
	}
	return path;
}

/* The body to -o FILE, or standard output (JSON pretty-printed). */
static int
write_report(const struct report_query *q, const struct response *resp)
{
	FILE *fp;

	if (q->output == NULL) {
		if (strcmp(q->format, "json") == 0)
			out_print_json(stdout, resp->body, resp->len);
		else
			fwrite(resp->body, 1, resp->len, stdout);
		return EXIT_OK;
	}
	if ((fp = fopen(q->output, "wb")) == NULL) {
		log_error("%s: %s", q->output, strerror(errno));
		return EXIT_USAGE;
	}
	if (fwrite(resp->body, 1, resp->len, fp) != resp->len ||
	    fclose(fp) != 0) {
		log_error("%s: %s", q->output, strerror(errno));
		return EXIT_UNAVAILABLE;
	}
	return EXIT_OK;
}

static int
cmd_report_exec(struct cmd_run *run)
{
	struct report_query q = { 0 };
	struct response *resp = &run->resp;
	struct client *cl;
	char *path;
	int rc;

	if ((rc = read_options(run, &q)) != CLI_OPT_HANDLED)
		return rc;
	if ((path = report_path(run->argc, run->argv, &q)) == NULL)
		return cli_usage_error(&cmd_report_entry,
		    "say which report: grant REF, evidence REF, investigators "
		    "--year YYYY or compliance --from DATE --to DATE");
	client_query_add(&path, "as_of", q.as_of);
	client_query_add(&path, "format", q.format);
	if ((rc = cmd_client(run, &cl)) != EXIT_OK) {
		free(path);
		return rc;
	}
	if (client_request(cl, HTTP_GET, path, NULL, NULL, 0, resp) != 0) {
		response_report(cl, resp, "report");
		rc = EXIT_UNAVAILABLE;
	} else if ((rc = response_exit_status(resp)) != EXIT_OK)
		response_report(cl, resp, "report");
	else
		rc = write_report(&q, resp);
	free(path);
	return rc;
}
