/*
 * The feed ingest pipeline.  It knows nothing of HTTP: POST /v1/<feed>
 * (handle_feed, api-feed.c) and the spool folder (ingest-spool.c) both
 * drive it.
 *
 * A feed is worked through in slices, one per turn of the event loop (at
 * most SLICE_RECORDS records, SLICE_BYTES of body or SLICE_NS of time, so
 * that several feeds at once still leave the loop free every few
 * milliseconds), so that other requests are served while a large batch is
 * read: each record is decoded
 * (ingest-json-stream.c or ingest-csv.c), checked (feed-validate.c) and, when
 * clean, written as one COPY line to a staging table in the feed's transaction
 * on a pooled connection held for the feed (a db session).  The body is
 * drained as it is consumed.  At the end one statement calls the feed's
 * ingest function on the staged records (sql/functions/22_ingest_stage.sql)
 * and the transaction commits, so that a batch is stored whole or not at
 * all, as when it was sent as one parameter.
 *
 * Once a record is bad nothing of the batch will be stored, but the rest
 * are still read and checked and the clean ones staged, so that the 422
 * lists every bad record: at the end the ingest function checks the staged
 * records only (p_check_only) and its errors are added to effortd's own.
 * Past ERROR_CAP errors (the list's own cap) the database is left out.
 * handle_feed re-evaluates the audit for the people the batch touched
 * before answering, so that a client that posts and then reads sees it.
 * A preview (?preview=true) runs the same pipeline, but where a feed
 * commits it asks ingest_preview for the findings the batch would open
 * and resolve (sql/functions/23_ingest_preview.sql) and rolls back.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "effortd.h"
#include "ingest-csv.h"
#include "ingest-feed.h"
#include "ingest-json-depth.h"
#include "ingest-json-stream.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define SLICE_RECORDS 1000
#define SLICE_BYTES   (1 << 20)
#define SLICE_NS      (2 * 1000 * 1000) /* and at most 2 ms */
#define TRIM_AFTER    (1 << 20)         /* bytes read by a feed */
#define CSV_PIECE     (64 * 1024)       /* bytes handed to libcsv at a time */
#define ROWS_MAX      (1 << 20) /* COPY lines waiting for a connection */
#define ERROR_CAP     1000      /* feed-validate.c lists at most this */

/* The COPY lasts as long as the body takes to read, which is not a
 * statement's time: db.statement_timeout is lifted for it and set again
 * for the merge (TIMEOUT_SQL). */
#define STAGE_SQL                                                              \
	"BEGIN; SET LOCAL statement_timeout = 0; SELECT feed_stage_open(); "   \
	"COPY feed_stage (idx, rec) FROM STDIN"
#define TIMEOUT_SQL "SET LOCAL statement_timeout = '%ds'"
/* A preview: $1 the merge's answer, $2 the rules settings. */
#define PREVIEW_SQL "SELECT ingest_preview($1::jsonb, $2::jsonb)"

enum feed_state {
	FEED_READING, /* slices: decode, check, stage (a tick or a wait) */
	FEED_SENDING, /* the body is read: the last lines, then COPY's end */
	FEED_STORING, /* the merge statement and COMMIT (a preview: its
	                 diff and ROLLBACK) in flight */
};

enum stage_state {
	STAGE_OPENING, /* waiting for a connection, BEGIN, COPY */
	STAGE_COPY,    /* COPY takes lines */
	STAGE_GONE,    /* no session: failed (db_failed) or not needed */
};

struct feed_job {
	struct feed_source src; /* src.body: body, below */
	/* The body, moved out of the source's buffer into the job's own: a
	 * request cancelled while its feed is read frees its libevent request
	 * and that buffer with it, while the job runs on to its next step. */
	struct evbuffer *body;
	char *token_id;
	const struct feed_spec *feed;
	enum feed_state state;
	struct event *tick; /* the next slice */
	bool body_end;      /* src.body holds all that is left */
	bool starting;      /* inside feed_ingest */
	struct json_stream js;
	struct csv_reader *csv;
	long records; /* decoded so far */
	size_t read;  /* bytes of body consumed */
	long staged;  /* clean ones written to the staging table */
	long *lines;  /* CSV (not timesheets): the line of each record */
	size_t lines_cap;
	struct feed_errors errs;
	/* Staging */
	enum stage_state stage;
	struct db_session *session;
	struct evbuffer *rows; /* COPY lines not yet handed to libpq */
	bool flushing;         /* waiting for libpq to send what it holds */
	bool db_failed;
	struct db_result failure; /* db_failed: sqlstate, message owned */
	json_t *doc;              /* the merge's answer, until COMMIT */
	char *preview_text;       /* a preview: ingest_preview's answer */
	feed_done_cb done;
	void *arg;
};

