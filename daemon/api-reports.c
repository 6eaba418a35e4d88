/*
 * GET /v1/reports/...: the funding-assurance reports (docs/reports.md).
 * Each handler checks its query, runs one report function of
 * sql/functions/70_reports.sql and answers its jsonb document as JSON,
 * or rendered as CSV (api-report-csv.c, an attachment) or HTML
 * (api-report-html.c).
 *
 * The grant reference in /v1/reports/grants/{ref} holds slashes, so
 * clients send it URL-encoded (EP%2FX012345%2F1); route_match captures the
 * segment as it came, and it is decoded here.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "date.h"
#include "effortd.h"
#include "api-handlers.h"
#include "log.h"
#include "effortd-replica.h"
#include "feed-specs.h"
#include "api-reports.h"
#include "request.h"
#include "xmalloc.h"

struct report_job {
	struct request *r;
	enum report_kind kind;
	enum report_format format;
	char *filename; /* for Content-Disposition */
};

/* A file name from parts: anything but [A-Za-z0-9._-] becomes '-'. */
static char *
safe_filename(const char *base, const char *arg, const char *ext)
{
	char *s;

	xasprintf(&s, "%s%s%s.%s", base, arg ? "-" : "", arg ? arg : "", ext);
	for (char *p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			*p = '-';
	}
	return s;
}

static void
job_free(struct report_job *j)
{
	free(j->filename);
	free(j);
}

/* Renders a report document in the job's format and answers it. */
static void
reply_report(struct report_job *j, json_t *doc)
{
	struct request *r = j->r;
	size_t len;
	char *body, *disp;

	if (j->format == REPORT_CSV) {
		body = report_csv(j->kind, doc, &len);
		xasprintf(&disp, "attachment; filename=\"%s\"", j->filename);
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Content-Disposition", disp);
		free(disp);
		reply_text(r, 200, "text/csv; charset=utf-8", body, len);
	} else {
		body = report_html(j->kind, doc, &len);
		reply_text(r, 200, "text/html; charset=utf-8", body, len);
	}
	free(body);
}

static void
report_done(const struct db_result *res, void *arg)
{
	struct report_job *j = arg;
	json_t *doc;

	if (j->format == REPORT_JSON)
		reply_db_json(j->r, res);
	else if (db_answer_document(j->r, res, SQL_PARSE_ALL, &doc)) {
		reply_report(j, doc);
		json_decref(doc);
	}
	job_free(j);
}

/*
 * Checks format and as_of (common to every report); on success returns a
 * job, else answers 400 and returns NULL.
 */
static struct report_job *
job_new(struct request *r, enum report_kind kind, const char **as_of)
{
	const char *f = request_query(r, "format");
	struct report_job *j;
	enum report_format fmt = REPORT_JSON;

	*as_of = request_query(r, "as_of");
	if (f != NULL && report_format_parse(f, &fmt) != 0) {
		reply_param_error(
		    r, "format", "format must be json, csv or html");
		return NULL;
	}
	if (!request_date_ok(r, "as_of"))
		return NULL;
	j = xcalloc(1, sizeof *j);
	j->r = r;
	j->kind = kind;
	j->format = fmt;
	return j;
}

/* The grant reference of the path (decoded), or NULL (answered 404; not
 * named when longer than any grant reference is). */
static char *
path_grant(struct request *r)
{
	if (r->arg == NULL || *r->arg == '\0' || strlen(r->arg) > FEED_ID_MAX) {
		reply_error(r, 404, "no such grant", NULL);
		return NULL;
	}
	return xstrdup(r->arg);
}

static void
grant_report(struct request *r, enum report_kind kind)
{
	const char *as_of;
	struct report_job *j;
	char *ref;

	if ((j = job_new(r, kind, &as_of)) == NULL)
		return;
	if ((ref = path_grant(r)) == NULL) {
		job_free(j);
		return;
	}
	j->filename = safe_filename(
	    kind == REPORT_GRANT ? "grant" : "evidence", ref, "csv");
	const char *params[3] = { ref, as_of, effortd.rules_json };
	replica_query(effortd_read_pool(),
	    kind == REPORT_GRANT ? STMT_REPORT_GRANT : STMT_REPORT_EVIDENCE, 3,
	    params, report_done, j);
	free(ref);
}

void
handle_report_grant(struct request *r)
{
	grant_report(r, REPORT_GRANT);
}

void
handle_report_evidence(struct request *r)
{
	grant_report(r, REPORT_EVIDENCE);
}

void
handle_report_investigators(struct request *r)
{
	const char *year = request_query(r, "year"), *as_of;
	struct report_job *j;

	if (year == NULL || strlen(year) != 4 ||
	    strspn(year, "0123456789") != 4 || year[0] == '0') {
		reply_param_error(r, "year", "year must be a year YYYY");
		return;
	}
	/* As dates (request_date_ok): a year before 1900 is not taken. */
	if (strcmp(year, "1900") < 0) {
		reply_param_error(
		    r, "year", "year must be a year YYYY from 1900 to 9999");
		return;
	}
	/* A cap year from August 9999 would end in 10000, no YYYY-MM-DD. */
	if (strcmp(year, "9999") == 0 &&
	    effortd.cfg.rules.cap_year_start_month > 1) {
		reply_param_error(r, "year",
		    "year must be a year YYYY whose cap year ends by "
		    "9999-12-31");
		return;
	}
	if ((j = job_new(r, REPORT_INVESTIGATORS, &as_of)) == NULL)
		return;
	j->filename = safe_filename("investigators", year, "csv");
	const char *params[3] = { year, as_of, effortd.rules_json };
	replica_query(effortd_read_pool(), STMT_REPORT_INVESTIGATORS, 3, params,
	    report_done, j);
}

void
handle_report_compliance(struct request *r)
{
	const char *from = request_query(r, "from"), *as_of;
	const char *to = request_query(r, "to");
	struct report_job *j;
	struct date df, dt;
	char *span;

	if (from == NULL || to == NULL) {
		reply_param_error(r, from == NULL ? "from" : "to",
		    "from and to must be dates YYYY-MM-DD");
		return;
	}
	if (!request_date_ok(r, "from") || !request_date_ok(r, "to"))
		return;
	date_parse(from, &df);
	date_parse(to, &dt);
	if (date_cmp(df, dt) > 0) {
		reply_param_error(r, "from", "from must not be after to");
		return;
	}
	if ((j = job_new(r, REPORT_COMPLIANCE, &as_of)) == NULL)
		return;
	xasprintf(&span, "%s-%s", from, to);
	j->filename = safe_filename("compliance", span, "csv");
	free(span);
	const char *params[4] = { from, to, as_of, effortd.rules_json };
	replica_query(effortd_read_pool(), STMT_REPORT_COMPLIANCE, 4, params,
	    report_done, j);
}
