/*
 * The generic record validator: walks a feed's field table and checks
 * presence, type, bounds, enumerations and unknown fields, then calls the
 * feed's cross-field check.  Also the error collector, which renders each
 * error with the record's index (JSON) or physical line (CSV).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "feed-validate.h"
#include "feed-map.h"
#include "xmalloc.h"

#define MAX_ERRORS 1000

void
feed_errors_init(struct feed_errors *errs, bool csv)
{
	memset(errs, 0, sizeof *errs);
	errs->list = json_array();
	errs->csv = csv;
}

/*
 * The length of the valid UTF-8 sequence at s (1 to 4 bytes), or 0 when
 * the bytes there are not one: a stray continuation byte, an overlong
 * form, a surrogate, a code point above U+10FFFF or a truncated sequence.
 */
static size_t
utf8_sequence(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

bool
feed_utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, step; i < n; i += step)
		if ((step = utf8_sequence(
		         (const unsigned char *)s + i, n - i)) == 0)
			return false;
	return true;
}

/* Replaces each byte that does not start a valid UTF-8 sequence by '?':
 * an error quoting bad input (or cut inside a character) stays UTF-8. */
static void
make_utf8(char *s)
{
	for (size_t i = 0, len = strlen(s), step; i < len; i += step)
		if ((step = utf8_sequence((unsigned char *)s + i, len - i)) ==
		    0) {
			s[i] = '?';
			step = 1;
		}
}

static void
feed_error_add(struct feed_errors *errs, const char *where, json_int_t n,
    const char *field, const char *fmt, va_list ap)
{
	char msg[512], name[128];

	if (errs->count++ >= MAX_ERRORS)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	snprintf(name, sizeof name, "%s", field);
	make_utf8(msg);
	make_utf8(name);
	json_array_append_new(errs->list, json_pack("{s:I, s:s, s:s}", where, n,
	                                      "field", name, "message", msg));
}

const char *
feed_utf16(const unsigned char head[4], size_t len)
{
	if (len >= 2 && head[0] == 0xff && head[1] == 0xfe)
		return "little-endian, with a byte-order mark";
	if (len >= 2 && head[0] == 0xfe && head[1] == 0xff)
		return "big-endian, with a byte-order mark";
	/* Text in ASCII: every other byte NUL. */
	if (len >= 4 && head[0] != 0 && head[1] == 0 && head[2] != 0 &&
	    head[3] == 0)
		return "little-endian";
	if (len >= 4 && head[0] == 0 && head[1] != 0 && head[2] == 0 &&
	    head[3] != 0)
		return "big-endian";
	return NULL;
}

/* The CSV line of a record, or of its entry when field is "entries[j]…". */
static long
record_line(struct feed_errors *errs, int index, const char *field)
{
	json_t *rec = json_array_get(errs->records, (size_t)index);
	json_t *entry;

	if (strncmp(field, "entries[", 8) == 0) {
		entry = json_array_get(json_object_get(rec, "entries"),
		    strtoul(field + 8, NULL, 10));
		if (json_object_get(entry, "_line") != NULL)
			rec = entry;
	}
	return (long)json_integer_value(json_object_get(rec, "_line"));
}

void
feed_error(struct feed_errors *errs, int index, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (errs->csv)
		feed_error_add(errs, "line", record_line(errs, index, field),
		    field, fmt, ap);
	else
		feed_error_add(errs, "index", index, field, fmt, ap);
	va_end(ap);
}

void
feed_error_line(struct feed_errors *errs, long line, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	feed_error_add(errs, "line", line, field, fmt, ap);
	va_end(ap);
}

