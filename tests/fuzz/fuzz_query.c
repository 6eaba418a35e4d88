/*
 * libFuzzer target: a request's query string as the daemon takes it
 * (evhttp_parse_query_str) and the values the handlers parse from it:
 * dates (as_of), months (month) and timestamps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "date.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	struct date d;
	char *s = malloc(len + 1);

	memcpy(s, data, len);
	s[len] = '\0';
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(s, &q) == 0) {
		TAILQ_FOREACH(kv, &q, next)
		{
			if (date_parse(kv->value, &d))
				(void)date_to_days(d);
			if (month_parse(kv->value, &d))
				(void)days_in_month(d.year, d.month);
			(void)timestamp_valid(kv->value);
		}
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
