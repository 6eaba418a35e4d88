/*
 * Unit tests of the reminders' daily timer (daemon/job-reminders.c): from a
 * given moment, the timer's hourly looks are followed over a few days, and
 * the moments at which the daily run is due are compared with the
 * expected ones: once a local day, at notify.hour, also on the days the
 * clocks change, when that hour is skipped or happens twice.  And the
 * delays before the tries after a failed run: doubling up to an hour,
 * none at or past local midnight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "job-reminders.h"
#include "unit-clock.h"

#define MAX_RUNS 8

/*
 * The timer from `from` to `to` for notify.hour `hour`: each look asks
 * whether the run is due, then waits as the timer does.  Fills runs with
 * the instants of the runs; returns how many there were.
 */
static int
follow_timer(time_t from, time_t to, int hour, time_t *runs)
{
	long last_day = -1;
	int n = 0;

	for (time_t now = from; now < to;
	     now += reminders_seconds_to_check(now)) {
		if (reminders_due(now, hour, &last_day)) {
			assert_true(n < MAX_RUNS);
			runs[n++] = now;
		}
	}
	return n;
}

static void
ordinary_days(void **state)
{
	time_t runs[MAX_RUNS];

	(void)state;
	in_zone("Europe/London");
	/* notify.hour 8 in January (GMT) and July (BST): 08:00:05 local */
	assert_int_equal(follow_timer(utc(2026, 1, 9, 12, 34, 56),
	                     utc(2026, 1, 11, 12, 0, 0), 8, runs),
	    2);
	assert_int_equal(runs[0], utc(2026, 1, 10, 8, 0, 5));
	assert_int_equal(runs[1], utc(2026, 1, 11, 8, 0, 5));
	assert_int_equal(follow_timer(utc(2026, 7, 1, 0, 0, 0),
	                     utc(2026, 7, 2, 0, 0, 0), 8, runs),
	    1);
	assert_int_equal(runs[0], utc(2026, 7, 1, 7, 0, 5));
	/* started within the hour: at once; after it: the next day */
	assert_int_equal(follow_timer(utc(2026, 1, 10, 8, 30, 0),
	                     utc(2026, 1, 11, 12, 0, 0), 8, runs),
	    2);
	assert_int_equal(runs[0], utc(2026, 1, 10, 8, 30, 0));
	assert_int_equal(runs[1], utc(2026, 1, 11, 8, 0, 5));
	assert_int_equal(follow_timer(utc(2026, 1, 10, 9, 0, 0),
	                     utc(2026, 1, 11, 0, 0, 0), 8, runs),
	    0);
}

static void
clocks_go_forward(void **state)
{
	time_t runs[MAX_RUNS];

	(void)state;
	in_zone("Europe/London");
	/* Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST, so 01:00 local
	 * never comes; that day's run is at 02:00 BST, the moment after the
	 * gap, once */
	assert_int_equal(follow_timer(utc(2026, 3, 28, 0, 0, 0),
	                     utc(2026, 3, 31, 0, 0, 0), 1, runs),
	    3);
	assert_int_equal(runs[0], utc(2026, 3, 28, 1, 0, 5)); /* 01:00 GMT */
	assert_int_equal(runs[1], utc(2026, 3, 29, 1, 0, 5)); /* 02:00 BST */
	assert_int_equal(runs[2], utc(2026, 3, 30, 0, 0, 5)); /* 01:00 BST */
	/* notify.hour 2 that day: 02:00 BST as well, once */
	assert_int_equal(follow_timer(utc(2026, 3, 29, 0, 0, 0),
	                     utc(2026, 3, 30, 0, 0, 0), 2, runs),
	    1);
	assert_int_equal(runs[0], utc(2026, 3, 29, 1, 0, 5));
	/* New York, 8 March 2026: 02:00 EST becomes 03:00 EDT */
	in_zone("America/New_York");
	assert_int_equal(follow_timer(utc(2026, 3, 8, 5, 0, 0),
	                     utc(2026, 3, 9, 5, 0, 0), 2, runs),
	    1);
	assert_int_equal(runs[0], utc(2026, 3, 8, 7, 0, 5)); /* 03:00 EDT */
}

static void
clocks_go_back(void **state)
{
	time_t runs[MAX_RUNS];

	(void)state;
	in_zone("Europe/London");
	/* Sunday 25 October 2026: 02:00 BST becomes 01:00 GMT, so 01:00 local
	 * comes twice; the run is at the first, once */
	assert_int_equal(follow_timer(utc(2026, 10, 23, 23, 30, 0),
	                     utc(2026, 10, 27, 0, 0, 0), 1, runs),
	    3);
	assert_int_equal(runs[0], utc(2026, 10, 24, 0, 0, 5)); /* 01:00 BST */
	assert_int_equal(runs[1], utc(2026, 10, 25, 0, 0, 5)); /* 01:00 BST */
	assert_int_equal(runs[2], utc(2026, 10, 26, 1, 0, 5)); /* 01:00 GMT */
	/* started in the second 01:00 (GMT) that day: at once, once */
	assert_int_equal(follow_timer(utc(2026, 10, 25, 1, 10, 0),
	                     utc(2026, 10, 26, 0, 0, 0), 1, runs),
	    1);
	assert_int_equal(runs[0], utc(2026, 10, 25, 1, 10, 0));
}

static void
retry_delays(void **state)
{
	time_t at = utc(2026, 1, 10, 8, 0, 5); /* 08:00:05 GMT */

	(void)state;
	in_zone("Europe/London");
	/* notify.retry_seconds 300: 5, 10, 20, 40 min, then an hour */
	assert_int_equal(reminders_retry_delay(at, 300, 1), 300);
	assert_int_equal(reminders_retry_delay(at, 300, 2), 600);
	assert_int_equal(reminders_retry_delay(at, 300, 3), 1200);
	assert_int_equal(reminders_retry_delay(at, 300, 4), 2400);
	assert_int_equal(reminders_retry_delay(at, 300, 5), 3600);
	assert_int_equal(reminders_retry_delay(at, 300, 40), 3600);
	assert_int_equal(reminders_retry_delay(at, 1, 3), 4);
	assert_int_equal(reminders_retry_delay(at, 3600, 1), 3600);
	/* not at or past local midnight: 23:50 + 10 min is midnight */
	at = utc(2026, 1, 10, 23, 50, 0);
	assert_int_equal(reminders_retry_delay(at, 300, 1), 300);
	assert_int_equal(reminders_retry_delay(at, 300, 2), -1);
	assert_int_equal(reminders_retry_delay(at - 1, 300, 2), 600);
	/* local midnight, not UTC's: 23:49:59 BST is 22:49:59 UTC */
	at = utc(2026, 7, 10, 22, 49, 59);
	assert_int_equal(reminders_retry_delay(at, 300, 2), 600);
	assert_int_equal(reminders_retry_delay(at, 3600, 1), -1);
	/* the night the clocks go back (25 hours): 23:30 GMT, 25 October */
	at = utc(2026, 10, 25, 23, 30, 0);
	assert_int_equal(reminders_retry_delay(at, 1200, 1), 1200);
	assert_int_equal(reminders_retry_delay(at, 1200, 2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ordinary_days),
		cmocka_unit_test(clocks_go_forward),
		cmocka_unit_test(clocks_go_back),
		cmocka_unit_test(retry_delays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
