/*
 * The audit trail: GET /v1/audit (history by person, timesheet and date),
 * GET /v1/audit/verify (walks the hash chain in SQL and names the first
 * broken row; with the last row an earlier verify returned, also that it
 * is still there unchanged) and the "reloaded" row of a configuration reload.
 * Rows for changes to the data are appended by triggers in PostgreSQL
 * (sql/functions/60_audit_log.sql), not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api-audit-trail.h"
#include "digest.h"
#include "effortd.h"
#include "api-handlers.h"
#include "log.h"
#include "request.h"

static void
audit_done(const struct db_result *res, void *arg)
{
	reply_db_json(arg, res);
}

static bool
is_number(const char *s, size_t max_len)
{
	size_t n = strlen(s);

	return n > 0 && n <= max_len && strspn(s, "0123456789") == n;
}

void
handle_audit_log(struct request *r)
{
	const char *ts = request_query(r, "timesheet_id");
	const char *since = request_query(r, "since");
	const char *limit = request_query(r, "limit");

	if (ts != NULL && !is_number(ts, 18)) {
		reply_param_error(
		    r, "timesheet_id", "timesheet_id must be a number");
		return;
	}
	if (!request_date_ok(r, "since"))
		return;
	if (limit != NULL && (!is_number(limit, 6) || atoi(limit) == 0)) {
		reply_param_error(
		    r, "limit", "limit must be a number from 1 to 999999");
		return;
	}
	const char *params[5] = { request_query(r, "person_id"), ts, since,
		limit, effortd.rules_json };
	db_query(effortd.db, STMT_AUDIT_LOG, 5, params, audit_done, r);
}

/*
 * ?last_id=N&last_hash=H (both or neither): the last_id and last_hash of an
 * earlier verify, kept elsewhere; the chain must still hold that row with
 * that hash, which shows a trail cut short or rebuilt up to it.
 */
void
handle_audit_verify(struct request *r)
{
	const char *id = request_query(r, "last_id");
	const char *hash = request_query(r, "last_hash");

	if ((id == NULL) != (hash == NULL)) {
		reply_param_error(r, id == NULL ? "last_id" : "last_hash",
		    "last_id and last_hash go together");
		return;
	}
	if (id != NULL && !is_number(id, 18)) {
		reply_param_error(r, "last_id", "last_id must be a number");
		return;
	}
	if (hash != NULL && !sha256_hex_valid(hash)) {
		reply_param_error(r, "last_hash",
		    "last_hash must be 64 lowercase hex digits (a SHA-256)");
		return;
	}
	const char *params[2] = { id, hash };
	db_query(effortd.db, STMT_AUDIT_VERIFY, 2, params, audit_done, r);
}

/*
 * The webhook's URL as the trail records it: its scheme, host and port,
 * and "/…" for a path or query, which may carry the receiver's secret
 * (reviewers read the trail).  NULL for no webhook.
 */
static json_t *
webhook_shown(const char *url)
{
	struct evhttp_uri *u;
	const char *scheme, *host, *path;
	char shown[300], port[16] = "";
	bool hidden;

	if (*url == '\0')
		return json_string(url);
	if ((u = evhttp_uri_parse(url)) == NULL)
		return json_string("(unreadable URL)");
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	if (evhttp_uri_get_port(u) > 0)
		snprintf(port, sizeof port, ":%d", evhttp_uri_get_port(u));
	hidden =
	    (path != NULL && strcmp(path, "") != 0 && strcmp(path, "/") != 0) ||
	    evhttp_uri_get_query(u) != NULL;
	snprintf(shown, sizeof shown, "%s://%s%s/%s", scheme ? scheme : "http",
	    host ? host : "", port, hidden ? "…" : "");
	evhttp_uri_free(u);
	return json_string(shown);
}

/* Every setting but connection strings, as a JSON object; the webhook
 * without its path. */
static char *
settings_json(const struct config *cfg)
{
	json_t *o = json_object();
	char *s;

	for (int i = 0; i < config_option_count; i++) {
		const struct config_option *opt = &config_options[i];
		const char *p = (const char *)cfg + opt->offset;
		json_t *v;

		if (strstr(opt->path, "conninfo") != NULL)
			continue;
		if (strcmp(opt->path, "notify.webhook_url") == 0)
			v = webhook_shown(*(char *const *)p);
		else if (opt->type == OPT_STRING)
			v = json_string(*(char *const *)p);
		else if (opt->type == OPT_INT)
			v = json_integer(*(const int *)p);
		else if (opt->type == OPT_GROUP || opt->type == OPT_ARRAY)
			v = json_incref(*(json_t *const *)p);
		else
			v = json_real(*(const double *)p);
		json_object_set_new(o, opt->path, v);
	}
	s = json_dumps(
	    o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	json_decref(o);
	if (s == NULL)
		log_error("the settings cannot be encoded for the audit trail");
	return s;
}

static void
reload_logged(const struct db_result *res, void *arg)
{
	(void)arg;
	if (res->status != DB_OK)
		log_warn("could not log the reload in the audit trail: %s",
		    res->message);
}

void
auditlog_config_reloaded(
    const struct config *before, const struct config *after)
{
	char *b = settings_json(before), *a = settings_json(after);
	const char *params[3] = { effortd.config_path, b, a };

	if (b != NULL && a != NULL)
		db_query_owned(effortd.db, NULL, STMT_AUDIT_CONFIG, 3, params,
		    reload_logged, NULL);
	free(b);
	free(a);
}
