/*
 * The reports as one self-contained HTML page each: no JavaScript, no
 * external file, inline CSS with a print stylesheet (A4 landscape, tables
 * that break between rows), readable tables and inline SVG charts (grant:
 * charged vs evidenced hours per month; investigators: grant hours against
 * the cap).  Every value from the document is escaped; the page is also
 * well-formed XML, so strict parsers read it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "log.h"
#include "api-reports.h"
#include "xmalloc.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const char css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,"
    "Helvetica,Arial,sans-serif;color:#1b1f24;margin:0;background:#fff}"
    "main{max-width:1200px;margin:0 auto;padding:24px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:2px solid #d0d7de;padding-bottom:4px}"
    ".meta{color:#57606a;margin:0 0 16px}"
    "table{border-collapse:collapse;width:100%;margin:8px 0 16px;"
    "font-size:13px}"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;"
    "vertical-align:top}"
    "th{background:#f0f3f6;font-weight:600}"
    "tbody tr:nth-child(even){background:#f8fafc}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}td.nw{white-space:nowrap}"
    "tr.total td{font-weight:600;background:#eef2f6}"
    ".bad{color:#b42318;font-weight:600}.ok{color:#1a7f37}"
    ".small{font-size:11px;color:#57606a;word-break:break-all}"
    ".chart{margin:8px 0 16px}.chart svg{max-width:100%;height:auto}"
    "@media print{body{font-size:10pt}main{max-width:none;padding:0}"
    "table{font-size:8.5pt}thead{display:table-header-group}"
    "tr,.chart{break-inside:avoid;page-break-inside:avoid}"
    "h2{break-after:avoid;page-break-after:avoid}"
    "tbody tr:nth-child(even){background:none}"
    "@page{size:A4 landscape;margin:12mm}}";

/* Text with &, <, >, " and ' escaped. */
void
html_esc(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			fputc(*s, fp);
		}
	}
}

static void
page_start(FILE *fp, const char *title, json_t *doc)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\"/><meta name=\"viewport\" "
	      "content=\"width=device-width, initial-scale=1\"/><title>",
	    fp);
	html_esc(fp, title);
	fprintf(
	    fp, "</title><style>%s</style></head>\n<body><main>\n<h1>", css);
	html_esc(fp, title);
	fputs("</h1>\n<p class=\"meta\">As of ", fp);
	html_esc(fp, report_str(doc, "as_of"));
	fputs(" &#183; effortd funding-assurance report</p>\n", fp);
}

static void
page_end(FILE *fp)
{
	fputs("</main></body></html>\n", fp);
}

static void
h2(FILE *fp, const char *title)
{
	fputs("<h2>", fp);
	html_esc(fp, title);
	fputs("</h2>\n", fp);
}

static void
table_start(FILE *fp, const struct rcol *cols, size_t n)
{
	fputs("<table><thead><tr>", fp);
	for (size_t i = 0; i < n; i++) {
		fputs(cols[i].type == RC_HOURS || cols[i].type == RC_INT
		          ? "<th class=\"n\">"
		          : "<th>",
		    fp);
		html_esc(fp, cols[i].label);
		fputs("</th>", fp);
	}
	fputs("</tr></thead><tbody>\n", fp);
}

static void
table_row(
    FILE *fp, json_t *obj, const struct rcol *cols, size_t n, const char *cls)
{
	fprintf(fp, "<tr%s%s%s>", cls ? " class=\"" : "", cls ? cls : "",
	    cls ? "\"" : "");
	for (size_t i = 0; i < n; i++) {
		char *c = report_cell(obj, &cols[i]);

		fputs(cols[i].type == RC_HOURS || cols[i].type == RC_INT
		          ? "<td class=\"n\">"
		      : strlen(c) <= 12 ? "<td class=\"nw\">"
		                        : "<td>",
		    fp);
		html_esc(fp, c);
		fputs("</td>", fp);
		free(c);
	}
	fputs("</tr>\n", fp);
}

static void
table_end(FILE *fp)
{
	fputs("</tbody></table>\n", fp);
}

/* A table of the objects of arr (or a line saying there are none). */
static void
table_of(
    FILE *fp, json_t *arr, const struct rcol *cols, size_t n, const char *none)
{
	json_t *v;
	size_t i;

	if (json_array_size(arr) == 0) {
		fputs("<p>", fp);
		html_esc(fp, none);
		fputs("</p>\n", fp);
		return;
	}
	table_start(fp, cols, n);
	json_array_foreach(arr, i, v) table_row(fp, v, cols, n, NULL);
	table_end(fp);
}

