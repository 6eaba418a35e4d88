/*
 * In-process counters for GET /metrics (Prometheus text format): requests
 * by route and status, latency histograms by route, records ingested per
 * feed, spool files, database reconnects, the last audit sweep.  The
 * handler adds the pool's gauges and the open findings from the database.
 */
#ifndef METRICS_H
#define METRICS_H

#include <event2/buffer.h>

/* Seconds on the monotonic clock. */
double metrics_now(void);
void metrics_request(const char *route, int status, double seconds);
void metrics_records(const char *feed, long n);
void metrics_spool_file(const char *outcome); /* "done", "failed", … */
void metrics_reconnect(void);
void metrics_connection(int delta, bool refused);
void metrics_sweep(double seconds);
/* Appends every counter above in the text format. */
void metrics_render(struct evbuffer *);

#endif
