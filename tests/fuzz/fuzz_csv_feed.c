/*
 * libFuzzer target: a CSV feed body (the first byte picks the feed),
 * parsed by csvfeed.c and, when it parses, validated record by record.
 */
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "fuzz-feeds.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const struct feed_spec *feed;
	struct evbuffer *buf;
	struct feed_errors errs;
	json_t *records;
	char err[256];

	if (len < 1)
		return 0;
	feed = fuzz_feeds[data[0] % 6];
	buf = evbuffer_new();
	evbuffer_add(buf, data + 1, len - 1);
	feed_errors_init(&errs, true);
	records = csv_feed_parse(feed, buf, &errs, err, sizeof err);
	if (records != NULL) {
		errs.records = records;
		feed_validate(feed, records, &errs);
	}
	json_decref(records);
	json_decref(errs.list);
	evbuffer_free(buf);
	return 0;
}