const struct field_spec *
feed_field(const struct feed_spec *feed, const char *name)
{
	for (const struct field_spec *f = feed->fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

const struct field_spec *
field_guess(const struct field_spec *fields, const char *name)
{
	const struct field_spec *best = NULL;
	int best_d = 99, d;

	for (const struct field_spec *f = fields; f->name; f++)
		if ((d = name_distance(name, f->name)) < best_d) {
			best_d = d;
			best = f;
		}
	return best != NULL && name_close(name, best_d) ? best : NULL;
}

const struct field_spec *
feed_field_guess(const struct feed_spec *feed, const char *name)
{
	return field_guess(feed->fields, name);
}

static bool
enum_has(const char *const *values, const char *s)
{
	for (; *values != NULL; values++)
		if (strcmp(*values, s) == 0)
			return true;
	return false;
}

/* "unknown value "Grant"; did you mean grant? (allowed: grant, …)". */
static const char *
enum_unknown(const char *const *values, const char *s, char *buf, size_t len)
{
	const char *guess = NULL;
	int best = 99, d;
	size_t used;

	for (const char *const *v = values; *v != NULL; v++)
		if ((d = name_distance(s, *v)) < best) {
			best = d;
			guess = *v;
		}
	if (!name_close(s, best))
		guess = NULL;
	used = (size_t)snprintf(buf, len,
	    "unknown value \"%.60s\"%s%s%s (allowed:", s,
	    guess ? "; did you mean " : "", guess ? guess : "",
	    guess ? "?" : "");
	for (const char *const *v = values; *v != NULL && used < len; v++)
		used += (size_t)snprintf(buf + used, len - used, "%s %s",
		    v == values ? "" : ",", *v);
	if (used < len)
		snprintf(buf + used, len - used, ")");
	return buf;
}

/* Why a value that is not UTF-8 is not: a text in Latin-1 (ISO-8859-1 or
 * Windows-1252), where every byte from 0x80 stands alone, is named so; one
 * with UTF-8's shape (a lead byte then a continuation byte) is not. */
static const char *
not_utf8(const unsigned char *s, size_t n, size_t at, char *buf, size_t len)
{
	bool latin1 = true;

	for (size_t i = 0, step; i < n && latin1; i += step) {
		step = s[i] < 0x80 ? 1 : utf8_sequence(s + i, n - i);
		if (step > 1 || (step == 0 && s[i] >= 0xc0 && i + 1 < n &&
		                    (s[i + 1] & 0xc0) == 0x80))
			latin1 = false; /* some of it is (broken) UTF-8 */
		if (step == 0)
			step = 1;
	}
	snprintf(buf, len, "is not valid UTF-8 (byte 0x%02x at offset %zu)%s",
	    s[at], at,
	    latin1 ? ": the file looks like Latin-1 (ISO-8859-1 or "
	             "Windows-1252); save it as UTF-8"
	           : "");
	return buf;
}

/* The decimals number field f takes: 2 for hours, 6 for fractions; -1
 * for no limit. */
static int
decimal_places(const struct field_spec *f)
{
	return f->flags & F_HOURS ? 2 : f->flags & F_FRACTION ? 6 : -1;
}

/*
 * Why field f refuses the number n: its range, then its decimals, stored
 * exactly as sent and never rounded (RULES.md, "Stored exactly").  The
 * decimals are those of n's shortest text (feed-number.c: what the
 * client's own language prints for it, and what stage_record's 15 digits
 * give for any number that passes here).  So 0.30000000000000004, a sum of
 * 0.1 and 0.2 in a client, has 17 decimals and is refused rather than
 * stored as 0.3; 7.000000001 is refused rather than rounded by
 * numeric(6,2).  A literal no double holds as written (1e-400,
 * 0.99999999999999999) is judged by its own decimals first:
 * feed_inexact_problem.
 */
static const char *
number_problem(const struct field_spec *f, double n, char *buf, size_t len)
{
	int places = decimal_places(f);
	char text[40];

	if (n < f->min || n > f->max || ((f->flags & F_ABOVE) && n <= f->min)) {
		number_text(n, text, sizeof text);
		snprintf(buf, len, "%s is out of range (%s%g to %g)", text,
		    f->flags & F_ABOVE ? "more than " : "", f->min, f->max);
		return buf;
	}
	if (places >= 0 && number_decimals(n) > places) {
		snprintf(buf, len, "at most %d decimals", places);
		return buf;
	}
	return NULL;
}

static const char *
check_number(const struct field_spec *f, json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		return "must be a number";
	return number_problem(f, json_number_value(v), buf, len);
}

/* The code point of the valid UTF-8 sequence of step bytes at s. */
static unsigned
code_point(const unsigned char *s, size_t step)
{
	static const unsigned char lead_bits[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	unsigned cp = s[0] & lead_bits[step];

	for (size_t i = 1; i < step; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

/* A character that shows nothing: Unicode's Default_Ignorable_Code_Point
 * (DerivedCoreProperties.txt: the soft hyphen, the combining grapheme
 * joiner, the Arabic letter mark, the Hangul fillers, the Khmer inherent
 * vowels, the Mongolian variation selectors and vowel separator,
 * zero-width spaces and joiners, direction marks, embeddings, overrides
 * and isolates, the word joiner and invisible operators, the variation
 * selectors, the byte-order mark, the shorthand and musical format
 * controls, the tags), the interlinear annotation controls and the blank
 * Braille pattern. */
static bool
invisible(unsigned cp)
{
	static const unsigned ranges[][2] = { { 0xad, 0xad }, { 0x34f, 0x34f },
		{ 0x61c, 0x61c }, { 0x115f, 0x1160 }, { 0x17b4, 0x17b5 },
		{ 0x180b, 0x180f }, { 0x200b, 0x200f }, { 0x202a, 0x202e },
		{ 0x2060, 0x206f }, { 0x2800, 0x2800 }, { 0x3164, 0x3164 },
		{ 0xfe00, 0xfe0f }, { 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 },
		{ 0xfff0, 0xfffb }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
		{ 0xe0000, 0xe0fff } };

	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	return false;
}

/* A blank: space, tab, the no-break space and Unicode's other spaces. */
static bool
blank(unsigned cp)
{
	return cp == ' ' || cp == '\t' || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f || cp == 0x205f ||
	       cp == 0x3000;
}

/*
 * Why free text (FT_STRING) may not hold the character cp at byte offset
 * at: a control character but tab, ASCII's (0x0a) or the C1 ones (U+0085),
 * Unicode's line and paragraph separators, and in an id (F_ID) a tab or a
 * character that shows nothing.  NULL when it may.
 */
static const char *
text_char_problem(
    const struct field_spec *f, unsigned cp, size_t at, char *buf, size_t len)
{
	const char *what;

	if ((cp < 0x20 && (cp != '\t' || (f->flags & F_ID))) || cp == 0x7f) {
		snprintf(buf, len,
		    "contains the control character 0x%02x at offset %zu", cp,
		    at);
		return buf;
	}
	if (cp >= 0x80 && cp <= 0x9f)
		what = "control character";
	else if (cp == 0x2028 || cp == 0x2029)
		what = "line separator";
	else if ((f->flags & F_ID) && invisible(cp))
		what = "invisible character";
	else
		return NULL;
	snprintf(
	    buf, len, "contains the %s U+%04X at offset %zu", what, cp, at);
	return buf;
}

/*
 * Text as RULES.md wants it stored: valid UTF-8 without NUL (a CSV cell
 * or a JSON \u0000 escape can carry both), and, for free text (FT_STRING),
 * no character text_char_problem refuses; a required one not all blanks
 * (CSV's reader trims an unquoted cell, so "   " there was "is required"),
 * an id without a blank at either end ("P1 " would be another person than
 * P1).  Returns a reason or NULL.
 */
static const char *
check_text(const struct field_spec *f, json_t *v, char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v), step;
	unsigned cp, first = 0, last = 0;
	bool all_blank = true;
	const char *why;

	for (size_t i = 0; i < n; i += step) {
		if (s[i] == '\0')
			return "contains a NUL character";
		if ((step = utf8_sequence(s + i, n - i)) == 0)
			return not_utf8(s, n, i, buf, len);
		if (f->type != FT_STRING)
			continue;
		cp = code_point(s + i, step);
		if ((why = text_char_problem(f, cp, i, buf, len)) != NULL)
			return why;
		first = i == 0 ? cp : first;
		last = cp;
		all_blank = all_blank && blank(cp);
	}
	if (f->type != FT_STRING || n == 0)
		return NULL;
	if (all_blank && (f->flags & F_REQUIRED))
		return "must not be blank";
	if ((f->flags & F_ID) && (blank(first) || blank(last)))
		return "begins or ends with a blank";
	return NULL;
}

/* An address sendmail can take: one @ with text either side, no blanks
 * (spaces, tabs; the control characters check_text refused). */
static const char *
check_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return "must be an address with exactly one @ "
		       "(name@example.org)";
	if (strpbrk(s, " \t") != NULL)
		return "must be an address without spaces";
	return NULL;
}

const char *
feed_inexact_problem(
    const struct field_spec *f, double n, long decimals, char *buf, size_t len)
{
	int places = decimal_places(f);
	const char *why;

	if (places >= 0 && decimals > places) {
		snprintf(buf, len, "at most %d decimals", places);
		return buf;
	}
	why = number_problem(f, n, buf, len);
	return why != NULL ? why : "at most 15 significant digits";
}

/* The decimals of the literal sent for field (a JSON record's path) when
 * a double does not hold it as written; -1 when it does. */
static long
inexact_decimals(const struct feed_errors *errs, const char *field)
{
	if (errs->inexact == NULL)
		return -1;
	for (int i = 0; i < errs->inexact->count; i++)
		if (strcmp(errs->inexact->at[i].field, field) == 0)
			return errs->inexact->at[i].decimals;
	return -1;
}

const char *
feed_field_problem(const struct field_spec *f, json_t *v, char *buf, size_t len)
{
	struct date d;
	const char *why;

	if (f->type == FT_NUMBER)
		return check_number(f, v, buf, len);
	if (!json_is_string(v))
		return "must be a string";
	if ((why = check_text(f, v, buf, len)) != NULL)
		return why;
	const char *s = json_string_value(v);
	switch (f->type) {
	case FT_DATE:
		return date_parse(s, &d) ? NULL : "must be a date YYYY-MM-DD";
	case FT_MONTH:
		return month_parse(s, &d) ? NULL : "must be a month YYYY-MM";
	case FT_TIMESTAMP:
		return timestamp_valid(s)
		           ? NULL
		           : "must be an ISO-8601 timestamp with an offset or Z";
	case FT_ENUM:
		if (enum_has(f->values, s))
			return NULL;
		return enum_unknown(f->values, s, buf, len);
	default:
		if (strlen(s) < (size_t)f->min)
			return "must not be empty";
		if (strlen(s) > (size_t)f->max) {
			snprintf(
			    buf, len, "longer than %g bytes (UTF-8)", f->max);
			return buf;
		}
		if (f->flags & F_EMAIL)
			return check_email(s);
		return NULL;
	}
}

/* Whether key is one of effortd's own in obj: a CSV record's "_line" and
 * "_bad" (fields whose cells the reader refused already), "entries". */
static bool
own_key(const struct feed_spec *feed, const char *key, bool want_entry,
    const struct feed_errors *errs)
{
	return (errs->csv &&
	           (strcmp(key, "_line") == 0 || strcmp(key, "_bad") == 0)) ||
	       (!want_entry && feed->has_entries &&
	           strcmp(key, "entries") == 0);
}

/* Whether f is what an unknown key of obj probably meant (its "unknown
 * field; did you mean f?" then stands for f's "is required" too). */
static bool
guessed(const struct feed_spec *feed, json_t *obj, const struct field_spec *f,
    bool want_entry, const struct feed_errors *errs)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		if (feed_field(feed, key) == NULL &&
		    !own_key(feed, key, want_entry, errs) &&
		    feed_field_guess(feed, key) == f)
			return true;
	}
	return false;
}

/* The length of the blank (blank()) at s, valid UTF-8 of n bytes; 0 when
 * there is none. */
static size_t
blank_at(const unsigned char *s, size_t n)
{
	size_t step = utf8_sequence(s, n);

	return step > 0 && blank(code_point(s, step)) ? step : 0;
}

/*
 * Free text (FT_STRING, not an id) as it is stored, the same from CSV and
 * JSON: without blanks at either end (CSV's reader trims an unquoted cell
 * of spaces and tabs; a quoted cell and a JSON string are trimmed here of
 * every blank()), and an optional one that is empty or nothing but blanks
 * absent, as an empty CSV cell is.  A value check_text() refuses (a required
 * one of blanks, text that is not UTF-8 or holds a control character) is left
 * as sent, so that its error's offset is one in the value sent.  Returns obj's
 * value now.
 */
static json_t *
text_trimmed(const struct field_spec *f, json_t *obj, json_t *v)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v), head = 0, tail = n, step;
	char why[160];

	if (f->type != FT_STRING || (f->flags & F_ID) || !json_is_string(v) ||
	    check_text(f, v, why, sizeof why) != NULL)
		return v;
	while (head < n && (step = blank_at(s + head, n - head)) > 0)
		head += step;
	while (tail > head) {
		size_t k = tail - 1;
		while (k > head && (s[k] & 0xc0) == 0x80)
			k--;
		if (blank_at(s + k, tail - k) != tail - k)
			break;
		tail = k;
	}
	if (head == 0 && tail == n && n > 0)
		return v;
	if (head == tail && (f->flags & F_REQUIRED))
		return v; /* "must not be blank" */
	if (head == tail) {
		json_object_del(obj, f->name);
		return NULL;
	}
	json_object_set_new(obj, f->name,
	    json_stringn_nocheck((const char *)s + head, tail - head));
	return json_object_get(obj, f->name);
}

