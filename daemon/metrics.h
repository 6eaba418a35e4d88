/*
 * In-process counters for GET /metrics (Prometheus text format): requests
 * by route and status, latency histograms by route, records ingested per
 * feed, spool files, report reads, database reconnects, the last audit
 * sweep.  The handler adds the pool's gauges, the open findings from the
 * database and the report pool's replication state.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>

#include <event2/buffer.h>

/* Seconds on the monotonic clock. */
double metrics_now(void);
void metrics_request(const char *route, int status, double seconds);
void metrics_records(const char *feed, long n);
void metrics_spool_file(const char *outcome); /* "done", "failed", … */
/* A read meant for the report pool ran on the standby, or on the primary
 * (effortd-replica.c). */
void metrics_report_read(bool on_standby);
void metrics_reconnect(void);
void metrics_connection(int delta, bool refused);
void metrics_sweep(double seconds);
/* Appends every counter above in the text format. */
void metrics_render(struct evbuffer *);

#endif
