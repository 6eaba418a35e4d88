/*
 * "effortctl audit verify [--last-id N --last-hash H] | log [--person ID]
 * [--timesheet ID] [--since D] [--limit N]" (reviewer, admin): GET
 * /v1/audit/verify walks the audit trail's hash chain (exit 1 naming the
 * first broken row; with the last row of an earlier verify, also when that
 * row is gone or changed); GET /v1/audit
 * shows the history, each change with who made it and what changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "date.h"
#include "digest.h"
#include "listing.h"
#include "log.h"
#include "xmalloc.h"

static int cmd_audit_exec(struct cmd_run *);

static const struct cmd_option audit_opts[] = {
	{ "person", 0, true, NULL, NULL },
	{ "timesheet", 0, true, NULL, NULL },
	{ "since", 0, true, NULL, NULL },
	{ "limit", 0, true, NULL, NULL },
	{ "last-id", 0, true, NULL, NULL },
	{ "last-hash", 0, true, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_audit_entry = {
	"audit",
	"verify [--last-id N --last-hash HASH] | log [--person ID] "
	"[--timesheet ID] [--since YYYY-MM-DD] [--limit N]",
	"Verify the audit trail's hash chain, or show its history.",
	"Options (log):\n"
	"  --person ID        changes to this person's records, timesheets,\n"
	"                     decisions, delegations and tokens\n"
	"  --timesheet ID     changes to every version of this timesheet\n"
	"  --since DATE       changes from this local date on\n"
	"  --limit N          the latest N changes (default 1000)\n"
	"Options (verify):\n"
	"  --last-id N --last-hash HASH\n"
	"                     the last row an earlier verify printed: it must\n"
	"                     still be there with that hash (a trail cut short\n"
	"                     or rebuilt shows only so)\n"
	"verify exits 1 when the chain is broken.\n",
	.opts = audit_opts,
	.args_max = -1,
	.exec = cmd_audit_exec,
};

static const struct column audit_columns[] = {
	{ "id", "ID", COL_INT },
	{ "at", "AT", COL_TEXT },
	{ "who", "WHO", COL_TEXT },
	{ "action", "ACTION", COL_TEXT },
	{ "entity", "ENTITY", COL_TEXT },
	{ "key", "KEY", COL_TEXT },
	{ "changes", "CHANGES", COL_TEXT },
};

/* "role person (token N)", or the database user of a direct change. */
static char *
who(json_t *actor)
{
	const char *role = json_text(actor, "role");
	const char *person = json_text(actor, "person_id");
	json_t *token = json_object_get(actor, "token_id");
	char *s;

	if (role != NULL)
		xasprintf(&s, "%s%s%s (token %lld)", role, person ? " " : "",
		    person ? person : "", (long long)json_integer_value(token));
	else if (json_text(actor, "via") != NULL)
		s = xstrdup(json_text(actor, "via"));
	else if (json_text(actor, "process") != NULL)
		s = xstrdup(json_text(actor, "process"));
	else
		xasprintf(
		    &s, "database user %s", json_text(actor, "db_user") ?: "?");
	return s;
}

/* "field: old -> new; ..." for the fields an update changed. */
static char *
changes(json_t *before, json_t *after)
{
	const char *k;
	json_t *v;
	char *s = xstrdup(""), *next;

	if (!json_is_object(before) || !json_is_object(after))
		return s;
	json_object_foreach(after, k, v)
	{
		json_t *old = json_object_get(before, k);
		char *a, *b;

		if (strcmp(k, "updated_at") == 0 || json_equal(old, v))
			continue;
		a = out_json_cell(old, COL_TEXT, FORMAT_CSV);
		b = out_json_cell(v, COL_TEXT, FORMAT_CSV);
		xasprintf(&next, "%s%s%s: %s -> %s", s, *s ? "; " : "", k,
		    a ? a : "null", b ? b : "null");
		free(a);
		free(b);
		free(s);
		s = next;
	}
	return s;
}

static void
annotate(json_t *entries)
{
	json_t *e;
	size_t i;

	json_array_foreach(entries, i, e)
	{
		char *w = who(json_object_get(e, "actor"));
		char *c = changes(
		    json_object_get(e, "before"), json_object_get(e, "after"));

		json_object_set_new(e, "who", json_string(w));
		json_object_set_new(e, "changes", json_string(c));
		free(w);
		free(c);
	}
}

