/*
 * POST /v1/<feed>: parse (JSON or CSV), validate every record, store the
 * whole batch with one statement (one transaction), then re-evaluate the
 * audit for the people the batch touched before answering, so that a
 * client that posts and then reads sees the effect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "audit.h"
#include "effortd.h"
#include "feed.h"
#include "handlers.h"
#include "log.h"
#include "request.h"
#include "xmalloc.h"

struct feed_job {
	struct request *r;
	const struct feed_spec *feed;
	json_t *records;
	struct feed_errors errs;
};

static void
feed_job_free(struct feed_job *job)
{
	json_decref(job->records);
	json_decref(job->errs.list);
	free(job);
}

static size_t
read_body(void *out, size_t len, void *arg)
{
	int n = evbuffer_remove(arg, out, len);

	return n < 0 ? (size_t)-1 : (size_t)n;
}

static bool
is_csv(struct request *r)
{
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Content-Type");

	return ct != NULL && strncasecmp(ct, "text/csv", 8) == 0;
}

/* Parses the body into job->records; answers 400/422 itself on failure. */
static bool
parse_body(struct feed_job *job)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(job->r->req);
	json_error_t jerr;
	char err[256];

	if (job->errs.csv) {
		job->records = csv_feed_parse(job->feed, body, &job->errs, err,
		    sizeof err);
		if (job->records == NULL) {
			reply_error(job->r, 400, err, NULL);
			return false;
		}
		job->errs.records = job->records;
		return true;
	}
	job->records = json_load_callback(read_body, body,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (job->records == NULL) {
		snprintf(err, sizeof err, "invalid JSON at line %d, column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		reply_error(job->r, 400, err, NULL);
		return false;
	}
	if (!json_is_array(job->records)) {
		reply_error(job->r, 422, "expected a JSON array of records", NULL);
		return false;
	}
	return true;
}

static void
reply_invalid(struct feed_job *job)
{
	char msg[128];

	snprintf(msg, sizeof msg, "%d error%s in the %s feed; nothing was stored",
	    job->errs.count, job->errs.count == 1 ? "" : "s", job->feed->name);
	reply_error(job->r, 422, msg, json_incref(job->errs.list));
}

/* Turns the errors the database found ({index, field, message}) into ours. */
static void
add_db_errors(struct feed_job *job, json_t *list)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		feed_error(&job->errs,
		    (int)json_integer_value(json_object_get(e, "index")),
		    json_string_value(json_object_get(e, "field")) ?: "", "%s",
		    json_string_value(json_object_get(e, "message")) ?: "invalid");
	}
}

static void
stored(const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	json_t *out;

	if (res->status != DB_OK) {
		reply_db_failure(job->r, res);
		feed_job_free(job);
		return;
	}
	out = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	if (json_object_get(out, "errors") != NULL) {
		add_db_errors(job, json_object_get(out, "errors"));
		reply_invalid(job);
		json_decref(out);
		feed_job_free(job);
		return;
	}
	/* API.md's order: accepted, created, updated, unchanged. */
	audit_then_reply(job->r, json_pack("{s:O, s:O, s:O, s:O, s:O}",
	    "accepted", json_object_get(out, "accepted"),
	    "created", json_object_get(out, "created"),
	    "updated", json_object_get(out, "updated"),
	    "unchanged", json_object_get(out, "unchanged"),
	    "people", json_object_get(out, "people")));
	json_decref(out);
	feed_job_free(job);
}

void
handle_feed(struct request *r)
{
	struct feed_job *job = xcalloc(1, sizeof *job);
	char *batch;

	job->r = r;
	job->feed = r->route->data;
	feed_errors_init(&job->errs, is_csv(r));
	if (!parse_body(job)) {
		feed_job_free(job);
		return;
	}
	if (json_array_size(job->records) > (size_t)effortd.cfg.max_records) {
		char msg[128];
		snprintf(msg, sizeof msg, "%zu records in one batch; the limit "
		    "is %d", json_array_size(job->records), effortd.cfg.max_records);
		reply_error(r, 413, msg, NULL);
		feed_job_free(job);
		return;
	}
	if (feed_validate(job->feed, job->records, &job->errs) > 0 ||
	    job->errs.count > 0) {
		reply_invalid(job);
		feed_job_free(job);
		return;
	}
	batch = json_dumps(job->records, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *params[2] = { batch, r->token_id };
	db_query(effortd.db, job->feed->stmt, 2, params, stored, job);
	free(batch);
}
