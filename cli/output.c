/*
 * Output for every effortctl command, in one place: aligned text tables
 * (numbers right-aligned, hours with two decimals), RFC 4180 CSV with a
 * header row (CRLF line ends; fields quoted when they hold a comma, quote,
 * CR or LF, quotes doubled) and the server's JSON pretty-printed without
 * touching a single value.  Depends only on jansson and xmalloc so that
 * tests/unit/test_output.c can include it whole.
 */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <jansson.h>

#include "fmt.h"
#include "log.h"
#include "output.h"
#include "xmalloc.h"

struct table {
	const struct column *cols;
	size_t ncols;
	enum output_format format;
	char **cells; /* nrows * ncols, NULL for null */
	size_t nrows;
	size_t alloc;
};

int
out_parse_format(const char *s, enum output_format *out)
{
	static const char *names[] = { "table", "csv", "json" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum output_format)i;
			return 0;
		}
	}
	return -1;
}

/* The shortest text that reads back as the same double. */
static char *
format_real(double v)
{
	char buf[64];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return xstrdup(buf);
}

/*
 * A JSON value as cell text, or NULL for null/absent.  Hours get two
 * decimals in a table and their exact value in CSV.
 */
char *
out_json_cell(json_t *v, enum col_type type, enum output_format format)
{
	char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_number(v) && type == COL_HOURS && format == FORMAT_TABLE)
		return hours_text(json_number_value(v));
	if (json_is_integer(v)) {
		xasprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return s;
	}
	if (json_is_real(v))
		return format_real(json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s != NULL ? s : xstrdup("");
}

