/* The route handlers (one file per concern in daemon/). */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "request.h"

void handle_feed(struct request *);                 /* feed.c */
void handle_healthz(struct request *);              /* health.c */
void handle_me(struct request *);                   /* me.c */
void handle_metrics(struct request *);              /* health.c */
void handle_timesheets(struct request *);           /* timesheets.c */
void handle_versions(struct request *);             /* timesheets.c */
void handle_approve(struct request *);              /* timesheets.c */
void handle_reject(struct request *);               /* timesheets.c */
void handle_approve_many(struct request *);         /* timesheets.c */
void handle_violations(struct request *);           /* violations.c */
void handle_report_grant(struct request *);         /* reports.c */
void handle_report_evidence(struct request *);      /* reports.c */
void handle_report_investigators(struct request *); /* reports.c */
void handle_report_compliance(struct request *);    /* reports.c */

/* Approvals, tokens, the audit trail and reminders. */
void handle_pending(struct request *);           /* pending.c */
void handle_delegate(struct request *);          /* pending.c */
void handle_tokens_list(struct request *);       /* tokens-api.c */
void handle_token_create(struct request *);      /* tokens-api.c */
void handle_token_revoke(struct request *);      /* tokens-api.c */
void handle_audit_log(struct request *);         /* auditlog.c */
void handle_audit_verify(struct request *);      /* auditlog.c */
void handle_reminders_preview(struct request *); /* reminders.c */
void handle_reminders_run(struct request *);     /* reminders.c */

#endif
