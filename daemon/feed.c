/*
 * The feed ingest pipeline: parse (JSON or CSV), check the limits,
 * validate every record, store the whole batch with one statement (one
 * transaction).  It knows nothing of HTTP: POST /v1/<feed> (handle_feed,
 * at the end) and the spool folder (spool.c) both drive it.  handle_feed
 * then re-evaluates the audit for the people the batch touched before
 * answering, so that a client that posts and then reads sees the effect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "audit.h"
#include "effortd.h"
#include "feed.h"
#include "feedtype.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "xmalloc.h"

struct feed_job {
	struct feed_source src;
	char **extra; /* owned copies of src.extra */
	char *token_id;
	const struct feed_spec *feed;
	json_t *records;
	json_t *checked; /* check-only run: batch index -> record index */
	struct feed_errors errs;
	feed_done_cb done;
	void *arg;
};

static void
feed_job_free(struct feed_job *job)
{
	for (int i = 0; i < job->src.nextra; i++)
		free(job->extra[i]);
	free(job->extra);
	free(job->token_id);
	json_decref(job->records);
	json_decref(job->checked);
	json_decref(job->errs.list);
	free(job);
}

/* Reports the outcome to the caller and frees the job. */
static void
finish(struct feed_job *job, int status, const char *message, json_t *errors,
    json_t *doc, const struct db_result *db)
{
	struct feed_outcome o = { status, message, errors, doc, db };

	job->done(&o, job->arg);
	json_decref(errors);
	feed_job_free(job);
}

static size_t
read_body(void *out, size_t len, void *arg)
{
	int n = evbuffer_remove(arg, out, len);

	return n < 0 ? (size_t)-1 : (size_t)n;
}

