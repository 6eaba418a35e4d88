/*
 * "effortctl reminders [--dry-run]" (admin): sends today's reminders now,
 * POST /v1/reminders/run (what was already sent today is not sent again),
 * or with --dry-run shows what would go out, GET /v1/reminders.  One row
 * per item: recipient, address, kind (manager or staff), the item.
 */
#include <stdio.h>

#include "cli.h"
#include "client.h"
#include "listing.h"
#include "log.h"

static int cmd_reminders_exec(struct cmd_run *);

static const struct cmd_option reminders_opts[] = {
	{ "dry-run", 'n', false, NULL, NULL },
	{ NULL, 0, false, NULL, NULL },
};

const struct cmd_entry cmd_reminders_entry = {
	"reminders",
	"[--dry-run]",
	"Send today's reminders now, or show what would go out.",
	"Options:\n"
	"  -n, --dry-run      only show what would be sent today\n",
	.opts = reminders_opts,
	.args_max = 0,
	.exec = cmd_reminders_exec,
};

static const struct column reminder_columns[] = {
	{ "recipient_id", "RECIPIENT", COL_TEXT },
	{ "email", "EMAIL", COL_TEXT },
	{ "kind", "KIND", COL_TEXT },
	{ "text", "ITEM", COL_TEXT },
};

/* One row per item, with its message's recipient. */
static json_t *
item_rows(json_t *messages)
{
	json_t *rows = json_array(), *m, *it;
	size_t i, j;

	json_array_foreach(messages, i, m)
	{
		json_array_foreach(json_object_get(m, "items"), j, it)
		{
			json_array_append_new(rows,
			    json_pack("{s:O, s:O, s:O, s:O}", "recipient_id",
			        json_object_get(m, "recipient_id"), "email",
			        json_object_get(m, "email"), "kind",
			        json_object_get(m, "kind"), "text",
			        json_object_get(it, "text")));
		}
	}
	return rows;
}

static void
print_summary(json_t *doc)
{
	json_t *mail = json_object_get(doc, "mail");
	json_t *hook = json_object_get(doc, "webhook");

	printf("sent %zu message(s) for %s: mail %lld sent, %lld failed, %lld "
	       "without address; webhook %lld sent, %lld failed\n",
	    json_array_size(json_object_get(doc, "messages")),
	    json_text(doc, "day") ?: "?",
	    (long long)json_integer_value(json_object_get(mail, "sent")),
	    (long long)json_integer_value(json_object_get(mail, "failed")),
	    (long long)json_integer_value(json_object_get(mail, "skipped")),
	    (long long)json_integer_value(json_object_get(hook, "sent")),
	    (long long)json_integer_value(json_object_get(hook, "failed")));
}

static int
reminders(const struct cli_ctx *ctx, struct client *cl, bool dry_run)
{
	struct response resp;
	int rc;

	if (dry_run)
		rc = client_get(
		    cl, "/v1/reminders?dry_run=1", &resp, "reminders");
	else
		rc = client_post(
		    cl, "/v1/reminders/run", NULL, 0, &resp, "reminders");
	if (rc == EXIT_OK && !json_is_object(resp.json)) {
		log_error("reminders: the reply is not a JSON object");
		rc = EXIT_UNAVAILABLE;
	}
	if (rc == EXIT_OK) {
		json_object_set_new(resp.json, "rows",
		    item_rows(json_object_get(resp.json, "messages")));
		if (!dry_run && ctx->format == FORMAT_TABLE)
			print_summary(resp.json);
		rc = cli_print_list(ctx, &resp, "rows", reminder_columns,
		    sizeof reminder_columns / sizeof reminder_columns[0],
		    dry_run ? "Nothing would be sent today."
		            : "Nothing new to send today.");
	}
	if (rc == EXIT_OK && !dry_run &&
	    (json_integer_value(json_object_get(
	         json_object_get(resp.json, "mail"), "failed")) > 0 ||
	        json_integer_value(json_object_get(
	            json_object_get(resp.json, "webhook"), "failed")) > 0))
		rc = EXIT_UNAVAILABLE;
	response_free(&resp);
	return rc;
}

static int
cmd_reminders_exec(struct cmd_run *run)
{
	struct client *cl;
	int rc;

	if ((rc = cmd_client(run, &cl)) != EXIT_OK)
		return rc;
	return reminders(run->ctx, cl, cmd_flag(run, "dry-run"));
}
