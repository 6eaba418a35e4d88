/*
 * Local clock times in the organisation's zone (TZ, set from
 * rules.timezone): the instant of a local hh:mm on a given day, worked out
 * by mktime so that the days on which the clocks change (23 or 25 hours
 * long) come out right.  The midnight sweep (job-reaudit.c) and the daily
 * reminders (job-reminders.c) are timed by them.
 */
#ifndef JOB_CLOCK_H
#define JOB_CLOCK_H

#include <time.h>

/*
 * hh:mm local time on the day days_ahead of now's local date.  A time the
 * clocks skip is the same time past the gap (01:30 on the day 01:00 GMT
 * becomes 02:00 BST is 02:30 BST); a time that happens twice is either.
 */
time_t local_time_on(time_t now, int days_ahead, int hour, int min);
/* Seconds from now until the next hh:mm local time (later than now). */
long seconds_until_local(time_t now, int hour, int min);

#endif
