/*
 * Unit tests of the midnight sweep's timing (daemon/job-reaudit.c): the
 * seconds until the next 00:01 in the organisation's zone, on ordinary
 * days and on the days the clocks change, when the local day is 23 or 25
 * hours long.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <time.h>

#include "job-reaudit.h"
#include "unit-clock.h"

static void
ordinary_days(void **state)
{
	(void)state;
	in_zone("Europe/London");
	/* 00:01:00 GMT on 10 Jan: the next is a whole day away */
	assert_int_equal(
	    sweep_seconds_to_midnight(utc(2026, 1, 10, 0, 1, 0)), 86400);
	/* 00:00:30: today's 00:01 is 30 s away */
	assert_int_equal(
	    sweep_seconds_to_midnight(utc(2026, 1, 10, 0, 0, 30)), 30);
	/* 23:59:00 on 31 Dec: 00:01 on 1 Jan */
	assert_int_equal(
	    sweep_seconds_to_midnight(utc(2026, 12, 31, 23, 59, 0)), 120);
	/* 12:00 BST (11:00 UTC) on 1 Jul: 12 h 1 min */
	assert_int_equal(sweep_seconds_to_midnight(utc(2026, 7, 1, 11, 0, 0)),
	    12 * 3600 + 60);
}

static void
clock_changes(void **state)
{
	(void)state;
	in_zone("Europe/London");
	/* 00:01 GMT on Sunday 29 Mar 2026, when 01:00 GMT becomes 02:00 BST:
	 * the next 00:01 (BST, 23:01 UTC) is 23 hours away, not 24 */
	assert_int_equal(
	    sweep_seconds_to_midnight(utc(2026, 3, 29, 0, 1, 0)), 23 * 3600);
	/* 00:01 BST on Sunday 25 Oct 2026 (23:01 UTC the day before), when
	 * 02:00 BST becomes 01:00 GMT: 25 hours away */
	assert_int_equal(
	    sweep_seconds_to_midnight(utc(2026, 10, 24, 23, 1, 0)), 25 * 3600);
	/* another zone: New York, 8 Mar 2026 (02:00 EST becomes 03:00 EDT) */
	in_zone("America/New_York");
	assert_int_equal(
	    sweep_seconds_to_midnight(utc(2026, 3, 8, 5, 1, 0)), 23 * 3600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ordinary_days),
		cmocka_unit_test(clock_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