static int
audit_verify(const struct cli_ctx *ctx, struct client *cl, const char *last_id,
    const char *last_hash)
{
	struct response resp;
	char *path = xstrdup("/v1/audit/verify");
	int rc;

	client_query_add(&path, "last_id", last_id);
	client_query_add(&path, "last_hash", last_hash);
	rc = client_get(cl, path, &resp, "audit verify");
	free(path);
	if (rc != EXIT_OK) {
		response_free(&resp);
		return rc;
	}
	if (ctx->format == FORMAT_JSON)
		out_print_json(stdout, resp.body, resp.len);
	if (json_is_true(json_object_get(resp.json, "ok"))) {
		if (ctx->format != FORMAT_JSON)
			printf("audit trail intact: %lld rows, last id %lld, "
			       "last hash %s\n",
			    (long long)json_integer_value(
			        json_object_get(resp.json, "rows")),
			    (long long)json_integer_value(
			        json_object_get(resp.json, "last_id")),
			    json_text(resp.json, "last_hash") ?: "-");
	} else {
		/* with --format json the reply says it; stderr keeps it JSON */
		fprintf(ctx->format == FORMAT_JSON ? stderr : stdout,
		    "audit trail BROKEN at row %lld: %s\n",
		    (long long)json_integer_value(
		        json_object_get(resp.json, "first_broken_id")),
		    json_text(resp.json, "reason") ?: "?");
		rc = EXIT_FOUND;
	}
	response_free(&resp);
	return rc;
}

struct log_filter {
	const char *person, *timesheet, *since, *limit;
	const char *last_id, *last_hash; /* verify's */
};

static int
audit_log(
    const struct cli_ctx *ctx, struct client *cl, const struct log_filter *f)
{
	struct response resp;
	char *path = xstrdup("/v1/audit");
	int rc;

	client_query_add(&path, "person_id", f->person);
	client_query_add(&path, "timesheet_id", f->timesheet);
	client_query_add(&path, "since", f->since);
	client_query_add(&path, "limit", f->limit);
	if ((rc = client_get(cl, path, &resp, "audit log")) == EXIT_OK) {
		annotate(json_object_get(resp.json, "entries"));
		rc = cli_print_list(ctx, &resp, "entries", audit_columns,
		    sizeof audit_columns / sizeof audit_columns[0],
		    "No changes recorded.");
		if (json_is_true(json_object_get(resp.json, "more")))
			fprintf(stderr,
			    "effortctl: only the latest %zu changes are shown; "
			    "older ones match too (--limit N, or --since "
			    "YYYY-MM-DD)\n",
			    json_array_size(
			        json_object_get(resp.json, "entries")));
	}
	response_free(&resp);
	free(path);
	return rc;
}

/* Checks the subcommand and the filters; an exit status or CLI_OPT_HANDLED. */
static int
check_args(const struct cmd_entry *e, int nargs, char **args,
    const struct log_filter *f)
{
	long long n;
	struct date d;
	bool filters = f->person || f->timesheet || f->since || f->limit;

	if (nargs != 1 ||
	    (strcmp(args[0], "verify") != 0 && strcmp(args[0], "log") != 0))
		return cli_usage_error(e, "expected verify or log");
	if (strcmp(args[0], "verify") == 0 && filters)
		return cli_usage_error(
		    e, "verify takes only --last-id and --last-hash");
	if (strcmp(args[0], "log") == 0 && (f->last_id || f->last_hash))
		return cli_usage_error(
		    e, "--last-id and --last-hash are verify's");
	if ((f->last_id == NULL) != (f->last_hash == NULL))
		return cli_usage_error(
		    e, "--last-id and --last-hash go together");
	if (f->last_id != NULL && !cli_parse_id(f->last_id, &n))
		return cli_usage_error(e, "invalid --last-id: %s", f->last_id);
	if (f->last_hash != NULL && !sha256_hex_valid(f->last_hash))
		return cli_usage_error(e,
		    "invalid --last-hash: %s (64 lowercase hex digits)",
		    f->last_hash);
	if (f->timesheet != NULL && !cli_parse_id(f->timesheet, &n))
		return cli_usage_error(
		    e, "invalid --timesheet: %s", f->timesheet);
	if (f->limit != NULL && (!cli_parse_id(f->limit, &n) || n > 999999))
		return cli_usage_error(e, "invalid --limit: %s", f->limit);
	if (f->since != NULL && !date_parse(f->since, &d))
		return cli_usage_error(
		    e, "invalid --since: %s (YYYY-MM-DD)", f->since);
	return CLI_OPT_HANDLED;
}

static int
cmd_audit_exec(struct cmd_run *run)
{
	struct log_filter f = { cmd_value(run, "person"),
		cmd_value(run, "timesheet"), cmd_value(run, "since"),
		cmd_value(run, "limit"), cmd_value(run, "last-id"),
		cmd_value(run, "last-hash") };
	struct client *cl;
	int rc;

	if ((rc = check_args(run->entry, run->argc, run->argv, &f)) !=
	    CLI_OPT_HANDLED)
		return rc;
	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	if (strcmp(run->argv[0], "verify") == 0)
		return audit_verify(run->ctx, cl, f.last_id, f.last_hash);
	return audit_log(run->ctx, cl, &f);
}
