/*
 * libFuzzer target: a JSON feed body as POST /v1/<feed> takes it (the
 * first byte picks the feed): the nesting pre-scan, jansson's parser and
 * the record validator.
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

	if (len < 1)
		return 0;
	feed = fuzz_feeds[data[0] % 6];
	buf = evbuffer_new();
	evbuffer_add(buf, data + 1, len - 1);
	if (!json_too_deep(buf, 32)) {
		records = json_loadb((const char *)data + 1, len - 1,
		    JSON_REJECT_DUPLICATES, NULL);
		if (json_is_array(records)) {
			feed_errors_init(&errs, false);
			feed_validate(feed, records, &errs);
			json_decref(errs.list);
		}
		json_decref(records);
	}
	evbuffer_free(buf);
	return 0;
}