/* A round axis maximum >= v: 1, 2 or 5 times a power of ten. */
double
chart_axis_max(double v)
{
	double p;

	if (!(v > 0))
		return 1;
	p = pow(10, floor(log10(v)));
	if (v <= p)
		return p;
	if (v <= 2 * p)
		return 2 * p;
	if (v <= 5 * p)
		return 5 * p;
	return 10 * p;
}

static double
num(json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

static void
svg_start(FILE *fp, double w, double h, const char *label)
{
	fprintf(fp,
	    "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	    "role=\"img\" aria-label=\"",
	    w, h, w, h);
	html_esc(fp, label);
	fputs("\" font-family=\"system-ui, Helvetica, Arial, sans-serif\" "
	      "font-size=\"12\"><title>",
	    fp);
	html_esc(fp, label);
	fputs("</title>\n", fp);
}

static void
svg_legend(FILE *fp, double x, double y, const char *color, const char *text)
{
	fprintf(fp,
	    "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
	    "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
	    x, y, color, x + 16, y + 10);
	html_esc(fp, text);
	fputs("</text>\n", fp);
}

/* A bar with a tooltip: "<label>: <value> h". */
static void
svg_bar(FILE *fp, double x, double y, double w, double h, const char *color,
    const char *label, double v)
{
	char *hs = hours_text(v);

	fprintf(fp,
	    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
	    "fill=\"%s\"><title>",
	    x, y, w, h > 0 ? h : 0, color);
	html_esc(fp, label);
	fprintf(fp, ": %s h</title></rect>\n", hs);
	free(hs);
}

#define C_CHARGED   "#8c9bab"
#define C_EVIDENCED "#2da44e"
#define C_HOURS     "#0969da"
#define C_OVER      "#cf222e"

/* Charged vs evidenced hours per month: grouped vertical bars. */
static void
chart_months(FILE *fp, json_t *months)
{
	const double W = 960, H = 320, L = 64, R = 16, T = 40, B = 40;
	double pw = W - L - R, ph = H - T - B, max = 0, axis, gw;
	size_t n = json_array_size(months), i;
	json_t *m;

	json_array_foreach(months, i, m)
	{
		max = fmax(max, fmax(num(m, "charged"), num(m, "evidenced")));
	}
	axis = chart_axis_max(max);
	svg_start(fp, W, H, "Charged and evidenced hours per month");
	for (int k = 0; k <= 5; k++) {
		double y = T + ph - ph * k / 5;

		fprintf(fp,
		    "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
		    "stroke=\"#d0d7de\"/><text x=\"%.0f\" y=\"%.1f\" "
		    "text-anchor=\"end\" fill=\"#57606a\">%.0f</text>\n",
		    L, y, W - R, y, L - 6, y + 4, axis * k / 5);
	}
	fprintf(fp,
	    "<text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" "
	    "text-anchor=\"middle\" fill=\"#57606a\">hours</text>\n",
	    T + ph / 2, T + ph / 2);
	svg_legend(fp, L, 12, C_CHARGED, "Charged");
	svg_legend(fp, L + 90, 12, C_EVIDENCED, "Evidenced");
	gw = n > 0 ? pw / (double)n : pw;
	json_array_foreach(months, i, m)
	{
		const char *mo = report_str(m, "month");
		double x = L + gw * (double)i + gw * 0.15, bw = gw * 0.35;
		double c = num(m, "charged"), e = num(m, "evidenced");
		char *lc, *le;

		xasprintf(&lc, "%s charged", mo);
		xasprintf(&le, "%s evidenced", mo);
		svg_bar(fp, x, T + ph - ph * c / axis, bw, ph * c / axis,
		    C_CHARGED, lc, c);
		svg_bar(fp, x + bw, T + ph - ph * e / axis, bw, ph * e / axis,
		    C_EVIDENCED, le, e);
		fprintf(fp,
		    "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" "
		    "font-size=\"11\">",
		    L + gw * ((double)i + 0.5), H - B + 16);
		html_esc(fp, mo);
		fputs("</text>\n", fp);
		free(lc);
		free(le);
	}
	fputs("</svg></div>\n", fp);
}

static double
inv_max(json_t *invs)
{
	double max = 0;
	json_t *v;
	size_t i;

	json_array_foreach(invs, i, v)
	{
		max = fmax(max, num(v, "cap"));
		max = fmax(max, num(v, "grant_hours"));
		max = fmax(max, num(v, "projection"));
	}
	return max;
}

/* One investigator's row: bar of grant hours, cap line, projection. */
static void
chart_inv_row(FILE *fp, json_t *v, double y, double x0, double pw, double axis)
{
	double h = num(v, "grant_hours"), cap = num(v, "cap");
	double xc = x0 + pw * cap / axis;
	json_t *proj = json_object_get(v, "projection");
	char *hs = hours_text(h), *cs = hours_text(cap), *label;

	fprintf(fp, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 8,
	    y + 14);
	html_esc(fp, report_str(v, "person_id"));
	fputs(" ", fp);
	html_esc(fp, report_str(v, "name"));
	fputs("</text>\n", fp);
	xasprintf(&label, "%s grant hours", report_str(v, "person_id"));
	svg_bar(fp, x0, y + 2, pw * h / axis, 16, h > cap ? C_OVER : C_HOURS,
	    label, h);
	free(label);
	if (json_is_number(proj)) {
		double xp = x0 + pw * json_number_value(proj) / axis;

		fprintf(fp,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#9a6700\" stroke-width=\"2\" "
		    "stroke-dasharray=\"3 2\"/>\n",
		    xp, y, xp, y + 20);
	}
	fprintf(fp,
	    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "stroke=\"#1b1f24\" stroke-width=\"2\"/>\n"
	    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
	    "fill=\"#57606a\">%s h of %s h</text>\n",
	    xc, y - 1, xc, y + 21, x0 + pw * fmax(h, cap) / axis + 6, y + 14,
	    hs, cs);
	free(hs);
	free(cs);
}

/* Investigators' grant hours against their caps: horizontal bars. */
static void
chart_investigators(FILE *fp, json_t *invs)
{
	const double W = 960, L = 240, R = 150, T = 40, B = 32, RH = 30;
	size_t n = json_array_size(invs), i;
	double H = T + RH * (double)n + B, pw = W - L - R;
	double axis = chart_axis_max(inv_max(invs) * 1.05);
	json_t *v;

	svg_start(fp, W, H, "Investigator grant hours against the cap");
	for (int k = 0; k <= 5; k++) {
		double x = L + pw * k / 5;

		fprintf(fp,
		    "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
		    "stroke=\"#d0d7de\"/><text x=\"%.1f\" y=\"%.0f\" "
		    "text-anchor=\"middle\" fill=\"#57606a\">%.0f</text>\n",
		    x, T - 6, x, H - B, x, H - B + 16, axis * k / 5);
	}
	svg_legend(fp, L, 10, C_HOURS, "Grant hours");
	svg_legend(fp, L + 110, 10, C_OVER, "Over the cap");
	fprintf(fp,
	    "<line x1=\"%.0f\" y1=\"10\" x2=\"%.0f\" y2=\"22\" "
	    "stroke=\"#1b1f24\" stroke-width=\"2\"/><text x=\"%.0f\" "
	    "y=\"20\">Cap</text>\n"
	    "<line x1=\"%.0f\" y1=\"10\" x2=\"%.0f\" y2=\"22\" "
	    "stroke=\"#9a6700\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>"
	    "<text x=\"%.0f\" y=\"20\">Projection</text>\n",
	    L + 236, L + 236, L + 242, L + 290, L + 290, L + 296);
	json_array_foreach(invs, i, v)
	    chart_inv_row(fp, v, T + RH * (double)i, L, pw, axis);
	fputs("</svg></div>\n", fp);
}

static const struct rcol total_cols[] = {
	{ "charged", "Charged h", RC_HOURS },
	{ "recorded", "Recorded h", RC_HOURS },
	{ "evidenced", "Evidenced h", RC_HOURS },
	{ "unevidenced", "Unevidenced h", RC_HOURS },
};

static const struct rcol month_cols[] = {
	{ "month", "Month", RC_TEXT },
	{ "charged", "Charged h", RC_HOURS },
	{ "recorded", "Recorded h", RC_HOURS },
	{ "evidenced", "Evidenced h", RC_HOURS },
	{ "unevidenced", "Unevidenced h", RC_HOURS },
};

static const struct rcol person_month_cols[] = {
	{ "person_id", "Person", RC_TEXT },
	{ "name", "Name", RC_TEXT },
	{ "month", "Month", RC_TEXT },
	{ "charged", "Charged h", RC_HOURS },
	{ "recorded", "Recorded h", RC_HOURS },
	{ "evidenced", "Evidenced h", RC_HOURS },
	{ "unevidenced", "Unevidenced h", RC_HOURS },
	{ "status", "Timesheet", RC_TEXT },
	{ "evidence_ok", "Evidence", RC_BOOL },
	{ "submitted_on", "Submitted", RC_TEXT },
	{ "authorised_on", "Authorised", RC_TEXT },
	{ "deadline", "Deadline", RC_TEXT },
};

static const struct rcol finding_cols[] = {
	{ "rule", "Rule", RC_TEXT },
	{ "severity", "Severity", RC_TEXT },
	{ "person_id", "Person", RC_TEXT },
	{ "grant_ref", "Grant", RC_TEXT },
	{ "period_start", "From", RC_TEXT },
	{ "period_end", "To", RC_TEXT },
	{ "hours", "Hours", RC_HOURS },
	{ "detail", "Detail", RC_TEXT },
};

static void
grant_people(FILE *fp, json_t *people)
{
	const size_t n = NCOLS(person_month_cols);
	json_t *p, *m, *row;
	size_t i, j;

	table_start(fp, person_month_cols, n);
	json_array_foreach(people, i, p)
	{
		json_array_foreach(json_object_get(p, "months"), j, m)
		{
			row = json_copy(m);
			json_object_set(
			    row, "person_id", json_object_get(p, "person_id"));
			json_object_set(
			    row, "name", json_object_get(p, "name"));
			table_row(fp, row, person_month_cols, n,
			    json_is_true(json_object_get(m, "evidence_ok"))
			        ? NULL
			        : "bad");
			json_decref(row);
		}
		row = json_copy(p);
		json_object_set_new(row, "month", json_string("total"));
		json_object_del(row, "months");
		table_row(fp, row, person_month_cols, n, "total");
		json_decref(row);
	}
	table_end(fp);
}

static const struct rcol unconverted_cols[] = {
	{ "person_id", "Person", RC_TEXT },
	{ "month", "Month", RC_TEXT },
	{ "fte_fraction", "Share of salary", RC_TEXT },
};

/* Salary-share charges to people the people feed has not sent: no
 * contracted hours convert them, so no figure above holds them. */
static void
unconverted_charges(FILE *fp, json_t *charges)
{
	if (json_array_size(charges) == 0)
		return;
	h2(fp, "Charges not in these figures");
	fputs("<p>Payroll charged these shares of salary to the grant for "
	      "people the people feed has not sent: without their contracted "
	      "hours they cannot be converted to hours, so they are in no "
	      "figure above until the people feed sends them.</p>\n",
	    fp);
	table_of(fp, charges, unconverted_cols, NCOLS(unconverted_cols), "");
}

static void
html_grant(FILE *fp, json_t *doc)
{
	json_t *g = json_object_get(doc, "grant");
	char *title;

	xasprintf(
	    &title, "Grant reconciliation: %s", report_str(g, "grant_ref"));
	page_start(fp, title, doc);
	fputs("<p>", fp);
	html_esc(fp, report_str(g, "title"));
	fputs(" (", fp);
	html_esc(fp, report_str(g, "funder"));
	fputs("), ", fp);
	html_esc(fp, report_str(g, "start_date"));
	if (json_is_string(json_object_get(g, "end_date"))) {
		fputs(" to ", fp);
		html_esc(fp, report_str(g, "end_date"));
	} else
		fputs(" onwards (no end date)", fp);
	fputs(". Evidenced hours are charged hours backed by recorded hours "
	      "in timesheets that are all authorised on time and validly; "
	      "the rest are unevidenced.</p>\n",
	    fp);
	h2(fp, "Totals");
	table_start(fp, total_cols, NCOLS(total_cols));
	table_row(fp, json_object_get(doc, "totals"), total_cols,
	    NCOLS(total_cols), "total");
	table_end(fp);
	h2(fp, "Charged and evidenced hours per month");
	chart_months(fp, json_object_get(doc, "months"));
	table_of(fp, json_object_get(doc, "months"), month_cols,
	    NCOLS(month_cols), "No charges or recorded hours.");
	h2(fp, "Per person and month");
	grant_people(fp, json_object_get(doc, "people"));
	h2(fp, "Findings");
	table_of(fp, json_object_get(doc, "findings"), finding_cols,
	    NCOLS(finding_cols), "No findings.");
	unconverted_charges(fp, json_object_get(doc, "unconverted_charges"));
	page_end(fp);
	free(title);
}

static const struct rcol inv_cols[] = {
	{ "person_id", "Person", RC_TEXT },
	{ "name", "Name", RC_TEXT },
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

static const struct rcol inv_grant_cols[] = {
	{ "person_id", "Person", RC_TEXT },
	{ "grant_ref", "Grant", RC_TEXT },
	{ "source", "Source", RC_TEXT },
	{ "hours", "Hours", RC_HOURS },
	{ "ended_months_hours", "Ended-months h", RC_HOURS },
};

static void
html_investigators(FILE *fp, json_t *doc)
{
	json_t *invs = json_object_get(doc, "investigators"), *v, *g, *row;
	char *title;
	size_t i, j;

	xasprintf(&title, "Investigator hours: cap year %s to %s",
	    report_str(doc, "cap_year_start"), report_str(doc, "cap_year_end"));
	page_start(fp, title, doc);
	fputs("<p>Cap = annual hours &#215; FTE &#215; days of the cap year "
	      "inside the employment &#247; days in the year. Projection = "
	      "grant hours of the ended months &#247; their number &#215; 12."
	      "</p>\n",
	    fp);
	h2(fp, "Grant hours against the cap");
	chart_investigators(fp, invs);
	table_start(fp, inv_cols, NCOLS(inv_cols));
	json_array_foreach(invs, i, v)
	    table_row(fp, v, inv_cols, NCOLS(inv_cols),
	        json_is_string(json_object_get(v, "finding")) ? "bad" : NULL);
	table_end(fp);
	h2(fp, "Grant hours by grant");
	table_start(fp, inv_grant_cols, NCOLS(inv_grant_cols));
	json_array_foreach(invs, i, v)
	{
		json_array_foreach(json_object_get(v, "grants"), j, g)
		{
			row = json_copy(g);
			json_object_set(
			    row, "person_id", json_object_get(v, "person_id"));
			table_row(fp, row, inv_grant_cols,
			    NCOLS(inv_grant_cols), NULL);
			json_decref(row);
		}
	}
	table_end(fp);
	page_end(fp);
	free(title);
}

static const struct rcol comp_cols[] = {
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

static const struct rcol rule_cols[] = {
	{ "line_manager_id", "Line manager", RC_TEXT },
	{ "rule", "Rule", RC_TEXT },
	{ "severity", "Severity", RC_TEXT },
	{ "count", "Count", RC_INT },
	{ "hours", "Hours", RC_HOURS },
};

/* The findings of every scope as rows naming the scope. */
static void
comp_findings(FILE *fp, json_t *org, json_t *mgrs)
{
	json_t *f, *m, *row;
	size_t i, j;

	table_start(fp, rule_cols, NCOLS(rule_cols));
	json_array_foreach(json_object_get(org, "findings"), i, f)
	{
		row = json_copy(f);
		json_object_set_new(
		    row, "line_manager_id", json_string("organisation"));
		table_row(fp, row, rule_cols, NCOLS(rule_cols), "total");
		json_decref(row);
	}
	json_array_foreach(mgrs, j, m)
	{
		json_array_foreach(json_object_get(m, "findings"), i, f)
		{
			row = json_copy(f);
			json_object_set(row, "line_manager_id",
			    json_object_get(m, "line_manager_id"));
			table_row(fp, row, rule_cols, NCOLS(rule_cols), NULL);
			json_decref(row);
		}
	}
	table_end(fp);
}

static void
html_compliance(FILE *fp, json_t *doc)
{
	json_t *org = json_object_get(doc, "organisation");
	json_t *mgrs = json_object_get(doc, "line_managers"), *m, *row;
	char *title;
	size_t i;

	xasprintf(&title, "Timesheet compliance: %s to %s",
	    report_str(doc, "from"), report_str(doc, "to"));
	page_start(fp, title, doc);
	fputs("<p>Person-months that need a timesheet (required) or have "
	      "one (submitted), each counted once under the first of: "
	      "missing, overdue, awaiting, late, invalid, authorised on "
	      "time.</p>\n",
	    fp);
	h2(fp, "Organisation and line managers");
	table_start(fp, comp_cols, NCOLS(comp_cols));
	row = json_copy(org);
	json_object_set_new(row, "line_manager_id", json_string("all"));
	json_object_set_new(row, "name", json_string("Organisation"));
	table_row(fp, row, comp_cols, NCOLS(comp_cols), "total");
	json_decref(row);
	json_array_foreach(mgrs, i, m)
	    table_row(fp, m, comp_cols, NCOLS(comp_cols), NULL);
	table_end(fp);
	h2(fp, "Findings by rule");
	comp_findings(fp, org, mgrs);
	page_end(fp);
	free(title);
}

static const struct rcol version_cols[] = {
	{ "person_id", "Person", RC_TEXT },
	{ "name", "Name", RC_TEXT },
	{ "period_start", "From", RC_TEXT },
	{ "period_end", "To", RC_TEXT },
	{ "id", "Id", RC_INT },
	{ "version", "Version", RC_INT },
	{ "latest", "Latest", RC_BOOL },
	{ "submitted_at", "Submitted", RC_TEXT },
	{ "received_at", "Received", RC_TEXT },
	{ "total_hours", "Total h", RC_HOURS },
	{ "grant_hours", "Grant h", RC_HOURS },
	{ "status", "Status", RC_TEXT },
	{ "deadline", "Deadline", RC_TEXT },
	{ "amendment_reason", "Amendment reason", RC_TEXT },
	{ "decisions_text", "Decisions", RC_TEXT },
	{ "entries_text", "Entries", RC_TEXT },
};

static const struct rcol log_cols[] = {
	{ "id", "Id", RC_INT },
	{ "at", "At", RC_TEXT },
	{ "action", "Action", RC_TEXT },
	{ "entity", "Entity", RC_TEXT },
	{ "entity_key", "Key", RC_TEXT },
	{ "actor", "Actor", RC_TEXT },
	{ "after", "After", RC_TEXT },
	{ "hash", "SHA-256", RC_TEXT },
};

/* "grant EP/X012345/1 129.38; research research 14.24". */
static char *
entries_text(json_t *entries)
{
	char *buf = NULL, *h;
	size_t len = 0, i;
	FILE *fp = report_stream(&buf, &len);
	json_t *e;

	json_array_foreach(entries, i, e)
	{
		h = hours_text(num(e, "hours"));
		fprintf(fp, "%s%s %s %s", i > 0 ? "; " : "",
		    report_str(e, "kind"), report_str(e, "activity"), h);
		free(h);
	}
	fclose(fp);
	return buf;
}

static void
evidence_versions(FILE *fp, json_t *versions)
{
	json_t *v, *row;
	size_t i;

	table_start(fp, version_cols, NCOLS(version_cols));
	json_array_foreach(versions, i, v)
	{
		char *d =
		    report_decisions_text(json_object_get(v, "decisions"));
		char *e = entries_text(json_object_get(v, "entries"));

		row = json_copy(v);
		json_object_set_new(row, "decisions_text", json_string(d));
		json_object_set_new(row, "entries_text", json_string(e));
		table_row(fp, row, version_cols, NCOLS(version_cols),
		    json_is_true(json_object_get(v, "latest")) ? NULL
		                                               : "small");
		json_decref(row);
		free(d);
		free(e);
	}
	table_end(fp);
}

static void
html_evidence(FILE *fp, json_t *doc)
{
	json_t *g = json_object_get(doc, "grant");
	json_t *log = json_object_get(doc, "audit_log");
	char *title;

	xasprintf(&title, "Evidence pack: %s", report_str(g, "grant_ref"));
	page_start(fp, title, doc);
	fputs("<p>", fp);
	html_esc(fp, report_str(g, "title"));
	fputs(". Every timesheet version of each person and period in which "
	      "a version has an entry for this grant, superseded versions "
	      "(in grey) and later ones without the grant included, with "
	      "their entries, amendment reasons and decisions, then the "
	      "audit-log rows behind them.</p>\n",
	    fp);
	h2(fp, "Timesheet versions");
	if (json_array_size(json_object_get(doc, "versions")) == 0)
		fputs("<p>No timesheet records hours on this grant.</p>\n", fp);
	else
		evidence_versions(fp, json_object_get(doc, "versions"));
	h2(fp, "Audit log");
	if (!json_is_array(log))
		fputs("<p>This database keeps no audit log.</p>\n", fp);
	else
		table_of(fp, log, log_cols, NCOLS(log_cols),
		    "No audit-log rows for these versions.");
	page_end(fp);
	free(title);
}

char *
report_html(enum report_kind kind, json_t *doc, size_t *len)
{
	static const report_writer writers[] = {
		[REPORT_GRANT] = html_grant,
		[REPORT_EVIDENCE] = html_evidence,
		[REPORT_INVESTIGATORS] = html_investigators,
		[REPORT_COMPLIANCE] = html_compliance,
	};

	return report_render(writers, "", kind, doc, len);
}
