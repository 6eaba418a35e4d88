/* The daemon's one shared state (include/effortd.h). */
#include "http-conn.h"
#include "effortd.h"

#define FLUSH_POLL_USEC 50000
#define FLUSH_POLLS     20 /* a second at most */

struct effortd effortd;

struct db_pool *
effortd_read_pool(void)
{
	return effortd.report_db != NULL ? effortd.report_db : effortd.db;
}

/* Stops the loop once the replies have left (their connections close
 * after them) or a second has passed. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	static int polls;
	struct timeval tv = { 0, FLUSH_POLL_USEC };

	(void)fd;
	(void)what;
	(void)arg;
	if (conn_open_count() == 0 || ++polls >= FLUSH_POLLS)
		event_base_loopexit(effortd.base, NULL);
	else
		event_base_once(
		    effortd.base, -1, EV_TIMEOUT, on_flush, NULL, &tv);
}

void
effortd_drained(void)
{
	static bool flushing;
	struct timeval now = { 0, 0 };

	if (flushing)
		return;
	flushing = true;
	event_base_once(effortd.base, -1, EV_TIMEOUT, on_flush, NULL, &now);
}
