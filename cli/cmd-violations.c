/*
 * "effortctl violations": the audit, GET /v1/violations, listed or counted
 * per rule and severity.  Exits 1 when anything is found, 0 when not, so
 * it can gate a script or a cron job; a misspelt rule or severity is exit
 * 2 before anything is asked, and a filter the server refuses (400) exit 3,
 * so that a gate never passes on a filter that matched nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "date.h"
#include "log.h"
#include "rules.h"
#include "xmalloc.h"

static int cmd_violations_exec(struct cmd_run *);

static const struct cmd_option violations_opts[] = {
	{ "as-of", 0, true, NULL, NULL },
	{ "rule", 0, true, NULL, NULL },
	{ "severity", 0, true, NULL, NULL },
	{ "person", 0, true, NULL, NULL },
	{ "grant", 0, true, NULL, NULL },
	{ "summary", 0, false, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_violations_entry = {
	"violations",
	"[--as-of YYYY-MM-DD] [--rule RULE] [--severity SEVERITY]\n"
	"           [--person ID] [--grant REF] [--summary]",
	"List the audit's violations and warnings; exit 1 if there are any.",
	"Options:\n"
	"  --as-of YYYY-MM-DD   evaluate the audit at this date (default: "
	"today)\n"
	"  --rule RULE          only this rule, e.g. hours_incomplete\n"
	"  --severity SEVERITY  violation or warning\n"
	"  --person ID          only this person\n"
	"  --grant REF          only this grant, e.g. EP/X012345/1\n"
	"  --summary            count per rule and severity instead of "
	"listing\n\n"
	"A --rule or --severity that names none is exit 2 (with the list of\n"
	"rules) before anything is asked; a filter the server refuses (400)\n"
	"is exit 3, so a gate never passes on a filter that matched nothing.\n",
	.opts = violations_opts,
	.args_max = 0,
	.exec = cmd_violations_exec,
};

static const struct column violation_columns[] = {
	{ "rule", "RULE", COL_TEXT },
	{ "severity", "SEVERITY", COL_TEXT },
	{ "person_id", "PERSON", COL_TEXT },
	{ "grant_ref", "GRANT", COL_TEXT },
	{ "period_start", "START", COL_TEXT },
	{ "period_end", "END", COL_TEXT },
	{ "hours", "HOURS", COL_HOURS },
	{ "detail", "DETAIL", COL_TEXT },
};

static const struct column summary_columns[] = {
	{ "rule", "RULE", COL_TEXT },
	{ "severity", "SEVERITY", COL_TEXT },
	{ "count", "COUNT", COL_INT },
};

static int
compare_summary(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_text(x, "rule"), json_text(y, "rule"));

	return c != 0
	           ? c
	           : strcmp(json_text(x, "severity"), json_text(y, "severity"));
}

/* The summary row for rule and severity, or NULL. */
static json_t *
find_row(json_t *rows, const char *rule, const char *sev)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		if (strcmp(json_text(row, "rule"), rule) == 0 &&
		    strcmp(json_text(row, "severity"), sev) == 0)
			return row;
	}
	return NULL;
}

/* [{"rule","severity","count"}] sorted by rule and severity. */
static json_t *
summarise(json_t *list)
{
	json_t *out = json_array(), *v, *row, **rows;
	size_t i, n = 0;

	json_array_foreach(list, i, v)
	{
		const char *rule = json_text(v, "rule");
		const char *sev = json_text(v, "severity");

		rule = rule != NULL ? rule : "";
		sev = sev != NULL ? sev : "";
		if ((row = find_row(out, rule, sev)) != NULL) {
			json_t *cnt = json_object_get(row, "count");

			json_integer_set(cnt, json_integer_value(cnt) + 1);
			continue;
		}
		json_array_append_new(
		    out, json_pack("{s:s,s:s,s:I}", "rule", rule, "severity",
		             sev, "count", (json_int_t)1));
	}
	rows = xcalloc(json_array_size(out) + 1, sizeof *rows);
	json_array_foreach(out, i, row) rows[n++] = json_incref(row);
	qsort(rows, n, sizeof *rows, compare_summary);
	json_array_clear(out);
	for (i = 0; i < n; i++)
		json_array_append_new(out, rows[i]);
	free(rows);
	return out;
}

