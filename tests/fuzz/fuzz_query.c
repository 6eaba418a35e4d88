/*
 * libFuzzer target: a request's query string as the daemon takes it
 * (query_parse, daemon/request-query.c, against a route's declared parameters)
 * and the values the handlers parse from it: dates (as_of), months
 * (month) and timestamps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "date.h"
#include "request-query.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const severities[] = { "violation", "warning", NULL };
static const struct query_param params[] = {
	{ "as_of", NULL },
	{ "month", NULL },
	{ "person_id", NULL },
	{ "severity", severities },
	{ NULL, NULL },
};
static const struct query_spec spec = { "/v1/violations", params };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	struct query_error err;
	struct date d;
	char *s = malloc(len + 1);

	memcpy(s, data, len);
	s[len] = '\0';
	TAILQ_INIT(&q);
	if (query_parse(s, &spec, &q, &err)) {
		TAILQ_FOREACH(kv, &q, next)
		{
			if (date_parse(kv->value, &d))
				(void)date_to_days(d);
			if (month_parse(kv->value, &d))
				(void)days_in_month(d.year, d.month);
			(void)timestamp_valid(kv->value);
		}
	} else if (memchr(err.message, '\0', sizeof err.message) == NULL) {
		abort(); /* the message must be a string */
	}
	evhttp_clear_headers(&q);
	/* The raw bytes as a value too (they need not form a query). */
	if (date_parse(s, &d))
		(void)date_to_days(d);
	(void)month_parse(s, &d);
	(void)timestamp_valid(s);
	free(s);
	return 0;
}