static void feed_step(struct feed_job *);

/*
 * After large feeds glibc keeps the freed body and record memory in its
 * heap (measured: an idle daemon stayed at its burst peak); a second after
 * the last large feed ends it is given back (malloc_trim).
 */
static struct event *trim_timer;

static void
trim_now(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	malloc_trim(0);
}

static void
trim_later(void)
{
	static const struct timeval second = { 1, 0 };

	if (trim_timer == NULL)
		trim_timer = evtimer_new(effortd.base, trim_now, NULL);
	evtimer_add(trim_timer, &second);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
feed_job_free(struct feed_job *job)
{
	if (job->read >= TRIM_AFTER)
		trim_later();
	if (job->session != NULL)
		db_session_end(job->session);
	if (job->tick != NULL)
		event_free(job->tick);
	csv_reader_free(job->csv);
	evbuffer_free(job->rows);
	evbuffer_free(job->body);
	free(job->lines);
	free(job->token_id);
	free((char *)job->failure.sqlstate);
	free((char *)job->failure.message);
	json_decref(job->doc);
	free(job->preview_text);
	json_decref(job->errs.list);
	free(job);
}

/* Reports the outcome to the caller and frees the job (the session ends
 * first: its transaction rolls back unless it committed). */
static void
finish(struct feed_job *job, int status, const char *message, json_t *errors,
    json_t *doc, const struct db_result *db)
{
	struct feed_outcome o = { status, message, errors, doc, db };

	if (job->session != NULL) {
		db_session_end(job->session);
		job->session = NULL;
	}
	job->done(&o, job->arg);
	json_decref(errors);
	feed_job_free(job);
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

static void
finish_db_failure(struct feed_job *job, const struct db_result *res)
{
	bool down = res->status == DB_UNAVAILABLE;

	finish(job, down ? 503 : 500,
	    down ? "database unavailable" : "internal error", NULL, NULL, res);
}

/* Staging -------------------------------------------------------------- */

/* The staging session failed: the batch cannot be stored (a 503 or 500
 * once the body is read, unless the body itself is refused first). */
static void
stage_failed(struct feed_job *job, const struct db_result *res)
{
	if (!job->db_failed) {
		job->db_failed = true;
		job->failure.status = res->status;
		job->failure.sqlstate =
		    res->sqlstate ? xstrdup(res->sqlstate) : NULL;
		job->failure.message =
		    res->message ? xstrdup(res->message) : NULL;
	}
	job->stage = STAGE_GONE;
	if (job->session != NULL) {
		db_session_end(job->session);
		job->session = NULL;
	}
	evbuffer_drain(job->rows, evbuffer_get_length(job->rows));
}

/* The database will not be asked: gives the connection back. */
static void
stage_drop(struct feed_job *job)
{
	if (job->session != NULL)
		db_session_end(job->session);
	job->session = NULL;
	job->stage = STAGE_GONE;
	evbuffer_drain(job->rows, evbuffer_get_length(job->rows));
}

static void
copy_ready(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;

	(void)s;
	if (res->status != DB_OK || PQresultStatus(res->res) != PGRES_COPY_IN)
		stage_failed(job, res);
	else
		job->stage = STAGE_COPY;
	feed_step(job);
}

static void
session_opened(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;

	job->session = s;
	if (res->status != DB_OK) {
		stage_failed(job, res);
		if (!job->starting) /* else feed_ingest goes on */
			feed_step(job);
		return;
	}
	db_session_exec(s, STAGE_SQL, 0, NULL, copy_ready);
}

static void
rows_sent(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;

	(void)s;
	job->flushing = false;
	if (res->status != DB_OK)
		stage_failed(job, res);
	feed_step(job);
}

/*
 * Hands the COPY lines to libpq and has them sent.  True when the job may
 * go on: everything is out (all) or the backlog is small enough; false
 * when it waits for the database (rows_sent or copy_ready resumes it).
 */
static bool
rows_out(struct feed_job *job, bool all)
{
	struct evbuffer_iovec v;
	int rc;

	if (job->stage == STAGE_GONE)
		return true;
	if (job->stage == STAGE_OPENING)
		return !all && evbuffer_get_length(job->rows) < ROWS_MAX;
	if (job->flushing)
		return false;
	while (evbuffer_peek(job->rows, -1, NULL, &v, 1) > 0 && v.iov_len) {
		if (!db_session_copy_put(job->session, v.iov_base, v.iov_len)) {
			static const struct db_result lost = {
				.status = DB_UNAVAILABLE,
				.message = "database connection lost"
			};
			stage_failed(job, &lost);
			return true;
		}
		evbuffer_drain(job->rows, v.iov_len);
	}
	rc = db_session_flush(job->session, rows_sent);
	if (rc == 1) {
		job->flushing = true;
		return false;
	}
	if (rc < 0) {
		static const struct db_result lost = { .status = DB_UNAVAILABLE,
			.message = "database connection lost" };
		stage_failed(job, &lost);
	}
	return true;
}

/* Adds one COPY line: the index, a tab, the record as compact JSON (text
 * format: backslashes doubled; jansson escapes every control character). */
static void
stage_record(struct feed_job *job, long index, json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *p = s, *bs;

	evbuffer_add_printf(job->rows, "%ld\t", index);
	while ((bs = strchr(p, '\\')) != NULL) {
		evbuffer_add(job->rows, p, (size_t)(bs - p) + 1);
		evbuffer_add(job->rows, "\\", 1);
		p = bs + 1;
	}
	evbuffer_add(job->rows, p, strlen(p));
	evbuffer_add(job->rows, "\n", 1);
	free(s);
	job->staged++;
}

/* Records ---------------------------------------------------------------- */

/* Checks one record with feed_validate, which numbers a batch's records:
 * a batch of one, whose errors then get the record's own index (JSON) or
 * find its lines in it (CSV).  Returns whether it added errors. */
static bool
check_record(struct feed_job *job, json_t *rec, long index)
{
	json_t *one = json_array(), *saved = job->errs.records;
	size_t first = json_array_size(job->errs.list), i;
	int before = job->errs.count;

	json_array_append(one, rec);
	if (job->errs.csv)
		job->errs.records = one;
	else
		job->errs.inexact = &job->js.inexact;
	feed_validate(job->feed, one, &job->errs);
	job->errs.records = saved;
	job->errs.inexact = NULL;
	if (!job->errs.csv)
		for (i = first; i < json_array_size(job->errs.list); i++)
			json_object_set_new(json_array_get(job->errs.list, i),
			    "index", json_integer(index));
	json_decref(one);
	return job->errs.count != before;
}

/* CSV: remembers the line of record index, for the database's errors. */
static void
note_line(struct feed_job *job, long index, json_t *rec)
{
	if (job->feed->has_entries)
		return; /* the reader keeps timesheets whole */
	if ((size_t)index >= job->lines_cap) {
		job->lines_cap = job->lines_cap ? job->lines_cap * 2 : 1024;
		job->lines = xreallocarray(
		    job->lines, job->lines_cap, sizeof *job->lines);
	}
	job->lines[index] =
	    (long)json_integer_value(json_object_get(rec, "_line"));
}

/* One decoded record (stolen): counted, checked, staged when clean. */
static void
take_record(struct feed_job *job, json_t *rec, bool bad)
{
	long index = job->records++;

	if (job->records <= effortd.cfg.max_records) {
		if (job->errs.csv)
			note_line(job, index, rec);
		if (check_record(job, rec, index))
			bad = true;
		if (!bad && job->stage != STAGE_GONE)
			stage_record(job, index, rec);
		if (job->errs.count >= ERROR_CAP)
			stage_drop(job); /* the database would not be asked */
	}
	json_decref(rec);
}

/* Reading ---------------------------------------------------------------- */

/* Spool: more of the body from disk.  False after finishing the job. */
static bool
read_more(struct feed_job *job)
{
	char err[256];
	int rc;

	if (job->body_end)
		return true;
	rc = job->src.read_more(job->arg, job->src.body, err, sizeof err);
	if (rc < 0) {
		finish(job, 413, err, NULL, NULL, NULL);
		return false;
	}
	job->body_end = rc == 0;
	return true;
}

/* JSON: the next record is over JSON_RECORD_MAX bytes or
 * JSON_RECORD_VALUES_MAX values (status): the batch is refused there,
 * naming it (next_json's -2). */
static int
too_large(struct feed_job *job, enum json_stream_status status)
{
	char error[64], msg[128];

	if (status == JSS_TOO_MANY) {
		snprintf(error, sizeof error, "a record of more than %d values",
		    JSON_RECORD_VALUES_MAX);
		snprintf(msg, sizeof msg,
		    "holds more than %d JSON values, the most a record may "
		    "(a timesheet of %d entries holds about %d)",
		    JSON_RECORD_VALUES_MAX, TIMESHEET_ENTRIES_MAX,
		    4 * TIMESHEET_ENTRIES_MAX);
	} else {
		snprintf(error, sizeof error, "a record larger than %d MiB",
		    JSON_RECORD_MAX >> 20);
		snprintf(msg, sizeof msg,
		    "is larger than %d bytes (%d MiB), the most a record may "
		    "take",
		    JSON_RECORD_MAX, JSON_RECORD_MAX >> 20);
	}
	finish(job, 413, error,
	    json_pack("[{s:I, s:s, s:s}]", "index", (json_int_t)job->records,
	        "field", "", "message", msg),
	    NULL, NULL);
	return -2;
}

/* JSON: the next record.  1 taken, 0 wants more of the body, -1 the end
 * of the body (or the job finished). */
static int
next_json(struct feed_job *job)
{
	json_t *rec;
	enum json_stream_status status =
	    json_stream_next(&job->js, job->src.body, job->body_end, &rec);

	switch (status) {
	case JSS_RECORD:
		take_record(job, rec, false);
		return 1;
	case JSS_NEED_MORE:
		return 0;
	case JSS_END:
		return -1;
	case JSS_ERROR:
		finish(job, 400, job->js.error, NULL, NULL, NULL);
		return -2;
	case JSS_NOT_ARRAY:
		finish(job, 422, "expected a JSON array of records", NULL, NULL,
		    NULL);
		return -2;
	case JSS_TOO_LARGE:
	case JSS_TOO_MANY:
		return too_large(job, status);
	}
	return -2;
}

/* CSV: the same, a piece of the body at a time. */
static int
next_csv(struct feed_job *job)
{
	json_t *rec;
	bool bad = false;
	char err[256];

	if ((rec = csv_reader_next(job->csv, &bad)) != NULL) {
		take_record(job, rec, bad);
		return 1;
	}
	if (evbuffer_get_length(job->src.body) > 0) {
		size_t before = evbuffer_get_length(job->src.body);
		if (csv_reader_feed(job->csv, job->src.body, CSV_PIECE,
		        job->body_end, err, sizeof err) != 0) {
			finish(job, 400, err, NULL, NULL, NULL);
			return -2;
		}
		if (csv_reader_over(job->csv)) { /* timesheets, kept whole */
			snprintf(err, sizeof err,
			    "more than %d records in one batch; the limit is %d",
			    effortd.cfg.max_records, effortd.cfg.max_records);
			finish(job, 413, err, NULL, NULL, NULL);
			return -2;
		}
		if (evbuffer_get_length(job->src.body) < before)
			return 1;
	}
	if (!job->body_end)
		return 0;
	if (csv_reader_finish(job->csv, err, sizeof err) != 0) {
		finish(job, 400, err, NULL, NULL, NULL);
		return -2;
	}
	if ((rec = csv_reader_next(job->csv, &bad)) != NULL) {
		take_record(job, rec, bad);
		return 1;
	}
	return -1;
}

/* The body is read: what the batch comes to. */
static void
read_done(struct feed_job *job)
{
	char msg[128];

	if (job->records > effortd.cfg.max_records) {
		snprintf(msg, sizeof msg,
		    "%ld records in one batch; the limit is %d", job->records,
		    effortd.cfg.max_records);
		finish(job, 413, msg, NULL, NULL, NULL);
		return;
	}
	if (job->feed->has_entries && job->csv != NULL)
		job->errs.records = csv_reader_records(job->csv);
	if (job->errs.count >= ERROR_CAP ||
	    (job->errs.count > 0 && job->staged == 0)) {
		finish_invalid(job);
		return;
	}
	if (job->db_failed) {
		finish_db_failure(job, &job->failure);
		return;
	}
	job->state = FEED_SENDING;
	feed_step(job);
}

/* One slice.  False once the job is finished (or has moved on). */
static bool
read_slice(struct feed_job *job)
{
	size_t left = evbuffer_get_length(job->src.body), used = 0;
	uint64_t until = now_ns() + SLICE_NS;
	int n = 0, rc;

	while (n < SLICE_RECORDS && used < SLICE_BYTES && now_ns() < until) {
		if (job->csv)
			rc = next_csv(job);
		else
			rc = next_json(job);
		if (rc == -2)
			return false;
		if (rc == -1) {
			read_done(job);
			return false;
		}
		if (rc == 0) {
			size_t had = evbuffer_get_length(job->src.body);
			if (!read_more(job))
				return false;
			left += evbuffer_get_length(job->src.body) - had;
		} else
			n++;
		used = left - evbuffer_get_length(job->src.body);
	}
	job->read += used;
	return true;
}

/* Between slices: whether the client is still there. */
static bool
client_left(struct feed_job *job)
{
	if (job->src.gone == NULL || !job->src.gone(job->arg))
		return false;
	finish(job, 400, "the client closed the connection; nothing was stored",
	    NULL, NULL, NULL);
	return true;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	feed_step(arg);
}

/* Storing ---------------------------------------------------------------- */

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
		const char *field =
		    json_string_value(json_object_get(e, "field")) ?: "";
		const char *message =
		    json_string_value(json_object_get(e, "message"))
		        ?: "invalid";
		if (job->lines != NULL && index >= 0 && index < job->records)
			feed_error_line(&job->errs, job->lines[index], field,
			    "%s", message);
		else
			feed_error(
			    &job->errs, (int)index, field, "%s", message);
	}
}

