/*
 * Which format a feed body is in, from its Content-Type: application/json
 * or text/csv, case-insensitive, each optionally with one parameter
 * charset=utf-8 (quoted or not).  Anything else, a missing Content-Type
 * included, is a 415 naming what was received and what is accepted, so a
 * body is never parsed as something it was not said to be.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-feed-type.h"
#include "xmalloc.h"

/* s without leading and trailing spaces and tabs, as [*start, *end). */
static void
trim(const char *s, size_t n, const char **start, const char **end)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*start = s;
	*end = s + n;
}

static bool
equals_nocase(const char *start, const char *end, const char *want)
{
	return (size_t)(end - start) == strlen(want) &&
	       strncasecmp(start, want, (size_t)(end - start)) == 0;
}

/* The only parameter accepted: charset=utf-8 (or "utf-8"). */
static bool
parameter_ok(const char *p)
{
	const char *eq = strchr(p, '='), *k0, *k1, *v0, *v1;

	if (eq == NULL)
		return false;
	trim(p, (size_t)(eq - p), &k0, &k1);
	trim(eq + 1, strlen(eq + 1), &v0, &v1);
	if (v1 - v0 >= 2 && *v0 == '"' && v1[-1] == '"') {
		v0++;
		v1--;
	}
	return equals_nocase(k0, k1, "charset") &&
	       equals_nocase(v0, v1, "utf-8");
}

/* 0 JSON, 1 CSV, -1 neither. */
static int
media_type(const char *ct)
{
	const char *semi = strchr(ct, ';'), *t0, *t1;
	int kind;

	trim(ct, semi != NULL ? (size_t)(semi - ct) : strlen(ct), &t0, &t1);
	if (equals_nocase(t0, t1, "application/json"))
		kind = 0;
	else if (equals_nocase(t0, t1, "text/csv"))
		kind = 1;
	else
		return -1;
	if (semi != NULL &&
	    (strchr(semi + 1, ';') != NULL || !parameter_ok(semi + 1)))
		return -1;
	return kind;
}

/* The header as it may go into a JSON message: printable ASCII, at most
 * 100 bytes, anything else as '?'. */
static char *
shown(const char *s)
{
	size_t n = strlen(s) > 100 ? 100 : strlen(s);
	char *out = xstrndup(s, n);

	for (char *p = out; *p != '\0'; p++) {
		if (!isprint((unsigned char)*p))
			*p = '?';
	}
	return out;
}

bool
feed_content_type(struct request *r, bool *csv)
{
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Content-Type");
	int kind = ct != NULL ? media_type(ct) : -1;
	char *got, *msg;

	if (kind >= 0) {
		*csv = kind == 1;
		return true;
	}
	got = ct != NULL ? shown(ct) : NULL;
	xasprintf(&msg,
	    "%s%s%s; a feed is application/json or text/csv "
	    "(optionally with ; charset=utf-8)",
	    got != NULL ? "Content-Type " : "no Content-Type",
	    got != NULL ? got : "", got != NULL ? " is not accepted" : "");
	reply_json(r, 415,
	    json_pack("{s:s, s:s?, s:[s,s]}", "error", msg, "content_type", got,
	        "accepted", "application/json", "text/csv"));
	free(msg);
	free(got);
	return false;
}
