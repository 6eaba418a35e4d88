/*
 * Feed mapping settings (docs/configuration.md, "Feed mapping"), checked
 * when the configuration is loaded so that a mistake stops start-up (or a
 * reload) with file:line: reason, never a feed: the columns a feed's CSV
 * files name differently (<feed>.columns = { person_id = "Employee
 * Number"; }), the columns to skip, the delimiter, the decimal separator
 * and the date format.  Also the date formats themselves and the name
 * distance behind every "did you mean" (feed-validate.c, ingest-csv.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "feed-validate.h"
#include "feed-map.h"

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may",
	"jun", "jul", "aug", "sep", "oct", "nov", "dec" };

/* The feed a setting's path ("people.columns") is about. */
static const struct feed_spec *
path_feed(const char *path)
{
	size_t n = strcspn(path, ".");

	for (int i = 0; feed_specs[i] != NULL; i++)
		if (strlen(feed_specs[i]->name) == n &&
		    strncmp(feed_specs[i]->name, path, n) == 0)
			return feed_specs[i];
	return NULL;
}

/* Whether a column name has blanks either side: header cells are read
 * without them, so such a name would never match one. */
static bool
padded(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && (strchr(" \t", name[0]) != NULL ||
	                    strchr(" \t", name[n - 1]) != NULL);
}

/* The feed's field names as one line: "person_id, name, …". */
static void
field_list(const struct feed_spec *feed, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct field_spec *f = feed->fields; f->name; f++)
		used +=
		    (size_t)snprintf(buf + used, used < len ? len - used : 0,
		        "%s%s", used ? ", " : "", f->name);
}

bool
feedmap_check_columns(
    const char *path, const json_t *map, char *err, size_t len)
{
	const struct feed_spec *feed = path_feed(path);
	const char *key, *key2;
	json_t *v, *v2;
	char fields[512];

	if (feed == NULL)
		return true;
	json_object_foreach((json_t *)map, key, v)
	{
		const char *src = json_string_value(v);
		if (feed_field(feed, key) == NULL) {
			field_list(feed, fields, sizeof fields);
			snprintf(err, len,
			    "%s is not a field of the %s feed (%s)", key,
			    feed->name, fields);
			return false;
		}
		if (src == NULL || *src == '\0') {
			snprintf(err, len, "%s must be a column name", key);
			return false;
		}
		if (padded(src)) {
			snprintf(err, len,
			    "%s = \"%s\": blanks either side of a column name "
			    "never match (header cells are read without them)",
			    key, src);
			return false;
		}
		if (feed_field(feed, src) != NULL && strcmp(src, key) != 0) {
			snprintf(err, len,
			    "%s = \"%s\": \"%s\" is another field's own name",
			    key, src, src);
			return false;
		}
		json_object_foreach((json_t *)map, key2, v2)
		{
			if (key2 == key)
				break;
			if (strcmp(json_string_value(v2) ?: "", src) == 0) {
				snprintf(err, len,
				    "%s and %s are both mapped to \"%s\"", key2,
				    key, src);
				return false;
			}
		}
	}
	return true;
}

bool
feedmap_check_ignore(
    const char *path, const json_t *list, char *err, size_t len)
{
	size_t i;
	json_t *v;

	(void)path;
	json_array_foreach((json_t *)list, i, v)
	{
		if (*json_string_value(v) == '\0') {
			snprintf(err, len, "an empty column name");
			return false;
		}
		if (padded(json_string_value(v))) {
			snprintf(err, len,
			    "\"%s\": blanks either side of a column name "
			    "never match (header cells are read without them)",
			    json_string_value(v));
			return false;
		}
	}
	return true;
}

bool
feedmap_check_delimiter(const char *v, char *err, size_t len)
{
	if (strlen(v) == 1 && strchr(",;|\t", *v) != NULL)
		return true;
	snprintf(err, len, "must be \",\", \";\", \"|\" or \"\\t\"");
	return false;
}

bool
feedmap_check_decimal(const char *v, char *err, size_t len)
{
	if (strcmp(v, ".") == 0 || strcmp(v, ",") == 0)
		return true;
	snprintf(err, len, "must be \".\" or \",\"");
	return false;
}