/* Parses the body into job->records; reports 400/422 itself on failure. */
static bool
parse_body(struct feed_job *job)
{
	struct evbuffer *body = job->src.body;
	json_error_t jerr;
	char err[256], bom[3];

	if (job->errs.csv) {
		job->records = csv_feed_parse(
		    job->feed, body, &job->errs, err, sizeof err);
		if (job->records == NULL) {
			finish(job, 400, err, NULL, NULL, NULL);
			return false;
		}
		job->errs.records = job->records;
		return true;
	}
	if (evbuffer_copyout(body, bom, 3) == 3 &&
	    memcmp(bom, "\xef\xbb\xbf", 3) == 0)
		evbuffer_drain(body, 3); /* a byte-order mark, as in CSV */
	if (json_too_deep(body, effortd.cfg.max_json_depth)) {
		snprintf(err, sizeof err, "JSON nested deeper than %d levels",
		    effortd.cfg.max_json_depth);
		finish(job, 400, err, NULL, NULL, NULL);
		return false;
	}
	job->records = json_load_callback(
	    read_body, body, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (job->records == NULL) {
		snprintf(err, sizeof err,
		    "invalid JSON at line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		finish(job, 400, err, NULL, NULL, NULL);
		return false;
	}
	if (!json_is_array(job->records)) {
		finish(job, 422, "expected a JSON array of records", NULL, NULL,
		    NULL);
		return false;
	}
	return true;
}

/* Orders errors by record (index or line), keeping their order within one. */
static int
error_cmp(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	json_int_t kx = json_integer_value(json_object_get(*x, "index")) +
	                json_integer_value(json_object_get(*x, "line"));
	json_int_t ky = json_integer_value(json_object_get(*y, "index")) +
	                json_integer_value(json_object_get(*y, "line"));
	json_int_t px = json_integer_value(json_object_get(*x, "_pos"));
	json_int_t py = json_integer_value(json_object_get(*y, "_pos"));

	if (kx != ky)
		return kx < ky ? -1 : 1;
	return (px > py) - (px < py);
}

static json_t *
sorted_errors(json_t *list)
{
	size_t n = json_array_size(list), i;
	json_t **v = xcalloc(n + 1, sizeof *v), *out = json_array();

	for (i = 0; i < n; i++) {
		v[i] = json_array_get(list, i);
		json_object_set_new(v[i], "_pos", json_integer((json_int_t)i));
	}
	qsort(v, n, sizeof *v, error_cmp);
	for (i = 0; i < n; i++) {
		json_object_del(v[i], "_pos");
		json_array_append(out, v[i]);
	}
	free(v);
	return out;
}

static void
finish_invalid(struct feed_job *job)
{
	char msg[128];

	snprintf(msg, sizeof msg,
	    "%d error%s in the %s feed; nothing was stored", job->errs.count,
	    job->errs.count == 1 ? "" : "s", job->feed->name);
	finish(job, 422, msg, sorted_errors(job->errs.list), NULL, NULL);
}

/* Turns the errors the database found ({index, field, message}) into ours. */
static void
add_db_errors(struct feed_job *job, json_t *list)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
	{
		json_int_t index =
		    json_integer_value(json_object_get(e, "index"));
		if (job->checked != NULL)
			index = json_integer_value(
			    json_array_get(job->checked, (size_t)index));
		feed_error(&job->errs, (int)index,
		    json_string_value(json_object_get(e, "field")) ?: "", "%s",
		    json_string_value(json_object_get(e, "message"))
		        ?: "invalid");
	}
}

static void
stored(const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	json_t *out;

	if (res->status != DB_OK || PQntuples(res->res) != 1) {
		bool down = res->status == DB_UNAVAILABLE;
		finish(job, down ? 503 : 500,
		    down ? "database unavailable" : "internal error", NULL,
		    NULL, res);
		return;
	}
	out = json_loads(PQgetvalue(res->res, 0, 0), 0, NULL);
	if (json_object_get(out, "errors") != NULL || job->checked != NULL) {
		add_db_errors(job, json_object_get(out, "errors"));
		json_decref(out);
		finish_invalid(job);
		return;
	}
	metrics_records(job->feed->name,
	    (long)json_integer_value(json_object_get(out, "accepted")));
	finish(job, 200, NULL, NULL, out, NULL);
	json_decref(out);
}

/* What the error lookups need of a CSV batch: each record's lines. */
static json_t *
csv_lines_only(json_t *records)
{
	json_t *out = json_array(), *rec, *e, *entries;
	size_t i, j;

	json_array_foreach(records, i, rec)
	{
		entries = json_array();
		json_array_foreach(json_object_get(rec, "entries"), j, e)
		{
			json_array_append_new(
			    entries, json_pack("{s:O}", "_line",
			                 json_object_get(e, "_line")));
		}
		json_array_append_new(out,
		    json_pack("{s:O, s:o}", "_line",
		        json_object_get(rec, "_line"), "entries", entries));
	}
	return out;
}

/*
 * Once a batch is text on its way to the database its tree is dropped
 * (CSV keeps the line numbers): each batch is parsed, checked and sent in
 * one go, so at most one batch's tree is alive at a time, however many
 * wait for the database.
 */
static void
drop_records(struct feed_job *job)
{
	json_t *lines = job->errs.csv ? csv_lines_only(job->records) : NULL;

	json_decref(job->records);
	job->records = job->errs.records = lines;
}

/* Sends batch to the job's statement: ($1 batch, $2 token, $3 check…). */
static void
store(struct feed_job *job, json_t *batch, bool check_only)
{
	char *s = json_dumps(batch, JSON_COMPACT | JSON_REAL_PRECISION(15));
	int n = 3 + job->src.nextra;
	const char **params = xcalloc((size_t)n, sizeof *params);

	params[0] = s;
	params[1] = job->token_id;
	params[2] = check_only ? "true" : "false";
	for (int i = 0; i < job->src.nextra; i++)
		params[3 + i] = job->extra[i];
	if (!check_only)
		drop_records(job);
	db_query(effortd.db, job->src.stmt, n, params, stored, job);
	free(params);
	free(s);
}

/* CSV: the record each physical line belongs to, keyed by line number. */
static json_t *
csv_line_owners(json_t *records)
{
	json_t *owners = json_object(), *rec, *e;
	char key[32];
	size_t i, j;

	json_array_foreach(records, i, rec)
	{
		snprintf(key, sizeof key, "%lld",
		    (long long)json_integer_value(
		        json_object_get(rec, "_line")));
		json_object_set_new(owners, key, json_integer((json_int_t)i));
		json_array_foreach(json_object_get(rec, "entries"), j, e)
		{
			snprintf(key, sizeof key, "%lld",
			    (long long)json_integer_value(
			        json_object_get(e, "_line")));
			json_object_set_new(
			    owners, key, json_integer((json_int_t)i));
		}
	}
	return owners;
}

/* Indices of the records that have no error so far. */
static json_t *
clean_records(struct feed_job *job)
{
	json_t *owners = job->errs.csv ? csv_line_owners(job->records) : NULL;
	json_t *bad = json_object(), *e, *owner, *clean = json_array();
	char key[32];
	size_t i;

	json_array_foreach(job->errs.list, i, e)
	{
		if (owners == NULL)
			owner = json_object_get(e, "index");
		else {
			snprintf(key, sizeof key, "%lld",
			    (long long)json_integer_value(
			        json_object_get(e, "line")));
			owner = json_object_get(owners, key);
		}
		if (owner == NULL)
			continue; /* a header or malformed row: no record */
		snprintf(key, sizeof key, "%lld",
		    (long long)json_integer_value(owner));
		json_object_set_new(bad, key, json_true());
	}
	for (i = 0; i < json_array_size(job->records); i++) {
		snprintf(key, sizeof key, "%zu", i);
		if (json_object_get(bad, key) == NULL)
			json_array_append_new(
			    clean, json_integer((json_int_t)i));
	}
	json_decref(bad);
	json_decref(owners);
	return clean;
}

/*
 * Some records failed effortd's own checks.  So that the 422 lists every
 * bad record, the others are sent for the database's checks too (nothing
 * is stored), and the answer comes from stored().
 */
static void
check_rest(struct feed_job *job)
{
	json_t *batch = json_array(), *i;
	size_t k;

	job->checked = clean_records(job);
	if (json_array_size(job->checked) == 0 || job->errs.count >= 1000) {
		json_decref(batch);
		finish_invalid(job);
		return;
	}
	json_array_foreach(job->checked, k, i)
	{
		json_array_append(batch, json_array_get(job->records,
		                             (size_t)json_integer_value(i)));
	}
	store(job, batch, true);
	json_decref(batch);
}

void
feed_ingest(const struct feed_source *src, feed_done_cb done, void *arg)
{
	struct feed_job *job = xcalloc(1, sizeof *job);
	char msg[128];

	job->src = *src;
	job->feed = src->feed;
	job->done = done;
	job->arg = arg;
	job->token_id = src->token_id ? xstrdup(src->token_id) : NULL;
	job->extra = xcalloc((size_t)src->nextra + 1, sizeof *job->extra);
	for (int i = 0; i < src->nextra; i++)
		job->extra[i] = xstrdup(src->extra[i]);
	feed_errors_init(&job->errs, src->csv);
	if (!parse_body(job))
		return;
	if (json_array_size(job->records) > (size_t)effortd.cfg.max_records) {
		snprintf(msg, sizeof msg,
		    "%zu records in one batch; the limit is %d",
		    json_array_size(job->records), effortd.cfg.max_records);
		finish(job, 413, msg, NULL, NULL, NULL);
		return;
	}
	feed_validate(job->feed, job->records, &job->errs);
	if (job->errs.count > 0)
		check_rest(job);
	else
		store(job, job->records, false);
}

const struct feed_spec *
feed_by_name(const char *name)
{
	static const struct feed_spec *const all[] = { &feed_people,
		&feed_grants, &feed_assignments, &feed_charges,
		&feed_delegations, &feed_timesheets, NULL };

	for (int i = 0; all[i] != NULL; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

static void
http_done(const struct feed_outcome *o, void *arg)
{
	struct request *r = arg;
	json_t *d = o->doc;

	if (o->status == 200)
		/* API.md's order: accepted, created, updated, unchanged. */
		audit_then_reply(
		    r, json_pack("{s:O, s:O, s:O, s:O, s:O}", "accepted",
		           json_object_get(d, "accepted"), "created",
		           json_object_get(d, "created"), "updated",
		           json_object_get(d, "updated"), "unchanged",
		           json_object_get(d, "unchanged"), "people",
		           json_object_get(d, "people")));
	else if (o->db != NULL)
		reply_db_failure(r, o->db);
	else
		reply_error(r, o->status, o->message, json_incref(o->errors));
}

void
handle_feed(struct request *r)
{
	const struct feed_spec *feed = r->route->data;
	struct feed_source src = { .feed = feed,
		.body = evhttp_request_get_input_buffer(r->req),
		.token_id = r->token_id,
		.stmt = feed->stmt };

	if (feed_content_type(r, &src.csv)) /* else answered 415 */
		feed_ingest(&src, http_done, r);
}