static void
committed(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	json_t *doc = job->doc;

	(void)s;
	if (res->status != DB_OK) {
		finish_db_failure(job, res);
		return;
	}
	job->doc = NULL;
	metrics_records(job->feed->name,
	    (long)json_integer_value(json_object_get(doc, "accepted")));
	finish(job, 200, NULL, NULL, doc, NULL);
	json_decref(doc);
}

/* The one value a step's statement answers, or NULL once the feed has
 * been finished with the failure. */
static const char *
step_value(struct feed_job *job, const struct db_result *res)
{
	if (res->status != DB_OK || PQntuples(res->res) != 1) {
		finish_db_failure(job, res);
		return NULL;
	}
	return PQgetvalue(res->res, 0, 0);
}

/* A preview: the transaction is rolled back (its locks are free); now
 * ingest_preview's answer (job->preview_text) is read. */
static void
rolled_back(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	json_t *doc;

	(void)s;
	if (res->status != DB_OK) {
		finish_db_failure(job, res);
		return;
	}
	doc = json_loads(job->preview_text, 0, NULL);
	if (doc == NULL) {
		log_error("%s preview: ingest_preview answered no JSON object",
		    job->feed->name);
		finish(job, 500, "internal error", NULL, NULL, NULL);
		return;
	}
	finish(job, 200, NULL, NULL, doc, NULL);
	json_decref(doc);
}

