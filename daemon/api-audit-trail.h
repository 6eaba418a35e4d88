/*
 * The audit trail seen from the daemon: GET /v1/audit and
 * GET /v1/audit/verify (api-handlers.h), and the row a configuration reload
 * appends.  Changes to the data are logged by triggers in PostgreSQL
 * (sql/functions/60_audit_log.sql).
 */
#ifndef AUDITLOG_H
#define AUDITLOG_H

#include "config.h"

/* Appends a "reloaded" row with the settings before and after (never
 * a connection string); called after a successful SIGHUP. */
void auditlog_config_reloaded(
    const struct config *before, const struct config *after);

#endif