/* Checks the fields of obj (a record or an entry) that match want_entry. */
static void
check_fields(const struct feed_spec *feed, json_t *obj, bool want_entry,
    int index, const char *prefix, struct feed_errors *errs)
{
	const char *key, *why;
	json_t *v, *bad = json_object_get(obj, "_bad");
	char buf[512], field[96];
	long decimals;

	for (const struct field_spec *f = feed->fields; f->name; f++) {
		if (((f->flags & F_ENTRY) != 0) != want_entry ||
		    (errs->csv && json_object_get(bad, f->name) != NULL))
			continue;
		snprintf(field, sizeof field, "%s%s", prefix, f->name);
		v = text_trimmed(f, obj, json_object_get(obj, f->name));
		if (v == NULL || json_is_null(v)) {
			if ((f->flags & F_REQUIRED) &&
			    !guessed(feed, obj, f, want_entry, errs))
				feed_error(errs, index, field, "is required");
		} else if (f->type == FT_NUMBER && json_is_number(v) &&
		           (decimals = inexact_decimals(errs, field)) >= 0)
			feed_error(errs, index, field, "%s",
			    feed_inexact_problem(f, json_number_value(v),
			        decimals, buf, sizeof buf));
		else if ((why = feed_field_problem(f, v, buf, sizeof buf)) !=
		         NULL)
			feed_error(errs, index, field, "%s", why);
	}
	json_object_foreach(obj, key, v)
	{
		const struct field_spec *f = feed_field(feed, key), *g;
		bool known =
		    (f != NULL && ((f->flags & F_ENTRY) != 0) == want_entry) ||
		    own_key(feed, key, want_entry, errs);
		if (known)
			continue;
		snprintf(field, sizeof field, "%s%.60s", prefix, key);
		if (f == NULL && (g = feed_field_guess(feed, key)) != NULL)
			feed_error(errs, index, field,
			    "unknown field; did you mean %s?", g->name);
		else
			feed_error(errs, index, field, "unknown field");
	}
}

