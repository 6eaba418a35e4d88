/*
 * Daily reminders: once a day, at notify.hour local time, the digests of
 * sql/functions/63_reminders.sql are claimed and sent by mail and/or
 * webhook (job-notify.h); a message not delivered gives its items back
 * and the timer tries again (notify.retry_seconds, doubling, until local
 * midnight), as it does when the database does not answer.  GET
 * /v1/reminders and POST /v1/reminders/run (api-reminders.c) preview them
 * and send them now.
 */
#ifndef REMINDERS_H
#define REMINDERS_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "db-pool.h"

void reminders_start(void); /* the daily timer */
/* Stops the timer and abandons sends in flight; after the event loop. */
void reminders_stop(void);

/* How a run asked for by reminders_run ended. */
enum reminders_end {
	REMINDERS_SENT,      /* every send finished: summary */
	REMINDERS_DB_FAILED, /* the database did not answer: db; none sent */
	REMINDERS_STOPPED,   /* effortd stopped; some may not have been sent */
};
struct reminders_outcome {
	enum reminders_end end;
	json_t
	    *summary; /* SENT: {day, messages, mail, webhook}; the callee's */
	const struct db_result *db; /* DB_FAILED */
	int released; /* SENT: messages not delivered, their items given back */
};
typedef void (*reminders_done_cb)(const struct reminders_outcome *, void *);

/* Claims today's reminders and sends them; done (NULL: none) when every
 * send has finished. */
void reminders_run(reminders_done_cb done, void *arg);
/* Today's reminders, neither claimed nor sent: cb gets the database's
 * answer. */
void reminders_preview(db_cb cb, void *arg);

/* Seconds from now until the daily timer looks again (hourly). */
long reminders_seconds_to_check(time_t now);
/*
 * Whether the daily run is due at now, for notify.hour hour (local time,
 * TZ): *last_day is the local date of the last run (-1: none yet), set to
 * now's when it is due.
 */
bool reminders_due(time_t now, int hour, long *last_day);
/*
 * Seconds from now until the timer's try number tries (1: the first after
 * a failed run): first, doubled at each try, at most an hour; -1 if that
 * would be at or past the next local midnight (no more tries that day).
 */
long reminders_retry_delay(time_t now, long first, int tries);

#endif
