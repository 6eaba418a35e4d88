/*
 * Daily reminders: once a day, at notify.hour local time, the digests of
 * sql/functions/63_reminders.sql are claimed and sent by mail and/or
 * webhook (notify.h).  GET /v1/reminders and POST /v1/reminders/run are in
 * handlers.h.
 */
#ifndef REMINDERS_H
#define REMINDERS_H

void reminders_start(void); /* the daily timer */
/* Stops the timer and abandons sends in flight; after the event loop. */
void reminders_stop(void);

#endif
