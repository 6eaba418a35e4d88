/* The route handlers (one file per concern in daemon/). */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "request.h"

void handle_feed(struct request *);                 /* api-feed.c */
void handle_healthz(struct request *);              /* api-health.c */
void handle_me(struct request *);                   /* api-me.c */
void handle_metrics(struct request *);              /* api-health.c */
void handle_timesheets(struct request *);           /* api-timesheets.c */
void handle_versions(struct request *);             /* api-timesheets.c */
void handle_approve(struct request *);              /* api-timesheets.c */
void handle_reject(struct request *);               /* api-timesheets.c */
void handle_approve_many(struct request *);         /* api-timesheets.c */
void handle_violations(struct request *);           /* api-violations.c */
void handle_report_grant(struct request *);         /* api-reports.c */
void handle_report_evidence(struct request *);      /* api-reports.c */
void handle_report_investigators(struct request *); /* api-reports.c */
void handle_report_compliance(struct request *);    /* api-reports.c */

/* Approvals, tokens, the audit trail and reminders. */
void handle_pending(struct request *);           /* api-pending.c */
void handle_delegate(struct request *);          /* api-pending.c */
void handle_tokens_list(struct request *);       /* api-tokens.c */
void handle_token_create(struct request *);      /* api-tokens.c */
void handle_token_revoke(struct request *);      /* api-tokens.c */
void handle_audit_log(struct request *);         /* api-audit-trail.c */
void handle_audit_verify(struct request *);      /* api-audit-trail.c */
void handle_reminders_preview(struct request *); /* api-reminders.c */
void handle_reminders_run(struct request *);     /* api-reminders.c */

#endif
