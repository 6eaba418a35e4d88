/*
 * The reports as CSV (RFC 4180): a UTF-8 byte-order mark (so that
 * spreadsheet programs read names such as "Chloé" right), a header row,
 * CRLF line ends, fields quoted when they hold a comma, quote, CR or LF.
 * One table per report: row_type tells rows and totals apart where a report
 * has both.  Also the cell formatting the HTML pages share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "log.h"
#include "api-reports.h"
#include "rules.h"
#include "xmalloc.h"

int
report_format_parse(const char *s, enum report_format *out)
{
	static const char *const names[] = { "json", "csv", "html" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum report_format)i;
			return 0;
		}
	}
	return -1;
}

FILE *
report_stream(char **buf, size_t *len)
{
	FILE *fp = open_memstream(buf, len);

	if (fp == NULL)
		fatal("open_memstream failed");
	return fp;
}

char *
report_cell(json_t *obj, const struct rcol *col)
{
	json_t *v = json_object_get(obj, col->key);
	char *s;

	if (v == NULL || json_is_null(v))
		return xstrdup("");
	switch (col->type) {
	case RC_HOURS:
		if (json_is_number(v))
			return hours_text(json_number_value(v));
		break;
	case RC_INT:
		if (json_is_number(v)) {
			xasprintf(&s, "%.0f", json_number_value(v));
			return s;
		}
		break;
	case RC_BOOL:
		if (json_is_boolean(v))
			return xstrdup(json_is_true(v) ? "yes" : "no");
		break;
	case RC_TEXT:
		break;
	}
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (v == NULL) /* a key the document lacks: an empty cell */
		return xstrdup("");
	/* 15 digits, as the JSON body: 0.8, not 0.80000000000000004. */
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	                           JSON_REAL_PRECISION(15))) == NULL) {
		log_error("report: a cell cannot be encoded; left empty");
		return xstrdup("");
	}
	return s;
}

static void
csv_header(FILE *fp, const struct rcol *cols, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', fp);
		csv_put_field(fp, cols[i].key);
	}
	fputs("\r\n", fp);
}

/* The fields of one row, without the line end. */
static void
csv_fields(FILE *fp, json_t *obj, const struct rcol *cols, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *c = report_cell(obj, &cols[i]);

		if (i > 0)
			fputc(',', fp);
		csv_put_field(fp, c);
		free(c);
	}
}

static void
csv_row(FILE *fp, json_t *obj, const struct rcol *cols, size_t n)
{
	csv_fields(fp, obj, cols, n);
	fputs("\r\n", fp);
}

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct rcol grant_cols[] = {
	{ "row_type", "Row", RC_TEXT },
	{ "grant_ref", "Grant", RC_TEXT },
	{ "person_id", "Person", RC_TEXT },
	{ "name", "Name", RC_TEXT },
	{ "month", "Month", RC_TEXT },
	{ "charged", "Charged h", RC_HOURS },
	{ "recorded", "Recorded h", RC_HOURS },
	{ "evidenced", "Evidenced h", RC_HOURS },
	{ "unevidenced", "Unevidenced h", RC_HOURS },
	{ "status", "Timesheet", RC_TEXT },
	{ "evidence_ok", "Evidence", RC_BOOL },
	{ "submitted_at", "Submitted", RC_TEXT },
	{ "authorised_at", "Authorised", RC_TEXT },
	{ "deadline", "Deadline", RC_TEXT },
};

/* A copy of row with the given string members set. */
static json_t *
row_with(json_t *row, const char *type, const char *grant, json_t *person)
{
	json_t *r = row != NULL ? json_copy(row) : json_object();

	json_object_set_new(r, "row_type", json_string(type));
	json_object_set_new(r, "grant_ref", json_string(grant));
	if (person != NULL) {
		json_object_set(
		    r, "person_id", json_object_get(person, "person_id"));
		json_object_set(r, "name", json_object_get(person, "name"));
	}
	return r;
}