static void
print_summary(const struct cli_ctx *ctx, const char *as_of, json_t *list)
{
	json_t *summary = summarise(list), *row;
	struct table *t;
	size_t i;

	if (ctx->format == FORMAT_JSON) {
		json_t *doc =
		    json_pack("{s:s?,s:O}", "as_of", as_of, "summary", summary);

		out_print_json_value(stdout, doc);
		json_decref(doc);
		json_decref(summary);
		return;
	}
	t = out_table_new(summary_columns, 3, ctx->format);
	json_array_foreach(summary, i, row) out_table_add_json(t, row);
	if (ctx->format == FORMAT_TABLE && json_array_size(list) == 0)
		printf("No violations as of %s.\n",
		    as_of != NULL ? as_of : "today");
	else
		out_table_print(t, stdout, NULL);
	if (ctx->format == FORMAT_TABLE && json_array_size(list) > 0)
		printf("\n%zu found as of %s.\n", json_array_size(list),
		    as_of != NULL ? as_of : "today");
	out_table_free(t);
	json_decref(summary);
}

static void
print_list(const struct cli_ctx *ctx, const char *as_of, json_t *list)
{
	struct table *t;
	json_t *v;
	size_t i;

	t = out_table_new(violation_columns,
	    sizeof violation_columns / sizeof violation_columns[0],
	    ctx->format);
	json_array_foreach(list, i, v) out_table_add_json(t, v);
	if (ctx->format == FORMAT_TABLE && json_array_size(list) == 0) {
		printf("No violations as of %s.\n",
		    as_of != NULL ? as_of : "today");
	} else {
		out_table_print(t, stdout, NULL);
		if (ctx->format == FORMAT_TABLE)
			printf("\n%zu found as of %s.\n", json_array_size(list),
			    as_of != NULL ? as_of : "today");
	}
	out_table_free(t);
}

static int
print_violations(const struct cli_ctx *ctx, struct response *resp, bool summary)
{
	json_t *list = json_object_get(resp->json, "violations");
	const char *as_of = json_text(resp->json, "as_of");

	if (!json_is_array(list)) {
		log_error("violations: reply has no \"violations\" array");
		return EXIT_UNAVAILABLE;
	}
	if (summary)
		print_summary(ctx, as_of, list);
	else if (ctx->format == FORMAT_JSON)
		out_print_json(stdout, resp->body, resp->len);
	else
		print_list(ctx, as_of, list);
	return json_array_size(list) > 0 ? EXIT_FOUND : EXIT_OK;
}

struct violation_query {
	const char *as_of, *rule, *severity, *person, *grant;
	bool summary;
};

/* A --rule that names no rule: exit 2, listing the rules. */
static int
unknown_rule(const struct cmd_entry *e, const char *rule)
{
	char *list = xstrdup(""), *next;
	int rc;

	for (size_t i = 0; audit_rules[i] != NULL; i++) {
		xasprintf(
		    &next, "%s%s%s", list, i > 0 ? ", " : "", audit_rules[i]);
		free(list);
		list = next;
	}
	rc = cli_usage_error(
	    e, "invalid --rule: %s (the rules are %s)", rule, list);
	free(list);
	return rc;
}

/* Parses the options; returns CLI_OPT_HANDLED or an exit status. */
/* The query from the command's options, checked. */
static int
read_options(const struct cmd_run *run, struct violation_query *q)
{
	const struct cmd_entry *e = run->entry;
	struct date d;

	q->as_of = cmd_value(run, "as-of");
	q->rule = cmd_value(run, "rule");
	q->severity = cmd_value(run, "severity");
	q->person = cmd_value(run, "person");
	q->grant = cmd_value(run, "grant");
	q->summary = cmd_flag(run, "summary");
	if (q->as_of != NULL && !date_parse(q->as_of, &d))
		return cli_usage_error(
		    e, "invalid --as-of: %s (YYYY-MM-DD)", q->as_of);
	if (q->rule != NULL && !audit_rule_known(q->rule))
		return unknown_rule(e, q->rule);
	if (q->severity != NULL && strcmp(q->severity, "violation") != 0 &&
	    strcmp(q->severity, "warning") != 0)
		return cli_usage_error(e,
		    "invalid --severity: %s (violation or warning)",
		    q->severity);
	return CLI_OPT_HANDLED;
}

static int
cmd_violations_exec(struct cmd_run *run)
{
	struct violation_query q = { 0 };
	struct client *cl;
	char *path;
	int rc;

	if ((rc = read_options(run, &q)) != CLI_OPT_HANDLED)
		return rc;
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	path = xstrdup("/v1/violations");
	client_query_add(&path, "as_of", q.as_of);
	client_query_add(&path, "rule", q.rule);
	client_query_add(&path, "severity", q.severity);
	client_query_add(&path, "person_id", q.person);
	client_query_add(&path, "grant_ref", q.grant);
	if ((rc = client_get(cl, path, &run->resp, "violations")) == EXIT_OK)
		rc = print_violations(run->ctx, &run->resp, q.summary);
	free(path);
	return rc;
}