static void
check_entries(const struct feed_spec *feed, json_t *rec, int index,
    struct feed_errors *errs)
{
	json_t *entries = json_object_get(rec, "entries"), *e;
	char prefix[32];
	size_t i;

	if (!json_is_array(entries)) {
		feed_error(errs, index, "entries",
		    entries == NULL ? "is required"
		                    : "must be an array of entries");
		return;
	}
	if (json_array_size(entries) > TIMESHEET_ENTRIES_MAX) {
		feed_error(errs, index, "entries",
		    "more than %d entries; a timesheet has one per activity, "
		    "at most %d",
		    TIMESHEET_ENTRIES_MAX, TIMESHEET_ENTRIES_MAX);
		return;
	}
	json_array_foreach(entries, i, e)
	{
		snprintf(prefix, sizeof prefix, "entries[%zu].", i);
		if (!json_is_object(e)) {
			prefix[strlen(prefix) - 1] = '\0';
			feed_error(errs, index, prefix, "must be an object");
			continue;
		}
		check_fields(feed, e, true, index, prefix, errs);
	}
}

/* Whether the CSV reader refused a cell of the record or its entries:
 * the cross-field checks would then see a field as missing. */
static bool
bad_cells(json_t *rec)
{
	json_t *e;
	size_t i;

	if (json_object_get(rec, "_bad") != NULL)
		return true;
	json_array_foreach(json_object_get(rec, "entries"), i, e)
	{
		if (json_object_get(e, "_bad") != NULL)
			return true;
	}
	return false;
}

int
feed_validate(
    const struct feed_spec *feed, json_t *records, struct feed_errors *errs)
{
	int before = errs->count, n;
	size_t i;
	json_t *rec;

	json_array_foreach(records, i, rec)
	{
		if (!json_is_object(rec)) {
			feed_error(
			    errs, (int)i, "", "a record must be an object");
			continue;
		}
		n = errs->count;
		check_fields(feed, rec, false, (int)i, "", errs);
		if (feed->has_entries)
			check_entries(feed, rec, (int)i, errs);
		if (errs->count == n && feed->check != NULL &&
		    !(errs->csv && bad_cells(rec)))
			feed->check(rec, (int)i, errs);
	}
	return errs->count - before;
}
