/*
 * Local clock times in the organisation's zone (job-clock.h).
 */
#include <time.h>

#include "job-clock.h"

time_t
local_time_on(time_t now, int days_ahead, int hour, int min)
{
	struct tm at;

	localtime_r(&now, &at);
	at.tm_mday += days_ahead; /* mktime carries it into the next month */
	at.tm_hour = hour;
	at.tm_min = min;
	at.tm_sec = 0;
	at.tm_isdst = -1;
	return mktime(&at);
}

/*
 * Worked out by mktime from the dates, not as 86,400 less the seconds since
 * hh:mm: a local day is 23 or 25 hours long when the clocks change, and a
 * daily job would otherwise run an hour late (or early) the day after.
 */
long
seconds_until_local(time_t now, int hour, int min)
{
	time_t next = local_time_on(now, 0, hour, min);

	if (next <= now)
		next = local_time_on(now, 1, hour, min);
	return (long)(next - now);
}