/* The diff is in: its text is kept and the transaction rolled back at
 * once, before anything else is done with it. */
static void
previewed(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	const char *diff = step_value(job, res);

	if (diff == NULL)
		return;
	job->preview_text = xstrdup(diff);
	db_session_exec(s, "ROLLBACK", 0, NULL, rolled_back);
}

/* A preview, where a feed commits: the findings diff of the merged batch
 * (its answer, warnings included, is ingest_preview's $1). */
static void
preview_diff(struct db_session *s, struct feed_job *job)
{
	char *merged_doc = json_dumps(job->doc, JSON_COMPACT);
	const char *params[2] = { merged_doc, effortd.rules_json };

	db_session_exec(s, PREVIEW_SQL, 2, params, previewed);
	free(merged_doc);
}

/* The batch's warnings (sql/functions/24_ingest_warnings.sql) join the
 * answer, when there are any; then the batch commits (a preview: its
 * diff and ROLLBACK). */
static void
warned(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	const char *warnings = step_value(job, res);
	json_t *list;

	if (warnings == NULL)
		return;
	list = json_loads(warnings, 0, NULL);
	if (json_array_size(list) > 0)
		json_object_set(job->doc, "warnings", list);
	json_decref(list);
	if (job->src.preview) {
		preview_diff(s, job);
		return;
	}
	db_session_exec(s, "COMMIT", 0, NULL, committed);
}

