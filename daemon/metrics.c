/*
 * The counters behind GET /metrics.  Everything runs on the one event
 * loop, so plain integers suffice.  Series are kept in small lists keyed
 * by their label values (routes, statuses and feeds are a few dozen at
 * most) and rendered in the Prometheus text exposition format 0.0.4.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "xmalloc.h"

static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10 };
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct series {
	char *a, *b; /* label values */
	long count;
	double sum;
	long bucket[NBUCKETS];
	struct series *next;
};

static struct series *requests; /* route, status */
static struct series *latency;  /* route */
static struct series *records;  /* feed */
static struct series *spool;    /* outcome */
static struct series *reports;  /* server: standby, primary */
static long reconnects, conns_open, conns_refused;
static double sweep_seconds, sweep_time;

double
metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct series *
series_get(struct series **list, const char *a, const char *b)
{
	struct series *s;

	for (s = *list; s != NULL; s = s->next)
		if (strcmp(s->a, a) == 0 && (b == NULL || strcmp(s->b, b) == 0))
			return s;
	s = xcalloc(1, sizeof *s);
	s->a = xstrdup(a);
	s->b = xstrdup(b ? b : "");
	s->next = *list;
	*list = s;
	return s;
}

void
metrics_request(const char *route, int status, double seconds)
{
	char code[16];
	struct series *s;

	snprintf(code, sizeof code, "%d", status);
	series_get(&requests, route, code)->count++;
	s = series_get(&latency, route, NULL);
	s->count++;
	s->sum += seconds;
	for (size_t i = 0; i < NBUCKETS; i++)
		s->bucket[i] += seconds <= buckets[i];
}

void
metrics_records(const char *feed, long n)
{
	series_get(&records, feed, NULL)->count += n;
}

void
metrics_spool_file(const char *outcome)
{
	series_get(&spool, outcome, NULL)->count++;
}

void
metrics_report_read(bool on_standby)
{
	series_get(&reports, on_standby ? "standby" : "primary", NULL)->count++;
}

void
metrics_reconnect(void)
{
	reconnects++;
}

void
metrics_connection(int delta, bool refused)
{
	conns_open += delta;
	conns_refused += refused;
}

void
metrics_sweep(double seconds)
{
	sweep_seconds = seconds;
	sweep_time = (double)time(NULL);
}

static void
header(
    struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(
	    out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render_counts(struct evbuffer *out, struct series *list, const char *name,
    const char *la, const char *lb)
{
	for (struct series *s = list; s != NULL; s = s->next) {
		if (lb != NULL)
			evbuffer_add_printf(out,
			    "%s{%s=\"%s\",%s=\"%s\"} %ld\n", name, la, s->a, lb,
			    s->b, s->count);
		else
			evbuffer_add_printf(out, "%s{%s=\"%s\"} %ld\n", name,
			    la, s->a, s->count);
	}
}

static void
render_latency(struct evbuffer *out)
{
	const char *n = "effortd_http_request_duration_seconds";

	header(out, n, "histogram", "Time from request to reply, by route.");
	for (struct series *s = latency; s != NULL; s = s->next) {
		for (size_t i = 0; i < NBUCKETS; i++)
			evbuffer_add_printf(out,
			    "%s_bucket{route=\"%s\",le=\"%g\"} %ld\n", n, s->a,
			    buckets[i], s->bucket[i]);
		evbuffer_add_printf(out,
		    "%s_bucket{route=\"%s\",le=\"+Inf\"} %ld\n"
		    "%s_sum{route=\"%s\"} %.6f\n%s_count{route=\"%s\"} %ld\n",
		    n, s->a, s->count, n, s->a, s->sum, n, s->a, s->count);
	}
}

void
metrics_render(struct evbuffer *out)
{
	header(out, "effortd_http_requests_total", "counter",
	    "HTTP requests answered, by route and status.");
	render_counts(
	    out, requests, "effortd_http_requests_total", "route", "status");
	render_latency(out);
	header(out, "effortd_records_ingested_total", "counter",
	    "Feed records stored (HTTP and spool), by feed.");
	render_counts(
	    out, records, "effortd_records_ingested_total", "feed", NULL);
	header(out, "effortd_spool_files_total", "counter",
	    "Spool folder files handled, by outcome.");
	render_counts(out, spool, "effortd_spool_files_total", "outcome", NULL);
	header(out, "effortd_report_reads_total", "counter",
	    "Reads routed to the report pool (db.report_conninfo), by the "
	    "server that ran them: the standby, or the primary when the "
	    "standby was down or behind.");
	render_counts(
	    out, reports, "effortd_report_reads_total", "server", NULL);
	header(out, "effortd_db_reconnects_total", "counter",
	    "Database connections lost and re-established.");
	evbuffer_add_printf(
	    out, "effortd_db_reconnects_total %ld\n", reconnects);
	header(out, "effortd_connections_open", "gauge",
	    "Client connections open.");
	evbuffer_add_printf(out, "effortd_connections_open %ld\n", conns_open);
	header(out, "effortd_connections_refused_total", "counter",
	    "Client connections refused over limits.max_connections.");
	evbuffer_add_printf(
	    out, "effortd_connections_refused_total %ld\n", conns_refused);
	header(out, "effortd_audit_sweep_duration_seconds", "gauge",
	    "Duration of the last full audit sweep this instance ran.");
	evbuffer_add_printf(
	    out, "effortd_audit_sweep_duration_seconds %.6f\n", sweep_seconds);
	header(out, "effortd_audit_sweep_last_timestamp_seconds", "gauge",
	    "Unix time of the last full audit sweep this instance ran.");
	evbuffer_add_printf(out,
	    "effortd_audit_sweep_last_timestamp_seconds %.0f\n", sweep_time);
}
