/*
 * Clock helpers shared by the unit tests of the daemon's timers
 * (test_sweep_delay.c, test_reminder_hour.c): UTC instants and the local
 * zone the timers compute in.
 */
#ifndef UNIT_CLOCK_H
#define UNIT_CLOCK_H

#include <stdlib.h>
#include <time.h>

/* The instant of a UTC date and time. */
static inline time_t
utc(int year, int month, int day, int hour, int min, int sec)
{
	struct tm t = { .tm_year = year - 1900,
		.tm_mon = month - 1,
		.tm_mday = day,
		.tm_hour = hour,
		.tm_min = min,
		.tm_sec = sec };

	return timegm(&t);
}

/* Local time is now that of zone (e.g. "Europe/London"). */
static inline void
in_zone(const char *zone)
{
	setenv("TZ", zone, 1);
	tzset();
}

#endif