static void
merged(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	const char *answer = step_value(job, res);
	json_t *out;

	if (answer == NULL)
		return;
	out = json_loads(answer, 0, NULL);
	if (json_object_get(out, "errors") != NULL || job->errs.count > 0) {
		add_db_errors(job, json_object_get(out, "errors"));
		json_decref(out);
		finish_invalid(job);
		return;
	}
	job->doc = out;
	db_session_exec(
	    s, "SELECT ingest_warnings($1)", 1, &job->feed->name, warned);
}

static void
timeout_set(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	int n = 3 + job->src.nextra;
	const char **params;

	if (res->status != DB_OK) {
		finish_db_failure(job, res);
		return;
	}
	/* The feed's own statement, its batch ($1) NULL: the staged records. */
	params = xcalloc((size_t)n, sizeof *params);
	params[1] = job->token_id;
	params[2] = job->errs.count > 0 ? "true" : "false";
	for (int i = 0; i < job->src.nextra; i++)
		params[3 + i] = job->src.extra[i];
	db_session_exec(s, statements[job->src.stmt].sql, n, params, merged);
	free(params);
}

static void
copy_ended(struct db_session *s, const struct db_result *res, void *arg)
{
	struct feed_job *job = arg;
	char sql[64];

	if (res->status != DB_OK) {
		finish_db_failure(job, res);
		return;
	}
	snprintf(
	    sql, sizeof sql, TIMEOUT_SQL, effortd.cfg.db_statement_timeout);
	db_session_exec(s, sql, 0, NULL, timeout_set);
}

