/*
 * libFuzzer target: a CSV feed body (the first byte picks the feed, the
 * second how many bytes the reader takes at a time and, with its high bit,
 * a feed mapping: semicolons, decimal commas, dd/mm/yyyy, mapped and
 * ignored columns), read by csvfeed.c's
 * reader a slice at a time as feed.c does, each record validated as it is
 * handed out; the records must be those csv_feed_parse reads in one go.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "config.h"
#include "fuzz-feeds.h"
#include "ingest-csv.h"

/* A mapping such as an HR export needs (docs/configuration.md). */
static const struct feed_map *
fuzz_map(void)
{
	static struct feed_map map;

	if (map.columns == NULL) {
		map.columns = json_pack("{s:s, s:s, s:s, s:s}", "person_id",
		    "Employee Number", "hours", "Hours", "start_date", "From",
		    "fte", "FTE");
		map.ignore_columns = json_pack("[s, s]", "Department", "");
		map.delimiter = ";";
		map.decimal_separator = ",";
		map.date_format = "%d/%m/%Y";
	}
	return &map;
}

static void
check_one(const struct feed_spec *feed, json_t *rec, struct feed_errors *errs)
{
	json_t *one = json_array(), *saved = errs->records;

	json_array_append(one, rec);
	errs->records = one;
	feed_validate(feed, one, errs);
	errs->records = saved;
	json_decref(one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const struct feed_spec *feed;
	const struct feed_map *map;
	struct evbuffer *buf;
	struct feed_errors errs, errs2;
	struct csv_reader *cr;
	json_t *records, *rec;
	size_t piece, i = 0;
	bool bad, failed = false;
	char err[256];

	if (len < 2)
		return 0;
	feed = fuzz_feeds[data[0] % 6];
	piece = (size_t)(data[1] & 0x7f) + 1;
	map = data[1] & 0x80 ? fuzz_map() : NULL;

	/* In one go. */
	buf = evbuffer_new();
	evbuffer_add(buf, data + 2, len - 2);
	feed_errors_init(&errs, true);
	records = csv_feed_parse_map(feed, map, buf, &errs, err, sizeof err);
	evbuffer_free(buf);

	/* A slice at a time. */
	buf = evbuffer_new();
	evbuffer_add(buf, data + 2, len - 2);
	feed_errors_init(&errs2, true);
	cr = csv_reader_new(feed, &errs2);
	csv_reader_map(cr, map);
	while (!failed && evbuffer_get_length(buf) > 0) {
		failed = csv_reader_feed(cr, buf, piece, true, err, sizeof err) != 0;
		while (!failed && (rec = csv_reader_next(cr, &bad)) != NULL) {
			/* (Rows before a malformed one are handed out.) */
			if (records != NULL &&
			    !json_equal(rec, json_array_get(records, i)))
				abort();
			i++;
			check_one(feed, rec, &errs2);
			json_decref(rec);
		}
	}
	if (!failed)
		failed = csv_reader_finish(cr, err, sizeof err) != 0;
	while (!failed && (rec = csv_reader_next(cr, &bad)) != NULL) {
		/* (Rows before a malformed one are handed out.) */
		if (records != NULL &&
		    !json_equal(rec, json_array_get(records, i)))
			abort();
		i++;
		check_one(feed, rec, &errs2);
		json_decref(rec);
	}
	if (failed != (records == NULL) || (!failed && i != json_array_size(records)))
		abort(); /* the two readings disagree */
	csv_reader_free(cr);
	json_decref(records);
	json_decref(errs.list);
	json_decref(errs2.list);
	evbuffer_free(buf);
	return 0;
}
