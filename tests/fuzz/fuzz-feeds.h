/* The feeds the parser targets choose from with their first input byte. */
#ifndef FUZZ_FEEDS_H
#define FUZZ_FEEDS_H

#include "feed-specs.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct feed_spec *const fuzz_feeds[] = { &feed_people,
	&feed_grants, &feed_assignments, &feed_charges, &feed_delegations,
	&feed_timesheets };

#endif
