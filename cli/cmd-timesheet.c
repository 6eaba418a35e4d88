/*
 * "effortctl timesheet ID": one timesheet's history from
 * GET /v1/timesheets/{id}/versions -- the person's name and contracted
 * hours, the open findings on it, then every version with its entries,
 * what each amendment changed from the version before and why, and its
 * decisions.  As CSV, one row per entry and per decision of every version
 * (column "record" says which).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "desk.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_timesheet_exec(struct cmd_run *);

const struct cmd_entry cmd_timesheet_entry = {
	"timesheet",
	"ID",
	"Show one timesheet: its findings, and every version with its "
	"entries, changes and decisions.",
	"",
	.args_min = 1,
	.args_max = 1,
	.args_error = "expected one timesheet ID",
	.exec = cmd_timesheet_exec,
};

static const struct column entry_columns[] = {
	{ "kind", "KIND", COL_TEXT },
	{ "activity", "ACTIVITY", COL_TEXT },
	{ "hours", "HOURS", COL_HOURS },
};

static const struct column decision_columns[] = {
	{ "decision", "DECISION", COL_TEXT },
	{ "decided_by", "BY", COL_TEXT },
	{ "decided_at", "AT", COL_TEXT },
	{ "source", "SOURCE", COL_TEXT },
	{ "reason", "REASON", COL_TEXT },
};

static const struct column history_columns[] = {
	{ "timesheet_id", "", COL_INT },
	{ "person_id", "", COL_TEXT },
	{ "period_start", "", COL_TEXT },
	{ "period_end", "", COL_TEXT },
	{ "version", "", COL_INT },
	{ "version_id", "", COL_INT },
	{ "submitted_at", "", COL_TEXT },
	{ "total_hours", "", COL_HOURS },
	{ "status", "", COL_TEXT },
	{ "amendment_reason", "", COL_TEXT },
	{ "record", "", COL_TEXT },
	{ "kind", "", COL_TEXT },
	{ "activity", "", COL_TEXT },
	{ "hours", "", COL_HOURS },
	{ "decision", "", COL_TEXT },
	{ "decided_by", "", COL_TEXT },
	{ "decided_at", "", COL_TEXT },
	{ "reason", "", COL_TEXT },
	{ "source", "", COL_TEXT },
};
#define NHISTORY (sizeof history_columns / sizeof history_columns[0])

static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* Prints a table of obj's array member key, each line indented. */
static void
print_list(json_t *obj, const char *key, const struct column *cols,
    size_t ncols, const char *none)
{
	json_t *list = json_object_get(obj, key), *v;
	struct table *t = out_table_new(cols, ncols, FORMAT_TABLE);
	size_t i;

	json_array_foreach(list, i, v) out_table_add_json(t, v);
	if (out_table_rows(t) == 0)
		printf("    %s\n", none);
	else
		out_table_print(t, stdout, "    ");
	out_table_free(t);
}

static void
print_version_line(json_t *v)
{
	char *hours = desk_hours(json_object_get(v, "total_hours"));
	char *n =
	    out_json_cell(json_object_get(v, "version"), COL_INT, FORMAT_TABLE);
	const char *status = json_text(v, "status");
	const char *at = json_text(v, "submitted_at");
	const char *why = json_text(v, "amendment_reason");

	printf("Version %s (%s): submitted at %s, %s h\n", or_dash(n),
	    or_dash(status), or_dash(at), hours);
	if (why != NULL)
		printf("    Amendment reason: %s\n", why);
	free(hours);
	free(n);
}

/* One line of an amendment's changes, e.g. "    added    sick_leave ...". */
static void
print_change(const char *what, json_t *e)
{
	char *hours = desk_hours(json_object_get(e, "hours"));
	char *before = desk_hours(json_object_get(e, "hours_before"));
	const char *kind = json_text(e, "kind");
	const char *kind_before = json_text(e, "kind_before");

	const char *activity = json_text(e, "activity");

	printf("      %-8s %s", what, or_dash(activity));
	if (kind != NULL && (activity == NULL || strcmp(kind, activity) != 0))
		printf(" (%s)", kind);
	printf(": ");
	if (strcmp(what, "changed") != 0)
		printf("%s h\n", hours);
	else if (kind_before != NULL && kind != NULL &&
	         strcmp(kind_before, kind) != 0)
		printf("%s h -> %s h (was %s)\n", before, hours, kind_before);
	else
		printf("%s h -> %s h\n", before, hours);
	free(hours);
	free(before);
}

