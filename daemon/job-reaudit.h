/*
 * Keeping the audit fresh: the re-evaluation that follows every accepted
 * change (scoped to the people it touched) and the periodic full sweep,
 * timed by audit.sweep_interval and just after local midnight.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

typedef void (*audit_done_cb)(bool ok, void *arg);

/*
 * Re-evaluates the findings of the people in the JSON array people (the
 * "people" a store or a decision returns: person ids, and grants and
 * managers whose people the re-audit reads when it runs,
 * effort_reaudit_people in sql/functions/40_audit.sql), then calls done;
 * at once when the list is empty.  ok: the re-audit ran (if not, the
 * next sweep will catch up).  Does not steal people.
 */
void audit_rescore(json_t *people, audit_done_cb done, void *arg);
void audit_timer_start(void);
/* A full sweep in a second (after a reload that changed the rules). */
void audit_sweep_soon(void);
/* Seconds from now until the next 00:01 in the organisation's zone (TZ). */
long sweep_seconds_to_midnight(time_t now);
void audit_timer_stop(void);

#endif