/* The one transition function: advances the job from its state. */
static void
feed_step(struct feed_job *job)
{
	static const struct timeval now = { 0, 0 };

	switch (job->state) {
	case FEED_READING:
		if (evtimer_pending(job->tick, NULL) || !rows_out(job, false))
			return; /* the tick, or the database, resumes it */
		if (client_left(job) || !read_slice(job))
			return;
		evtimer_add(job->tick, &now); /* after the loop's I/O */
		break;
	case FEED_SENDING:
		if (client_left(job) || !rows_out(job, true))
			return;
		if (job->stage == STAGE_GONE) {
			finish_db_failure(job, &job->failure);
			return;
		}
		job->state = FEED_STORING;
		db_session_copy_end(job->session, copy_ended);
		break;
	case FEED_STORING:
		break;
	}
}

void
feed_ingest(const struct feed_source *src, feed_done_cb done, void *arg)
{
	struct feed_job *job = xcalloc(1, sizeof *job);
	struct db_session *s;

	job->src = *src;
	job->body = evbuffer_new();
	/* The chains, not a copy; a frozen buffer (never here) stays used. */
	if (evbuffer_add_buffer(job->body, src->body) == 0)
		job->src.body = job->body;
	job->feed = src->feed;
	job->done = done;
	job->arg = arg;
	job->token_id = src->token_id ? xstrdup(src->token_id) : NULL;
	job->body_end = src->read_more == NULL;
	job->rows = evbuffer_new();
	job->tick = evtimer_new(effortd.base, on_tick, job);
	feed_errors_init(&job->errs, src->csv);
	if (src->csv) {
		job->csv = csv_reader_new(job->feed, &job->errs);
		csv_reader_limit(job->csv, (size_t)effortd.cfg.max_records);
		csv_reader_map(
		    job->csv, config_feed_map(&effortd.cfg, job->feed->name));
	} else
		json_stream_init(&job->js, effortd.cfg.max_json_depth);
	job->stage = STAGE_OPENING;
	job->starting = true;
	s = db_session_open(effortd.db, session_opened, job);
	job->starting = false;
	if (job->session == NULL && job->stage == STAGE_OPENING)
		job->session = s; /* queued */
	feed_step(job);
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
