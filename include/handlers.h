/* The route handlers (one file per concern in daemon/). */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "request.h"

void handle_feed(struct request *);       /* feed.c */
void handle_healthz(struct request *);    /* health.c */
void handle_metrics(struct request *);    /* health.c */
void handle_timesheets(struct request *); /* timesheets.c */
void handle_versions(struct request *);   /* timesheets.c */
void handle_approve(struct request *);    /* timesheets.c */
void handle_reject(struct request *);     /* timesheets.c */
void handle_violations(struct request *); /* violations.c */

#endif