/* The C.UTF-8 locale for wcwidth, made once; (locale_t)0 if there is none. */
static locale_t
utf8_locale(void)
{
	static locale_t loc;
	static bool tried;

	if (!tried) {
		tried = true;
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return loc;
}

/*
 * Display width in terminal columns: East Asian wide characters take two,
 * combining marks none, anything else (or any character when the system
 * has no C.UTF-8 locale, or a byte that is not UTF-8) one.
 */
size_t
out_text_width(const char *s)
{
	locale_t loc = utf8_locale(), old;
	mbstate_t st;
	size_t n = 0, len = strlen(s), k;
	wchar_t wc;
	int w;

	if (loc == (locale_t)0) {
		for (; *s != '\0'; s++)
			n += ((unsigned char)*s & 0xc0) != 0x80;
		return n;
	}
	old = uselocale(loc);
	memset(&st, 0, sizeof st);
	while (len > 0) {
		k = mbrtowc(&wc, s, len, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			k = 1;
			w = 1;
		} else if ((w = wcwidth(wc)) < 0)
			w = 1;
		n += (size_t)w;
		s += k;
		len -= k;
	}
	uselocale(old);
	return n;
}

struct table *
out_table_new(
    const struct column *cols, size_t ncols, enum output_format format)
{
	struct table *t = xcalloc(1, sizeof *t);

	t->cols = cols;
	t->ncols = ncols;
	t->format = format;
	return t;
}

/* Adds a row of ncols cells (copied; NULL for null). */
void
out_table_add(struct table *t, const char *const *row)
{
	if (t->nrows == t->alloc) {
		t->alloc = t->alloc == 0 ? 16 : t->alloc * 2;
		t->cells = xreallocarray(
		    t->cells, t->alloc * t->ncols, sizeof *t->cells);
	}
	for (size_t c = 0; c < t->ncols; c++) {
		t->cells[t->nrows * t->ncols + c] =
		    row[c] != NULL ? xstrdup(row[c]) : NULL;
	}
	t->nrows++;
}

/* Adds a row taken from the members of a JSON object named by the keys. */
void
out_table_add_json(struct table *t, json_t *obj)
{
	char **row = xcalloc(t->ncols, sizeof *row);

	for (size_t c = 0; c < t->ncols; c++) {
		row[c] = out_json_cell(json_object_get(obj, t->cols[c].key),
		    t->cols[c].type, t->format);
	}
	out_table_add(t, (const char *const *)row);
	for (size_t c = 0; c < t->ncols; c++)
		free(row[c]);
	free(row);
}

size_t
out_table_rows(const struct table *t)
{
	return t->nrows;
}

/* A cell for a text table: "-" for null, control characters as spaces. */
static char *
table_text(const char *s)
{
	char *out;

	if (s == NULL)
		return xstrdup("-");
	out = xstrdup(s);
	for (char *p = out; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return out;
}

static void
print_cell(
    FILE *fp, const struct column *col, const char *s, size_t width, bool last)
{
	size_t pad = width - out_text_width(s);

	if (col->type != COL_TEXT) {
		fprintf(fp, "%*s%s", (int)pad, "", s);
	} else {
		fputs(s, fp);
		if (!last)
			fprintf(fp, "%*s", (int)pad, "");
	}
	fputs(last ? "\n" : "  ", fp);
}

static void
print_text_table(const struct table *t, FILE *fp, const char *indent)
{
	size_t *width = xcalloc(t->ncols, sizeof *width);
	size_t n = t->nrows * t->ncols;
	char **text = xcalloc(n + 1, sizeof *text);

	for (size_t c = 0; c < t->ncols; c++)
		width[c] = out_text_width(t->cols[c].label);
	for (size_t i = 0; i < n; i++) {
		size_t w;

		text[i] = table_text(t->cells[i]);
		if ((w = out_text_width(text[i])) > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	fputs(indent, fp);
	for (size_t c = 0; c < t->ncols; c++)
		print_cell(fp, &t->cols[c], t->cols[c].label, width[c],
		    c + 1 == t->ncols);
	for (size_t i = 0; i < n; i++) {
		size_t c = i % t->ncols;

		if (c == 0)
			fputs(indent, fp);
		print_cell(
		    fp, &t->cols[c], text[i], width[c], c + 1 == t->ncols);
		free(text[i]);
	}
	free(text);
	free(width);
}

static void
print_csv_table(const struct table *t, FILE *fp)
{
	for (size_t c = 0; c < t->ncols; c++) {
		csv_put_field(fp, t->cols[c].key);
		fputs(c + 1 == t->ncols ? "\r\n" : ",", fp);
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		csv_put_field(fp, t->cells[i]);
		fputs((i + 1) % t->ncols == 0 ? "\r\n" : ",", fp);
	}
}

/* Prints as text (each line after indent) or CSV, per the table's format. */
void
out_table_print(const struct table *t, FILE *fp, const char *indent)
{
	if (t->format == FORMAT_CSV)
		print_csv_table(t, fp);
	else
		print_text_table(t, fp, indent != NULL ? indent : "");
}

void
out_table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

static void
newline_indent(FILE *fp, int depth)
{
	fputc('\n', fp);
	for (int i = 0; i < depth; i++)
		fputs("  ", fp);
}

/* Copies a JSON string starting at s[*i] == '"'; leaves *i after it. */
static void
copy_string(FILE *fp, const char *s, size_t len, size_t *i)
{
	fputc(s[(*i)++], fp);
	while (*i < len) {
		char ch = s[(*i)++];

		fputc(ch, fp);
		if (ch == '\\' && *i < len)
			fputc(s[(*i)++], fp);
		else if (ch == '"')
			return;
	}
}

static size_t
skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && strchr(" \t\r\n", s[i]) != NULL && s[i] != '\0')
		i++;
	return i;
}

/*
 * Re-indents JSON text by two spaces a level.  Only whitespace outside
 * strings changes, so numbers and strings stay exactly as the server
 * wrote them.  Expects valid JSON; returns a malloc'd string.
 */
char *
out_json_pretty(const char *s, size_t len)
{
	char *out = NULL;
	size_t outlen = 0, i = 0;
	int depth = 0;
	FILE *fp = open_memstream(&out, &outlen);

	if (fp == NULL)
		fatal("open_memstream failed");
	while ((i = skip_space(s, len, i)) < len) {
		char ch = s[i];

		if (ch == '"') {
			copy_string(fp, s, len, &i);
			continue;
		}
		i++;
		if (ch == '{' || ch == '[') {
			size_t j = skip_space(s, len, i);

			fputc(ch, fp);
			if (j < len && (s[j] == '}' || s[j] == ']')) {
				fputc(s[j], fp);
				i = j + 1;
			} else
				newline_indent(fp, ++depth);
		} else if (ch == '}' || ch == ']') {
			newline_indent(fp, --depth);
			fputc(ch, fp);
		} else if (ch == ',') {
			fputc(ch, fp);
			newline_indent(fp, depth);
		} else if (ch == ':')
			fputs(": ", fp);
		else
			fputc(ch, fp);
	}
	fputc('\n', fp);
	if (fclose(fp) != 0)
		fatal("open_memstream failed");
	return out;
}

void
out_print_json(FILE *fp, const char *s, size_t len)
{
	char *pretty = out_json_pretty(s, len);

	fputs(pretty, fp);
	free(pretty);
}

/* A JSON value effortctl built itself (not the server's text). */
void
out_print_json_value(FILE *fp, json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(15));

	if (s == NULL)
		fatal("json_dumps failed");
	fprintf(fp, "%s\n", s);
	free(s);
}