/* What an amendment changed from the version before it. */
static void
print_changes(json_t *v)
{
	static const char *const kinds[] = { "added", "removed", "changed" };
	json_t *changes = json_object_get(v, "changes"), *e;
	size_t i, n = 0;

	if (!json_is_object(changes))
		return;
	printf("    Changes from version %lld:\n",
	    (long long)json_integer_value(
	        json_object_get(changes, "from_version")));
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		json_array_foreach(json_object_get(changes, kinds[k]), i, e)
		{
			print_change(kinds[k], e);
			n++;
		}
	}
	if (n == 0)
		printf("      no entries changed\n");
}

static void
print_text(json_t *doc, json_t *versions)
{
	json_t *v, *days = json_object_get(doc, "days_left");
	char *contracted = desk_hours(json_object_get(doc, "contracted_hours"));
	char *when = desk_days_text(json_integer_value(days));
	const char *status = json_text(
	    json_array_get(versions, json_array_size(versions) - 1), "status");
	size_t i;

	printf("Timesheet %lld: %s %s, %s to %s\n",
	    (long long)json_integer_value(json_object_get(doc, "timesheet_id")),
	    or_dash(json_text(doc, "person_id")),
	    or_dash(json_text(doc, "name")),
	    or_dash(json_text(doc, "period_start")),
	    or_dash(json_text(doc, "period_end")));
	printf("Contracted hours: %s; authorisation deadline %s", contracted,
	    or_dash(json_text(doc, "deadline")));
	/* Days left or overdue only while the latest version awaits a
	 * decision; a decided one says how it was decided. */
	if (status != NULL && strcmp(status, "submitted") != 0)
		printf(" (%s)", status);
	else if (json_is_integer(days))
		printf(" (%s)", when);
	printf("\n\nOpen findings:\n");
	desk_print_findings(json_object_get(doc, "findings"), "  ");
	json_array_foreach(versions, i, v)
	{
		printf("\n");
		print_version_line(v);
		print_changes(v);
		print_list(v, "entries", entry_columns, 3, "no entries");
		print_list(v, "decisions", decision_columns, 5, "no decisions");
	}
	free(contracted);
	free(when);
}

/* The columns every CSV row of one version repeats. */
static json_t *
version_base(json_t *doc, json_t *v)
{
	static const char *const keys[] = { "version", "submitted_at",
		"total_hours", "status", "amendment_reason" };
	json_t *base = json_object();

	json_object_set(
	    base, "timesheet_id", json_object_get(doc, "timesheet_id"));
	json_object_set(base, "person_id", json_object_get(doc, "person_id"));
	json_object_set(
	    base, "period_start", json_object_get(doc, "period_start"));
	json_object_set(base, "period_end", json_object_get(doc, "period_end"));
	json_object_set(base, "version_id", json_object_get(v, "id"));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		json_object_set(base, keys[i], json_object_get(v, keys[i]));
	return base;
}

/* Adds a row per member of v's array key, marked record = kind. */
static void
add_records(
    struct table *t, json_t *base, json_t *v, const char *key, const char *kind)
{
	json_t *item, *row;
	size_t i;

	json_array_foreach(json_object_get(v, key), i, item)
	{
		row = json_deep_copy(base);
		json_object_set_new(row, "record", json_string(kind));
		if (json_is_object(item))
			json_object_update(row, item);
		out_table_add_json(t, row);
		json_decref(row);
	}
}

static void
print_csv(json_t *doc, json_t *versions)
{
	struct table *t = out_table_new(history_columns, NHISTORY, FORMAT_CSV);
	json_t *v;
	size_t i;

	json_array_foreach(versions, i, v)
	{
		json_t *base = version_base(doc, v);

		add_records(t, base, v, "entries", "entry");
		add_records(t, base, v, "decisions", "decision");
		json_decref(base);
	}
	out_table_print(t, stdout, NULL);
	out_table_free(t);
}

static int
cmd_timesheet_exec(struct cmd_run *run)
{
	struct response *resp = &run->resp;
	struct client *cl;
	json_t *versions;
	long long id;
	char *path, *what;
	int rc;

	if (!cli_parse_id(run->argv[0], &id))
		return cli_usage_error(
		    run->entry, "invalid timesheet ID: %s", run->argv[0]);
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	xasprintf(&path, "/v1/timesheets/%lld/versions", id);
	xasprintf(&what, "timesheet %lld", id);
	if ((rc = client_get(cl, path, resp, what)) == EXIT_OK) {
		versions = json_object_get(resp->json, "versions");
		if (!json_is_array(versions)) {
			log_error("%s: reply has no \"versions\" array", what);
			rc = EXIT_UNAVAILABLE;
		} else if (run->ctx->format == FORMAT_JSON)
			out_print_json(stdout, resp->body, resp->len);
		else if (run->ctx->format == FORMAT_CSV)
			print_csv(resp->json, versions);
		else
			print_text(resp->json, versions);
	}
	free(path);
	free(what);
	return rc;
}