static void
csv_grant(FILE *fp, json_t *doc)
{
	const char *ref = json_string_value(
	    json_object_get(json_object_get(doc, "grant"), "grant_ref"));
	json_t *p, *m, *row;
	size_t i, j;

	csv_header(fp, grant_cols, NCOLS(grant_cols));
	json_array_foreach(json_object_get(doc, "people"), i, p)
	{
		json_array_foreach(json_object_get(p, "months"), j, m)
		{
			row = row_with(m, "month", ref, p);
			csv_row(fp, row, grant_cols, NCOLS(grant_cols));
			json_decref(row);
		}
		row = row_with(p, "person_total", ref, p);
		json_object_del(row, "months");
		csv_row(fp, row, grant_cols, NCOLS(grant_cols));
		json_decref(row);
	}
	row =
	    row_with(json_object_get(doc, "totals"), "grant_total", ref, NULL);
	csv_row(fp, row, grant_cols, NCOLS(grant_cols));
	json_decref(row);
}

static const struct rcol inv_cols[] = {
	{ "row_type", "Row", RC_TEXT },
	{ "person_id", "Person", RC_TEXT },
	{ "name", "Name", RC_TEXT },
	{ "cap_year_start", "Cap year start", RC_TEXT },
	{ "cap_year_end", "Cap year end", RC_TEXT },
	{ "grant_ref", "Grant", RC_TEXT },
	{ "source", "Source", RC_TEXT },
	{ "hours", "Hours", RC_HOURS },
	{ "fte", "FTE", RC_TEXT },
	{ "employed_days", "Employed days", RC_INT },
	{ "year_days", "Days in year", RC_INT },
	{ "cap", "Cap h", RC_HOURS },
	{ "grant_hours", "Grant h", RC_HOURS },
	{ "headroom", "Headroom h", RC_HOURS },
	{ "ended_months", "Ended months", RC_INT },
	{ "ended_months_hours", "Ended-months h", RC_HOURS },
	{ "projection", "Projection h", RC_HOURS },
	{ "finding", "Finding", RC_TEXT },
	{ "finding_hours", "Finding h", RC_HOURS },
};

static void
csv_investigators(FILE *fp, json_t *doc)
{
	json_t *ys = json_object_get(doc, "cap_year_start");
	json_t *ye = json_object_get(doc, "cap_year_end");
	json_t *inv, *g, *row;
	size_t i, j;

	csv_header(fp, inv_cols, NCOLS(inv_cols));
	json_array_foreach(json_object_get(doc, "investigators"), i, inv)
	{
		json_array_foreach(json_object_get(inv, "grants"), j, g)
		{
			row = json_copy(g);
			json_object_set_new(
			    row, "row_type", json_string("grant"));
			json_object_set(row, "person_id",
			    json_object_get(inv, "person_id"));
			json_object_set(
			    row, "name", json_object_get(inv, "name"));
			json_object_set(row, "cap_year_start", ys);
			json_object_set(row, "cap_year_end", ye);
			csv_row(fp, row, inv_cols, NCOLS(inv_cols));
			json_decref(row);
		}
		row = json_copy(inv);
		json_object_set_new(
		    row, "row_type", json_string("investigator"));
		json_object_set(row, "cap_year_start", ys);
		json_object_set(row, "cap_year_end", ye);
		csv_row(fp, row, inv_cols, NCOLS(inv_cols));
		json_decref(row);
	}
}

static const struct rcol comp_cols[] = {
	{ "scope", "Scope", RC_TEXT },
	{ "line_manager_id", "Line manager", RC_TEXT },
	{ "name", "Name", RC_TEXT },
	{ "required", "Required", RC_INT },
	{ "submitted", "Submitted", RC_INT },
	{ "authorised_on_time", "Authorised on time", RC_INT },
	{ "late", "Late", RC_INT },
	{ "invalid", "Invalid", RC_INT },
	{ "overdue", "Overdue", RC_INT },
	{ "awaiting", "Awaiting", RC_INT },
	{ "missing", "Missing", RC_INT },
};

/* Findings of one rule (all severities) in a scope's "findings". */
long long
report_rule_count(json_t *scope, const char *rule)
{
	json_t *f;
	size_t i;
	long long n = 0;

	json_array_foreach(json_object_get(scope, "findings"), i, f)
	{
		const char *r = json_string_value(json_object_get(f, "rule"));

		if (r != NULL && strcmp(r, rule) == 0)
			n += json_integer_value(json_object_get(f, "count"));
	}
	return n;
}

