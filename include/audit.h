/*
 * Keeping the audit fresh: the re-evaluation that follows every accepted
 * change (scoped to the people it touched) and the periodic full sweep,
 * timed by audit.sweep_interval and just after local midnight.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <jansson.h>

#include "request.h"

/*
 * Re-evaluates the people listed in out["people"], then answers 200 with
 * out less that key.  Steals out.
 */
void audit_then_reply(struct request *, json_t *out);
/*
 * The database callback of a change (arg: the request): a refusal from the
 * SQL is answered as it is; otherwise as audit_then_reply.
 */
void db_reply_then_audit(const struct db_result *, void *);
void audit_timer_start(void);
void audit_timer_stop(void);

#endif
