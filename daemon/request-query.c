/*
 * The query string of a request, parsed strictly against the parameters
 * its route declares (http-routes.c): every parameter must be declared, given
 * once, with a value, percent-encoded correctly (%XX with two hex digits;
 * no NUL and no control characters once decoded, and a value UTF-8 and
 * not empty), where the route lists values, one of them, and an id no
 * longer than the feeds take one.  Anything
 * else is a 400 naming the parameter:
 *
 *   {"error": "rule must be timesheet_missing, ... or teaching_excess",
 *    "errors": [{"parameter": "rule", "message": "(the same)"}]}
 *
 * so that a misspelt filter never answers an unfiltered list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "feed-validate.h"
#include "request-query.h"
#include "xmalloc.h"

enum { NAME_SHOWN_MAX = 64 };

/* Records the refusal of parameter name (shown as it came). */
static void
refuse(struct query_error *err, const char *name, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->parameter, sizeof err->parameter, "%s", name);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

/* Text that can go into a message: printable ASCII kept, other bytes as
 * \xNN, at most NAME_SHOWN_MAX bytes of the input. */
static char *
shown(const char *s, size_t n)
{
	char *out, *p;

	if (n > NAME_SHOWN_MAX)
		n = NAME_SHOWN_MAX;
	p = out = xmalloc(4 * n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	*p = '\0';
	return out;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes n bytes of s ('+' is a space).  NULL with *why set on a
 * malformed escape, a NUL or a control character.
 */
static char *
decode(const char *s, size_t n, const char **why)
{
	char *out = xmalloc(n + 1), *p = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				*why = "bad percent-encoding: % must be "
				       "followed by two hexadecimal digits";
				free(out);
				return NULL;
			}
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0' || c < 0x20 || c == 0x7f) {
			*why = c == '\0' ? "an encoded NUL (%00) is not allowed"
			                 : "control characters are not allowed";
			free(out);
			return NULL;
		}
		*p++ = (char)c;
	}
	*p = '\0';
	return out;
}

/* "a, b or c" (last "or") or "a, b, c" (last ",") from a NULL-terminated
 * list of names stride bytes apart. */
static char *
names_list(const char *const *names, size_t stride, const char *last)
{
	char *out = xstrdup(""), *next;

	for (const char *const *n = names; *n != NULL;
	     n = (const char *const *)((const char *)n + stride)) {
		const char *const *after =
		    (const char *const *)((const char *)n + stride);
		const char *sep = *out == '\0'                     ? ""
		                  : *after != NULL || *last == ',' ? ", "
		                                                   : " or ";

		xasprintf(&next, "%s%s%s", out, sep, *n);
		free(out);
		out = next;
	}
	return out;
}

static const struct query_param *
param_find(const struct query_param *params, const char *name)
{
	for (; params != NULL && params->name != NULL; params++) {
		if (strcmp(params->name, name) == 0)
			return params;
	}
	return NULL;
}

static bool
value_allowed(const struct query_param *p, const char *value)
{
	if (p->values == NULL)
		return true;
	for (const char *const *v = p->values; *v != NULL; v++) {
		if (strcmp(*v, value) == 0)
			return true;
	}
	return false;
}

/* Whether parameter name is an id, whatever the route. */
static bool
param_is_id(const char *name)
{
	return strcmp(name, "person_id") == 0 || strcmp(name, "grant_ref") == 0;
}

/* Checks one decoded parameter; fills err and returns false if bad. */
static bool
param_check(const struct query_spec *spec, struct evkeyvalq *out,
    const char *name, const char *value, struct query_error *err)
{
	const struct query_param *p = param_find(spec->params, name);
	char *list;

	if (p == NULL) {
		char *s = shown(name, strlen(name));

		list = spec->params != NULL ? names_list(&spec->params->name,
		                                  sizeof *spec->params, ",")
		                            : xstrdup("");
		refuse(err, s, "unknown query parameter \"%s\"; %s takes %s", s,
		    spec->pattern, *list ? list : "no query parameters");
		free(list);
		free(s);
		return false;
	}
	if (evhttp_find_header(out, name) != NULL) {
		refuse(err, name, "query parameter \"%s\" given more than once",
		    name);
		return false;
	}
	if (!value_allowed(p, value)) {
		list = names_list(p->values, sizeof *p->values, "or");
		refuse(err, name, "%s must be %s", name, list);
		free(list);
		return false;
	}
	if (param_is_id(name) && strlen(value) > FEED_ID_MAX) {
		refuse(err, name, "%s is longer than %d bytes: no id is", name,
		    FEED_ID_MAX);
		return false;
	}
	evhttp_add_header(out, name, value);
	return true;
}

/* One "name=value" of length n; fills err and returns false if bad. */
static bool
segment_parse(const struct query_spec *spec, struct evkeyvalq *out,
    const char *seg, size_t n, struct query_error *err)
{
	const char *eq = memchr(seg, '=', n), *why = NULL;
	size_t name_len = eq != NULL ? (size_t)(eq - seg) : n;
	char *name = decode(seg, name_len, &why), *value, *s;
	bool ok;

	if (name == NULL || *name == '\0' || eq == NULL) {
		if (name != NULL)
			why = *name == '\0' ? "a parameter without a name"
			                    : "no value (name=value)";
		s = shown(seg, name_len);
		refuse(err, s, "query parameter \"%s\": %s", s, why);
		free(s);
		free(name);
		return false;
	}
	/* A value goes to the database, which takes only UTF-8 (a name that
	 * is not is an unknown parameter, shown escaped). */
	value = decode(eq + 1, n - name_len - 1, &why);
	if (value != NULL && !feed_utf8_valid(value, strlen(value))) {
		why = "not valid UTF-8";
		free(value);
		value = NULL;
	} else if (value != NULL && *value == '\0') {
		/* person_id= filters by nothing: an empty list, as a
		 * misspelt filter would answer. */
		why = "an empty value (name=value)";
		free(value);
		value = NULL;
	}
	if (value == NULL) {
		s = shown(name, strlen(name));
		refuse(err, s, "query parameter \"%s\": %s", s, why);
		free(s);
		free(name);
		return false;
	}
	ok = param_check(spec, out, name, value, err);
	free(name);
	free(value);
	return ok;
}

bool
query_parse(const char *q, const struct query_spec *spec, struct evkeyvalq *out,
    struct query_error *err)
{
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&");

		if (n > 0 && !segment_parse(spec, out, q, n, err))
			return false;
		q += n;
		if (*q == '&')
			q++;
	}
	return true;
}