static void
csv_compliance_row(FILE *fp, json_t *scope, const char *type)
{
	json_t *row = json_copy(scope);

	json_object_set_new(row, "scope", json_string(type));
	csv_fields(fp, row, comp_cols, NCOLS(comp_cols));
	json_decref(row);
	for (size_t i = 0; audit_rules[i] != NULL; i++)
		fprintf(fp, ",%lld", report_rule_count(scope, audit_rules[i]));
	fputs("\r\n", fp);
}

static void
csv_compliance(FILE *fp, json_t *doc)
{
	json_t *m;
	size_t i;

	for (i = 0; i < NCOLS(comp_cols); i++)
		fprintf(fp, "%s%s", i > 0 ? "," : "", comp_cols[i].key);
	for (i = 0; audit_rules[i] != NULL; i++)
		fprintf(fp, ",%s", audit_rules[i]);
	fputs("\r\n", fp);
	csv_compliance_row(
	    fp, json_object_get(doc, "organisation"), "organisation");
	json_array_foreach(json_object_get(doc, "line_managers"), i, m)
	    csv_compliance_row(fp, m, "line_manager");
}

static const struct rcol ev_cols[] = {
	{ "grant_ref", "Grant", RC_TEXT },
	{ "person_id", "Person", RC_TEXT },
	{ "name", "Name", RC_TEXT },
	{ "id", "Timesheet id", RC_INT },
	{ "version", "Version", RC_INT },
	{ "latest", "Latest", RC_BOOL },
	{ "period_start", "Period start", RC_TEXT },
	{ "period_end", "Period end", RC_TEXT },
	{ "submitted_at", "Submitted", RC_TEXT },
	{ "received_at", "Received", RC_TEXT },
	{ "total_hours", "Total h", RC_HOURS },
	{ "amendment_reason", "Amendment reason", RC_TEXT },
	{ "status", "Status", RC_TEXT },
	{ "deadline", "Deadline", RC_TEXT },
	{ "decisions_text", "Decisions", RC_TEXT },
	{ "kind", "Kind", RC_TEXT },
	{ "activity", "Activity", RC_TEXT },
	{ "hours", "Hours", RC_HOURS },
};

/* "authorised by E0001 at T (feed); rejected by …: reason". */
char *
report_decisions_text(json_t *decisions)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = report_stream(&buf, &len);
	json_t *d;
	size_t i;

	json_array_foreach(decisions, i, d)
	{
		const char *reason =
		    json_string_value(json_object_get(d, "reason"));

		fprintf(fp, "%s%s by %s at %s (%s)%s%s", i > 0 ? "; " : "",
		    report_str(d, "decision"), report_str(d, "decided_by"),
		    report_str(d, "decided_at"), report_str(d, "source"),
		    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	}
	fclose(fp);
	return buf;
}

const char *
report_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : "";
}

static void
csv_evidence(FILE *fp, json_t *doc)
{
	json_t *g = json_object_get(json_object_get(doc, "grant"), "grant_ref");
	json_t *v, *e, *row;
	size_t i, j;

	csv_header(fp, ev_cols, NCOLS(ev_cols));
	json_array_foreach(json_object_get(doc, "versions"), i, v)
	{
		char *dec =
		    report_decisions_text(json_object_get(v, "decisions"));

		json_array_foreach(json_object_get(v, "entries"), j, e)
		{
			row = json_copy(v);
			json_object_update(row, e);
			json_object_set(row, "grant_ref", g);
			json_object_set_new(
			    row, "decisions_text", json_string(dec));
			csv_row(fp, row, ev_cols, NCOLS(ev_cols));
			json_decref(row);
		}
		free(dec);
	}
}

char *
report_render(const report_writer writers[], const char *prefix,
    enum report_kind kind, json_t *doc, size_t *len)
{
	char *buf = NULL;
	FILE *fp = report_stream(&buf, len);

	fputs(prefix, fp);
	writers[kind](fp, doc);
	if (fclose(fp) != 0)
		fatal("report_render: out of memory");
	return buf;
}

char *
report_csv(enum report_kind kind, json_t *doc, size_t *len)
{
	static const report_writer writers[] = {
		[REPORT_GRANT] = csv_grant,
		[REPORT_EVIDENCE] = csv_evidence,
		[REPORT_INVESTIGATORS] = csv_investigators,
		[REPORT_COMPLIANCE] = csv_compliance,
	};

	/* A byte-order mark, so that spreadsheet programs read UTF-8. */
	return report_render(writers, "\xEF\xBB\xBF", kind, doc, len);
}
