/*
 * The funding-assurance reports (GET /v1/reports/...): their kinds and
 * output formats, and the CSV and HTML renderers of the jsonb documents
 * the report SQL (sql/functions/70_reports.sql) returns.  JSON is passed
 * through as the database made it.
 */
#ifndef REPORTS_H
#define REPORTS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum report_kind {
	REPORT_GRANT,
	REPORT_EVIDENCE,
	REPORT_INVESTIGATORS,
	REPORT_COMPLIANCE,
};

enum report_format { REPORT_JSON, REPORT_CSV, REPORT_HTML };

/* A column of a report table: JSON member, heading and how to show it. */
enum rcol_type {
	RC_TEXT,
	RC_HOURS, /* two decimals */
	RC_INT,
	RC_BOOL, /* yes / no */
};

struct rcol {
	const char *key;
	const char *label;
	enum rcol_type type;
};

/* "json", "csv" or "html"; -1 for anything else. */
int report_format_parse(const char *, enum report_format *);
/* The text of obj[col->key] as the column shows it ("" when absent). */
char *report_cell(json_t *obj, const struct rcol *col);
/* Hours with two decimals, never "-0.00". */

/* Findings of one rule (all severities) in a compliance scope. */
long long report_rule_count(json_t *scope, const char *rule);

/* The report as one body; *len is set.  The caller frees it. */
char *report_csv(enum report_kind, json_t *doc, size_t *len);
char *report_html(enum report_kind, json_t *doc, size_t *len);

/* A string member or "". */
const char *report_str(json_t *, const char *);
/* A timesheet version's decisions as one line of text. */
char *report_decisions_text(json_t *decisions);

/* HTML text with &, <, >, " and ' escaped. */
void html_esc(FILE *, const char *);
/* A round chart axis maximum >= v: 1, 2 or 5 times a power of ten. */
double chart_axis_max(double v);

/* open_memstream or die. */
FILE *report_stream(char **buf, size_t *len);
/* Writes a report of kind with writers[kind] after prefix; caller frees. */
typedef void (*report_writer)(FILE *, json_t *);
char *report_render(const report_writer writers[], const char *prefix,
    enum report_kind, json_t *doc, size_t *len);

#endif