/* Counts the conversions of a date format; false on an unknown one. */
static bool
format_parts(const char *fmt, int *day, int *month, int *year, char *bad)
{
	*day = *month = *year = 0;
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		switch (*++p) {
		case 'd':
			++*day;
			break;
		case 'm':
		case 'b':
			++*month;
			break;
		case 'Y':
			++*year;
			break;
		case '%':
			break;
		default:
			*bad = *p;
			return false;
		}
		if (*p == '\0')
			return false;
	}
	return true;
}

bool
feedmap_check_date_format(const char *v, char *err, size_t len)
{
	int day, month, year;
	char bad = '\0';

	if (!format_parts(v, &day, &month, &year, &bad)) {
		if (bad != '\0')
			snprintf(err, len,
			    "%%%c is not allowed (%%d, %%m, %%b, %%Y, %%%%)",
			    bad);
		else
			snprintf(err, len, "ends inside a %% conversion");
		return false;
	}
	if (day != 1 || month != 1 || year != 1) {
		snprintf(err, len,
		    "must have one day (%%d), one month (%%m or %%b) and one "
		    "year (%%Y)");
		return false;
	}
	/* YYYY-MM-DD is always understood, so 2025-01-02 would be 2 January
	 * while 2025-13-02 is 13 February. */
	if (strcmp(v, "%Y-%d-%m") == 0) {
		snprintf(err, len,
		    "%%Y-%%d-%%m cannot be told from YYYY-MM-DD, which is "
		    "always understood");
		return false;
	}
	return true;
}

/* Up to max digits at *s (at least one); -1 if none. */
static int
digits(const char **s, int max)
{
	int n = 0, v = 0;

	while (n < max && isdigit((unsigned char)**s)) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n > 0 ? v : -1;
}

bool
date_format_parse(const char *fmt, const char *s, struct date *d)
{
	const char *start;

	d->year = d->month = d->day = 0;
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '%') {
			p += *p == '%';
			if (*s++ != *p)
				return false;
			continue;
		}
		switch (*++p) {
		case 'd':
			d->day = digits(&s, 2);
			break;
		case 'm':
			d->month = digits(&s, 2);
			break;
		case 'Y':
			start = s;
			d->year = digits(&s, 4);
			if (s - start != 4)
				return false;
			break;
		case 'b':
			d->month = -1;
			for (int m = 0; m < 12; m++)
				if (strncasecmp(s, month_names[m], 3) == 0) {
					d->month = m + 1;
					s += 3;
					break;
				}
			break;
		default:
			return false;
		}
	}
	return *s == '\0' && d->year > 0 && d->month >= 1 && d->month <= 12 &&
	       d->day >= 1 && d->day <= days_in_month(d->year, d->month);
}

/* The name folded for comparison: lower case, no blanks, - or _. */
static size_t
fold(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < len; s++)
		if (strchr(" \t-_", *s) == NULL)
			out[n++] = (char)tolower((unsigned char)*s);
	out[n] = '\0';
	return n;
}

int
name_distance(const char *a, const char *b)
{
	char fa[64], fb[64];
	size_t na, nb;
	int d[3][64]; /* rows i-2, i-1 and i of the distance table */

	if (strlen(a) >= sizeof fa || strlen(b) >= sizeof fb)
		return 9;
	na = fold(a, fa, sizeof fa);
	nb = fold(b, fb, sizeof fb);
	if (strcmp(fa, fb) == 0)
		return 0;
	/* Edit distance with adjacent transpositions ("nmae" is 1 from
	 * "name"), one row at a time. */
	for (size_t j = 0; j <= nb; j++)
		d[1][j] = (int)j;
	for (size_t i = 1; i <= na; i++) {
		int *r = d[(i + 1) % 3], *p = d[i % 3], *pp = d[(i + 2) % 3];
		r[0] = (int)i;
		for (size_t j = 1; j <= nb; j++) {
			int v = p[j - 1] + (fa[i - 1] != fb[j - 1]);
			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (r[j - 1] + 1 < v)
				v = r[j - 1] + 1;
			if (i > 1 && j > 1 && fa[i - 1] == fb[j - 2] &&
			    fa[i - 2] == fb[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			r[j] = v;
		}
	}
	return d[(na + 1) % 3][nb] > 9 ? 9 : d[(na + 1) % 3][nb];
}

bool
name_close(const char *a, int distance)
{
	size_t n = strlen(a);

	return distance == 0 ||
	       (distance <= 2 && n >= 4 && (size_t)distance * 3 <= n);
}
